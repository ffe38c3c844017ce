r"""NEST's nearest-neighbour STDP synapses (Morrison et al. 2008, Fig. 7),
with Gütig's weight dependence of :class:`jstdp.rules.STDPSynapse`.

All three follow NEST's order within a time step (traces decay to ``t``;
facilitation at posts at ``t`` with presynaptic spikes strictly before ``t``;
depression at pres at ``t`` with postsynaptic spikes strictly before ``t``;
then the traces take the spikes at ``t``), so a pre and a post at the same
time never pair. Nearest-neighbour traces are set to 1 at a spike instead of
increased by 1. Each has its own quirks, measured against NEST 3.10 and
kept (see the classes).
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from jstdp._pytree import pytree
from jstdp.rules._nest import (
    TraceRule,
    decay,
    reset,
    synapse_pairs,
)
from jstdp.rules.nest_pair import Guetig


@pytree
class STDPNNSymmSynapse(Guetig, TraceRule):
    r"""NEST's ``stdp_nn_symm_synapse``: symmetric nearest-neighbour pairs.

    Every post spike pairs with the nearest earlier pre spike, every pre
    spike with the nearest earlier post spike:

    .. math::
        x = e^{-(t - t_{pre}^{last}) / \tau_+}, \qquad
        y = e^{-(t - t_{post}^{last}) / \tau_-}\ (0 \text{ before the first post})

    with :class:`Guetig`'s facilitation at a post (``k = x``) and depression
    at a pre (``k = y``); with a batch the ``k`` are summed over it.

    Quirk (NEST's): the last presynaptic time starts at 0, so posts before
    the first pre are facilitated as if a pre had fired at time 0: ``x``
    starts at 1. Works on every connection.

    State: :class:`NESTTraces` (nearest-neighbour ``Kplus = x``, ``Kminus = y``).
    """

    nest_model: ClassVar = "stdp_nn_symm_synapse"
    sign_rule: ClassVar = "signbit"
    nearest: ClassVar = True
    # x = 1: the phantom pre at time 0.
    state_layout: ClassVar = (("pre", 1.0, None), ("post", 0.0, None))


@pytree
class PreCenteredState:
    """State of :class:`STDPNNPreCenteredSynapse`.

    Args:
        Kplus: per synapse, the presynaptic spikes since the postsynaptic
            neuron's last spike, ``(batch, *w_shape)`` (the post neuron
            resets it, so it belongs to single synapses).
        Kminus: nearest-neighbour postsynaptic trace ``(batch, *post_shape)``.
    """

    Kplus: jax.Array
    Kminus: jax.Array


@pytree
class STDPNNPreCenteredSynapse(Guetig):
    r"""NEST's ``stdp_nn_pre_centered_synapse``: presynaptic-centred pairs.

    A post spike at ``t`` is facilitated by every pre spike of its synapse
    since the previous post spike, ``k = sum exp(-(t - t_pre) / tau_plus)``,
    after which that sum is forgotten; a pre spike depresses with the
    nearest earlier post, ``k = y = exp(-(t - t_post^last) / tau_minus)``.
    A pre at the same time as a post is not paired with it but counts for
    the next post. No phantom pre (unlike the two other schemes).

    Needs a connection with :meth:`~jstdp.connections.Dense.pairs` (Dense,
    OneToOne, AllToAllButSelf): the sum belongs to single synapses.

    State: :class:`PreCenteredState`.
    """

    nest_model: ClassVar = "stdp_nn_pre_centered_synapse"

    state_type: ClassVar = PreCenteredState
    state_layout: ClassVar = (("synapse", 0.0, None), ("post", 0.0, None))

    def step(
        self,
        z_pre: jax.Array,
        z_post: jax.Array,
        w: jax.Array,
        state: PreCenteredState,
        dt: jax.Array,
        connection: Any,
    ) -> tuple[jax.Array, PreCenteredState]:
        """One step; returns ``(w, state)``."""
        connection = synapse_pairs(self, connection)
        kplus = decay(state.Kplus, dt, self.tau_plus)
        y = decay(state.Kminus, dt, self.tau_minus)
        post, pre = connection.pairs(z_post, z_pre)
        w = self.facilitate(w, connection.sum_pairs(post * kplus))
        kplus = jnp.where(post > 0, jnp.zeros((), kplus.dtype), kplus)
        w = self.depress(w, connection.correlate(y, z_pre, w.shape))
        return w, PreCenteredState(kplus + pre, reset(y, z_post))


@pytree
class RestrState:
    """State of :class:`STDPNNRestrSynapse`.

    Args:
        Kplus: nearest-neighbour presynaptic trace ``(batch, *pre_shape)``.
        Kminus: nearest-neighbour postsynaptic trace ``(batch, *post_shape)``.
        t_pre: int32 time of each pre neuron's last spike, in steps (step
            ``k`` is time ``k + 1``; 0 is the phantom pre at time 0).
        t_post: int32 time of each post neuron's last spike (-1: none yet).
        step: int32 number of steps run.
    """

    Kplus: jax.Array
    Kminus: jax.Array
    t_pre: jax.Array
    t_post: jax.Array
    step: jax.Array


@pytree
class STDPNNRestrSynapse(Guetig):
    r"""NEST's ``stdp_nn_restr_synapse``: restricted symmetric nearest-neighbour
    pairs (Morrison et al. 2008, Fig. 7C).

    Only the first post spike after a pre spike is facilitated, with
    ``x = exp(-(t - t_pre^last) / tau_plus)``; a pre spike at ``t`` (previous
    pre at ``t'``) is depressed with the nearest post strictly before ``t``,
    ``y = exp(-(t - t_post^last) / tau_minus)``, but only if some post fired
    in ``(t', t]``. Per synapse ``ij``, with ``z`` this step's spikes:

    .. math::
        k_+ = z_{post,i}\,[t_{post,i} \le t_{pre,j}]\; x_j, \qquad
        k_- = z_{pre,j}\,\max(z_{post,i}, [t_{post,i} > t_{pre,j}])\; y_i

    (last-spike times before this step; summed over the batch).

    Quirks (NEST's): the last presynaptic time starts at 0 (a phantom pre at
    time 0, ``x`` starts at 1); and because the window ``(t', t]`` includes
    ``t``, a post at the same time as the pre enables depression with an
    older post from before ``t'``.

    Needs a connection with :meth:`~jstdp.connections.Dense.pairs` (Dense,
    OneToOne, AllToAllButSelf): the conditions compare a pre and a post time.

    State: :class:`RestrState`.
    """

    nest_model: ClassVar = "stdp_nn_restr_synapse"

    state_type: ClassVar = RestrState
    # The phantom pre at time 0 (x = 1, t_pre = 0); no post yet (t_post = -1).
    state_layout: ClassVar = (
        ("pre", 1.0, None),
        ("post", 0.0, None),
        ("pre", 0, jnp.int32),
        ("post", -1, jnp.int32),
        ("scalar", 0, jnp.int32),
    )

    def step(
        self,
        z_pre: jax.Array,
        z_post: jax.Array,
        w: jax.Array,
        state: RestrState,
        dt: jax.Array,
        connection: Any,
    ) -> tuple[jax.Array, RestrState]:
        """One step; returns ``(w, state)``."""
        connection = synapse_pairs(self, connection)
        x = decay(state.Kplus, dt, self.tau_plus)
        y = decay(state.Kminus, dt, self.tau_minus)
        t_post, t_pre = connection.pairs(state.t_post, state.t_pre)
        post_since_pre = (t_post > t_pre).astype(w.dtype)
        post, pre = connection.pairs(z_post, z_pre)
        y_post, x_pre = connection.pairs(y, x)
        first_post = post * (1.0 - post_since_pre)
        w = self.facilitate(w, connection.sum_pairs(first_post * x_pre))
        window = jnp.maximum(post, post_since_pre)
        w = self.depress(w, connection.sum_pairs(y_post * window * pre))
        now = state.step + 1
        return w, RestrState(
            reset(x, z_pre),
            reset(y, z_post),
            jnp.where(z_pre > 0, now, state.t_pre),
            jnp.where(z_post > 0, now, state.t_post),
            now,
        )
