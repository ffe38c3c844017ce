"""Song, Miller & Abbott (2000) and Guetig et al. (2003) with Norse's rule.

Independent Poisson inputs drive one conductance-based LIF neuron through
plastic weights; additive STDP splits the weights into two groups at the
bounds, weight-dependent STDP (``multiplicative_pow`` with growing ``mu``)
makes the distribution unimodal. Every configuration runs in one compiled
call: the numeric parameters are stacked leaves (:func:`jstdp.parameter_grid`)
mapped with ``jax.vmap`` over one network (:func:`jstdp.run`).
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

from jstdp import _validation as v
from jstdp._network import Input, Network, Population, Projection
from jstdp._norse import STDPParameters
from jstdp._run import INT32_MAX, run
from jstdp._validation import validate_parameters
from jstdp.experiments._config import option
from jstdp.neurons.conductance import ConductanceLIFParameters
from jstdp.neurons.encoders import PoissonInput
from jstdp.rules.norse import ALGORITHMS, FastPaths, Specialized

NORSE_MU = {"additive": 0.0, "additive_step": 0.0, "multiplicative_relu": 1.0}
# "Near a bound": within this fraction of the weight range from it.
NEAR = 0.1
# Stationary: the fraction near the bounds moved by less than this over the
# last fifth of the run (each end averaged over a tenth of the run).
SETTLED = 0.02


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

    The defaults are Song's own parameters, run until the weight
    distribution is stationary (see ``docs/song2000.md`` for the
    measurements behind them).

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
        delay: transmission delay of the inputs, in steps (1: an input spike
            acts on the neuron in the next step, as in NEST and Brian2; 0:
            in the same step, which pairs the input that fires the neuron
            at lag 0).
        chunks: the run is split into this many equal compiled calls (for
            the progress bar and the time course); a multiple of 10, so the
            output rate is measured over exactly the last 10% and the
            stationarity over exactly the last fifth.
    """

    seconds: float = option(2500.0, "simulated seconds", metavar="S", quick=2.0)
    dt: float = option(1e-3, "time step in seconds, in (0, 0.001]", metavar="DT")
    inputs: int = option(1000, "number of Poisson inputs", metavar="N")
    rate_hz: float = option(10.0, "input rate in Hz", flag="--rate", metavar="HZ")
    g_max: float = option(
        0.015, "conductance per unit weight (leak units)", metavar="G"
    )
    a_plus: float = option(
        0.005, "potentiation per pair, in units of w_max", metavar="A"
    )
    depression: float = option(1.05, "depression / potentiation ratio", metavar="B")
    tau_stdp: float = 0.02
    algorithms: tuple[str, ...] = option(
        ALGORITHMS, "STDP rules", flag="--algorithm", metavar="NAME"
    )
    mus: tuple[float, ...] = option(
        (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
        "mu values of multiplicative_pow",
        flag="--mu",
        metavar="MU",
    )
    seeds: tuple[int, ...] = option(
        (0,), "random seeds, run together", flag="--seed", metavar="N"
    )
    chunks: int = 50
    delay: int = option(1, "input delay in steps (0: same step)", metavar="K")

    def __post_init__(self) -> None:
        for name in ("seconds", "rate_hz", "g_max", "a_plus", "tau_stdp"):
            v.number(name, getattr(self, name), above=0)
        v.number("dt", self.dt, above=0, at_most=1e-3)
        v.number("depression", self.depression, at_least=1)
        v.ensure(
            "rate_hz",
            self.rate_hz * self.dt <= 1,
            self.rate_hz,
            f"<= 1 / dt = {1 / self.dt:g} Hz (at most one spike per step)",
        )
        v.integer("inputs", self.inputs, 1)
        v.ensure(
            "chunks",
            v.integer("chunks", self.chunks, 10) % 10 == 0,
            self.chunks,
            "a multiple of 10",
        )
        object.__setattr__(self, "delay", v.integer("delay", self.delay, 0))
        object.__setattr__(self, "algorithms", tuple(self.algorithms))
        object.__setattr__(self, "mus", tuple(float(m) for m in self.mus))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        unknown = [a for a in self.algorithms if a not in ALGORITHMS]
        v.ensure(
            "algorithms",
            bool(self.algorithms)
            and not unknown
            and len(set(self.algorithms)) == len(self.algorithms),
            self.algorithms,
            f"distinct names from {', '.join(ALGORITHMS)}",
        )
        v.ensure(
            "mus",
            bool(self.mus) and all(math.isfinite(m) and m >= 0 for m in self.mus),
            self.mus,
            "a non-empty list of finite numbers >= 0",
        )
        for s in self.seeds:
            v.integer("seeds", s, 0, 2**32 - 1)
        v.ensure(
            "seeds", len(set(self.seeds)) == len(self.seeds) > 0, self.seeds,
            "a non-empty list of distinct ints in [0, 2**32)",
        )  # fmt: skip
        steps = self.seconds / self.dt  # may overflow to inf
        v.ensure(
            "seconds",
            math.isfinite(steps) and round(steps) <= INT32_MAX,
            self.seconds,
            f"<= (2**31 - 1) * dt = {INT32_MAX * self.dt:g} s "
            "(the step count is int32)",
        )
        v.ensure(
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
            ``rate_hz`` (output rate over the last 10% of the run),
            ``drift_last_fifth`` (change of the fraction near a bound over
            the last fifth of the run, each end averaged over a tenth),
            ``settled`` (``|drift_last_fifth| < 0.02``: stationary), ``wall_s``
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


def _network(
    rules: tuple[Specialized, ...],
    neuron: ConductanceLIFParameters,
    sizes: tuple[int, ...],
    n: int,
    delay: int,
) -> Network:
    """``n`` Poisson inputs -> population ``g`` of ``sizes[g]`` neurons
    through plastic weights ``w{g}`` with ``rules[g]``: one neuron per
    configuration, every one driven by the same input spikes."""
    populations = [Input("inputs", (n,))]
    projections = []
    for g, (rule, k) in enumerate(zip(rules, sizes, strict=True)):
        populations.append(Population(f"group{g}", neuron, (k,)))
        projections.append(
            Projection(
                "inputs",
                f"group{g}",
                w=jnp.zeros((k, n)),
                rule=rule,
                name=f"w{g}",
                delay=delay,
            )
        )
    return Network(populations=tuple(populations), projections=tuple(projections))


@functools.partial(jax.jit, static_argnames=("steps", "sizes", "delay"))
def _song2000_chunk(carry, rules, p_neuron, keys, rates, dt, *, steps, sizes, delay):
    """``steps`` more steps of every run; one compiled call for all of them.

    ``carry`` is the network state of every seed (leaves ``(S, ...)``),
    ``rules[g]`` rule group ``g`` (one neuron per configuration: ``mu`` has
    one row per neuron), ``keys`` one input key per seed. The seeds run one
    after the other (``lax.map``); within a seed one input draw per step
    serves every configuration. Returns the new carry and, per group, the
    fractions near the bounds and the output spike counts of this chunk,
    each ``(S, K)``.
    """
    net = _network(rules, p_neuron, sizes, rates.shape[1], delay)

    def one(args):
        state, key = args
        state = state.replace(counts=jax.tree.map(jnp.zeros_like, state.counts))
        state, _ = run(net, PoissonInput(rates, key), steps=steps, dt=dt, state=state)
        stats = tuple(
            (*_near_bounds(state.weights[f"w{g}"]), state.counts[f"group{g}"][0])
            for g in range(len(sizes))
        )
        return state, stats

    return jax.lax.map(one, (carry, keys))


def song2000(
    config: Song2000Config | None = None, progress: bool = False
) -> Song2000Result:
    """Run Song et al. (2000) for every rule, ``mu`` and seed of ``config``.

    One compiled function advances all runs together (called ``chunks``
    times, for the progress bar and the time course). The rule
    (``stdp_algorithm``) is static, so each rule is one ``vmap`` group
    inside that function (seeds x mus for ``multiplicative_pow``, seeds for
    the others); a seed's configurations share its input spikes (drawn once
    for all of them) and initial weights. The weights start in ``[0, 1]``
    and are clipped every step, so the rule's event-driven update
    (:attr:`jstdp.rules.norse.FastPaths.events`, the same numbers) serves
    every run.

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
    w0 = jax.vmap(lambda k: jax.random.uniform(k, (1, n)))(w_keys)  # (S, 1, n)
    p_neuron = config.neuron()
    rates = jnp.full((1, n), config.rate_hz, jnp.float32)

    rules, sizes = [], []
    for algorithm, mus in config.groups():
        rule = config.stdp_parameters(algorithm)
        if algorithm == "multiplicative_pow":
            rule = rule.replace(mu=jnp.asarray(mus, jnp.float32)[:, None])
        # Known here, so no lax.cond around the loop: mu is 0.5 for every
        # neuron or for none; w0 is in [0, 1], clipped every step, and the
        # rates are finite (the event-driven update holds).
        half = all(m == 0.5 for m in mus)
        rules.append(Specialized(rule, FastPaths(half=half, events=True)))
        sizes.append(len(mus))
    rules, sizes = tuple(rules), tuple(sizes)
    net = _network(rules, p_neuron, sizes, n, config.delay)
    fresh = net.init(1, jnp.float32)
    carry = jax.tree.map(lambda x: jnp.broadcast_to(x, (n_seeds, *x.shape)), fresh)
    carry = carry.replace(
        weights={
            f"w{g}": jnp.broadcast_to(w0, (n_seeds, k, n)) for g, k in enumerate(sizes)
        }
    )

    args = (p_neuron, input_keys, rates, config.dt)
    static = dict(steps=config.chunk_steps, sizes=sizes, delay=config.delay)
    compiled = _song2000_chunk.lower(carry, rules, *args, **static).compile()
    compile_s = time.perf_counter() - start
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, unit="step", unit_scale=True, disable=None)
        runs = _n_rows(config)
        bar.set_description(f"song2000: {runs} run{'s' if runs > 1 else ''}")
    chunk_stats = []
    run_start = time.perf_counter()
    for _ in range(config.chunks):
        carry, stats = compiled(carry, rules, *args)
        chunk_stats.append(jax.device_get(stats))
        if bar is not None:
            bar.update(config.chunk_steps)
    weights = jax.device_get([carry.weights[f"w{g}"] for g in range(len(sizes))])
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
    last = config.chunks // 10
    rows, w_rows, lo_t, hi_t, rate_t = [], [], [], [], []
    for g, (algorithm, mus) in enumerate(config.groups()):
        # (chunks, 3, S, K) -> per row (3, chunks)
        stats = np.stack([np.stack(chunk[g]) for chunk in chunk_stats])
        for k, mu in enumerate(mus):
            for s, seed in enumerate(config.seeds):
                w = np.asarray(weights[g][s, k], np.float64)
                lo, hi, count = stats[:, :, s, k].T
                rate = count / chunk_s
                drift = _drift(lo + hi, config.chunks)
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
                        "drift_last_fifth": round(drift, 4),
                        "settled": abs(drift) < SETTLED,
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


def _drift(near: np.ndarray, chunks: int) -> float:
    """How much ``near`` (one value per chunk) changed over the last fifth of
    the run: its mean over the last tenth minus its mean over the tenth that
    ends four fifths in (a tenth smooths the chunk-to-chunk fluctuation)."""
    tenth = chunks // 10
    end = chunks - 2 * tenth
    return float(near[-tenth:].mean() - near[end - tenth : end].mean())


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
    Bottom right: fraction near the bounds over time (first seed), the last
    fifth (the stationarity check) shaded.
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
    # The last fifth: where the stationarity check (drift_last_fifth) looks.
    end = result.times_s[-1]
    ax_t.axvspan(0.8 * end, end, color="0.9", zorder=0)
    drifts = [abs(rows[i]["drift_last_fifth"]) for i in first]
    ax_t.set_title(
        f"largest change over the last fifth: {max(drifts):.3f} "
        f"({'stationary' if max(drifts) < SETTLED else 'still changing'}: "
        f"< {SETTLED:g})",
        fontsize="small",
    )
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
