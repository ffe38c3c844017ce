"""Networks: populations of neurons and the projections between them.

A :class:`Network` is an immutable pytree: the neurons' and rules' numeric
parameters and the initial weights are leaves (``vmap`` sweeps them), names,
shapes, connections and delays are structure. Its evolving state is a
:class:`NetworkState`. One time step (:meth:`Network.step`), in this order:

1. spikes in: every input population takes this step's spikes;
2. conductances: every projection's drive from its presynaptic spikes of
   ``delay`` steps ago (default 1: a spike emitted in step ``t`` acts in
   step ``t + 1``, as NEST's minimum delay and Brian2's update order give),
   summed per postsynaptic population and receptor; a projection with
   ``weight_at="emission"`` delivers what was queued when the spike left;
3. membrane, threshold and reset: every population's neuron step;
4. STDP: every plastic projection's rule, on this step's presynaptic and
   postsynaptic spikes (a presynaptic spike is paired at the step it is
   emitted), then its weight transform;
5. traces: the rule's own (Norse's rule updates its traces before the
   weights; NEST's rules after), and the spike history for the delays;
   ``weight_at="emission"`` projections queue this step's spikes with the
   weights after this step's STDP (Brian 1's ``DelayConnection``).

With ``delay=0`` a spike acts in the step it is emitted (populations are
then stepped in the order of their zero-delay links). That is the order of
jstdp's first closed loops: the input spike that makes a neuron fire is
paired with it at lag 0, which Norse's rule scores as ``A+ - A-`` (mostly
depression), so it biases learning at coarse ``dt``.
"""

from __future__ import annotations

from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import evolve, pytree, static
from jstdp.connections.dense import Dense
from jstdp.neurons.adaptive import _reset


@pytree
class Input:
    """A population whose spikes are given to each run (array or Poisson).

    Args:
        name: the population's name.
        shape: its shape, without the batch axis (``(784,)``, ``(2, 28, 28)``).
    """

    name: str = static()
    shape: tuple[int, ...] = static()

    def __post_init__(self) -> None:
        v.name_string("Input.name", self.name)
        object.__setattr__(
            self, "shape", _shape(f"Input {self.name!r} shape", self.shape)
        )


@pytree
class Population:
    """A population of neurons.

    Args:
        name: the population's name.
        neuron: its neuron parameters (``initial_state``/``step``, see
            :mod:`jstdp.neurons`).
        shape: its shape, without the batch axis.
    """

    name: str = static()
    neuron: Any = None
    shape: tuple[int, ...] = static(None)

    def __post_init__(self) -> None:
        v.name_string("Population.name", self.name)
        v.neuron(f"Population {self.name!r}: neuron", self.neuron)
        object.__setattr__(
            self, "shape", _shape(f"Population {self.name!r} shape", self.shape)
        )

    @property
    def receptors(self) -> tuple[str, ...]:
        return tuple(getattr(self.neuron, "receptors", ("exc",)))


@pytree
class Projection:
    """Synapses from one population to another.

    Args:
        pre, post: names of the presynaptic and postsynaptic populations.
        connection: the geometry (:mod:`jstdp.connections`; default Dense).
        w: initial weights, shaped for the connection (a scalar for a fixed
            OneToOne or AllToAllButSelf projection).
        rule: a plasticity rule (:mod:`jstdp.rules`), or None for fixed
            weights.
        transform: applied to the weights after every rule update (e.g.
            ``Clip``, ``Normalize``, ``chain(...)``); needs a rule.
        receptor: the postsynaptic receptor the drive goes to (``"exc"`` or
            ``"inh"`` for jstdp's neurons).
        delay: transmission delay in steps, an int ``>= 0`` (default 1), or
            an int array shaped like ``w`` (Dense only, entries ``>= 1``) for
            per-synapse delays. The rule pairs spikes at emission; the delay
            acts on the drive.
        name: default ``"pre->post"``.
        signals: extra inputs of the rule: ``{keyword: population name}``;
            each step the rule gets that population's spikes as
            ``keyword=...`` (e.g. a neuromodulator).
        weight_at: static; which weight a delayed spike delivers.
            ``"arrival"`` (default, Brian2's ``on_pre`` with a delay): the
            weight of the step it arrives in. ``"emission"`` (Brian 1's
            ``DelayConnection``, NEST): the weight of the step it was emitted
            in, after that step's STDP; the spikes are queued in a ring
            ``(D, batch, *post_shape)`` of drive (``state.history[name +
            "/queued"]``). Needs ``delay >= 1``.
    """

    pre: str = static()
    post: str = static()
    connection: Any = static(Dense())
    w: ArrayLike = 0.0
    rule: Any = None
    transform: Any = None
    receptor: str = static("exc")
    delay: int = static(1)
    name: str | None = static(None)
    signals: tuple[tuple[str, str], ...] = static(())
    delays: jax.Array | None = None
    weight_at: Literal["arrival", "emission"] = static("arrival")

    def __post_init__(self) -> None:
        v.name_string("Projection.pre", self.pre)
        v.name_string("Projection.post", self.post)
        label = f"Projection {self.pre!r} -> {self.post!r}"
        if self.name is None:
            object.__setattr__(self, "name", f"{self.pre}->{self.post}")
        v.name_string(f"{label}: name", self.name)
        v.name_string(f"{label}: receptor", self.receptor)
        for method in ("output_shape", "drive", "correlate"):
            if not callable(getattr(self.connection, method, None)):
                raise TypeError(
                    f"{label}: connection must be a jstdp connection (Dense, "
                    f"Conv2d, OneToOne, AllToAllButSelf), got "
                    f"{type(self.connection).__name__}"
                )
        try:
            dtype = jnp.result_type(self.w)
        except TypeError:
            dtype = None
        if (
            dtype is None
            or not jnp.issubdtype(dtype, jnp.number)
            or jnp.issubdtype(dtype, jnp.complexfloating)
        ):
            raise TypeError(
                f"{label}: w must be a real array or number, got {self.w!r}"
            )
        if self.rule is not None and not callable(getattr(self.rule, "update", None)):
            raise TypeError(
                f"{label}: rule must be a jstdp rule (init/update), got "
                f"{type(self.rule).__name__}"
            )
        if self.transform is not None and self.rule is None:
            raise ValueError(f"{label}: a transform needs a rule (fixed weights)")
        if self.transform is not None and not callable(self.transform):
            raise TypeError(f"{label}: transform must be callable (w, connection)")
        signals = (
            self.signals.items() if isinstance(self.signals, dict) else self.signals
        )
        object.__setattr__(
            self, "signals", tuple(sorted((str(k), str(p)) for k, p in signals))
        )
        self._set_delays(label)
        v.choice(f"{label}: weight_at", self.weight_at, WEIGHT_AT)
        if self.weight_at == "emission" and self.delay < 1:
            raise ValueError(f"{label}: weight_at='emission' needs a delay >= 1")

    @property
    def queue(self) -> str | None:
        """The key of its queued drive in ``state.history`` (emission only)."""
        return f"{self.name}/queued" if self.weight_at == "emission" else None

    def _set_delays(self, label: str) -> None:
        if self.delays is not None or np.ndim(self.delay) == 0:
            if self.delays is None:
                object.__setattr__(
                    self, "delay", v.integer(f"{label}: delay", self.delay, 0)
                )
            return
        delays = np.asarray(self.delay)
        if not jnp.issubdtype(delays.dtype, jnp.integer) or delays.dtype == bool:
            raise TypeError(f"{label}: delay must be an int or an int array")
        if not isinstance(self.connection, Dense):
            raise ValueError(f"{label}: per-synapse delays need a Dense connection")
        if delays.shape != np.shape(self.w):
            raise ValueError(
                f"{label}: per-synapse delay must be shaped like w "
                f"{np.shape(self.w)}, got {delays.shape}"
            )
        if delays.size and delays.min() < 1:
            raise ValueError(f"{label}: per-synapse delays must be >= 1 step")
        object.__setattr__(self, "delays", jnp.asarray(delays, jnp.int32))
        object.__setattr__(self, "delay", int(delays.max(initial=1)))


WEIGHT_AT: tuple[str, ...] = ("arrival", "emission")


@pytree
class NetworkState:
    """Everything a network carries from one step to the next.

    Args:
        step: int32 count of steps run so far (seeds Poisson inputs).
        neurons: population name -> neuron state ``(batch, *shape)``.
        spikes: population name -> spikes of the last step ``(batch, *shape)``.
        history: population name -> ring ``(D, batch, *shape)`` of its last
            ``D`` steps' spikes (slot ``t % D`` is step ``t``), for delays > 1;
            ``Projection.queue`` -> ring ``(D, batch, *post_shape)`` of the
            drive queued for the next ``D`` steps (slot ``t % D``: step ``t``).
        weights: projection name -> weights.
        rules: projection name -> rule state (plastic projections).
        counts: population name -> int32 spike counts since the last reset.
    """

    step: jax.Array
    neurons: dict[str, Any]
    spikes: dict[str, jax.Array]
    history: dict[str, jax.Array]
    weights: dict[str, jax.Array]
    rules: dict[str, Any]
    counts: dict[str, jax.Array]

    @property
    def batch(self) -> int:
        return next(iter(self.spikes.values())).shape[0]

    @property
    def dtype(self) -> jnp.dtype:
        return next(iter(self.spikes.values())).dtype


@pytree
class Network:
    """Populations and projections, simulated together by :func:`jstdp.run`.

    Args:
        populations: :class:`Input` and :class:`Population` objects.
        projections: :class:`Projection` objects between them.

    Raises:
        ValueError / TypeError: unknown or repeated names, weights that do not
            fit a connection, a receptor the target neuron lacks, a cycle of
            zero-delay projections, ... (each naming the projection).
    """

    populations: tuple = ()
    projections: tuple = ()

    def __post_init__(self) -> None:
        pops, projs = tuple(self.populations), tuple(self.projections)
        object.__setattr__(self, "populations", pops)
        object.__setattr__(self, "projections", projs)
        for k, p in enumerate(pops):
            v.instance(f"populations[{k}]", p, (Input, Population))
        for k, p in enumerate(projs):
            v.instance(f"projections[{k}]", p, Projection)
        _unique("population", [p.name for p in pops])
        _unique("projection", [p.name for p in projs])
        _unique("population or queue", [p.name for p in pops] + self._queues)
        by_name = {p.name: p for p in pops}
        for proj in projs:
            _check_projection(proj, by_name)
        self.order  # noqa: B018 (raises on a cycle of zero-delay projections)

    @staticmethod
    def unchecked(populations: tuple, projections: tuple) -> Network:
        """A network of parts whose combination was checked before (a layer's
        own network, a run's variant of a checked one)."""
        new = object.__new__(Network)
        object.__setattr__(new, "populations", tuple(populations))
        object.__setattr__(new, "projections", tuple(projections))
        return new

    # --- structure -------------------------------------------------------------

    def population(self, name: str) -> Input | Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population {name!r}; populations: {self.names}")

    def projection(self, name: str) -> Projection:
        for p in self.projections:
            if p.name == name:
                return p
        names = [p.name for p in self.projections]
        raise KeyError(f"no projection {name!r}; projections: {names}")

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.populations]

    @property
    def inputs(self) -> tuple[Input, ...]:
        return tuple(p for p in self.populations if isinstance(p, Input))

    @property
    def order(self) -> tuple[Population, ...]:
        """Neuron populations in the order their zero-delay links need."""
        done = {p.name for p in self.inputs}
        left = [p for p in self.populations if isinstance(p, Population)]
        order = []
        while left:
            ready = [
                p
                for p in left
                if all(
                    q.pre in done or q.pre == p.name
                    for q in self.projections
                    if q.post == p.name and q.delay == 0
                )
            ]
            loops = [
                q.name
                for q in self.projections
                if q.delay == 0 and q.pre == q.post and q.pre in {p.name for p in left}
            ]
            if not ready or loops:
                names = loops or [p.name for p in left]
                raise ValueError(
                    f"zero-delay projections form a loop ({', '.join(names)}): "
                    "give one of them delay >= 1"
                )
            order += ready
            done |= {p.name for p in ready}
            left = [p for p in left if p.name not in done]
        return tuple(order)

    def ring_size(self, name: str) -> int:
        """``D``: how many past steps of a population's spikes delays need."""
        return max(
            (
                q.delay
                for q in self.projections
                if q.pre == name and q.weight_at == "arrival"
            ),
            default=0,
        )

    @property
    def _queues(self) -> list[str]:
        return [q.queue for q in self.projections if q.queue is not None]

    # --- state -----------------------------------------------------------------

    def init(
        self, batch: int = 1, dtype: jax.typing.DTypeLike = jnp.float32
    ) -> NetworkState:
        """A fresh state: neurons at rest, no spikes, the initial weights."""
        batch = v.integer("batch", batch, 0)
        dtype = v.floating_dtype("dtype", dtype)
        net = self.cast(dtype)
        spikes = {p.name: jnp.zeros((batch, *p.shape), dtype) for p in self.populations}
        weights = {q.name: jnp.array(q.w, dtype) for q in self.projections}
        state = NetworkState(
            step=jnp.zeros((), jnp.int32),
            neurons={},
            spikes=spikes,
            history={},
            weights=weights,
            rules={},
            counts={},
        )
        neurons = {
            p.name: p.neuron.initial_state((batch, *p.shape), dtype) for p in net.order
        }
        return net.reset(state).replace(neurons=neurons)

    def reset(self, state: NetworkState) -> NetworkState:
        """Between stimuli: neurons at rest, no spikes, fresh rule traces.

        Weights, the step count and the neurons' slow adaptation (what their
        ``reset`` keeps, e.g. an adaptive threshold) stay.
        """
        batch, dtype = state.batch, state.dtype
        zeros = {p.name: jnp.zeros((batch, *p.shape), dtype) for p in self.populations}
        history = {
            p.name: jnp.zeros((self.ring_size(p.name), batch, *p.shape), dtype)
            for p in self.populations
            if self.ring_size(p.name) > 1
        }
        for q in self.projections:
            if q.queue is not None:
                post = self.population(q.post).shape
                history[q.queue] = jnp.zeros((q.delay, batch, *post), dtype)
        neurons = {
            p.name: _reset(p.neuron, state.neurons[p.name])
            for p in self.order
            if p.name in state.neurons
        }
        rules = {
            q.name: q.rule.init(
                (batch, *self.population(q.pre).shape),
                (batch, *self.population(q.post).shape),
                state.weights[q.name].shape,
                dtype,
            )
            for q in self.projections
            if q.rule is not None
        }
        counts = {name: jnp.zeros(z.shape, jnp.int32) for name, z in zeros.items()}
        return state.replace(
            neurons=neurons, spikes=zeros, history=history, rules=rules, counts=counts
        )

    def cast(self, dtype: jax.typing.DTypeLike) -> Network:
        """This network with neuron, rule and transform parameters in ``dtype``."""
        populations = tuple(
            evolve(p, neuron=v.cast_parameters(p.neuron, dtype))
            if isinstance(p, Population)
            else p
            for p in self.populations
        )
        projections = tuple(
            evolve(
                q,
                rule=v.cast_parameters(q.rule, dtype),
                transform=v.cast_parameters(q.transform, dtype),
            )
            for q in self.projections
        )
        return Network.unchecked(populations, projections)

    # --- one step ----------------------------------------------------------------

    def step(
        self,
        state: NetworkState,
        inputs: dict[str, jax.Array],
        dt: jax.Array,
        learning: bool = True,
    ) -> NetworkState:
        """One time step (see the module docstring for the order).

        Args:
            state: the state after the previous step.
            inputs: input population name -> this step's spikes
                ``(batch, *shape)``.
            dt: time step, s, in the state's dtype.
            learning: static; False freezes the weights, the rule states and
                the neurons' adaptation (``neuron.frozen()``).

        Returns:
            The state after this step.
        """
        t, dtype = state.step, state.dtype
        new = {name: jnp.asarray(z).astype(dtype) for name, z in inputs.items()}
        neurons = dict(state.neurons)
        for pop in self.order:
            drive = self._drive(pop, state, new)
            neuron = pop.neuron if learning else _frozen(pop.neuron)
            new[pop.name], neurons[pop.name] = neuron.step(
                drive, state.neurons[pop.name], dt
            )
        weights, rules = dict(state.weights), dict(state.rules)
        for q in self.projections:
            if q.rule is None or not learning:
                continue
            signals = {k: new[p] for k, p in q.signals}
            w, rules[q.name] = q.rule.update(
                new[q.pre], new[q.post], weights[q.name], rules[q.name], dt,
                q.connection, **signals,
            )  # fmt: skip
            weights[q.name] = w if q.transform is None else q.transform(w, q.connection)
        history = {
            name: jax.lax.dynamic_update_index_in_dim(
                ring, new[name], t % ring.shape[0], 0
            )
            for name, ring in state.history.items()
            if name in new
        }
        for q in self.projections:
            if q.queue is not None:
                history[q.queue] = _enqueue(
                    q, state.history[q.queue], new[q.pre], weights[q.name], t
                )
        counts = {
            name: c + (new[name] > 0).astype(jnp.int32)
            for name, c in state.counts.items()
        }
        return NetworkState(
            step=t + 1,
            neurons=neurons,
            spikes=new,
            history=history,
            weights=weights,
            rules=rules,
            counts=counts,
        )

    def _drive(
        self, pop: Population, state: NetworkState, new: dict[str, jax.Array]
    ) -> jax.Array | dict[str, jax.Array]:
        """The summed drive of every projection into ``pop``, per receptor."""
        drives: dict[str, jax.Array] = {}
        for q in self.projections:
            if q.post != pop.name:
                continue
            w = state.weights[q.name]
            if q.queue is not None:
                ring = state.history[q.queue]
                d = jax.lax.dynamic_index_in_dim(
                    ring, state.step % ring.shape[0], 0, keepdims=False
                )
            elif q.delays is not None:
                ring = state.history[q.pre]
                d = q.connection.drive_delayed(ring, w, q.delays, state.step)
            else:
                d = q.connection.drive(_delayed(q, state, new), w)
            drives[q.receptor] = (
                d if q.receptor not in drives else drives[q.receptor] + d
            )
        first = pop.receptors[0]
        if not drives:
            return jnp.zeros((state.batch, *pop.shape), state.dtype)
        if set(drives) == {first}:
            return drives[first]
        return drives


def _delayed(
    q: Projection, state: NetworkState, new: dict[str, jax.Array]
) -> jax.Array:
    """The presynaptic spikes of ``q.delay`` steps ago."""
    if q.delay == 0:
        return new[q.pre]
    if q.delay == 1:
        return state.spikes[q.pre]
    ring = state.history[q.pre]
    return jax.lax.dynamic_index_in_dim(
        ring, (state.step - q.delay) % ring.shape[0], 0, keepdims=False
    )


def _enqueue(
    q: Projection, ring: jax.Array, z: jax.Array, w: jax.Array, t: jax.Array
) -> jax.Array:
    """``ring`` after step ``t``: slot ``t`` (delivered) cleared, this step's
    spikes ``z`` queued with the weights ``w`` for step ``t + delay``."""
    ring = jax.lax.dynamic_update_index_in_dim(
        ring, jnp.zeros(ring.shape[1:], ring.dtype), t % ring.shape[0], 0
    )
    if q.delays is not None:
        return q.connection.enqueue_delayed(ring, z, w, q.delays, t)
    slot = (t + q.delay) % ring.shape[0]
    queued = jax.lax.dynamic_index_in_dim(ring, slot, 0, keepdims=False)
    drive = q.connection.drive(z, w)
    return jax.lax.dynamic_update_index_in_dim(ring, queued + drive, slot, 0)


def _frozen(neuron: Any) -> Any:
    return neuron.frozen() if callable(getattr(neuron, "frozen", None)) else neuron


def _shape(label: str, shape: object) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not shape:
        raise ValueError(f"{label} must be a tuple of ints >= 1, got {shape!r}")
    return tuple(v.integer(label, n, 1) for n in shape)


def _unique(kind: str, names: list[str]) -> None:
    seen = set()
    for n in names:
        if n in seen:
            raise ValueError(f"two {kind}s are named {n!r}; names must be unique")
        seen.add(n)


def _check_projection(q: Projection, by_name: dict[str, Any]) -> None:
    label = f"projection {q.name!r}"
    for side in ("pre", "post"):
        if getattr(q, side) not in by_name:
            raise ValueError(
                f"{label}: {side} {getattr(q, side)!r} is not a population of the "
                f"network ({', '.join(by_name)})"
            )
    pre, post = by_name[q.pre], by_name[q.post]
    if isinstance(post, Input):
        raise ValueError(f"{label}: post {q.post!r} is an Input (it takes no drive)")
    try:
        want = q.connection.weight_shape(pre.shape, post.shape)
        if want is not None and np.ndim(q.w) and np.shape(q.w) != tuple(want):
            raise ValueError(
                f"w must have shape {tuple(want)} for {q.pre!r} {pre.shape} -> "
                f"{q.post!r} {post.shape}, got {np.shape(q.w)}"
            )
        out = q.connection.output_shape(pre.shape, np.shape(q.w))
    except ValueError as e:
        raise ValueError(f"{label}: {e}") from None
    if tuple(out) != post.shape:
        raise ValueError(
            f"{label}: the connection maps {q.pre!r} {pre.shape} to {tuple(out)}, "
            f"but {q.post!r} has shape {post.shape}"
        )
    if q.receptor not in post.receptors:
        raise ValueError(
            f"{label}: receptor {q.receptor!r} is not one of {q.post!r}'s "
            f"neuron receptors {post.receptors}"
        )
    if q.rule is not None and np.ndim(q.w) == 0:
        raise ValueError(f"{label}: a plastic projection needs an array of weights")
    for keyword, name in q.signals:
        if name not in by_name:
            raise ValueError(
                f"{label}: signal {keyword!r} names no population {name!r}"
            )
    if q.rule is not None:
        try:
            jax.eval_shape(
                lambda: q.rule.init(
                    (1, *pre.shape), (1, *post.shape), np.shape(q.w), jnp.float32
                )
            )
            if callable(getattr(q.rule, "check_weights", None)):
                q.rule.check_weights(q.w)
        except ValueError as e:
            raise ValueError(f"{label}: rule: {e}") from None
