"""Conductance-based leaky integrate-and-fire neuron (Song et al. 2000;
Diehl & Cook 2015): excitatory and inhibitory conductances with reversal
potentials, and a refractory period."""

from __future__ import annotations

from typing import ClassVar, Literal

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

RefractoryMode = Literal["clamp", "block"]
REFRACTORY_MODES: tuple[str, ...] = ("clamp", "block")


@pytree
class ConductanceLIFState:
    """State of a conductance-based LIF neuron.

    Args:
        v: membrane potential, mV.
        g: excitatory conductance, in units of the leak conductance.
        g_inh: inhibitory conductance, likewise.
        refractory: refractory time left, s (0: not refractory).
    """

    v: jax.Array
    g: jax.Array
    g_inh: jax.Array
    refractory: jax.Array


@pytree
class ConductanceLIFParameters:
    r"""A conductance-based LIF neuron, integrated with explicit Euler steps.

    Voltages in mV, conductances in units of the leak conductance (Brian2's
    ``examples/synapses/STDP.py`` model, with inhibition as in Diehl & Cook):

    .. math::
        \tau_{mem}\,\dot v = (E_L - v) + g\,(E_e - v) + g_i\,(E_i - v),
        \qquad \tau_e\,\dot g = -g, \qquad \tau_i\,\dot g_i = -g_i.

    Receptors ``exc`` and ``inh``: each step the drive adds ``g_max * exc``
    to ``g`` and ``g_max_inh * inh`` to ``g_i`` (with weights in ``[0, 1]``,
    a spike through weight ``w`` adds ``g_max * w``); an array drive is all
    ``exc``. Spike when ``v > v_th``, then ``v <- v_reset``. Refractoriness
    (``refractory_mode``, the conductances keep integrating in both):

    - ``"clamp"``: for ``t_ref`` after a spike ``v`` is held at ``v_reset``
      and no spike is emitted (steps ``n+1 .. n+t_ref/dt`` after a spike in
      step ``n``).
    - ``"block"``: ``v`` is not held; it integrates freely and may sit above
      threshold, but a crossing within ``t_ref - dt/2`` of the last spike is
      no spike (no reset, and no threshold increment under
      :class:`jstdp.AdaptiveThreshold`): the next spike comes at step
      ``n + t_ref/dt`` at the earliest. This is Brian 1's refractoriness for
      a neuron with a string reset (``next_allowed = t + t_ref - dt/2``), as
      Diehl & Cook's excitatory neurons run.

    Args:
        tau_mem_inv: inverse membrane time constant, 1/s (10 ms).
        tau_e_inv: inverse excitatory synaptic time constant, 1/s (5 ms).
        e_leak: leak reversal potential E_L, mV.
        e_exc: excitatory reversal potential E_e, mV.
        v_th: threshold, mV.
        v_reset: reset potential, mV.
        g_max: excitatory conductance added per unit drive.
        method: static; ``"super"`` or ``"heaviside"``, as in
            :class:`jstdp.LIFParameters` (the surrogate sees ``v - v_th`` in mV).
        alpha: kept for symmetry with :class:`jstdp.LIFParameters`; unused.
        tau_i_inv: inverse inhibitory synaptic time constant, 1/s (10 ms).
        e_inh: inhibitory reversal potential E_i, mV.
        g_max_inh: inhibitory conductance added per unit drive.
        t_ref: refractory period, s (0: none).
        v_init: membrane potential of a fresh neuron, mV (default ``e_leak``).
        refractory_mode: static; ``"clamp"`` (default) or ``"block"``.

    ``v_reset < v_th`` is checked by :func:`jstdp.validate_parameters`, not
    when the object is made (wrapped in :class:`jstdp.AdaptiveThreshold`,
    the threshold is ``v_th + theta``).
    """

    tau_mem_inv: ArrayLike = 1.0 / 10e-3
    tau_e_inv: ArrayLike = 1.0 / 5e-3
    e_leak: ArrayLike = -74.0
    e_exc: ArrayLike = 0.0
    v_th: ArrayLike = -54.0
    v_reset: ArrayLike = -60.0
    g_max: ArrayLike = 0.015
    method: Method = static("super")
    alpha: ArrayLike = 100.0
    tau_i_inv: ArrayLike = 1.0 / 10e-3
    e_inh: ArrayLike = -80.0
    g_max_inh: ArrayLike = 1.0
    t_ref: ArrayLike = 0.0
    v_init: ArrayLike | None = None
    refractory_mode: RefractoryMode = static("clamp")

    receptors: ClassVar = ("exc", "inh")
    checks: ClassVar = (
        *v.positive("tau_mem_inv", "tau_e_inv", "tau_i_inv"),
        *v.non_negative("g_max", "g_max_inh", "t_ref"),
    )
    # Only validate_parameters: under an adaptive threshold the base v_th may
    # lie below the reset (Diehl & Cook: -72 mV + theta, theta from 20 mV).
    strict: ClassVar = (v.less("v_reset", "v_th"),)
    rates: ClassVar = ("tau_mem_inv", "tau_e_inv", "tau_i_inv")

    def __post_init__(self) -> None:
        v.choice("method", self.method, METHODS)
        v.choice("refractory_mode", self.refractory_mode, REFRACTORY_MODES)
        v.check_fields(self)

    def initial_state(
        self, shape: tuple[int, ...], dtype: jax.typing.DTypeLike = jnp.float32
    ) -> ConductanceLIFState:
        """Resting state: ``v = v_init`` (default ``e_leak``), no conductance."""
        v0 = self.e_leak if self.v_init is None else self.v_init
        zeros = jnp.zeros(shape, dtype)
        return ConductanceLIFState(
            v=jnp.broadcast_to(jnp.asarray(v0, dtype), shape),
            g=zeros,
            g_inh=zeros,
            refractory=zeros,
        )

    def step(
        self,
        drive: ArrayLike | dict,
        state: ConductanceLIFState,
        dt: ArrayLike = 0.001,
    ) -> tuple[jax.Array, ConductanceLIFState]:
        r"""One Euler step, in the order of :func:`jstdp.lif_feed_forward_step`.

        .. math::
            g' &= g + g_{max}\, exc, \qquad g_i' = g_i + g_{max,i}\, inh \\
            v' &= v + dt\,\tau_{mem}^{-1}\big((E_L - v) + g'(E_e - v)
                  + g_i'(E_i - v)\big) \\
            g'' &= g' - dt\,\tau_e^{-1}\, g', \qquad
                  g_i'' = g_i' - dt\,\tau_i^{-1}\, g_i' \\
            v' &\leftarrow v_{reset} \text{ while refractory (clamp mode)} \\
            z &= H(v' - v_{th}) \text{ (0 while refractory)}, \qquad
                v'' = (1 - z)\, v' + z\, v_{reset}

        with ``r`` the refractory time left before the step, "refractory" is
        ``r > dt/2`` (clamp: ``t_ref/dt`` steps after a spike) or
        ``r > 3 dt/2`` (block: one step fewer, Brian 1's ``t_ref - dt/2``).

        Returns:
            ``(z, state)``: spikes in the state's dtype and the new state.
        """
        drives = receptor_inputs(drive, self.receptors, "ConductanceLIFParameters")
        dtype, p, dt, (exc, inh) = prepare_step(
            state, ConductanceLIFState, "drive", drives, self, dt
        )
        v, g, g_inh = state.v, state.g, state.g_inh
        if exc is not None:
            g = g + p.g_max * exc
        if inh is not None:
            g_inh = g_inh + p.g_max_inh * inh
        v_new = v + dt * p.tau_mem_inv * (
            (p.e_leak - v) + g * (p.e_exc - v) + g_inh * (p.e_inh - v)
        )
        g = g + -dt * p.tau_e_inv * g
        g_inh = g_inh + -dt * p.tau_i_inv * g_inh
        match self.refractory_mode:
            case "clamp":
                refractory = state.refractory > 0.5 * dt
                v_new = jnp.where(refractory, p.v_reset, v_new)
            case "block":
                refractory = state.refractory > 1.5 * dt
        z = threshold(v_new - p.v_th, p.method) * (1 - refractory.astype(dtype))
        v_new = (1 - z) * v_new + z * p.v_reset
        left = jnp.where(z > 0, p.t_ref, jnp.maximum(state.refractory - dt, 0))
        return z, ConductanceLIFState(v_new, g, g_inh, left.astype(dtype))
