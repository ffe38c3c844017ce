"""jstdp now against jstdp at an older commit, workload by workload.

    .venv/bin/python benchmarks/regression.py                  # against 3abdf7f
    .venv/bin/python benchmarks/regression.py --ref dc28788 --only L-mid

The older code is exported with ``git archive`` into a temporary folder and
timed in fresh processes, alternating with this checkout's code (also in
fresh processes, so both pay the same start-up and run under the same XLA
option): per workload and rule, ``--rounds`` rounds of (old, new), each a
process that compiles once and times ``--reps`` runs. The workloads and the
spikes are ``workloads.py``'s (5% spiking, the same seed), timed as
``run.py`` times them: one ``simulate_*`` call over ``T`` steps, and the
Song 2000 closed loop. Writes ``regression.md`` beside this file (``--out``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

PROBE = """
import json, sys, time
sys.path[:0] = [{code!r}, {here!r}]
import jstdp
jstdp_fast = getattr(jstdp, "fast_cpu_loops", None)
if jstdp_fast is not None:
    jstdp_fast()
else:  # older code: the same XLA option, set by hand before any computation
    import os
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_backend_extra_options="
        "xla_cpu_small_while_loop_byte_threshold=1048576"
    )
import workloads as wk
name, algorithm = {name!r}, {algorithm!r}
if name == "Song2000":
    steps = 20_000
    run = wk.jstdp_song(steps)
else:
    (wl,) = [w for w in wk.FULL if w.name == name]
    steps = wl.steps
    run = wk.jstdp_open_loop(wl, algorithm, wk.make_data(wl))
run()
times = []
for _ in range({reps}):
    t0 = time.perf_counter(); run(); times.append(time.perf_counter() - t0)
print(json.dumps([1e3 * t / steps for t in times]))
"""

WORKLOADS = ["L-small", "L-mid", "L-big", "C-mnist", "C-deep", "Song2000"]


def export(ref: str) -> Path:
    target = Path(tempfile.gettempdir()) / f"jstdp-{ref}"
    if not (target / "jstdp").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(HERE.parent), "archive", ref, "jstdp"],
            capture_output=True,
            check=True,
        )
        subprocess.run(
            ["tar", "-x", "-C", str(target)], input=archive.stdout, check=True
        )
    return target


def probe(code: Path, name: str, algorithm: str, reps: int) -> list[float]:
    src = PROBE.format(
        code=str(code), here=str(HERE), name=name, algorithm=algorithm, reps=reps
    )
    done = subprocess.run(
        [sys.executable, "-c", src], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="3abdf7f", help="the older commit")
    ap.add_argument("--only", default="", help="comma-separated workloads")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", type=Path, default=HERE / "regression.md")
    args = ap.parse_args()
    old, new = export(args.ref), HERE.parent
    names = [n for n in WORKLOADS if not args.only or n in args.only.split(",")]
    rows = []
    for name in names:
        rules = (
            ("additive",) if name == "Song2000" else ("additive", "multiplicative_pow")
        )
        for algorithm in rules:
            times = {"old": [], "new": []}
            for r in range(args.rounds):
                order = ("old", "new") if r % 2 == 0 else ("new", "old")
                for side in order:
                    code = old if side == "old" else new
                    times[side] += probe(code, name, algorithm, args.reps)
            o, n = (statistics.median(times[k]) for k in ("old", "new"))
            rows.append((name, algorithm, o, n, o / n))
            print(
                f"{name:9s} {algorithm:19s} old {o:.4g} ms  new {n:.4g} ms  "
                f"old/new {o / n:.2f}",
                flush=True,
            )
    lines = [
        f"# jstdp now against {args.ref} (before the network architecture)",
        "",
        "`benchmarks/regression.py`: ms per step, median over "
        f"{args.rounds} rounds x {args.reps} runs, each side in fresh processes "
        "alternating (same machine, same run, same XLA option).",
        "",
        "| workload | rule | before (ms) | now (ms) | before / now |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {o:.4g} | {n:.4g} | {r:.2f} |" for a, b, o, n, r in rows]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
