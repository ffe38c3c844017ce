"""stdp_step_conv2d: receptive fields, analytic pairings, anchors, a NumPy
reference over several geometries, transforms, and every documented error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import RULE_IDS, RULES, conv_out_hw, dependence

import jstdp
from jstdp.connections import conv_output_shape


def unfold(x, kernel_hw, p):
    return p.conv2d().unfold(x, kernel_hw)


# float32 sums of up to a few hundred O(1) products.
F32_RTOL = 1e-5
# float64 runs: a few hundred ulp at most.
F64_RTOL = 1e-12


def reference_unfold(x, kh, kw, stride, padding, dilation):
    """``torch.nn.functional.unfold`` by explicit slicing: (B, C*kh*kw, L)."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    b, c, h, w = x.shape
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    rows = []
    for ci in range(c):  # feature order (C_in, kh, kw)
        for i in range(kh):
            for j in range(kw):
                tap = xp[
                    :,
                    ci,
                    i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                    j * dw : j * dw + sw * (ow - 1) + 1 : sw,
                ]
                rows.append(tap.reshape(b, -1))
    return np.stack(rows, axis=1)


def reference_step(z_pre, z_post, w, t_pre, t_post, p, dt):
    """Norse's conv2d rule written out in float64 NumPy."""
    t_pre = t_pre + dt * p.tau_pre_inv * (-t_pre + p.a_pre * z_pre)
    t_post = t_post + dt * p.tau_post_inv * (-t_post + p.a_post * z_post)
    c_out, _, kh, kw = w.shape
    geometry = (p.stride, p.padding, p.dilation)
    t_pre_fields = reference_unfold(t_pre, kh, kw, *geometry)
    z_pre_fields = reference_unfold(z_pre, kh, kw, *geometry)
    b = z_pre.shape[0]
    # Sum over batch and output positions of post x receptive field.
    potentiation = np.einsum(
        "bik,bjk->ij", z_post.reshape(b, c_out, -1), t_pre_fields
    ).reshape(w.shape)
    depression = np.einsum(
        "bik,bjk->ij", t_post.reshape(b, c_out, -1), z_pre_fields
    ).reshape(w.shape)
    rule, mu = p.stdp_algorithm, p.mu
    w = (
        w
        + p.eta_plus * dependence(rule, mu, p.w_max - w) * potentiation
        - p.eta_minus * dependence(rule, mu, w - p.w_min) * depression
    )
    if p.hardbound:
        w = np.clip(w, p.w_min, p.w_max)
    return w, t_pre, t_post


# (C_in, H, W, C_out, kh, kw, stride, padding, dilation, batch)
GEOMETRIES = [
    pytest.param((2, 7, 6, 3, 3, 3, 1, 0, 1, 2), id="3x3"),
    pytest.param((1, 9, 8, 2, 2, 4, 2, 1, 1, 3), id="k2x4-s2-p1"),
    pytest.param((2, 11, 7, 2, 3, 2, (2, 1), (1, 0), (2, 3), 1), id="pairs"),
    pytest.param((1, 5, 4, 2, 5, 6, 1, (0, 1), 1, 2), id="k-fills-input"),
]


def random_case(geometry, seed, rate=0.4):
    c_in, h, wd, c_out, kh, kw, stride, padding, dilation, batch = geometry
    out = conv_out_hw(geometry)
    rng = np.random.default_rng(seed)
    z_pre = rng.random((batch, c_in, h, wd)) < rate
    z_post = rng.random((batch, c_out, *out)) < rate
    w = rng.uniform(0.2, 0.7, (c_out, c_in, kh, kw))
    geo = dict(stride=stride, padding=padding, dilation=dilation)
    return z_pre, z_post, w, geo


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_unfold_equals_explicit_receptive_fields(tr, geometry):
    c_in, h, wd, _, kh, kw, stride, padding, dilation, batch = geometry
    x = np.random.default_rng(0).normal(size=(batch, c_in, h, wd)).astype(np.float32)
    p = jstdp.STDPParameters(stride=stride, padding=padding, dilation=dilation)
    got = tr(lambda x: unfold(x, (kh, kw), p))(x)
    want = reference_unfold(x, kh, kw, p.stride, p.padding, p.dilation)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # only copies and zero padding


def test_output_shape_is_pytorchs_and_too_large_kernels_fail():
    assert conv_output_shape((10, 10), (3, 3), (1, 1), (0, 0), (1, 1)) == (8, 8)
    assert conv_output_shape((11, 7), (3, 2), (2, 1), (1, 0), (2, 3)) == (5, 4)
    assert conv_output_shape((5, 4), (5, 6), (1, 1), (0, 1), (1, 1)) == (1, 1)
    with pytest.raises(ValueError, match=r"kernel \(3, 3\) with dilation \(2, 2\)"):
        conv_output_shape((4, 9), (3, 3), (1, 1), (0, 0), (2, 2))


# Kernel weights after steps 1 and 2 of Norse's conv test pattern (w0 = 0.5, eta
# 0.03 / 0.01, no hard bound): /work/shared/notes/peers.md §1.3, recomputed and
# confirmed with Norse 1.1.0 in float64, 12 digits.
ANCHORS = {
    "additive": (0.537632000000, 0.525088000000),
    "additive_step": (0.537632000000, 0.525088000000),
    "multiplicative_pow": (0.522376121076, 0.514668443618),
    "multiplicative_relu": (0.518816000000, 0.512307972096),
}


@pytest.mark.parametrize(("rule", "mu"), RULES, ids=RULE_IDS)
def test_pre_then_post_potentiates_and_post_then_pre_depresses(x64, rule, mu):
    """Norse's conv test: all-ones 10x10 inputs, 3x3 kernel, 8x8 outputs. Every
    kernel tap sees all 64 output positions, so the changes are 64 times the
    dense ones: 64 * eta_plus * f(w_max - w) * t_pre, then
    -64 * eta_minus * f(w - w_min) * t_post; the weights are the pinned anchors.
    """
    p = jstdp.STDPParameters(
        eta_plus=0.03, eta_minus=0.01, stdp_algorithm=rule, mu=mu, hardbound=False
    )
    pre = [1.0, 0.0, 1.0]
    post = [0.0, 1.0, 0.0]
    w = jnp.full((2, 3, 3, 3), 0.5)
    state = jstdp.STDPState(jnp.zeros((1, 3, 10, 10)), jnp.zeros((1, 2, 8, 8)))
    rate = 0.001 * 20.0
    t_pre = t_post = 0.0
    for k in range(3):
        w_before = np.asarray(w)
        w, state = jstdp.stdp_step_conv2d(
            jnp.full((1, 3, 10, 10), pre[k]),
            jnp.full((1, 2, 8, 8), post[k]),
            w,
            state,
            p,
        )
        t_pre += rate * (-t_pre + pre[k])
        t_post += rate * (-t_post + post[k])
        change = np.asarray(w) - w_before
        if k == 0:
            np.testing.assert_array_equal(change, 0.0)
        if k == 1:
            expected = 64 * 0.03 * dependence(rule, mu, 1.0 - w_before) * t_pre
            np.testing.assert_allclose(change, expected, F64_RTOL)
        if k == 2:
            expected = -64 * 0.01 * dependence(rule, mu, w_before) * t_post
            np.testing.assert_allclose(change, expected, F64_RTOL)
        if k > 0:
            np.testing.assert_allclose(w, ANCHORS[rule][k - 1], rtol=0, atol=5e-13)
    assert w.shape == (2, 3, 3, 3)
    assert state.t_pre.shape == (1, 3, 10, 10) and state.t_post.shape == (1, 2, 8, 8)


# Each geometry once, with the rule and bound rotating: the receptive fields
# and the weight dependence are independent pieces.
REFERENCE_CASES = [
    pytest.param(*g.values, rule, mu, hardbound, id=f"{g.id}-{rule}")
    for g, (rule, mu, hardbound) in zip(
        GEOMETRIES,
        [
            ("additive", 0.0, True),
            ("multiplicative_pow", 0.5, False),
            ("additive_step", 0.0, False),
            ("multiplicative_relu", 1.0, True),
        ],
        strict=True,
    )
]


@pytest.mark.parametrize(("geometry", "rule", "mu", "hardbound"), REFERENCE_CASES)
def test_random_run_matches_numpy_reference(x64, geometry, rule, mu, hardbound):
    z_pre, z_post, w0, geo = random_case(geometry, seed=1)
    p = jstdp.STDPParameters(
        a_pre=0.9,
        tau_post_inv=35.0,
        w_min=0.1,
        w_max=0.8,
        eta_plus=0.02,
        eta_minus=0.025,
        stdp_algorithm=rule,
        mu=mu,
        hardbound=hardbound,
        **geo,
    )
    w, state = w0, jstdp.STDPState.zeros_like(z_pre, z_post, jnp.float64)
    w_ref, t_pre, t_post = w0, np.zeros(z_pre.shape), np.zeros(z_post.shape)
    with np.errstate(invalid="ignore"):  # fractional mu outside the bounds
        for _ in range(8):
            w, state = jstdp.stdp_step_conv2d(z_pre, z_post, w, state, p, 2e-3)
            w_ref, t_pre, t_post = reference_step(
                z_pre, z_post, w_ref, t_pre, t_post, p, 2e-3
            )
    np.testing.assert_allclose(w, w_ref, F64_RTOL, equal_nan=True)
    np.testing.assert_allclose(state.t_pre, t_pre, F64_RTOL)
    np.testing.assert_allclose(state.t_post, t_post, F64_RTOL)
    assert not np.allclose(w_ref, w0)


def test_one_by_one_kernel_is_a_dense_layer_per_position():
    """A 1x1 conv is the dense rule with (batch, H, W) as one summed batch axis."""
    rng = np.random.default_rng(2)
    z_pre, z_post = rng.random((2, 3, 4, 5)) < 0.5, rng.random((2, 2, 4, 5)) < 0.5
    t_pre, t_post = rng.random((2, 3, 4, 5)), rng.random((2, 2, 4, 5))
    w = rng.uniform(0.2, 0.8, (2, 3)).astype(np.float32)
    p = jstdp.STDPParameters(eta_plus=0.02, eta_minus=0.03, stdp_algorithm="additive")

    def rows(x):  # NCHW -> (N*H*W, C)
        return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])

    w_conv, s_conv = jstdp.stdp_step_conv2d(
        z_pre, z_post, w[:, :, None, None], jstdp.STDPState(t_pre, t_post), p
    )
    w_dense, s_dense = jstdp.stdp_step_linear(
        rows(z_pre), rows(z_post), w, jstdp.STDPState(rows(t_pre), rows(t_post)), p
    )
    np.testing.assert_allclose(w_conv[:, :, 0, 0], w_dense, F32_RTOL)
    np.testing.assert_allclose(rows(np.asarray(s_conv.t_pre)), s_dense.t_pre, F32_RTOL)


def test_outer_jit_is_bitwise_identical_to_eager(tr):
    z_pre, z_post, w, geo = random_case(GEOMETRIES[2].values[0], seed=3)
    p = jstdp.STDPParameters(stdp_algorithm="multiplicative_relu", eta_plus=0.05, **geo)
    state = jstdp.STDPState(jnp.full(z_pre.shape, 0.1), jnp.full(z_post.shape, 0.2))
    want = jstdp.stdp_step_conv2d(z_pre, z_post, w, state, p)
    got = tr(jstdp.stdp_step_conv2d)(z_pre, z_post, w, state, p)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("spike_dtype", [bool, np.int8])
def test_int_and_bool_spikes_equal_float_spikes(spike_dtype):
    z_pre, z_post, w, geo = random_case(GEOMETRIES[1].values[0], seed=4)
    p = jstdp.STDPParameters(eta_plus=0.05, **geo)
    state = jstdp.STDPState.zeros_like(z_pre, z_post)
    want = jstdp.stdp_step_conv2d(
        z_pre.astype(np.float32), z_post.astype(np.float32), w, state, p
    )
    got = jstdp.stdp_step_conv2d(
        z_pre.astype(spike_dtype), z_post.astype(spike_dtype), w, state, p
    )
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)


def test_inputs_are_not_modified_and_numeric_changes_do_not_retrace():
    z_pre, z_post, w, geo = random_case(GEOMETRIES[0].values[0], seed=5, rate=0.8)
    t_pre, t_post = np.full(z_pre.shape, 0.3), np.full(z_post.shape, 0.3)
    copies = [x.copy() for x in (z_pre, z_post, w, t_pre, t_post)]
    traces = 0

    @jax.jit
    def step(p):
        nonlocal traces
        traces += 1
        return jstdp.stdp_step_conv2d(
            z_pre, z_post, w, jstdp.STDPState(t_pre, t_post), p
        )

    p = jstdp.STDPParameters(eta_plus=0.01, **geo)
    w1, _ = step(p)
    w2, _ = step(p.replace(eta_plus=0.02, tau_pre_inv=30.0))
    assert traces == 1 and not np.allclose(w1, w2)
    step(p.replace(padding=1, dilation=2))  # a new geometry is a new program
    assert traces == 2
    for x, c in zip((z_pre, z_post, w, t_pre, t_post), copies, strict=True):
        np.testing.assert_array_equal(x, c)


def test_vmap_over_a_parameter_grid_equals_individual_runs():
    z_pre, z_post, w, geo = random_case(GEOMETRIES[1].values[0], seed=6)
    w = jnp.asarray(w, jnp.float32)
    state = jstdp.STDPState.zeros_like(z_pre, z_post)
    grid = [
        jstdp.STDPParameters(
            eta_plus=eta,
            a_pre=a,
            stdp_algorithm="additive_step",
            hardbound=False,
            **geo,
        )
        for eta in (0.01, 0.04)
        for a in (0.5, 1.5)
    ]
    stacked = jax.tree.map(lambda *xs: jnp.stack([jnp.float32(x) for x in xs]), *grid)

    def step(p):
        return jstdp.stdp_step_conv2d(z_pre, z_post, w, state, p)[0]

    swept = jax.vmap(step)(stacked)
    for i, p in enumerate(grid):
        np.testing.assert_allclose(swept[i], step(p), rtol=F32_RTOL, atol=1e-7)
    assert len({float(swept[i].sum()) for i in range(4)}) == 4


GOOD = dict(
    z_pre=np.zeros((2, 3, 6, 5)),
    z_post=np.zeros((2, 4, 4, 3)),
    w=np.zeros((4, 3, 3, 3), np.float32),
)


Z = np.zeros
SHAPE_ERRORS = [
    (dict(z_pre=Z((3, 6, 5))), {}, r"z_pre must have rank 4 \(batch, C_in"),
    (dict(z_post=Z((2, 4, 12))), {}, r"z_post must have rank 4"),
    (dict(w=Z((4, 3, 9))), {}, r"w must have rank 4 \(C_out, C_in, kh, kw"),
    (dict(w=Z((4, 2, 3, 3))), {}, r"w must have shape \(4, 3, 3, 3\)"),
    (dict(z_post=Z((2, 4, 4, 4))), {}, r"z_post must have shape \(2, 4, 4, 3\)"),
    (dict(z_post=Z((1, 4, 4, 3))), {}, r"z_post must have shape \(2, 4, 4, 3\)"),
    # The expected output size follows the geometry.
    (dict(), {"stride": 2}, r"z_post must have shape \(2, 4, 2, 2\)"),
    (dict(w=Z((4, 3, 7, 3))), {}, r"kernel \(7, 3\) with dilation \(1, 1\) is"),
    (dict(), {"dilation": (3, 1)}, r"kernel \(3, 3\) with dilation \(3, 1\) is"),
    (dict(t_pre=Z((2, 3, 5, 6))), {}, r"t_pre must have shape \(2, 3, 6, 5\)"),
    (dict(t_post=Z((2, 4, 3, 4))), {}, r"state_stdp.t_post must have shape"),
]


@pytest.mark.parametrize(("bad", "p", "message"), SHAPE_ERRORS)
def test_shape_errors_are_raised_at_trace_time(tr, bad, p, message):
    a = {**GOOD, **bad}
    default_post = a["z_post"] if "z_post" in bad else GOOD["z_post"]
    state = jstdp.STDPState(a.get("t_pre", a["z_pre"]), a.get("t_post", default_post))
    with pytest.raises(ValueError, match=message):
        tr(jstdp.stdp_step_conv2d)(
            a["z_pre"], a["z_post"], a["w"], state, jstdp.STDPParameters(**p)
        )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(dt=-0.5), ValueError, r"dt must be positive.*got -0.5"),
        (
            dict(p_stdp=jstdp.STDPParameters(w_min=0.0, w_max=0.0)),
            ValueError,
            "w_min must be < w_max",
        ),
        (dict(p_stdp=object()), TypeError, "p_stdp must be jstdp.STDPParameters"),
    ],
)
def test_value_and_type_errors(kwargs, error, message):
    args = dict(
        z_pre=GOOD["z_pre"],
        z_post=GOOD["z_post"],
        w=GOOD["w"],
        state_stdp=jstdp.STDPState.zeros_like(GOOD["z_pre"], GOOD["z_post"]),
    )
    with pytest.raises(error, match=message):
        jstdp.stdp_step_conv2d(**{**args, **kwargs})


@pytest.mark.parametrize(
    "c_in, c_out, kernel, batch",
    [(2, 32, 5, 8), (2, 4, 3, 3), (32, 64, 3, 2)],  # chunks of 4, 1; two products
)
def test_correlate_pair_is_the_two_correlates(c_in, c_out, kernel, batch):
    """One batched product over chunks of (batch, position): the same sums in
    another order, so equal to float rounding; above POSITIONS_FIRST_MAX, the
    two products themselves."""
    conn = jstdp.STDPParameters(convolutional=True, padding=1).conv2d()
    keys = jax.random.split(jax.random.key(0), 4)
    pre = [jax.random.uniform(k, (batch, c_in, 9, 9)) for k in keys[:2]]
    out = 9 + 2 - kernel + 1
    post = [jax.random.uniform(k, (batch, c_out, out, out)) for k in keys[2:]]
    shape = (c_out, c_in, kernel, kernel)
    got = conn.correlate_pair((post[0], pre[0]), (post[1], pre[1]), shape)
    for g, q, p in zip(got, post, pre, strict=True):
        want = conn.correlate(q, p, shape)
        assert g.shape == shape
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-5)
        if c_out * c_in * kernel**2 > 2048:
            np.testing.assert_array_equal(g, want)
