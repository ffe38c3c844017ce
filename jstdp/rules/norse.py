r"""Norse's pair rule (``norse.torch.functional.stdp``), exact.

Traces first (explicit Euler), then the weight update from the updated
traces, summed over the batch:

.. math::
    t_{pre} &\leftarrow t_{pre} + dt\,\tau_{pre}^{-1}(-t_{pre} + a_{pre} z_{pre}) \\
    t_{post} &\leftarrow t_{post}
        + dt\,\tau_{post}^{-1}(-t_{post} + a_{post} z_{post}) \\
    w &\leftarrow \mathrm{bound}\big(w + A_+(w)\, C(z_{post}, t_{pre})
        - A_-(w)\, C(t_{post}, z_{pre})\big)

with ``C`` the connection's :meth:`correlate` (``sum_b post^T pre`` for a dense
layer, the receptive-field sum for conv2d). All functions follow Norse 1.1.0's
operation order, which is what makes agreement at the 1e-16 level possible in
float64.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, ClassVar, Literal, get_args

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import evolve, pytree, static
from jstdp.connections.dense import Dense

Algorithm = Literal[
    "additive", "additive_step", "multiplicative_pow", "multiplicative_relu"
]
ALGORITHMS: tuple[str, ...] = get_args(Algorithm)
NUMERIC_FIELDS: tuple[str, ...] = (
    "a_pre",
    "a_post",
    "tau_pre_inv",
    "tau_post_inv",
    "w_min",
    "w_max",
    "eta_plus",
    "eta_minus",
    "mu",
)

# On CPU, dense weights larger than this are updated in blocks of rows
# (:func:`update_rows`), without w-sized temporaries (benchmarks/results.md).
BLOCKED_MIN_BYTES = 1 << 27  # 128 MiB
# Bytes of w per block: a block and its two products stay in a core's L2.
BLOCK_BYTES = 1 << 18  # 256 KiB
# Event-driven updates (batch 1, see event_update) pay only for large w: on
# CPU every spike costs a loop trip, a small w is cheaper dense. Updated in
# place, a changed column costs about COLUMN_COST dense entries (strided
# access, a cache line per entry); above the break-even the step is dense.
EVENTS_MIN_ENTRIES = 1 << 20
COLUMN_COST = 32


def heaviside(x: jax.Array) -> jax.Array:
    """Norse's step function: 1 where ``x > 0``, else 0 (0 at 0)."""
    return (x > 0).astype(x.dtype)


@pytree
class STDPState:
    """Presynaptic and postsynaptic spike traces.

    Args:
        t_pre: presynaptic trace, same shape as ``z_pre``.
        t_post: postsynaptic trace, same shape as ``z_post``.
    """

    t_pre: jax.Array
    t_post: jax.Array

    @classmethod
    def zeros_like(
        cls,
        z_pre: ArrayLike,
        z_post: ArrayLike,
        dtype: jax.typing.DTypeLike | None = None,
    ) -> STDPState:
        """Zero traces shaped like the spikes, in ``dtype`` (default float32)."""
        dtype = jnp.float32 if dtype is None else dtype
        return cls(
            jnp.zeros(np.shape(z_pre), dtype), jnp.zeros(np.shape(z_post), dtype)
        )

    def decay(
        self,
        z_pre: ArrayLike,
        z_post: ArrayLike,
        tau_pre_inv: ArrayLike,
        tau_post_inv: ArrayLike,
        a_pre: ArrayLike,
        a_post: ArrayLike,
        dt: ArrayLike = 0.001,
    ) -> STDPState:
        """Return the traces after one explicit Euler step (Norse's ``decay``).

        ``t <- t + dt * tau_inv * (-t + a * z)``. Unlike Norse, ``self`` is
        not modified: a new state is returned.

        Raises:
            ValueError: a spike array does not broadcast with its trace.
        """
        for name, z, t in (
            ("z_pre", z_pre, self.t_pre),
            ("z_post", z_post, self.t_post),
        ):
            try:
                np.broadcast_shapes(np.shape(z), np.shape(t))
            except ValueError:
                raise ValueError(
                    f"{name} of shape {np.shape(z)} does not match its trace of "
                    f"shape {np.shape(t)}"
                ) from None
        return STDPState(
            self.t_pre + dt * tau_pre_inv * (-self.t_pre + a_pre * z_pre),
            self.t_post + dt * tau_post_inv * (-self.t_post + a_post * z_post),
        )


@dataclasses.dataclass(frozen=True)
class FastPaths:
    """Static choices of exact fast paths, fixed before tracing.

    ``half``: ``mu`` is 0.5 everywhere (True), is not (False), or unknown
    until run time (None): see :func:`apply_update`. ``merged``:
    ``additive`` with concrete scalar learning rates, so the two Hebbian
    products of a dense layer can be one (see :func:`dense_update`).
    ``events``: the weights are within the bounds, clipped every step, and
    the amplitudes finite, so a dense layer with batch 1 may update only the
    entries that a spike touches (:func:`event_update`). Only whether values
    are known (and their shapes) decides ``half`` and ``merged``, never the
    values, so a new value never recompiles; ``events`` is decided once per
    run from the initial weights, and so is ``half`` for weights over
    ``BLOCKED_MIN_BYTES`` (see :meth:`NorseSTDP.prepare`).
    """

    half: bool | None = None
    merged: bool = False
    events: bool = False


UNKNOWN = FastPaths()


@pytree
class NorseSTDP:
    """Norse's STDP rule as a jstdp rule (same names, order and defaults).

    The rule of ``norse.torch.functional.stdp``: Euler traces, then a pair
    update with one of four weight dependences (see :func:`amplitudes`),
    clipped to ``[w_min, w_max]`` when ``hardbound``. Works on every
    connection (Dense, Conv2d, OneToOne, AllToAllButSelf).

    Args:
        a_pre, a_post: trace increment scale per spike (traces jump by
            ``dt * tau_inv * a`` per spike: Norse's Euler scaling).
        tau_pre_inv, tau_post_inv: inverse trace time constants, 1/s.
        w_min, w_max: weight bounds.
        eta_plus, eta_minus: learning rates of potentiation and depression.
        stdp_algorithm: static; one of ``additive``, ``additive_step``,
            ``multiplicative_pow``, ``multiplicative_relu``.
        mu: exponent of ``multiplicative_pow``; the other rules ignore it
            (Norse overwrites it with 0 or 1: the same numbers).
        hardbound: static; clip the weights to ``[w_min, w_max]`` every step.

    Numeric fields may be arrays: per-neuron ``a``/``tau_inv`` (shaped like
    the spikes), per-synapse bounds and rates (shaped like ``w``), or a
    stacked leading axis for ``jax.vmap`` sweeps. Made directly, the values
    are checked (finite, ``w_min < w_max``, ``tau_*_inv > 0``); the Norse
    face's :class:`jstdp.STDPParameters` checks only when stepped, as Norse.
    """

    a_pre: ArrayLike = 1.0
    a_post: ArrayLike = 1.0
    tau_pre_inv: ArrayLike = 1.0 / 50e-3
    tau_post_inv: ArrayLike = 1.0 / 50e-3
    w_min: ArrayLike = 0.0
    w_max: ArrayLike = 1.0
    eta_plus: ArrayLike = 1e-3
    eta_minus: ArrayLike = 1e-3
    stdp_algorithm: Algorithm = static("additive")
    mu: ArrayLike = 0.0
    hardbound: bool = static(True)

    checks: ClassVar = (
        v.less("w_min", "w_max"),
        *v.positive("tau_pre_inv", "tau_post_inv"),
    )
    strict: ClassVar = v.non_negative("eta_plus", "eta_minus", "a_pre", "a_post", "mu")
    rates: ClassVar = ("tau_pre_inv", "tau_post_inv")

    def __post_init__(self) -> None:
        self._check_static()
        v.check_fields(self)

    def _check_static(self) -> None:
        v.choice("stdp_algorithm", self.stdp_algorithm, ALGORITHMS)
        if not isinstance(self.hardbound, bool):
            raise TypeError(f"hardbound must be a bool, got {self.hardbound!r}")

    # --- the rule protocol --------------------------------------------------

    def init(
        self,
        pre_shape: tuple[int, ...],
        post_shape: tuple[int, ...],
        w_shape: tuple[int, ...],
        dtype: jax.typing.DTypeLike = jnp.float32,
    ) -> STDPState:
        """Zero traces for spikes of ``pre_shape`` / ``post_shape`` (batch first).

        Raises:
            ValueError: a parameter does not broadcast to what it meets.
        """
        self.check_shapes(w_shape, pre_shape, post_shape)
        return STDPState(jnp.zeros(pre_shape, dtype), jnp.zeros(post_shape, dtype))

    def update(
        self,
        z_pre: jax.Array,
        z_post: jax.Array,
        w: jax.Array,
        state: STDPState,
        dt: jax.Array,
        connection: Any = None,
    ) -> tuple[jax.Array, STDPState]:
        """One step: traces, then the pair update through ``connection``.

        ``w <- bound(w + A_+ C(z_post, t_pre) - A_- C(t_post, z_pre))``, ``C``
        the connection's correlate (default :class:`Dense`). Spikes, traces,
        ``dt`` and the parameters are in ``w.dtype`` (the callers cast them).
        Returns ``(w, state)``.
        """
        return update(self, UNKNOWN, z_pre, z_post, w, state, dt, connection)

    def prepare(self, w: jax.Array | None = None) -> Specialized:
        """This rule with the fast paths its known values allow (before tracing).

        ``w``: the initial weights of a run, for :attr:`FastPaths.events`.
        """
        etas = (self.eta_plus, self.eta_minus)
        merged = self.stdp_algorithm == "additive" and all(
            not isinstance(eta, jax.core.Tracer) and np.ndim(eta) == 0 for eta in etas
        )
        # The check costs a pass over w: only where events change anything.
        useful = self.stdp_algorithm == "multiplicative_pow" or (
            w is not None and np.size(w) >= EVENTS_MIN_ENTRIES
        )
        events = useful and self.bounded(w)
        return Specialized(
            self, FastPaths(half=self._static_half(w), merged=merged, events=events)
        )

    def _static_half(self, w: Any) -> bool | None:
        """Whether ``mu`` is 0.5, decided now for weights over
        ``BLOCKED_MIN_BYTES`` with a known ``mu`` (else None: at run time).

        The run-time choice is a ``lax.cond`` around the whole run, which
        holds a second copy of weights updated in row blocks; deciding here
        costs at most one more compilation when ``mu`` moves to or from 0.5.
        """
        if (
            self.stdp_algorithm != "multiplicative_pow"
            or w is None
            or isinstance(self.mu, jax.core.Tracer)
            or np.prod(w.shape) * np.dtype(w.dtype).itemsize <= BLOCKED_MIN_BYTES
        ):
            return None
        return bool(np.all(np.asarray(self.mu) == 0.5))

    def bounded(self, w: jax.Array | None) -> bool:
        """Whether every step keeps ``w`` within finite bounds with finite
        amplitudes: ``hardbound``, ``w_min <= w <= w_max`` now, finite
        learning rates and ``mu >= 0``, all known values (not traced).

        Then an entry that no spike touches keeps its value exactly (the
        dense update adds ``A(w) * 0`` and clips), which is what
        :func:`event_update` relies on.
        """
        fields = (self.w_min, self.w_max, self.eta_plus, self.eta_minus, self.mu)
        if (
            not self.hardbound
            or w is None
            or isinstance(w, jax.ShapeDtypeStruct)  # a shape, no values
            or any(isinstance(x, jax.core.Tracer) for x in (w, *fields))
        ):
            return False
        finite = all(np.all(np.isfinite(np.asarray(x))) for x in fields)
        if not finite or np.any(np.asarray(self.mu) < 0):
            return False
        within = _within(w, self.w_min, self.w_max)
        # Inside a caller's jit the check is traced even for known w: no events.
        return not isinstance(within, jax.core.Tracer) and bool(within)

    def check_shapes(
        self,
        w_shape: tuple[int, ...],
        pre_shape: tuple[int, ...],
        post_shape: tuple[int, ...],
        name: str = "p_stdp",
    ) -> None:
        """Raise a ValueError naming the field whose shape does not broadcast.

        ``a_pre``/``tau_pre_inv`` meet the presynaptic trace, ``a_post``/
        ``tau_post_inv`` the postsynaptic trace and the other fields ``w``, so
        per-neuron or per-synapse values are allowed.
        """
        targets = dict(
            a_pre=pre_shape,
            tau_pre_inv=pre_shape,
            a_post=post_shape,
            tau_post_inv=post_shape,
        )
        for field in NUMERIC_FIELDS:
            shape = np.shape(getattr(self, field))
            target = tuple(targets.get(field, w_shape))
            try:
                ok = np.broadcast_shapes(shape, target) == target
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"{name}.{field} must be a scalar or broadcast to shape {target}, "
                    f"got shape {shape}"
                )


@jax.jit
def _within(w: jax.Array, low: jax.Array, high: jax.Array) -> jax.Array:
    """Whether ``low <= w <= high`` everywhere (one dispatch)."""
    return jnp.all((w >= low) & (w <= high))


@pytree
class Specialized:
    """A :class:`NorseSTDP` rule with static fast paths (what ``prepare`` makes).

    Runs the same mathematics; only the order of sums or the ``**`` kernel
    differs (see :class:`FastPaths`).
    """

    rule: NorseSTDP
    paths: FastPaths = static(UNKNOWN)

    def init(self, *args: Any, **kwargs: Any) -> STDPState:
        return self.rule.init(*args, **kwargs)

    def update(
        self,
        z_pre: jax.Array,
        z_post: jax.Array,
        w: jax.Array,
        state: STDPState,
        dt: jax.Array,
        connection: Any = None,
    ) -> tuple[jax.Array, STDPState]:
        return update(self.rule, self.paths, z_pre, z_post, w, state, dt, connection)

    def block_steps(self, connection: Any, batch: int, w: jax.Array) -> int:
        """Steps :meth:`update_block` takes at once on this layer (0: none)."""
        from jstdp.rules._norse_blocks import block_steps

        return block_steps(self.rule, self.paths, connection, batch, w)

    def update_block(
        self,
        z_pre: jax.Array,
        z_post: jax.Array,
        w: jax.Array,
        state: STDPState,
        dt: jax.Array,
    ) -> tuple[jax.Array, STDPState]:
        """``R`` steps at once (time-major spikes): ``R`` calls of ``update``."""
        from jstdp.rules._norse_blocks import update_block

        return update_block(self.rule, self.paths, z_pre, z_post, w, state, dt)

    def branches(self) -> tuple[jax.Array, Specialized, Specialized] | None:
        """``(mu is 0.5 everywhere, sqrt rule, general rule)`` for a ``lax.cond``
        around a whole run, or None when there is nothing to decide."""
        if (
            self.rule.stdp_algorithm != "multiplicative_pow"
            or self.paths.half is not None
        ):
            return None

        def with_half(half: bool) -> Specialized:
            return Specialized(self.rule, dataclasses.replace(self.paths, half=half))

        return all_half(self.rule.mu), with_half(True), with_half(False)


def update(
    p: NorseSTDP,
    paths: FastPaths,
    z_pre: jax.Array,
    z_post: jax.Array,
    w: jax.Array,
    state: STDPState,
    dt: jax.Array,
    connection: Any,
) -> tuple[jax.Array, STDPState]:
    """:meth:`NorseSTDP.update` with the fast paths ``paths``."""
    connection = Dense() if connection is None else connection
    state = state.decay(
        z_pre, z_post, p.tau_pre_inv, p.tau_post_inv, p.a_pre, p.a_post, dt
    )
    if isinstance(connection, Dense):
        return dense_update(w, z_pre, z_post, state, p, connection, paths), state
    pair = getattr(connection, "correlate_pair", None)
    if pair is not None:
        first, second = (z_post, state.t_pre), (state.t_post, z_pre)
        hebb_plus, hebb_minus = pair(first, second, w.shape)
    else:
        hebb_plus = connection.correlate(z_post, state.t_pre, w.shape)
        hebb_minus = connection.correlate(state.t_post, z_pre, w.shape)
    return apply_update(w, hebb_plus, hebb_minus, p, paths.half), state


# --- the mathematics ----------------------------------------------------------


@jax.custom_jvp
def power(x: jax.Array, y: jax.Array) -> jax.Array:
    """``jnp.power(x, y)`` for floats, computed as ``exp(y * log|x|)``.

    XLA:CPU evaluates ``pow`` with a traced exponent one element at a time;
    ``exp`` and ``log`` are vectorised. Values agree with ``jnp.power`` to a
    few ulp, and exactly (signed zeros, infinities, NaN) in the IEEE special
    cases: ``y = 0``, ``x = 0``, ``|x| = 1``, infinite ``x`` or ``y``,
    negative ``x`` (NaN unless ``y`` is an integer, the sign of ``x`` for odd
    ``y``). Derivatives are ``jnp.power``'s.
    """
    y_int = y == jnp.round(y)
    y_odd = y_int & (jnp.round(0.5 * y) * 2 != y)  # fmod is a libm call
    magnitude = jnp.exp(y * jnp.log(jnp.abs(x)))
    out = jnp.where(y_odd & jnp.signbit(x), -magnitude, magnitude)
    finite_negative = (x < 0) & jnp.isfinite(x)
    out = jnp.where(finite_negative & ~y_int & jnp.isfinite(y), jnp.nan, out)
    one = (x == 1) | (y == 0) | ((x == -1) & jnp.isinf(y))
    return jnp.where(one, 1, out)


@power.defjvp
def _power_jvp(primals, tangents):
    return power(*primals), jax.jvp(jnp.power, primals, tangents)[1]


@jax.custom_jvp
def power_half(x: jax.Array, y: jax.Array) -> jax.Array:
    """``jnp.power(x, y)`` for ``y == 0.5`` (the caller's promise): ``sqrt(x)``.

    One correctly rounded instruction instead of ``exp`` and ``log``, so it
    is closer to the exact power than :func:`power`. The IEEE ``pow`` special
    cases that ``sqrt`` lacks are kept: ``pow(-0, 0.5) = +0`` and
    ``pow(-inf, 0.5) = +inf``. Derivatives, with respect to ``y`` too, are
    ``jnp.power``'s.
    """
    del y
    return jnp.abs(jnp.sqrt(jnp.where(x == -jnp.inf, jnp.inf, x)))


@power_half.defjvp
def _power_half_jvp(primals, tangents):
    return power_half(*primals), jax.jvp(jnp.power, primals, tangents)[1]


def amplitudes(
    w: jax.Array, p: NorseSTDP, pow_fn: Callable = power
) -> tuple[jax.Array, jax.Array]:
    """Weight dependence ``(A_plus(w), A_minus(w))`` of potentiation and depression.

    ===================  ==========================  ==========================
    rule                 ``A_plus(w)``               ``A_minus(w)``
    ===================  ==========================  ==========================
    additive             ``eta_plus``                ``eta_minus``
    additive_step        ``eta_plus*H(w_max-w)``     ``eta_minus*H(w-w_min)``
    multiplicative_pow   ``eta_plus*(w_max-w)**mu``  ``eta_minus*(w-w_min)**mu``
    multiplicative_relu  ``eta_plus*relu(w_max-w)``  ``eta_minus*relu(w-w_min)``
    ===================  ==========================  ==========================

    ``H(x) = 1 if x > 0 else 0``. ``stdp_algorithm`` is static, so the branch is
    chosen at trace time. With ``hardbound=False`` and fractional ``mu``,
    ``multiplicative_pow`` gives NaN once a weight leaves the bounds (as Norse).
    ``pow_fn`` computes ``**`` (:func:`power`, or :func:`power_half` when
    ``mu`` is 0.5).
    """
    match p.stdp_algorithm:
        case "additive":
            return p.eta_plus, p.eta_minus
        case "additive_step":
            return (
                p.eta_plus * heaviside(p.w_max - w),
                p.eta_minus * heaviside(w - p.w_min),
            )
        case "multiplicative_pow":
            return (
                p.eta_plus * pow_fn(p.w_max - w, p.mu),
                p.eta_minus * pow_fn(w - p.w_min, p.mu),
            )
        case "multiplicative_relu":
            return (
                p.eta_plus * jax.nn.relu(p.w_max - w),
                p.eta_minus * jax.nn.relu(w - p.w_min),
            )
    raise ValueError(f"unknown stdp_algorithm {p.stdp_algorithm!r}")


def all_half(mu: jax.Array) -> jax.Array:
    """Whether every ``mu`` is 0.5: the predicate of the ``sqrt`` branch.

    Under ``vmap`` the answer is one for all parameter sets (every set's
    ``mu`` is 0.5, or the general power serves them all), so a ``lax.cond``
    on it stays a branch instead of running both sides for every set. No
    gradient flows through it (it is a comparison).
    """
    return _all_half(jax.lax.stop_gradient(mu))


@jax.custom_batching.custom_vmap
def _all_half(mu: jax.Array) -> jax.Array:
    return jnp.all(mu == 0.5)


@_all_half.def_vmap
def _all_half_vmap(axis_size, in_batched, mu):
    return jnp.all(mu == 0.5), False


def bound(w: jax.Array, p: NorseSTDP) -> jax.Array:
    """``clip(w, w_min, w_max)`` with ``hardbound``, else ``w`` unchanged."""
    return jnp.clip(w, p.w_min, p.w_max) if p.hardbound else w


def _apply_update(w, hebb_plus, hebb_minus, p, pow_fn, plus=True):
    if not plus:  # hebb_plus is 0: so is A_plus(w) * hebb_plus, when finite
        a_minus = amplitudes(w, p, pow_fn)[1]
        return bound(w + (jnp.zeros_like(w) - a_minus * hebb_minus), p)
    a_plus, a_minus = amplitudes(w, p, pow_fn)
    return bound(w + (a_plus * hebb_plus - a_minus * hebb_minus), p)


def apply_update(
    w: jax.Array,
    hebb_plus: jax.Array,
    hebb_minus: jax.Array,
    p: NorseSTDP,
    half: bool | None = None,
    plus: bool = True,
) -> jax.Array:
    """``bound(w + (A_plus(w) * hebb_plus - A_minus(w) * hebb_minus))``.

    One elementwise pass over ``w`` that XLA fuses. ``half`` (static, see
    :class:`FastPaths`) picks the ``**`` of ``multiplicative_pow``: True,
    :func:`power_half` (``sqrt``); False, :func:`power`; None (a single
    step), decide at run time with a ``lax.cond`` on :func:`all_half`
    around the whole update, which keeps each side one fused pass but costs
    a copy of ``w``. ``plus=False`` promises that ``hebb_plus`` is 0 and the
    amplitudes finite: the potentiation term is then 0 without computing
    ``A_plus``.
    """
    if p.stdp_algorithm != "multiplicative_pow" or half is not None:
        pow_fn = power_half if half else power
        return _apply_update(w, hebb_plus, hebb_minus, p, pow_fn, plus)
    return jax.lax.cond(
        all_half(p.mu),
        functools.partial(_apply_update, pow_fn=power_half, plus=plus),
        functools.partial(_apply_update, pow_fn=power, plus=plus),
        w,
        hebb_plus,
        hebb_minus,
        p,
    )


def dense_update(
    w: jax.Array,
    z_pre: jax.Array,
    z_post: jax.Array,
    state: STDPState,
    p: NorseSTDP,
    connection: Dense,
    paths: FastPaths = UNKNOWN,
) -> jax.Array:
    """The dense update, whole or (large ``w`` on CPU) in blocks of rows.

    With ``paths.merged`` (``additive``, concrete scalar learning rates) the
    two Hebbian terms are one product over the stacked batch, ``[eta_+ z_post,
    -eta_- t_post]^T [t_pre, z_pre]`` (the same terms summed in another order).
    With ``paths.events`` and a batch of 1, :func:`event_update`.
    """

    def whole(w, z_pre, z_post, state):
        if paths.merged and z_pre.shape[0] > 1:  # with one sample, outer products
            left = jnp.concatenate([p.eta_plus * z_post, -p.eta_minus * state.t_post])
            right = jnp.concatenate([state.t_pre, z_pre])
            return bound(w + connection.correlate(left, right, w.shape), p)
        hebb_plus = connection.correlate(z_post, state.t_pre, w.shape)
        hebb_minus = connection.correlate(state.t_post, z_pre, w.shape)
        if paths.events and p.stdp_algorithm == "multiplicative_pow" and not paths.half:
            # Without a postsynaptic spike hebb_plus is 0 and A_plus(w) * 0 =
            # 0 (A_plus is finite, FastPaths.events): skip half the powers
            # (exp and log; a sqrt costs less than the branch and its copy).
            return jax.lax.cond(
                jnp.any(z_post != 0),
                lambda w: apply_update(w, hebb_plus, hebb_minus, p, paths.half),
                lambda w: apply_update(w, 0.0, hebb_minus, p, paths.half, False),
                w,
            )
        return apply_update(w, hebb_plus, hebb_minus, p, paths.half)

    def dense(w, z_pre=z_pre, z_post=z_post, state=state):
        rows = max(
            1, BLOCK_BYTES // max(1, w.shape[1] * w.dtype.itemsize)
        )  # n_pre may be 0
        if w.size * w.dtype.itemsize <= BLOCKED_MIN_BYTES or w.shape[0] <= rows:
            return whole(w, z_pre, z_post, state)
        # Accelerators run one big product faster than a loop of small ones.
        blocked = functools.partial(update_rows, whole, rows=rows)
        return jax.lax.platform_dependent(
            w, z_pre, z_post, state, cpu=blocked, default=whole
        )

    if paths.events and z_pre.shape[0] == 1 and w.size >= EVENTS_MIN_ENTRIES:
        return event_update(dense, w, z_pre, z_post, state, p, paths.half)
    return dense(w)


def event_update(
    dense: Callable[..., jax.Array],
    w: jax.Array,
    z_pre: jax.Array,
    z_post: jax.Array,
    state: STDPState,
    p: NorseSTDP,
    half: bool | None,
) -> jax.Array:
    """The dense update of a batch of 1, touching only what the spikes touch.

    With one sample the Hebbian products are ``z_post[i] t_pre[j]`` and
    ``t_post[i] z_pre[j]``: entry ``(i, j)`` changes only in the row of a
    postsynaptic spike or the column of a presynaptic one. Elsewhere the
    dense update adds ``A(w) * 0`` and clips, which leaves ``w`` as it is
    when ``p.bounded(w)`` held at the start of the run (the caller's
    promise, :attr:`FastPaths.events`). The rows and columns of spikes get
    the arithmetic of ``dense``, entry for entry (bit for bit: a product
    with one term is exact), in place, one row or column at a time
    (``fori_loop`` with the number of spikes as trip count). When spikes
    are too many for that to pay, ``dense(w, ...)`` runs instead, as a loop
    of zero or one trip, so that ``w`` is never copied.
    """
    n_post, n_pre = w.shape
    zq, zp = z_post[0], z_pre[0]
    tp, tq = state.t_pre[0], state.t_post[0]
    rows_on, cols_on = zq != 0, zp != 0
    n_rows = jnp.sum(rows_on, dtype=jnp.int32)
    n_cols = jnp.sum(cols_on, dtype=jnp.int32)
    events = n_cols * (COLUMN_COST * n_post) + n_rows * n_pre <= n_post * n_pre

    def fallback(_, w):
        # The barrier ties the products to w: hoisted out of the loop, they
        # would run on every step, events or not.
        return dense(*jax.lax.optimization_barrier((w, z_pre, z_post, state)))

    w = jax.lax.fori_loop(0, jnp.where(events, 0, 1), fallback, w)

    def lines(axis, on, count, w):
        """Update the rows (axis 0) or columns (axis 1) where ``on``, one at a
        time, in place; columns leave the rows of spikes (done already)."""
        where = _first(on, w.shape[axis])

        def one(k, w):
            def cut(x):  # the line of x; a size-1 axis broadcasts as it is
                return jax.lax.dynamic_slice_in_dim(x, where[k], 1, axis)

            old = cut(w)
            hebb_plus = cut(zq[:, None]) * cut(tp[None])
            hebb_minus = cut(tq[:, None]) * cut(zp[None])
            new = apply_update(
                old, hebb_plus, hebb_minus, _entries(p, w.shape, cut), half
            )
            if axis == 1:
                new = jnp.where(rows_on[:, None], old, new)
            return jax.lax.dynamic_update_slice_in_dim(w, new, where[k], axis)

        return jax.lax.fori_loop(0, jnp.where(events, count, 0), one, w)

    return lines(1, cols_on, n_cols, lines(0, rows_on, n_rows, w))


def _first(mask: jax.Array, k: int) -> jax.Array:
    """Indices of the first ``k`` True entries of ``mask``, ascending, then
    ``len(mask)``: a binary search in the running count (on CPU much cheaper
    than ``jnp.nonzero``'s scatter or ``lax.top_k`` inside a loop)."""
    count = jnp.cumsum(mask, dtype=jnp.int32)
    ranks = jnp.arange(1, k + 1, dtype=jnp.int32)
    index = jnp.searchsorted(count, ranks, method="scan_unrolled")
    return index.astype(jnp.int32)


def _entries(p: NorseSTDP, shape: tuple[int, ...], take: Callable) -> NorseSTDP:
    """``p`` with its per-synapse fields (those meeting ``w``) cut by ``take``.

    ``take`` cuts an array shaped like ``w`` along the axis that varies; a
    field of size 1 on that axis broadcasts as it is.
    """
    cut = {}
    for name in ("w_min", "w_max", "eta_plus", "eta_minus", "mu"):
        x = jnp.asarray(getattr(p, name))
        if x.ndim:
            cut[name] = take(jnp.broadcast_to(x, shape))
    return evolve(p, **cut) if cut else p


def update_rows(
    update: Callable,
    w: jax.Array,
    z_pre: jax.Array,
    z_post: jax.Array,
    state: STDPState,
    rows: int,
) -> jax.Array:
    """``update(w, z_pre, z_post, state)``, ``rows`` rows of ``w`` at a time.

    Row ``i`` of the new weights needs only row ``i`` of ``w`` and column
    ``i`` of ``z_post`` and ``t_post``, so each block is ``update`` of a
    slice, with the same arithmetic per entry. Blocks are written back in
    place (``dynamic_update_slice`` on a ``fori_loop`` carry) and their
    products never leave the cache.
    """
    rows = min(rows, w.shape[0])
    n_blocks, rest = divmod(w.shape[0], rows)

    def block(start: jax.Array | int, size: int, w: jax.Array) -> jax.Array:
        def cols(x: jax.Array) -> jax.Array:
            return jax.lax.dynamic_slice_in_dim(x, start, size, axis=1)

        new_rows = update(
            jax.lax.dynamic_slice_in_dim(w, start, size, axis=0),
            z_pre,
            cols(z_post),
            STDPState(state.t_pre, cols(state.t_post)),
        )
        return jax.lax.dynamic_update_slice_in_dim(w, new_rows, start, axis=0)

    w = jax.lax.fori_loop(0, n_blocks, lambda k, w: block(k * rows, rows, w), w)
    return block(n_blocks * rows, rest, w) if rest else w
