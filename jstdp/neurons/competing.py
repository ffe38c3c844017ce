"""Convolutional LIF neurons that compete across channels, with homeostasis."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp._pytree import evolve, pytree
from jstdp.neurons.lif import LIFFeedForwardState, LIFParameters, lif_feed_forward_step


@pytree
class CompetingLIFState:
    """State of :class:`CompetingLIFParameters`: LIF state and thresholds."""

    lif: LIFFeedForwardState
    theta: jax.Array


@pytree
class CompetingLIFParameters:
    """Conv2d LIF neurons that compete, with adaptive thresholds.

    A neuron for ``(batch, C, H, W)`` populations (a conv2d projection's
    targets). Each step:

    1. Norse's LIF step (:func:`jstdp.lif_feed_forward_step`) with input
       ``gain * drive`` and threshold ``v_th + theta[c]``;
    2. winner-take-all across channels: at each position only the spiking
       channel with the largest synaptic current keeps its spike, and a
       spike resets every channel at that position (lateral inhibition);
    3. homeostasis: ``theta[c] += theta_plus * (spikes of channel c per
       image) - dt * tau_theta_inv * theta[c]``, so no kernel wins
       everywhere.

    Args:
        lif: the LIF parameters.
        gain: scale of the synaptic drive.
        theta_plus: threshold increase per spike (per image).
        tau_theta_inv: inverse time constant of the threshold decay, 1/s.
    """

    lif: LIFParameters = LIFParameters()
    gain: ArrayLike = 0.5
    theta_plus: ArrayLike = 0.01
    tau_theta_inv: ArrayLike = 1.0

    def initial_state(
        self, shape: tuple[int, ...], dtype: jax.typing.DTypeLike = jnp.float32
    ) -> CompetingLIFState:
        """LIF at rest and zero thresholds ``theta`` of shape ``(1, C, 1, 1)``."""
        if len(shape) != 4:
            raise ValueError(f"shape must be (batch, C, H, W), got {shape}")
        return CompetingLIFState(
            self.lif.initial_state(shape, dtype), jnp.zeros((1, shape[1], 1, 1), dtype)
        )

    def reset(self, state: CompetingLIFState) -> CompetingLIFState:
        """LIF at rest; the thresholds kept."""
        v = state.lif.v
        return CompetingLIFState(self.lif.initial_state(v.shape, v.dtype), state.theta)

    def step(
        self, drive: ArrayLike, state: CompetingLIFState, dt: ArrayLike = 0.001
    ) -> tuple[jax.Array, CompetingLIFState]:
        """One step: LIF, winner-take-all across channels, threshold update."""
        p = evolve(self.lif, v_th=self.lif.v_th + state.theta)
        z, lif = lif_feed_forward_step(self.gain * drive, state.lif, p, dt)
        score = jnp.where(z > 0, lif.i, -jnp.inf)
        wins = (score == score.max(axis=1, keepdims=True)) & (z > 0)
        z = jnp.where(wins, z, 0.0)
        inhibited = wins.any(axis=1, keepdims=True)
        lif = lif.replace(v=jnp.where(inhibited, p.v_reset, lif.v))
        spikes = z.sum(axis=(0, 2, 3), keepdims=True) / z.shape[0]
        theta = state.theta + (
            self.theta_plus * spikes - dt * self.tau_theta_inv * state.theta
        )
        return z, CompetingLIFState(lif, theta)
