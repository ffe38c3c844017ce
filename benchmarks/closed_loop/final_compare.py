"""Side by side, one process: jstdp run_linear, Norse loop, the JAX recipes.
Sim-s per wall-s at dt 0.1 ms, median (min-max) over interleaved reps."""

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
import torch

torch.set_num_threads(2)
import workloads as wk

import event_loop as ev
import jax_loop as jl

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
tag = sys.argv[2] if len(sys.argv) > 2 else "default"
S = 100_000
params = (jnp.asarray(jl.G_MAX, jl.F32), jnp.asarray(jl.ETA_MINUS, jl.F32))


def jaxrun(fn, *a):
    return lambda: jax.block_until_ready(fn(*a))


kw = jax.random.key(123)
dense0 = jl.make_run(jl.Cfg(), S)
exact = jl.make_run(jl.Cfg(impl="fry_jnp", block=1000), S)
event = ev.make_run(S, 10000)
norse_steps = 5000
variants = {
    "jstdp run_linear (current)": (wk.jstdp_song(S), S),
    "Norse 1.1.0 loop": (wk.norse_song(norse_steps), norse_steps),
    "JAX dense baseline (threefry uniform)": (
        jaxrun(dense0, jl.init_state(kw), jl.key_for(jl.Cfg()), params),
        S,
    ),
    "JAX exact recipe (fry_jnp, K=1000 blocks)": (
        jaxrun(exact, jl.init_state(kw), jl.key_for(jl.Cfg(impl="fry_jnp")), params),
        S,
    ),
    "JAX event-driven (K=10000)": (
        jaxrun(event, ev.init_state(kw), jax.random.key(0), params),
        S,
    ),
}
for f, _ in variants.values():
    f()
times = {n: [] for n in variants}
names = list(variants)
for r in range(reps):
    for n in names[r % len(names) :] + names[: r % len(names)]:
        f, steps = variants[n]
        t0 = time.perf_counter()
        f()
        times[n].append(time.perf_counter() - t0)
for n in names:
    steps = variants[n][1]
    rates = [steps * jl.DT / t for t in times[n]]
    row = dict(
        tag=tag,
        xla_flags=os.environ.get("XLA_FLAGS", ""),
        name=n,
        steps=steps,
        reps=reps,
        sim_s_per_wall_s=statistics.median(rates),
        min=min(rates),
        max=max(rates),
        us_per_step=statistics.median(times[n]) / steps * 1e6,
        load=os.getloadavg()[0],
    )
    print(json.dumps(row), flush=True)
