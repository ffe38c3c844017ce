"""Sharded against unsharded runs on 8 host CPU devices: time, agreement, memory.

    .venv/bin/python benchmarks/sharding.py            # ~3 min; writes its
                                                       # section of results.md
    .venv/bin/python benchmarks/sharding.py --quick    # small shapes, prints

On a 2-core CPU the 8 "devices" share two cores, so a sharded run is not
faster here (the point is that it is correct and that each device holds its
share of the weights); on 8 accelerators each device does 1/8 of the work.
The per-device memory comes from the compiled executables
(:func:`jstdp.memory_per_device`), without running them.
"""

import argparse
import os
import sys

if "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.execv(sys.executable, [sys.executable, *sys.argv])

import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jstdp  # noqa: E402
from jstdp._sharding import compile_run  # noqa: E402
from jstdp.connections import Conv2d  # noqa: E402
from jstdp.neurons import CompetingLIFParameters  # noqa: E402
from jstdp.rules import NorseSTDP  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))
import multihost  # noqa: E402

HEADING = "## Sharding on 8 host CPU devices"


def timed(fn, reps):
    """Median and min seconds of ``fn()`` after one warm-up call, and its result."""
    out = jax.block_until_ready(fn())
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(np.min(times)), out


def largest_difference(a, b):
    """The largest |a - b| over the leaves, and where (a tree path)."""
    return max(
        (
            float(
                np.max(np.abs(np.asarray(x, float) - np.asarray(y, float)), initial=0)
            ),
            jax.tree_util.keystr(path),
        )
        for (path, x), y in zip(
            jax.tree_util.tree_flatten_with_path(a)[0], jax.tree.leaves(b), strict=True
        )
    )


def network_rows(name, shape, net, inputs, steps, shardings, reps, **run):
    rows, single = [], None
    for label, sharding in shardings:
        med, low, (state, _) = timed(
            lambda s=sharding: jstdp.run(net, inputs, steps=steps, sharding=s, **run),
            reps,
        )
        single = state if single is None else single
        rows.append(
            dict(
                workload=name, shape=shape, sharding=label, steps=steps,
                ms=1e3 * med / steps, ms_min=1e3 * low / steps,
                diff=largest_difference(state, single),
                spikes_equal=bool(
                    np.array_equal(np.asarray(state.counts["exc"]),
                                   np.asarray(single.counts["exc"]))
                ),
            )
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def dense_rows(n_in, n_exc, batch, steps, reps):
    mesh = jax.make_mesh((2, 4), ("data", "model"))
    shardings = [
        ("none (1 device)", None),
        ("model (8)", "model"),
        ("data (8)", "data"),
        ("data 2 x model 4", jstdp.Sharding(mesh=mesh, data="data")),
    ]
    net = multihost.network(n_in, n_exc)
    inputs = jstdp.PoissonInput(multihost.rates(n_in, batch))
    shape = f"B={batch}, {n_in}->{n_exc} E + {n_exc} I"
    return network_rows(
        "Diehl & Cook shape", shape, net, inputs, steps, shardings, reps,
        dt=multihost.DT, key=jax.random.key(2),
    )  # fmt: skip


def conv_rows(batch, c_out, hw, steps, reps):
    rng = np.random.default_rng(0)
    neuron = CompetingLIFParameters(jstdp.LIFParameters(v_th=0.3), gain=1.0)
    w0 = rng.uniform(0, 0.3, (c_out, 2, 5, 5))
    exc = jstdp.Population("exc", neuron, (c_out, hw, hw))
    net = jstdp.Network(
        [jstdp.Input("x", (2, hw, hw)), exc],
        [jstdp.Projection("x", "exc", Conv2d(padding=2), w0, rule=NorseSTDP())],
    )
    x = rng.random((steps, batch, 2, hw, hw)) < 0.1
    shape = f"B={batch}, 2->{c_out} ch, {hw}x{hw}, k=5, winner-take-all"
    shardings = [("none (1 device)", None), ("model (8)", "model")]
    return network_rows("Conv2d", shape, net, x, steps, shardings, reps)


def sweep_rows(n_sets, steps, reps):
    rows, single = [], None
    for label, devices in (("1 device", jax.devices()[:1]), ("8 devices", None)):
        med, low, out = timed(
            lambda d=devices: multihost.sweep(n_sets, steps, devices=d), reps
        )
        single = out if single is None else single
        rows.append(
            dict(
                workload="Sweep (run_sweep)", shape=f"{n_sets} x (B=1, 64->8 E/I)",
                sharding=label, steps=steps, ms=1e3 * med / steps,
                ms_min=1e3 * low / steps, diff=largest_difference(out, single),
                spikes_equal=bool(np.array_equal(out[1], single[1])),
            )
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def memory_rows(sizes):
    rows = []
    for n in sizes:
        w = jax.ShapeDtypeStruct((n, n), jnp.float32)
        for algorithm in ("additive", "multiplicative_pow"):
            net = jstdp.Network(
                [jstdp.Input("x", (n,)),
                 jstdp.Population("y", jstdp.LIFParameters(), (n,))],
                [jstdp.Projection("x", "y", w=w,
                                  rule=NorseSTDP(stdp_algorithm=algorithm))],
            )  # fmt: skip
            for label, sharding in (("none", None), ("model (8)", "model")):
                mem = jstdp.memory_per_device(net, sharding=sharding)
                rows.append(dict(n=n, algorithm=algorithm, sharding=label, **mem))
                print(rows[-1], flush=True)
    return rows


COLLECTIVE = re.compile(
    r"= (.*?) (all-reduce|all-gather|reduce-scatter|collective-permute|all-to-all)"
    r"(-start)?\("
)


def collective_rows(n_in, n_exc, batch):
    """The collectives in one step of the compiled run (the loop body), with
    the bytes each moves, for each layout of the Diehl & Cook network."""
    mesh = jax.make_mesh((2, 4), ("data", "model"))
    rows = []
    for label, sharding in (
        ("model (8)", jstdp.Sharding()),
        ("data (8)", jstdp.Sharding(model=None, data="data")),
        ("data 2 x model 4", jstdp.Sharding(mesh=mesh, data="data")),
    ):
        net = multihost.network(n_in, n_exc)
        compiled, _ = compile_run(net, sharding, batch, 10, jnp.dtype(jnp.float32))
        ops = Counter()
        for m in COLLECTIVE.finditer(compiled.as_text()):
            shapes = re.findall(r"f32\[([\d,]*)\]", m.group(1))
            size = sum(
                4 * int(np.prod([int(x) for x in s.split(",") if x])) for s in shapes
            )
            ops[f"{m.group(2)} {size:,} B"] += 1
        rows.append(dict(shape=f"B={batch}, {n_in}->{n_exc} E + {n_exc} I",
                         sharding=label, collectives=dict(ops)))  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def markdown(result):
    lines = [
        HEADING,
        "",
        f"Run `benchmarks/sharding.py` on {result['date']} (jax {jax.__version__}, "
        f"{os.cpu_count()} cores shared by 8 host devices, load "
        f"{result['load']}). Per-step time in ms, median (min) of {result['reps']}"
        " runs after a warm-up; max |Δ| is the largest difference of any state "
        "array from the unsharded run; the 8 devices share the 2 cores, so this "
        "measures correctness and overhead, not speed-up.",
        "",
        "| workload | shape | sharding | steps | ms / step | max abs Δ (where) "
        "| spikes equal |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['workload']} | {r['shape']} | {r['sharding']} | {r['steps']} | "
            f"{r['ms']:.3g} ({r['ms_min']:.3g}) | {_diff(r['diff'])} | "
            f"{'yes' if r['spikes_equal'] else 'no'} |"
        )
    lines += [
        "",
        "Per-device memory of an `n x n` float32 plastic Dense layer (Poisson "
        "input, LIF neurons, batch 1) from the compiled executable's memory "
        "analysis, bytes. Arguments: the device's block of the weights and "
        "the small state. Temporaries: little, at batch 1 (the Hebbian "
        "products fused into the update; row blocks on CPU over 128 MiB; "
        "multiplicative_pow over 128 MiB decides mu == 0.5 before compiling, "
        "so no `lax.cond` around the run holds a second copy of the block):",
        "",
        "| n | rule | sharding | weights | arguments | temporaries | total |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["memory"]:
        lines.append(
            f"| {r['n']} | {r['algorithm']} | {r['sharding']} | {r['weights']:,} | "
            f"{r['arguments']:,} | {r['temporaries']:,} | {r['total']:,} |"
        )
    lines += [
        "",
        "Collectives in one step of the compiled run (the size of each one's "
        "operand on one device, times how many): what a TPU pod's interconnect "
        "would carry, per step, for a 6,400-neuron Diehl & Cook network:",
        "",
        "| shape | sharding | collectives per step |",
        "|---|---|---|",
    ]
    for r in result["collectives"]:
        ops = ", ".join(f"{k} x {n}" for k, n in r["collectives"].items())
        lines.append(f"| {r['shape']} | {r['sharding']} | {ops or 'none'} |")
    return "\n".join(lines) + "\n"


def _diff(diff):
    value, where = diff
    return f"{value:.2g} (`{where}`)" if value else "0"


def write_section(path, text):
    """Replace this script's section of ``path`` (or append it)."""
    old = path.read_text() if path.exists() else ""
    head, _, rest = old.partition(HEADING)
    tail = rest.partition("\n## ")[2] if rest else ""
    path.write_text(
        head.rstrip("\n") + "\n\n" + text + ("\n## " + tail if tail else "")
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    assert len(jax.devices()) == 8, jax.devices()
    q = args.quick
    reps = 2 if q else 5
    runs = dense_rows(64 if q else 784, 64 if q else 1024, 8, 50 if q else 200, reps)
    runs += conv_rows(8, 16 if q else 32, 12 if q else 28, 20 if q else 50, reps)
    runs += sweep_rows(16 if q else 64, 50 if q else 200, reps)
    memory = memory_rows((2048,) if q else (16_384, 50_000))
    collectives = collective_rows(784, 400 if q else 6400, 8)
    result = dict(
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        load=[round(x, 1) for x in os.getloadavg()],
        reps=reps,
        runs=runs,
        memory=memory,
        collectives=collectives,
    )
    text = markdown(result)
    print(text)
    if not q:
        write_section(HERE / "results.md", text)
        (HERE / "sharding.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
