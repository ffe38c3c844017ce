"""stdp_step_linear: analytic pairings, pinned anchors, a NumPy reference,
jit / vmap / grad / scan, recompilation, and every documented error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import RULE_IDS, RULES, dependence

import jstdp

# float32 weights of order 1 after a few operations.
F32_RTOL = 1e-5
# A weight change is the difference of two float32 weights near 0.5: it is
# exact only to their ulp.
W_ULP = float(np.spacing(np.float32(0.5)))
# float64 runs of a few dozen operations: a few hundred ulp at most.
F64_RTOL = 1e-12

# Norse's own test pattern: pre spike, then post spike, then pre spike again.
PRE = np.array([[[1.0, 1.0]], [[0.0, 0.0]], [[1.0, 1.0]]])  # (T, batch 1, n_pre 2)
POST = np.array([[[0.0, 0.0, 0.0]], [[1.0, 1.0, 1.0]], [[0.0, 0.0, 0.0]]])


def reference_step(z_pre, z_post, w, t_pre, t_post, p, dt):
    """Norse's dense rule written out in float64 NumPy."""
    t_pre = t_pre + dt * p.tau_pre_inv * (-t_pre + p.a_pre * z_pre)
    t_post = t_post + dt * p.tau_post_inv * (-t_post + p.a_post * z_post)
    potentiation = z_post.T @ t_pre  # sum over the batch of z_post_i * t_pre_j
    depression = t_post.T @ z_pre
    rule, mu = p.stdp_algorithm, p.mu
    w = (
        w
        + p.eta_plus * dependence(rule, mu, p.w_max - w) * potentiation
        - p.eta_minus * dependence(rule, mu, w - p.w_min) * depression
    )
    if p.hardbound:
        w = np.clip(w, p.w_min, p.w_max)
    return w, t_pre, t_post


def random_run(seed, steps, batch, n_pre, n_post, rate=0.3):
    rng = np.random.default_rng(seed)
    return (
        rng.random((steps, batch, n_pre)) < rate,
        rng.random((steps, batch, n_post)) < rate,
        rng.uniform(0.0, 1.0, (n_post, n_pre)),
    )


@pytest.mark.parametrize(("rule", "mu"), RULES, ids=RULE_IDS)
def test_pre_then_post_potentiates_and_post_then_pre_depresses(tr, rule, mu):
    """A pre spike followed one step later by a post spike potentiates by
    eta_plus * f(w_max - w) * t_pre; the next pre spike depresses by
    eta_minus * f(w - w_min) * t_post (the analytic check of Norse's tests)."""
    p = jstdp.STDPParameters(
        eta_plus=0.3, eta_minus=0.1, stdp_algorithm=rule, mu=mu, hardbound=True
    )
    step = tr(jstdp.stdp_step_linear)
    w = jnp.full((3, 2), 0.5)
    state = jstdp.STDPState.zeros_like(PRE[0], POST[0])
    rate = 0.001 * 20.0  # dt * tau_inv: trace jump per spike, 1 - decay per step
    t_pre = t_post = 0.0
    for k in range(3):
        w_before = np.asarray(w)
        w, state = step(PRE[k], POST[k], w, state, p, 0.001)
        t_pre += rate * (-t_pre + PRE[k, 0, 0])
        t_post += rate * (-t_post + POST[k, 0, 0])
        change = np.asarray(w) - w_before
        if k == 0:  # pre alone: the post trace is still 0
            np.testing.assert_array_equal(change, 0.0)
        if k == 1:
            expected = 0.3 * dependence(rule, mu, 1.0 - w_before) * t_pre
            np.testing.assert_allclose(change, expected, F32_RTOL, 2 * W_ULP)
            assert t_pre == pytest.approx(0.02 * 0.98)
        if k == 2:
            expected = -0.1 * dependence(rule, mu, w_before) * t_post
            np.testing.assert_allclose(change, expected, F32_RTOL, 2 * W_ULP)
        np.testing.assert_allclose(state.t_pre, t_pre, F32_RTOL)
        np.testing.assert_allclose(state.t_post, t_post, F32_RTOL)
    assert w.shape == (3, 2) and state.t_pre.shape == (1, 2)


# Weights after steps 1 and 2 of the pattern above (w0 = 0.5, eta 0.3 / 0.1):
# /work/shared/notes/peers.md §1.3, recomputed and confirmed with Norse 1.1.0
# in float64 (torch float64 parameters), 12 digits.
ANCHORS = {
    "additive": (0.505880000000, 0.503920000000),
    "additive_step": (0.505880000000, 0.503920000000),
    "multiplicative_pow": (0.503496268918, 0.502324739324),
    "multiplicative_relu": (0.502940000000, 0.501954237600),
}


@pytest.mark.parametrize(("rule", "mu"), RULES, ids=RULE_IDS)
def test_anchor_values(x64, rule, mu):
    p = jstdp.STDPParameters(eta_plus=0.3, eta_minus=0.1, stdp_algorithm=rule, mu=mu)
    w = jnp.full((3, 2), 0.5)
    state = jstdp.STDPState.zeros_like(PRE[0], POST[0], jnp.float64)
    weights = []
    for k in range(3):
        w, state = jstdp.stdp_step_linear(PRE[k], POST[k], w, state, p)
        weights.append(np.asarray(w))
    np.testing.assert_array_equal(weights[0], 0.5)
    np.testing.assert_allclose(weights[1], ANCHORS[rule][0], rtol=0, atol=5e-13)
    np.testing.assert_allclose(weights[2], ANCHORS[rule][1], rtol=0, atol=5e-13)


@pytest.mark.parametrize("hardbound", [True, False], ids=["hb", "nohb"])
@pytest.mark.parametrize(("rule", "mu"), RULES, ids=RULE_IDS)
def test_random_run_matches_numpy_reference(x64, rule, mu, hardbound):
    z_pre, z_post, w0 = random_run(1, 20, 3, 6, 4, rate=0.4)
    w0 = 0.1 + 0.7 * w0  # start inside [w_min, w_max]
    p = jstdp.STDPParameters(
        a_pre=0.7,
        a_post=1.2,
        tau_pre_inv=25.0,
        tau_post_inv=40.0,
        w_min=0.1,
        w_max=0.8,
        eta_plus=0.08,
        eta_minus=0.1,
        stdp_algorithm=rule,
        mu=mu,
        hardbound=hardbound,
    )
    w, state = w0, jstdp.STDPState.zeros_like(z_pre[0], z_post[0], jnp.float64)
    w_ref, t_pre, t_post = w0, np.zeros((3, 6)), np.zeros((3, 4))
    with np.errstate(invalid="ignore"):  # fractional mu outside the bounds
        for k in range(20):
            w, state = jstdp.stdp_step_linear(z_pre[k], z_post[k], w, state, p, 2e-3)
            w_ref, t_pre, t_post = reference_step(
                z_pre[k], z_post[k], w_ref, t_pre, t_post, p, 2e-3
            )
    np.testing.assert_allclose(w, w_ref, F64_RTOL, equal_nan=True)
    np.testing.assert_allclose(state.t_pre, t_pre, F64_RTOL)
    np.testing.assert_allclose(state.t_post, t_post, F64_RTOL)
    if hardbound:
        assert np.all((w_ref >= 0.1) & (w_ref <= 0.8))
    if hardbound and rule.startswith("additive"):  # the others bound softly
        assert np.any((w_ref == 0.1) | (w_ref == 0.8)), "clipping not exercised"


def test_outer_jit_is_bitwise_identical_to_eager(tr):
    z_pre, z_post, w = random_run(2, 1, 4, 5, 3)
    p = jstdp.STDPParameters(eta_plus=0.05, stdp_algorithm="multiplicative_pow", mu=0.5)
    state = jstdp.STDPState(jnp.full((4, 5), 0.1), jnp.full((4, 3), 0.2))
    want = jstdp.stdp_step_linear(z_pre[0], z_post[0], w, state, p)
    got = tr(jstdp.stdp_step_linear)(z_pre[0], z_post[0], w, state, p)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)


def test_batch_update_is_the_sum_of_per_sample_updates():
    """Norse sums the update over the batch (not a mean)."""
    z_pre, z_post, w = random_run(3, 1, 5, 4, 3, rate=0.5)
    p = jstdp.STDPParameters(eta_plus=0.05, eta_minus=0.04, hardbound=False)
    state = jstdp.STDPState(jnp.full((5, 4), 0.3), jnp.full((5, 3), 0.1))
    w = jnp.asarray(w, jnp.float32)
    w_all, _ = jstdp.stdp_step_linear(z_pre[0], z_post[0], w, state, p)
    total = sum(
        jstdp.stdp_step_linear(
            z_pre[0, b : b + 1],
            z_post[0, b : b + 1],
            w,
            jstdp.STDPState(state.t_pre[b : b + 1], state.t_post[b : b + 1]),
            p,
        )[0]
        - w
        for b in range(5)
    )
    np.testing.assert_allclose(w_all - w, total, rtol=F32_RTOL, atol=1e-7)
    assert np.abs(total).max() > 1e-3


def test_vmap_over_a_parameter_grid_equals_individual_runs():
    z_pre, z_post, w0 = random_run(4, 10, 2, 4, 3, rate=0.5)
    w0 = jnp.asarray(w0, jnp.float32)
    grid = [
        jstdp.STDPParameters(
            eta_plus=eta, eta_minus=0.05, mu=mu, stdp_algorithm="multiplicative_pow"
        )
        for eta in (0.02, 0.1)
        for mu in (0.5, 1.0, 2.0)
    ]
    stacked = jax.tree.map(lambda *xs: jnp.stack([jnp.float32(x) for x in xs]), *grid)

    def run(p):
        def body(carry, z):
            w, state = jstdp.stdp_step_linear(*z, *carry, p)
            return (w, state), None

        init = (w0, jstdp.STDPState.zeros_like(z_pre[0], z_post[0]))
        return jax.lax.scan(body, init, (z_pre, z_post))[0][0]

    swept = jax.vmap(run)(stacked)
    assert swept.shape == (6, 3, 4)
    for i, p in enumerate(grid):
        np.testing.assert_allclose(swept[i], run(p), rtol=F32_RTOL, atol=1e-7)
    assert len({float(swept[i].sum()) for i in range(6)}) == 6


def test_grad_through_a_scan_matches_finite_differences(x64):
    """d(sum of squared final weights)/d(eta_plus) through 50 steps."""
    z_pre, z_post, w0 = random_run(5, 50, 2, 4, 3, rate=0.3)
    base = jstdp.STDPParameters(
        eta_minus=0.03,
        stdp_algorithm="multiplicative_pow",
        mu=0.75,
        hardbound=False,
    )

    def loss(eta_plus):
        p = base.replace(eta_plus=eta_plus)

        def body(carry, z):
            return jstdp.stdp_step_linear(*z, *carry, p), None

        init = (w0, jstdp.STDPState.zeros_like(z_pre[0], z_post[0], jnp.float64))
        (w, _), _ = jax.lax.scan(body, init, (z_pre, z_post))
        return jnp.sum(w**2)

    eta, h = 0.04, 1e-6
    grad = jax.grad(loss)(eta)
    finite = (loss(eta + h) - loss(eta - h)) / (2 * h)
    assert abs(float(grad)) > 1e-3
    # Central differences: O(h**2) truncation, O(eps / h) rounding ~1e-10.
    np.testing.assert_allclose(grad, finite, rtol=1e-7)


def test_jit_of_the_public_function_retraces_only_for_static_changes():
    traces = 0

    def step(*args):
        nonlocal traces
        traces += 1
        return jstdp.stdp_step_linear(*args)

    step = jax.jit(step)
    z_pre, z_post, w = random_run(6, 1, 2, 3, 2, rate=0.9)
    state = jstdp.STDPState.zeros_like(z_pre[0], z_post[0])
    p = jstdp.STDPParameters(eta_plus=0.1)
    w1, _ = step(z_pre[0], z_post[0], w, state, p)
    w2, _ = step(z_pre[0], z_post[0], w, state, p.replace(eta_plus=0.3, w_max=2.0))
    assert traces == 1
    assert not np.allclose(w1, w2)  # the new value was used, not a stale one
    step(z_pre[0], z_post[0], w, state, p.replace(hardbound=False))
    assert traces == 2
    step(z_pre[0], z_post[0], w, state, p.replace(stdp_algorithm="additive_step"))
    assert traces == 3
    # jax.jit on the public function itself, parameters as an ordinary argument.
    direct = jax.jit(jstdp.stdp_step_linear)
    np.testing.assert_array_equal(direct(z_pre[0], z_post[0], w, state, p)[0], w1)


def test_a_python_loop_of_steps_compiles_once(compiles):
    z_pre, z_post, w = random_run(7, 5, 2, 3, 2)
    w = jnp.asarray(w, jnp.float32)
    state = jstdp.STDPState.zeros_like(z_pre[0], z_post[0])
    p = jstdp.STDPParameters(stdp_algorithm="multiplicative_relu", eta_plus=0.01)
    w, state = jstdp.stdp_step_linear(z_pre[0], z_post[0], w, state, p)
    compiles.clear()
    for k, eta in enumerate((0.02, 0.03, 0.04, 0.05), start=1):
        w, state = jstdp.stdp_step_linear(
            z_pre[k], z_post[k], w, state, p.replace(eta_plus=eta), dt=0.002
        )
    assert compiles == []
    jstdp.stdp_step_linear(z_pre[0], z_post[0], w, state, p.replace(hardbound=False))
    assert len(compiles) >= 1


@pytest.mark.parametrize("spike_dtype", [bool, np.int32, np.uint8, np.float64])
def test_int_and_bool_spikes_equal_float_spikes(tr, spike_dtype):
    z_pre, z_post, w = random_run(8, 1, 3, 4, 2, rate=0.5)
    state = jstdp.STDPState(jnp.full((3, 4), 0.2), jnp.full((3, 2), 0.3))
    p = jstdp.STDPParameters(eta_plus=0.1, eta_minus=0.2)
    step = tr(jstdp.stdp_step_linear)
    want = step(z_pre[0].astype(np.float32), z_post[0].astype(np.float32), w, state, p)
    got = step(z_pre[0].astype(spike_dtype), z_post[0].astype(spike_dtype), w, state, p)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == jnp.float32


def test_inputs_are_not_modified():
    z_pre, z_post, w = random_run(9, 1, 2, 3, 2, rate=0.9)
    t_pre, t_post = np.full((2, 3), 0.5), np.full((2, 2), 0.5)
    copies = [x.copy() for x in (z_pre, z_post, w, t_pre, t_post)]
    state = jstdp.STDPState(t_pre, t_post)
    new_w, new_state = jstdp.stdp_step_linear(z_pre[0], z_post[0], w, state, None)
    for x, c in zip((z_pre, z_post, w, t_pre, t_post), copies, strict=True):
        np.testing.assert_array_equal(x, c)
    assert new_state is not state and state.t_pre is t_pre
    assert not np.allclose(new_w, w)


def test_default_parameters_are_norses(tr):
    z_pre, z_post, w = random_run(10, 1, 2, 3, 2, rate=0.9)
    state = jstdp.STDPState.zeros_like(z_pre[0], z_post[0])
    got = tr(jstdp.stdp_step_linear)(z_pre[0], z_post[0], w, state)
    want = jstdp.stdp_step_linear(
        z_pre[0], z_post[0], w, state, jstdp.STDPParameters(), 0.001
    )
    np.testing.assert_array_equal(got[0], want[0])


@pytest.mark.parametrize(
    ("w_dtype", "x64_on"), [(jnp.float32, False), (jnp.float64, True)]
)
def test_computation_follows_the_weights_dtype(w_dtype, x64_on):
    """NumPy float64 parameters and traces must not promote float32 weights."""
    with jax.enable_x64(x64_on):
        z_pre, z_post, w = random_run(11, 1, 2, 3, 2)
        w = jnp.asarray(w, w_dtype)
        state = jstdp.STDPState(np.zeros((2, 3)), np.zeros((2, 2)))
        p = jstdp.STDPParameters(eta_plus=np.float64(0.1), w_max=np.float64(2.0))
        new_w, new_state = jstdp.stdp_step_linear(z_pre[0], z_post[0], w, state, p)
        assert new_w.dtype == new_state.t_pre.dtype == new_state.t_post.dtype
        assert new_w.dtype == w_dtype


def test_bfloat16_weights_run_in_bfloat16():
    z_pre, z_post, w = random_run(12, 1, 2, 3, 2, rate=0.9)
    w = jnp.asarray(w, jnp.bfloat16)
    state = jstdp.STDPState.zeros_like(z_pre[0], z_post[0], jnp.bfloat16)
    new_w, new_state = jstdp.stdp_step_linear(z_pre[0], z_post[0], w, state)
    assert new_w.dtype == new_state.t_pre.dtype == jnp.bfloat16


GOOD = dict(
    z_pre=np.zeros((2, 3)),
    z_post=np.zeros((2, 4)),
    w=np.zeros((4, 3), np.float32),
    t_pre=np.zeros((2, 3)),
    t_post=np.zeros((2, 4)),
)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (dict(z_pre=np.zeros(3)), r"z_pre must have rank 2 \(batch, n_pre\), got"),
        (dict(z_post=np.zeros((1, 2, 4))), r"z_post must have rank 2"),
        (dict(w=np.zeros((4, 3, 1))), r"w must have rank 2 \(n_post, n_pre\)"),
        (dict(z_post=np.zeros((3, 4))), r"z_post must have shape \(2, 4\), got"),
        (dict(w=np.zeros((4, 2))), r"w must have shape \(4, 3\), got \(4, 2\)"),
        (dict(w=np.zeros((3, 4))), r"w must have shape \(4, 3\), got \(3, 4\)"),
        (dict(t_pre=np.zeros((2, 4))), r"state_stdp.t_pre must have shape \(2, 3\)"),
        (dict(t_post=np.zeros((1, 4))), r"state_stdp.t_post must have shape"),
    ],
)
def test_shape_errors_are_raised_at_trace_time(tr, bad, message):
    a = {**GOOD, **bad}
    state = jstdp.STDPState(a["t_pre"], a["t_post"])
    with pytest.raises(ValueError, match=message):
        tr(jstdp.stdp_step_linear)(a["z_pre"], a["z_post"], a["w"], state)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(dt=0.0), ValueError, r"dt must be positive.*got 0.0"),
        (dict(dt=-1e-3), ValueError, "dt must be positive"),
        (
            dict(p_stdp=jstdp.STDPParameters(w_min=1.0, w_max=0.5)),
            ValueError,
            "w_min must be < w_max, got w_min=1.0, w_max=0.5",
        ),
        (dict(p_stdp={"eta_plus": 1.0}), TypeError, "p_stdp must be jstdp.STDP"),
        (dict(state_stdp=(0, 0)), TypeError, "state_stdp must be jstdp.STDPState"),
        (dict(w=np.zeros((4, 3), np.int32)), TypeError, "w must have a floating"),
    ],
)
def test_value_and_type_errors(kwargs, error, message):
    args = dict(
        z_pre=GOOD["z_pre"],
        z_post=GOOD["z_post"],
        w=GOOD["w"],
        state_stdp=jstdp.STDPState(GOOD["t_pre"], GOOD["t_post"]),
    )
    with pytest.raises(error, match=message):
        jstdp.stdp_step_linear(**{**args, **kwargs})
