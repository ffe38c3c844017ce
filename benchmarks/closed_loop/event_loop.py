"""Event-driven closed loop: Song 2000 at dt 0.1 ms, same model as jax_loop.py.

Differences from the dense loop (statistically equivalent, not identical):

- Inputs: the Bernoulli(p) cells (step, input), flattened as m = t * N + j,
  are generated as a renewal process with Geometric(p) gaps (the gaps of an
  i.i.d. Bernoulli sequence), M per block of K steps, from real threefry
  uniforms: ~1.3 draws per step instead of 1000.
- Presynaptic traces are lazy: each input keeps its trace value and the step
  it was last updated; the value at step t is tp * (1 - c)**(t - t_last)
  (the same Euler recurrence, evaluated with exp/log instead of repeated
  multiplication: rounding differs).
- Per step: neuron (scalars), post trace (scalar), then only the inputs that
  spiked this step (a fori_loop over this step's events): trace update,
  drive (w before the update), depression. On a post spike (lax.cond), the
  dense potentiation over all weights, as the dense loop.

Tried and slower (not kept): updating w inside the event loop with a 0/1-trip
fori_loop instead of lax.cond (0.77 vs 0.23 us/step), the same for 64
configurations (24-27 vs 11-18 us/step), and one (N, 3) array [w, tp, t_last]
(0.37 vs 0.26 us/step). The compiled HLO copies a 4 KB array per event (t_last,
read by one fusion and updated by another) and w once per step (the lax.cond
output): what is left of the per-step cost.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jax_loop import (
    DT,
    E_E,
    E_L,
    ETA_PLUS,
    F32,
    RATE,
    TAU_E_INV,
    TAU_INV,
    TAU_M_INV,
    V_RESET,
    V_TH,
    N,
)

P = np.float32(RATE * DT)
C = np.float32(DT * TAU_INV)  # trace jump, and 1 - decay per step
LOG_DECAY = np.float32(math.log1p(-float(C)))
LOG_1MP = np.float32(math.log1p(-float(P)))


def block_events(key, b, next_rel, K):
    """Events of block b: (input index, step in block) sorted by step.

    next_rel: position (in cells, relative to the block start) of the first
    event not yet consumed. Returns j[M], start[K+1] (event range per step),
    the new next_rel, and an overflow flag (all M events inside the block).
    """
    M = int(K * N * float(P) + 8 * math.sqrt(K * N * float(P)) + 32)
    u = jax.random.uniform(
        jax.random.fold_in(key, b), (M,), F32, minval=0.0, maxval=1.0
    )
    u = 1.0 - u  # (0, 1]
    gaps = jnp.floor(jnp.log(u) / LOG_1MP).astype(jnp.int32) + 1  # Geometric(p) >= 1
    # lax.cumsum lowers to a reduce-window tree on CPU (slow); a sequential
    # scan is a plain loop
    csum = lax.scan(lambda c, g: (c + g, c), jnp.int32(0), gaps)[1]  # exclusive
    pos = next_rel + csum
    end = K * N
    inside = pos < end
    n_in = jnp.sum(inside.astype(jnp.int32))
    overflow = n_in >= M
    # the first event at or after the block end is the next block's first
    nxt = jnp.where(overflow, pos[-1] + gaps[-1], pos[jnp.minimum(n_in, M - 1)]) - end
    step = jnp.where(inside, pos // N, K)
    j = pos % N
    counts = jnp.zeros((K + 1,), jnp.int32).at[step].add(1)
    start = lax.scan(lambda c, n: (c + n, c), jnp.int32(0), counts)[1]  # exclusive
    return j, start, nxt, overflow


def init_state(key_w):
    w = jax.random.uniform(key_w, (N,), F32)
    z = jnp.zeros((), F32)
    return dict(
        w=w,
        tp=jnp.zeros((N,), F32),
        t_last=jnp.zeros((N,), jnp.int32),
        t_post=z,
        v=jnp.full((), E_L, F32),
        g=z,
        drive=z,
        count=jnp.zeros((), jnp.int32),
    )


def step(s, t, j_ev, lo, hi, params, ablate=""):
    g_max, eta_minus = params
    if "loop" in ablate:
        hi = lo
    g1 = s["g"] + g_max * s["drive"]
    v1 = s["v"] + DT * TAU_M_INV * ((E_L - s["v"]) + g1 * (E_E - s["v"]))
    g2 = g1 + -DT * TAU_E_INV * g1
    zp = (v1 > V_TH).astype(F32)
    v2 = (1 - zp) * v1 + zp * V_RESET
    t_post = s["t_post"] + C * (-s["t_post"] + zp)

    def pre(k, c):
        tp, t_last, drive = c
        jj = j_ev[k]
        decayed = tp[jj] * jnp.exp((t - 1 - t_last[jj]).astype(F32) * LOG_DECAY)
        new = decayed + C * (-decayed + 1.0)
        return tp.at[jj].set(new), t_last.at[jj].set(t), drive + s["w"][jj]

    tp, t_last, drive = lax.fori_loop(
        lo, hi, pre, (s["tp"], s["t_last"], jnp.zeros((), F32))
    )

    def with_post(w):
        t_pre = tp * jnp.exp((t - t_last).astype(F32) * LOG_DECAY)
        z = lax.fori_loop(
            lo, hi, lambda k, z: z.at[j_ev[k]].set(1.0), jnp.zeros((N,), F32)
        )
        return jnp.clip(w + (ETA_PLUS * 1.0 * t_pre - eta_minus * t_post * z), 0.0, 1.0)

    def without_post(w):
        def dep(k, w):
            jj = j_ev[k]
            return w.at[jj].set(jnp.clip(w[jj] - eta_minus * t_post, 0.0, 1.0))

        return lax.fori_loop(lo, hi, dep, w)

    if "cond" in ablate:
        w = without_post(s["w"])
    else:
        w = lax.cond(zp > 0, with_post, without_post, s["w"])
    count = s["count"] + (zp > 0).astype(jnp.int32)
    return dict(
        w=w, tp=tp, t_last=t_last, t_post=t_post, v=v2, g=g2, drive=drive, count=count
    )


def make_run(steps: int, K: int = 1000, ablate: str = ""):
    """jitted (state, key, params) -> (final state, overflow flag).

    ``ablate``: "loop" (drop the event loop), "cond" (drop the post-spike
    branch), or both, for the per-part costs."""
    assert steps % K == 0
    pstep = functools.partial(step, ablate=ablate)

    def run(state, key, params):
        def outer(c, _):
            s, b, nxt, ovf = c
            j_ev, start, nxt, o = block_events(key, b, nxt, K)

            def inner(c2, x):
                s, t = c2
                lo, hi = x
                return (pstep(s, t, j_ev, lo, hi, params), t + 1), None

            (s, _), _ = lax.scan(inner, (s, b * K), (start[:-1], start[1:]))
            return (s, b + 1, nxt, ovf | o), None

        first = jnp.floor(
            jnp.log(
                1.0 - jax.random.uniform(jax.random.fold_in(key, 2**31 - 1), (), F32)
            )
            / LOG_1MP
        ).astype(jnp.int32)
        (s, _, _, ovf), _ = lax.scan(
            outer, (state, jnp.int32(0), first, False), None, steps // K
        )
        return s, ovf

    return jax.jit(run)


def init_state_batched(key_w, n_cfg):
    w = jnp.broadcast_to(jax.random.uniform(key_w, (N,), F32), (n_cfg, N))
    z = jnp.zeros((n_cfg,), F32)
    return dict(
        w=w,
        tp=jnp.zeros((N,), F32),
        t_last=jnp.zeros((N,), jnp.int32),
        t_post=z,
        v=jnp.full((n_cfg,), E_L, F32),
        g=z,
        drive=z,
        count=jnp.zeros((n_cfg,), jnp.int32),
    )


def step_batched(s, t, j_ev, lo, hi, params):
    """C configurations sharing one input draw: the presynaptic traces (which
    depend on the inputs only) are shared; w (C, N) and the neurons are not."""
    g_max, eta_minus = params  # (C,)
    g1 = s["g"] + g_max * s["drive"]
    v1 = s["v"] + DT * TAU_M_INV * ((E_L - s["v"]) + g1 * (E_E - s["v"]))
    g2 = g1 + -DT * TAU_E_INV * g1
    zp = (v1 > V_TH).astype(F32)
    v2 = (1 - zp) * v1 + zp * V_RESET
    t_post = s["t_post"] + C * (-s["t_post"] + zp)

    def pre(k, c):
        tp, t_last, drive = c
        jj = j_ev[k]
        decayed = tp[jj] * jnp.exp((t - 1 - t_last[jj]).astype(F32) * LOG_DECAY)
        new = decayed + C * (-decayed + 1.0)
        return tp.at[jj].set(new), t_last.at[jj].set(t), drive + s["w"][:, jj]

    tp, t_last, drive = lax.fori_loop(
        lo, hi, pre, (s["tp"], s["t_last"], jnp.zeros_like(s["drive"]))
    )

    def with_post(w):
        t_pre = tp * jnp.exp((t - t_last).astype(F32) * LOG_DECAY)
        z = lax.fori_loop(
            lo, hi, lambda k, z: z.at[j_ev[k]].set(1.0), jnp.zeros((N,), F32)
        )
        return jnp.clip(
            w
            + (
                ETA_PLUS * zp[:, None] * t_pre[None, :]
                - eta_minus[:, None] * t_post[:, None] * z[None, :]
            ),
            0.0,
            1.0,
        )

    def without_post(w):
        def dep(k, w):
            jj = j_ev[k]
            return w.at[:, jj].set(jnp.clip(w[:, jj] - eta_minus * t_post, 0.0, 1.0))

        return lax.fori_loop(lo, hi, dep, w)

    w = lax.cond(jnp.any(zp > 0), with_post, without_post, s["w"])
    count = s["count"] + (zp > 0).astype(jnp.int32)
    return dict(
        w=w, tp=tp, t_last=t_last, t_post=t_post, v=v2, g=g2, drive=drive, count=count
    )


def make_run_batched(steps: int, K: int = 10000):
    assert steps % K == 0
    step_fn = step_batched

    def run(state, key, params):
        def outer(c, _):
            s, b, nxt, ovf = c
            j_ev, start, nxt, o = block_events(key, b, nxt, K)

            def inner(c2, x):
                s, t = c2
                lo, hi = x
                return (step_fn(s, t, j_ev, lo, hi, params), t + 1), None

            (s, _), _ = lax.scan(inner, (s, b * K), (start[:-1], start[1:]))
            return (s, b + 1, nxt, ovf | o), None

        first = jnp.floor(
            jnp.log(
                1.0 - jax.random.uniform(jax.random.fold_in(key, 2**31 - 1), (), F32)
            )
            / LOG_1MP
        ).astype(jnp.int32)
        (s, _, _, ovf), _ = lax.scan(
            outer, (state, jnp.int32(0), first, False), None, steps // K
        )
        return s, ovf

    return jax.jit(run)
