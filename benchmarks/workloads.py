"""The benchmark workloads and how each side runs them.

Norse runs as a Norse user runs it: a Python loop of ``stdp_step_*`` on torch
CPU tensors. jstdp runs as a JAX user runs it: one call of the public
``simulate_*`` / ``run_linear`` function, which is the whole ``T``-step loop
under ``lax.scan`` in one jitted call; the result is waited for with
``jax.block_until_ready``.

Spikes are Bernoulli with probability ``SPIKE_P`` per step (50 Hz at
dt = 1 ms), from a fixed NumPy seed, identical for both sides; initial
weights are uniform in ``[0, 1)``; hard bounds are on.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import torch
from norse.torch.functional import stdp as norse_stdp

import jstdp

DT = 1e-3
MU = 0.5
# One extra row at another mu: the general exp(mu log x) power, not sqrt.
GENERAL_MU = 0.75
SPIKE_P = 0.05
ALGORITHMS = ("additive", "multiplicative_pow")


@dataclasses.dataclass(frozen=True)
class Workload:
    """One open-loop STDP workload.

    ``pre`` is ``(n_pre,)`` for a dense layer or ``(C_in, H, W)`` for conv2d;
    ``post`` likewise; ``kernel``/``padding`` only for conv2d.
    """

    name: str
    batch: int
    pre: tuple[int, ...]
    post: tuple[int, ...]
    steps: int
    kernel: int = 0
    padding: int = 0

    @property
    def conv(self) -> bool:
        return len(self.pre) == 3

    @property
    def w_shape(self) -> tuple[int, ...]:
        if self.conv:
            return (self.post[0], self.pre[0], self.kernel, self.kernel)
        return (self.post[0], self.pre[0])

    def flops(self) -> float:
        """Both Hebbian contractions of one step (multiply-add = 2 flops)."""
        if self.conv:
            c_out, h_out, w_out = self.post
            c_in = self.pre[0]
            return 2 * 2.0 * self.batch * c_out * h_out * w_out * c_in * self.kernel**2
        return 2 * 2.0 * self.batch * self.pre[0] * self.post[0]

    def bytes(self) -> float:
        """One read and one write of the float32 weights per step."""
        return 2 * 4.0 * float(np.prod(self.w_shape))

    def describe(self) -> str:
        if self.conv:
            c_in, h, w = self.pre
            return (
                f"B={self.batch}, {c_in}->{self.post[0]} ch, {h}x{w}, "
                f"k={self.kernel}, pad={self.padding}"
            )
        return f"B={self.batch}, {self.pre[0]}->{self.post[0]}"


FULL = (
    Workload("L-small", 1, (100,), (10,), 2000),
    Workload("L-mid", 32, (784,), (400,), 200),
    Workload("L-big", 8, (4096,), (4096,), 30),
    Workload("C-mnist", 8, (2, 28, 28), (32, 28, 28), 100, kernel=5, padding=2),
    Workload("C-deep", 16, (32, 16, 16), (64, 16, 16), 30, kernel=3, padding=1),
)
# 1% of the neurons spike per 1 ms step (10 Hz): the event-driven rows.
SPARSE_P = 0.01
SPARSE = (
    Workload("L-mid", 1, (784,), (400,), 400),
    Workload("L-mid", 32, (784,), (400,), 200),
    Workload("L-big", 1, (4096,), (4096,), 100),
    Workload("L-big", 32, (4096,), (4096,), 20),
)
QUICK_SPARSE = (
    Workload("L-mid", 1, (196,), (100,), 40),
    Workload("L-big", 1, (1024,), (1024,), 10),
)
QUICK = (
    Workload("L-small", 1, (100,), (10,), 200),
    Workload("L-mid", 8, (196,), (100,), 20),
    Workload("L-big", 2, (1024,), (1024,), 5),
    Workload("C-mnist", 2, (2, 14, 14), (8, 14, 14), 10, kernel=5, padding=2),
    Workload("C-deep", 2, (8, 8, 8), (16, 8, 8), 5, kernel=3, padding=1),
)


@dataclasses.dataclass
class Data:
    """Spike trains ``(T, B, ...)`` and initial weights, as NumPy float32."""

    z_pre: np.ndarray
    z_post: np.ndarray
    w: np.ndarray


def make_data(
    wl: Workload, steps: int | None = None, seed: int = 0, p: float = SPIKE_P
) -> Data:
    """Bernoulli spikes with probability ``p`` per neuron and step."""
    rng = np.random.default_rng(seed)
    steps = wl.steps if steps is None else steps
    spikes = lambda shape: (rng.random((steps, wl.batch, *shape)) < p).astype(
        np.float32
    )
    return Data(
        z_pre=spikes(wl.pre),
        z_post=spikes(wl.post),
        w=rng.random(wl.w_shape, dtype=np.float32),
    )


def jstdp_params(wl: Workload, algorithm: str, **values) -> jstdp.STDPParameters:
    geometry = dict(convolutional=True, padding=wl.padding) if wl.conv else {}
    values = {"mu": MU, **values}
    return jstdp.STDPParameters(
        stdp_algorithm=algorithm, hardbound=True, **geometry, **values
    )


def norse_params(wl: Workload, algorithm: str, **values):
    geometry = dict(convolutional=True, padding=wl.padding) if wl.conv else {}
    values = {"mu": MU, **values}
    return norse_stdp.STDPParameters(
        stdp_algorithm=algorithm, hardbound=True, **geometry, **values
    )


Runner = Callable[[], np.ndarray]


def jstdp_open_loop(wl: Workload, algorithm: str, data: Data, **values) -> Runner:
    """One call of ``simulate_linear`` / ``simulate_conv2d`` over all T steps."""
    simulate = jstdp.simulate_conv2d if wl.conv else jstdp.simulate_linear
    p = jstdp_params(wl, algorithm, **values)
    z_pre, z_post, w0 = map(jnp.asarray, (data.z_pre, data.z_post, data.w))

    def run() -> np.ndarray:
        w, _, _ = simulate(z_pre, z_post, w0, None, p, DT)
        return jax.block_until_ready(w)

    return run


def norse_open_loop(wl: Workload, algorithm: str, data: Data, **values) -> Runner:
    """Norse's ``stdp_step_*`` in a Python loop over the T steps.

    The runner takes an optional ``steps`` (a shorter warm-up run).
    """
    step = norse_stdp.stdp_step_conv2d if wl.conv else norse_stdp.stdp_step_linear
    p = norse_params(wl, algorithm, **values)
    z_pre, z_post = torch.from_numpy(data.z_pre), torch.from_numpy(data.z_post)
    w0 = torch.from_numpy(data.w)

    def run(steps: int | None = None) -> torch.Tensor:
        w = w0.clone()
        state = norse_stdp.STDPState(
            torch.zeros(z_pre.shape[1:]), torch.zeros(z_post.shape[1:])
        )
        for t in range(z_pre.shape[0] if steps is None else steps):
            w, state = step(z_pre[t], z_post[t], w, state, p, DT)
        return w

    return run


# --- Sweep: 64 parameter sets of an L-mid-sized run ---------------------------


def sweep_grid(kind: str, k: int) -> list[dict[str, float]]:
    """``k`` parameter sets (``k`` a square): an ``eta`` or a ``tau`` grid.

    ``eta``: eta_plus x eta_minus. Only the learning rates differ, so vmap
    computes the traces and the Hebbian products once for all sets (each set
    still has its own weights and weight update).
    ``tau``: tau_pre_inv x tau_post_inv. Every set has its own traces and
    products: the work of ``k`` independent runs.
    """
    side = round(k**0.5)
    if kind == "eta":
        values = np.geomspace(2e-4, 2e-3, side).tolist()
        names = ("eta_plus", "eta_minus")
    else:
        values = np.linspace(10.0, 50.0, side).tolist()
        names = ("tau_pre_inv", "tau_post_inv")
    return [dict(zip(names, v, strict=True)) for v in itertools.product(values, values)]


def jstdp_sweep(wl: Workload, algorithm: str, data: Data, grid) -> Runner:
    """All parameter sets in one ``jax.jit(jax.vmap(...))`` call.

    This is what ``jstdp.run_sweep`` compiles on one device; it is called
    directly so that repeated calls reuse the compiled function.
    """
    base = jstdp_params(wl, algorithm)
    z_pre, z_post, w0 = map(jnp.asarray, (data.z_pre, data.z_post, data.w))
    stacked = {
        name: jnp.asarray([row[name] for row in grid], jnp.float32) for name in grid[0]
    }

    def one(values):
        return jstdp.simulate_linear(z_pre, z_post, w0, None, base.replace(**values))[0]

    sweep = jax.jit(jax.vmap(one))

    def run() -> np.ndarray:
        return jax.block_until_ready(sweep(stacked))

    return run


def norse_sweep(wl: Workload, algorithm: str, data: Data, grid) -> Runner:
    """The parameter sets one after the other, each a Norse Python loop."""
    runs = [norse_open_loop(wl, algorithm, data, **values) for values in grid]

    def run(steps: int | None = None) -> torch.Tensor:
        return torch.stack([r(steps) for r in runs])

    return run


# --- Song, Miller & Abbott (2000): closed loop --------------------------------

SONG_DT = 1e-4
SONG_INPUTS = 1000
SONG_RATE_HZ = 10.0
# dt * tau_inv * a = 0.005 per spike at dt = 0.1 ms, so eta 1.0 / 1.05 give
# Song's A+ = 0.005 and B = 1.05 (see shared notes/song2000.md).
SONG_STDP = dict(
    tau_pre_inv=50.0, tau_post_inv=50.0, eta_plus=1.0, eta_minus=1.05, mu=0.0
)


def jstdp_song(steps: int, seed: int = 0, events: bool = False) -> Runner:
    """``run_linear`` with ``PoissonInput`` and the conductance LIF neuron; with
    ``events``, ``run_linear_events``: the same neuron, rule and initial
    weights, the inputs drawn as events (the same Bernoulli process, another
    random stream)."""
    p = jstdp.STDPParameters(stdp_algorithm="additive", hardbound=True, **SONG_STDP)
    neuron = jstdp.ConductanceLIFParameters()
    rates = jnp.full((1, SONG_INPUTS), SONG_RATE_HZ, jnp.float32)
    w0 = jnp.asarray(np.random.default_rng(seed).random((1, SONG_INPUTS)), jnp.float32)
    key = jax.random.key(seed)
    loop = jstdp.run_linear_events if events else jstdp.run_linear

    def run() -> np.ndarray:
        out = loop(
            jstdp.PoissonInput(rates), w0, p, neuron, SONG_DT, steps=steps, key=key
        )
        return jax.block_until_ready(out[0])

    return run


def song_grid(k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` (g_max, A-/A+) pairs, an 8 x 8 grid for 64: the README sweep and
    Brian2's (``brian2_song2000.py sweep``)."""
    side = round(k**0.5)
    ratio, g_max = np.meshgrid(
        np.linspace(1.0, 1.1, side), np.linspace(0.013, 0.02, side)
    )
    return g_max.ravel(), ratio.ravel()


def jstdp_song_sweep(steps: int, k: int, seed: int = 0) -> Runner:
    """``k`` Song runs in one ``jax.jit(jax.vmap(run_linear))`` call.

    Every configuration gets the same key, so they share one input draw per
    step (the same input spikes, as a sweep over neuron and rule parameters
    wants: common random numbers); initial weights as in :func:`jstdp_song`.
    """
    g_max, ratio = song_grid(k)
    base = jstdp.STDPParameters(stdp_algorithm="additive", hardbound=True, **SONG_STDP)
    p_stdp, _ = jstdp.parameter_grid(
        base, "zip", eta_minus=list(SONG_STDP["eta_plus"] * ratio)
    )
    p_neuron, _ = jstdp.parameter_grid(
        jstdp.ConductanceLIFParameters(), "zip", g_max=list(g_max)
    )
    rates = jnp.full((1, SONG_INPUTS), SONG_RATE_HZ, jnp.float32)
    w0 = jnp.asarray(np.random.default_rng(seed).random((1, SONG_INPUTS)), jnp.float32)
    key = jax.random.key(seed)

    def one(p, neuron):
        w, state, _ = jstdp.run_linear(
            jstdp.PoissonInput(rates), w0, p, neuron, SONG_DT, steps=steps, key=key
        )
        return w, state.spike_count[0, 0]

    sweep = jax.jit(jax.vmap(one))

    def run() -> np.ndarray:
        return jax.block_until_ready(sweep(p_stdp, p_neuron))

    return run


def norse_song(steps: int, seed: int = 0) -> Runner:
    """The same closed loop in torch: Poisson draw, drive ``z @ w.T``, the
    conductance LIF equations of ``jstdp.ConductanceLIFParameters.step``
    (Norse has no conductance-based LIF), Norse's ``stdp_step_linear``."""
    p = norse_stdp.STDPParameters(
        stdp_algorithm="additive",
        hardbound=True,
        **{k: torch.as_tensor(v) for k, v in SONG_STDP.items() if k != "mu"},
    )
    n = jstdp.ConductanceLIFParameters()
    w0 = torch.from_numpy(
        np.random.default_rng(seed).random((1, SONG_INPUTS)).astype(np.float32)
    )
    gen = torch.Generator().manual_seed(seed)
    dt = SONG_DT

    def run(steps_now: int | None = None) -> torch.Tensor:
        w = w0.clone()
        v = torch.full((1, 1), n.e_leak)
        g = torch.zeros(1, 1)
        state = norse_stdp.STDPState(torch.zeros(1, SONG_INPUTS), torch.zeros(1, 1))
        for _ in range(steps if steps_now is None else steps_now):
            z_in = (torch.rand(1, SONG_INPUTS, generator=gen) < SONG_RATE_HZ * dt).to(
                torch.float32
            )
            g = g + n.g_max * torch.nn.functional.linear(z_in, w)
            v = v + dt * n.tau_mem_inv * ((n.e_leak - v) + g * (n.e_exc - v))
            g = g - dt * n.tau_e_inv * g
            z = (v - n.v_th > 0).to(torch.float32)
            v = (1 - z) * v + z * n.v_reset
            w, state = norse_stdp.stdp_step_linear(z_in, z, w, state, p, dt)
        return w

    return run
