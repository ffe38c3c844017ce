"""What jstdp's NEST rules share: NEST's units and names, exact decays, the
clipping of weights in magnitude, and NEST's rules on the signs of weights.

Units are NEST's: time constants in ms, the dopamine concentration ``n`` and
its baseline ``b`` per ms. ``dt`` is in seconds, as everywhere in jstdp; the
rules convert it (``dt * 1000`` ms).

Time: a rule's ``init`` state is the state at NEST time 0, and ``update`` at
step ``k`` advances to ``t = (k + 1) dt`` and takes the spikes at ``t``, as
the synapse sees them (NEST's dendritic delay already applied to the
postsynaptic train). NEST updates a synapse lazily, at its presynaptic
spikes; the rules here update every step, which gives NEST's weight at every
presynaptic spike (for a batch of one, NEST's own sequence of operations).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import pytree
from jstdp.connections.dense import Dense
from jstdp.rules.norse import power

MS_PER_S = 1e3

# NEST's checks that a weight and Wmax agree in sign (each model's set_status):
# (predicate(w, Wmax), what the message adds).
SIGN_RULES: dict[str, tuple[Callable[..., Any], str]] = {
    # stdp_synapse, stdp_nn_pre_centered/restr, stdp_triplet: (x >= 0) - (x < 0).
    "zero_positive": (
        lambda w, w_max: (w >= 0) == (w_max >= 0),
        "NEST counts 0 as positive",
    ),
    # stdp_nn_symm_synapse: std::signbit, so -0.0 is negative.
    "signbit": (
        lambda w, w_max: jnp.signbit(w) == jnp.signbit(w_max),
        "by the sign bit, as NEST",
    ),
    # vogels_sprekeler_synapse: 0 goes with either sign.
    "signbit_or_zero": (
        lambda w, w_max: (w == 0) | (jnp.signbit(w) == jnp.signbit(w_max)),
        "or be 0, as NEST",
    ),
}


# A rule's state at time 0, field by field: (shape, value, dtype). The shape is
# "pre" or "post" (like the spikes, batch first), "w", "synapse" ((batch,
# *w_shape): one per synapse and batch entry) or "scalar"; dtype None is the
# weights' dtype.
Layout = tuple[tuple[str, float, Any], ...]


def nonzero(*names: str) -> tuple[v.Check, ...]:
    return tuple(((n,), lambda x: x != 0, "be != 0") for n in names)


def decay(trace: jax.Array, dt: jax.Array, tau: jax.Array) -> jax.Array:
    """``trace * exp(-dt / tau)``: one step's exact decay, ``dt`` in s, ``tau``
    in ms, computed as ``trace + trace * expm1(-dt / tau)``.

    The factor ``exp(-dt / tau)`` rounded once is off in the same direction
    every step, an error that grows with the trace's memory (``tau / dt``
    steps): 20 times the float32 error against NEST. ``expm1`` keeps the
    small change to full relative precision, so only the rounding of each
    step remains, which does not add up in one direction.
    """
    return trace + trace * jnp.expm1(-(dt * MS_PER_S) / tau)


def reset(trace: jax.Array, z: jax.Array) -> jax.Array:
    """A nearest-neighbour trace: 1 at a spike (not increased by 1)."""
    return jnp.where(z > 0, jnp.ones((), trace.dtype), trace)


def safe_power(x: jax.Array, y: jax.Array) -> jax.Array:
    """``x ** y`` for ``x >= 0``, with finite derivatives where ``x <= 0``.

    At ``x = 0`` the value is ``0 ** y`` (1 for ``y = 0``, else 0) and the
    derivative with respect to ``x`` is 0 instead of infinite, so a weight at
    its bound (clipped, derivative 0) gives no ``0 * inf = NaN`` in ``grad``.
    ``x < 0`` (a weight beyond its bound, which NEST turns into NaN and then
    the bound) counts as 0, which gives the same bound.
    """
    positive = x > 0
    inside = power(jnp.where(positive, x, jnp.ones((), x.dtype)), y)
    return jnp.where(positive, inside, (y == 0).astype(x.dtype))


def grow(w: jax.Array, k: jax.Array, w_max: jax.Array) -> jax.Array:
    """NEST's facilitation in magnitude, ``copysign(min(|w| + k, |Wmax|), Wmax)``,
    where ``k != 0`` (a synapse without a pairing keeps its weight)."""
    new = jnp.abs(w) + k
    new = jnp.copysign(jnp.where(new < jnp.abs(w_max), new, w_max), w_max)
    return jnp.where(k != 0, new, w)


def shrink(w: jax.Array, k: jax.Array, w_max: jax.Array) -> jax.Array:
    """NEST's depression in magnitude, ``copysign(max(|w| - k, 0), Wmax)``,
    where ``k != 0``."""
    new = jnp.abs(w) - k
    new = jnp.copysign(jnp.where(new > 0, new, jnp.zeros((), new.dtype)), w_max)
    return jnp.where(k != 0, new, w)


def synapse_pairs(rule: Any, connection: Any) -> Any:
    """``connection`` if it can spread values over single synapses, else an
    error naming the rule (its state or pairing conditions are per synapse)."""
    if not callable(getattr(connection, "pairs", None)):
        raise ValueError(
            f"{type(rule).__name__} keeps state per synapse (NEST's "
            f"{rule.nest_model}), which needs a Dense, OneToOne or AllToAllButSelf "
            f"connection; {type(connection).__name__} shares its weights between "
            "synapses"
        )
    return connection


@pytree
class NESTTraces:
    """Presynaptic and postsynaptic traces, NEST's ``Kplus`` and ``Kminus``.

    Args:
        Kplus: presynaptic trace ``(batch, *pre_shape)`` (time constant
            ``tau_plus``).
        Kminus: postsynaptic trace ``(batch, *post_shape)`` (``tau_minus``).
    """

    Kplus: jax.Array
    Kminus: jax.Array


@jax.jit
def _step(rule, z_pre, z_post, w, state, dt, connection, signals):
    return rule.step(z_pre, z_post, w, state, dt, connection, **signals)


class NESTRule:
    """What every NEST rule does: check its values when made (``checks``:
    finite, positive time constants, ...), come from NEST's parameter names
    (:meth:`from_nest`), run its ``step`` compiled (:meth:`update`) and check
    weights as NEST does (:meth:`check_weights`).
    """

    nest_model: ClassVar[str] = ""
    sign_rule: ClassVar[str | None] = None  # a key of SIGN_RULES
    state_type: ClassVar[type]
    state_layout: ClassVar[Layout]

    def init(
        self,
        pre_shape: tuple[int, ...],
        post_shape: tuple[int, ...],
        w_shape: tuple[int, ...],
        dtype: jax.typing.DTypeLike = jnp.float32,
    ) -> Any:
        """The state at NEST time 0 for spikes of ``pre_shape`` / ``post_shape``
        (batch first) and weights of ``w_shape``: a ``state_type`` whose fields
        the class's ``state_layout`` gives (see :data:`Layout`)."""
        shapes = {
            "pre": pre_shape,
            "post": post_shape,
            "w": w_shape,
            "synapse": (pre_shape[0], *w_shape),
            "scalar": (),
        }
        return self.state_type(
            *(
                jnp.full(shapes[shape], value, dtype if kind is None else kind)
                for shape, value, kind in self.state_layout
            )
        )

    def __post_init__(self) -> None:
        v.check_fields(self)

    @classmethod
    def from_nest(cls, *params: Mapping[str, ArrayLike]) -> Self:
        """The rule of NEST parameter dicts, e.g. a synapse's ``syn_spec`` and
        the postsynaptic neuron's ``{"tau_minus": ...}``.

        NEST's ``lambda`` is ``lambda_`` here; every other key must be a field.

        Raises:
            ValueError: a key that is no parameter of the rule.
        """
        fields = tuple(f.name for f in dataclasses.fields(cls))
        values: dict[str, ArrayLike] = {}
        for p in params:
            for key, value in p.items():
                name = "lambda_" if key == "lambda" else key
                if name not in fields:
                    raise ValueError(
                        f"{cls.__name__} has no parameter {key!r} (NEST's "
                        f"{cls.nest_model}); its parameters: {', '.join(fields)}"
                    )
                values[name] = value
        return cls(**values)

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
        """One step of the rule (its ``step``), compiled; returns ``(w, state)``.

        Spikes, state, ``dt`` (s) and the parameters are in ``w.dtype`` (the
        callers cast them); ``connection`` defaults to :class:`Dense`. Called
        eagerly, the step runs as the one kernel a jitted run or a
        ``lax.scan`` fuses it into, so all three agree bit for bit.
        """
        return _step(
            self,
            z_pre,
            z_post,
            w,
            state,
            dt,
            Dense() if connection is None else connection,
            signals,
        )

    def check_weights(self, w: ArrayLike) -> None:
        """Raise a ValueError where ``w`` and ``Wmax`` differ in sign and NEST
        refuses that (each model's own rule); traced values become checkify
        checks (see :mod:`jstdp._validation`)."""
        if self.sign_rule is None:
            return
        predicate, note = SIGN_RULES[self.sign_rule]
        v.require(
            "w",
            {"w": w, "Wmax": self.Wmax},
            predicate,
            f"have the sign of {type(self).__name__}.Wmax ({note})",
        )


class TraceRule(NESTRule):
    """A NEST rule whose state is one presynaptic and one postsynaptic trace.

    Each step, NEST's order for spikes at the same time ``t``: the traces
    decay to ``t``; :meth:`pair` changes the weights with the traces of the
    spikes strictly before ``t``; then the traces take the spikes at ``t``
    (``+ 1``, or set to 1 for ``nearest`` traces). Subclasses give
    ``pair(w, x, y, z_pre, z_post, connection) -> w`` and say which field
    is the presynaptic time constant (``pre_tau``) and whether the traces
    are ``nearest``; ``state_layout`` says where they start.
    """

    pre_tau: ClassVar[str] = "tau_plus"
    nearest: ClassVar[bool] = False
    state_type: ClassVar = NESTTraces
    state_layout: ClassVar = (("pre", 0.0, None), ("post", 0.0, None))

    def step(
        self,
        z_pre: jax.Array,
        z_post: jax.Array,
        w: jax.Array,
        state: NESTTraces,
        dt: jax.Array,
        connection: Any,
    ) -> tuple[jax.Array, NESTTraces]:
        """One step: decay, :meth:`pair`, the spikes into the traces.
        Returns ``(w, state)``."""
        x = decay(state.Kplus, dt, getattr(self, self.pre_tau))
        y = decay(state.Kminus, dt, self.tau_minus)
        w = self.pair(w, x, y, z_pre, z_post, connection)
        if self.nearest:
            return w, NESTTraces(reset(x, z_pre), reset(y, z_post))
        return w, NESTTraces(x + z_pre, y + z_post)
