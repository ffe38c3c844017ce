"""An adaptive threshold around any neuron with a ``v_th`` (Diehl & Cook 2015)."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import evolve, pytree


@pytree
class AdaptiveState:
    """State of :class:`AdaptiveThreshold`.

    Args:
        neuron: the wrapped neuron's state, ``(batch, *shape)``.
        theta: the threshold offset per neuron, ``shape`` (shared by the batch,
            like the weights).
    """

    neuron: Any
    theta: jax.Array


@pytree
class AdaptiveThreshold:
    r"""A threshold that rises at each spike and decays slowly (homeostasis).

    The wrapped neuron fires at ``v > v_th + theta``; each step

    .. math::
        \theta &\leftarrow \theta - dt\,\tau_\theta^{-1}\,\theta \\
        z, s &= \mathrm{neuron}(v_{th} + \theta).\mathrm{step}(drive, s, dt) \\
        \theta &\leftarrow \theta + \theta_+ \textstyle\sum_b z_b

    (Diehl & Cook's Brian code: ``theta`` decays in the state update and
    jumps in the reset). ``theta`` is one value per neuron, shared by the
    batch like the weights, so it rises with the spikes of every sample.
    :meth:`reset` restarts the neuron and keeps ``theta``; :meth:`frozen` (what
    a network run with ``learning=False`` uses) keeps it constant.

    Args:
        neuron: any neuron whose parameters have a ``v_th`` field.
        theta_plus: threshold increase per spike (the neuron's voltage unit).
        tau_theta_inv: inverse time constant of the decay, 1/s (0: none).
        theta_init: initial ``theta``.
    """

    neuron: Any
    theta_plus: ArrayLike = 0.05
    tau_theta_inv: ArrayLike = 1.0 / 1e4
    theta_init: ArrayLike = 0.0

    checks: ClassVar = v.non_negative("theta_plus", "tau_theta_inv")
    rates: ClassVar = ("tau_theta_inv",)

    def __post_init__(self) -> None:
        if not hasattr(self.neuron, "v_th") or not callable(
            getattr(self.neuron, "step", None)
        ):
            raise TypeError(
                "neuron must be a neuron with a v_th field (LIFParameters, "
                f"ConductanceLIFParameters, ...), got {type(self.neuron).__name__}"
            )
        v.check_fields(self)

    @property
    def receptors(self) -> tuple[str, ...]:
        return getattr(self.neuron, "receptors", ("exc",))

    def initial_state(
        self, shape: tuple[int, ...], dtype: jax.typing.DTypeLike = jnp.float32
    ) -> AdaptiveState:
        """The neuron's initial state, ``theta = theta_init`` of shape ``shape[1:]``."""
        theta = jnp.broadcast_to(jnp.asarray(self.theta_init, dtype), shape[1:])
        return AdaptiveState(self.neuron.initial_state(shape, dtype), theta)

    def step(
        self, drive: Any, state: AdaptiveState, dt: ArrayLike = 0.001
    ) -> tuple[jax.Array, AdaptiveState]:
        theta = state.theta - dt * self.tau_theta_inv * state.theta
        neuron = evolve(self.neuron, v_th=self.neuron.v_th + theta[None])
        z, inner = neuron.step(drive, state.neuron, dt)
        theta = theta + self.theta_plus * jnp.sum(z, axis=0)
        return z, AdaptiveState(inner, theta)

    def reset(self, state: AdaptiveState) -> AdaptiveState:
        """A fresh neuron; ``theta`` kept."""
        inner = _reset(self.neuron, state.neuron)
        return AdaptiveState(inner, state.theta)

    def frozen(self) -> AdaptiveThreshold:
        """The same neuron with ``theta`` held constant."""
        return evolve(
            self,
            theta_plus=0.0 * self.theta_plus,
            tau_theta_inv=0.0 * self.tau_theta_inv,
        )


def _reset(neuron: Any, state: Any) -> Any:
    """``neuron.reset(state)`` if it has one, else its initial state."""
    if callable(getattr(neuron, "reset", None)):
        return neuron.reset(state)
    v0 = jax.tree.leaves(state)[0]
    return neuron.initial_state(v0.shape, v0.dtype)
