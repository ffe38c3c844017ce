r"""NEST's ``vogels_sprekeler_synapse``: inhibitory plasticity of Vogels,
Sprekeler et al. (2011), which balances excitation and sets the
postsynaptic rate to ``rho_0 = alpha / (2 tau)``."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import pytree
from jstdp.rules._nest import TraceRule, grow, shrink


@pytree
class VogelsSprekelerSynapse(TraceRule):
    r"""NEST's ``vogels_sprekeler_synapse`` (Vogels et al. 2011).

    A symmetric window plus a constant depression at every presynaptic
    spike. In magnitude, with ``w`` taking the sign of ``Wmax``:

    .. math::
        \text{post at } t:\quad |w| &\leftarrow \min(|W_{max}|, |w| + \eta\, x) \\
        \text{pre at } t:\quad |w| &\leftarrow \min(|W_{max}|, |w| + \eta\, y),
            \quad |w| \leftarrow \max(0, |w| - \alpha\eta)

    with ``x = sum exp(-(t - t_pre) / tau)`` and ``y = sum exp(-(t - t_post) /
    tau_minus)`` over the spikes strictly before ``t``. For uncorrelated
    spikes the drift is ``eta rho_pre (2 tau rho_post - alpha)``, zero at the
    target rate ``rho_0 = alpha / (2 tau)`` (per ms; NEST's ``alpha`` is
    Vogels et al.'s ``2 rho_0 tau``). Each step, NEST's order: traces decay
    to ``t``; facilitation at the posts at ``t``; at the pres at ``t``
    facilitation, then depression; then the traces take the spikes at
    ``t``. With a batch the increments are summed over it (a presynaptic
    spike count ``n`` depresses by ``n alpha eta``). Works on every
    connection.

    Quirk (NEST's): the postsynaptic trace decays with ``tau_minus`` (NEST's
    neuron parameter), not with the synapse's ``tau``; Vogels et al.'s rule
    has ``tau_minus == tau``.

    Args:
        eta: learning rate.
        alpha: depression per presynaptic spike, in units of ``eta``.
        tau: presynaptic trace time constant, ms.
        Wmax: the bound, of either sign; a nonzero weight shares its sign.
        tau_minus: postsynaptic trace time constant, ms (default 20).

    State: :class:`~jstdp.rules.NESTTraces` (``Kplus = x``, ``Kminus = y``).
    """

    eta: ArrayLike = 0.001
    alpha: ArrayLike = 0.12
    tau: ArrayLike = 20.0
    Wmax: ArrayLike = 1.0
    tau_minus: ArrayLike = 20.0

    nest_model: ClassVar = "vogels_sprekeler_synapse"
    sign_rule: ClassVar = "signbit_or_zero"
    pre_tau: ClassVar = "tau"
    checks: ClassVar = v.positive("tau", "tau_minus")
    strict: ClassVar = v.non_negative("eta", "alpha")

    def pair(
        self,
        w: jax.Array,
        x: jax.Array,
        y: jax.Array,
        z_pre: jax.Array,
        z_post: jax.Array,
        connection: Any,
    ) -> jax.Array:
        """Facilitation at the posts (``eta x``), at the pres (``eta y``),
        then ``alpha eta`` per presynaptic spike."""
        w = grow(w, self.eta * connection.correlate(z_post, x, w.shape), self.Wmax)
        w = grow(w, self.eta * connection.correlate(y, z_pre, w.shape), self.Wmax)
        n_pre = connection.correlate(jnp.ones_like(z_post), z_pre, w.shape)
        return shrink(w, self.alpha * self.eta * n_pre, self.Wmax)
