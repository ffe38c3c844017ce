"""Drawing the inputs of K steps at once (outer scan over blocks)."""

import json
import sys

from jax_loop import Cfg, measure, table

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
cfgs = [
    Cfg("baseline (threefry uniform)"),
    Cfg("fry_jnp per step", impl="fry_jnp"),
    Cfg("threefry K=100 per-step keys", block=100),
    Cfg("fry_jnp K=100 per-step keys", impl="fry_jnp", block=100),
    Cfg("fry_jnp K=1000 per-step keys", impl="fry_jnp", block=1000),
    Cfg("threefry K=100 one key, bits", block=100, block_keys="one", draw="bits"),
    Cfg(
        "rbg K=100 one key, bits", impl="rbg", block=100, block_keys="one", draw="bits"
    ),
    Cfg(
        "unsafe_rbg K=100 one key, bits",
        impl="unsafe_rbg",
        block=100,
        block_keys="one",
        draw="bits",
    ),
    Cfg("hash32 K=100", impl="hash", block=100),
    Cfg("no RNG K=100", impl="none", block=100),
]
rows = measure(cfgs, steps, rounds)
table(rows)
json.dump(rows, open(f"block_{steps}.json", "w"), indent=1)
