"""Closed-loop timing (issue 16): Song's own parameters at dt 1 and 0.1 ms,
with the one-step input delay and without it (additive STDP, seeds 0-2).

    python benchmarks/song_timing.py DT DELAY SECONDS >> benchmarks/song_timing.jsonl

One JSON line per seed (the `jstdp song2000` row plus ``near`` and
``delay``), then one line with the change of the fraction near the bounds
over the last fifth of the run and the wall time.
"""

import json
import sys
import time

from jstdp import experiments

dt, delay, seconds = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
config = experiments.Song2000Config(
    seconds=seconds,
    dt=dt,
    rate_hz=10.0,
    g_max=0.015,
    a_plus=0.005,
    depression=1.05,
    tau_stdp=0.02,
    algorithms=("additive",),
    seeds=(0, 1, 2),
    delay=delay,
    chunks=50,
)
start = time.time()
result = experiments.song2000(config)
for row in result.rows:
    row["near"] = round(row["frac_near_min"] + row["frac_near_max"], 4)
    row["delay"] = delay
    print(json.dumps(row), flush=True)
near_t = result.frac_near_min_t + result.frac_near_max_t
k = config.chunks // 5
change = [round(float(x[-1] - x[-k - 1]), 4) for x in near_t]
summary = dict(dt=dt, delay=delay, seconds=seconds, near_change_last_fifth=change)
print(json.dumps(summary | {"wall_s": round(time.time() - start, 1)}))
