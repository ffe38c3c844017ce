"""Which small-while threshold speeds the Song loop without slowing L-mid/C-mnist?"""

import json
import os
import statistics
import sys
import time

ROOT = os.environ.get(
    "JSTDP_ROOT", str(__import__("pathlib").Path(__file__).resolve().parents[2])
)
sys.path.insert(0, ROOT)
sys.path.insert(0, ROOT + "/benchmarks")
import jax
import jax.numpy as jnp
import workloads as wk

import event_loop as ev
import jax_loop as jl

res = {}


def timeit(name, f, steps, n=3):
    jax.block_until_ready(f())
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        jax.block_until_ready(f())
        ts.append(time.perf_counter() - t0)
    res[name] = round(statistics.median(ts) / steps * 1e6, 3)


S = 100_000
p = (jnp.float32(jl.G_MAX), jnp.float32(jl.ETA_MINUS))
kw = jax.random.key(123)
timeit("song jstdp run_linear", wk.jstdp_song(S), S)
ex = jl.make_run(jl.Cfg(impl="fry_jnp", block=1000), S)
timeit(
    "song exact recipe",
    lambda: ex(jl.init_state(kw), jl.key_for(jl.Cfg(impl="fry_jnp")), p),
    S,
)
e = ev.make_run(S, 10000)
timeit("song event", lambda: e(ev.init_state(kw), jax.random.key(0), p), S)
for wl in wk.FULL:
    if wl.name in ("L-mid", "C-mnist", "L-small"):
        data = wk.make_data(wl)
        timeit(wl.name, wk.jstdp_open_loop(wl, "additive", data), wl.steps)
print(os.environ.get("XLA_FLAGS", "default").split("=")[-1], json.dumps(res), "us/step")
