r"""Poisson input spikes as events: a few random numbers per spike, not per step.

Every input ``i`` and step ``t`` is an independent Bernoulli(``p_i = rate_i
dt``) cell, as in :class:`jstdp.PoissonInput` (the same distribution; another
random stream). The cells of the inputs with ``p_i > 0`` are ordered step-major
(position ``q = t A + r``, ``r`` the input's rank among the ``A`` active ones);
candidate positions are ``p``-geometric gaps apart (``p = max_i p_i``) and each
is kept with probability ``p_i / p`` (thinning). The gaps of a Bernoulli
sequence are geometric and memoryless, so a round of candidates that ends at
its last candidate can be followed by a fresh round from the next position:
the union is again the Bernoulli process, whatever the number of rounds.

:func:`input_events` draws one round; :func:`fold_rounds` runs rounds over a
whole run, handing a consumer each stretch of steps whose spikes are all
drawn; :func:`poisson_event_spikes` writes them out as a ``(T, 1, n)`` array
(what a dense run sees: the reference of the event-driven loops).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp import _validation as v

# Events past the end of a buffer (padding) sit at this step: never reached.
PAD = 2**30
# Positions are int32 below this (a round's horizon stays below it).
LIMIT = 2**30 - 1


class Events(NamedTuple):
    """One round of input spikes, in time order (then input order).

    ``t``: ``(C,)`` int32 steps (padding: ``pad``), ``i``: ``(C,)`` int32
    inputs (padding: 0), ``count``: how many are real, ``ok``: whether the
    round reached the end of the horizon, ``end``: the position where the
    next round starts.
    """

    t: jax.Array
    i: jax.Array
    count: jax.Array
    ok: jax.Array
    end: jax.Array


def input_events(
    key: jax.Array,
    rates_hz: jax.Array,
    dt: float | jax.Array,
    steps: int | jax.Array,
    capacity: int,
    pad: int,
    start: jax.Array | int = 0,
) -> Events:
    r"""One round: ``capacity`` candidates from position ``start`` on.

    Gaps ``G = floor(log U / log(1 - p)) + 1`` (``U`` uniform in ``(0,
    1]``), each candidate kept when ``U' p < p_i``. Positions at or past
    ``steps * A`` (the horizon) are dropped; when the candidates end before
    it (``ok`` False), the next round starts at ``end``.

    Args:
        key: a ``jax.random`` key.
        rates_hz: ``(n,)`` rates, Hz.
        dt: time step, s.
        steps: the horizon, in steps (``steps * n < LIMIT``).
        capacity: candidates drawn (static).
        pad: the step given to padding events.
        start: the first position of this round.
    """
    p = rates_hz.astype(jnp.float32) * jnp.float32(dt)
    active = p > 0
    n_active = jnp.sum(active).astype(jnp.int32)
    order = jnp.argsort(~active, stable=True).astype(jnp.int32)  # active first
    p_max = jnp.max(p)
    total = steps * n_active
    k_gap, k_keep = jax.random.split(key)
    u = 1.0 - jax.random.uniform(k_gap, (capacity,), jnp.float32)  # (0, 1]
    log_q = jnp.log1p(-jnp.clip(p_max, 2.0**-126, 1.0 - 2.0**-24))
    gaps = jnp.floor(jnp.log(u) / log_q) + 1.0
    gaps = jnp.where(p_max >= 1.0, 1.0, gaps)
    cap = (total + 1).astype(jnp.float32)
    gaps = jnp.where(p_max > 0, jnp.minimum(gaps, cap), cap)
    q = start + _cumsum_saturating(gaps.astype(jnp.int32)) - 1
    inside = q < total
    safe = jnp.maximum(n_active, 1)
    i = order[jnp.where(inside, q % safe, 0)]
    u_keep = jax.random.uniform(k_keep, (capacity,), jnp.float32)
    keep = inside & (u_keep * p_max < p[i])
    count = jnp.sum(keep).astype(jnp.int32)
    slot = jnp.where(keep, jnp.cumsum(keep) - 1, capacity)
    t_out = jnp.full((capacity,), pad, jnp.int32).at[slot].set(q // safe, mode="drop")
    i_out = jnp.zeros((capacity,), jnp.int32).at[slot].set(i, mode="drop")
    end = jnp.minimum(q[-1] + 1, total)
    return Events(t_out, i_out, count, end >= total, end)


def _cumsum_saturating(x: jax.Array) -> jax.Array:
    """Running sum of non-negative int32 ``x``, held at ``LIMIT`` (positions
    past the horizon are all alike; the exact sum could overflow int32)."""
    return jax.lax.associative_scan(lambda a, b: jnp.minimum(a + b, LIMIT), x)


def capacity(n: int) -> int:
    """Candidates per round for ``n`` inputs: at least two steps' worth of
    cells, so that every round completes a step."""
    return max(4096, 1 << (2 * n - 1).bit_length())


# Consumer of fold_rounds: (carry, t, i, begin, end) -> carry.
Consumer = Callable[[Any, jax.Array, jax.Array, jax.Array, jax.Array], Any]


def fold_rounds(
    key: jax.Array,
    rates_hz: jax.Array,
    dt: float | jax.Array,
    steps: int,
    consume: Consumer,
    init: Any,
    size: int,
) -> Any:
    """Draw every input spike of steps ``0 .. steps - 1`` round by round and
    hand each stretch of complete steps to ``consume``.

    ``consume(carry, t, i, begin, end)`` must process steps ``begin .. end -
    1`` (``end > begin``) with the events ``(t[k], i[k])`` in buffer order:
    every event of those steps is there, in time then input order, before
    any later one (``t >= end``; padding at :data:`PAD`). Round ``r`` uses
    ``jax.random.fold_in(key, r)``; the events a round drew in the step it
    ended in go first into the next round's buffer.

    Args:
        key: a ``jax.random`` key.
        rates_hz: ``(n,)`` rates, Hz, ``rates_hz * dt <= 1``.
        dt: time step, s.
        steps: steps to cover (an int).
        consume: the consumer.
        init: its initial carry.
        size: candidates per round (static; :func:`capacity` of ``n``).

    Returns:
        The consumer's carry after the last step.
    """
    n = rates_hz.shape[0]
    n_active = jnp.sum(rates_hz > 0).astype(jnp.int32)
    # A round looks at most this many steps ahead (positions below LIMIT).
    horizon_max = (LIMIT - 1) // jnp.maximum(n_active, 1) - 1
    slots = jnp.arange(size + n + 1, dtype=jnp.int32)  # the last: padding

    def round_(c):
        r, begin, offset, tail_i, n_tail, carry = c
        horizon = jnp.minimum(steps - begin, horizon_max)
        ev = input_events(
            jax.random.fold_in(key, r), rates_hz, dt, horizon, size, PAD, offset
        )
        done = jnp.where(ev.ok, horizon, ev.end // jnp.maximum(n_active, 1))
        # The buffer: last round's events of step `begin`, then this round's.
        from_tail = slots < n_tail
        k = jnp.clip(slots - n_tail, 0, size - 1)
        real = slots < n_tail + ev.count
        t = jnp.where(from_tail, 0, ev.t[k])
        t = jnp.where(real, begin + t, PAD)
        i = jnp.where(from_tail, tail_i[jnp.clip(slots, 0, n - 1)], ev.i[k])
        carry = consume(carry, t, i, begin, begin + done)
        used = jnp.sum(real & (t < begin + done)).astype(jnp.int32)
        left = jnp.where(ev.ok, 0, n_tail + ev.count - used)
        tail_i = jax.lax.dynamic_slice(jnp.pad(i, (0, n)), (used,), (n,))
        offset = jnp.where(ev.ok, 0, ev.end - done * n_active)
        return r + 1, begin + done, offset, tail_i, left, carry

    zero = jnp.zeros((), jnp.int32)
    first = (zero, zero, zero, jnp.zeros((n,), jnp.int32), zero, init)
    return jax.lax.while_loop(lambda c: c[1] < steps, round_, first)[-1]


def poisson_event_spikes(
    key: jax.Array, rates_hz: ArrayLike, dt: float, steps: int
) -> jax.Array:
    """``(steps, 1, n)`` float32 spikes: the input spikes an event-driven run
    with ``key`` and ``rates_hz`` ``(n,)`` (or ``(1, n)``) sees, as an
    array a dense run (:func:`jstdp.run_linear`) can replay.

    Raises:
        ValueError: bad rates, ``dt`` or ``steps``.
        TypeError: ``key`` is not a ``jax.random`` key.
    """
    rates, dt, steps = check_inputs(key, rates_hz, dt, steps)
    return _event_spikes(key, rates, dt, steps, capacity(rates.shape[0]))


@functools.partial(jax.jit, static_argnames=("steps", "size"))
def _event_spikes(key, rates, dt, steps: int, size: int) -> jax.Array:
    def consume(z, t, i, begin, end):
        return z.at[jnp.where(t < end, t, steps), i].set(1.0, mode="drop")

    zeros = jnp.zeros((steps, rates.shape[0]), jnp.float32)
    return fold_rounds(key, rates, dt, steps, consume, zeros, size)[:, None, :]


def check_inputs(
    key: Any, rates_hz: ArrayLike, dt: Any, steps: Any
) -> tuple[jax.Array, float, int]:
    """``(rates (n,), dt, steps)`` checked: one sample of finite rates with
    ``rates * dt <= 1``, ``dt > 0``, ``steps >= 0``, a key."""
    v.prng_key("key", key)
    dt = v.time_step(dt)
    steps = v.integer("steps", steps, 0)
    rates = jnp.asarray(rates_hz)
    if rates.ndim == 2 and rates.shape[0] == 1:
        rates = rates[0]
    if rates.ndim != 1:
        raise ValueError(
            f"rates_hz must be (n,) or (1, n) (one sample), got shape "
            f"{jnp.shape(rates_hz)}"
        )
    v.require(
        "rates_hz",
        {"rates_hz": rates},
        lambda r: (r >= 0) & (r * dt <= 1),
        f"be finite, >= 0 and at most 1 / dt = 1 / {dt} (one spike per step)",
    )
    return rates.astype(jnp.float32), dt, steps
