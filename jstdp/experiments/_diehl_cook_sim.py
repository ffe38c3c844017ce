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
  (the weight in ``D``). The depression of the others (at most ``nu_pre *
  5.5e-4`` per input spike, and their clip of weights above ``w_max``) is
  applied in closed form at the end of the sample: their weights, and so the
  drive, differ from the reference by at most ~1e-6 in the meantime.
- **The rest** after the last delayed input spike has landed has no input
  and no landing: a step is the two neuron updates.

Capacities are static (``Capacity``): input candidates per presentation,
input spikes per step, rows of firing neurons. A presentation that would
exceed one is run by the reference network instead (same model, its own
input spikes), so no spike is ever dropped.
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
from jstdp.rules.diehl_cook import NEVER, trace
from jstdp.rules.transforms import Normalize


@pytree
class Capacity:
    """Static sizes of the fast path (a larger one costs time, never numbers).

    Args:
        candidates: input spike candidates per presentation (the thinning
            draws; about ``steps * active inputs * max rate * dt``, ~3,300 for
            an average digit at intensity 2).
        per_step: input spikes per step (~3 on average, ~8 for the brightest
            digits at intensity 2).
        slots: neurons that may fire in one sample (rows kept exactly).
        chunk: input spikes per block of the drive scatter.
    """

    candidates: int = static(8192)
    per_step: int = static(24)
    slots: int = static(16)
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


class Events(NamedTuple):
    """Input spikes of one presentation, in time order (then input index).

    ``t``: ``(C,)`` int32 steps (relative; padding: a step past the end),
    ``i``: ``(C,)`` int32 inputs (padding: 0), ``count``: how many are real,
    ``ok``: False when the candidates did not cover the presentation.
    """

    t: jax.Array
    i: jax.Array
    count: jax.Array
    ok: jax.Array


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


def input_events(
    key: jax.Array, rates_hz: jax.Array, dt: float, steps: int, capacity: int, pad: int
) -> Events:
    r"""Independent Bernoulli(``rate_i dt``) spikes of every input and step.

    Thinning of a Bernoulli(``p``) process, ``p = max_i rate_i dt``, over the
    positions ``q = step * A + r`` (``r``: rank among the ``A`` inputs with a
    positive rate): gaps ``G = floor(log U / log(1 - p)) + 1``, each
    candidate kept with probability ``p_i / p``.

    Args:
        key: a ``jax.random`` key.
        rates_hz: ``(784,)`` rates.
        dt: time step, s.
        steps: presentation steps.
        capacity: candidates drawn.
        pad: the step given to padding events.
    """
    p = rates_hz.astype(jnp.float32) * jnp.float32(dt)
    active = p > 0
    n_active = jnp.sum(active).astype(jnp.int32)
    order = jnp.argsort(~active, stable=True).astype(jnp.int32)  # active first
    p_max = jnp.max(p)
    k_gap, k_keep = jax.random.split(key)
    u = 1.0 - jax.random.uniform(k_gap, (capacity,), jnp.float32)  # (0, 1]
    log_q = jnp.log1p(-jnp.minimum(p_max, 1.0 - 2.0**-24))
    gaps = jnp.where(
        p_max >= 1.0, 1, jnp.floor(jnp.log(u) / log_q).astype(jnp.int32) + 1
    )
    total = steps * n_active
    q = jnp.cumsum(jnp.minimum(gaps, total + 1)) - 1  # no int32 overflow
    inside = q < total
    ok = (q[-1] >= total) | (p_max <= 0)
    safe = jnp.maximum(n_active, 1)
    i = order[jnp.where(inside, q % safe, 0)]
    u_keep = jax.random.uniform(k_keep, (capacity,), jnp.float32)
    keep = inside & (u_keep * p_max < p[i])
    count = jnp.sum(keep).astype(jnp.int32)
    slot = jnp.where(keep, jnp.cumsum(keep) - 1, capacity)
    t_out = jnp.full((capacity,), pad, jnp.int32).at[slot].set(q // safe, mode="drop")
    i_out = jnp.zeros((capacity,), jnp.int32).at[slot].set(i, mode="drop")
    return Events(t_out, i_out, count, ok)


def dense_spikes(events: Events, steps: int) -> jax.Array:
    """``(steps, 1, 784)`` spikes of ``events`` (the reference path's input)."""
    z = jnp.zeros((steps, INPUTS), jnp.float32)
    return z.at[events.t, events.i].set(1.0, mode="drop")[:, None, :]


# --- one sample ---------------------------------------------------------------------


def _base_weights(w: jax.Array, first_landing: jax.Array, step: jax.Array) -> jax.Array:
    """The weights STDP leaves to a neuron that has not fired: clipped to
    ``w_max`` once a spike of the input has landed (at or before ``step``)."""
    return jnp.where(first_landing <= step, jnp.minimum(w, 1.0), w)


def _pre_traces(
    model: Model,
    ev: Events,
    pre_last0: jax.Array,
    t0: jax.Array,
    j: jax.Array,
    t: jax.Array,
) -> jax.Array:
    """``(784,)`` pre traces neuron ``j`` reads when it fires in step ``t``:
    each input's nearest spike at or before ``t - d_ij`` (this presentation's
    events, else ``pre_last0``)."""
    c = model.config
    d = model.delays[j]  # (784,)
    seen = t - d  # relative step each input is read at
    valid = jnp.arange(ev.t.shape[0]) < ev.count
    hit = valid & (ev.t <= seen[ev.i])
    last = (
        jnp.full((INPUTS,), NEVER, jnp.int32)
        .at[ev.i]
        .max(jnp.where(hit, ev.t + t0, NEVER))
    )
    last = jnp.maximum(last, pre_last0)
    return trace(t0 + seen - last, c.dt, 1.0 / c.tau_pre)


class _Loop(NamedTuple):
    """The carry of the step loop."""

    exc: Any
    inh: Any
    z_exc: jax.Array
    z_inh: jax.Array
    drive: jax.Array  # (rows, n): queued input drive, base + corrections
    rows: jax.Array  # (slots, 784): exact weights of the firing neurons
    slot_neuron: jax.Array  # (slots,) int32
    slot_of: jax.Array  # (n,) int32, -1: none
    slot_since: jax.Array  # (slots,) int32 relative step of the first spike
    used: jax.Array  # int32 slots in use
    ring: jax.Array  # (L, n) int32 last post spike as of each step
    counts: jax.Array  # (2, n) spikes in the presentation / in the rest
    ok: jax.Array


def sample(
    model: Model,
    state: SimState,
    rates_hz: jax.Array,
    key: jax.Array,
) -> tuple[SimState, jax.Array, jax.Array]:
    """One training sample: normalise, present, rest (learning on).

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
    slots_ring = lag + 2
    t0 = state.step
    w = Normalize(c.norm)(state.w, Dense())
    ev = input_events(key, rates_hz, c.dt, present, cap.candidates, model.pad)
    starts = jnp.searchsorted(ev.t, jnp.arange(present + lag + 1), side="left")
    starts = starts.astype(jnp.int32)
    per_step_ok = jnp.max(starts[1:] - starts[:-1]) <= cap.per_step
    first_landing = (
        jnp.full((INPUTS,), model.pad, jnp.int32)
        .at[ev.i]
        .min(jnp.where(jnp.arange(cap.candidates) < ev.count, ev.t + lag, model.pad))
    )
    rows_d = present + c.max_delay + 1
    drive = _scatter_drive(model, w, ev, first_landing, rows_d)
    # A slice of per_step events from any start stays inside the events.
    ev_i = jnp.pad(ev.i, (0, cap.per_step))

    exc_neuron, inh_neuron = c.exc_neuron(), c.inh_neuron()
    dt = jnp.float32(c.dt)
    k_range = jnp.arange(cap.per_step)
    a_range = jnp.arange(cap.slots)
    tau1, tau2 = 1.0 / c.tau_post1, 1.0 / c.tau_post2

    def step(carry: _Loop, t: jax.Array, events: bool) -> _Loop:
        T = t0 + t
        lateral = AllToAllButSelf().drive(carry.z_inh, jnp.float32(c.w_ie))
        d_exc = jax.lax.dynamic_index_in_dim(carry.drive, jnp.minimum(t, rows_d - 1), 0)
        d_exc = jnp.where(t < rows_d, d_exc, 0.0)
        z_e, exc = exc_neuron.step({"exc": d_exc, "inh": lateral}, carry.exc, dt)
        z_i, inh = inh_neuron.step(
            OneToOne().drive(carry.z_exc, jnp.float32(c.w_ei)), carry.inh, dt
        )
        post_before = carry.ring[(t - 1) % slots_ring]
        fired = z_e[0] > 0
        ring = carry.ring.at[t % slots_ring].set(jnp.where(fired, T, post_before))
        rows, ok = carry.rows, carry.ok

        # Depression landing on the exact rows: input spikes of step t - lag.
        if events:
            m = t - lag
            o = starts[jnp.clip(m, 0, present + lag)]
            count = jnp.where(m >= 0, starts[jnp.clip(m + 1, 0, present + lag)] - o, 0)
            idx = jax.lax.dynamic_slice(ev_i, (o,), (cap.per_step,))
            live = (k_range[None, :] < count) & (a_range < carry.used)[:, None]
            live &= (carry.slot_since < t)[:, None]
            neuron = carry.slot_neuron[:, None]
            seen = m + model.delays[neuron, idx[None, :]] - 1
            last = ring[seen % slots_ring, neuron]
            post1 = trace(t0 + seen - last, dt, tau1)
            a_idx = a_range[:, None]
            old = rows[a_idx, idx[None, :]]
            new = jnp.clip(old - c.nu_pre * post1, 0.0, c.w_max)
            # Dead entries (padding) may repeat a live input: drop them.
            target = jnp.where(live, idx[None, :], INPUTS)
            rows = rows.at[a_idx, target].set(new, mode="drop")

        # Potentiation of the neurons that fired (new ones get a row).
        def potentiate(args):
            def one(args):
                rows, slot_neuron, slot_of, slot_since, used, left, ok = args
                j = jnp.argmax(left)
                new_slot = slot_of[j] < 0
                a = jnp.where(new_slot, used, slot_of[j])
                ok &= a < cap.slots
                a = jnp.minimum(a, cap.slots - 1)
                row = jnp.where(
                    new_slot, _base_weights(w[j], first_landing, t), rows[a]
                )
                pre = _pre_traces(model, ev, state.pre_last, t0, j, t)
                post2 = trace(T - post_before[j], dt, tau2)
                row = jnp.clip(row + c.nu_post * pre * post2, 0.0, c.w_max)
                return (
                    rows.at[a].set(row),
                    slot_neuron.at[a].set(j),
                    slot_of.at[j].set(a),
                    jnp.where(new_slot, slot_since.at[a].set(t), slot_since),
                    used + new_slot.astype(jnp.int32),
                    left.at[j].set(False),
                    ok,
                )

            return jax.lax.while_loop(lambda a: jnp.any(a[5]), one, (*args, fired, ok))

        rows, slot_neuron, slot_of, slot_since, used, _, ok = jax.lax.cond(
            jnp.any(fired),
            potentiate,
            lambda a: (*a, fired, ok),
            (rows, carry.slot_neuron, carry.slot_of, carry.slot_since, carry.used),
        )

        # This step's input spikes leave with the weights after STDP: correct
        # the queued drive of the exact rows.
        drive = carry.drive
        if events:
            o = starts[jnp.minimum(t, present + lag)]
            count = starts[jnp.minimum(t + 1, present + lag)] - o
            idx = jax.lax.dynamic_slice(ev_i, (o,), (cap.per_step,))
            live = (k_range[None, :] < count) & (a_range < used)[:, None]
            neuron = slot_neuron[:, None]
            now = rows[a_range[:, None], idx[None, :]]
            base = _base_weights(
                w[neuron, idx[None, :]], first_landing[idx][None, :], t
            )
            arrive = t + model.delays[neuron, idx[None, :]]
            drive = drive.at[arrive, neuron].add(
                jnp.where(live, now - base, 0.0), mode="drop"
            )

        counts = carry.counts.at[(t >= present).astype(jnp.int32)].add(z_e[0])
        return _Loop(
            exc, inh, z_e, z_i, drive, rows, slot_neuron, slot_of, slot_since,
            used, ring, counts, ok,
        )  # fmt: skip

    ring0 = jnp.broadcast_to(state.post_last, (slots_ring, n))
    carry = _Loop(
        exc=state.exc,
        inh=state.inh,
        z_exc=state.z_exc,
        z_inh=state.z_inh,
        drive=drive,
        rows=jnp.zeros((cap.slots, INPUTS), jnp.float32),
        slot_neuron=jnp.zeros((cap.slots,), jnp.int32),
        slot_of=jnp.full((n,), -1, jnp.int32),
        slot_since=jnp.zeros((cap.slots,), jnp.int32),
        used=jnp.zeros((), jnp.int32),
        ring=ring0,
        counts=jnp.zeros((2, n), jnp.float32),
        ok=ev.ok & per_step_ok,
    )
    busy = present + lag  # every input spike has landed after this
    carry = jax.lax.fori_loop(0, busy, lambda t, a: step(a, t, True), carry)
    carry = jax.lax.fori_loop(
        busy, present + rest, lambda t, a: step(a, t, False), carry
    )

    w_end = _end_weights(model, w, ev, first_landing, carry, state.post_last, t0)
    last_in = (
        jnp.full((INPUTS,), NEVER, jnp.int32)
        .at[ev.i]
        .max(jnp.where(jnp.arange(cap.candidates) < ev.count, ev.t + t0, NEVER))
    )
    new = SimState(
        w=w_end,
        exc=carry.exc,
        inh=carry.inh,
        z_exc=carry.z_exc,
        z_inh=carry.z_inh,
        pre_last=jnp.maximum(state.pre_last, last_in),
        post_last=carry.ring[(present + rest - 1) % slots_ring],
        step=t0 + present + rest,
    )
    return new, carry.counts, carry.ok


def _scatter_drive(
    model: Model, w: jax.Array, ev: Events, first_landing: jax.Array, rows: int
) -> jax.Array:
    """``(rows, n)``: ``D[m + d_ij, i] += w_ij`` over the events, in blocks of
    ``chunk`` events (as many blocks as there are events)."""
    n, chunk = model.n, model.capacity.chunk
    padded = -(-ev.t.shape[0] // chunk) * chunk
    t_pad = jnp.pad(ev.t, (0, padded - ev.t.shape[0]), constant_values=model.pad)
    i_pad = jnp.pad(ev.i, (0, padded - ev.i.shape[0]))
    neuron = jnp.arange(n)[None, :]

    def block(b, drive):
        t = jax.lax.dynamic_slice(t_pad, (b * chunk,), (chunk,))
        i = jax.lax.dynamic_slice(i_pad, (b * chunk,), (chunk,))
        weight = _base_weights(w[:, i].T, first_landing[i][:, None], t[:, None])
        arrive = t[:, None] + model.delays[:, i].T
        return drive.at[arrive, neuron].add(weight, mode="drop")

    blocks = -(-ev.count // chunk)
    return jax.lax.fori_loop(0, blocks, block, jnp.zeros((rows, n), jnp.float32))


def _end_weights(model, w, ev, first_landing, carry, post_last0, t0):
    """The weights after the sample: the exact rows of the neurons that fired,
    and every neuron's depression from before its first spike (closed form:
    ``post1`` decays from its last spike before the presentation)."""
    c, cap = model.config, model.capacity
    c1 = jnp.float32(c.dt / c.tau_post1)
    valid = jnp.arange(cap.candidates) < ev.count
    # sum over an input's spikes of exp(-m c1), m its relative step; per row
    # only the spikes landing before the row's first spike (m + lag <= since).
    since = jnp.full((model.n,), model.pad, jnp.int32)
    used = jnp.arange(cap.slots) < carry.used
    since = since.at[jnp.where(used, carry.slot_neuron, model.n)].set(
        carry.slot_since, mode="drop"
    )
    decay = jnp.where(valid, jnp.exp(-ev.t.astype(jnp.float32) * c1), 0.0)
    quiet = jnp.zeros((INPUTS,), jnp.float32).at[ev.i].add(decay)
    before = (ev.t[None, :] + c.lag <= carry.slot_since[:, None]) & valid[None, :]
    early = (
        jnp.zeros((cap.slots, INPUTS), jnp.float32)
        .at[jnp.arange(cap.slots)[:, None], ev.i[None, :]]
        .add(jnp.where(before, decay[None, :], 0.0))
    )
    sums = jnp.broadcast_to(quiet, (model.n, INPUTS))
    sums = sums.at[jnp.where(used, carry.slot_neuron, model.n)].set(early, mode="drop")
    age = (t0 - post_last0)[:, None] + model.delays - 1  # (n, 784) at m = 0
    dep = c.nu_pre * trace(age, jnp.float32(c.dt), 1.0 / c.tau_post1) * sums
    landed = first_landing < model.pad
    rest = jnp.where(landed, jnp.minimum(w, c.w_max), w)
    fired = rest.at[jnp.where(used, carry.slot_neuron, model.n)].set(
        carry.rows, mode="drop"
    )
    touched = landed[None, :]
    return jnp.where(touched, jnp.clip(fired - dep, 0.0, c.w_max), fired)


# --- the reference path ----------------------------------------------------------


def network_state(net: Any, model: Model, state: SimState, w: jax.Array) -> Any:
    """``state`` (with input weights ``w``) as the reference network's
    :class:`jstdp.NetworkState`, between two samples."""
    c = model.config
    fresh = net.init(1, jnp.float32)
    ring = lambda last: jnp.broadcast_to(last, (c.lag + 2, 1, *last.shape))  # noqa: E731
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


def sim_state(net_state: Any, lag: int) -> SimState:
    """The reference network's state between two samples as a :class:`SimState`."""
    rule = net_state.rules["XeAe"]
    last = (net_state.step - 1) % (lag + 2)
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
    s = network_state(net, model, state, w)
    s, _ = run(net, spikes, state=s, dt=c.dt)
    pres = s.counts["Ae"][0]
    silence = jnp.zeros((c.rest_steps, 1, INPUTS), jnp.float32)
    s, _ = run(net, silence, state=s, dt=c.dt)
    counts = jnp.stack([pres, s.counts["Ae"][0] - pres]).astype(jnp.float32)
    return sim_state(s, c.lag), counts
