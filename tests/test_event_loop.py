"""Poisson inputs as events, and the event-driven closed loop.

``poisson_event_spikes``: every (step, input) cell is Bernoulli(``rate *
dt``): rates of 0 and ``1 / dt`` give no spike and a spike every step, also
across many rounds of candidates (a small round size forces them); mean
rates, the per-step count distribution and the independence of consecutive
steps match the Bernoulli process; heterogeneous rates are thinned right.

``run_linear_events`` gives ``run_linear``'s numbers on the same input spikes
(``poisson_event_spikes``) up to float rounding, for every rule, both
delays, LIF and conductance neurons, float32 and float64; its state
continues in ``run_linear`` and back. Bad inputs: ``tests/test_bad_inputs_runs.py``
(``events/...``).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp
from jstdp.neurons import poisson_events

DT = 1e-4
SONG = dict(eta_plus=0.005 * 0.02 / DT, eta_minus=1.05 * 0.005 * 0.02 / DT)


def stdp(algorithm="additive", mu=0.0, **kw):
    return jstdp.STDPParameters(
        stdp_algorithm=algorithm, mu=mu, tau_pre_inv=50.0, tau_post_inv=50.0,
        **{**SONG, **kw},
    )  # fmt: skip


def song_inputs(n=1000, rate=10.0):
    return jnp.full((1, n), rate, jnp.float32)


# --- the input spikes -----------------------------------------------------------


@pytest.fixture
def small_rounds(monkeypatch):
    """Rounds of 2 n candidates (the least that completes a step)."""
    monkeypatch.setattr(poisson_events, "capacity", lambda n: 2 * n)


@pytest.mark.parametrize("rounds", ["default", "small"])
def test_certain_and_impossible_inputs(rounds, request):
    if rounds == "small":
        request.getfixturevalue("small_rounds")
    rates = jnp.asarray([0.0, 1 / DT, 0.0, 1 / DT, 250.0], jnp.float32)
    z = np.asarray(jstdp.poisson_event_spikes(jax.random.key(0), rates, DT, 3000))
    assert z.shape == (3000, 1, 5)
    assert set(np.unique(z)) <= {0.0, 1.0}
    np.testing.assert_array_equal(z[:, 0, [0, 2]], 0.0)
    np.testing.assert_array_equal(z[:, 0, [1, 3]], 1.0)
    assert 40 <= z[:, 0, 4].sum() <= 110  # 75 expected, sd 8.5


@pytest.mark.parametrize("rounds", ["default", "small"])
def test_bernoulli_statistics(rounds, request):
    """200 inputs at 50 Hz, 0.1 ms: mean rate, Binomial(200, 5e-3) counts
    per step, no correlation between consecutive steps or inputs."""
    if rounds == "small":
        request.getfixturevalue("small_rounds")
    steps, n, p = 100_000, 200, 5e-3
    z = np.asarray(
        jstdp.poisson_event_spikes(jax.random.key(1), song_inputs(n, 50.0), DT, steps)
    )
    z = z[:, 0]
    total = z.sum()
    mean, sd = steps * n * p, np.sqrt(steps * n * p * (1 - p))
    assert abs(total - mean) < 5 * sd
    per_step = z.sum(1)
    expected = [steps * math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(5)]
    observed = [np.sum(per_step == k) for k in range(5)]
    for o, e in zip(observed, expected, strict=True):
        assert abs(o - e) < 5 * np.sqrt(e) + 0.01 * e, (observed, expected)
    lag = np.corrcoef(per_step[:-1], per_step[1:])[0, 1]
    assert abs(lag) < 5 / np.sqrt(steps)
    per_input = z.sum(0)  # Binomial(steps, p) each
    assert abs(per_input.var() / (steps * p * (1 - p)) - 1) < 0.45  # 4.5 sd


def test_thinning_follows_each_rate():
    rates = jnp.linspace(0.0, 100.0, 64, dtype=jnp.float32)
    steps = 100_000
    z = np.asarray(jstdp.poisson_event_spikes(jax.random.key(2), rates, DT, steps))
    counts, expected = z[:, 0].sum(0), np.asarray(rates) * DT * steps
    np.testing.assert_array_less(np.abs(counts - expected), 5 * np.sqrt(expected) + 1)
    assert counts[0] == 0


def test_inputs_are_reproducible_and_keyed():
    draw = lambda k: np.asarray(  # noqa: E731
        jstdp.poisson_event_spikes(jax.random.key(k), song_inputs(), DT, 5000)
    )
    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))


# --- the closed loop against run_linear -------------------------------------------


def both(rates, w0, p, neuron, steps, key, delay=1, dt=DT, state=None):
    """``run_linear`` on the event spikes, and ``run_linear_events``."""
    z = jstdp.poisson_event_spikes(key, rates, dt, steps).astype(w0.dtype)
    dense = jstdp.run_linear(z, w0, p, neuron, dt, delay=delay, state=state)[:2]
    events = jstdp.run_linear_events(
        jstdp.PoissonInput(rates), w0, p, neuron, dt,
        steps=steps, key=key, delay=delay, state=state,
    )  # fmt: skip
    return dense, events


def assert_close(dense, events, tol):
    (wd, sd), (we, se) = dense, events
    assert int(sd.spike_count[0, 0]) == int(se.spike_count[0, 0]) > 0
    np.testing.assert_allclose(we, wd, rtol=0, atol=tol)
    np.testing.assert_allclose(se.stdp.t_pre, sd.stdp.t_pre, rtol=100 * tol, atol=tol)
    np.testing.assert_allclose(se.stdp.t_post, sd.stdp.t_post, rtol=tol)
    np.testing.assert_allclose(se.neuron.v, sd.neuron.v, rtol=tol)
    assert int(se.step) == int(sd.step)
    if sd.pending is None:
        assert se.pending is None
    else:
        np.testing.assert_array_equal(se.pending, sd.pending)


RULES = [
    ("additive", 0.0),
    ("additive_step", 0.0),
    ("multiplicative_pow", 0.5),
    ("multiplicative_pow", 0.3),
    ("multiplicative_relu", 1.0),
]


@pytest.mark.parametrize("algorithm, mu", RULES)
@pytest.mark.parametrize("delay", [0, 1])
def test_events_equal_dense_song(algorithm, mu, delay):
    """Song's neuron, 1000 inputs, 2 s at 0.1 ms (about 20,000 input spikes
    and 50 output spikes): equal spike counts, weights within 1e-5."""
    w0 = jax.random.uniform(jax.random.key(0), (1, 1000))
    dense, events = both(
        song_inputs(), w0, stdp(algorithm, mu), jstdp.ConductanceLIFParameters(),
        20_000, jax.random.key(5), delay,
    )  # fmt: skip
    assert_close(dense, events, 1e-5)
    # Most weights moved (the check is not vacuous).
    assert np.mean(np.asarray(events[0] != w0)) > 0.9


def test_events_equal_dense_across_rounds(small_rounds):
    """Rounds of 2,000 candidates (~2,000 steps each at 10 Hz x 1000 inputs):
    a step split between two rounds is run once, with all its spikes."""
    rates = song_inputs()[0]
    default = poisson_events._event_spikes(jax.random.key(5), rates, DT, 4000, 4096)
    w0 = jax.random.uniform(jax.random.key(0), (1, 1000))
    dense, events = both(
        song_inputs(), w0, stdp(), jstdp.ConductanceLIFParameters(),
        20_000, jax.random.key(5),
    )  # fmt: skip
    assert_close(dense, events, 1e-5)
    small = jstdp.poisson_event_spikes(jax.random.key(5), song_inputs(), DT, 4000)
    assert not np.array_equal(small, default)  # the rounds did change


def test_events_equal_dense_lif_float64(x64):
    """Norse's LIF (current input) in float64: rounding only, ~1e-13."""
    w0 = jax.random.uniform(jax.random.key(1), (1, 200), jnp.float64)
    p = jstdp.STDPParameters(eta_plus=0.02, eta_minus=0.021)
    neuron = jstdp.LIFParameters(v_th=0.4)
    rates = jnp.full((1, 200), 40.0)
    dense, events = both(rates, 0.5 * w0, p, neuron, 5000, jax.random.key(2), dt=1e-3)
    assert dense[0].dtype == events[0].dtype == jnp.float64
    assert_close(dense, events, 1e-12)


@pytest.mark.parametrize("delay", [0, 1])
def test_events_equal_dense_busy_neuron(delay):
    """Rates from 0 to 200 Hz (thinning), a LIF neuron firing often (the
    dense branch in many steps), weights starting at the bounds."""
    rates = jnp.linspace(0.0, 200.0, 300, dtype=jnp.float32)
    w0 = jnp.where(
        jnp.arange(300) % 3 == 0, 1.0, jnp.where(jnp.arange(300) % 3 == 1, 0.0, 0.5)
    )
    p = jstdp.STDPParameters(
        stdp_algorithm="multiplicative_pow", mu=0.7, eta_plus=0.05, eta_minus=0.06
    )
    neuron = jstdp.LIFParameters(v_th=0.3)
    dense, events = both(
        rates, w0[None], p, neuron, 3000, jax.random.key(9), delay, 1e-3
    )
    assert int(events[1].spike_count[0, 0]) > 300  # fired in > 10% of steps
    assert_close(dense, events, 1e-5)


def test_state_continues_across_both_loops():
    """events (k1) -> dense (k2) equals events (k1) -> events (k2) up to
    rounding: the state (traces, neuron, pending spikes) hands over."""
    w0 = jax.random.uniform(jax.random.key(0), (1, 1000))
    p, neuron = stdp(), jstdp.ConductanceLIFParameters()
    inputs = jstdp.PoissonInput(song_inputs())
    w1, s1 = jstdp.run_linear_events(
        inputs, w0, p, neuron, DT, steps=7000, key=jax.random.key(1)
    )
    dense, events = both(
        song_inputs(), w1, p, neuron, 9000, jax.random.key(2), state=s1
    )
    assert_close(dense, events, 1e-5)
    assert int(events[1].step) == 16_000


def test_zero_steps_and_silent_inputs():
    w0 = jnp.full((1, 10), 0.5)
    inputs = jstdp.PoissonInput(jnp.zeros((1, 10)))
    w, s = jstdp.run_linear_events(inputs, w0, steps=0, key=jax.random.key(0))
    np.testing.assert_array_equal(w, w0)
    assert int(s.step) == 0
    w, s = jstdp.run_linear_events(inputs, w0, steps=500, key=jax.random.key(0))
    np.testing.assert_array_equal(w, w0)
    assert int(s.step) == 500 and int(s.spike_count[0, 0]) == 0
