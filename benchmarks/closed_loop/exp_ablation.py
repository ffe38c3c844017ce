"""Per-part cost by ablation: each variant drops one part of the step."""

import json
import sys

from jax_loop import Cfg, measure, table

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
cfgs = [
    Cfg("baseline (threefry uniform)"),
    Cfg("- poisson draw", impl="none"),
    Cfg("- drive", drive=False),
    Cfg("- neuron", neuron=False),
    Cfg("- trace decay", traces=False),
    Cfg("- weight update", update=False),
    Cfg(
        "loop only (all off)",
        impl="none",
        drive=False,
        neuron=False,
        traces=False,
        update=False,
    ),
]
rows = measure(cfgs, steps, rounds)
table(rows)
json.dump(rows, open(f"ablation_{steps}.json", "w"), indent=1)
