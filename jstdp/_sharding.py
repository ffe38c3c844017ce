"""One network over many devices and hosts: model and data parallel runs.

``jstdp.run(network, inputs, ..., sharding=...)`` lays the network's state out
over a :class:`jax.sharding.Mesh`:

- **model parallel** (``sharding="model"``): every neuron population is split
  along its first axis (the neurons of a vector population, the channels of a
  conv2d population), and with it the weights of every projection into it
  (rows of a Dense ``w``, output channels of a Conv2d kernel, rows of an
  AllToAllButSelf matrix) and the postsynaptic side of its rule's state.
  Input spikes and the presynaptic side of a rule's state are replicated, so
  a projection's drive and its STDP update need no communication;
- **data parallel** (``sharding="data"``): the batch axis of every spike,
  neuron and trace array is split, the weights are replicated, and the
  batch-summed update of Norse's semantics becomes an all-reduce of the
  Hebbian products (the weight change before the weight dependence);
- both, on a 2-D mesh: ``Sharding(mesh=jax.make_mesh((2, 4), ("data",
  "model")), model="model", data="data")``.

Without ``sharding`` nothing here runs: a single device needs no sharding code.
Without a ``mesh``, the mesh is every device JAX finds (``jax.devices()``, all
hosts' after ``jax.distributed.initialize()``) on the one axis named.

How: JAX's own machinery, in two layers.

1. The run is one ``jit``; its carry is placed with ``NamedSharding`` and
   pinned after every step with ``with_sharding_constraint``, and XLA's SPMD
   partitioner splits every operation and inserts the collectives: an
   all-reduce for each population-wide reduction (the ``sum - self`` of
   AllToAllButSelf lateral inhibition, the channel maximum of a
   winner-take-all neuron, the batch sums of a data-parallel update or an
   adaptive threshold) and an all-gather where a split population drives
   another. Neurons, connections and transforms carry no sharding code, so a
   user's own neuron is partitioned as well.
2. The update of a plastic Dense or Conv2d projection into a split population
   runs under ``shard_map`` over the model axis: each device updates its own
   rows with the rule's own code on local shapes (the data axis stays with
   the partitioner, which adds the batch all-reduce). No weight-sized array
   crosses devices, and shape-dependent choices are made for the local
   block: the CPU's row-blocked update of weights over 128 MiB slices ``w``
   at run-time offsets, which the partitioner can only serve by gathering
   the whole matrix onto every device (measured: 1 GiB of temporaries per
   device for a 16,384 x 16,384 layer over 8 devices, against 128 MiB).
   ``shard_map`` is not used everywhere because OneToOne and AllToAllButSelf
   index neurons globally (the partner, the diagonal), which local shapes
   lose; a rule with per-neuron parameter arrays is left to the partitioner
   too.

Numbers: each device runs the same operations on its part of the values.
A model-parallel run equals the unsharded one bit for bit where the
arithmetic is the same (the Diehl & Cook-shaped and conv2d runs of
``tests/test_sharding.py`` and ``benchmarks/sharding.py``); where a sum is
split across devices (the batch sum of a data-parallel update) or XLA:CPU
vectorises a device's block differently from the whole matrix (small
layers, e.g. 64 x 64 split 8 ways), the partial sums add in another order:
a few float32 ulp per step, 1.2e-4 mV in a membrane potential after 200
steps, the same spikes in every run measured.

Multi-host: every process runs the same script with the same values
(inputs, initial weights, seeds) and holds only its devices' blocks; see
:func:`put` and :func:`gather`. CPU processes exchange data with gloo over
TCP, jaxlib's default ``jax_cpu_collectives_implementation`` (``"mpi"``
needs an MPI library; TPUs and GPUs use their interconnect, ICI and NCCL).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jstdp import _validation as v
from jstdp._network import Network, NetworkState, Population
from jstdp._pytree import evolve, pytree, static
from jstdp.connections.conv2d import Conv2d
from jstdp.connections.dense import Dense

REPLICATED = PartitionSpec()


@dataclasses.dataclass(frozen=True)
class Sharding:
    """How a run spreads one network over devices.

    Args:
        model: the mesh axis that splits the neuron populations along their
            first axis, with the weights and postsynaptic state of the
            projections into them; None for no model parallelism.
        data: the mesh axis that splits the batch; None for none.
        mesh: a :class:`jax.sharding.Mesh` with those axes (default: every
            device of ``jax.devices()`` on the one axis named; with both
            axes, give a mesh, e.g. ``jax.make_mesh((2, 4), ("data",
            "model"))``).
        populations: the names of the populations to split over ``model``
            (default: every :class:`jstdp.Population` whose first axis the
            model axis divides; the others are replicated).

    ``jstdp.run(..., sharding="model")`` is ``Sharding()`` and
    ``sharding="data"`` is ``Sharding(model=None, data="data")``.

    Raises:
        TypeError / ValueError: an axis name that is not a string, no axis,
            the same axis twice, a mesh without the axes, two axes and no
            mesh.
    """

    model: str | None = "model"
    data: str | None = None
    mesh: Mesh | None = None
    populations: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for field in ("model", "data"):
            if getattr(self, field) is not None:
                v.name_string(f"Sharding.{field}", getattr(self, field))
        if self.model is None and self.data is None:
            raise ValueError(
                "Sharding needs an axis: model='model' (split the neurons) or "
                "data='data' (split the batch)"
            )
        if self.model == self.data:
            raise ValueError(
                f"Sharding.model and Sharding.data must be different mesh axes, "
                f"both are {self.model!r}"
            )
        if self.mesh is not None:
            if not isinstance(self.mesh, Mesh):
                raise TypeError(
                    f"Sharding.mesh must be a jax.sharding.Mesh (jax.make_mesh), "
                    f"got {type(self.mesh).__name__}"
                )
            for field in ("model", "data"):
                axis = getattr(self, field)
                if axis is not None and axis not in self.mesh.axis_names:
                    raise ValueError(
                        f"Sharding.{field} = {axis!r} is not an axis of the mesh "
                        f"(axes {self.mesh.axis_names})"
                    )
        elif self.model is not None and self.data is not None:
            raise ValueError(
                "Sharding with both model and data axes needs a mesh, e.g. "
                f"mesh=jax.make_mesh((2, 4), ({self.data!r}, {self.model!r}))"
            )
        if self.populations is not None:
            if isinstance(self.populations, str):
                raise TypeError(
                    "Sharding.populations must be a list of population names, got "
                    f"the string {self.populations!r}"
                )
            names = tuple(self.populations)
            for k, name in enumerate(names):
                v.name_string(f"Sharding.populations[{k}]", name)
            object.__setattr__(self, "populations", names)

    def resolved_mesh(self) -> Mesh:
        """The mesh, its axes all ``Auto``: the partitioner places what the
        layout leaves open (``jax.make_mesh`` makes ``Explicit`` axes by
        default). Without one, every device of ``jax.devices()`` on the one
        axis, in ``jax.make_mesh``'s order (a ring on a TPU's interconnect)."""
        mesh = self.mesh
        if mesh is None:
            mesh = jax.make_mesh((len(jax.devices()),), (self.model or self.data,))
        auto = (jax.sharding.AxisType.Auto,) * len(mesh.axis_names)
        return Mesh(mesh.devices, mesh.axis_names, axis_types=auto)


def as_sharding(value: object) -> Sharding:
    """``value`` (a :class:`Sharding`, ``"model"`` or ``"data"``) as a Sharding."""
    if isinstance(value, Sharding):
        return value
    if value == "model":
        return Sharding()
    if value == "data":
        return Sharding(model=None, data="data")
    raise TypeError(
        f"sharding must be 'model', 'data' or a jstdp.Sharding, got {value!r}"
    )


# --- layout: a NamedSharding for every array of a run ---------------------------


@dataclasses.dataclass(frozen=True)
class Layout:
    """A :class:`Sharding` resolved for one network and batch size."""

    mesh: Mesh
    model: str | None
    data: str | None
    split: frozenset[str]
    batch: int

    def named(self, spec: PartitionSpec) -> NamedSharding:
        return NamedSharding(self.mesh, spec)

    def population(
        self, shape: tuple[int, ...], pop_shape: tuple[int, ...], split: bool
    ) -> PartitionSpec:
        """Spec of an array of a population, aligned from the right with
        ``(batch, *pop_shape)`` (NumPy broadcasting): the batch axis over
        ``data``, the population's first axis over ``model`` if split."""
        offset = len(shape) - 1 - len(pop_shape)
        spec = []
        for k, n in enumerate(shape):
            if k - offset == 0 and self.data and n == self.batch:
                spec.append(self.data)
            elif k - offset == 1 and split and n == pop_shape[0]:
                spec.append(self.model)
            else:
                spec.append(None)
        return PartitionSpec(*spec)

    def weights(
        self, w_shape: tuple[int, ...], post_shape: tuple[int, ...], split: bool
    ) -> PartitionSpec:
        """Rows (axis 0) over ``model`` when the postsynaptic side is split."""
        if split and w_shape and w_shape[0] == post_shape[0]:
            return PartitionSpec(self.model)
        return REPLICATED

    def rule_state(
        self,
        rule: Any,
        pre_shape: tuple[int, ...],
        post_shape: tuple[int, ...],
        w_shape: tuple[int, ...],
        split: bool,
        dtype: Any,
    ) -> tuple[Any, bool]:
        """Specs of a rule's state, and whether the side of every leaf is known.

        The side of each leaf is read from ``rule.init`` called with a marker
        batch size for each side: a presynaptic leaf is replicated over
        ``model`` (the rule pairs every presynaptic neuron with each of its
        postsynaptic ones), a postsynaptic leaf is split with its population,
        a leaf shaped like ``w`` is split like ``w``.
        """
        big = max((self.batch, *pre_shape, *post_shape, *w_shape)) + 1
        try:
            marked = jax.eval_shape(
                lambda: rule.init(
                    (big, *pre_shape), (big + 1, *post_shape), w_shape, dtype
                )
            )
        except Exception:  # noqa: BLE001 (a rule that insists on one batch size)
            fresh = jax.eval_shape(
                lambda: rule.init(
                    (self.batch, *pre_shape), (self.batch, *post_shape), w_shape, dtype
                )
            )
            return jax.tree.map(lambda _: REPLICATED, fresh), False
        known = True

        def spec(leaf: jax.ShapeDtypeStruct) -> PartitionSpec:
            nonlocal known
            shape = leaf.shape
            for k, n in enumerate(shape):
                if n in (big, big + 1):
                    out = [None] * len(shape)
                    out[k] = self.data
                    after = shape[k + 1 : k + 2]
                    if n == big + 1 and split and after == post_shape[:1]:
                        out[k + 1] = self.model
                    return PartitionSpec(*out)
            if shape and shape == tuple(w_shape):
                return self.weights(w_shape, post_shape, split)
            known &= not shape
            return REPLICATED

        return jax.tree.map(spec, marked), known


def layout(network: Network, batch: int, sharding: Sharding) -> Layout:
    """Resolve ``sharding`` for ``network``: the mesh and the split populations.

    Raises:
        ValueError: an unknown population, an Input or an indivisible
            population to split, a batch the data axis does not divide.

    Warns:
        UserWarning: model parallel, but no population divisible.
    """
    mesh = sharding.resolved_mesh()
    split = frozenset()
    if sharding.model is not None:
        size = mesh.shape[sharding.model]
        pops = [p for p in network.populations if isinstance(p, Population)]
        if sharding.populations is None:
            split = frozenset(p.name for p in pops if p.shape[0] % size == 0)
            if not split:
                warnings.warn(
                    f"sharding: no population has a first axis that the {size} "
                    f"devices of mesh axis {sharding.model!r} divide "
                    f"({', '.join(f'{p.name} {p.shape}' for p in pops)}): nothing "
                    "is split, every device holds the whole network",
                    stacklevel=4,
                )
        else:
            for name in sharding.populations:
                p = network.population(name) if name in network.names else None
                if not isinstance(p, Population):
                    raise ValueError(
                        f"Sharding.populations: {name!r} is not a neuron population "
                        f"of the network ({', '.join(q.name for q in pops)})"
                    )
                if p.shape[0] % size:
                    raise ValueError(
                        f"Sharding.populations: {name!r} has {p.shape[0]} along its "
                        f"first axis, which the {size} devices of mesh axis "
                        f"{sharding.model!r} do not divide"
                    )
            split = frozenset(sharding.populations)
    if sharding.data is not None and batch % mesh.shape[sharding.data]:
        raise ValueError(
            f"batch = {batch} must be a multiple of the {mesh.shape[sharding.data]} "
            f"devices of mesh axis {sharding.data!r} (data parallel)"
        )
    return Layout(mesh, sharding.model, sharding.data, split, batch)


def state_specs(network: Network, state: NetworkState, lay: Layout) -> NetworkState:
    """A :class:`PartitionSpec` for every array of ``state``."""
    pops = {p.name: p for p in network.populations}
    # A projection's queued drive (weight_at="emission") is laid out as its
    # postsynaptic population: (D, batch, *post_shape).
    pops.update({q.queue: pops[q.post] for q in network.projections if q.queue})

    def per_population(tree: dict[str, Any]) -> dict[str, Any]:
        return {
            name: jax.tree.map(
                lambda x, p=pops[name]: lay.population(
                    np.shape(x), p.shape, p.name in lay.split
                ),
                sub,
            )
            for name, sub in tree.items()
        }

    weights, rules = {}, {}
    for q in network.projections:
        w_shape = tuple(np.shape(state.weights[q.name]))
        pre, post, split = pops[q.pre].shape, pops[q.post].shape, q.post in lay.split
        weights[q.name] = lay.weights(w_shape, post, split)
        if q.name in state.rules:
            rules[q.name] = lay.rule_state(
                q.rule, pre, post, w_shape, split, state.dtype
            )[0]
    return NetworkState(
        step=REPLICATED,
        neurons=per_population(state.neurons),
        spikes=per_population(state.spikes),
        history=per_population(state.history),
        weights=weights,
        rules=rules,
        counts=per_population(state.counts),
    )


# --- the local update of a split projection --------------------------------------


@pytree
class LocalRule:
    """A rule whose update runs under ``shard_map`` over the model axis.

    Each device updates the rows of ``w`` (and the postsynaptic state) it
    holds, with the presynaptic spikes and traces replicated; the other mesh
    axes stay with the partitioner. What :func:`place` puts on a plastic
    Dense or Conv2d projection into a split population.
    """

    rule: Any
    mesh: Mesh = static(None)
    axis: str = static("model")

    def init(self, *args: Any, **kwargs: Any) -> Any:
        return self.rule.init(*args, **kwargs)

    def branches(self) -> tuple[jax.Array, LocalRule, LocalRule] | None:
        inner = getattr(self.rule, "branches", lambda: None)()
        if inner is None:
            return None
        pred, on_true, on_false = inner
        return pred, evolve(self, rule=on_true), evolve(self, rule=on_false)

    def update(
        self,
        z_pre: jax.Array,
        z_post: jax.Array,
        w: jax.Array,
        state: Any,
        dt: jax.Array,
        connection: Any = None,
        **signals: jax.Array,
    ) -> tuple[jax.Array, Any]:
        lay = Layout(self.mesh, self.axis, None, frozenset(), z_post.shape[0])
        w_spec = PartitionSpec(self.axis)
        state_spec, _ = lay.rule_state(
            self.rule, z_pre.shape[1:], z_post.shape[1:], w.shape, True, w.dtype
        )
        rule_spec = jax.tree.map(
            lambda x: w_spec if np.ndim(x) and np.shape(x) == w.shape else REPLICATED,
            self.rule,
        )
        post_spec = PartitionSpec(None, self.axis)

        def local(rule, z_pre, z_post, w, state, dt, signals):
            return rule.update(z_pre, z_post, w, state, dt, connection, **signals)

        return jax.shard_map(
            local,
            mesh=self.mesh,
            in_specs=(
                rule_spec, REPLICATED, post_spec, w_spec, state_spec, REPLICATED,
                REPLICATED,
            ),
            out_specs=(w_spec, state_spec),
            axis_names={self.axis},
        )(self.rule, z_pre, z_post, w, state, dt, signals)  # fmt: skip


def _local_rule(q: Any, network: Network, state: NetworkState, lay: Layout) -> Any:
    """``q.rule`` as a :class:`LocalRule` when its update can run on local rows."""
    if (
        lay.model is None
        or q.post not in lay.split
        or not isinstance(q.connection, (Dense, Conv2d))
    ):
        return q.rule
    w_shape = tuple(np.shape(state.weights[q.name]))
    if any(np.ndim(x) and np.shape(x) != w_shape for x in jax.tree.leaves(q.rule)):
        return q.rule  # per-neuron parameters: which side is which is unknown
    pre, post = network.population(q.pre).shape, network.population(q.post).shape
    _, known = lay.rule_state(q.rule, pre, post, w_shape, True, state.dtype)
    return LocalRule(q.rule, lay.mesh, lay.model) if known else q.rule


# --- placing a run's arguments --------------------------------------------------


def put(x: Any, s: NamedSharding) -> Any:
    """``x`` on the devices of ``s``.

    Within one process, ``jax.device_put``. Over the devices of several
    processes, every process holds the same value (the SPMD contract: the
    same script, the same seeds) and hands its own devices their blocks
    (``jax.make_array_from_callback``): ``device_put`` would first check
    that the values agree by broadcasting each array to every device, which
    for a weight matrix too big for one device defeats the point. Typed
    PRNG keys go as their key data.
    """
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        data = put(jax.random.key_data(x), s)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    on_mesh = isinstance(x, jax.Array) and not x.is_fully_addressable
    if on_mesh or not spans_processes(tuple(s.device_set)):
        return jax.device_put(x, s)
    host = np.asarray(x)
    host = host.astype(jax.dtypes.canonicalize_dtype(host.dtype), copy=False)
    return jax.make_array_from_callback(host.shape, s, lambda index: host[index])


def abstract(x: Any, s: NamedSharding) -> jax.ShapeDtypeStruct:
    """A placement without data: the shape, dtype and sharding of ``x``."""
    return jax.ShapeDtypeStruct(np.shape(x), jnp.result_type(x), sharding=s)


def place(
    args: tuple[Network, jax.Array, dict[str, Any]],
    state: NetworkState,
    xs: dict[str, Any] | None,
    sharding: Sharding,
    put: Callable[[Any, NamedSharding], Any] = put,
) -> tuple[tuple[Network, jax.Array, dict[str, Any]], NetworkState, Any, Any]:
    """Lay a run's arguments out over the mesh.

    Args:
        args: the run's ``(network, dt, sources)``: its own network (cast,
            rules prepared), the time step and the Poisson inputs
            ``{name: (rates (batch, ...), key)}``.
        state: the initial :class:`NetworkState`.
        xs: input spikes ``{name: (T, batch, ...)}``, or None.
        sharding: the :class:`Sharding`.
        put: how a value goes to its sharding (:func:`put`; :func:`abstract`
            to compile without data).

    Returns:
        ``(args, state, xs, constraint)`` on the mesh: input spikes and rates
        split over ``data``, the network's parameters replicated (per-synapse
        arrays split like the weights), a :class:`LocalRule` on every plastic
        Dense or Conv2d projection into a split population, and the static
        layout :func:`constrain` pins the carry to.

    Raises:
        ValueError: traced values (a run inside ``jit`` or ``vmap``), or what
            :func:`layout` raises.
    """
    network, dt, sources = args
    if any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves((state, xs, args))):
        raise ValueError(
            "sharding= needs concrete inputs and state: call jstdp.run outside "
            "jit and vmap (for a sweep of runs use jstdp.run_sweep)"
        )
    lay = layout(network, state.batch, sharding)
    replicated = lay.named(REPLICATED)
    specs = state_specs(network, state, lay)
    shardings = jax.tree.map(lay.named, specs)
    projections = []
    for q in network.projections:
        w_sharding = lay.named(specs.weights[q.name])
        w_shape = np.shape(state.weights[q.name])

        def like_w(x, w_shape=w_shape, w_sharding=w_sharding):
            same = np.ndim(x) and np.shape(x) == w_shape
            return put(x, w_sharding if same else replicated)

        # the run reads state.weights, never the initial weights
        changes = dict(w=put(jnp.zeros((), state.dtype), replicated))
        if q.rule is not None:
            changes["rule"] = jax.tree.map(like_w, _local_rule(q, network, state, lay))
        if q.transform is not None:
            changes["transform"] = jax.tree.map(like_w, q.transform)
        if q.delays is not None:
            changes["delays"] = put(q.delays, w_sharding)
        projections.append(evolve(q, **changes))
    populations = [
        jax.tree.map(lambda x: put(x, replicated), p) for p in network.populations
    ]
    network = Network.unchecked(populations, projections)
    sources = {
        n: (put(r, lay.named(PartitionSpec(lay.data))), put(k, replicated))
        for n, (r, k) in sources.items()
    }
    if xs is not None:
        batch_axis = lay.named(PartitionSpec(None, lay.data))
        xs = {n: put(z, batch_axis) for n, z in xs.items()}
    leaves, treedef = jax.tree.flatten(shardings)
    args = (network, put(dt, replicated), sources)
    return args, jax.tree.map(put, state, shardings), xs, (treedef, tuple(leaves))


def constrain(state: NetworkState, constraint: Any) -> NetworkState:
    """Pin ``state`` to the layout of :func:`place` (inside the scan body)."""
    if constraint is None:
        return state
    treedef, leaves = constraint
    return jax.lax.with_sharding_constraint(state, jax.tree.unflatten(treedef, leaves))


def spans_processes(devices: Sequence[jax.Device]) -> bool:
    """Whether ``devices`` belong to more than one process."""
    return len({d.process_index for d in devices}) > 1


def gather(tree: Any) -> Any:
    """Every array of ``tree`` as host-local NumPy holding its whole value.

    On one process this is ``np.asarray``. A run sharded over the devices of
    several processes returns arrays that each process holds only in part;
    ``gather`` collects them (``multihost_utils.process_allgather``), so it is
    a collective: every process must call it, in the same order.

    Args:
        tree: a pytree (``state.weights``, a whole :class:`NetworkState`).

    Returns:
        ``tree`` with NumPy arrays for its array leaves.
    """

    def one(x: Any) -> Any:
        if not isinstance(x, jax.Array):
            return x
        if x.is_fully_addressable or x.is_fully_replicated:
            return np.asarray(x)
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))

    return jax.tree.map(one, tree)


def compile_run(
    network: Network,
    sharding: Sharding | None,
    batch: int,
    steps: int,
    dtype: jnp.dtype,
    learning: bool = True,
) -> tuple[jax.stages.Compiled, NetworkState]:
    """The compiled run of ``network`` (Poisson input on every Input, no save)
    and its abstract initial state, made without data (checked arguments)."""
    from jstdp import _run  # run imports this module

    state = jax.eval_shape(lambda n: n.init(batch, dtype), network)
    sources = {
        p.name: (jax.ShapeDtypeStruct((batch, *p.shape), dtype), jax.random.key(0))
        for p in network.inputs
    }
    args = (
        _run._prepared(network, dtype, state.weights),
        jnp.asarray(1e-3, dtype),
        sources,
    )
    constraint = None
    if sharding is not None:
        args, state, _, constraint = place(args, state, None, sharding, abstract)
    compiled = (
        _run._SCANS["network"][0]
        .lower(*args, state, None, steps=steps, save=None, learning=learning,
               constraint=constraint)
        .compile()
    )  # fmt: skip
    return compiled, state


def memory_per_device(
    network: Network,
    *,
    sharding: Sharding | str | None = None,
    batch: int = 1,
    steps: int = 1,
    dtype: jax.typing.DTypeLike = jnp.float32,
    learning: bool = True,
) -> dict[str, int]:
    """Bytes one device needs for :func:`jstdp.run`, from the compiled program.

    Compiles the run (Poisson input on every :class:`jstdp.Input`, no save)
    without making, moving or running anything, and reads XLA's memory
    analysis of the executable: per device for a sharded run. The network's
    initial weights may be ``jax.ShapeDtypeStruct``\\ s, so a layer larger
    than this machine's memory can be planned::

        w = jax.ShapeDtypeStruct((50_000, 50_000), jnp.float32)   # 10 GB
        net = jstdp.Network([...], [jstdp.Projection("x", "y", w=w, ...)])
        jstdp.memory_per_device(net, sharding="model")["total"]

    Args:
        network: the :class:`jstdp.Network`.
        sharding: as in :func:`jstdp.run` (default: one device).
        batch: samples per step.
        steps: steps of the run (the loop's memory does not depend on it).
        dtype: floating dtype of the state.
        learning: as in :func:`jstdp.run`.

    Returns:
        ``{"weights": bytes of weights one device holds, "arguments",
        "outputs", "aliased" (outputs written over donated arguments),
        "temporaries", "total": arguments + outputs - aliased +
        temporaries}``.
    """
    v.instance("network", network, Network)
    batch = v.integer("batch", batch, 1)
    steps = v.integer("steps", steps, 1)
    dtype = v.floating_dtype("dtype", dtype)
    learning = v.flag("learning", learning)
    sharding = None if sharding is None else as_sharding(sharding)
    compiled, state = compile_run(network, sharding, batch, steps, dtype, learning)
    stats = compiled.memory_analysis()
    weights = 0
    for w in state.weights.values():
        shape = w.shape if w.sharding is None else w.sharding.shard_shape(w.shape)
        weights += int(np.prod(shape)) * w.dtype.itemsize
    out = dict(
        weights=weights,
        arguments=stats.argument_size_in_bytes,
        outputs=stats.output_size_in_bytes,
        aliased=stats.alias_size_in_bytes,
        temporaries=stats.temp_size_in_bytes,
    )
    out["total"] = (
        out["arguments"] + out["outputs"] - out["aliased"] + out["temporaries"]
    )
    return out
