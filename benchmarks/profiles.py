"""Where the time goes in the workloads whose targets `run.py` reports missed.

    .venv/bin/python benchmarks/profiles.py          # writes profiles.md

Song 2000 at dt 0.1 ms: the exact loop (``run_linear`` + ``PoissonInput``)
against the same loop given its input spikes as an array (no draw), and the
draw alone (the same blocks of threefry words, summed), in one process, as
wall time per step. L-big at 1% with batch 1: XLA's own profile of one
``simulate_linear`` call (``jax.profiler``), time per kind of operation.
Both under ``jstdp.fast_cpu_loops``, as ``run.py`` and ``jstdp song2000``.
"""

from __future__ import annotations

import collections
import glob
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import jstdp  # noqa: E402

jstdp.fast_cpu_loops()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import workloads as wk  # noqa: E402

from jstdp.neurons.encoders import poisson_block, poisson_threshold  # noqa: E402


def _us_per_step(fn, steps: int, reps: int = 7) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e6 * statistics.median(times) / steps


def song(steps: int = 20_000) -> dict[str, float]:
    rates = jnp.full((1, wk.SONG_INPUTS), wk.SONG_RATE_HZ, jnp.float32)
    key = jax.random.fold_in(jax.random.key(0), 0)  # what run_linear draws from
    threshold = poisson_threshold(key, rates, wk.SONG_DT, jnp.float32)
    block = 125  # a divisor of steps; run() draws 128 at a time

    @jax.jit
    def draws(key):
        def one(total, b):
            return total + jnp.sum(
                poisson_block(key, b * block, block, threshold)
            ), None

        return jax.lax.scan(one, 0, jnp.arange(steps // block))[0]

    spikes = jax.jit(
        jax.vmap(lambda b: poisson_block(key, b * block, block, threshold))
    )(jnp.arange(steps // block)).reshape(steps, 1, wk.SONG_INPUTS)
    p = jstdp.STDPParameters(**wk.SONG_STDP)
    neuron = jstdp.ConductanceLIFParameters()
    w0 = jnp.asarray(np.random.default_rng(0).random((1, wk.SONG_INPUTS)), jnp.float32)

    def given():
        w, _, _ = jstdp.run_linear(
            spikes.astype(jnp.float32), w0, p, neuron, wk.SONG_DT
        )
        return jax.block_until_ready(w)

    return {
        "whole step (exact)": _us_per_step(wk.jstdp_song(steps), steps),
        "step with the spikes given (no draw)": _us_per_step(given, steps),
        "the draw alone": _us_per_step(
            lambda: jax.block_until_ready(draws(key)), steps
        ),
    }


def lbig(steps: int = 100) -> list[tuple[str, float, int]]:
    wl = wk.Workload("L-big", 1, (4096,), (4096,), steps)
    run = wk.jstdp_open_loop(wl, "additive", wk.make_data(wl, p=wk.SPARSE_P))
    run()
    folder = tempfile.mkdtemp()
    with jax.profiler.trace(folder):
        run()
    (trace,) = glob.glob(f"{folder}/**/*.trace.json.gz", recursive=True)
    events = json.load(gzip.open(trace))["traceEvents"]
    total, count = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("ph") == "X" and not e["name"].startswith(("$", "Thunk", "Pjit")):
            total[e["name"]] += e["dur"]
            count[e["name"]] += 1
    return [(n, total[n] / 1e3 / steps, count[n]) for n, _ in total.most_common(8)]


def main() -> None:
    s = song()
    lines = [
        "# Profiles of the targets `run.py` reports missed",
        "",
        "`benchmarks/profiles.py`, wall time, `jstdp.fast_cpu_loops` on, "
        f"load average {[round(x, 1) for x in __import__('os').getloadavg()]}.",
        "",
        "## Song 2000 at dt 0.1 ms (us per step)",
        "",
        "| part | us / step |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.2f} |" for k, v in s.items()]
    lines += [
        "",
        "The draw is the threefry hash of 1000 counters per step (20 rounds of "
        "add, rotate, xor), the bits `jax.random` gives: the floor for the exact "
        "input spikes. The rest of the step (drive, neuron, traces, update) is "
        "the difference of the first two rows.",
        "",
        "## L-big, batch 1, 1% activity (additive; ms per step, by operation)",
        "",
        "| XLA operation | ms / step | calls |",
        "|---|---|---|",
    ]
    lines += [f"| `{n}` | {ms:.3f} | {c} |" for n, ms, c in lbig()]
    lines += [
        "",
        "The event-driven update writes the rows of the ~41 postsynaptic spikes "
        "(contiguous) and the columns of the ~41 presynaptic ones: each column "
        "is 4096 entries 16 KiB apart, a cache line and a TLB miss each "
        "(`dynamic-update-slice` fusions, one per column).",
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "profiles.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
