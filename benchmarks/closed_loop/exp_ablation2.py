"""Per-part cost by ablation, on the exact recipe (fry_jnp, blocks of K=1000)."""

import json
import os
import sys

from jax_loop import Cfg, measure, table

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
B = dict(impl="fry_jnp", block=1000)
cfgs = [
    Cfg("recipe (fry_jnp K=1000)", **B),
    Cfg("- poisson draw", impl="none", block=1000),
    Cfg("- drive", drive=False, **B),
    Cfg("- neuron", neuron=False, **B),
    Cfg("- trace decay", traces=False, **B),
    Cfg("- weight update", update=False, **B),
    Cfg(
        "loop + block draw only",
        drive=False,
        neuron=False,
        traces=False,
        update=False,
        **B,
    ),
    Cfg(
        "loop only (all off)",
        impl="none",
        block=1000,
        drive=False,
        neuron=False,
        traces=False,
        update=False,
    ),
]
rows = measure(cfgs, steps, rounds)
print("XLA_FLAGS=", os.environ.get("XLA_FLAGS"))
table(rows)
tag = "smallwhile" if os.environ.get("XLA_FLAGS") else "default"
json.dump(rows, open(f"ablation2_{tag}.json", "w"), indent=1)
