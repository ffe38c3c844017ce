import statistics
import time

import jax
import jax.numpy as jnp

import event_loop as ev
import jax_loop as jl

S = 200_000
p = (jnp.float32(jl.G_MAX), jnp.float32(jl.ETA_MINUS))
kw = jax.random.key(123)
vs = {
    "event K=10000": ev.make_run(S, 10000),
    "event K=20000": ev.make_run(S, 20000),
    "- event loop": ev.make_run(S, 10000, ablate="loop"),
    "- cond": ev.make_run(S, 10000, ablate="cond"),
    "- both": ev.make_run(S, 10000, ablate="loop cond"),
}
calls = {
    n: (lambda f=f: f(ev.init_state(kw), jax.random.key(0), p)) for n, f in vs.items()
}
for c in calls.values():
    jax.block_until_ready(c())
ts = {n: [] for n in calls}
names = list(calls)
for r in range(5):
    for n in names[r % len(names) :] + names[: r % len(names)]:
        t0 = time.perf_counter()
        jax.block_until_ready(calls[n]())
        ts[n].append(time.perf_counter() - t0)
for n in names:
    print(
        f"{n:20s} {statistics.median(ts[n]) / S * 1e9:7.1f} ns/step ({min(ts[n]) / S * 1e9:.1f}-{max(ts[n]) / S * 1e9:.1f})"
    )
