"""Does the small-while flag slow the matmul/conv workloads? jstdp open loop."""

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
import numpy as np
import workloads as wk

out = {}
for wl in wk.FULL:
    if wl.name == "L-big":
        continue
    data = wk.make_data(wl)
    run = wk.jstdp_open_loop(wl, "additive", data)
    jax.block_until_ready(run())
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        w = jax.block_until_ready(run())
        ts.append(time.perf_counter() - t0)
    out[wl.name] = statistics.median(ts) / wl.steps * 1e3
    np.save(
        f"w_{wl.name}_{'flag' if os.environ.get('XLA_FLAGS') else 'default'}.npy",
        np.asarray(w),
    )
print(
    os.environ.get("XLA_FLAGS", "default")[-20:],
    json.dumps({k: round(v, 4) for k, v in out.items()}),
    "ms/step",
)
