"""The fast paths equal the reference paths.

conv2d: receptive fields by strided slices (``receptive_fields``, features or
positions first) are the ``conv_general_dilated_patches`` fields (``unfold``)
bit for bit, both layouts of the product equal the reference, and the
default ``unfold_method="slices"`` step and the ``"conv"`` step (the kernel
gradient) equal the reference ``unfold_method="patches"`` step to rounding
for every rule, over stride, padding and dilation pairs and batches
> 1, in float32 and float64, eager, jitted, scanned and vmapped.

weight dependence: ``power`` (``exp(y log|x|)``) is ``jnp.power`` to a few
ulp, exactly in the IEEE special cases, with ``jnp.power``'s derivatives;
``power_half`` (``mu = 0.5``) is the correctly rounded ``sqrt`` with ``pow``'s
special cases and derivatives. ``apply_update`` gives the same weights whether
the choice is static (``FastPaths.half``) or made per step (traced ``mu``,
also under ``vmap`` over ``mu``), and gradients with respect to ``mu`` at 0.5
are the general path's.

linear: ``additive`` with concrete scalar learning rates merges its two
products into one (``FastPaths.merged``), equal to the two-product update to
rounding; traced or per-synapse rates do not merge. The row-blocked update
(``update_rows``, used on CPU for large weights) equals the all-at-once
update for every rule and block size, including blocks that do not divide
the rows, and the public step takes it for large ``w`` without w-sized
temporaries.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import RULES

import jstdp
from jstdp.connections import Dense, conv_output_shape
from jstdp.connections.conv2d import POSITIONS_FIRST_MAX
from jstdp.rules import norse as norse_rule
from jstdp.rules.norse import BLOCKED_MIN_BYTES, UNKNOWN, FastPaths, power, power_half


# The internals under test, called as the Norse rule calls them.
def update(w, z_pre, z_post, state, p, paths=UNKNOWN):
    return norse_rule.dense_update(w, z_pre, z_post, state, p, Dense(), paths)


def update_rows(w, z_pre, z_post, state, p, rows, paths=UNKNOWN):
    def whole(w, z_pre, z_post, state):
        return update(w, z_pre, z_post, state, p, paths)

    return norse_rule.update_rows(whole, w, z_pre, z_post, state, rows)


apply_update = norse_rule.apply_update


def fast_paths(p):
    return p.prepare().paths


def hebbian(post, pre, kernel, p, method, positions_first=None):
    return p.conv2d(method).hebbian(post, pre, kernel, positions_first)


def receptive_fields(x, kernel, p, positions_first=False):
    return p.conv2d().receptive_fields(x, kernel, positions_first)


def unfold(x, kernel, p):
    return p.conv2d().unfold(x, kernel)


# Both paths multiply the same numbers and differ only in the order of the
# sums over batch and positions (up to ~10^3 terms): errors are relative to
# the size of the weight change.
F32_REL = 1e-5
F64_REL = 1e-13

# (C_in, H, W, C_out, kh, kw, stride, padding, dilation, batch)
GEOMETRIES = [
    pytest.param((2, 7, 6, 3, 3, 3, 1, 0, 1, 2), id="3x3"),
    pytest.param((3, 12, 12, 4, 5, 5, 1, 2, 1, 3), id="5x5-same"),
    pytest.param((1, 9, 8, 2, 2, 4, 2, 1, 1, 3), id="k2x4-s2-p1"),
    pytest.param((2, 11, 7, 2, 3, 2, (2, 1), (1, 0), (2, 3), 2), id="pairs"),
    pytest.param((2, 10, 9, 3, 3, 3, (1, 3), (2, 1), (1, 2), 2), id="pairs-2"),
    pytest.param((1, 5, 4, 2, 5, 6, 1, (0, 1), 1, 2), id="k-fills-input"),
]


def assert_same_update(got, want, w0, rel):
    """``got`` and ``want`` agree to ``rel`` times the largest weight change."""
    change = float(jnp.max(jnp.abs(want - w0)))
    assert change > 1e-3  # the weights did move
    np.testing.assert_allclose(got, want, rtol=0, atol=rel * change)


def conv_case(geometry, seed, dtype, rate=0.4):
    c_in, h, wd, c_out, kh, kw, stride, padding, dilation, batch = geometry
    p = jstdp.STDPParameters(
        convolutional=True, stride=stride, padding=padding, dilation=dilation
    )
    out = conv_output_shape((h, wd), (kh, kw), p.stride, p.padding, p.dilation)
    rng = np.random.default_rng(seed)
    z_pre = jnp.asarray(rng.random((batch, c_in, h, wd)) < rate, dtype)
    z_post = jnp.asarray(rng.random((batch, c_out, *out)) < rate, dtype)
    w = jnp.asarray(rng.uniform(0.1, 0.9, (c_out, c_in, kh, kw)), dtype)
    # Nonzero traces, so both contractions carry every product from step 1.
    state = jstdp.STDPState(
        jnp.asarray(rng.random(z_pre.shape), dtype),
        jnp.asarray(rng.random(z_post.shape), dtype),
    )
    # Rates that move the weights by ~0.05 over a few steps whatever the number
    # of summed positions, so they stay inside the bounds, where
    # (w_max - w)**mu would amplify rounding differences.
    eta = 0.1 / (batch * out[0] * out[1])
    return z_pre, z_post, w, state, p.replace(eta_plus=eta, eta_minus=0.8 * eta)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_slices_are_the_patches_bit_for_bit(tr, geometry):
    c_in, h, wd, _, kh, kw, stride, padding, dilation, batch = geometry
    x = np.random.default_rng(0).normal(size=(batch, c_in, h, wd)).astype(np.float32)
    p = jstdp.STDPParameters(stride=stride, padding=padding, dilation=dilation)
    patches = tr(lambda x: unfold(x, (kh, kw), p))(x)  # (batch, F, L)
    want = np.asarray(patches).transpose(1, 0, 2).reshape(patches.shape[1], -1)
    got = tr(lambda x: receptive_fields(x, (kh, kw), p))(x)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    by_position = tr(lambda x: receptive_fields(x, (kh, kw), p, True))(x)
    np.testing.assert_array_equal(by_position, want.T)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_both_layouts_of_the_product_equal_the_reference(geometry):
    z_pre, z_post, _, state, p = conv_case(geometry, seed=5, dtype=jnp.float32)
    kernel = geometry[4:6]
    post = state.t_post.reshape(*state.t_post.shape[:2], -1)
    want = hebbian(post, z_pre, kernel, p, "patches")
    for positions_first in (False, True):
        got = hebbian(post, z_pre, kernel, p, "slices", positions_first)
        np.testing.assert_allclose(got, want, rtol=F32_REL)


def test_the_layout_follows_the_size_of_the_result():
    """Positions first up to ``POSITIONS_FIRST_MAX`` result entries (C-mnist's
    32 x 50), features first above (C-deep's 64 x 288), as measured."""
    p = jstdp.STDPParameters()
    for c_out, c_in, positions_first in ((32, 2, True), (64, 32, False)):
        post = jnp.zeros((2, c_out, 16))
        pre = jnp.zeros((2, c_in, 6, 6))
        assert (c_out * c_in * 9 <= POSITIONS_FIRST_MAX) == positions_first
        step = jax.jit(lambda a, b: hebbian(a, b, (3, 3), p, "slices"))
        text = step.lower(post, pre).as_text()
        # positions first: the (batch, positions, C_out) transpose of post
        assert (f"tensor<2x16x{c_out}xf32>" in text) == positions_first


def conv_run(method, z_pre, z_post, w, state, p, steps=3):
    """``steps`` steps of the public conv2d step with ``unfold_method``."""
    for _ in range(steps):
        w, state = jstdp.stdp_step_conv2d(
            z_pre, z_post, w, state, p, 1e-3, unfold_method=method
        )
    return w, state


# Every rule on the geometry with all pairs, every geometry with one rule.
FLOAT32_CASES = [
    pytest.param(GEOMETRIES[3].values[0], rule, mu, id=f"pairs-{rule}")
    for rule, mu in RULES
] + [
    pytest.param(g.values[0], *RULES[k % 4], id=f"{g.id}-{RULES[k % 4][0]}")
    for k, g in enumerate(GEOMETRIES)
    if g.id != "pairs"
]


FAST_CONV = ("conv", "slices")  # the kernel gradient; receptive fields by slices


@pytest.mark.parametrize("method", FAST_CONV)
@pytest.mark.parametrize(("geometry", "rule", "mu"), FLOAT32_CASES)
def test_conv_fast_methods_equal_patches_float32(geometry, rule, mu, method):
    z_pre, z_post, w, state, p = conv_case(geometry, seed=1, dtype=jnp.float32)
    p = p.replace(stdp_algorithm=rule, mu=mu)
    w_ref, s_ref = conv_run("patches", z_pre, z_post, w, state, p)
    w_fast, s_fast = conv_run(method, z_pre, z_post, w, state, p)
    assert_same_update(w_fast, w_ref, w, F32_REL)
    np.testing.assert_array_equal(s_fast.t_pre, s_ref.t_pre)
    np.testing.assert_array_equal(s_fast.t_post, s_ref.t_post)


@pytest.mark.parametrize("method", FAST_CONV)
@pytest.mark.parametrize("geometry", [GEOMETRIES[k] for k in (0, 3, 4)])
def test_conv_fast_methods_equal_patches_float64(x64, geometry, method):
    z_pre, z_post, w, state, p = conv_case(geometry, seed=2, dtype=jnp.float64)
    for k, (rule, mu) in enumerate(RULES):
        q = p.replace(stdp_algorithm=rule, mu=mu, hardbound=k % 2 == 0)
        w_ref, _ = conv_run("patches", z_pre, z_post, w, state, q)
        w_fast, _ = conv_run(method, z_pre, z_post, w, state, q)
        assert_same_update(w_fast, w_ref, w, F64_REL)


def test_conv_paths_agree_under_jit_scan_and_vmap():
    geometry = GEOMETRIES[3].values[0]
    z_pre, z_post, w, state, p = conv_case(geometry, seed=3, dtype=jnp.float32)
    p = p.replace(stdp_algorithm="multiplicative_pow", mu=0.5)

    def scanned(method, w):
        def body(carry, _):
            w, s = jstdp.stdp_step_conv2d(
                z_pre, z_post, *carry, p, unfold_method=method
            )
            return (w, s), None

        return jax.lax.scan(body, (w, state), None, length=4)[0][0]

    ws = jnp.stack([w, 0.5 * w + 0.2])  # two independent kernels
    want = jax.jit(jax.vmap(lambda w: scanned("patches", w)))(ws)
    for method in FAST_CONV:
        got = jax.jit(jax.vmap(lambda w, m=method: scanned(m, w)))(ws)
        for k in range(2):
            assert_same_update(got[k], want[k], ws[k], F32_REL)


def test_conv_default_is_slices_and_unknown_method_is_named():
    z_pre, z_post, w, state, p = conv_case(GEOMETRIES[0].values[0], 4, jnp.float32)
    default = jstdp.stdp_step_conv2d(z_pre, z_post, w, state, p)[0]
    slices = conv_run("slices", z_pre, z_post, w, state, p, steps=1)[0]
    np.testing.assert_array_equal(default, slices)
    with pytest.raises(ValueError, match=r"unfold_method must be one of .*'im2col'"):
        jstdp.stdp_step_conv2d(z_pre, z_post, w, state, p, unfold_method="im2col")


# exp(y log x) rounds twice: within a few ulp of pow for |y log x| of O(1).
POW_F32_RTOL = 2e-6
POW_F64_RTOL = 1e-14
SPECIAL_X = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, np.inf, -np.inf, np.nan]
SPECIAL_Y = [0.0, -0.0, 0.5, 0.75, 1.0, 2.0, 3.0, -0.5, -1.0, -2.0, -3.0]
SPECIAL_Y += [np.inf, -np.inf, np.nan]


def test_power_special_cases_are_jnp_power_exactly(tr):
    x, y = np.meshgrid(np.float32(SPECIAL_X), np.float32(SPECIAL_Y), indexing="ij")
    got = np.asarray(tr(power)(x, y))
    want = np.asarray(jnp.power(x, y))
    np.testing.assert_array_equal(got, want)  # NaN where NaN
    number = ~np.isnan(want)  # signed zeros and infinities; a NaN's sign is noise
    np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(want[number]))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64], ids=["f32", "f64"])
def test_power_is_jnp_power_to_a_few_ulp(x64, dtype):
    x = jnp.asarray(np.random.default_rng(0).uniform(0, 2, 10_000), dtype)
    rtol = POW_F32_RTOL if dtype == jnp.float32 else POW_F64_RTOL
    for y in (0.01, 0.5, 0.75, 1.0, 2.0):
        y = jnp.asarray(y, dtype)
        np.testing.assert_allclose(power(x, y), jnp.power(x, y), rtol=rtol)


def test_power_derivatives_are_jnp_powers():
    x = jnp.asarray([0.0, 0.3, 1.0, 1.7], jnp.float32)  # 0: a weight at a bound
    got = jax.grad(lambda x, y: jnp.sum(power(x, y)), (0, 1))
    want = jax.grad(lambda x, y: jnp.sum(jnp.power(x, y)), (0, 1))
    for y in (0.5, 1.0, 2.0):
        for g, w in zip(got(x, jnp.float32(y)), want(x, jnp.float32(y)), strict=True):
            np.testing.assert_allclose(g, w, rtol=POW_F32_RTOL)


def test_power_half_is_sqrt_with_pows_special_cases(tr):
    x = np.float32(SPECIAL_X)
    got = np.asarray(tr(power_half)(x, np.float32(0.5)))
    want = np.asarray(jnp.power(x, np.float32(0.5)))
    np.testing.assert_array_equal(got, want)  # -0 -> +0, -inf -> +inf, NaN
    number = ~np.isnan(want)  # a NaN's sign is noise
    np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(want[number]))
    # Correctly rounded: NumPy's sqrt, bit for bit; jnp.power within an ulp.
    x = np.random.default_rng(1).uniform(0, 2, 10_000).astype(np.float32)
    np.testing.assert_array_equal(tr(power_half)(x, np.float32(0.5)), np.sqrt(x))
    np.testing.assert_allclose(power_half(x, 0.5), jnp.power(x, 0.5), rtol=2e-7)


def test_power_half_derivatives_are_jnp_powers():
    x = jnp.asarray([0.0, 0.3, 1.0, 1.7], jnp.float32)
    half = jnp.float32(0.5)
    got = jax.grad(lambda x, y: jnp.sum(power_half(x, y)), (0, 1))(x, half)
    want = jax.grad(lambda x, y: jnp.sum(jnp.power(x, y)), (0, 1))(x, half)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=POW_F32_RTOL)
    assert float(got[1]) != 0.0  # d/dmu sees mu, although sqrt does not


def test_fast_paths_depend_on_what_is_known_not_on_values():
    assert fast_paths(jstdp.STDPParameters()) == FastPaths(merged=True)
    pow_ = jstdp.STDPParameters(stdp_algorithm="multiplicative_pow", mu=0.5)
    assert fast_paths(pow_) == fast_paths(pow_.replace(mu=0.75)) == UNKNOWN
    per_synapse = jstdp.STDPParameters(eta_plus=jnp.full((3, 4), 0.1))
    assert not fast_paths(per_synapse).merged
    assert not fast_paths(jstdp.STDPParameters(stdp_algorithm="additive_step")).merged
    seen = []
    jax.jit(lambda p: seen.append(fast_paths(p)))(jstdp.STDPParameters())
    assert seen == [UNKNOWN]


def test_pow_over_128_mib_decides_one_half_before_tracing():
    """Weights over BLOCKED_MIN_BYTES: mu == 0.5 is decided from its value
    (no lax.cond around the run, which would hold a second copy of w);
    smaller weights and traced mu keep the run-time choice."""
    big = jax.ShapeDtypeStruct((8192, BLOCKED_MIN_BYTES // (4 * 8192) + 1), "float32")
    small = jax.ShapeDtypeStruct((64, 64), "float32")
    pow_ = jstdp.rules.NorseSTDP(stdp_algorithm="multiplicative_pow", mu=0.5)
    assert pow_.prepare(big).paths.half is True
    assert pow_.replace(mu=0.75).prepare(big).paths.half is False
    assert pow_.prepare(small).paths.half is None
    assert pow_.prepare().paths.half is None
    assert jstdp.rules.NorseSTDP().prepare(big).paths.half is None  # additive
    seen = []
    jax.jit(lambda p: seen.append(p.prepare(big).paths.half))(pow_)
    assert seen == [None]


def test_runs_take_sqrt_at_one_half_without_recompiling(compiles):
    """``simulate_linear`` decides mu == 0.5 inside the compiled loop: a new
    ``mu`` reuses the program, and each value gets its own branch (sqrt at
    0.5, the general power otherwise), as a loop of single steps does."""
    z_pre, z_post, w, _ = linear_case(6, jnp.float32)
    z_pre, z_post = (jnp.stack([z, z[::-1]]) for z in (z_pre, z_post))
    p = jstdp.STDPParameters(stdp_algorithm="multiplicative_pow", eta_plus=0.05)
    runs = {}
    for k, mu in enumerate((0.75, 0.5, 0.6)):
        if k == 1:
            compiles.clear()
        runs[mu] = jstdp.simulate_linear(z_pre, z_post, w, None, p.replace(mu=mu))
    assert compiles == []
    for mu, (w_run, _, _) in runs.items():
        q, s = p.replace(mu=mu), jstdp.STDPState.zeros_like(z_pre[0], z_post[0])
        w_loop = w
        for t in range(2):
            w_loop, s = jstdp.stdp_step_linear(z_pre[t], z_post[t], w_loop, s, q)
        np.testing.assert_array_equal(w_run, w_loop)
    # The sqrt branch ran at 0.5: its result is not the general power's.
    q = p.replace(mu=0.5).astype(jnp.float32)
    state = jstdp.STDPState.zeros_like(z_pre[0], z_post[0])
    general = w
    for t in range(2):
        state = jstdp.stdp_step_linear(z_pre[t], z_post[t], general, state, q)[1]
        general = update(general, z_pre[t], z_post[t], state, q, FastPaths(half=False))
    assert_same_update(runs[0.5][0], general, w, F32_REL)
    assert not np.array_equal(runs[0.5][0], general)


@pytest.mark.parametrize("mu", [0.5, 0.75])
def test_static_and_run_time_choices_of_the_power_agree(x64, mu):
    rng = np.random.default_rng(2)
    w = jnp.asarray(rng.uniform(-0.1, 1.1, (6, 5)))  # some outside the bounds
    hebb_plus, hebb_minus = (jnp.asarray(rng.random((6, 5))) for _ in range(2))
    for hardbound in (True, False):
        p = jstdp.STDPParameters(
            stdp_algorithm="multiplicative_pow", mu=mu, hardbound=hardbound
        ).astype(jnp.float64)
        general = apply_update(w, hebb_plus, hebb_minus, p, half=False)
        static = apply_update(w, hebb_plus, hebb_minus, p, half=mu == 0.5)
        traced = jax.jit(apply_update)(w, hebb_plus, hebb_minus, p)
        np.testing.assert_array_equal(static, traced)  # the same branch ran
        np.testing.assert_allclose(static, general, rtol=1e-14)
        assert np.isnan(general).any()  # w outside the bounds: NaN, as Norse
        np.testing.assert_array_equal(np.isnan(static), np.isnan(general))


def test_pow_under_vmap_over_mu_equals_each_run():
    z_pre, z_post, w, state = linear_case(3, jnp.float32)
    p = jstdp.STDPParameters(stdp_algorithm="multiplicative_pow", eta_plus=0.05)
    mus = jnp.asarray([0.5, 0.3, 0.5], jnp.float32)
    step = lambda mu: jstdp.stdp_step_linear(z_pre, z_post, w, state, p.replace(mu=mu))
    got = jax.vmap(step)(mus)[0]
    for k, mu in enumerate(mus):
        assert_same_update(got[k], step(float(mu))[0], w, F32_REL)


def test_vmap_over_mu_runs_one_branch_for_all_sets():
    """Under ``vmap``, all sets at mu = 0.5 take sqrt (the single runs'
    bits); a mix takes the general power for every set (0.5 included, a few
    ulp from sqrt), instead of running both branches and selecting."""
    z_pre, z_post, w, _ = linear_case(7, jnp.float32)
    z_pre, z_post = (jnp.stack([z, z[::-1], z]) for z in (z_pre, z_post))
    p = jstdp.STDPParameters(stdp_algorithm="multiplicative_pow", eta_plus=0.05)

    def run(mu):
        return jstdp.simulate_linear(z_pre, z_post, w, None, p.replace(mu=mu))[0]

    single = {mu: run(mu) for mu in (0.5, 0.7)}
    both_half = jax.vmap(run)(jnp.asarray([0.5, 0.5], jnp.float32))
    np.testing.assert_array_equal(both_half[1], single[0.5])
    mixed = jax.vmap(run)(jnp.asarray([0.5, 0.7], jnp.float32))
    np.testing.assert_array_equal(mixed[1], single[0.7])
    assert_same_update(mixed[0], single[0.5], w, F32_REL)
    assert not np.array_equal(mixed[0], single[0.5])  # the general power ran


def test_gradient_in_mu_at_one_half_is_the_general_paths(x64):
    z_pre, z_post, w, state = linear_case(4, jnp.float64)
    p = jstdp.STDPParameters(stdp_algorithm="multiplicative_pow", eta_plus=0.05)
    p = p.astype(jnp.float64)
    decayed = jstdp.stdp_step_linear(z_pre, z_post, w, state, p.replace(mu=0.5))[1]

    def loss(mu, half):
        w_new = update(w, z_pre, z_post, decayed, p.replace(mu=mu), FastPaths(half))
        return jnp.sum(w_new**2)

    got = jax.grad(loss)(0.5, None)  # traced mu: the run-time choice, sqrt
    assert abs(float(got)) > 1e-3
    np.testing.assert_allclose(got, jax.grad(loss)(0.5, False), rtol=1e-12)
    h = 1e-6
    finite = (loss(0.5 + h, False) - loss(0.5 - h, False)) / (2 * h)
    np.testing.assert_allclose(got, finite, rtol=1e-6)


def test_merged_additive_update_equals_two_products(x64):
    for dtype, rel in ((jnp.float32, F32_REL), (jnp.float64, F64_REL)):
        z_pre, z_post, w, state = linear_case(5, dtype)
        p = jstdp.STDPParameters(eta_plus=0.05, eta_minus=0.04).astype(dtype)
        merged = update(w, z_pre, z_post, state, p, FastPaths(merged=True))
        want = update(w, z_pre, z_post, state, p)
        assert_same_update(merged, want, w, rel)
        assert not np.array_equal(merged, want)  # another summation order
        # The public step takes it: its result is the merged update's.
        w_step, s_step = jstdp.stdp_step_linear(z_pre, z_post, w, state, p)
        again = update(w, z_pre, z_post, s_step, p, FastPaths(merged=True))
        np.testing.assert_array_equal(w_step, again)


def linear_case(seed, dtype, batch=3, n_pre=50, n_post=37, rate=0.3):
    rng = np.random.default_rng(seed)
    z_pre = jnp.asarray(rng.random((batch, n_pre)) < rate, dtype)
    z_post = jnp.asarray(rng.random((batch, n_post)) < rate, dtype)
    state = jstdp.STDPState(
        jnp.asarray(rng.random((batch, n_pre)), dtype),
        jnp.asarray(rng.random((batch, n_post)), dtype),
    )
    w = jnp.asarray(rng.uniform(0.05, 0.95, (n_post, n_pre)), dtype)
    return z_pre, z_post, w, state


# 37 rows: blocks of 5 and 36 leave a remainder, 64 is more than all rows.
@pytest.mark.parametrize(
    ("rule", "mu", "rows"),
    [(*RULES[0], 1), (*RULES[1], 5), (*RULES[2], 36), (*RULES[3], 64), (*RULES[2], 5)],
)
def test_row_blocks_equal_the_whole_update(tr, rule, mu, rows):
    z_pre, z_post, w, state = linear_case(0, jnp.float32)
    p = jstdp.STDPParameters(stdp_algorithm=rule, mu=mu, eta_plus=0.05).astype(
        jnp.float32
    )
    want = update(w, z_pre, z_post, state, p)
    got = tr(lambda *a: update_rows(*a, rows=rows))(w, z_pre, z_post, state, p)
    assert_same_update(got, want, w, F32_REL)


def test_row_blocks_equal_the_whole_update_float64(x64):
    z_pre, z_post, w, state = linear_case(1, jnp.float64)
    for rule, mu in RULES:
        p = jstdp.STDPParameters(stdp_algorithm=rule, mu=mu, hardbound=False)
        p = p.astype(jnp.float64)
        want = update(w, z_pre, z_post, state, p)
        got = update_rows(w, z_pre, z_post, state, p, rows=8)
        assert_same_update(got, want, w, F64_REL)


def test_large_weights_take_the_blocked_path_without_w_sized_temporaries():
    # Just over the threshold, with rows that the block size does not divide.
    n_pre = 1024
    n_post = BLOCKED_MIN_BYTES // (4 * n_pre) + 3
    z_pre, z_post, w, state = linear_case(2, jnp.float32, 2, n_pre, n_post, 0.2)
    state = jstdp.STDPState.zeros_like(z_pre, z_post)
    p = jstdp.STDPParameters(stdp_algorithm="multiplicative_pow", mu=0.5, eta_plus=0.5)
    w_new, s_new = jstdp.stdp_step_linear(z_pre, z_post, w, state, p)
    want = update(w, z_pre, z_post, s_new, p.astype(jnp.float32))
    assert_same_update(w_new, want, w, F32_REL)
    # The whole update would hold two w-sized products; the blocks hold none.
    step = jax.jit(jstdp.stdp_step_linear)
    temp = step.lower(z_pre, z_post, w, state, p).compile().memory_analysis()
    assert temp.temp_size_in_bytes < w.nbytes // 2
