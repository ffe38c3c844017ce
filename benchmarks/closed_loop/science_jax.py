"""Song protocol at dt 0.1 ms in the JAX loops: dense exact vs event-driven."""

import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import event_loop as ev
import jax_loop as jl

seconds = float(sys.argv[1])
seeds = [int(x) for x in sys.argv[2].split(",")]
steps = int(round(seconds / jl.DT))
params = (jnp.asarray(jl.G_MAX, jl.F32), jnp.asarray(jl.ETA_MINUS, jl.F32))
cfg = jl.Cfg(impl="fry_jnp", block=1000)
dense = jl.make_run(cfg, steps)
event = ev.make_run(steps, 10000)
for seed in seeds:
    kw = jax.random.key(1000 + seed)
    for name in ("dense fry K=1000", "event K=10000"):
        t0 = time.perf_counter()
        if name.startswith("dense"):
            s = dense(
                jl.init_state(kw), jax.random.key_data(jax.random.key(seed)), params
            )
            ovf = False
        else:
            s, ovf = event(ev.init_state(kw), jax.random.key(seed), params)
        w = np.asarray(s["w"])
        wall = time.perf_counter() - t0
        print(
            json.dumps(
                dict(
                    model=name,
                    seed=seed,
                    seconds=seconds,
                    frac_near_0=float(np.mean(w < 0.1)),
                    frac_near_1=float(np.mean(w > 0.9)),
                    mean=float(w.mean()),
                    rate_hz=float(s["count"]) / seconds,
                    overflow=bool(ovf),
                    wall_s_incl_compile=wall,
                )
            ),
            flush=True,
        )
