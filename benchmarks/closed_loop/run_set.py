"""Run a named set of variants (for XLA-flag comparisons across processes)."""

import json
import os
import sys

from jax_loop import Cfg, measure, table

SETS = {
    "core": [
        Cfg("baseline (threefry uniform)"),
        Cfg("fry_jnp K=1000", impl="fry_jnp", block=1000),
        Cfg("hash32 K=1000", impl="hash", block=1000),
        Cfg("no RNG K=1000", impl="none", block=1000),
    ],
    "unroll": [
        Cfg("fry_jnp K=1000", impl="fry_jnp", block=1000),
        Cfg("fry_jnp K=1000 unroll 2", impl="fry_jnp", block=1000, unroll=2),
        Cfg("fry_jnp K=1000 unroll 4", impl="fry_jnp", block=1000, unroll=4),
        Cfg("fry_jnp K=1000 unroll 10", impl="fry_jnp", block=1000, unroll=10),
        Cfg("baseline unroll 4", unroll=4),
        Cfg(
            "fry_jnp K=1000 skip_pot (cond)", impl="fry_jnp", block=1000, skip_pot=True
        ),
        Cfg("fry_jnp K=100", impl="fry_jnp", block=100),
        Cfg("fry_jnp K=10000", impl="fry_jnp", block=10000),
    ],
    "vmap": [
        Cfg("fry_jnp K=1000", impl="fry_jnp", block=1000),
        Cfg("fry_jnp K=1000 vmap 8", impl="fry_jnp", block=1000, n_cfg=8),
        Cfg("fry_jnp K=1000 vmap 64", impl="fry_jnp", block=1000, n_cfg=64),
        Cfg("hash K=1000", impl="hash", block=1000),
        Cfg("hash K=1000 vmap 8", impl="hash", block=1000, n_cfg=8),
        Cfg("hash K=1000 vmap 64", impl="hash", block=1000, n_cfg=64),
    ],
}
name, steps, rounds, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = measure(SETS[name], steps, rounds, save=f"state_{name}_{tag}.npz")
print("XLA_FLAGS=", os.environ.get("XLA_FLAGS"))
table(rows)
for r in rows:
    r["xla_flags"] = os.environ.get("XLA_FLAGS", "")
    r["tag"] = tag
with open(f"sets_{name}.jsonl", "a") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
