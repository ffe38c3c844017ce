"""Diehl & Cook's rule (jstdp.rules.diehl_cook) against a NumPy reference.

The reference below is written from the rule's definition in terms of spike
times (lists of spike steps, a loop per spike and synapse), not from the
rings the rule keeps, so the two share no code.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp
from jstdp.rules import DiehlCookSTDP
from jstdp.rules.diehl_cook import NEVER, trace

DT = 5e-4
# float64 on both sides: only the order of a few sums differs.
F64_ATOL = 1e-14


def reference(z_pre, z_post, w, rule, delays, lag):
    """The rule by spike times: ``z_pre (T, B, n_pre)``, ``z_post (T, B, n_post)``.

    Step t: every presynaptic spike of step t - lag depresses its synapses by
    nu_pre * post1 at the step before its arrival (nearest postsynaptic spike
    at or before it); then every postsynaptic spike of step t potentiates its
    synapses by nu_post * pre(t - d) * post2 (nearest postsynaptic spike
    strictly before t); touched synapses are clipped.
    """
    w = np.array(w, np.float64)
    steps, batch, n_pre = z_pre.shape
    n_post = z_post.shape[2]
    tau = {k: 1 / float(getattr(rule, k)) for k in ("tau_pre_inv", "tau_post1_inv")}
    tau2 = 1 / float(rule.tau_post2_inv)

    def nearest(z, b, k, s, strict=False):
        times = [
            u for u in range(steps) if z[u, b, k] and (u < s if strict else u <= s)
        ]
        return None if not times else times[-1]

    for t in range(steps):
        m = t - lag
        if m >= 0:
            for b in range(batch):
                for j in np.flatnonzero(z_pre[m, b]):
                    for i in range(n_post):
                        s = m + delays[i, j] - 1
                        last = nearest(z_post, b, i, s)
                        p1 = (
                            0.0
                            if last is None
                            else np.exp(-(s - last) * DT / tau["tau_post1_inv"])
                        )
                        w[i, j] -= float(rule.nu_pre) * p1
            spiked = z_pre[m].any(0)
            w[:, spiked] = np.clip(w[:, spiked], 0.0, 1.0)
        for b in range(batch):
            for i in np.flatnonzero(z_post[t, b]):
                last = nearest(z_post, b, i, t, strict=True)
                p2 = 0.0 if last is None else np.exp(-(t - last) * DT / tau2)
                for j in range(n_pre):
                    s = t - delays[i, j]
                    lp = nearest(z_pre, b, j, s)
                    pre = (
                        0.0
                        if lp is None
                        else np.exp(-(s - lp) * DT / tau["tau_pre_inv"])
                    )
                    w[i, j] += float(rule.nu_post) * pre * p2
        fired = z_post[t].any(0)
        w[fired] = np.clip(w[fired], 0.0, 1.0)
    return w


def _spikes(seed, steps, batch, n, p):
    return (np.random.default_rng(seed).random((steps, batch, n)) < p).astype(
        np.float64
    )


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("delayed", [False, True], ids=["no-delays", "delays"])
def test_rule_equals_spike_time_reference(x64, tr, batch, delayed):
    rng = np.random.default_rng(0)
    n_pre, n_post, steps = 7, 5, 60
    z_pre = _spikes(1, steps, batch, n_pre, 0.15)
    z_post = _spikes(2, steps, batch, n_post, 0.1)
    # Weights near the bounds and one above w_max (as after normalisation):
    # it stays until a spike touches it.
    w0 = rng.uniform(0.0, 1.0, (n_post, n_pre))
    w0[0, :2] = [1.3, 1e-6]
    if delayed:
        delays, lag = rng.integers(1, 8, (n_post, n_pre)), 9
        rule = DiehlCookSTDP(nu_pre=0.02, nu_post=0.05, delays=delays, lag=lag)
    else:
        delays, lag = np.ones((n_post, n_pre), int), 0
        rule = DiehlCookSTDP(nu_pre=0.02, nu_post=0.05)
    want = reference(z_pre, z_post, w0, rule, delays, lag)
    replay = tr(lambda a, b, w: jstdp.replay(rule, a, b, w, DT)[0])
    got = replay(z_pre, z_post, jnp.asarray(w0))
    np.testing.assert_allclose(got, want, rtol=0, atol=F64_ATOL)
    assert np.any(np.abs(want - w0) > 1e-3)  # the rule did something


def test_weight_above_w_max_stays_until_touched(x64):
    w0 = jnp.array([[1.5, 1.5]])
    z_pre = np.zeros((3, 1, 2))
    z_pre[1, 0, 1] = 1.0
    w, _, _ = jstdp.replay(DiehlCookSTDP(), z_pre, np.zeros((3, 1, 1)), w0, DT)
    np.testing.assert_array_equal(w, [[1.5, 1.0]])


def test_pairing_at_arrival_signs():
    """A presynaptic spike that arrives at or before the postsynaptic spike
    potentiates; one that arrives after it depresses (delay 4, lag 5). An
    earlier postsynaptic spike (step 1) makes post2 non-zero: the first spike
    of a neuron potentiates nothing (the triplet term)."""
    rule = DiehlCookSTDP(delays=np.full((1, 1), 4), lag=5)

    def dw(pre_step, post_steps):
        z_pre, z_post = np.zeros((20, 1, 1)), np.zeros((20, 1, 1))
        z_pre[pre_step] = 1.0
        z_post[list(post_steps)] = 1.0
        w, _, _ = jstdp.replay(rule, z_pre, z_post, jnp.full((1, 1), 0.5), DT)
        return float(w[0, 0]) - 0.5

    assert dw(5, [9]) == 0.0  # no earlier post spike; post1 at step 8 is 0
    # Arrives in step 9, the post spike's step: LTP (pre = 1, post2 of step 1),
    # and its depression lands in step 10 with post1 of step 1.
    want = 1e-2 * np.exp(-8 * DT / 40e-3) - 1e-4 * np.exp(-7 * DT / 20e-3)
    np.testing.assert_allclose(dw(5, [1, 9]), want, atol=6e-8)
    # Arrives in step 10: no LTP (pre at step 5 is 0), post1 at step 9 is 1.
    np.testing.assert_allclose(dw(6, [1, 9]), -1e-4, atol=6e-8)  # float32 at 0.5


def test_trace_is_the_closed_form(x64):
    age = jnp.arange(5)
    np.testing.assert_allclose(
        trace(age, jnp.float64(DT), 50.0), np.exp(-np.arange(5) * DT * 50)
    )
    assert float(trace(jnp.asarray(0 - NEVER), jnp.float32(DT), 50.0)) == 0.0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(w_min=1.0, w_max=0.5), ValueError, "w_min must be < w_max"),
        (dict(tau_pre_inv=0.0), ValueError, "tau_pre_inv must be > 0"),
        (dict(nu_pre=-1.0), ValueError, "nu_pre must be >= 0"),
        (dict(lag=-1), ValueError, "lag must be an int >= 0"),
        (dict(delays=np.ones((2, 2))), TypeError, "delays must be an int array"),
        (dict(delays=np.zeros((2, 2), int), lag=3), ValueError, "delays must be >= 1"),
        (
            dict(delays=np.full((2, 2), 5)),
            ValueError,
            r"lag must be >= max\(delays\) - 1",
        ),
        (dict(delays=np.ones(3, int)), ValueError, "delays must be shaped like w"),
    ],
)
def test_bad_parameters_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        DiehlCookSTDP(**kwargs)


def test_init_checks_the_layout():
    rule = DiehlCookSTDP(delays=np.ones((3, 4), int))
    with pytest.raises(ValueError, match="delays must have w's shape"):
        rule.init((1, 5), (1, 3), (3, 5))
    with pytest.raises(ValueError, match="needs a Dense projection"):
        rule.init((1, 2, 2), (1, 3), (3, 4))
    with pytest.raises(ValueError, match="needs a Dense connection"):
        rule.update(
            jnp.zeros((1, 4)), jnp.zeros((1, 3)), jnp.zeros((3, 4)),
            rule.init((1, 4), (1, 3), (3, 4)), 1e-3, jstdp.connections.OneToOne(),
        )  # fmt: skip


def test_state_is_int32_and_jit_traces_once():
    rule = DiehlCookSTDP(delays=np.full((3, 4), 2), lag=3)
    state = rule.init((2, 4), (2, 3), (3, 4))
    assert state.pre_last.dtype == state.post_last.dtype == jnp.int32
    assert state.pre_last.shape == (5, 2, 4) and state.post_last.shape == (5, 2, 3)
    step = jax.jit(rule.update)
    z = jnp.ones((2, 4)), jnp.ones((2, 3))
    w = jnp.full((3, 4), 0.5, jnp.float32)
    for _ in range(3):
        w, state = step(*z, w, state, jnp.float32(DT))
    assert step._cache_size() == 1
