"""Long-run stability: 10^6 closed-loop steps stay finite and within bounds.

    .venv/bin/python benchmarks/long_run.py                 # 10^6 steps, 4 rules
    .venv/bin/python benchmarks/long_run.py --steps 100000  # shorter

A small dense layer (100 Poisson inputs at 20 Hz -> 10 LIF neurons, batch 1,
dt = 1 ms, so 10^6 steps are 1000 s of simulated time) learns with each STDP
rule. The run is cut into chunks (``state=`` continues it, with the same
spikes as one long run); after every chunk the weights, traces and neuron
state must be finite (``jstdp.check_finite``) and the weights within
``[w_min, w_max]``. Prints one line per rule and chunk, then a summary with
wall times; exits with status 1 if any check fails. Not part of the tests
(``tests/test_properties.py`` runs 10^4 steps).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jstdp  # noqa: E402

N_PRE, N_POST, RATE_HZ, DT = 100, 10, 20.0, 1e-3
# (rule, hardbound): multiplicative_relu keeps its weights in bounds by its own
# rule, so it runs without the clip; multiplicative_pow needs the clip (NaN
# outside the bounds).
RULES = (
    ("additive", True),
    ("additive_step", True),
    ("multiplicative_pow", True),
    ("multiplicative_relu", False),
)


def check(w: jax.Array, state: jstdp.RunState, p: jstdp.STDPParameters) -> str:
    """Empty if finite and in bounds, else what failed."""
    try:
        jstdp.check_finite((w, state), "run")
    except FloatingPointError as err:
        return str(err)
    w = np.asarray(w)
    if w.min() < p.w_min or w.max() > p.w_max:
        return f"weights left [{p.w_min}, {p.w_max}]: [{w.min()}, {w.max()}]"
    return ""


def run_rule(rule: str, hardbound: bool, steps: int, chunk: int, seed: int):
    """Run one rule for ``steps`` steps in chunks; returns (seconds, failures)."""
    p = jstdp.STDPParameters(
        eta_plus=1e-3,
        eta_minus=1.05e-3,
        mu=0.5,
        stdp_algorithm=rule,
        hardbound=hardbound,
    )
    jstdp.validate_parameters(p, DT)
    inputs = jstdp.PoissonInput(jnp.full((1, N_PRE), RATE_HZ))
    key = jax.random.key(seed)
    # Initial weights give the neurons a moderate drive (tens of Hz).
    w = jax.random.uniform(jax.random.key(seed + 1), (N_POST, N_PRE), maxval=0.25)
    state, failures, start = None, [], time.perf_counter()
    for done in range(0, steps, chunk):
        n = min(chunk, steps - done)
        w, state, _ = jstdp.run_linear(
            inputs, w, p, dt=DT, steps=n, key=key, state=state
        )
        problem = check(w, state, p)
        rate = float(state.spike_count.mean()) / (int(state.step) * DT)
        print(
            f"{rule:20s} step {int(state.step):>8d}  w in [{float(w.min()):.3f}, "
            f"{float(w.max()):.3f}]  mean w {float(w.mean()):.3f}  "
            f"output {rate:6.1f} Hz  {problem or 'ok'}",
            flush=True,
        )
        if problem:
            failures.append(f"{rule} at step {int(state.step)}: {problem}")
    return time.perf_counter() - start, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.steps < 1 or args.chunk < 1:
        parser.error("--steps and --chunk must be >= 1")
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}", flush=True)
    times, failures = {}, []
    for rule, hardbound in RULES:
        seconds, failed = run_rule(rule, hardbound, args.steps, args.chunk, args.seed)
        times[rule], failures = seconds, failures + failed
    print(f"\n{args.steps} steps per rule ({args.steps * DT:g} s simulated):")
    for rule, seconds in times.items():
        us = 1e6 * seconds / args.steps
        print(f"  {rule:20s} {seconds:8.1f} s wall  ({us:.1f} us/step, compile incl.)")
    print("all finite and within bounds" if not failures else "\n".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
