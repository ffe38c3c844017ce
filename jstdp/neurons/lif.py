"""Norse's current-based leaky integrate-and-fire neuron, exact."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import pytree, static
from jstdp.neurons._common import (
    METHODS,
    Method,
    prepare_step,
    receptor_inputs,
    threshold,
)


@pytree
class LIFFeedForwardState:
    """State of a feed-forward LIF neuron (Norse's ``LIFFeedForwardState``).

    Args:
        v: membrane potential.
        i: synaptic input current.
    """

    v: jax.Array
    i: jax.Array


@pytree
class LIFParameters:
    """Parameters of Norse's current-based LIF neuron (same names and defaults).

    Receptors: ``exc`` adds to the synaptic current and ``inh`` subtracts
    from it (an array drive is all ``exc``). As in Norse, values are not
    checked when made (:func:`jstdp.validate_parameters` checks them; the
    networks and layers call it).

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
    method: Method = static("super")
    alpha: ArrayLike = 100.0

    receptors: ClassVar = ("exc", "inh")
    strict: ClassVar = (
        *v.positive("tau_syn_inv", "tau_mem_inv"),
        v.less("v_reset", "v_th"),
    )
    rates: ClassVar = ("tau_syn_inv", "tau_mem_inv")

    def __post_init__(self) -> None:
        v.choice("method", self.method, METHODS)

    def initial_state(
        self, shape: tuple[int, ...], dtype: jax.typing.DTypeLike = jnp.float32
    ) -> LIFFeedForwardState:
        """Resting state: ``v = v_leak``, ``i = 0`` (Norse's module default)."""
        return LIFFeedForwardState(
            v=jnp.full(shape, jnp.asarray(self.v_leak, dtype), dtype),
            i=jnp.zeros(shape, dtype),
        )

    def step(
        self, drive: ArrayLike | dict, state: LIFFeedForwardState, dt: ArrayLike = 0.001
    ) -> tuple[jax.Array, LIFFeedForwardState]:
        """The neuron protocol: :func:`lif_feed_forward_step` with these parameters."""
        exc, inh = receptor_inputs(drive, self.receptors, "LIFParameters")
        current = exc if inh is None else (0.0 if exc is None else exc) - inh
        return lif_feed_forward_step(current, state, self, dt)


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
    dtype, p, dt, (current,) = prepare_step(
        state, LIFFeedForwardState, "input_current", [input_current], p, dt
    )
    v, i = jnp.asarray(state.v, dtype), jnp.asarray(state.i, dtype)
    i_new = i + current
    v_decayed = v + dt * p.tau_mem_inv * ((p.v_leak - v) + i_new)
    i_decayed = i_new + -dt * p.tau_syn_inv * i_new
    z = threshold(v_decayed - p.v_th, p.method)
    v_new = (1 - z) * v_decayed + z * p.v_reset
    return z, LIFFeedForwardState(v=v_new, i=i_decayed)
