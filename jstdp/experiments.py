"""The experiments behind the ``jstdp`` command, as plain functions.

- :func:`song2000`: Song, Miller & Abbott (2000) and Guetig et al. (2003).
  Independent Poisson inputs drive one conductance-based LIF neuron through
  plastic weights; additive STDP splits the weights into two groups at the
  bounds, weight-dependent STDP (``multiplicative_pow`` with growing ``mu``)
  makes the distribution unimodal.
- :func:`receptive_fields`: conv2d STDP on ON/OFF filtered natural images.
- :func:`stdp_window`: the weight change of one pre/post spike pair against
  the lag, measured with :func:`jstdp.simulate_linear`.

Every configuration of an experiment runs in one compiled call: the numeric
parameters are stacked leaves (``jstdp.parameter_grid``) mapped with
``jax.vmap``, and the closed loops are :func:`jstdp.run_linear` and
:func:`jstdp.run_conv2d`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jstdp._checks import validate_parameters
from jstdp._neurons import (
    ConductanceLIFParameters,
    LIFFeedForwardState,
    LIFParameters,
    lif_feed_forward_step,
)
from jstdp._parameters import ALGORITHMS, STDPParameters, STDPState
from jstdp._simulate import (
    PoissonInput,
    RunState,
    run_conv2d,
    run_linear,
    simulate_linear,
)
from jstdp._sweep import parameter_grid

# The mu that Norse forces for the rules that ignore it (reported in the rows).
NORSE_MU = {"additive": 0.0, "additive_step": 0.0, "multiplicative_relu": 1.0}
# "Near a bound": within this fraction of the weight range from it.
NEAR = 0.1


def _check(name: str, ok: bool, got: object, want: str) -> None:
    if not ok:
        raise ValueError(f"{name} must be {want}, got {got!r}")


@dataclasses.dataclass(frozen=True)
class Song2000Config:
    """Settings of :func:`song2000` (defaults: the ``jstdp song2000`` command).

    Model (Song, Miller & Abbott 2000, Brian2's ``examples/synapses/STDP.py``):
    ``inputs`` independent Poisson trains at ``rate_hz`` drive one
    conductance-based LIF neuron (:class:`jstdp.ConductanceLIFParameters`:
    tau_mem 10 ms, E_L -74 mV, E_e 0 mV, v_th -54 mV, v_reset -60 mV,
    tau_e 5 ms); an input spike through weight ``w`` in ``[0, 1]`` adds
    ``g_max * w`` to the conductance. Initial weights are uniform in
    ``[0, 1]``.

    STDP (Norse's rule, hard bounds ``[0, 1]``): ``tau_pre = tau_post =
    tau_stdp``; a pre/post pair at zero lag changes ``w`` by ``a_plus``
    (potentiation) and ``depression * a_plus`` (depression). Norse's traces
    jump by ``dt / tau`` per spike, so ``eta_plus = a_plus * tau / dt`` and
    ``eta_minus = depression * eta_plus``; expressing the rule by ``a_plus``
    keeps the physics the same at every ``dt``.

    Defaults, and why (measured for seeds 0-2; "near" is within 0.1 of a
    bound): 15 Hz inputs (Brian2's example rate) and ``g_max = 0.011``,
    about the mean drive of Song's 0.015 at 10 Hz. ``g_max`` sets how many
    strong synapses the neuron needs to fire: at 0.011 additive STDP ends
    with ~33% of the weights near 0 and ~18% near 1, output 12-15 Hz; a
    stronger synapse needs fewer of them (with ``a_plus = 0.01``, 0.015:
    ~45% / ~13% after 300 s; 0.025: ~55% / ~4% after 80 s, a J shape), a
    weaker one makes the neuron fire too little to drive the competition
    (0.009: 7 Hz, ~20% / ~20%; 0.008: silent, the weights stay uniform).
    Weight-dependent rules keep the weights near 0.5, so ``g_max`` also
    sets their output: ~25-85 Hz for ``mu >= 0.05`` at 0.011 (~500 Hz, the
    ceiling at 1 ms, at 0.025).
    ``a_plus = 0.0075`` (``eta_plus = 0.15`` at 1 ms) separates the weights
    best within the run: 0.01 is about as good, larger values (0.0125,
    0.02) blur the peaks, smaller ones (Song's 0.005) separate them more
    slowly. 200 s (200,000 steps at 1 ms) keeps ``jstdp song2000`` under
    a minute on two CPU cores; the groups still grow slowly after it
    (~36% / ~20% at 300 s).

    Args:
        seconds: simulated time, s.
        dt: time step, s; ``0 < dt <= 1e-3``.
        inputs: number of Poisson inputs.
        rate_hz: input rate, Hz.
        g_max: peak conductance per unit weight, in units of the leak.
        a_plus: potentiation of one pair at zero lag, in units of ``w_max``.
        depression: ``eta_minus * tau_minus / (eta_plus * tau_plus)``.
        tau_stdp: trace time constant, s.
        algorithms: the STDP rules to run (``jstdp.ALGORITHMS``).
        mus: the ``mu`` values of ``multiplicative_pow``.
        seeds: one run per seed and configuration; a seed fixes the inputs
            and the initial weights, shared by all configurations.
        chunks: the run is split into this many equal compiled calls (for
            the progress bar and the time course); a multiple of 10, so the
            output rate is measured over exactly the last 10%.
    """

    seconds: float = 200.0
    dt: float = 1e-3
    inputs: int = 1000
    rate_hz: float = 15.0
    g_max: float = 0.011
    a_plus: float = 0.0075
    depression: float = 1.05
    tau_stdp: float = 0.02
    algorithms: tuple[str, ...] = ALGORITHMS
    mus: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
    seeds: tuple[int, ...] = (0,)
    chunks: int = 50

    def __post_init__(self) -> None:
        finite = lambda x: isinstance(x, (int, float)) and math.isfinite(x)
        for name in ("seconds", "rate_hz", "g_max", "a_plus", "tau_stdp"):
            value = getattr(self, name)
            _check(name, finite(value) and value > 0, value, "a finite number > 0")
        _check("dt", finite(self.dt) and 0 < self.dt <= 1e-3, self.dt, "in (0, 1e-3]")
        _check(
            "depression",
            finite(self.depression) and self.depression >= 1,
            self.depression,
            ">= 1 (depression at least as strong as potentiation)",
        )
        _check("rate_hz * dt", self.rate_hz * self.dt <= 1, self.rate_hz, "<= 1 / dt")
        _check(
            "inputs",
            isinstance(self.inputs, int) and self.inputs >= 1,
            self.inputs,
            "an int >= 1",
        )
        _check(
            "chunks",
            isinstance(self.chunks, int)
            and self.chunks >= 10
            and self.chunks % 10 == 0,
            self.chunks,
            "a multiple of 10",
        )
        object.__setattr__(self, "algorithms", tuple(self.algorithms))
        object.__setattr__(self, "mus", tuple(float(m) for m in self.mus))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        unknown = [a for a in self.algorithms if a not in ALGORITHMS]
        _check(
            "algorithms",
            bool(self.algorithms)
            and not unknown
            and len(set(self.algorithms)) == len(self.algorithms),
            self.algorithms,
            f"distinct names from {', '.join(ALGORITHMS)}",
        )
        _check(
            "mus",
            bool(self.mus) and all(math.isfinite(m) and m >= 0 for m in self.mus),
            self.mus,
            "a non-empty list of finite numbers >= 0",
        )
        _check(
            "seeds",
            bool(self.seeds)
            and all(isinstance(s, int) and 0 <= s < 2**32 for s in self.seeds)
            and len(set(self.seeds)) == len(self.seeds),
            self.seeds,
            "a non-empty list of distinct ints in [0, 2**32)",
        )
        _check(
            "seconds",
            round(self.seconds / self.dt) >= self.chunks,
            self.seconds,
            f">= chunks * dt = {self.chunks * self.dt:g} (one step per chunk)",
        )

    @property
    def steps(self) -> int:
        """Steps per chunk times ``chunks`` (``seconds`` rounded up to it)."""
        return self.chunk_steps * self.chunks

    @property
    def chunk_steps(self) -> int:
        """Steps of one compiled call."""
        return math.ceil(round(self.seconds / self.dt) / self.chunks)

    @property
    def eta_plus(self) -> float:
        """Norse's ``eta_plus``: ``a_plus * tau_stdp / dt``."""
        return self.a_plus * self.tau_stdp / self.dt

    @property
    def eta_minus(self) -> float:
        """Norse's ``eta_minus``: ``depression * eta_plus``."""
        return self.depression * self.eta_plus

    def groups(self) -> list[tuple[str, tuple[float, ...]]]:
        """``(algorithm, mus)`` per static rule: the mu sweep for the pow rule."""
        return [
            (a, self.mus if a == "multiplicative_pow" else (NORSE_MU[a],))
            for a in self.algorithms
        ]

    def stdp_parameters(self, algorithm: str) -> STDPParameters:
        """The STDP parameters of one rule (``mu`` is swept separately)."""
        tau_inv = 1.0 / self.tau_stdp
        p = STDPParameters(
            tau_pre_inv=tau_inv,
            tau_post_inv=tau_inv,
            eta_plus=self.eta_plus,
            eta_minus=self.eta_minus,
            stdp_algorithm=algorithm,
        )
        return validate_parameters(p, dt=self.dt)

    def neuron(self) -> ConductanceLIFParameters:
        """The output neuron."""
        return validate_parameters(ConductanceLIFParameters(g_max=self.g_max), self.dt)


@dataclasses.dataclass(frozen=True)
class Song2000Result:
    """What :func:`song2000` measured.

    Args:
        config: the settings.
        rows: one dict per run (rule, mu, seed), the ``jstdp song2000`` JSON
            line: ``algorithm``, ``mu``, ``seed``, ``seconds``, ``dt``,
            ``frac_near_min``, ``frac_near_max``, ``mean``, ``std``,
            ``rate_hz`` (output rate over the last 10% of the run), ``wall_s``
            (wall time of the one compiled run of all rows, compilation
            included).
        weights: ``(len(rows), inputs)`` final weights.
        times_s: ``(chunks,)`` end time of each chunk.
        frac_near_min_t, frac_near_max_t, rate_hz_t: ``(len(rows), chunks)``
            the fractions after each chunk and the output rate during it.
        compile_s: compilation time; ``steps_per_s`` is measured without it.
        steps_per_s: simulated steps per second of wall time (all rows).
    """

    config: Song2000Config
    rows: list[dict[str, Any]]
    weights: np.ndarray
    times_s: np.ndarray
    frac_near_min_t: np.ndarray
    frac_near_max_t: np.ndarray
    rate_hz_t: np.ndarray
    compile_s: float
    steps_per_s: float


def _near_bounds(w: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Fractions of ``w`` (in ``[0, 1]``, last axis) near 0 and near 1."""
    return jnp.mean(w <= NEAR, axis=-1), jnp.mean(w >= 1 - NEAR, axis=-1)


@functools.partial(jax.jit, static_argnames=("steps",))
def _song2000_chunk(carry, params, p_neuron, keys, rates, dt, step, *, steps):
    """``steps`` more steps of every run; one compiled call for all of them.

    ``carry[g]`` holds rule group ``g``'s weights ``(S, K, 1, n)``, neuron
    and trace states for ``S`` seeds and ``K`` configurations;
    ``params[g]`` its ``K`` stacked STDP parameters; ``keys`` one input key
    per seed. Within a seed, all configurations share the key (and the step
    count), so they see the same input spikes, drawn once per step. Returns
    the new carry and, per group, the fractions near the bounds and the
    output spike count of this chunk, each ``(S, K)``.
    """

    def run(w, neuron, stdp, p, key):
        count = jnp.zeros((1, 1), jnp.int32)
        state = RunState(neuron=neuron, stdp=stdp, step=step, spike_count=count)
        w, state, _ = run_linear(
            PoissonInput(rates), w, p, p_neuron, dt, steps=steps, key=key, state=state
        )
        return (w, state.neuron, state.stdp), state.spike_count[0, 0]

    over_configs = jax.vmap(run, in_axes=(0, 0, 0, 0, None))
    over_seeds = jax.vmap(over_configs, in_axes=(0, 0, 0, None, 0))
    out = [over_seeds(*c, p, keys) for c, p in zip(carry, params, strict=True)]
    carry = tuple(c for c, _ in out)
    stats = tuple((*_near_bounds(w[..., 0, :]), count) for (w, _, _), count in out)
    return carry, stats


def song2000(
    config: Song2000Config | None = None, progress: bool = False
) -> Song2000Result:
    """Run Song et al. (2000) for every rule, ``mu`` and seed of ``config``.

    One compiled function advances all runs together (called ``chunks``
    times, for the progress bar and the time course). The rule
    (``stdp_algorithm``) is static, so each rule is one ``vmap`` group
    inside that function (seeds x mus for ``multiplicative_pow``, seeds for
    the others); a seed's configurations share its input spikes and initial
    weights.

    Args:
        config: settings (default ``Song2000Config()``).
        progress: show a tqdm progress bar (on stderr, only on a terminal).

    Returns:
        A :class:`Song2000Result`.
    """
    config = Song2000Config() if config is None else config
    start = time.perf_counter()
    n, n_seeds = config.inputs, len(config.seeds)
    keys = jnp.stack([jax.random.key(s) for s in config.seeds])
    w_keys, input_keys = (jax.vmap(jax.random.split)(keys)[:, i] for i in (0, 1))
    w0 = jax.vmap(lambda k: jax.random.uniform(k, (1, n)))(w_keys)
    p_neuron = config.neuron()
    rates = jnp.full((1, n), config.rate_hz, jnp.float32)

    params, carry = [], []
    for algorithm, mus in config.groups():
        grid, _ = parameter_grid(config.stdp_parameters(algorithm), mu=list(mus))
        params.append(grid)
        shape = (n_seeds, len(mus))
        single = (
            p_neuron.initial_state((1, 1), jnp.float32),
            STDPState(jnp.zeros((1, n)), jnp.zeros((1, 1))),
        )
        w = jnp.broadcast_to(w0[:, None], (*shape, 1, n))
        carry.append(
            (
                w,
                *jax.tree.map(
                    lambda x, s=shape: jnp.broadcast_to(x, s + x.shape), single
                ),
            )
        )
    carry, params = tuple(carry), tuple(params)

    args = (p_neuron, input_keys, rates, config.dt)
    compiled = _song2000_chunk.lower(
        carry, params, *args, jnp.int32(0), steps=config.chunk_steps
    ).compile()
    compile_s = time.perf_counter() - start
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, unit="step", unit_scale=True, disable=None)
        runs = _n_rows(config)
        bar.set_description(f"song2000: {runs} run{'s' if runs > 1 else ''}")
    chunk_stats = []
    run_start = time.perf_counter()
    for c in range(config.chunks):
        carry, stats = compiled(carry, params, *args, jnp.int32(c * config.chunk_steps))
        chunk_stats.append(jax.device_get(stats))
        if bar is not None:
            bar.update(config.chunk_steps)
    weights = jax.device_get([w for w, _, _ in carry])
    run_s = time.perf_counter() - run_start
    if bar is not None:
        bar.close()
    wall_s = time.perf_counter() - start
    return _song2000_result(
        config, weights, chunk_stats, compile_s, config.steps / run_s, wall_s
    )


def _n_rows(config: Song2000Config) -> int:
    return sum(len(mus) for _, mus in config.groups()) * len(config.seeds)


def _song2000_result(config, weights, chunk_stats, compile_s, steps_per_s, wall_s):
    """Rows, weights and time courses in a fixed order: rule, mu, seed."""
    chunk_s = config.chunk_steps * config.dt
    rows, w_rows, lo_t, hi_t, rate_t = [], [], [], [], []
    for g, (algorithm, mus) in enumerate(config.groups()):
        # (chunks, 3, S, K) -> per row (3, chunks)
        stats = np.stack([np.stack(chunk[g]) for chunk in chunk_stats])
        for k, mu in enumerate(mus):
            for s, seed in enumerate(config.seeds):
                w = np.asarray(weights[g][s, k, 0], np.float64)
                lo, hi, count = stats[:, :, s, k].T
                rate = count / chunk_s
                last = config.chunks // 10
                rows.append(
                    {
                        "algorithm": algorithm,
                        "mu": mu,
                        "seed": seed,
                        "seconds": config.steps * config.dt,
                        "dt": config.dt,
                        "frac_near_min": float(np.mean(w <= NEAR)),
                        "frac_near_max": float(np.mean(w >= 1 - NEAR)),
                        "mean": round(float(w.mean()), 5),
                        "std": round(float(w.std()), 5),
                        "rate_hz": round(float(rate[-last:].mean()), 3),
                        "wall_s": round(wall_s, 3),
                    }
                )
                w_rows.append(w)
                lo_t.append(lo)
                hi_t.append(hi)
                rate_t.append(rate)
    return Song2000Result(
        config=config,
        rows=rows,
        weights=np.stack(w_rows),
        times_s=chunk_s * np.arange(1, config.chunks + 1),
        frac_near_min_t=np.stack(lo_t),
        frac_near_max_t=np.stack(hi_t),
        rate_hz_t=np.stack(rate_t),
        compile_s=compile_s,
        steps_per_s=steps_per_s,
    )


def _label(row: dict[str, Any]) -> str:
    if row["algorithm"] == "multiplicative_pow":
        return f"pow mu={row['mu']:g}"
    return row["algorithm"]


def song2000_figure(result: Song2000Result) -> Any:
    """The ``jstdp song2000`` figure (a ``matplotlib.figure.Figure``).

    Top: the final weight histogram of every configuration (first seed),
    with the fractions near each bound in the corners. Bottom left: fraction
    of weights near the bounds against ``mu`` (``multiplicative_pow``; every
    seed a dot, the line their mean), the other rules as horizontal lines.
    Bottom right: fraction near the bounds over time (first seed).
    """
    from jstdp import plot

    config, rows = result.config, result.rows
    first = [i for i, r in enumerate(rows) if r["seed"] == config.seeds[0]]
    ncols = min(4, len(first))
    nrows = -(-len(first) // ncols)
    fig = plot.new_figure(figsize=(3.2 * ncols, 2.3 * nrows + 3.2))
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[1] * nrows + [1.5])
    for j, i in enumerate(first):
        ax = fig.add_subplot(grid[j // ncols, j % ncols])
        plot.weight_histogram(result.weights[i], ax, title=_label(rows[i]), near=NEAR)
        ax.set_xlabel("")
    half = max(1, ncols // 2)
    ax_mu = fig.add_subplot(grid[nrows, :half])
    ax_t = fig.add_subplot(grid[nrows, half:] if ncols > 1 else grid[nrows, :])
    near = np.array([r["frac_near_min"] + r["frac_near_max"] for r in rows])
    pow_rows = [i for i, r in enumerate(rows) if r["algorithm"] == "multiplicative_pow"]
    if pow_rows:
        mus = np.array([rows[i]["mu"] for i in pow_rows])
        ax_mu.plot(mus, near[pow_rows], "o", color="C0", alpha=0.5, ms=4)
        means = [near[pow_rows][mus == m].mean() for m in config.mus]
        ax_mu.plot(config.mus, means, "-", color="C0", label="multiplicative_pow")
    for c, algorithm in enumerate(a for a in config.algorithms if a in NORSE_MU):
        value = np.mean(
            [near[i] for i, r in enumerate(rows) if r["algorithm"] == algorithm]
        )
        ax_mu.axhline(value, ls="--", color=f"C{c + 1}", label=algorithm)
    ax_mu.set_xscale("symlog", linthresh=0.01)
    ax_mu.set_xlim(0, 1.2 * max(config.mus) if max(config.mus) > 0 else 1)
    ax_mu.set_ylim(-0.02, 1.02)
    ax_mu.set_xlabel("mu")
    ax_mu.set_ylabel(f"fraction within {NEAR:g} of a bound")
    ax_mu.legend(fontsize="small")
    for c, i in enumerate(first):
        total = result.frac_near_min_t[i] + result.frac_near_max_t[i]
        ax_t.plot(result.times_s, total, color=f"C{c % 10}", label=_label(rows[i]))
    ax_t.set_ylim(-0.02, 1.02)
    ax_t.set_xlabel("time (s)")
    ax_t.set_ylabel("fraction near a bound")
    ax_t.legend(fontsize="x-small", ncols=2)
    fig.suptitle(
        f"Song et al. (2000) / Guetig et al. (2003): {config.inputs} Poisson inputs "
        f"at {config.rate_hz:g} Hz, {result.rows[0]['seconds']:g} s, seed "
        f"{config.seeds[0]}",
        fontsize="medium",
    )
    return fig


def song2000_json(result: Song2000Result) -> dict[str, Any]:
    """Everything :func:`song2000` measured, as JSON-ready Python values."""
    config = result.config
    return {
        "experiment": "song2000",
        "config": dataclasses.asdict(config)
        | {"eta_plus": config.eta_plus, "eta_minus": config.eta_minus},
        "compile_s": round(result.compile_s, 3),
        "steps_per_s": round(result.steps_per_s, 1),
        "rows": result.rows,
        "times_s": result.times_s.tolist(),
        "frac_near_min_t": np.round(result.frac_near_min_t, 4).tolist(),
        "frac_near_max_t": np.round(result.frac_near_max_t, 4).tolist(),
        "rate_hz_t": np.round(result.rate_hz_t, 3).tolist(),
        "histogram_edges": np.linspace(0, 1, 41).tolist(),
        "histograms": [
            np.histogram(w, bins=40, range=(0, 1))[0].tolist() for w in result.weights
        ],
    }


def stdp_window(
    p_stdp: STDPParameters | None = None,
    dt: float = 1e-3,
    max_lag_steps: int = 50,
    w0: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """The STDP window of one pre/post spike pair, measured by simulation.

    For every lag ``k`` in ``[-max_lag_steps, max_lag_steps]`` one synapse
    with weight ``w0`` sees a presynaptic spike at step ``M = max_lag_steps``
    and a postsynaptic spike at step ``M + k``, replayed through
    :func:`jstdp.simulate_linear` (all lags in one ``vmap``). With Norse's
    Euler traces, ``k > 0`` gives ``A_plus(w0) * dt * tau_pre_inv * a_pre *
    (1 - dt * tau_pre_inv) ** k`` and ``k = 0`` both terms.

    Returns:
        ``(lags_s, dw)``: lags ``t_post - t_pre`` in seconds and the weight
        changes, both ``(2 * max_lag_steps + 1,)``.
    """
    if isinstance(max_lag_steps, bool) or not isinstance(max_lag_steps, int):
        raise TypeError(f"max_lag_steps must be an int, got {max_lag_steps!r}")
    if max_lag_steps < 0:
        raise ValueError(f"max_lag_steps must be >= 0, got {max_lag_steps}")
    p_stdp = STDPParameters() if p_stdp is None else p_stdp
    m = max_lag_steps
    lags = np.arange(-m, m + 1)
    t = np.arange(2 * m + 1)
    z_pre = (t == m).astype(np.float32)[:, None, None]
    z_post = (t[None, :] == (m + lags)[:, None]).astype(np.float32)[..., None, None]
    w = jnp.full((1, 1), w0, jnp.float32)

    def pair(post):
        return simulate_linear(z_pre, post, w, p_stdp=p_stdp, dt=dt)[0][0, 0]

    dw = jax.jit(jax.vmap(pair))(jnp.asarray(z_post)) - w0
    return lags * dt, np.asarray(dw, np.float64)


# --- Receptive fields: conv2d STDP on natural images ---------------------------

QUICK_PRESENTATIONS = 20


@struct.dataclass
class CompetingLIFState:
    """State of :class:`CompetingLIFParameters`: LIF state and thresholds."""

    lif: LIFFeedForwardState
    theta: jax.Array


@struct.dataclass
class CompetingLIFParameters:
    """Conv2d LIF neurons that compete, with adaptive thresholds.

    A neuron of the closed-loop protocol (``initial_state``, ``step``) for
    :func:`jstdp.run_conv2d`, state ``(batch, C, H, W)``. Each step:

    1. Norse's LIF step (:func:`jstdp.lif_feed_forward_step`) with input
       ``gain * drive`` and threshold ``v_th + theta[c]``;
    2. winner-take-all across channels: at each position only the spiking
       channel with the largest synaptic current keeps its spike, and a
       spike resets every channel at that position (lateral inhibition);
    3. homeostasis: ``theta[c] += theta_plus * (spikes of channel c per
       image) - dt * tau_theta_inv * theta[c]``, so no kernel wins
       everywhere.

    Args:
        lif: the LIF parameters.
        gain: scale of the synaptic drive.
        theta_plus: threshold increase per spike (per image).
        tau_theta_inv: inverse time constant of the threshold decay, 1/s.
    """

    lif: LIFParameters = LIFParameters()
    gain: jax.typing.ArrayLike = 0.5
    theta_plus: jax.typing.ArrayLike = 0.01
    tau_theta_inv: jax.typing.ArrayLike = 1.0

    def initial_state(
        self, shape: tuple[int, ...], dtype: jax.typing.DTypeLike = jnp.float32
    ) -> CompetingLIFState:
        """LIF at rest and zero thresholds ``theta`` of shape ``(1, C, 1, 1)``."""
        if len(shape) != 4:
            raise ValueError(f"shape must be (batch, C, H, W), got {shape}")
        return CompetingLIFState(
            self.lif.initial_state(shape, dtype), jnp.zeros((1, shape[1], 1, 1), dtype)
        )

    def step(
        self,
        drive: jax.typing.ArrayLike,
        state: CompetingLIFState,
        dt: jax.typing.ArrayLike = 0.001,
    ) -> tuple[jax.Array, CompetingLIFState]:
        """One step: LIF, winner-take-all across channels, threshold update."""
        p = self.lif.replace(v_th=self.lif.v_th + state.theta)
        z, lif = lif_feed_forward_step(self.gain * drive, state.lif, p, dt)
        score = jnp.where(z > 0, lif.i, -jnp.inf)
        wins = (score == score.max(axis=1, keepdims=True)) & (z > 0)
        z = jnp.where(wins, z, 0.0)
        inhibited = wins.any(axis=1, keepdims=True)
        lif = lif.replace(v=jnp.where(inhibited, p.v_reset, lif.v))
        spikes = z.sum(axis=(0, 2, 3), keepdims=True) / z.shape[0]
        theta = state.theta + (
            self.theta_plus * spikes - dt * self.tau_theta_inv * state.theta
        )
        return z, CompetingLIFState(lif, theta)


def on_off_images(sigmas: tuple[float, float] = (1.0, 2.0)) -> np.ndarray:
    """scikit-learn's two sample photos, ON/OFF filtered: ``(2, 2, 213, 320)``.

    Grey levels in ``[0, 1]`` are halved in resolution (2x2 means), filtered
    with a difference of Gaussians (``sigmas`` = centre, surround, in pixels;
    the retina's centre-surround cells), scaled to unit standard deviation
    and split into an ON channel ``clip(x, 0, 3) / 3`` and an OFF channel
    ``clip(-x, 0, 3) / 3`` (image, channel, H, W), values in ``[0, 1]``.
    """
    from scipy.ndimage import gaussian_filter
    from sklearn.datasets import load_sample_images

    out = []
    for image in load_sample_images().images:
        grey = image.mean(axis=-1) / 255.0
        h, w = grey.shape[0] // 2 * 2, grey.shape[1] // 2 * 2
        grey = grey[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        dog = gaussian_filter(grey, sigmas[0]) - gaussian_filter(grey, sigmas[1])
        dog /= dog.std()
        out.append([np.clip(dog, 0, 3) / 3, np.clip(-dog, 0, 3) / 3])
    return np.asarray(out, np.float32)


def latency_code(values: jax.Array, steps: int, threshold: float) -> jax.Array:
    """Intensity-to-latency code: one spike per value above ``threshold``.

    A value ``v`` in ``[0, 1]`` fires once, at step ``round((1 - v) *
    (steps - 1))``: the strongest inputs fire first (Thorpe; Masquelier &
    Thorpe 2007), the others stay silent.

    Returns:
        ``(steps, *values.shape)`` spikes (0/1), time-major.
    """
    latency = jnp.round((1 - values) * (steps - 1))
    t = jnp.arange(steps, dtype=values.dtype).reshape((steps,) + (1,) * values.ndim)
    return ((latency[None] == t) & (values[None] > threshold)).astype(values.dtype)


def orientation_coherence(kernels: jax.typing.ArrayLike) -> np.ndarray:
    """How oriented each ON-OFF kernel is: structure-tensor coherence in [0, 1].

    For the image ``k = ON - OFF`` with gradients ``gx, gy`` (central
    differences), ``J = sum [[gx*gx, gx*gy], [gx*gy, gy*gy]]`` over the
    kernel; ``(l1 - l2) / (l1 + l2)`` of its eigenvalues is 1 for a perfect
    edge or bar (one gradient direction) and near 0 for blobs and noise.

    Args:
        kernels: ``(C_out, 2, kh, kw)``.

    Returns:
        ``(C_out,)`` coherences.
    """
    k = np.asarray(kernels, np.float64)
    if k.ndim != 4 or k.shape[1] != 2:
        raise ValueError(f"kernels must have shape (C_out, 2, kh, kw), got {k.shape}")
    img = k[:, 0] - k[:, 1]
    gy, gx = np.gradient(img, axis=(1, 2))
    jxx, jyy, jxy = (
        (a * b).sum(axis=(1, 2)) for a, b in ((gx, gx), (gy, gy), (gx, gy))
    )
    return np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / np.maximum(jxx + jyy, 1e-12)


@dataclasses.dataclass(frozen=True)
class ReceptiveFieldsConfig:
    """Settings of :func:`receptive_fields` (defaults: the CLI's).

    ``batch`` random ``patch`` x ``patch`` crops of :func:`on_off_images`
    are shown at a time for ``steps`` steps each, latency coded
    (:func:`latency_code`), to ``kernels`` conv2d kernels (``kernel`` x
    ``kernel``, 2 input channels ON/OFF, stride 1, no padding) feeding
    :class:`CompetingLIFParameters`. STDP is ``multiplicative_relu``
    (soft bounds ``[0, 1]``) with potentiation stronger than depression, as
    in Kheradpisheh et al. (2018), so the inputs that fire before a
    neuron's spike grow and the later ones shrink; traces and membranes are
    reset between presentations, the thresholds are not. Initial weights:
    ``init + init_std * N(0, 1)``, clipped to ``[0, 1]``.
    """

    kernels: int = 16
    kernel: int = 7
    patch: int = 16
    batch: int = 8
    presentations: int = 600
    steps: int = 15
    dt: float = 1e-3
    threshold: float = 0.15
    eta_plus: float = 0.02
    eta_minus: float = 0.015
    tau_stdp: float = 0.02
    init: float = 0.5
    init_std: float = 0.05
    seed: int = 0
    chunks: int = 20

    def __post_init__(self) -> None:
        for name in ("kernels", "kernel", "batch", "presentations", "steps", "chunks"):
            value = getattr(self, name)
            _check(
                name,
                isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                value,
                "an int >= 1",
            )
        _check(
            "patch",
            isinstance(self.patch, int) and self.patch >= self.kernel,
            self.patch,
            f"an int >= kernel = {self.kernel}",
        )
        _check("dt", 0 < self.dt <= 1e-3, self.dt, "in (0, 1e-3]")
        _check(
            "seed",
            isinstance(self.seed, int) and 0 <= self.seed < 2**32,
            self.seed,
            "an int in [0, 2**32)",
        )

    def stdp_parameters(self) -> STDPParameters:
        """The conv2d STDP parameters."""
        p = STDPParameters(
            tau_pre_inv=1.0 / self.tau_stdp,
            tau_post_inv=1.0 / self.tau_stdp,
            eta_plus=self.eta_plus,
            eta_minus=self.eta_minus,
            stdp_algorithm="multiplicative_relu",
            convolutional=True,
        )
        return validate_parameters(p, dt=self.dt)


@dataclasses.dataclass(frozen=True)
class ReceptiveFieldsResult:
    """What :func:`receptive_fields` learned.

    Args:
        config: the settings.
        initial, kernels: ``(kernels, 2, kernel, kernel)`` weights before and
            after learning.
        examples: ``(batch, 2, patch, patch)`` the first presented patches.
        spikes: ``(presentations, kernels)`` spikes of each kernel (all
            positions and images) per presentation.
        row: the JSON line: ``experiment``, ``seed``, ``kernels``,
            ``presentations``, ``seconds`` (simulated), ``coherence`` (mean
            :func:`orientation_coherence` of the kernels), ``coherence_init``,
            ``active_kernels`` (kernels that spiked in the last 10% of the
            presentations), ``wall_s``.
    """

    config: ReceptiveFieldsConfig
    initial: np.ndarray
    kernels: np.ndarray
    examples: np.ndarray
    spikes: np.ndarray
    row: dict[str, Any]


@functools.partial(jax.jit, static_argnames=("steps", "threshold"))
def _receptive_fields_chunk(
    w, theta, patches, p_stdp, p_neuron, dt, *, steps, threshold
):
    """Present ``patches`` ``(N, batch, 2, P, P)`` one batch after the other."""

    def present(carry, values):
        w, theta = carry
        z_in = latency_code(values, steps, threshold)
        out_hw = values.shape[-1] - w.shape[-1] + 1
        post = (values.shape[0], w.shape[0], out_hw, out_hw)
        fresh = p_neuron.initial_state(post, w.dtype)
        state = RunState(
            neuron=fresh.replace(theta=theta),
            stdp=STDPState(jnp.zeros_like(values), jnp.zeros(post, w.dtype)),
            step=jnp.int32(0),
            spike_count=jnp.zeros(post, jnp.int32),
        )
        w, state, _ = run_conv2d(z_in, w, p_stdp, p_neuron, dt, state=state)
        return (w, state.neuron.theta), state.spike_count.sum(axis=(0, 2, 3))

    return jax.lax.scan(present, (w, theta), patches)


def receptive_fields(
    config: ReceptiveFieldsConfig | None = None, progress: bool = False
) -> ReceptiveFieldsResult:
    """Learn conv2d kernels from natural images with STDP (see the config).

    What to expect with the defaults (seed 0, ~1 min on a laptop CPU): the
    16 random kernels become smooth oriented edge and bar detectors (an ON
    band beside an OFF band), mostly horizontal and vertical with a few
    diagonals; the mean :func:`orientation_coherence` rises from 0.19 to
    0.65.
    """
    config = ReceptiveFieldsConfig() if config is None else config
    start = time.perf_counter()
    images = on_off_images()
    rng = np.random.default_rng(config.seed)
    n, b, size = config.presentations, config.batch, config.patch
    which = rng.integers(0, images.shape[0], (n, b))
    ys = rng.integers(0, images.shape[2] - size + 1, (n, b))
    xs = rng.integers(0, images.shape[3] - size + 1, (n, b))
    rows, cols = np.arange(size)[:, None], np.arange(size)[None, :]
    patches = images[which[..., None, None], :, ys[..., None, None] + rows,
                     xs[..., None, None] + cols]  # fmt: skip
    patches = np.moveaxis(patches, -1, 2)  # (n, b, 2, P, P)
    shape = (config.kernels, 2, config.kernel, config.kernel)
    noise = jax.random.normal(jax.random.key(config.seed), shape)
    w = jnp.clip(config.init + config.init_std * noise, 0.0, 1.0)
    initial = np.asarray(w)
    p_neuron = CompetingLIFParameters()
    theta = jnp.zeros((1, config.kernels, 1, 1))
    per_chunk = -(-n // config.chunks)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, unit="batch", disable=None, desc="receptive-fields")
    spikes = []
    for first in range(0, n, per_chunk):
        (w, theta), count = _receptive_fields_chunk(
            w,
            theta,
            jnp.asarray(patches[first : first + per_chunk]),
            config.stdp_parameters(),
            p_neuron,
            config.dt,
            steps=config.steps,
            threshold=config.threshold,
        )
        spikes.append(np.asarray(count))
        if bar is not None:
            bar.update(min(per_chunk, n - first))
    if bar is not None:
        bar.close()
    kernels, spikes = np.asarray(w), np.concatenate(spikes)
    last = spikes[-max(1, n // 10) :].sum(axis=0)
    row = {
        "experiment": "receptive_fields",
        "seed": config.seed,
        "kernels": config.kernels,
        "presentations": n,
        "seconds": round(n * config.steps * config.dt, 6),
        "coherence": round(float(orientation_coherence(kernels).mean()), 4),
        "coherence_init": round(float(orientation_coherence(initial).mean()), 4),
        "active_kernels": int((last > 0).sum()),
        "wall_s": round(time.perf_counter() - start, 3),
    }
    return ReceptiveFieldsResult(config, initial, kernels, patches[0], spikes, row)


def receptive_fields_figure(result: ReceptiveFieldsResult) -> Any:
    """Example patches, initial kernels and learned kernels (ON - OFF, grey)."""
    from jstdp import plot

    fig = plot.new_figure(figsize=(12, 4.4))
    axes = fig.subplots(1, 3, width_ratios=[1, 1, 1])
    plot.kernel_grid(result.examples, axes[0], title="example patches (ON - OFF)")
    coh = orientation_coherence(result.initial).mean()
    plot.kernel_grid(
        result.initial, axes[1], title=f"initial kernels (coherence {coh:.2f})"
    )
    coh = orientation_coherence(result.kernels).mean()
    plot.kernel_grid(
        result.kernels, axes[2], title=f"learned kernels (coherence {coh:.2f})"
    )
    fig.suptitle(
        f"conv2d STDP on natural images: {result.row['presentations']} batches of "
        f"{result.config.batch} patches, seed {result.config.seed} "
        "(white: ON, black: OFF)",
        fontsize="medium",
    )
    return fig


def receptive_fields_json(result: ReceptiveFieldsResult) -> dict[str, Any]:
    """The row, the config, the kernels and the spike counts, JSON-ready."""
    return {
        "row": result.row,
        "config": dataclasses.asdict(result.config),
        "kernels": np.round(result.kernels, 5).tolist(),
        "coherence": np.round(orientation_coherence(result.kernels), 4).tolist(),
        "spikes_per_presentation": result.spikes.tolist(),
    }
