"""Diehl & Cook (2015): jstdp vs BindsNET 0.3.4 training throughput, side by side.

    .venv/bin/python benchmarks/diehl_cook.py                  # ~10 min
    .venv/bin/python benchmarks/diehl_cook.py --rounds 2 --bindsnet-samples 50

One process drives both, interleaved, so both see the same machine load:
each round trains jstdp on the next ``train/rounds`` digits of its 4,000
(continuing one training run, so the throughput covers a whole pass: the
early samples where many neurons fire and the later ones where many digits
are shown again at a higher intensity) and then runs BindsNET's
``DiehlAndCook2015`` (``bindsnet_diehl_cook.py``, as its ``eth_mnist.py``
example runs it) on ``--bindsnet-samples`` digits in a subprocess of the
BindsNET environment (``setup_bindsnet.sh``). BindsNET's speed does not
depend on how far it has learned (250 ms per digit, no retry), so a few
hundred digits measure it.

Each library at its own protocol, same network size (100 excitatory + 100
inhibitory neurons, 784 inputs): jstdp 350 ms + 150 ms per digit at
dt = 0.5 ms (1,000 steps), plus the repeated presentations of the retry
rule; BindsNET 250 ms at dt = 1 ms (250 steps), no rest, no retry. Samples
per second are digits per second of the training loop (compilation and
BindsNET's start-up excluded).

Also measured, on the jstdp side: the reference path (the same model as a
``jstdp.Network``, one step per scan iteration) and where the fast path's
time goes. Writes ``results_diehl_cook.json`` and prints the Markdown section
of ``results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # jstdp from this checkout

import jstdp  # noqa: E402

# Before any computation, as `jstdp diehl-cook` does: small loops as one kernel.
FAST_LOOPS = jstdp.fast_cpu_loops()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jstdp.experiments import DiehlCookConfig, diehl_cook_network  # noqa: E402
from jstdp.experiments import _diehl_cook_sim as sim  # noqa: E402
from jstdp.experiments.diehl_cook import (  # noqa: E402
    TRAIN_CHUNK,
    _keys,
    _programs,
    diehl_cook_data,
)

# setup_bindsnet.sh's environment (or BINDSNET_PYTHON, e.g. one built elsewhere)
BINDSNET_PYTHON = os.environ.get(
    "BINDSNET_PYTHON", str(HERE.parent / ".venv-bindsnet" / "bin" / "python")
)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class JstdpTrainer:
    """One jstdp training run, advanced a chunk of samples at a time."""

    def __init__(self, config: DiehlCookConfig):
        self.config = config
        self.train, _ = diehl_cook_data(config)
        self.programs = _programs(config)
        self.key = _keys(config)[1]  # the training key of jstdp diehl-cook
        state = sim.initial_state(config, self.programs.w0)
        self.carry = (state, jnp.zeros((config.neurons,), jnp.float32))
        self.done = 0
        self.tries: list[np.ndarray] = []
        self.paths: list[np.ndarray] = []
        t0 = time.perf_counter()
        self.compiled = self.programs.train.lower(self.carry, *self._args(0)).compile()
        self.compile_s = time.perf_counter() - t0

    def _args(self, start: int):
        idx = np.arange(start, start + TRAIN_CHUNK)
        n = len(self.train.labels)
        images = self.train.images[np.minimum(idx, n - 1)]
        keys = jax.vmap(lambda i: jax.random.fold_in(self.key, i))(jnp.asarray(idx))
        return jnp.asarray(images), keys, jnp.asarray(idx < n)

    def step(self, samples: int) -> tuple[int, float]:
        """Train the next ``samples`` (a multiple of TRAIN_CHUNK); returns
        ``(samples, seconds)``."""
        t0 = time.perf_counter()
        for _ in range(samples // TRAIN_CHUNK):
            self.carry, (_, tries, paths) = self.compiled(
                self.carry, *self._args(self.done)
            )
            self.tries.append(np.asarray(tries))
            self.paths.append(np.asarray(paths))
            self.done += TRAIN_CHUNK
        jax.block_until_ready(self.carry)
        return samples, time.perf_counter() - t0


def bindsnet(samples: int, neurons: int) -> dict:
    """BindsNET's example on ``samples`` training digits (subprocess)."""
    cmd = [
        BINDSNET_PYTHON, str(HERE / "bindsnet_diehl_cook.py"), "--n-train",
        str(samples), "--n-test", "10", "--n-neurons", str(neurons), "--no-progress",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def reference_speed(config: DiehlCookConfig, samples: int) -> float:
    """Samples per second of the reference path (jstdp.Network + jstdp.run)."""
    programs = _programs(config)
    train, _ = diehl_cook_data(config)
    model = sim.Model(config, programs.delays)
    net = diehl_cook_network(config, programs.w0, programs.delays)
    state = sim.initial_state(config, programs.w0)

    @jax.jit
    def one(state, image, key):
        rates = config.rates(image, jnp.float32(config.intensity))
        z = sim.dense_input(key, rates, model)
        return sim.sample_reference(net, model, state, z)

    key = jax.random.key(9)
    state, _ = one(state, jnp.asarray(train.images[0]), key)  # compile
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    for k in range(samples):
        state, _ = one(state, jnp.asarray(train.images[k]), jax.random.fold_in(key, k))
    jax.block_until_ready(state)
    return samples / (time.perf_counter() - t0)


def where_time_goes(config: DiehlCookConfig, trainer: JstdpTrainer) -> dict:
    """ms per sample of the fast path's parts, from the trained state."""
    state = trainer.carry[0]
    model = sim.Model(config, trainer.programs.delays)
    train = trainer.train
    images = jnp.asarray(train.images[:40])
    keys = jax.random.split(jax.random.key(11), 40)
    rates = jax.vmap(lambda x: config.rates(x, jnp.float32(config.intensity)))(images)
    never = jnp.full((784,), model.pad, jnp.int32)
    rows = config.present_steps + config.max_delay

    def scan(f):
        @jax.jit
        def run(state, rates, keys):
            def body(s, x):
                return f(s, *x)

            return jax.lax.scan(body, state, (rates, keys))

        return run

    def events(s, r, k):
        ev = sim.input_events(k, r, config.dt, config.present_steps, 8192, model.pad)
        return s, ev.count

    def drive(s, r, k):
        ev = sim.input_events(k, r, config.dt, config.present_steps, 8192, model.pad)
        return s, sim._scatter_drive(model, s.w, ev, never, rows).sum()

    def sample(s, r, k):
        new, counts, ok = sim.sample(model, s, r, k)
        return new, counts.sum() + ok

    def neurons(s, r, k):
        d = jnp.zeros((rows, config.neurons)) + r[:1].sum() * 0.0
        return s, sim.frozen_counts(model, s.exc.theta, d).sum()

    out = {}
    for name, f in (("events", events), ("events+drive", drive), ("sample", sample),
                    ("neurons only, 700 steps", neurons)):  # fmt: skip
        run = scan(f)
        jax.block_until_ready(run(state, rates, keys))
        best = 1e9
        for _ in range(3):
            t0 = time.perf_counter()
            jax.block_until_ready(run(state, rates, keys))
            best = min(best, (time.perf_counter() - t0) / 40)
        out[name] = round(best * 1e3, 3)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--neurons", type=int, default=100)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--bindsnet-samples", type=int, default=200)
    p.add_argument("--reference-samples", type=int, default=3)
    p.add_argument("--out", type=Path, default=HERE / "results_diehl_cook.json")
    args = p.parse_args(argv)
    config = DiehlCookConfig(neurons=args.neurons)
    loads = [_load()]
    trainer = JstdpTrainer(config)
    per_round = (
        -(-len(trainer.train.labels) // args.rounds // TRAIN_CHUNK) * TRAIN_CHUNK
    )
    rounds = []
    for r in range(args.rounds):
        n, seconds = trainer.step(
            min(per_round, len(trainer.train.labels) - trainer.done)
        )
        b = bindsnet(args.bindsnet_samples, args.neurons)
        rounds.append(
            {
                "round": r,
                "jstdp_samples": n,
                "jstdp_s": round(seconds, 3),
                "jstdp_samples_per_s": round(n / seconds, 2),
                "bindsnet_samples": b["n_train"],
                "bindsnet_s": round(b["train_s"], 3),
                "bindsnet_samples_per_s": round(b["train_samples_per_s"], 2),
                "load1": _load()[0],
            }
        )
        loads.append(_load())
        print(json.dumps(rounds[-1]), flush=True)
    js = sum(x["jstdp_samples"] for x in rounds) / sum(x["jstdp_s"] for x in rounds)
    bs = sum(x["bindsnet_samples"] for x in rounds) / sum(
        x["bindsnet_s"] for x in rounds
    )
    tries = np.concatenate(trainer.tries)
    paths = np.concatenate(trainer.paths)
    result = {
        "neurons": args.neurons,
        "jstdp_train_samples_per_s": round(js, 2),
        "bindsnet_train_samples_per_s": round(bs, 2),
        "ratio": round(js / bs, 2),
        "jstdp_compile_s": round(trainer.compile_s, 2),
        "jstdp_presentations_per_sample": round(float(tries.mean()), 3),
        "jstdp_paths": {
            "fast": int(np.sum(paths == 0)),
            "fast_wide": int(np.sum(paths == 1)),
            "reference": int(np.sum(paths == 2)),
        },
        "jstdp_reference_path_samples_per_s": round(
            reference_speed(config, args.reference_samples), 3
        ),
        "ms_per_sample": where_time_goes(config, trainer),
        "rounds": rounds,
        "load1_5_15": loads,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "jax": jax.__version__,
        "fast_cpu_loops": FAST_LOOPS,
    }
    print(json.dumps(result), flush=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
