r"""NEST's ``stdp_triplet_synapse``: the triplet rule of Pfister & Gerstner
(2006), all-to-all interactions."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import pytree
from jstdp.rules._nest import NESTRule, decay, grow, shrink


@pytree
class TripletState:
    """The four traces of :class:`STDPTripletSynapse` (NEST's names).

    Args:
        Kplus, Kplus_triplet: presynaptic traces ``r1``, ``r2``
            ``(batch, *pre_shape)`` (``tau_plus``, ``tau_plus_triplet``).
        Kminus, Kminus_triplet: postsynaptic traces ``o1``, ``o2``
            ``(batch, *post_shape)`` (``tau_minus``, ``tau_minus_triplet``).
    """

    Kplus: jax.Array
    Kplus_triplet: jax.Array
    Kminus: jax.Array
    Kminus_triplet: jax.Array


@pytree
class STDPTripletSynapse(NESTRule):
    r"""NEST's ``stdp_triplet_synapse`` (Pfister & Gerstner 2006, all-to-all).

    Four traces, each the sum of exact exponentials of its spikes strictly
    before ``t``: ``r1`` (``tau_plus``), ``r2`` (``tau_plus_triplet``) of the
    pres, ``o1`` (``tau_minus``), ``o2`` (``tau_minus_triplet``) of the posts.
    In magnitude, with ``w`` taking the sign of ``Wmax`` (there is no Wmin):

    .. math::
        \text{post at } t:\quad |w| &\leftarrow \min\!\big(|W_{max}|,\;
            |w| + r_1 (A_+ + A_+^{trip}\, o_2)\big) \\
        \text{pre at } t:\quad |w| &\leftarrow \max\!\big(0,\;
            |w| - o_1 (A_- + A_-^{trip}\, r_2)\big)

    ``o2`` and ``r2`` are taken just before the spike that is being paired
    (the triplet term does not include that spike itself). Each step, NEST's
    order: traces decay to ``t``; facilitation at the posts at ``t``;
    depression at the pres at ``t``; then the traces take the spikes at
    ``t`` (a pre and a post at the same time never pair). With a batch the
    increments are summed over it. Works on every connection.

    Args:
        tau_plus, tau_plus_triplet: presynaptic time constants, ms.
        Aplus, Aminus: pair amplitudes.
        Aplus_triplet, Aminus_triplet: triplet amplitudes.
        Wmax: the bound, of either sign; weights share its sign.
        tau_minus, tau_minus_triplet: postsynaptic time constants, ms (in NEST
            parameters of the postsynaptic neuron, defaults 20 and 110).

    State: :class:`TripletState`.
    """

    tau_plus: ArrayLike = 16.8
    tau_plus_triplet: ArrayLike = 101.0
    Aplus: ArrayLike = 5e-10
    Aminus: ArrayLike = 7e-3
    Aplus_triplet: ArrayLike = 6.2e-3
    Aminus_triplet: ArrayLike = 2.3e-4
    Wmax: ArrayLike = 100.0
    tau_minus: ArrayLike = 20.0
    tau_minus_triplet: ArrayLike = 110.0

    nest_model: ClassVar = "stdp_triplet_synapse"
    sign_rule: ClassVar = "zero_positive"
    checks: ClassVar = v.positive(
        "tau_plus", "tau_plus_triplet", "tau_minus", "tau_minus_triplet"
    )
    strict: ClassVar = v.non_negative(
        "Aplus", "Aminus", "Aplus_triplet", "Aminus_triplet"
    )

    state_type: ClassVar = TripletState
    state_layout: ClassVar = (
        ("pre", 0.0, None),
        ("pre", 0.0, None),
        ("post", 0.0, None),
        ("post", 0.0, None),
    )

    def step(
        self,
        z_pre: jax.Array,
        z_post: jax.Array,
        w: jax.Array,
        state: TripletState,
        dt: jax.Array,
        connection: Any,
    ) -> tuple[jax.Array, TripletState]:
        """One step (see the class docstring); returns ``(w, state)``."""
        r1 = decay(state.Kplus, dt, self.tau_plus)
        r2 = decay(state.Kplus_triplet, dt, self.tau_plus_triplet)
        o1 = decay(state.Kminus, dt, self.tau_minus)
        o2 = decay(state.Kminus_triplet, dt, self.tau_minus_triplet)
        post_factor = z_post * (self.Aplus + self.Aplus_triplet * o2)
        w = grow(w, connection.correlate(post_factor, r1, w.shape), self.Wmax)
        pre_factor = z_pre * (self.Aminus + self.Aminus_triplet * r2)
        w = shrink(w, connection.correlate(o1, pre_factor, w.shape), self.Wmax)
        return w, TripletState(r1 + z_pre, r2 + z_pre, o1 + z_post, o2 + z_post)
