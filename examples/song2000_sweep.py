"""Song, Miller & Abbott (2000) with jstdp, swept over 64 parameter sets at once.

1000 independent 10 Hz Poisson inputs drive one conductance-based LIF neuron
through weights in [0, 1] that learn with additive STDP (hard bounds). With
depression slightly stronger than potentiation (eta_minus / eta_plus > 1) the
weights split into two groups, near 0 and near 1: the bimodal distribution of
the paper. Norse's traces jump by ``dt * tau_inv`` per spike, so Song's
per-pairing A+ = 0.005 is ``eta_plus = 0.1`` at tau = 20 ms, dt = 1 ms.

The sweep crosses 8 ratios eta_minus / eta_plus with 8 input strengths g_max
(64 runs, one compiled call, sharded over all devices if there are several)::

    python examples/song2000_sweep.py                 # 20 s of simulated time
    python examples/song2000_sweep.py --seconds 500   # closer to the steady state
    python examples/song2000_sweep.py --sequential    # also time 64 separate runs
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import jstdp

N_INPUTS, RATE_HZ, DT = 1000, 10.0, 1e-3
STDP = jstdp.STDPParameters(
    tau_pre_inv=50.0, tau_post_inv=50.0, eta_plus=0.1, eta_minus=0.105
)
NEURON = jstdp.ConductanceLIFParameters(g_max=0.015)


def song2000(entry, steps):
    """One run: ``(p_stdp, p_neuron, key)`` -> (final weights, mean rate in Hz)."""
    p_stdp, p_neuron, key = entry
    key_w, key_run = jax.random.split(key)
    w0 = jax.random.uniform(key_w, (1, N_INPUTS))  # one neuron, uniform weights
    inputs = jstdp.PoissonInput(jnp.full((1, N_INPUTS), RATE_HZ))
    w, state, _ = jstdp.run_linear(
        inputs, w0, p_stdp, p_neuron, DT, steps=steps, key=key_run
    )
    return w[0], state.spike_count[0, 0] / (steps * DT)


def near_bounds(w):
    """Fraction of weights within 10% of either bound (bimodality)."""
    return jnp.mean((w < 0.1) | (w > 0.9), axis=-1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sequential", action="store_true")
    args = parser.parse_args()
    steps = round(args.seconds / DT)

    ratio, g_max = np.meshgrid(np.linspace(1.0, 1.1, 8), np.linspace(0.013, 0.02, 8))
    p_stdp, rows = jstdp.parameter_grid(
        STDP, "zip", eta_minus=list(0.1 * ratio.ravel())
    )
    p_neuron, _ = jstdp.parameter_grid(NEURON, "zip", g_max=list(g_max.ravel()))
    keys = jax.random.split(jax.random.key(0), len(rows))

    start = time.perf_counter()
    w, rate = jstdp.run_sweep(song2000, (p_stdp, p_neuron, keys), steps)
    jax.block_until_ready(w)
    print(f"64 runs x {args.seconds:g} s, one vmapped call: "
          f"{time.perf_counter() - start:.1f} s wall (incl. compile)")  # fmt: skip

    print(" eta-/eta+   g_max   rate(Hz)  near 0  near 1  mean w")
    for k in range(len(rows)):
        print(
            f"{ratio.ravel()[k]:9.3f} {g_max.ravel()[k]:7.4f} {float(rate[k]):9.1f}"
            f" {float(jnp.mean(w[k] < 0.1)):7.2f} {float(jnp.mean(w[k] > 0.9)):7.2f}"
            f" {float(jnp.mean(w[k])):7.3f}"
        )
    print(f"fraction within 10% of a bound: mean {float(near_bounds(w).mean()):.2f}")

    if args.sequential:
        one = jax.jit(song2000, static_argnums=1)
        start = time.perf_counter()
        for k in range(len(rows)):
            entry = jax.tree.map(lambda x, k=k: x[k], (p_stdp, p_neuron, keys))
            w_k, _ = one(entry, steps)
            jax.block_until_ready(w_k)
        print(f"64 sequential runs: {time.perf_counter() - start:.1f} s wall "
              "(incl. one compile)")  # fmt: skip


if __name__ == "__main__":
    main()
