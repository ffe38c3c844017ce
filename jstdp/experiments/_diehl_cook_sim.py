r"""Diehl & Cook: one sample (presentation and rest), event by event.

The fast path of :func:`jstdp.experiments.diehl_cook`. It computes the model
of :func:`jstdp.experiments._diehl_cook_model.network` (the reference: a
:class:`jstdp.Network` with :class:`jstdp.rules.DiehlCookSTDP`) and gives
its numbers up to float32 rounding (``tests/test_diehl_cook.py`` compares
them step by step), but most of the work of a step is skipped:

- **Input spikes** are drawn as events ``(step, input)`` by thinning: with
  ``p_i = rate_i dt`` and ``p = max_i p_i``, candidate positions of the
  inputs with ``p_i > 0`` (step-major) are ``p``-geometric gaps apart and
  each is kept with probability ``p_i / p``: every (step, input) is an
  independent Bernoulli(``p_i``), as Brian's ``rand() < rate * dt``, from a
  few thousand random numbers instead of 550,000, and already in time order.
- **The drive** of all input spikes, with the weights at the start of the
  presentation, is one scatter ``D[m + d_ij, i] += w_ij`` before the steps.
- **Weight changes within the presentation** only matter for the neurons
  that fire: STDP moves a row by ``nu_post`` at its spikes and by ``nu_pre *
  post1``, where ``post1 <= exp(-rest / tau_post1) = 5.5e-4`` for a neuron
  that has not fired since the last presentation. From its first spike on
  (and only then), a neuron gets one of ``slots`` rows that follow its
  weights exactly (depression landings, potentiation, clipping), and the
  drive of every later input spike to it is corrected by (its weight now) -
  (the weight in ``D``). A row starts from the neuron's weights after the
  depression of the input spikes landed so far, and the others get theirs
  at the end of the sample, both in closed form with the rule's clip after
  each landing (:func:`_depressed`): the weights are the reference's up to
  rounding. Only the drive of the others misses that depression in the
  meantime (at most ``nu_pre * 5.5e-4`` per input spike).
- **The rest** after the last delayed input spike has landed has no input
  and no landing: a step is the two neuron updates.

- **Steps without an Ae spike** run in a loop without branches (a branch in
  every step would cost more than the step); a step with a spike, or with
  more input spikes than ``Capacity.per_step``, leaves it for the STDP of
  the firing neurons and comes back. Within a step, the exact rows'
  depression landings and drive corrections go one (row, input spike) pair
  at a time over the live pairs only (none before the first Ae spike),
  each write done just before the next pair's read, so that XLA updates
  the rows and the drive queue in place.

Capacities are static (:class:`Capacity`): input candidates per
presentation, input spikes per step, rows of firing neurons. A sample that
would exceed one reports it (``ok`` False) and is run again by a wider fast
path, then by the reference network (same model, every input spike), so no
spike is ever dropped (:func:`jstdp.experiments.diehl_cook` does this).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jstdp._pytree import pytree, static
from jstdp.connections import AllToAllButSelf, Dense, OneToOne
from jstdp.experiments._diehl_cook_model import INPUTS, DiehlCookConfig
from jstdp.neurons.adaptive import AdaptiveState
from jstdp.neurons.conductance import ConductanceLIFState
from jstdp.neurons.poisson_events import Events, input_events
from jstdp.rules.diehl_cook import NEVER, trace
from jstdp.rules.transforms import Normalize


@pytree
class Capacity:
    """Static sizes of the fast path (a larger one costs time, never numbers).

    Args:
        candidates: input spike candidates per presentation (the thinning
            draws; about ``steps * active inputs * max rate * dt``, ~3,300 for
            an average digit at intensity 2).
        per_step: input spikes a step handles in the branch-free loop (~3 on
            average; a step with more goes the way of a step with spikes).
        burst: input spikes any step may have (~8 for the brightest digits
            at intensity 2, ~19 at most in 1,500 samples).
        slots: neurons that may fire in one sample (rows kept exactly; ~4 on
            average with 100 neurons, up to ~18).
        chunk: input spikes per block of the drive scatter.
    """

    candidates: int = static(8192)
    per_step: int = static(8)
    burst: int = static(48)
    slots: int = static(8)
    chunk: int = static(512)


@pytree
class SimState:
    """What one sample hands to the next (batch 1: the reference's shapes).

    Args:
        w: ``(neurons, 784)`` input weights.
        exc: Ae state (:class:`jstdp.neurons.AdaptiveState`, ``(1, n)``).
        inh: Ai state (``(1, n)``).
        z_exc, z_inh: ``(1, n)`` spikes of the last step.
        pre_last: ``(784,)`` int32 step of each input's last spike.
        post_last: ``(n,)`` int32 step of each Ae neuron's last spike.
        step: int32 steps simulated so far.
    """

    w: jax.Array
    exc: AdaptiveState
    inh: ConductanceLIFState
    z_exc: jax.Array
    z_inh: jax.Array
    pre_last: jax.Array
    post_last: jax.Array
    step: jax.Array


@pytree
class Model:
    """The model's pieces, as the simulator uses them.

    Args:
        config: the settings (static).
        delays: ``(n, 784)`` int32 jstdp delays.
        capacity: static sizes.
    """

    config: DiehlCookConfig = static()
    delays: jax.Array
    capacity: Capacity = static(Capacity())

    @property
    def n(self) -> int:
        return self.delays.shape[0]

    @property
    def ring(self) -> int:
        """Steps of spike history kept (``DiehlCookSTDP.slots``: ``lag + 2``)."""
        return self.config.lag + 2

    @property
    def pad(self) -> int:
        """The step of padding events: never reached, never landing."""
        c = self.config
        return c.present_steps + c.rest_steps + c.lag + 1


def initial_state(config: DiehlCookConfig, w: jax.Array) -> SimState:
    """A fresh network (``v_init``, ``theta_init``, no spike yet)."""
    n = config.neurons
    zeros = jnp.zeros((1, n), jnp.float32)
    return SimState(
        w=jnp.asarray(w, jnp.float32),
        exc=config.exc_neuron().initial_state((1, n), jnp.float32),
        inh=config.inh_neuron().initial_state((1, n), jnp.float32),
        z_exc=zeros,
        z_inh=zeros,
        pre_last=jnp.full((INPUTS,), NEVER, jnp.int32),
        post_last=jnp.full((n,), NEVER, jnp.int32),
        step=jnp.zeros((), jnp.int32),
    )


# --- input spikes ----------------------------------------------------------------


def _rounds(
    key: jax.Array,
    rates_hz: jax.Array,
    config: DiehlCookConfig,
    capacity: int,
    pad: int,
    fold: Any,
    init: Any,
) -> Any:
    """``fold(acc, events)`` over rounds of :func:`input_events` until the
    presentation is covered (round 0 with ``key``, round ``r`` with
    ``fold_in(key, r)``): every input spike, whatever the capacity."""

    def draw(k, start):
        return input_events(
            k, rates_hz, config.dt, config.present_steps, capacity, pad, start
        )

    def body(args):
        r, end, _, acc = args
        ev = draw(jax.random.fold_in(key, r), end)
        return r + 1, ev.end, ev.ok, fold(acc, ev)

    ev = draw(key, jnp.zeros((), jnp.int32))
    first = (jnp.ones((), jnp.int32), ev.end, ev.ok, fold(init, ev))
    return jax.lax.while_loop(lambda a: ~a[2], body, first)[3]


def dense_spikes(events: Events, steps: int) -> jax.Array:
    """``(steps, 1, 784)`` spikes of ``events``."""
    z = jnp.zeros((steps, INPUTS), jnp.float32)
    return z.at[events.t, events.i].set(1.0, mode="drop")[:, None, :]


def dense_input(key: jax.Array, rates_hz: jax.Array, model: Model) -> jax.Array:
    """``(present_steps, 1, 784)``: every input spike of a presentation (all
    rounds; round 0 is the fast path's events), for the reference path."""
    c = model.config

    def fold(z, ev):
        return z + dense_spikes(ev, c.present_steps)

    zeros = jnp.zeros((c.present_steps, 1, INPUTS), jnp.float32)
    return _rounds(key, rates_hz, c, model.capacity.candidates, model.pad, fold, zeros)


# --- one sample ---------------------------------------------------------------------


def _base_weights(
    w: jax.Array, first_landing: jax.Array, step: jax.Array, w_max: float
) -> jax.Array:
    """The weights STDP leaves to a neuron that has not fired: clipped to
    ``w_max`` once a spike of the input has landed (at or before ``step``)."""
    return jnp.where(first_landing <= step, jnp.minimum(w, w_max), w)


def _depressed(
    c: DiehlCookConfig,
    w: jax.Array,
    age: jax.Array,
    first_landing: jax.Array,
    sums: jax.Array,
    landed: jax.Array,
) -> jax.Array:
    r"""``w`` after the depression of the input spikes landed before the
    neuron fires (where ``landed``), in closed form. ``post1`` decays from
    the neuron's last spike, ``age`` steps before a landing of step 0, so
    the landings of input ``j``'s spikes at steps ``m`` take ``d_m = nu_pre
    e^{-(age + m) dt / tau_1}``: in all ``nu_pre e^{-age dt / tau_1}
    sums`` (``sums``: :func:`_decay_sums`), the first (``m = first_landing -
    lag``) ``d_1``. Each is clipped to ``[0, w_max]`` as the rule does: the
    first clip also brings a weight above ``w_max`` down, the later ones can
    only stop at 0, so ``max(min(w - d_1, w_max) - (total - d_1), 0)``."""
    dt, tau1 = jnp.float32(c.dt), 1.0 / c.tau_post1
    first = c.nu_pre * trace(age + first_landing - c.lag, dt, tau1)
    total = c.nu_pre * trace(age, dt, tau1) * sums
    after = jnp.maximum(jnp.minimum(w - first, c.w_max) - (total - first), 0.0)
    return jnp.where(landed, after, w)


def _neurons(c, exc_neuron, inh_neuron, drive, exc, inh, z_exc, z_inh, dt):
    """One step of Ae (input ``drive``, inhibition from the last step's Ai
    spikes) and Ai (driven by the last step's Ae spikes): ``(z_exc, exc,
    z_inh, inh)``."""
    lateral = AllToAllButSelf().drive(z_inh, jnp.float32(c.w_ie))
    z_e, exc = exc_neuron.step({"exc": drive, "inh": lateral}, exc, dt)
    z_i, inh = inh_neuron.step(OneToOne().drive(z_exc, jnp.float32(c.w_ei)), inh, dt)
    return z_e, exc, z_i, inh


class _Loop(NamedTuple):
    """The carry of the step loop (``t``: the step whose neurons update next,
    or, when ``pending``, whose spikes wait for their STDP)."""

    t: jax.Array
    pending: jax.Array
    exc: Any
    inh: Any
    z_exc: jax.Array
    z_inh: jax.Array
    drive: jax.Array  # (rows, n): queued input drive, base + corrections
    now: jax.Array  # (1, n): row t of it
    slots: jax.Array  # (slots, 784, 3): weights, start weights, delays
    slot_neuron: jax.Array  # (slots,) int32
    slot_of: jax.Array  # (n,) int32, -1: none
    slot_since: jax.Array  # (slots,) int32 step of the neuron's first spike
    used: jax.Array  # int32 slots in use
    post_ring: jax.Array  # (L, n) int32 last Ae spike as of each step
    counts: jax.Array  # (2, n) Ae spikes in the presentation / in the rest
    ok: jax.Array


def sample(
    model: Model,
    state: SimState,
    rates_hz: jax.Array,
    key: jax.Array,
) -> tuple[SimState, jax.Array, jax.Array]:
    """One training sample: normalise, present, rest (learning on).

    The steps run in a loop without branches until an Ae neuron fires; the
    STDP of a step with spikes (potentiation, new rows) runs outside it (a
    branch in every step would cost more than the step).

    Args:
        model: the model and capacities.
        state: the state after the previous sample.
        rates_hz: ``(784,)`` input rates of this presentation.
        key: its input spikes' key.

    Returns:
        ``(state, counts, ok)``: ``counts`` ``(2, n)`` Ae spikes during the
        presentation and during the rest; ``ok`` False when a capacity was
        exceeded (the result is then not valid: run the reference).
    """
    c, cap = model.config, model.capacity
    n, present, rest, lag = model.n, c.present_steps, c.rest_steps, c.lag
    ring_len = model.ring
    busy = present + lag  # every input spike has landed after this step
    t0 = state.step
    w = Normalize(c.norm)(state.w, Dense())
    ev = input_events(key, rates_hz, c.dt, present, cap.candidates, model.pad)
    starts = jnp.searchsorted(ev.t, jnp.arange(busy + 1), side="left")
    starts = starts.astype(jnp.int32)
    counts_at = starts[1:] - starts[:-1]  # input spikes per step

    # Per input: the step its first spike lands (pad: none), its last spike.
    def firsts(acc, t, i, real):
        first, last = acc
        first = first.at[i].min(jnp.where(real, t + lag, model.pad))
        return first, last.at[i].max(jnp.where(real, t + t0, NEVER))

    init = (
        jnp.full((INPUTS,), model.pad, jnp.int32),
        jnp.full((INPUTS,), NEVER, jnp.int32),
    )
    first_landing, last_input = _over_events(
        ev, ev.count, cap.chunk, model.pad, firsts, init
    )
    rows_d = present + c.max_delay
    drive = _scatter_drive(model, w, ev, first_landing, rows_d)
    # Per event: its input, and whether a spike of that input has landed by
    # its emission (its weights are then clipped to w_max); padded so that a
    # slice of burst events from any start stays inside.
    ev_i = jnp.pad(ev.i, (0, cap.burst))
    ev_clip = jnp.pad(first_landing[ev.i] <= ev.t, (0, cap.burst))
    # Steps whose landing or emission has more than per_step input spikes
    # leave the branch-free loop.
    wide = counts_at > cap.per_step
    wide_land = jnp.pad(wide, (lag, 0))[:busy]
    wide_step = wide | wide_land

    exc_neuron, inh_neuron = c.exc_neuron(), c.inh_neuron()
    dt = jnp.float32(c.dt)
    tau_pre, tau1, tau2 = 1.0 / c.tau_pre, 1.0 / c.tau_post1, 1.0 / c.tau_post2
    # Per (neuron, input): the age of post1 at an input spike of step 0's
    # landing, decaying from the neuron's last spike before the sample.
    age0 = (t0 - state.post_last)[:, None] + model.delays - 1

    def events_at(m, width: int):
        """``(idx, clip, live)`` of the first ``width`` input spikes of step
        ``m`` (none for ``m < 0``)."""
        o = starts[jnp.clip(m, 0, busy)]
        count = jnp.where(m >= 0, counts_at[jnp.clip(m, 0, busy - 1)], 0)
        idx = jax.lax.dynamic_slice(ev_i, (o,), (width,))
        clip = jax.lax.dynamic_slice(ev_clip, (o,), (width,))
        return idx, clip, jnp.arange(width) < count

    def pairs(n_live, count, body, init):
        """``body(q, r, k, acc)`` for the pairs (row ``r``, spike ``k``) of
        the rows in use and the first ``n_live`` spikes, in the order of a
        row-major scatter over ``(slots, width)`` (``count`` = rows * spikes
        pairs): only the live ones, not the whole ``(slots, width)`` block."""
        safe = jnp.maximum(n_live, 1)

        def step(c):
            q, acc = c
            return q + 1, body(q // safe, q % safe, acc)

        return jax.lax.while_loop(lambda c: c[0] < count, step, (0, init))[1]

    def land(a: _Loop, width: int, go: jax.Array) -> _Loop:
        """Depression landing on the exact rows: input spikes of ``t - lag``.

        One (row, spike) pair at a time, each new weight written just before
        the next pair's read (XLA then updates ``slots`` in place)."""
        t = a.t
        m = t - lag
        idx, _, live = events_at(m, width)
        n_live = jnp.sum(live, dtype=jnp.int32)

        def one(r, k, acc):
            slots, (pr, pi, pv) = acc
            slots = jax.lax.dynamic_update_slice(
                slots, pv[None, None, None], (pr, pi, 0)
            )
            i = idx[k]
            g = slots[r, i]  # weight, start weight, delay
            seen = m + g[2].astype(jnp.int32) - 1
            last = a.post_ring[seen % ring_len, a.slot_neuron[r]]
            post1 = trace(t0 + seen - last, dt, tau1)
            new = jnp.clip(g[0] - c.nu_pre * post1, 0.0, c.w_max)
            return slots, (r, i, jnp.where(a.slot_since[r] < t, new, g[0]))

        first = (jnp.int32(0), idx[0], a.slots[0, idx[0], 0])
        count = jnp.where(go, a.used * n_live, 0)
        slots, (pr, pi, pv) = pairs(n_live, count, one, (a.slots, first))
        slots = jax.lax.dynamic_update_slice(slots, pv[None, None, None], (pr, pi, 0))
        return a._replace(slots=slots)

    def update(a: _Loop, events: bool) -> tuple[_Loop, jax.Array]:
        """The neurons of step ``t`` and the rings; the landing unless wide.
        Returns the state and whether the step must leave the loop."""
        t = a.t
        T = t0 + t
        z_e, exc, z_i, inh = _neurons(
            c, exc_neuron, inh_neuron, a.now, a.exc, a.inh, a.z_exc, a.z_inh, dt
        )
        fired = jnp.any(z_e[0] > 0)
        before = a.post_ring[(t - 1) % ring_len]
        post_ring = a.post_ring.at[t % ring_len].set(jnp.where(z_e[0] > 0, T, before))
        # (2, n): presentation and rest; a select, cheaper than an update
        # at a dynamic index.
        rest_now = jnp.arange(2)[:, None] == (t >= present).astype(jnp.int32)
        counts = a.counts + jnp.where(rest_now, z_e, 0.0)
        a = a._replace(
            exc=exc, inh=inh, z_exc=z_e, z_inh=z_i, post_ring=post_ring, counts=counts
        )
        if not events:
            return a, fired
        wide_now = wide_step[jnp.minimum(t, busy - 1)]
        go = ~wide_land[jnp.minimum(t, busy - 1)]
        return land(a, cap.per_step, go), fired | wide_now

    def emit(a: _Loop, events: bool, go: jax.Array, width: int) -> _Loop:
        """Unless not ``go``: step ``t``'s input spikes leave with the weights
        after its STDP (the exact rows' drive is corrected, a pair at a time
        as in :func:`land`); ``t += 1``."""
        t, drive = a.t, a.drive
        if events:
            idx, clip, live = events_at(t, width)
            n_live = jnp.sum(live, dtype=jnp.int32)
            last_row = drive.shape[0] - 1

            def one(r, k, acc):
                drive, (pr, pj, pv) = acc
                drive = jax.lax.dynamic_update_slice(drive, pv[None, None], (pr, pj))
                g = a.slots[r, idx[k]]
                base = jnp.where(clip[k], jnp.minimum(g[1], c.w_max), g[1])
                arrive = t + g[2].astype(jnp.int32)
                row, j = jnp.minimum(arrive, last_row), a.slot_neuron[r]
                now = drive[row, j]  # past the last row: dropped
                return drive, (
                    row,
                    j,
                    jnp.where(arrive <= last_row, now + (g[0] - base), now),
                )

            first = (jnp.int32(0), jnp.int32(0), drive[0, 0])
            count = jnp.where(go, a.used * n_live, 0)
            drive, (pr, pj, pv) = pairs(n_live, count, one, (drive, first))
            drive = jax.lax.dynamic_update_slice(drive, pv[None, None], (pr, pj))
        # Read the next step's drive after this step's writes (a read before
        # them would make XLA copy the whole queue every step).
        now = jnp.where(go, _row(drive, t + 1), a.now)
        return a._replace(t=t + go.astype(jnp.int32), drive=drive, now=now)

    def potentiate(a: _Loop) -> _Loop:
        """STDP of the neurons that fired in step ``t`` (new ones get a row)."""
        t = a.t
        T = t0 + t
        before = a.post_ring[(t - 1) % ring_len]
        fired = a.z_exc[0] > 0

        def one(args):
            a, left = args
            j = jnp.argmax(left)
            new_slot = a.slot_of[j] < 0
            k = jnp.where(new_slot, a.used, a.slot_of[j])
            ok = a.ok & (k < cap.slots)
            k = jnp.minimum(k, cap.slots - 1)
            d = model.delays[j]

            def fresh(_):
                """The row of ``j`` at its first spike: the depression of
                the input spikes landed by now (``m + lag <= t``)."""

                sums = _decay_sums(model, ev, starts[jnp.clip(t - lag + 1, 0, busy)])
                row = _depressed(
                    c, w[j], age0[j], first_landing, sums, first_landing <= t
                )
                return jnp.stack([row, w[j], d.astype(jnp.float32)], -1)

            slot = jax.lax.cond(new_slot, fresh, lambda _: a.slots[k], None)
            # Each input's nearest spike at or before t - d_ij.
            seen = t - d

            def latest(last, te, ie, real):
                hit = real & (te <= seen[ie])
                return last.at[ie].max(jnp.where(hit, te + t0, NEVER))

            before_t = starts[jnp.clip(t, 0, busy)]  # the events of steps < t
            last = _over_events(
                ev, before_t, cap.chunk, model.pad, latest, state.pre_last
            )
            pre = trace(t0 + seen - last, dt, tau_pre)
            post2 = trace(T - before[j], dt, tau2)
            row = jnp.clip(slot[:, 0] + c.nu_post * pre * post2, 0.0, c.w_max)
            a = a._replace(
                slots=a.slots.at[k].set(slot.at[:, 0].set(row)),
                slot_neuron=a.slot_neuron.at[k].set(j),
                slot_of=a.slot_of.at[j].set(k),
                slot_since=jnp.where(new_slot, a.slot_since.at[k].set(t), a.slot_since),
                used=a.used + new_slot.astype(jnp.int32),
                ok=ok,
            )
            return a, left.at[j].set(False)

        a, _ = jax.lax.while_loop(lambda args: jnp.any(args[1]), one, (a, fired))
        return a._replace(pending=jnp.zeros((), bool))

    def run(a: _Loop, end: int, events: bool) -> _Loop:
        """Steps up to ``end``: branch-free runs between steps with spikes
        (or more than ``per_step`` input spikes), which run on their own."""
        yes = jnp.ones((), bool)

        def step(a):
            a, leave = update(a, events)
            return emit(a, events, ~leave, cap.per_step)._replace(pending=leave)

        def special(a):
            if events:
                go = wide_land[jnp.minimum(a.t, busy - 1)]
                a = land(a, cap.burst, go)
            return emit(potentiate(a), events, yes, cap.burst)

        def outer(a):
            a = jax.lax.while_loop(lambda a: (a.t < end) & ~a.pending & a.ok, step, a)
            return jax.lax.cond(a.pending & a.ok, special, lambda a: a, a)

        # A capacity exceeded (ok False) ends the loop: the sample is rerun.
        return jax.lax.while_loop(lambda a: (a.t < end) & a.ok, outer, a)

    post0 = jnp.broadcast_to(state.post_last, (ring_len, n))
    carry = _Loop(
        t=jnp.zeros((), jnp.int32),
        pending=jnp.zeros((), bool),
        exc=state.exc,
        inh=state.inh,
        z_exc=state.z_exc,
        z_inh=state.z_inh,
        drive=drive,
        now=_row(drive, jnp.int32(0)),
        slots=jnp.zeros((cap.slots, INPUTS, 3), jnp.float32),
        slot_neuron=jnp.zeros((cap.slots,), jnp.int32),
        slot_of=jnp.full((n,), -1, jnp.int32),
        slot_since=jnp.zeros((cap.slots,), jnp.int32),
        used=jnp.zeros((), jnp.int32),
        post_ring=post0,
        counts=jnp.zeros((2, n), jnp.float32),
        ok=ev.ok & (jnp.max(counts_at) <= cap.burst),
    )
    carry = run(carry, busy, True)
    carry = _rest(carry, busy, present + rest, run, exc_neuron, inh_neuron, c, dt)

    rows = carry.slots[..., 0]
    w_end = _end_weights(model, w, ev, first_landing, carry, rows, age0)
    new = SimState(
        w=w_end,
        exc=carry.exc,
        inh=carry.inh,
        z_exc=carry.z_exc,
        z_inh=carry.z_inh,
        pre_last=jnp.maximum(state.pre_last, last_input),
        post_last=jnp.max(carry.post_ring, axis=0),  # the latest: they only grow
        step=t0 + present + rest,
    )
    return new, carry.counts, carry.ok


def _rest(a: _Loop, start: int, end: int, run, exc_neuron, inh_neuron, c, dt):
    """Steps ``start .. end - 1``, with no input left: the neurons alone, and
    only if one of them fires, again with STDP (``run``)."""

    def step(t, b):
        exc, inh, z_e, z_i, fired = b
        no_input = jnp.zeros_like(z_e)
        z_e, exc, z_i, inh = _neurons(
            c, exc_neuron, inh_neuron, no_input, exc, inh, z_e, z_i, dt
        )
        return exc, inh, z_e, z_i, fired | jnp.any(z_e > 0)

    b = (a.exc, a.inh, a.z_exc, a.z_inh, jnp.zeros((), bool))
    exc, inh, z_e, z_i, fired = jax.lax.fori_loop(start, end, step, b)
    # Without a spike the post ring keeps its value: nothing else changes.
    quiet = a._replace(t=jnp.int32(end), exc=exc, inh=inh, z_exc=z_e, z_inh=z_i)
    return jax.lax.cond(fired, lambda: run(a, end, False), lambda: quiet)


def _row(drive: jax.Array, t: jax.Array) -> jax.Array:
    """``drive[t]`` as ``(1, n)``, zero past the last row."""
    last = drive.shape[0] - 1
    row = jax.lax.dynamic_slice_in_dim(drive, jnp.minimum(t, last), 1, 0)
    return jnp.where(t <= last, row, 0.0)


def _over_events(
    ev: Events, count: jax.Array, chunk: int, pad: int, fold: Any, init: Any
) -> Any:
    """``fold(acc, t, i, real)`` over the first ``count`` events in blocks of
    ``chunk`` (``t``, ``i``, ``real``: ``(chunk,)``; padding ``real`` False):
    as many blocks as there are events, not as the capacity."""
    size = -(-ev.t.shape[0] // chunk) * chunk
    t_pad = jnp.pad(ev.t, (0, size - ev.t.shape[0]), constant_values=pad)
    i_pad = jnp.pad(ev.i, (0, size - ev.i.shape[0]))

    def block(b, acc):
        t = jax.lax.dynamic_slice(t_pad, (b * chunk,), (chunk,))
        i = jax.lax.dynamic_slice(i_pad, (b * chunk,), (chunk,))
        return fold(acc, t, i, b * chunk + jnp.arange(chunk) < count)

    return jax.lax.fori_loop(0, -(-count // chunk), block, init)


def _scatter_drive(
    model: Model, w: jax.Array, ev: Events, first_landing: jax.Array, rows: int
) -> jax.Array:
    """``(rows, n)``: ``D[m + d_ij, i] += w_ij`` over the events (with the
    weights clipped to ``w_max`` once a spike of the input has landed)."""
    neuron = jnp.arange(model.n)[None, :]

    def fold(drive, t, i, real):
        weight = _base_weights(
            w[:, i].T, first_landing[i][:, None], t[:, None], model.config.w_max
        )
        arrive = jnp.where(real[:, None], t[:, None] + model.delays[:, i].T, rows)
        return drive.at[arrive, neuron].add(weight, mode="drop")

    zeros = jnp.zeros((rows, model.n), jnp.float32)
    return _over_events(ev, ev.count, model.capacity.chunk, model.pad, fold, zeros)


def _decay_sums(model: Model, ev: Events, count: jax.Array) -> jax.Array:
    """``(784,)``: per input, ``sum_m exp(-m dt / tau_post1)`` over its spikes
    at steps ``m`` among the first ``count`` events."""
    c1 = jnp.float32(model.config.dt / model.config.tau_post1)

    def fold(acc, t, i, real):
        return acc.at[i].add(jnp.where(real, jnp.exp(-t.astype(jnp.float32) * c1), 0.0))

    zeros = jnp.zeros((INPUTS,), jnp.float32)
    return _over_events(ev, count, model.capacity.chunk, model.pad, fold, zeros)


def _end_weights(
    model: Model,
    w: jax.Array,
    ev: Events,
    first_landing: jax.Array,
    carry: _Loop,
    rows: jax.Array,
    age0: jax.Array,
) -> jax.Array:
    """The weights after the sample: the exact rows of the neurons that fired,
    and the others after the depression of all their landings
    (:func:`_depressed`; ``age0`` ``(n, 784)``: ``t_0 + d_ij - 1 - L_i``)."""
    c, cap = model.config, model.capacity
    quiet = _depressed(
        c,
        w,
        age0,
        first_landing[None, :],
        _decay_sums(model, ev, ev.count)[None, :],
        (first_landing < model.pad)[None, :],
    )
    target = jnp.where(jnp.arange(cap.slots) < carry.used, carry.slot_neuron, model.n)
    return quiet.at[target].set(rows, mode="drop")


# --- the reference path ----------------------------------------------------------


def network_state(net: Any, state: SimState, w: jax.Array) -> Any:
    """``state`` (with input weights ``w``) as the reference network's
    :class:`jstdp.NetworkState`, between two samples."""
    fresh = net.init(1, jnp.float32)
    slots = fresh.rules["XeAe"].pre_last.shape[0]  # the rule's history
    ring = lambda last: jnp.broadcast_to(last, (slots, 1, *last.shape))  # noqa: E731
    rule = fresh.rules["XeAe"].replace(
        step=state.step, pre_last=ring(state.pre_last), post_last=ring(state.post_last)
    )
    return fresh.replace(
        step=state.step,
        neurons={"Ae": state.exc, "Ai": state.inh},
        spikes={**fresh.spikes, "Ae": state.z_exc, "Ai": state.z_inh},
        weights={**fresh.weights, "XeAe": w},
        rules={"XeAe": rule},
    )


def sim_state(net_state: Any) -> SimState:
    """The reference network's state between two samples as a :class:`SimState`."""
    rule = net_state.rules["XeAe"]
    last = (net_state.step - 1) % rule.pre_last.shape[0]
    return SimState(
        w=net_state.weights["XeAe"],
        exc=net_state.neurons["Ae"],
        inh=net_state.neurons["Ai"],
        z_exc=net_state.spikes["Ae"],
        z_inh=net_state.spikes["Ai"],
        pre_last=rule.pre_last[last, 0],
        post_last=rule.post_last[last, 0],
        step=net_state.step,
    )


def sample_reference(
    net: Any, model: Model, state: SimState, spikes: jax.Array
) -> tuple[SimState, jax.Array]:
    """:func:`sample` by the reference network, with input ``spikes``
    ``(present_steps, 1, 784)``. Returns ``(state, counts)``."""
    from jstdp._run import run

    c = model.config
    w = Normalize(c.norm)(state.w, Dense())
    s = network_state(net, state, w)
    s, _ = run(net, spikes, state=s, dt=c.dt)
    pres = s.counts["Ae"][0]
    silence = jnp.zeros((c.rest_steps, 1, INPUTS), jnp.float32)
    s, _ = run(net, silence, state=s, dt=c.dt)
    counts = jnp.stack([pres, s.counts["Ae"][0] - pres]).astype(jnp.float32)
    return sim_state(s), counts


# --- frozen: labelling and testing ---------------------------------------------------


def rest_state(config: DiehlCookConfig, theta: jax.Array) -> tuple[Any, Any]:
    """Ae and Ai at rest (``v`` at rest, no conductance), with ``theta``."""
    n = config.neurons
    exc = config.exc_neuron().initial_state((1, n), jnp.float32)
    inh = config.inh_neuron().initial_state((1, n), jnp.float32)
    v_e = jnp.full((1, n), config.v_rest_e, jnp.float32)
    v_i = jnp.full((1, n), config.v_rest_i, jnp.float32)
    exc = AdaptiveState(exc.neuron.replace(v=v_e), jnp.asarray(theta, jnp.float32))
    return exc, inh.replace(v=v_i)


def frozen_drive(
    model: Model, w: jax.Array, rates_hz: jax.Array, key: jax.Array
) -> jax.Array:
    """``(rows, n)`` input drive of one presentation with frozen weights ``w``
    (every input spike, all rounds): row ``t`` is what Ae receives in step
    ``t``."""
    c = model.config
    rows_d = c.present_steps + c.max_delay
    never = jnp.full((INPUTS,), model.pad, jnp.int32)

    def fold(drive, ev):
        return drive + _scatter_drive(model, w, ev, never, rows_d)

    zeros = jnp.zeros((rows_d, model.n), jnp.float32)
    return _rounds(key, rates_hz, c, model.capacity.candidates, model.pad, fold, zeros)


def frozen_counts(model: Model, theta: jax.Array, drive: jax.Array) -> jax.Array:
    """``(n,)`` Ae spikes of one presentation from rest with ``drive`` (see
    :func:`frozen_drive`), ``theta`` frozen: what labelling and testing
    count. ``vmap`` it over samples."""
    c = model.config
    exc_neuron, inh_neuron = c.exc_neuron().frozen(), c.inh_neuron()
    dt = jnp.float32(c.dt)

    def step(t, a):
        exc, inh, z_e, z_i, counts = a
        z_e, exc, z_i, inh = _neurons(
            c, exc_neuron, inh_neuron, _row(drive, t), exc, inh, z_e, z_i, dt
        )
        return exc, inh, z_e, z_i, counts + z_e[0]

    exc, inh = rest_state(c, theta)
    zeros_n = jnp.zeros((1, model.n), jnp.float32)
    init = (exc, inh, zeros_n, zeros_n, zeros_n[0])
    return jax.lax.fori_loop(0, c.present_steps, step, init)[4]


def frozen_batch(
    model: Model,
    w: jax.Array,
    theta: jax.Array,
    images: jax.Array,
    keys: jax.Array,
    intensity: jax.Array,
) -> jax.Array:
    """``(B, n)`` counts of a batch of images at ``intensity``: the drives
    one sample after the other (a scatter per sample is faster than a batched
    one on CPU), the neurons of all samples together (``vmap``)."""
    c = model.config

    def drive(args):
        image, key = args
        return frozen_drive(model, w, c.rates(image, intensity), key)

    drives = jax.lax.map(drive, (images, keys))
    return jax.vmap(lambda d: frozen_counts(model, theta, d))(drives)
