"""64 (or C) configurations sharing one input draw: dense exact vmap vs event batched."""

import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import event_loop as ev
import jax_loop as jl

steps = int(sys.argv[1])
rounds = int(sys.argv[2])
Cs = [int(x) for x in sys.argv[3].split(",")]


def params_for(C):
    # jstdp README's grid: g_max 0.013-0.02 x A-/A+ 1.0-1.1 (config 0: g 0.013, ratio 1.0)
    ratio, g = np.meshgrid(np.linspace(1.0, 1.1, 8), np.linspace(0.013, 0.02, 8))
    g, r = g.ravel()[:C], ratio.ravel()[:C]
    return (jnp.asarray(g, jl.F32), jnp.asarray(r * jl.ETA_PLUS, jl.F32))


rows = []
for C in Cs:
    p = params_for(C)
    kw = jax.random.key(123)
    dense = jl.make_run(jl.Cfg(impl="fry_jnp", block=1000, n_cfg=C), steps)
    st_d = jax.tree.map(
        lambda x, C=C: jnp.broadcast_to(x, (C, *x.shape)), jl.init_state(kw)
    )
    evb = ev.make_run_batched(steps, 10000)
    st_e = ev.init_state_batched(kw, C)
    kd, ke = jax.random.key_data(jax.random.key(0)), jax.random.key(0)
    calls = {
        f"dense fry K=1000 vmap {C}": lambda f=dense, s=st_d, k=kd, p=p: f(s, k, p),
        f"event batched K=10000 C={C}": lambda f=evb, s=st_e, k=ke, p=p: f(s, k, p),
    }
    for f in calls.values():
        jax.block_until_ready(f())
    times = {n: [] for n in calls}
    for r in range(rounds):
        for n in list(calls)[r % len(calls) :] + list(calls)[: r % len(calls)]:
            t0 = time.perf_counter()
            o = calls[n]()
            jax.block_until_ready(o)
            times[n].append(time.perf_counter() - t0)
    names = list(calls)
    for n in names:
        ratios = [a / b for a, b in zip(times[names[0]], times[n], strict=True)]
        med = statistics.median(times[n])
        o = calls[n]()
        o = o[0] if isinstance(o, tuple) else o
        print(
            f"{n:32s} {med / steps * 1e6:8.3f} us/step ({min(times[n]) / steps * 1e6:.3f}-{max(times[n]) / steps * 1e6:.3f})"
            f" aggregate {C * steps * jl.DT / med:8.1f} sim-s/s  speedup {statistics.median(ratios):5.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
            f"  rates {np.asarray(o['count']).min() / (steps * jl.DT):.0f}-{np.asarray(o['count']).max() / (steps * jl.DT):.0f} Hz",
            flush=True,
        )
