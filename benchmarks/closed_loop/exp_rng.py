"""RNG implementations and draws, per-step draw inside the scan."""

import json
import sys

from jax_loop import Cfg, measure, table

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
cfgs = [
    Cfg("baseline (threefry uniform)"),
    Cfg("threefry bits<thr", draw="bits"),
    Cfg("threefry jnp unrolled bits<thr", impl="fry_jnp"),
    Cfg("rbg uniform", impl="rbg"),
    Cfg("rbg bits<thr", impl="rbg", draw="bits"),
    Cfg("unsafe_rbg uniform", impl="unsafe_rbg"),
    Cfg("unsafe_rbg bits<thr", impl="unsafe_rbg", draw="bits"),
    Cfg("hash32 (lowbias32) bits<thr", impl="hash"),
    Cfg("no RNG (1 spike/step)", impl="none"),
]
rows = measure(cfgs, steps, rounds)
table(rows)
json.dump(rows, open(f"rng_{steps}.json", "w"), indent=1)
