"""Where the time goes in the workloads whose targets `run.py` reports missed.

    .venv/bin/python benchmarks/profiles.py          # writes profiles.md

Song 2000 at dt 0.1 ms: the exact loop (``run_linear`` + ``PoissonInput``)
against the same loop given its input spikes as an array (no draw), and the
draw alone (the same blocks of threefry words, summed), in one process, as
wall time per step. L-big at 1% with batch 1: the step with spikes on both
sides, on one side only (the rows or the columns of the event-driven
update), and without spikes, and a copy of the weights. L-mid (additive)
and C-mnist: the whole step against its parts alone (the receptive fields,
one Hebbian product, both, the elementwise traces and update), and one
product alone against torch's on one thread.
All under ``jstdp.fast_cpu_loops``, as ``run.py`` and ``jstdp song2000``.
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


def lbig(steps: int = 100, rule: str = "additive") -> dict[str, float]:
    """L-big, batch 1, ms per step: 1% spiking on both sides, on one side
    only (the rows or the columns of the event-driven update), on neither
    (what a step costs without events)."""
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
        name: _us_per_step(wk.jstdp_open_loop(wl, rule, d), steps, 5) / 1e3
        for name, d in cases.items()
    }


def copy_64mib(steps: int = 100) -> float:
    """ms per step of a 100-step call for one copy of a 4096 x 4096 float32."""
    w = jnp.zeros((4096, 4096), jnp.float32)
    copy = jax.jit(lambda w: w * 1.0)
    return _us_per_step(lambda: jax.block_until_ready(copy(w)), steps) / 1e3


def products_alone() -> dict[str, tuple[float, float, float]]:
    """One Hebbian product alone, ms: XLA (jit, both cores) against torch
    (one thread, MKL), the same float32 operands; and its flops."""
    import torch

    torch.set_num_threads(1)
    shapes = {
        "L-mid (64 x 400)^T (64 x 784)": (64, 400, 784),
        "C-mnist (6272 x 32)^T (6272 x 50)": (6272, 32, 50),
    }
    return {name: _product_ms(*shape) for name, shape in shapes.items()}


def _product_ms(k: int, m: int, n: int) -> tuple[float, float, float]:
    import torch

    rng = np.random.default_rng(0)
    a, b = rng.random((k, m), np.float32), rng.random((k, n), np.float32)
    xa, xb = jnp.asarray(a), jnp.asarray(b)
    dot = jax.jit(lambda a, b: jnp.einsum("ki,kj->ij", a, b))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    xla = _us_per_step(lambda: jax.block_until_ready(dot(xa, xb)), 1, 51)
    mkl = _us_per_step(lambda: ta.T @ tb, 1, 51)
    return xla / 1e3, mkl / 1e3, 2 * k * m * n


def kernels(name: str) -> dict[str, float]:
    """ms per step of an open-loop kernel (additive, 5% activity): the whole
    step and its parts, each alone in a scan over the same spikes."""
    wl = next(w for w in wk.FULL if w.name == name)
    data = wk.make_data(wl)
    z_pre, z_post, w0 = map(jnp.asarray, (data.z_pre, data.z_post, data.w))
    p = wk.jstdp_params(wl, "additive")
    conn = p.conv2d() if wl.conv else jstdp.connections.Dense()

    def scanned(part):
        @jax.jit
        def run(z_pre, z_post):
            def body(acc, x):
                return acc + jnp.sum(part(*x)), None

            return jax.lax.scan(body, 0.0, (z_pre, z_post))[0]

        return lambda: jax.block_until_ready(run(z_pre, z_post))

    def traces(zp, zq):  # the elementwise work of a step, without products
        return jnp.clip(w0 + 1e-3 * zp.sum() - 1e-3 * zq.sum(), 0.0, 1.0)

    parts = {
        "whole step": wk.jstdp_open_loop(wl, "additive", data),
        "whole step, multiplicative_pow": wk.jstdp_open_loop(
            wl, "multiplicative_pow", data
        ),
    }
    if wl.conv:
        k = tuple(w0.shape[2:])
        parts["receptive fields of one operand"] = scanned(
            lambda zp, zq: conn.receptive_fields(zp, k, True)
        )
        parts["one Hebbian product (fields included)"] = scanned(
            lambda zp, zq: conn.correlate(zq, zp, w0.shape)
        )
        parts["both, as one batched product (correlate_pair)"] = scanned(
            lambda zp, zq: conn.correlate_pair((zq, zp), (zq, zp), w0.shape)[0]
        )
    else:
        left = jnp.concatenate  # the merged product of the stacked batch

        parts["the merged Hebbian product (K = 2 B)"] = scanned(
            lambda zp, zq: conn.correlate(left([zq, zq]), left([zp, zp]), w0.shape)
        )
    parts["elementwise update alone"] = scanned(traces)
    return {k: _us_per_step(f, wl.steps, 7) / 1e3 for k, f in parts.items()}


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
        "would be ~0.2 us per step, a ninth of the draw alone: the "
        "event-driven loop (`run_linear_events`, inputs drawn as events, the "
        "same Bernoulli process) takes ~0.1 us for the whole step.",
        "",
        "## L-big, batch 1, 1% activity (ms per step)",
        "",
        "| spikes | additive | multiplicative_pow |",
        "|---|---|---|",
    ]
    additive, power = lbig(), lbig(rule="multiplicative_pow")
    lines += [f"| {k} | {v:.3f} | {power[k]:.3f} |" for k, v in additive.items()]
    lines += [
        "",
        "A replay takes its steps 128 at a time (`update_block`, "
        "`jstdp/rules/_norse_blocks.py`): the traces of the block, then `w` "
        "tile by tile (16 rows, transposed: 256 KiB), each tile replaying the "
        "block's row and column events in time order, so that a column event "
        "is a contiguous line of a tile in cache (before: 4096 entries 16 KiB "
        "apart in memory, a cache line each, 3.0 of 3.8 ms per step). What is "
        "left is fixed cost, paid with or without spikes: the per-call copy "
        "of the 64 MiB weights (the next line), the tiles' transposes and "
        "XLA:CPU's cost per iteration of the loop over a tile's steps (~2 us, "
        "256 tiles x 100 steps).",
        "",
        f"A 64 MiB copy, per step of a 100-step call: {copy_64mib():.3f} ms.",
    ]
    for name, what in (
        ("L-mid", "B=32, 784->400"),
        ("C-mnist", "B=8, 2->32 channels, 28x28, k5"),
    ):
        lines += [
            "",
            f"## {name} ({what}), 5% activity (ms per step; parts: additive)",
            "",
            "| part | ms / step |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v:.3f} |" for k, v in kernels(name).items()]
    lines += [
        "",
        "The Hebbian products are nearly the whole step. L-mid's is one "
        "product of the stacked batch (K = 64) into the 400 x 784 weights; "
        "C-mnist's two are long contractions (6,272 batch positions) into a "
        "32 x 50 result; a batched product over chunks of the positions "
        "spreads them over both cores. One product alone, XLA on both cores "
        "against torch (MKL) on one thread, median ms (GFLOP/s):",
        "",
        "| product | XLA, 2 cores | torch, 1 thread |",
        "|---|---|---|",
    ]
    for name, (xla, mkl, flops) in products_alone().items():
        lines.append(
            f"| {name} | {xla:.3f} ({flops / xla / 1e6:.0f}) "
            f"| {mkl:.3f} ({flops / mkl / 1e6:.0f}) |"
        )
    lines += [
        "",
        "XLA's options for other CPU kernels (`xla_cpu_use_onednn`, "
        "`xla_cpu_use_xnnpack`, `xla_cpu_experimental_xnn_fusion_type=dot`, "
        "`xla_cpu_experimental_ynn_fusion_type=dot`, "
        "`xla_cpu_multi_thread_eigen=false`) gave the same C-mnist step "
        "within 5% (0.70-0.76 ms against 0.75), and the kernel gradient as "
        "one convolution (`unfold_method='conv'`) takes 2.5 ms per step "
        "inside the loop.",
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "profiles.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
