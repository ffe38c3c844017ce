"""One network over every device of every host, and a sweep across them.

A Diehl & Cook-shaped network (Poisson pixels -> excitatory neurons with an
adaptive threshold, plastic and normalised -> one inhibitory partner each ->
lateral inhibition of all other excitatory neurons) runs model parallel: the
excitatory and inhibitory populations, the rows of the plastic weights and
the postsynaptic traces are split over all devices (``sharding="model"``);
the lateral inhibition is an all-reduce. Then a sweep of small networks over
learning rates runs one parameter set per device slice (``run_sweep``).

Every process runs this same script (SPMD). On a TPU pod slice or a SLURM
cluster ``jax.distributed.initialize()`` reads the coordinator, the number of
processes and this process's id from the environment::

    # TPU pod slice (v4-32: 4 hosts x 4 chips), from your machine
    gcloud compute tpus tpu-vm ssh NAME --zone ZONE --worker=all \\
        --command "cd jstdp && python examples/multihost.py --neurons 6400"
    # SLURM GPU cluster: 2 nodes x 4 GPUs, one process per node
    srun --nodes 2 --ntasks-per-node 1 --gpus-per-node 4 \\
        python examples/multihost.py --neurons 6400
    # two CPU processes on this machine (loopback, gloo), 2 devices each
    python examples/multihost.py --cpu 2 --processes 2 --process-id 0 &
    python examples/multihost.py --cpu 2 --processes 2 --process-id 1

``--out DIR`` writes each process's results to ``DIR/process<i>.npz`` (the
test suite compares them with a single-process run).
"""

import argparse
import os
import time

import jax
import numpy as np

import jstdp
from jstdp.connections import AllToAllButSelf, Dense, OneToOne
from jstdp.rules import Clip, Normalize, NorseSTDP, chain

DT = 5e-4
EXC = jstdp.ConductanceLIFParameters(
    tau_mem_inv=1 / 20e-3, tau_e_inv=1 / 2e-3, tau_i_inv=1 / 4e-3, e_leak=-65.0,
    e_exc=0.0, e_inh=-100.0, v_th=-62.0, v_reset=-65.0, g_max=1.0, g_max_inh=1.0,
    t_ref=2e-3,
)  # fmt: skip
INH = jstdp.ConductanceLIFParameters(
    tau_mem_inv=1 / 10e-3, tau_e_inv=1 / 1e-3, tau_i_inv=1 / 2e-3, e_leak=-60.0,
    e_exc=0.0, e_inh=-85.0, v_th=-55.0, v_reset=-58.0, g_max=1.0, g_max_inh=1.0,
    t_ref=1e-3,
)  # fmt: skip
STDP = NorseSTDP(tau_pre_inv=50.0, tau_post_inv=40.0, eta_plus=0.05, eta_minus=0.04)


def network(n_inputs: int, n_exc: int, stdp: NorseSTDP = STDP) -> jstdp.Network:
    """Inputs -> excitatory (plastic, normalised) <-> inhibitory."""
    w0 = np.random.default_rng(0).uniform(0.0, 0.3, (n_exc, n_inputs))
    exc = jstdp.AdaptiveThreshold(EXC, theta_plus=0.5, tau_theta_inv=5.0)
    return jstdp.Network(
        populations=[
            jstdp.Input("x", (n_inputs,)),
            jstdp.Population("exc", exc, (n_exc,)),
            jstdp.Population("inh", INH, (n_exc,)),
        ],
        projections=[
            jstdp.Projection(
                "x", "exc", Dense(), w0, rule=stdp,
                transform=chain(Clip(0.0, 1.0), Normalize(0.1 * n_inputs)),
            ),
            jstdp.Projection("exc", "inh", OneToOne(), 3.0),
            jstdp.Projection("inh", "exc", AllToAllButSelf(), 1.0, receptor="inh"),
        ],
    )  # fmt: skip


def rates(n_inputs: int, batch: int) -> np.ndarray:
    """Fixed random pixel rates, 0-60 Hz, ``(batch, n_inputs)``."""
    return np.random.default_rng(1).uniform(0.0, 60.0, (batch, n_inputs))


def train(n_inputs, n_exc, batch, steps, sharding):
    """The model-parallel run: final state."""
    state, _ = jstdp.run(
        network(n_inputs, n_exc),
        jstdp.PoissonInput(rates(n_inputs, batch)),
        steps=steps, dt=DT, key=jax.random.key(2), sharding=sharding,
    )  # fmt: skip
    return state


def one_set(entry, steps):
    """One entry of the sweep: a small network; its weights and spike count."""
    stdp, key = entry
    state, _ = jstdp.run(
        network(64, 8, stdp), jstdp.PoissonInput(rates(64, 1)),
        steps=steps, dt=DT, key=key,
    )  # fmt: skip
    return state.weights["x->exc"], state.counts["exc"].sum()


def sweep(n_sets, steps, devices=None):
    """Learning rates swept over ``n_sets`` values, across all devices."""
    grid, _ = jstdp.parameter_grid(STDP, eta_plus=list(np.linspace(0.01, 0.1, n_sets)))
    keys = jax.random.split(jax.random.key(3), n_sets)
    return jstdp.run_sweep(one_set, (grid, keys), steps, devices=devices)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--neurons",
        type=int,
        default=0,
        help="excitatory neurons (default: 64 per device)",
    )
    parser.add_argument("--inputs", type=int, default=784)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=350)
    parser.add_argument(
        "--sets", type=int, default=0, help="sweep size (default: 2 per device)"
    )
    parser.add_argument(
        "--cpu",
        type=int,
        default=0,
        help="run on CPU with this many devices per process",
    )
    parser.add_argument("--coordinator", default="127.0.0.1:12355")
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="processes (default: from the cluster environment)",
    )
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()  # fmt: skip

    if args.cpu:
        jax.config.update("jax_platforms", "cpu")
        jax.config.update("jax_num_cpu_devices", args.cpu)
    if args.processes:
        jax.distributed.initialize(args.coordinator, args.processes, args.process_id)
    else:
        try:  # SLURM, TPU pods, ...: from the environment
            jax.distributed.initialize()
        except (ValueError, RuntimeError) as e:
            print(f"one process ({e})")
    n_devices = len(jax.devices())
    n_exc = args.neurons or 64 * n_devices
    n_sets = args.sets or 2 * n_devices
    say = print if jax.process_index() == 0 else lambda *a, **k: None
    say(f"{jax.process_count()} processes, {n_devices} devices: {jax.devices()}")

    start = time.perf_counter()
    state = train(args.inputs, n_exc, args.batch, args.steps, "model")
    w = state.weights["x->exc"]
    mib = w.addressable_shards[0].data.nbytes / 2**20
    say(f"model parallel: {args.inputs} -> {n_exc} neurons, {args.steps} steps, "
        f"{time.perf_counter() - start:.1f} s; w {w.shape} split as "
        f"{w.sharding.spec}, {mib:.1f} MiB per device")  # fmt: skip
    results = jstdp.gather(
        {"w": w, "counts": state.counts["exc"], "theta": state.neurons["exc"].theta}
    )
    say(f"excitatory spikes: {int(results['counts'].sum())}")

    start = time.perf_counter()
    w_sweep, spikes = sweep(n_sets, args.steps)
    say(f"sweep of {n_sets} networks over {n_devices} devices: "
        f"{time.perf_counter() - start:.1f} s; spikes per set "
        f"{np.asarray(spikes)}")  # fmt: skip
    results |= {"w_sweep": np.asarray(w_sweep), "spikes_sweep": np.asarray(spikes)}
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        np.savez(os.path.join(args.out, f"process{jax.process_index()}.npz"), **results)


if __name__ == "__main__":
    main()
