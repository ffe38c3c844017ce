"""Neurons and encoders for closed loops: Norse's LIF, a conductance LIF, Poisson.

Every neuron-parameter pytree here implements the protocol the closed loops of
:mod:`jstdp._simulate` use, so a user can plug in their own neuron::

    state = p_neuron.initial_state(shape, dtype)
    z, state = p_neuron.step(drive, state, dt)

``drive`` is the synaptic input of the step (``z_in @ w.T`` for a dense layer,
``conv(z_in, w)`` for a conv2d layer). Defaults are Python floats, so
importing this module creates no device array; values follow the dtype of the
state.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

Method = Literal["super", "heaviside"]
METHODS: tuple[str, ...] = ("super", "heaviside")


@jax.custom_jvp
def superspike(x: jax.Array) -> jax.Array:
    r"""Heaviside ``H(x) = x > 0`` forward, SuperSpike surrogate derivative backward.

    .. math::
        \frac{\partial z}{\partial x} = \frac{1}{(|x| + 1)^2}

    exactly Norse 1.1.0's ``SuperSpike.backward`` (Zenke & Ganguli 2018,
    section 3.3.2). Norse passes ``alpha`` to it but does not use it, so this
    function takes none.
    """
    return (x > 0).astype(x.dtype)


@superspike.defjvp
def _superspike_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return superspike(x), dx / (jnp.abs(x) + 1.0) ** 2


def threshold(x: jax.Array, method: str) -> jax.Array:
    """Spike where ``x > 0``; ``method`` picks the derivative.

    ``"super"``: SuperSpike surrogate (:func:`superspike`), Norse's default.
    ``"heaviside"``: the true derivative, zero almost everywhere, so no
    gradient flows through a spike.
    """
    match method:
        case "super":
            return superspike(x)
        case "heaviside":
            return (x > 0).astype(x.dtype)
    raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")


def _check_method(method: object) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")


def _cast(params: object, dtype: jax.typing.DTypeLike) -> object:
    """``params`` with every numeric leaf as an array of ``dtype``."""
    return jax.tree.map(lambda x: jnp.asarray(x, dtype), params)


def _prepare_step(
    state: object,
    state_type: type,
    name: str,
    drive: ArrayLike,
    p: object,
    dt: ArrayLike,
) -> tuple[jnp.dtype, object, jax.Array]:
    """Check a neuron step's inputs; the state's dtype, ``p`` and ``dt`` in it.

    Raises:
        TypeError: ``state`` is not a ``state_type``, or ``state.v`` is not
            floating.
        ValueError: ``drive`` (called ``name``) does not broadcast to the
            state, or a concrete ``dt <= 0``.
    """
    if not isinstance(state, state_type):
        raise TypeError(
            f"state must be jstdp.{state_type.__name__}, got {type(state).__name__}"
        )
    dtype = jnp.result_type(state.v)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"state.v must have a floating dtype, got {dtype}")
    v = state.v
    try:
        ok = np.broadcast_shapes(np.shape(drive), np.shape(v)) == np.shape(v)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{name} of shape {np.shape(drive)} must broadcast to the neuron "
            f"state's shape {np.shape(v)}"
        )
    numeric = (int, float, np.generic, np.ndarray, jax.Array)
    concrete = isinstance(dt, numeric) and not isinstance(dt, jax.core.Tracer)
    if concrete and not np.all(np.isfinite(dt) & (np.asarray(dt) > 0)):
        raise ValueError(f"dt must be positive and finite, got {dt!r}")
    return dtype, _cast(p, dtype), jnp.asarray(dt, dtype)


@struct.dataclass
class LIFFeedForwardState:
    """State of a feed-forward LIF neuron (Norse's ``LIFFeedForwardState``).

    Args:
        v: membrane potential.
        i: synaptic input current.
    """

    v: jax.Array
    i: jax.Array


@struct.dataclass
class LIFParameters:
    """Parameters of Norse's current-based LIF neuron (same names and defaults).

    Args:
        tau_syn_inv: inverse synaptic time constant, 1/s.
        tau_mem_inv: inverse membrane time constant, 1/s.
        v_leak: leak potential.
        v_th: threshold potential.
        v_reset: reset potential.
        method: static; ``"super"`` (SuperSpike surrogate gradient, as Norse)
            or ``"heaviside"`` (no gradient through the threshold).
        alpha: surrogate hyper-parameter, kept for Norse parity; Norse 1.1.0's
            SuperSpike does not use it, and neither does jstdp.
    """

    tau_syn_inv: ArrayLike = 1.0 / 5e-3
    tau_mem_inv: ArrayLike = 1.0 / 1e-2
    v_leak: ArrayLike = 0.0
    v_th: ArrayLike = 1.0
    v_reset: ArrayLike = 0.0
    method: Method = struct.field(pytree_node=False, default="super")
    alpha: ArrayLike = 100.0

    def __post_init__(self) -> None:
        _check_method(self.method)

    def initial_state(
        self, shape: tuple[int, ...], dtype: jax.typing.DTypeLike = jnp.float32
    ) -> LIFFeedForwardState:
        """Resting state: ``v = v_leak``, ``i = 0`` (Norse's module default)."""
        return LIFFeedForwardState(
            v=jnp.full(shape, jnp.asarray(self.v_leak, dtype), dtype),
            i=jnp.zeros(shape, dtype),
        )

    def step(
        self, drive: ArrayLike, state: LIFFeedForwardState, dt: ArrayLike = 0.001
    ) -> tuple[jax.Array, LIFFeedForwardState]:
        """The neuron protocol: :func:`lif_feed_forward_step` with these parameters."""
        return lif_feed_forward_step(drive, state, self, dt)


def lif_feed_forward_step(
    input_current: ArrayLike,
    state: LIFFeedForwardState,
    p: LIFParameters | None = None,
    dt: ArrayLike = 0.001,
) -> tuple[jax.Array, LIFFeedForwardState]:
    r"""One Euler step of a feed-forward LIF neuron (Norse's update order).

    .. math::
        i' &= i + i_{in} \\
        v' &= v + dt\,\tau_{mem}^{-1}\big((v_{leak} - v) + i'\big) \\
        i'' &= i' - dt\,\tau_{syn}^{-1}\, i' \\
        z &= H(v' - v_{th}) \\
        v'' &= (1 - z)\, v' + z\, v_{reset}

    with ``H(x) = 1 if x > 0 else 0``; its derivative is the surrogate of
    ``p.method``. As in Norse's ``lif_feed_forward_step``, the reset is not
    detached, so gradients also flow through ``z`` in the reset.

    Args:
        input_current: input of this step (e.g. ``z_in @ w.T``), any shape
            broadcastable to the state.
        state: ``v`` and ``i``; their floating dtype is the compute dtype.
        p: parameters (default ``LIFParameters()``).
        dt: time step in seconds.

    Returns:
        ``(z, state)``: spikes (0/1 in the state's dtype) and the new state.
    """
    p = LIFParameters() if p is None else p
    if not isinstance(p, LIFParameters):
        raise TypeError(f"p must be jstdp.LIFParameters, got {type(p).__name__}")
    dtype, p, dt = _prepare_step(
        state, LIFFeedForwardState, "input_current", input_current, p, dt
    )
    v, i = jnp.asarray(state.v, dtype), jnp.asarray(state.i, dtype)
    i_new = i + jnp.asarray(input_current).astype(dtype)
    v_decayed = v + dt * p.tau_mem_inv * ((p.v_leak - v) + i_new)
    i_decayed = i_new + -dt * p.tau_syn_inv * i_new
    z = threshold(v_decayed - p.v_th, p.method)
    v_new = (1 - z) * v_decayed + z * p.v_reset
    return z, LIFFeedForwardState(v=v_new, i=i_decayed)


@struct.dataclass
class ConductanceLIFState:
    """State of a conductance-based LIF neuron.

    Args:
        v: membrane potential, mV.
        g: excitatory conductance, in units of the leak conductance.
    """

    v: jax.Array
    g: jax.Array


@struct.dataclass
class ConductanceLIFParameters:
    r"""Song, Miller & Abbott (2000)'s conductance-based LIF neuron.

    Voltages in mV, conductances in units of the leak conductance, as in the
    Brian2 ``examples/synapses/STDP.py`` model:

    .. math::
        \tau_{mem}\,\dot v = (E_L - v) + g\,(E_e - v), \qquad
        \tau_e\,\dot g = -g,

    and each step the synaptic drive adds ``g_max * drive`` to ``g`` (with
    weights in ``[0, 1]``, an input spike through weight ``w`` adds
    ``g_max * w``). Spike when ``v > v_th``, then ``v <- v_reset``.

    Args:
        tau_mem_inv: inverse membrane time constant, 1/s (10 ms).
        tau_e_inv: inverse excitatory synaptic time constant, 1/s (5 ms).
        e_leak: leak reversal potential E_L, mV.
        e_exc: excitatory reversal potential E_e, mV.
        v_th: threshold, mV.
        v_reset: reset potential, mV.
        g_max: conductance added per unit drive (weight 1, one spike).
        method: static; ``"super"`` or ``"heaviside"``, as in
            :class:`LIFParameters` (the surrogate sees ``v - v_th`` in mV).
        alpha: kept for symmetry with :class:`LIFParameters`; unused.
    """

    tau_mem_inv: ArrayLike = 1.0 / 10e-3
    tau_e_inv: ArrayLike = 1.0 / 5e-3
    e_leak: ArrayLike = -74.0
    e_exc: ArrayLike = 0.0
    v_th: ArrayLike = -54.0
    v_reset: ArrayLike = -60.0
    g_max: ArrayLike = 0.015
    method: Method = struct.field(pytree_node=False, default="super")
    alpha: ArrayLike = 100.0

    def __post_init__(self) -> None:
        _check_method(self.method)

    def initial_state(
        self, shape: tuple[int, ...], dtype: jax.typing.DTypeLike = jnp.float32
    ) -> ConductanceLIFState:
        """Resting state: ``v = e_leak``, ``g = 0``."""
        return ConductanceLIFState(
            v=jnp.full(shape, jnp.asarray(self.e_leak, dtype), dtype),
            g=jnp.zeros(shape, dtype),
        )

    def step(
        self, drive: ArrayLike, state: ConductanceLIFState, dt: ArrayLike = 0.001
    ) -> tuple[jax.Array, ConductanceLIFState]:
        r"""One Euler step, in the order of :func:`lif_feed_forward_step`.

        .. math::
            g' &= g + g_{max}\, drive \\
            v' &= v + dt\,\tau_{mem}^{-1}\big((E_L - v) + g'(E_e - v)\big) \\
            g'' &= g' - dt\,\tau_e^{-1}\, g' \\
            z &= H(v' - v_{th}), \qquad v'' = (1 - z)\, v' + z\, v_{reset}

        Returns:
            ``(z, state)``: spikes in the state's dtype and the new state.
        """
        dtype, p, dt = _prepare_step(
            state, ConductanceLIFState, "drive", drive, self, dt
        )
        v, g = jnp.asarray(state.v, dtype), jnp.asarray(state.g, dtype)
        g_new = g + p.g_max * jnp.asarray(drive).astype(dtype)
        v_decayed = v + dt * p.tau_mem_inv * ((p.e_leak - v) + g_new * (p.e_exc - v))
        g_decayed = g_new + -dt * p.tau_e_inv * g_new
        z = threshold(v_decayed - p.v_th, p.method)
        v_new = (1 - z) * v_decayed + z * p.v_reset
        return z, ConductanceLIFState(v=v_new, g=g_decayed)


def poisson_step(
    key: jax.Array, rates_hz: ArrayLike, dt: ArrayLike = 0.001
) -> jax.Array:
    """One step of independent Poisson spike trains (Bernoulli per step).

    ``z = U < rates_hz * dt`` with ``U ~ Uniform[0, 1)`` drawn from ``key``.

    Args:
        key: a ``jax.random`` key.
        rates_hz: firing rates in Hz, any shape.
        dt: time step in seconds.

    Returns:
        spikes (0/1) shaped like ``rates_hz``, in its floating dtype
        (float32 for integer rates).
    """
    rates = jnp.asarray(rates_hz)
    dtype = rates.dtype if jnp.issubdtype(rates.dtype, jnp.floating) else jnp.float32
    u = jax.random.uniform(key, rates.shape, dtype)
    return (u < rates.astype(dtype) * jnp.asarray(dt, dtype)).astype(dtype)


def poisson_encode(
    key: jax.Array,
    input_values: ArrayLike,
    seq_length: int,
    f_max: ArrayLike = 100.0,
    dt: ArrayLike = 0.001,
) -> jax.Array:
    """Poisson spike trains from values in ``[0, 1]`` (Norse's ``poisson_encode``).

    ``z[t] = U[t] < dt * f_max * input_values``, ``U ~ Uniform[0, 1)``, so a
    value ``x`` fires at ``x * f_max`` Hz. Norse draws from a torch generator;
    here the randomness is the explicit ``key`` (same statistics, not the same
    numbers).

    Args:
        key: a ``jax.random`` key.
        input_values: values in ``[0, 1]``, any shape.
        seq_length: number of time steps ``T``.
        f_max: rate in Hz of an input value of 1.
        dt: time step in seconds.

    Returns:
        ``[T, *input_values.shape]`` spikes (0/1), in the input's floating
        dtype (float32 for integer input).
    """
    if isinstance(seq_length, bool) or not isinstance(seq_length, int):
        raise TypeError(f"seq_length must be an int, got {seq_length!r}")
    if seq_length < 0:
        raise ValueError(f"seq_length must be >= 0, got {seq_length}")
    x = jnp.asarray(input_values)
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
    u = jax.random.uniform(key, (seq_length, *x.shape), dtype)
    limit = jnp.asarray(dt, dtype) * jnp.asarray(f_max, dtype) * x.astype(dtype)
    return (u < limit[None]).astype(dtype)
