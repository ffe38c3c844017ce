r"""NEST's ``stdp_dopamine_synapse``: reward-modulated STDP with an
eligibility trace (Izhikevich 2007; Potjans et al. 2010)."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import pytree
from jstdp.rules._nest import MS_PER_S, NESTRule, decay


@pytree
class DopamineState:
    """State of :class:`STDPDopamineSynapse` (NEST's names).

    Args:
        Kplus: presynaptic trace ``(batch, *pre_shape)`` (``tau_plus``).
        Kminus: postsynaptic trace ``(batch, *post_shape)`` (``tau_minus``).
        c: eligibility, shaped like ``w`` (summed over the batch).
        n: dopamine concentration, a scalar per ms (one volume transmitter).
    """

    Kplus: jax.Array
    Kminus: jax.Array
    c: jax.Array
    n: jax.Array


@pytree
class STDPDopamineSynapse(NESTRule):
    r"""NEST's ``stdp_dopamine_synapse`` (Izhikevich 2007, Potjans et al. 2010).

    STDP pairs change an eligibility ``c`` instead of the weight; dopamine
    ``n`` turns eligibility into weight change:

    .. math::
        \text{post at } t:\ c &\leftarrow c + A_+ x, \qquad
        \text{pre at } t:\ c \leftarrow c - A_- y, \qquad
        \text{dopamine spike}:\ n \leftarrow n + 1/\tau_n \\
        \dot c &= -c/\tau_c, \qquad \dot n = -n/\tau_n, \qquad
        \dot w = c\,(n - b)

    with ``x``, ``y`` the pre and post traces (``tau_plus``, ``tau_minus``) of
    the spikes strictly before ``t``. Between steps ``dw/dt`` is integrated
    exactly from the values just after the previous step's jumps
    (``1/tau_s = 1/tau_c + 1/tau_n``, ``h = dt`` in ms):

    .. math::
        w \leftarrow \mathrm{clip}\big(w - c\,(n \tau_s
            (e^{-h/\tau_s} - 1) - b \tau_c (e^{-h/\tau_c} - 1)),\;
            W_{min}, W_{max}\big)

    and only then do the step's spikes act, so the weight at a presynaptic
    spike at ``t`` is NEST's (the integral up to ``t``). NEST clips at the
    end of every segment, and its segments end at every spike and at every
    volume-transmitter delivery; with ``min_delay = h`` (and the default
    ``deliver_interval = 1``) that is every step, as here. Unlike the other
    rules the weight keeps changing without presynaptic spikes.

    Dopamine, per step (signals of :func:`jstdp.replay` or a network's
    projection): ``dopamine``, spikes arriving at the volume transmitter
    (summed over all entries: one transmitter for the whole batch and every
    neuron of the dopamine population), or ``n``, the concentration just
    after this step's release (a scalar per ms, which then decays with
    ``tau_n``). Without either, no dopamine arrives.

    The eligibility is summed over the batch (``c`` enters ``w`` linearly and
    ``n`` is shared by the batch, so this is exact). Works on every
    connection.

    Args:
        A_plus, A_minus: eligibility per pair.
        tau_plus: presynaptic trace time constant, ms.
        tau_c: eligibility time constant, ms.
        tau_n: dopamine time constant, ms.
        b: dopamine baseline, per ms.
        Wmin, Wmax: the bounds.
        tau_minus: postsynaptic trace time constant, ms (in NEST a parameter
            of the postsynaptic neuron, default 20).

    State: :class:`DopamineState`.
    """

    A_plus: ArrayLike = 1.0
    A_minus: ArrayLike = 1.5
    tau_plus: ArrayLike = 20.0
    tau_c: ArrayLike = 1000.0
    tau_n: ArrayLike = 200.0
    b: ArrayLike = 0.0
    Wmin: ArrayLike = 0.0
    Wmax: ArrayLike = 200.0
    tau_minus: ArrayLike = 20.0

    nest_model: ClassVar = "stdp_dopamine_synapse"
    checks: ClassVar = (
        *v.positive("tau_plus", "tau_c", "tau_n", "tau_minus"),
        v.less("Wmin", "Wmax"),
    )
    strict: ClassVar = v.non_negative("A_plus", "A_minus", "b")

    state_type: ClassVar = DopamineState
    state_layout: ClassVar = (
        ("pre", 0.0, None),
        ("post", 0.0, None),
        ("w", 0.0, None),
        ("scalar", 0.0, None),
    )

    def step(
        self,
        z_pre: jax.Array,
        z_post: jax.Array,
        w: jax.Array,
        state: DopamineState,
        dt: jax.Array,
        connection: Any,
        *,
        dopamine: jax.Array | None = None,
        n: jax.Array | None = None,
    ) -> tuple[jax.Array, DopamineState]:
        """One step: integrate ``w`` over it, then the spikes (see the class
        docstring). Returns ``(w, state)``.

        Raises:
            ValueError: both ``dopamine`` and ``n`` given, or ``n`` not a
                scalar.
        """
        if dopamine is not None and n is not None:
            raise ValueError("give the dopamine as spikes (dopamine=) or n=, not both")
        w = self.integrate(w, state.c, state.n, dt)
        x = decay(state.Kplus, dt, self.tau_plus)
        y = decay(state.Kminus, dt, self.tau_minus)
        c = decay(state.c, dt, self.tau_c)
        if n is None:
            n = decay(state.n, dt, self.tau_n)
            if dopamine is not None:
                n = n + jnp.sum(dopamine, dtype=n.dtype) / self.tau_n
        elif jnp.ndim(n) != 0:
            raise ValueError(f"n must be a scalar per step, got shape {jnp.shape(n)}")
        c = c + self.A_plus * connection.correlate(z_post, x, w.shape)
        c = c - self.A_minus * connection.correlate(y, z_pre, w.shape)
        return w, DopamineState(x + z_pre, y + z_post, c, jnp.asarray(n, w.dtype))

    def integrate(
        self, w: jax.Array, c: jax.Array, n: jax.Array, dt: jax.Array
    ) -> jax.Array:
        """``w`` plus the integral of ``c (n - b)`` over one step, clipped
        (NEST's ``update_weight_``, in its order of operations)."""
        minus_dt = -(dt * MS_PER_S)
        taus = (self.tau_c + self.tau_n) / (self.tau_c * self.tau_n)
        w = w - c * (
            n / taus * jnp.expm1(taus * minus_dt)
            - self.b * self.tau_c * jnp.expm1(minus_dt / self.tau_c)
        )
        return jnp.clip(w, self.Wmin, self.Wmax)
