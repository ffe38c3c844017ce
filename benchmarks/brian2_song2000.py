"""Song, Miller & Abbott (2000) in Brian2: the speed and the science jstdp is held to.

    # a venv of its own: pip install brian2==2.9.0 cython "numpy<2.4"
    # (Brian2 2.9.0 does not import with NumPy 2.4); results: brian2_song2000.md
    PY=/work/venvs/brian/bin/python
    $PY benchmarks/brian2_song2000.py speed                 # runtime (Cython) vs
                                                            # cpp_standalone, dt 0.1 ms
    $PY benchmarks/brian2_song2000.py sweep                 # 64 sequential runs
    $PY benchmarks/brian2_song2000.py science --dt 1e-3 --seconds 1000 --seed 0 1 2

The model is Brian2's ``examples/synapses/STDP.py`` with the physics of
jstdp's ``ConductanceLIFParameters`` and Song's parameters:

- one conductance-based LIF neuron, forward Euler (``method="euler"``, as
  jstdp): ``tau_m dv/dt = (E_L - v) + g_e (E_e - v)``, ``tau_e dg_e/dt =
  -g_e``; tau_m 10 ms, E_L -74 mV, E_e 0 mV, v_th -54 mV, v_reset -60 mV,
  tau_e 5 ms, starting at ``v = E_L``, ``g_e = 0``;
- 1000 Poisson inputs at 10 Hz (``PoissonGroup``: ``rand() < rate * dt``
  per input and step, as ``jstdp.poisson_step``); an input spike adds
  ``g_max * w`` to ``g_e`` (in units of the leak conductance), g_max 0.015;
- additive STDP with exponential traces (tau 20 ms both), weights in [0, 1]
  (hard bounds, ``clip``), initial weights uniform in [0, 1]; A+ = 0.005 of
  w_max per pair, A- = 1.05 A+.

Timing convention (Brian2's schedule, and jstdp's since issue 16): in a step
the neuron integrates, then thresholds are checked (the inputs' Poisson
draw too), then the synapses act: an input spike raises ``g_e`` only from
the next step, so a causal pre -> post pair has a lag of at least one step.
The ``pre`` pathway runs before ``post`` (orders -1 and 1), so a pair in
the same step potentiates by A+ (the pre trace already holds the spike when
the post spike reads it). The traces are Brian2's event-driven ones (exact
exponential decay, a jump of A per spike); jstdp's Norse traces are Euler
steps (jump ``dt * tau_inv * a``, decay ``1 - dt * tau_inv``), which differ
by O(dt / tau) (1.2% in the decay per step at dt 1 ms).

``speed``: one simulation at dt 0.1 ms, timed in this one process for the
Cython runtime target and for a compiled cpp_standalone binary, interleaved
(the order alternates between repetitions). Compile times (Cython's first
run, the standalone build) are reported separately and excluded.
Simulated seconds per wall second are given for the whole run call
(runtime: ``Network.run``, which also prepares its code objects each call;
standalone: the binary's process, start to exit) and for the simulation
loop alone (the runtime's marginal rate between a short and a long run;
the standalone binary's own clock).

``sweep``: 64 configurations (an 8 x 8 grid of g_max 0.013-0.02 and A-/A+
1.0-1.1, as jstdp's README) run one after the other, as a Brian2 user runs
them: runtime ``store()`` / ``restore()`` and new values per run; standalone
one compiled binary run 64 times with ``run_args`` (no recompilation).
Timed as a whole; both targets interleaved.

``science``: final weights after ``--seconds`` of Song's protocol, per seed:
fractions within 10% of 0 and of 1, mean, output rate (whole run and last
10%). Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_INPUTS = 1000
RATE_HZ = 10.0
G_MAX = 0.015
A_PLUS = 0.005
DEPRESSION = 1.05
TAU_STDP_MS = 20.0

# Brian2's Cython cache (~/.cython/brian_extensions) is kept; standalone
# projects go to one directory per build under this root.
BUILD_ROOT = Path(tempfile.gettempdir()) / "brian2_song2000"


def build(b2, dt_s: float, g_max: float = G_MAX, depression: float = DEPRESSION):
    """The network of the module docstring, on the current device.

    Returns ``(net, neuron, synapses, spikes)``. ``g_max`` is a constant of
    the neuron and ``Aminus`` a shared constant of the synapses, so a sweep
    (and a standalone binary's ``run_args``) can change them without new
    code.
    """
    ms, mV, Hz = b2.ms, b2.mV, b2.Hz
    b2.defaultclock.dt = dt_s * b2.second
    namespace = dict(
        taum=10 * ms,
        taue=5 * ms,
        El=-74 * mV,
        Ee=0 * mV,
        vt=-54 * mV,
        vr=-60 * mV,
        taupre=TAU_STDP_MS * ms,
        taupost=TAU_STDP_MS * ms,
        Aplus=A_PLUS,
    )
    inputs = b2.PoissonGroup(N_INPUTS, rates=RATE_HZ * Hz, name="inputs")
    neuron = b2.NeuronGroup(
        1,
        """dv/dt = (ge * (Ee - v) + El - v) / taum : volt
           dge/dt = -ge / taue : 1
           gmax : 1 (constant)""",
        threshold="v > vt",
        reset="v = vr",
        method="euler",
        namespace=namespace,
        name="neuron",
    )
    neuron.v = namespace["El"]
    neuron.gmax = g_max
    synapses = b2.Synapses(
        inputs,
        neuron,
        """w : 1
           Aminus : 1 (shared, constant)
           dApre/dt = -Apre / taupre : 1 (event-driven)
           dApost/dt = -Apost / taupost : 1 (event-driven)""",
        on_pre="""ge_post += gmax_post * w
                  Apre += Aplus
                  w = clip(w + Apost, 0, 1)""",
        on_post="""Apost -= Aminus
                   w = clip(w + Apre, 0, 1)""",
        namespace=namespace,
        name="synapses",
    )
    synapses.connect()
    synapses.w = "rand()"
    synapses.Aminus = depression * A_PLUS
    spikes = b2.SpikeMonitor(neuron, name="spikes")
    net = b2.Network(inputs, neuron, synapses, spikes)
    return net, neuron, synapses, spikes


def summary(w: np.ndarray, spike_times_s: np.ndarray, seconds: float) -> dict:
    """The numbers the README reports for jstdp's song2000 run."""
    last = spike_times_s >= 0.9 * seconds
    return dict(
        frac_near_0=float(np.mean(w < 0.1)),
        frac_near_1=float(np.mean(w > 0.9)),
        mean=float(np.mean(w)),
        std=float(np.std(w)),
        rate_hz=float(len(spike_times_s) / seconds),
        rate_last10pct_hz=float(np.sum(last) / (0.1 * seconds)),
    )


def _import_brian(device: str, directory: str | None = None):
    import brian2 as b2

    b2.prefs.codegen.target = "cython"
    b2.BrianLogger.log_level_warn()
    if device == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    return b2


# --- cpp_standalone: built in a subprocess, its binary run from here ---------


def standalone_build(
    dt_s: float,
    seconds: float,
    seed: int | None,
    g_max: float = G_MAX,
    depression: float = DEPRESSION,
) -> dict:
    """Build and compile a standalone project in a fresh process.

    Returns its directory, the compile time and the run-arg names. The
    network code runs ``seconds`` of simulated time per binary execution.
    """
    tag = f"dt{dt_s:g}_T{seconds:g}_seed{seed}_g{g_max:g}_d{depression:g}"
    directory = BUILD_ROOT / tag
    code = f"""
import json, sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
import brian2_song2000 as m
b2 = m._import_brian("cpp_standalone", {str(directory)!r})
t0 = time.perf_counter()
if {seed!r} is not None:
    b2.seed({seed!r})
net, neuron, syn, spikes = m.build(b2, {dt_s!r}, {g_max!r}, {depression!r})
net.run({seconds!r} * b2.second)
t1 = time.perf_counter()
b2.device.build(directory={str(directory)!r}, compile=True, run=False, clean=True)
t2 = time.perf_counter()
print(json.dumps(dict(directory={str(directory)!r}, codegen_s=t1 - t0,
                      compile_s=t2 - t1)))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def standalone_run(directory: str, run_args: dict[str, float] | None = None) -> dict:
    """Run a compiled project's binary once: wall time and its own loop time."""
    results = Path(directory) / "results"
    args = ["./main", "--results_dir", str(results) + "/"]
    args += [f"{k}={v!r}" for k, v in (run_args or {}).items()]
    t0 = time.perf_counter()
    subprocess.run(args, cwd=directory, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    loop_s = float((results / "last_run_info.txt").read_text().split()[0])
    return dict(wall_s=wall, loop_s=loop_s)


def _standalone_results(directory: str) -> tuple[np.ndarray, np.ndarray]:
    """Final weights and output spike times (s) from a standalone results dir."""
    res = Path(directory) / "results"

    def arr(prefix: str, dtype) -> np.ndarray:
        (path,) = [p for p in res.iterdir() if p.name.startswith(prefix)]
        return np.fromfile(path, dtype=dtype)

    return arr("_dynamic_array_synapses_w_", np.float64), arr(
        "_dynamic_array_spikes_t_", np.float64
    )


# --- the subcommands ------------------------------------------------------------


def _stats(xs: list[float]) -> dict:
    return dict(median=statistics.median(xs), min=min(xs), max=max(xs), n=len(xs))


def speed(args) -> dict:
    """Runtime (Cython) vs cpp_standalone, interleaved, at ``args.dt``."""
    b2 = _import_brian("runtime")
    T, T_short = args.seconds, args.seconds / 10
    built = standalone_build(args.dt, T, seed=0)
    b2.seed(0)
    net, *_ = build(b2, args.dt)
    net.store()
    t0 = time.perf_counter()
    net.run(T_short * b2.second)  # compiles (or loads) the Cython code objects
    first_s = time.perf_counter() - t0
    runtime, runtime_short, standalone = [], [], []
    for rep in range(args.reps):
        order = ("runtime", "standalone") if rep % 2 == 0 else ("standalone", "runtime")
        for target in order:
            if target == "runtime":
                for dur, out in ((T, runtime), (T_short, runtime_short)):
                    net.restore()
                    t0 = time.perf_counter()
                    net.run(dur * b2.second)
                    out.append(time.perf_counter() - t0)
            else:
                standalone.append(standalone_run(built["directory"]))
    # The simulation loop alone: the marginal cost of the extra 0.9 T.
    loop = [
        (long - short) / (0.9 * T)
        for long, short in zip(runtime, runtime_short, strict=True)
    ]
    rt_rate = [T / s for s in runtime]
    rt_loop_rate = [1 / s for s in loop]
    sa_rate = [T / r["wall_s"] for r in standalone]
    sa_loop_rate = [T / r["loop_s"] for r in standalone]
    ratio = [s / r for s, r in zip(sa_rate, rt_rate, strict=True)]
    return dict(
        task="speed",
        dt=args.dt,
        seconds=T,
        reps=args.reps,
        runtime_first_run_s=first_s,
        standalone_codegen_s=built["codegen_s"],
        standalone_compile_s=built["compile_s"],
        runtime_sim_s_per_wall_s=_stats(rt_rate),
        runtime_loop_sim_s_per_wall_s=_stats(rt_loop_rate),
        standalone_sim_s_per_wall_s=_stats(sa_rate),
        standalone_loop_sim_s_per_wall_s=_stats(sa_loop_rate),
        standalone_over_runtime=_stats(ratio),
        faster="cpp_standalone" if statistics.median(ratio) > 1 else "runtime",
    )


def sweep_grid() -> list[tuple[float, float]]:
    """(g_max, A-/A+) pairs: 8 x 8, as jstdp's README sweep."""
    ratio, g_max = np.meshgrid(np.linspace(1.0, 1.1, 8), np.linspace(0.013, 0.02, 8))
    pairs = zip(g_max.ravel(), ratio.ravel(), strict=True)
    return [(float(g), float(r)) for g, r in pairs]


def sweep(args) -> dict:
    """64 sequential runs of ``args.seconds`` each, both targets interleaved."""
    b2 = _import_brian("runtime")
    T, grid = args.seconds, sweep_grid()
    built = standalone_build(args.dt, T, seed=0)
    b2.seed(0)
    net, neuron, synapses, _ = build(b2, args.dt)
    net.store()
    net.run(T / 10 * b2.second)  # compile / load the Cython code objects
    runtime, standalone, rt_rates, sa_rates = [], [], [], []
    for rep in range(args.reps):
        order = ("runtime", "standalone") if rep % 2 == 0 else ("standalone", "runtime")
        for target in order:
            t0 = time.perf_counter()
            for g, r in grid:
                if target == "runtime":
                    net.restore()
                    neuron.gmax = g
                    synapses.Aminus = r * A_PLUS
                    net.run(T * b2.second)
                    if rep == 0:
                        rt_rates.append(net["spikes"].num_spikes / T)
                else:
                    standalone_run(
                        built["directory"],
                        {"neuron.gmax": g, "synapses.Aminus": r * A_PLUS},
                    )
                    if rep == 0:
                        sa_rates.append(len(_standalone_results(built["directory"])[1]))
            (runtime if target == "runtime" else standalone).append(
                time.perf_counter() - t0
            )
    n = len(grid)
    ratio = [r / s for r, s in zip(runtime, standalone, strict=True)]
    return dict(
        task="sweep",
        dt=args.dt,
        seconds_per_run=T,
        runs=n,
        reps=args.reps,
        standalone_compile_s=built["compile_s"],
        runtime_wall_s=_stats(runtime),
        standalone_wall_s=_stats(standalone),
        runtime_sim_s_per_wall_s=_stats([n * T / s for s in runtime]),
        standalone_sim_s_per_wall_s=_stats([n * T / s for s in standalone]),
        standalone_over_runtime=_stats(ratio),
        faster="cpp_standalone" if statistics.median(ratio) > 1 else "runtime",
        output_rate_hz_range_runtime=[min(rt_rates), max(rt_rates)],
        output_rate_hz_range_standalone=[min(sa_rates) / T, max(sa_rates) / T],
    )


def science(args) -> list[dict]:
    """Song's protocol for ``args.seconds``, one JSON line per seed."""
    rows = []
    for seed in args.seed:
        t0 = time.perf_counter()
        if args.target == "cpp_standalone":
            built = standalone_build(
                args.dt, args.seconds, seed, args.g_max, args.depression
            )
            run = standalone_run(built["directory"])
            w, t = _standalone_results(built["directory"])
            wall = run["wall_s"]
        else:
            b2 = _import_brian("runtime")
            b2.seed(seed)
            net, _, synapses, spikes = build(b2, args.dt, args.g_max, args.depression)
            t1 = time.perf_counter()
            net.run(args.seconds * b2.second)
            wall = time.perf_counter() - t1
            w, t = np.asarray(synapses.w[:]), np.asarray(spikes.t / b2.second)
        row = dict(
            task="science",
            target=args.target,
            dt=args.dt,
            seconds=args.seconds,
            seed=seed,
            g_max=args.g_max,
            depression=args.depression,
            **summary(w, t, args.seconds),
            run_wall_s=wall,
            total_wall_s=time.perf_counter() - t0,
        )
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="append the JSON lines to this file")
    sub = parser.add_subparsers(dest="task", required=True)
    p = sub.add_parser("speed", help="runtime vs cpp_standalone, one run")
    p.add_argument("--dt", type=float, default=1e-4)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--reps", type=int, default=5)
    p = sub.add_parser("sweep", help="64 sequential runs, both targets")
    p.add_argument("--dt", type=float, default=1e-4)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--reps", type=int, default=2)
    p = sub.add_parser("science", help="Song's protocol, final weights")
    p.add_argument("--dt", type=float, default=1e-3)
    p.add_argument("--seconds", type=float, default=1000.0)
    p.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--g-max", type=float, default=G_MAX)
    p.add_argument(
        "--depression", type=float, default=DEPRESSION, help="A- / A+ (1.05)"
    )
    p.add_argument(
        "--target", choices=("runtime", "cpp_standalone"), default="cpp_standalone"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    match args.task:
        case "speed":
            rows = [speed(args)]
        case "sweep":
            rows = [sweep(args)]
        case "science":
            rows = science(args)
    if args.task != "science":
        for row in rows:
            print(json.dumps(row), flush=True)
    out = getattr(args, "out", None)
    if out is not None:
        with out.open("a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
