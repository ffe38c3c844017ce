"""Event-driven loop vs the dense loops, interleaved in one process."""

import statistics
import sys
import time

import jax
import jax.numpy as jnp

import event_loop as ev
import jax_loop as jl

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
params = (jnp.asarray(jl.G_MAX, jl.F32), jnp.asarray(jl.ETA_MINUS, jl.F32))


def prep(name, fn, state, key):
    t0 = time.perf_counter()
    o = fn(state, key, params)
    jax.block_until_ready(o)
    comp = time.perf_counter() - t0

    def call():
        t0 = time.perf_counter()
        o = fn(state, key, params)
        jax.block_until_ready(o)
        return time.perf_counter() - t0, o

    return name, call, comp


variants = [
    prep(
        "dense baseline (threefry uniform)",
        jl.make_run(jl.Cfg(), steps),
        jl.init_state(jax.random.key(123)),
        jl.key_for(jl.Cfg()),
    ),
    prep(
        "dense fry_jnp K=1000 (exact)",
        jl.make_run(jl.Cfg(impl="fry_jnp", block=1000), steps),
        jl.init_state(jax.random.key(123)),
        jl.key_for(jl.Cfg(impl="fry_jnp")),
    ),
    prep(
        "event-driven K=1000",
        ev.make_run(steps, 1000),
        ev.init_state(jax.random.key(123)),
        jax.random.key(0),
    ),
    prep(
        "event-driven K=10000",
        ev.make_run(steps, 10000),
        ev.init_state(jax.random.key(123)),
        jax.random.key(0),
    ),
]
times = {n: [] for n, _, _ in variants}
outs = {}
for r in range(rounds):
    order = variants[r % len(variants) :] + variants[: r % len(variants)]
    for n, call, _ in order:
        dt_, o = call()
        times[n].append(dt_)
        outs[n] = o
base = variants[0][0]
for n, _, comp in variants:
    o = outs[n]
    if isinstance(o, tuple):
        o, ovf = o
        extra = f" overflow={bool(ovf)}"
    else:
        extra = ""
    ratios = [a / b for a, b in zip(times[base], times[n], strict=True)]
    med = statistics.median(times[n])
    print(
        f"{n:36s} {med / steps * 1e6:7.3f} us/step ({min(times[n]) / steps * 1e6:.3f}-{max(times[n]) / steps * 1e6:.3f}) "
        f"{steps * jl.DT / med:7.1f} sim-s/s  speedup {statistics.median(ratios):6.2f} ({min(ratios):.2f}-{max(ratios):.2f}) "
        f"rate {float(o['count']) / (steps * jl.DT):5.1f} Hz mean_w {float(jnp.mean(o['w'])):.4f} compile {comp:.1f}s{extra}"
    )
