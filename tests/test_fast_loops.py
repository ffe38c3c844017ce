"""The closed-loop fast paths give the reference numbers.

Poisson input: ``poisson_block`` (an unrolled jnp threefry, compared as
integers) draws exactly ``poisson_step(fold_in(key, t), rates, dt)`` for
every step, for typed and raw keys, float32 and float64, rates at the edges
(0, a probability that is a multiple of the float's resolution, 1); a run
with ``PoissonInput`` (drawn in blocks) equals the same run given the
per-step reference draws as a spike array, with and without ``Save``, in
chunks, for step counts that blocks do not divide, and keys JAX draws
differently (``rbg``) fall back to the per-step draw.

Event-driven updates (``FastPaths.events``, batch 1): only the rows and
columns of spikes change, bit for bit the dense update, for every rule,
per-synapse parameters, sparse and dense activity; they are used only when
the initial weights are within the bounds, clipped every step, with no
transform, and not under a trace. ``multiplicative_pow`` without a
postsynaptic spike skips ``A_plus`` with the same numbers. Replays in
blocks of steps, tile by tile (``update_block``), equal the same replay
step by step, bit for bit: every rule, float64, saves and chunks, a rest
block and rest steps, a rest tile, a block with a step too crowded for the
column lists; blocks only where events apply and parameters are scalars.

``jstdp.fast_cpu_loops`` changes no number (a subprocess with the XLA option
against this process without it).
"""

import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp
from jstdp._xla import SMALL_LOOP_OPTION, fast_cpu_loops
from jstdp.connections import Dense
from jstdp.neurons.encoders import (
    poisson_block,
    poisson_step,
    poisson_steps,
    poisson_threshold,
)
from jstdp.rules import norse as norse_rule
from jstdp.rules.norse import FastPaths, Specialized

ROOT = pathlib.Path(__file__).resolve().parents[1]


def reference_draws(key, start, steps, rates, dt):
    """One ``poisson_step`` per step, as a run without blocks draws them."""
    return jnp.stack(
        [
            poisson_step(jax.random.fold_in(key, start + t), rates, dt)
            for t in range(steps)
        ]
    )


# Probabilities on the float32 grid of uniform (k * 2**-23) test the
# threshold's rounding: u < p must hold for u up to p - 2**-23 and not at p.
EDGE_RATES = [0.0, 2.0**-23 * 1e3, 3 * 2.0**-23 * 1e3, 1e3 * 0.5, 1e3]


@pytest.mark.parametrize("raw", [False, True], ids=["typed", "raw"])
def test_block_draw_is_the_per_step_draw(raw):
    key = jax.random.PRNGKey(3) if raw else jax.random.key(3)
    rng = np.random.default_rng(0)
    rates = rng.uniform(0, 1000, (3, 41)).astype(np.float32)
    rates[0, : len(EDGE_RATES)] = EDGE_RATES
    rates = jnp.asarray(rates)
    threshold = poisson_threshold(key, rates, 1e-3, jnp.float32)
    got = poisson_block(key, 7, 60, threshold)
    want = reference_draws(key, 7, 60, rates, 1e-3)
    np.testing.assert_array_equal(got, want > 0)
    assert got[:, 0, 0].sum() == 0 and got[:, 0, 4].all()  # rates 0 and 1/dt
    # the step count near the int32 limit, and under jit
    late = jax.jit(poisson_block, static_argnums=2)(key, 2**31 - 9, 8, threshold)
    np.testing.assert_array_equal(
        late, reference_draws(key, 2**31 - 9, 8, rates, 1e-3) > 0
    )


def test_block_draw_float64_and_vmap_over_keys(x64):
    keys = jax.random.split(jax.random.key(5), 3)
    rates = jnp.linspace(0.0, 1000.0, 37)
    got = jax.vmap(lambda k: poisson_steps(k, 2, 30, rates, 1e-3))(keys)
    assert got.dtype == jnp.float64
    for k in range(3):
        np.testing.assert_array_equal(
            got[k], reference_draws(keys[k], 2, 30, rates, 1e-3)
        )


def test_other_key_implementations_draw_step_by_step():
    key = jax.random.key(1, impl="rbg")
    rates = jnp.full((2, 5), 300.0)
    assert poisson_threshold(key, rates, 1e-3, jnp.float32) is None
    np.testing.assert_array_equal(
        poisson_steps(key, 4, 6, rates, 1e-3), reference_draws(key, 4, 6, rates, 1e-3)
    )


def _network(n_in=50, n_out=3, delay=1):
    rule = jstdp.rules.NorseSTDP(eta_plus=0.05, eta_minus=0.06, tau_pre_inv=50.0)
    return jstdp.Network(
        populations=[
            jstdp.Input("x", (n_in,)),
            jstdp.Population("y", jstdp.ConductanceLIFParameters(g_max=0.3), (n_out,)),
        ],
        projections=[
            jstdp.Projection(
                "x",
                "y",
                Dense(),
                jax.random.uniform(jax.random.key(2), (n_out, n_in)),
                rule=rule,
                delay=delay,
            )
        ],
    )


@pytest.mark.parametrize(
    "steps, save, chunk",
    [(300, None, None), (257, jstdp.Save(every=50), None), (400, None, 130)],
    ids=["remainder", "save", "chunks"],
)
def test_run_with_poisson_input_is_the_per_step_reference(steps, save, chunk):
    net = _network()
    rates = jnp.full((2, 50), 40.0)
    key = jax.random.key(9)
    got, got_saved = jstdp.run(
        net,
        jstdp.PoissonInput(rates, key),
        steps=steps,
        save=save,
        chunk_steps=chunk,
    )
    spikes = reference_draws(key, 0, steps, rates, 1e-3)
    want, want_saved = jstdp.run(net, spikes, save=save)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(
        jax.tree.leaves(got_saved), jax.tree.leaves(want_saved), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert int(got.counts["y"].sum()) > 0  # the neurons fired: a closed loop


# --- event-driven updates ------------------------------------------------------


@pytest.fixture
def events_everywhere(monkeypatch):
    """Event-driven updates for every size of ``w`` (normally large only)."""
    monkeypatch.setattr(norse_rule, "EVENTS_MIN_ENTRIES", 1)
    jax.clear_caches()
    yield
    jax.clear_caches()


def _replay_cases():
    for algorithm in jstdp.ALGORITHMS:
        for shape, activity in [((1, 300), 0.02), ((7, 40), 0.1), ((30, 30), 0.6)]:
            yield pytest.param(algorithm, shape, activity, id=f"{algorithm}-{shape}")


@pytest.mark.parametrize("algorithm, shape, activity", list(_replay_cases()))
def test_events_equal_dense_steps(events_everywhere, algorithm, shape, activity):
    n_post, n_pre = shape
    rng = np.random.default_rng(n_post)
    T = 40
    z_pre = jnp.asarray(rng.random((T, 1, n_pre)) < activity, jnp.float32)
    z_post = jnp.asarray(rng.random((T, 1, n_post)) < activity, jnp.float32)
    w0 = jnp.asarray(rng.random(shape), jnp.float32)
    p = jstdp.STDPParameters(
        stdp_algorithm=algorithm, mu=0.7, eta_plus=0.3, eta_minus=0.35
    )
    assert p.prepare(w0).paths.events
    got, _, _ = jstdp.simulate_linear(z_pre, z_post, w0, None, p)
    w, state = w0, jstdp.STDPState.zeros_like(z_pre[0], z_post[0])
    for t in range(T):  # single steps: never event-driven
        w, state = jstdp.stdp_step_linear(z_pre[t], z_post[t], w, state, p)
    np.testing.assert_array_equal(got, w)


def test_events_with_per_synapse_parameters(events_everywhere):
    rng = np.random.default_rng(4)
    n_post, n_pre, T = 6, 50, 30
    z_pre = jnp.asarray(rng.random((T, 1, n_pre)) < 0.1, jnp.float32)
    z_post = jnp.asarray(rng.random((T, 1, n_post)) < 0.2, jnp.float32)
    w0 = jnp.asarray(rng.uniform(0.2, 0.8, (n_post, n_pre)), jnp.float32)
    rule = jstdp.rules.NorseSTDP(
        stdp_algorithm="multiplicative_pow",
        mu=jnp.linspace(0.2, 1.0, n_post)[:, None],
        eta_plus=jnp.asarray(rng.uniform(0.1, 0.3, (n_post, n_pre)), jnp.float32),
        w_max=jnp.linspace(0.9, 1.0, n_pre)[None],
    )
    got, _, _ = jstdp.replay(rule, z_pre, z_post, w0)
    dense = Specialized(rule, FastPaths(half=False))
    want, _, _ = jstdp.replay(dense, z_pre, z_post, w0)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "change, events",
    [
        (dict(), True),
        (dict(hardbound=False), False),
        (dict(w_max=0.5), False),  # weights above the bound: clipped at step 1
        (dict(mu=-0.5), False),
    ],
    ids=["bounded", "no-hardbound", "out-of-bounds", "negative-mu"],
)
def test_events_only_when_every_untouched_entry_stays(change, events):
    w = jnp.asarray(np.random.default_rng(0).random((4, 9)), jnp.float32)
    rule = jstdp.rules.NorseSTDP(stdp_algorithm="multiplicative_pow")
    assert rule.replace(**change).prepare(w).paths.events is events
    assert not rule.prepare().paths.events  # no weights: a single step
    traced = jax.jit(lambda w: jnp.asarray(rule.prepare(w).paths.events))(w)
    assert not traced


def test_known_weights_inside_a_jit_run_without_events():
    # A sweep jits a vmapped replay whose weights are a constant: the check
    # of the bounds is traced there, so the run takes the dense path.
    rng = np.random.default_rng(5)
    z_pre = jnp.asarray(rng.random((6, 2, 30)) < 0.2, jnp.float32)
    z_post = jnp.asarray(rng.random((6, 2, 20)) < 0.2, jnp.float32)
    w0 = jnp.asarray(rng.random((20, 30)), jnp.float32)
    p = jstdp.STDPParameters(stdp_algorithm="multiplicative_pow", mu=0.7)

    def one(tau):
        return jstdp.simulate_linear(
            z_pre, z_post, w0, None, p.replace(tau_pre_inv=tau)
        )

    got = jax.jit(jax.vmap(one))(jnp.asarray([20.0, 50.0]))[0]
    for k, tau in enumerate([20.0, 50.0]):
        np.testing.assert_allclose(got[k], one(tau)[0], rtol=1e-6, atol=1e-7)


def test_events_off_with_a_transform():
    from jstdp import _run

    base = _network()
    rule = base.projections[0].rule.replace(stdp_algorithm="multiplicative_pow")

    def prepared(transform):
        q = base.projections[0].replace(rule=rule, transform=transform)
        net = jstdp.Network(base.populations, [q])
        return _run._prepared(net, jnp.float32, net.init(1).weights)

    assert prepared(None).projections[0].rule.paths.events
    normalized = prepared(jstdp.rules.Normalize(5.0))
    assert not normalized.projections[0].rule.paths.events


def test_pow_without_post_spikes_skips_a_plus():
    rng = np.random.default_rng(7)
    n_post, n_pre, T = 8, 200, 50
    z_pre = jnp.asarray(rng.random((T, 1, n_pre)) < 0.05, jnp.float32)
    z_post = jnp.asarray(rng.random((T, 1, n_post)) < 0.02, jnp.float32)
    z_post = z_post.at[: T // 2].set(0.0)  # half the steps without post spikes
    w0 = jnp.asarray(rng.random((n_post, n_pre)), jnp.float32)
    rule = jstdp.rules.NorseSTDP(
        stdp_algorithm="multiplicative_pow", mu=0.3, eta_plus=0.2, eta_minus=0.25
    )
    skip = Specialized(rule, FastPaths(half=False, events=True))
    dense = Specialized(rule, FastPaths(half=False))
    got, _, _ = jstdp.replay(skip, z_pre, z_post, w0)
    want, _, _ = jstdp.replay(dense, z_pre, z_post, w0)
    np.testing.assert_array_equal(got, want)


# --- blocks of steps, tile by tile (open loop, batch 1) ---------------------------


def _block_case(n_post=37, n_pre=4096, steps=150, pre=0.01, post=0.05, seed=0):
    """Spikes that fit the column lists (``n_pre // 64`` per step) and ``w``;
    37 rows: two tiles of 16 rows and a rest of 5."""
    rng = np.random.default_rng(seed)
    z_pre = jnp.asarray(rng.random((steps, 1, n_pre)) < pre, jnp.float32)
    z_post = jnp.asarray(rng.random((steps, 1, n_post)) < post, jnp.float32)
    return z_pre, z_post, jnp.asarray(rng.random((n_post, n_pre)), jnp.float32)


def _steps_reference(rule, z_pre, z_post, w0, **kwargs):
    """The same replay one step at a time (blocks off), after checking that
    the replay under test takes blocks."""
    from jstdp import _run

    prepared = rule.prepare(w0)  # or, where mu is decided in the run, its variants
    variants = (prepared.branches() or (None, prepared))[1:]
    assert all(r.block_steps(Dense(), 1, w0) for r in variants)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_run, "BLOCK_MIN", 2**31)
        jax.clear_caches()
        out = jstdp.replay(rule, z_pre, z_post, w0, **kwargs)
    jax.clear_caches()
    return out


@pytest.mark.parametrize(
    "algorithm, mu",
    [
        ("additive", 0.0),
        ("additive_step", 0.0),
        ("multiplicative_pow", 0.5),
        ("multiplicative_pow", 0.7),
        ("multiplicative_relu", 1.0),
    ],
)
def test_blocks_equal_steps_bit_for_bit(events_everywhere, algorithm, mu):
    z_pre, z_post, w0 = _block_case(steps=150)  # blocks of 128 and 22 steps
    rule = jstdp.rules.NorseSTDP(
        stdp_algorithm=algorithm, mu=mu, eta_plus=0.02, eta_minus=0.025
    )
    got_w, got_s, _ = jstdp.replay(rule, z_pre, z_post, w0)
    want_w, want_s, _ = _steps_reference(rule, z_pre, z_post, w0)
    assert np.count_nonzero(got_w != w0) > 0.5 * w0.size  # both events changed w
    np.testing.assert_array_equal(got_w, want_w)
    np.testing.assert_array_equal(got_s.t_pre, want_s.t_pre)
    np.testing.assert_array_equal(got_s.t_post, want_s.t_post)


def test_blocks_float64_with_saves_and_chunks(events_everywhere, x64):
    z_pre, z_post, w0 = _block_case(n_post=20, n_pre=2048, steps=90, seed=1)
    w0 = w0.astype(jnp.float64)
    rule = jstdp.rules.NorseSTDP(stdp_algorithm="multiplicative_pow", mu=0.5)
    save = jstdp.Save(30, lambda s: s.w)
    got = jstdp.replay(rule, z_pre, z_post, w0, save=save, chunk_steps=60)
    want = _steps_reference(rule, z_pre, z_post, w0, save=save)
    assert got[0].dtype == jnp.float64
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[2], want[2])  # the snapshots, (3, 20, 2048)


def test_blocks_with_a_crowded_step_run_step_by_step(events_everywhere):
    z_pre, z_post, w0 = _block_case(steps=133, seed=2)  # 128 steps and 5 alone
    z_pre = z_pre.at[17, 0, :200].set(1.0)  # 200 > 4096 // 64 columns in a step
    rule = jstdp.rules.NorseSTDP(eta_plus=0.02, eta_minus=0.025)
    got, _, _ = jstdp.replay(rule, z_pre, z_post, w0)
    want, _, _ = _steps_reference(rule, z_pre, z_post, w0)
    np.testing.assert_array_equal(got, want)


def test_blocks_only_where_events_and_scalars():
    w = jnp.full((1024, 1024), 0.5, jnp.float32)  # 2**20 entries: events
    rule = jstdp.rules.NorseSTDP()
    assert rule.prepare(w).block_steps(Dense(), 1, w) == 128
    assert rule.prepare(w).block_steps(Dense(), 2, w) == 0  # batch 2
    small = w[:512]
    assert rule.prepare(small).block_steps(Dense(), 1, small) == 0
    per_synapse = rule.replace(eta_plus=jnp.full(w.shape, 1e-3))
    assert per_synapse.prepare(w).block_steps(Dense(), 1, w) == 0
    power = rule.replace(stdp_algorithm="multiplicative_pow", mu=0.5).prepare(w)
    assert power.block_steps(Dense(), 1, w) == 0  # ** decided in the run:
    assert power.branches()[1].block_steps(Dense(), 1, w) == 128  # its variants
    assert not rule.replace(hardbound=False).prepare(w).block_steps(Dense(), 1, w)


# --- the XLA option --------------------------------------------------------------


def test_fast_cpu_loops_is_too_late_after_a_computation(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    jnp.zeros(1).block_until_ready()  # the backend has started
    assert fast_cpu_loops() is False
    assert "XLA_FLAGS" not in os.environ
    monkeypatch.setenv(
        "XLA_FLAGS", f"--xla_backend_extra_options={SMALL_LOOP_OPTION}=1"
    )
    assert fast_cpu_loops() is True  # set by the user: kept


SONG_PROBE = """
import json, sys
import jstdp
on = jstdp.fast_cpu_loops() if sys.argv[1] == "on" else False
from jstdp.experiments import Song2000Config, song2000
r = song2000(Song2000Config(seconds=0.5, inputs=200, rate_hz=50.0, mus=(0.0, 0.5, 1.0)))
out = {"on": on, "weights": r.weights.tolist(), "rates": r.rate_hz_t.tolist()}
print(json.dumps(out))
"""


@pytest.mark.slow
def test_fast_cpu_loops_changes_no_number():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    out = {}
    for mode in ("on", "off"):
        done = subprocess.run(
            [sys.executable, "-c", SONG_PROBE, mode],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        out[mode] = json.loads(done.stdout.splitlines()[-1])
    assert out["on"]["on"] is True and out["off"]["on"] is False
    assert out["on"]["weights"] == out["off"]["weights"]
    assert out["on"]["rates"] == out["off"]["rates"]
