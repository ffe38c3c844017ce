r"""NEST's ``stdp_synapse``: all-to-all pairs with Gütig et al.'s (2003)
power-law weight dependence, and that weight dependence, which NEST's
nearest-neighbour synapses share (:mod:`jstdp.rules.nearest`).

In units of ``Wmax`` (a weight and ``Wmax`` share a sign), a postsynaptic
spike facilitates with the presynaptic trace ``k = x`` and a presynaptic
spike depresses with the postsynaptic trace ``k = y``:

.. math::
    w &\leftarrow W_{max} \min\!\big(1,\; w/W_{max}
        + \lambda\,(1 - w/W_{max})^{\mu_+}\, k\big) \\
    w &\leftarrow W_{max} \max\!\big(0,\; w/W_{max}
        - \alpha\lambda\,(w/W_{max})^{\mu_-}\, k\big)

``mu_plus = mu_minus = 0`` is the additive rule (steps of ``Wmax * lambda``),
1 the multiplicative one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import pytree
from jstdp.rules._nest import NESTRule, TraceRule, nonzero, safe_power


@pytree
class Guetig(NESTRule):
    """Parameters and weight dependence of Gütig et al. (2003), NEST's names.

    Args:
        lambda_: learning rate ``lambda`` (NEST's ``lambda``).
        alpha: ratio of depression to facilitation.
        mu_plus, mu_minus: exponents of the weight dependence.
        tau_plus: presynaptic trace time constant, ms.
        Wmax: the bound, of either sign; weights share its sign.
        tau_minus: postsynaptic trace time constant, ms (in NEST a parameter
            of the postsynaptic neuron, default 20).
    """

    lambda_: ArrayLike = 0.01
    alpha: ArrayLike = 1.0
    mu_plus: ArrayLike = 1.0
    mu_minus: ArrayLike = 1.0
    tau_plus: ArrayLike = 20.0
    Wmax: ArrayLike = 100.0
    tau_minus: ArrayLike = 20.0

    checks: ClassVar = (*v.positive("tau_plus", "tau_minus"), *nonzero("Wmax"))
    strict: ClassVar = v.non_negative("lambda_", "alpha", "mu_plus", "mu_minus")
    sign_rule: ClassVar = "zero_positive"

    def facilitate(self, w: jax.Array, k: jax.Array) -> jax.Array:
        """``Wmax min(1, w/Wmax + lambda (1 - w/Wmax)^mu_plus k)``, where
        ``k != 0``."""
        norm_w = (
            w / self.Wmax
            + self.lambda_ * safe_power(1.0 - w / self.Wmax, self.mu_plus) * k
        )
        new = jnp.where(norm_w < 1.0, norm_w * self.Wmax, self.Wmax)
        return jnp.where(k != 0, new, w)

    def depress(self, w: jax.Array, k: jax.Array) -> jax.Array:
        """``Wmax max(0, w/Wmax - alpha lambda (w/Wmax)^mu_minus k)``, where
        ``k != 0``."""
        norm_w = (
            w / self.Wmax
            - self.alpha * self.lambda_ * safe_power(w / self.Wmax, self.mu_minus) * k
        )
        new = jnp.where(norm_w > 0.0, norm_w * self.Wmax, jnp.zeros((), w.dtype))
        return jnp.where(k != 0, new, w)

    def pair(
        self,
        w: jax.Array,
        x: jax.Array,
        y: jax.Array,
        z_pre: jax.Array,
        z_post: jax.Array,
        connection: Any,
    ) -> jax.Array:
        """Facilitation at the posts (``k = x``), then depression at the pres
        (``k = y``), ``k`` summed over the batch."""
        w = self.facilitate(w, connection.correlate(z_post, x, w.shape))
        return self.depress(w, connection.correlate(y, z_pre, w.shape))


@pytree
class STDPSynapse(Guetig, TraceRule):
    r"""NEST's ``stdp_synapse``: all-to-all pairs, Gütig's weight dependence.

    Traces sum exact exponentials of every earlier spike,
    ``x = sum exp(-(t - t_pre) / tau_plus)``, ``y = sum exp(-(t - t_post) /
    tau_minus)``. Each step, NEST's order for spikes at the same time ``t``:

    1. the traces decay to ``t``: ``x <- x e^{-dt/tau_plus}``, ``y <- y
       e^{-dt/tau_minus}``;
    2. facilitation at every postsynaptic spike at ``t``, with ``k = x``
       (presynaptic spikes strictly before ``t``);
    3. depression at every presynaptic spike at ``t``, with ``k = y``
       (postsynaptic spikes strictly before ``t``);
    4. the traces take the spikes at ``t``: ``x += z_pre``, ``y += z_post``.

    So a pre and a post spike at the same time never pair. With a batch the
    pairing terms ``k`` are summed over the batch (the connection's
    ``correlate``) before the weight dependence and the bound apply. A
    synapse whose ``k`` is 0 keeps its weight (NEST would only round it
    through ``w / Wmax * Wmax``).

    Args: see :class:`Guetig` (NEST's defaults). Works on every connection.

    State: :class:`~jstdp.rules.NESTTraces` (``Kplus = x``, ``Kminus = y``).
    """

    nest_model: ClassVar = "stdp_synapse"
