"""Where the time goes in the workloads whose targets `run.py` reports missed.

    .venv/bin/python benchmarks/profiles.py          # writes profiles.md

Song 2000 at dt 0.1 ms: the exact loop (``run_linear`` + ``PoissonInput``)
against the same loop given its input spikes as an array (no draw), and the
draw alone (the same blocks of threefry words, summed), in one process, as
wall time per step. L-big at 1% with batch 1: the step with spikes on both
sides, on one side only (the rows or the columns of the event-driven
update), and without spikes.
Both under ``jstdp.fast_cpu_loops``, as ``run.py`` and ``jstdp song2000``.
"""

from __future__ import annotations

import os
import statistics
import sys
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
            spikes = poisson_block(key, b * block, block, threshold)
            return total + jnp.sum(spikes), None

        return jax.lax.scan(one, 0, jnp.arange(steps // block))[0]

    whole = _us_per_step(wk.jstdp_song(steps), steps)
    draw = _us_per_step(lambda: jax.block_until_ready(draws(key)), steps)
    return {
        "whole step (exact)": whole,
        "the draw alone (1000 threefry words per step)": draw,
        "the rest (drive, neuron, traces, update, loop)": whole - draw,
    }


def lbig(steps: int = 100) -> dict[str, float]:
    """L-big, batch 1, additive, ms per step: 1% spiking on both sides, on
    one side only (the rows or the columns of the event-driven update), on
    neither (what a step costs without events)."""
    wl = wk.Workload("L-big", 1, (4096,), (4096,), steps)
    data = wk.make_data(wl, p=wk.SPARSE_P)
    silent = np.zeros_like(data.z_pre)
    cases = {
        "1% on both sides": data,
        "presynaptic 1% only (columns)": wk.Data(data.z_pre, silent, data.w),
        "postsynaptic 1% only (rows)": wk.Data(silent, data.z_post, data.w),
        "no spikes": wk.Data(silent, silent, data.w),
    }
    return {
        name: _us_per_step(wk.jstdp_open_loop(wl, "additive", d), steps, 5) / 1e3
        for name, d in cases.items()
    }


def main() -> None:
    s = song()
    lines = [
        "# Profiles of the targets `run.py` reports missed",
        "",
        "`benchmarks/profiles.py`, wall time, `jstdp.fast_cpu_loops` on, "
        f"load average {[round(x, 1) for x in os.getloadavg()]}.",
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
        "add, rotate, xor): the bits `jax.random` gives, the floor for the "
        "exact input spikes. 20x Brian2's cpp_standalone (~26 sim-s/s here) "
        "would be ~0.2 us per step, a ninth of the draw alone.",
        "",
        "## L-big, batch 1, 1% activity (additive; ms per step)",
        "",
        "| spikes | ms / step |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.3f} |" for k, v in lbig().items()]
    lines += [
        "",
        "The event-driven update writes the rows of the ~41 postsynaptic spikes "
        "(contiguous, cheap) and the columns of the ~41 presynaptic ones: each "
        "column is 4096 entries 16 KiB apart, a cache line and a TLB miss each. "
        "A step without spikes is the fixed cost (traces, the per-call copy of "
        "the 64 MiB weights spread over the steps).",
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "profiles.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
