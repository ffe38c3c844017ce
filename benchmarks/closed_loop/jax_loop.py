"""Microbenchmarks of a JAX closed loop on CPU: Song 2000 at dt 0.1 ms.

One conductance-LIF neuron, 1000 Poisson inputs at 10 Hz, Norse-style additive
STDP (w: (1000,), traces Euler as Norse), inputs act on the neuron from the
NEXT step (issue 16): drive_t = z_t . w_t is added to g at step t + 1.
10^5 steps under one jitted lax.scan.

Each variant is a frozen `Cfg`; `run(cfg)` returns a jitted function of
(key, steps). Variants are timed interleaved in one process (round-robin, the
order rotating between rounds); ratios are per round against the baseline,
then median and min-max over rounds.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import fry

N, RATE = 1000, 10.0
DT = float(os.environ.get("JL_DT", "1e-4"))  # dt 1e-3 for the main job's protocol
TAU_M_INV, TAU_E_INV = 100.0, 200.0
E_L, E_E, V_TH, V_RESET, G_MAX = -74.0, 0.0, -54.0, -60.0, 0.015
TAU_INV = 50.0
# A+ = eta_plus * dt * tau_inv = 0.005 per pair (eta 1.0 at dt 0.1 ms, 0.1 at 1 ms)
ETA_PLUS = 0.005 / (DT * TAU_INV)
ETA_MINUS = float(os.environ.get("JL_DEPRESSION", "1.05")) * ETA_PLUS
F32 = jnp.float32


@dataclasses.dataclass(frozen=True)
class Cfg:
    name: str = "baseline"
    impl: str = "threefry2x32"  # | rbg | unsafe_rbg | hash | none
    draw: str = "uniform"  # | bits (integer threshold, same spikes as uniform)
    block: int = 0  # 0: draw inside the step; K: outer scan over blocks of K
    block_keys: str = "per_step"  # per_step: fold_in(key, t) per row (exact) | one
    unroll: int = 1
    n_cfg: int = 0  # 0: no vmap; C: C configurations sharing one input draw
    drive: bool = True
    neuron: bool = True
    traces: bool = True
    update: bool = True
    skip_pot: bool = False  # lax.cond: potentiation only on a post spike
    barrier: bool = False  # optimization_barrier on the drawn spikes: computed once


THRESH_U = np.float32(RATE * DT)
# u = (bits >> 9) * 2**-23, so u < p  <=>  (bits >> 9) < ceil(p * 2**23)
# <=> bits < ceil(p * 2**23) << 9: the same spikes as jax.random.uniform.
THRESH_BITS = np.uint32(int(np.ceil(np.float64(THRESH_U) * 2.0**23)) << 9)


def _hash32(x):
    """lowbias32 (Wellons): a cheap counter-based integer hash."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def draw_step(cfg: Cfg, key, t):
    """Input spikes of step t, bool (N,)."""
    if cfg.impl == "none":  # one deterministic spike per step: no RNG cost
        return jnp.arange(N, dtype=jnp.int32) == (t * 7) % N
    if cfg.impl == "fry_jnp":  # same bits as threefry fold_in + bits, unrolled
        return fry.bits(fry.fold_in(key, t), N) < THRESH_BITS
    if cfg.impl == "hash":
        ctr = t.astype(jnp.uint32) * jnp.uint32(N) + jnp.arange(N, dtype=jnp.uint32)
        bits = _hash32(ctr ^ key)
        return bits < THRESH_BITS
    k = jax.random.fold_in(key, t)
    if cfg.draw == "bits":
        return jax.random.bits(k, (N,), jnp.uint32) < THRESH_BITS
    return jax.random.uniform(k, (N,), F32) < THRESH_U


def draw_block(cfg: Cfg, key, b):
    """Input spikes of steps b*K .. b*K+K-1, bool (K, N)."""
    K = cfg.block
    ts = b * K + jnp.arange(K, dtype=jnp.int32)
    if cfg.block_keys == "per_step" or cfg.impl in ("none", "hash", "fry_jnp"):
        return jax.vmap(lambda t: draw_step(cfg, key, t))(ts)
    k = jax.random.fold_in(key, b)
    if cfg.draw == "bits":
        return jax.random.bits(k, (K, N), jnp.uint32) < THRESH_BITS
    return jax.random.uniform(k, (K, N), F32) < THRESH_U


def init_state(key_w):
    w = jax.random.uniform(key_w, (N,), F32)
    z = jnp.zeros((), F32)
    return dict(
        w=w,
        t_pre=jnp.zeros((N,), F32),
        t_post=z,
        v=jnp.full((), E_L, F32),
        g=z,
        drive=z,
        count=jnp.zeros((), jnp.int32),
    )


def plastic_step(cfg: Cfg, s, z, params, t):
    """Neuron + STDP for one step, given this step's input spikes z (bool (N,))."""
    g_max, eta_minus = params
    zf = z.astype(F32)
    if cfg.neuron:
        g1 = s["g"] + g_max * s["drive"]  # last step's inputs (one-step delay)
        v1 = s["v"] + DT * TAU_M_INV * ((E_L - s["v"]) + g1 * (E_E - s["v"]))
        g2 = g1 + -DT * TAU_E_INV * g1
        zp = (v1 > V_TH).astype(F32)
        v2 = (1 - zp) * v1 + zp * V_RESET
    else:
        g2, v2 = s["g"], s["v"]
        zp = ((t % 500) == 0).astype(F32)
    drive = jnp.dot(zf, s["w"]) if cfg.drive else s["drive"]
    if cfg.traces:
        t_pre = s["t_pre"] + DT * TAU_INV * (-s["t_pre"] + zf)
        t_post = s["t_post"] + DT * TAU_INV * (-s["t_post"] + zp)
    else:
        t_pre, t_post = s["t_pre"], s["t_post"]
    w = s["w"]
    if cfg.update:
        if cfg.skip_pot:
            # Without a post spike, eta_+ * 0 * t_pre = 0 exactly, so the
            # potentiation pass can be skipped; depression stays dense.
            w = lax.cond(
                zp > 0,
                lambda w: jnp.clip(
                    w + (ETA_PLUS * zp * t_pre - eta_minus * t_post * zf), 0, 1
                ),
                lambda w: jnp.clip(
                    w + (ETA_PLUS * 0.0 * t_pre - eta_minus * t_post * zf), 0, 1
                ),
                w,
            )
        else:
            w = jnp.clip(
                w + (ETA_PLUS * zp * t_pre - eta_minus * t_post * zf), 0.0, 1.0
            )
    count = s["count"] + (zp > 0).astype(jnp.int32)
    return dict(w=w, t_pre=t_pre, t_post=t_post, v=v2, g=g2, drive=drive, count=count)


def make_run(cfg: Cfg, steps: int):
    """jitted (state, key, params) -> final state after `steps` steps."""
    if cfg.n_cfg:
        pstep = jax.vmap(
            functools.partial(plastic_step, cfg), in_axes=(0, None, 0, None)
        )
    else:
        pstep = functools.partial(plastic_step, cfg)

    def run(state, key, params):
        if cfg.block == 0:

            def body(c, _):
                s, t = c
                z = draw_step(cfg, key, t)
                if cfg.barrier:
                    z = lax.optimization_barrier(z)
                return (pstep(s, z, params, t), t + 1), None

            (s, _), _ = lax.scan(
                body, (state, jnp.int32(0)), None, steps, unroll=cfg.unroll
            )
            return s
        K = cfg.block
        assert steps % K == 0

        def outer(c, _):
            s, b = c
            zb = draw_block(cfg, key, b)
            if cfg.barrier:
                zb = lax.optimization_barrier(zb)

            def inner(c2, z):
                s, t = c2
                return (pstep(s, z, params, t), t + 1), None

            (s, _), _ = lax.scan(inner, (s, b * K), zb, unroll=cfg.unroll)
            return (s, b + 1), None

        (s, _), _ = lax.scan(outer, (state, jnp.int32(0)), None, steps // K)
        return s

    return jax.jit(run)


def key_for(cfg: Cfg, seed: int = 0):
    if cfg.impl in ("threefry2x32", "rbg", "unsafe_rbg"):
        return jax.random.key(seed, impl=cfg.impl)
    if cfg.impl == "fry_jnp":
        return jax.random.key_data(jax.random.key(seed))
    return jnp.uint32(0x9E3779B9 * (seed + 1) & 0xFFFFFFFF)


def setup(cfg: Cfg, steps: int):
    fn = make_run(cfg, steps)
    state = init_state(jax.random.key(123))
    key = key_for(cfg)
    C = cfg.n_cfg
    if C:
        state = jax.tree.map(lambda x: jnp.broadcast_to(x, (C, *x.shape)), state)
        params = (
            jnp.linspace(G_MAX, 0.02, C, dtype=F32),  # config 0 = the baseline's
            jnp.full((C,), ETA_MINUS, F32),
        )
    else:
        params = (jnp.asarray(G_MAX, F32), jnp.asarray(ETA_MINUS, F32))
    t0 = time.perf_counter()
    out = fn(state, key, params)
    jax.block_until_ready(out)
    compile_s = time.perf_counter() - t0

    def call():
        t0 = time.perf_counter()
        o = fn(state, key, params)
        jax.block_until_ready(o)
        return time.perf_counter() - t0, o

    return call, compile_s


def first(o):
    """Config 0 of a vmapped result, else the result."""
    return jax.tree.map(
        lambda x: np.asarray(x[0] if x.ndim and x.shape[0] != N else x), o
    )


def measure(
    cfgs: list[Cfg], steps: int, rounds: int, save: str | None = None
) -> list[dict]:
    calls, comp = {}, {}
    for c in cfgs:
        calls[c.name], comp[c.name] = setup(c, steps)
    times = {c.name: [] for c in cfgs}
    outs = {}
    for r in range(rounds):
        order = cfgs[r % len(cfgs) :] + cfgs[: r % len(cfgs)]
        for c in order:
            dt_, o = calls[c.name]()
            times[c.name].append(dt_)
            outs[c.name] = o
    base = cfgs[0].name
    b0 = first(outs[base])
    if save:
        np.savez(
            save,
            **{
                f"{c.name}|{k}": v for c in cfgs for k, v in first(outs[c.name]).items()
            },
        )
    rows = []
    for c in cfgs:
        o = first(outs[c.name])
        n = max(c.n_cfg, 1)
        ratios = [tb / tc for tb, tc in zip(times[base], times[c.name], strict=True)]
        same = all(np.array_equal(o[k], b0[k]) for k in b0)
        rows.append(
            dict(
                name=c.name,
                us_per_step=statistics.median(times[c.name]) / steps * 1e6,
                us_min=min(times[c.name]) / steps * 1e6,
                us_max=max(times[c.name]) / steps * 1e6,
                sim_s_per_wall_s=n * steps * DT / statistics.median(times[c.name]),
                speedup_med=statistics.median(ratios),
                speedup_min=min(ratios),
                speedup_max=max(ratios),
                identical=bool(same),
                rate_hz=float(o["count"]) / (steps * DT),
                mean_w=float(np.mean(o["w"])),
                compile_s=comp[c.name],
            )
        )
    return rows


def table(rows):
    print(
        f"{'variant':34s} {'us/step':>8s} {'(min-max)':>15s} {'sim-s/s':>8s} "
        f"{'speedup':>8s} {'(min-max)':>13s} {'same':>5s} {'rate':>6s} {'mean_w':>7s}"
    )
    for r in rows:
        print(
            f"{r['name']:34s} {r['us_per_step']:8.3f} ({r['us_min']:6.3f}-{r['us_max']:6.3f}) "
            f"{r['sim_s_per_wall_s']:8.1f} {r['speedup_med']:8.2f} "
            f"({r['speedup_min']:5.2f}-{r['speedup_max']:5.2f}) {str(r['identical']):>5s} "
            f"{r['rate_hz']:6.1f} {r['mean_w']:7.4f}"
        )
    sys.stdout.flush()
