r"""Diehl & Cook's (2015) STDP rule, as their Brian 1 code runs it.

Nearest-spike traces: a spike *sets* its trace to 1, which then decays
exactly (Brian 1 integrates the linear trace equations with ``expm``). One
trace per presynaptic neuron (``pre``, tau 20 ms) and two per postsynaptic
neuron (``post1``, tau 20 ms; ``post2``, tau 40 ms). With ``a_s`` the age in
steps of the nearest spike at or before step ``s``:

.. math::
    x(s) = e^{-a_s\, dt / \tau}

- a presynaptic spike depresses: ``w_ij -= nu_pre * post1_i``;
- a postsynaptic spike potentiates: ``w_ij += nu_post * pre_j * post2_i``,
  with ``post2`` read before this spike sets it (the "triplet" term);
- after each update the touched synapses are clipped to ``[w_min, w_max]``
  (a presynaptic spike touches its column, a postsynaptic one its row; the
  others keep their value, e.g. a weight above ``w_max`` after Diehl &
  Cook's normalisation stays until a spike touches it).

With per-synapse transmission delays ``d_ij`` (jstdp steps, ``>= 1``: a
spike of step ``m`` drives the neuron in step ``a = m + d_ij``), Brian 1's
``CSTDP`` on a ``DelayConnection`` pairs at *arrival*: a postsynaptic spike
in step ``n`` reads ``pre_j`` as it was at the end of step ``n - d_ij`` (the
spikes that arrived by step ``n``); a presynaptic spike emitted in step
``m`` reads ``post1_i`` as it was at the end of step ``a - 1`` (postsynaptic
spikes before its arrival; one in the arrival step counts as pre-before-post)
and lands ``lag`` steps after emission (Brian 1: ``max_delay / dt + 1`` = 21
steps for Diehl & Cook's 10 ms). Without delays (``delays=None``: 1, the
delay of a plain projection) and ``lag=0`` the rule pairs spikes in the step
they are emitted.

Within a step: depression (the spikes of step ``t - lag``), then
potentiation (this step's postsynaptic spikes), each clipped. Brian leaves
the order of the two within its connection phase undefined.

The state keeps, for the last ``lag + 2`` steps, the step of each neuron's
nearest spike (int32), so a trace at any recent step is a closed form and a
long silence costs nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import pytree, static
from jstdp.connections.dense import Dense

# The step of a spike that never happened: ages from it are ~1.7e7 steps, so
# every trace is exactly 0, and ``step - NEVER`` stays an int32 for 2**31 -
# 2**24 steps.
NEVER = -(2**24)


def trace(age: jax.Array, dt: ArrayLike, tau_inv: ArrayLike) -> jax.Array:
    """``exp(-age * dt * tau_inv)``: a nearest-spike trace ``age`` steps after
    its spike (int ``age``, result in ``dt``'s dtype)."""
    dt = jnp.asarray(dt)
    return jnp.exp(-age.astype(dt.dtype) * (dt * tau_inv))


@pytree
class DiehlCookState:
    """Nearest-spike steps of the last ``L = lag + 2`` steps (slot ``s % L``:
    as they were at the end of step ``s``).

    Args:
        step: int32, steps since :meth:`DiehlCookSTDP.init`.
        pre_last: ``(L, batch, n_pre)`` int32 steps of the presynaptic spikes.
        post_last: ``(L, batch, n_post)`` int32 steps of the postsynaptic ones.
    """

    step: jax.Array
    pre_last: jax.Array
    post_last: jax.Array


@pytree
class DiehlCookSTDP:
    """Diehl & Cook's STDP rule (their code's "triplet" rule; see the module).

    For a :class:`jstdp.connections.Dense` projection, ``w`` of shape
    ``(n_post, n_pre)``. Defaults are Diehl & Cook's (``Diehl&Cook_spiking_
    MNIST.py``): ``nu_ee_pre = 1e-4``, ``nu_ee_post = 1e-2``, ``tc_pre_ee =
    20 ms``, ``tc_post_1_ee = 20 ms``, ``tc_post_2_ee = 40 ms``, ``wmax_ee =
    1``.

    Args:
        nu_pre: depression per presynaptic spike, times ``post1``.
        nu_post: potentiation per postsynaptic spike, times ``pre * post2``.
        tau_pre_inv, tau_post1_inv, tau_post2_inv: inverse trace time
            constants, 1/s.
        w_min, w_max: the clip of touched synapses.
        delays: per-synapse delays in steps (ints ``>= 1`` shaped like ``w``,
            the projection's ``delay``), or None (all 1).
        lag: static; steps from a presynaptic spike to its depression, ``>=
            max(delays) - 1`` (Diehl & Cook: 21).
    """

    nu_pre: ArrayLike = 1e-4
    nu_post: ArrayLike = 1e-2
    tau_pre_inv: ArrayLike = 1.0 / 20e-3
    tau_post1_inv: ArrayLike = 1.0 / 20e-3
    tau_post2_inv: ArrayLike = 1.0 / 40e-3
    w_min: ArrayLike = 0.0
    w_max: ArrayLike = 1.0
    delays: ArrayLike | None = None
    lag: int = static(0)

    checks: ClassVar = (
        v.less("w_min", "w_max"),
        *v.positive("tau_pre_inv", "tau_post1_inv", "tau_post2_inv"),
        *v.non_negative("nu_pre", "nu_post"),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "lag", v.integer("lag", self.lag, 0))
        if self.delays is not None:
            d = np.asarray(self.delays)
            if d.dtype == bool or not np.issubdtype(d.dtype, np.integer):
                raise TypeError(f"delays must be an int array, got {d.dtype}")
            if d.ndim != 2:
                raise ValueError(
                    f"delays must be shaped like w (n_post, n_pre), got {d.shape}"
                )
            if d.size and d.min() < 1:
                raise ValueError(f"delays must be >= 1 step, got {d.min()}")
            if d.size and self.lag < d.max() - 1:
                raise ValueError(
                    f"lag must be >= max(delays) - 1 = {d.max() - 1}, got {self.lag}"
                )
            object.__setattr__(self, "delays", jnp.asarray(d, jnp.int32))
        v.check_fields(self)

    @property
    def slots(self) -> int:
        """``L``: the steps of history the state keeps."""
        return self.lag + 2

    def init(
        self,
        pre_shape: tuple[int, ...],
        post_shape: tuple[int, ...],
        w_shape: tuple[int, ...],
        dtype: jax.typing.DTypeLike = jnp.float32,
    ) -> DiehlCookState:
        """No spike yet, for spikes ``(batch, n_pre)`` / ``(batch, n_post)``.

        Raises:
            ValueError: not a dense ``(n_post, n_pre)`` layout, or ``delays``
                not shaped like ``w``.
        """
        del dtype
        if len(pre_shape) != 2 or len(post_shape) != 2:
            raise ValueError(
                "DiehlCookSTDP needs a Dense projection (spikes (batch, n)), got "
                f"pre {tuple(pre_shape)} and post {tuple(post_shape)}"
            )
        want = (post_shape[1], pre_shape[1])
        if tuple(w_shape) != want:
            raise ValueError(f"w must have shape {want}, got {tuple(w_shape)}")
        if self.delays is not None and np.shape(self.delays) != want:
            raise ValueError(
                f"delays must have w's shape {want}, got {np.shape(self.delays)}"
            )
        return DiehlCookState(
            step=jnp.zeros((), jnp.int32),
            pre_last=jnp.full((self.slots, *pre_shape), NEVER, jnp.int32),
            post_last=jnp.full((self.slots, *post_shape), NEVER, jnp.int32),
        )

    def update(
        self,
        z_pre: jax.Array,
        z_post: jax.Array,
        w: jax.Array,
        state: DiehlCookState,
        dt: jax.Array,
        connection: Any = None,
    ) -> tuple[jax.Array, DiehlCookState]:
        r"""One step ``t``: depression landing, potentiation, then the rings.

        .. math::
            w_{ij} &\leftarrow \mathrm{clip}\Big(w_{ij} - \nu_{pre}
                \textstyle\sum_b z^{pre}_{bj}(t - lag)\,
                post1_{bi}(t - lag + d_{ij} - 1)\Big)
                \quad \text{(columns that spiked)} \\
            w_{ij} &\leftarrow \mathrm{clip}\Big(w_{ij} + \nu_{post}
                \textstyle\sum_b z^{post}_{bi}(t)\, post2_{bi}(t^-)\,
                pre_{bj}(t - d_{ij})\Big) \quad \text{(rows that spiked)}

        Args:
            z_pre: ``(batch, n_pre)`` spikes of this step.
            z_post: ``(batch, n_post)`` spikes of this step.
            w: ``(n_post, n_pre)`` weights.
            state: a :class:`DiehlCookState`.
            dt: time step, s.
            connection: must be Dense (or None).

        Returns:
            ``(w, state)``.
        """
        if connection is not None and not isinstance(connection, Dense):
            raise ValueError(
                f"DiehlCookSTDP needs a Dense connection, got "
                f"{type(connection).__name__}"
            )
        t, slots = state.step, self.slots
        # Without delays (1, 1): the traces are read per neuron and per input,
        # not per synapse.
        d = (
            jnp.ones((1, 1), jnp.int32)
            if self.delays is None
            else jnp.asarray(self.delays).astype(jnp.int32)
        )
        post_before = state.post_last[(t - 1) % slots]
        post_now = jnp.where(z_post > 0, t, post_before)
        post_last = state.post_last.at[t % slots].set(post_now)

        # Depression: the presynaptic spikes of step t - lag land now.
        m = t - self.lag
        # (batch, n_pre)
        spiked = (z_pre > 0) if self.lag == 0 else (state.pre_last[m % slots] == m)
        seen = m + d - 1  # (n_post, n_pre) or (1, 1): the step before each arrival
        columns = jnp.arange(w.shape[0])[:, None]
        last = post_last[seen % slots, :, columns]  # (n_post, n_pre, batch)
        post1 = trace(seen[..., None] - last, dt, self.tau_post1_inv)
        hits = spiked.T.astype(w.dtype)[None]  # (1, n_pre, batch)
        dep = jnp.sum(hits * post1, axis=-1)
        touched = jnp.any(spiked, axis=0)[None, :]
        w = jnp.where(
            touched, jnp.clip(w - self.nu_pre * dep, self.w_min, self.w_max), w
        )

        # Potentiation: this step's postsynaptic spikes, with pre at t - d.
        before = t - d
        rows = jnp.arange(w.shape[1])[None, :]
        pre_last = state.pre_last[before % slots, :, rows]  # (n_post, n_pre, batch)
        pre = trace(before[..., None] - pre_last, dt, self.tau_pre_inv)
        post2 = trace(t - post_before, dt, self.tau_post2_inv)  # (batch, n_post)
        fired = (z_post * post2).T[:, None, :]  # (n_post, 1, batch)
        pot = jnp.sum(fired * pre, axis=-1)
        touched = jnp.any(z_post > 0, axis=0)[:, None]
        w = jnp.where(
            touched, jnp.clip(w + self.nu_post * pot, self.w_min, self.w_max), w
        )

        pre_now = jnp.where(z_pre > 0, t, state.pre_last[(t - 1) % slots])
        pre_ring = state.pre_last.at[t % slots].set(pre_now)
        return w, DiehlCookState(t + 1, pre_ring, post_last)
