"""Step-by-step parity with Norse 1.1.0 itself (``norse.torch.functional.stdp``).

Random spike trains run through Norse and jstdp side by side; weights and both
traces are compared after every step, for every algorithm with the hard bound
on and off, dense and conv2d layers (several kernels and geometries), batch 1
and > 1, float32 and float64. The Norse parameters are built here by hand (not
with ``jstdp.interop``) so a converter bug cannot hide a core bug.
"""

import zlib

import jax
import numpy as np
import pytest
from helpers import RULES, conv_out_hw

import jstdp

torch = pytest.importorskip("torch")
norse_stdp = pytest.importorskip("norse.torch.functional.stdp")

pytestmark = pytest.mark.norse

# float32: both sides round each operation to float32 but sum in different
# orders; a few ulp over 20 steps, far below 1e-5 relative.
F32_RTOL = 1e-5
# float64: the same argument at float64 ulp (~1e-16); 1e-10 leaves room.
F64_RTOL = 1e-10
RTOL = {np.float32: F32_RTOL, np.float64: F64_RTOL}

STEPS = 20

# Non-default trace constants, bounds and learning rates throughout, so that
# clipping happens and nothing relies on Norse's defaults.
PARAMS = dict(
    a_pre=0.8,
    a_post=1.3,
    tau_pre_inv=30.0,
    tau_post_inv=15.0,
    w_min=-0.2,
    w_max=0.9,
    eta_plus=0.1,
    eta_minus=0.12,
)
DT = 0.002
# conv2d sums over all output positions: smaller rates for the same drift.
CONV_PARAMS = dict(PARAMS, eta_plus=0.01, eta_minus=0.012)

# (C_in, H, W, C_out, kh, kw, stride, padding, dilation, batch)
CONV_GEOMETRIES = [
    pytest.param((3, 10, 10, 2, 3, 3, 1, 0, 1, 1), id="norse-3x3"),
    pytest.param((2, 9, 8, 3, 2, 4, 2, 1, 1, 3), id="k2x4-s2-p1"),
    pytest.param((1, 11, 7, 2, 3, 2, (2, 1), (1, 0), (2, 3), 2), id="pairs"),
    pytest.param((2, 6, 7, 4, 1, 1, 3, 0, 1, 2), id="k1x1-s3"),
    pytest.param((1, 5, 4, 1, 5, 6, 1, (0, 1), 1, 2), id="k-fills-input"),
    pytest.param((3, 8, 9, 2, 3, 3, (1, 2), 2, 2, 1), id="d2-p2"),
    # C_out x C_in*kh*kw = 2304 > POSITIONS_FIRST_MAX: the features-first product.
    pytest.param((8, 6, 7, 32, 3, 3, (1, 2), 1, 1, 2), id="features-first"),
]


def norse_parameters(dtype, values, rule, mu, hardbound, **geometry):
    """Norse parameters holding ``values``; tensor fields as ``dtype`` tensors.

    Norse's own defaults are float32 0-d tensors: in float64 they would cost
    ~6e-8 (DESIGN §5), so every tensor-valued field gets the weights' dtype.
    The learning rates stay Python floats, as in Norse's defaults.
    """
    tensors = ("a_pre", "a_post", "tau_pre_inv", "tau_post_inv", "w_min", "w_max")
    return norse_stdp.STDPParameters(
        **{f: torch.tensor(values[f], dtype=dtype) for f in tensors},
        eta_plus=values["eta_plus"],
        eta_minus=values["eta_minus"],
        stdp_algorithm=rule,
        mu=mu,
        hardbound=hardbound,
        convolutional=bool(geometry),
        **geometry,
    )


def run_side_by_side(jstdp_step, norse_step, z_pre, z_post, w0, p, p_norse, dt):
    """Run both for ``len(z_pre)`` steps, assert closeness after every step.

    Returns jstdp's final weights and whether any weight ended up exactly on
    a bound.
    """
    dtype = w0.dtype.type
    tdtype = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    w = w0
    state = jstdp.STDPState.zeros_like(z_pre[0], z_post[0], dtype)
    w_t = torch.tensor(w0)
    s_t = norse_stdp.STDPState(
        torch.zeros(z_pre.shape[1:], dtype=tdtype),
        torch.zeros(z_post.shape[1:], dtype=tdtype),
    )
    on_bound = False
    for k in range(len(z_pre)):
        # jstdp takes the bool spikes as they are; Norse needs floats.
        w, state = jstdp_step(z_pre[k], z_post[k], w, state, p, dt)
        w_t, s_t = norse_step(
            torch.tensor(z_pre[k], dtype=tdtype),
            torch.tensor(z_post[k], dtype=tdtype),
            w_t,
            s_t,
            p_norse,
            dt=dt,
        )
        # Norse updates its state object in place and returns it: fresh copies.
        s_t = norse_stdp.STDPState(s_t.t_pre.clone(), s_t.t_post.clone())
        for name, got, want in (
            ("w", w, w_t),
            ("t_pre", state.t_pre, s_t.t_pre),
            ("t_post", state.t_post, s_t.t_post),
        ):
            got, want = np.asarray(got), want.numpy()
            assert got.dtype == want.dtype, name
            # Elementwise relative error is meaningless where a value crosses
            # 0 (w + dw+ - dw- cancels): floor the tolerance at RTOL times
            # the array's magnitude.
            scale = np.nanmax(np.abs(want), initial=1.0)
            np.testing.assert_allclose(
                got,
                want,
                rtol=RTOL[dtype],
                atol=RTOL[dtype] * scale,
                equal_nan=True,
                err_msg=f"{name} after step {k}",
            )
        on_bound |= bool(np.any((w == p.w_min) | (w == p.w_max)))
    return np.asarray(w), on_bound


def seeded(*case):
    """A generator seeded by the test case (stable across runs, unlike hash())."""
    return np.random.default_rng(zlib.crc32(repr(case).encode()))


def spikes(rng, shape, rate=0.3):
    return rng.random((STEPS, *shape)) < rate


def float_dtypes(dtype):
    """``(NumPy dtype, torch dtype)`` for a case id ``"f32"``/``"f64"``."""
    return {
        "f32": (np.float32, torch.float32),
        "f64": (np.float64, torch.float64),
    }[dtype]


# Every rule x hardbound, in float32 with batch 1 and 4, in float64 with batch 3.
LINEAR_CASES = [
    pytest.param(dtype, rule, mu, hb, batch, id=f"{dtype}-{rule}-{hb_id}-b{batch}")
    for dtype, batches in (("f32", (1, 4)), ("f64", (3,)))
    for rule, mu in RULES
    for hb, hb_id in ((True, "hb"), (False, "nohb"))
    for batch in batches
] + [  # mu = 0.5: the sqrt path (FastPaths.half)
    pytest.param(dtype, "multiplicative_pow", 0.5, True, b, id=f"{dtype}-pow-half-b{b}")
    for dtype, b in (("f32", 4), ("f64", 3))
]


@pytest.mark.parametrize(("dtype", "rule", "mu", "hardbound", "batch"), LINEAR_CASES)
def test_linear_matches_norse(dtype, rule, mu, hardbound, batch):
    dtype, tdtype = float_dtypes(dtype)
    with jax.enable_x64(dtype is np.float64):
        rng = seeded("linear", rule, hardbound, batch)
        n_pre, n_post = 7, 5
        w0 = rng.uniform(PARAMS["w_min"], PARAMS["w_max"], (n_post, n_pre))
        p = jstdp.STDPParameters(
            **PARAMS, stdp_algorithm=rule, mu=mu, hardbound=hardbound
        )
        _, on_bound = run_side_by_side(
            jstdp.stdp_step_linear,
            norse_stdp.stdp_step_linear,
            spikes(rng, (batch, n_pre)),
            spikes(rng, (batch, n_post)),
            w0.astype(dtype),
            p,
            norse_parameters(tdtype, PARAMS, rule, mu, hardbound),
            DT,
        )
    if hardbound and batch > 1 and rule.startswith("additive"):
        assert on_bound, "the test should drive some weight onto a bound"


# The unfold (geometry) and the weight dependence (rule) are independent, so
# float32 crosses every geometry with every rule (hard bound alternating per
# geometry) and float64 runs each geometry once, rule and bound rotating.
CONV_CASES = (
    [
        pytest.param("f32", rule, mu, g % 2 == 0, geo, id=f"f32-{geo.id}-{rule}")
        for g, geo in enumerate(CONV_GEOMETRIES)
        for rule, mu in RULES
    ]
    + [
        pytest.param("f64", *RULES[g % 4], g % 3 != 0, geo, id=f"f64-{geo.id}")
        for g, geo in enumerate(CONV_GEOMETRIES)
    ]
    + [  # mu = 0.5: the sqrt path (FastPaths.half)
        pytest.param(
            d, "multiplicative_pow", 0.5, True, CONV_GEOMETRIES[g], id=f"{d}-half"
        )
        for d, g in (("f32", 1), ("f64", 6))
    ]
)


@pytest.mark.parametrize(("dtype", "rule", "mu", "hardbound", "geometry"), CONV_CASES)
def test_conv2d_matches_norse(dtype, rule, mu, hardbound, geometry):
    c_in, h, wd, c_out, kh, kw, stride, padding, dilation, batch = geometry.values[0]
    dtype, tdtype = float_dtypes(dtype)
    out = conv_out_hw(geometry.values[0])
    geo = dict(stride=stride, padding=padding, dilation=dilation)
    with jax.enable_x64(dtype is np.float64):
        rng = seeded("conv", rule, hardbound, geometry.id)
        w0 = rng.uniform(PARAMS["w_min"], PARAMS["w_max"], (c_out, c_in, kh, kw))
        p = jstdp.STDPParameters(
            **CONV_PARAMS, stdp_algorithm=rule, mu=mu, hardbound=hardbound, **geo
        )
        run_side_by_side(
            jstdp.stdp_step_conv2d,
            norse_stdp.stdp_step_conv2d,
            spikes(rng, (batch, c_in, h, wd)),
            spikes(rng, (batch, c_out, *out)),
            w0.astype(dtype),
            p,
            norse_parameters(tdtype, CONV_PARAMS, rule, mu, hardbound, **geo),
            DT,
        )


@pytest.mark.parametrize("mu", [0.0, 0.5, 1.0, 2.0])
def test_multiplicative_pow_without_bound_matches_norse_including_nan(x64, mu):
    """Weights leave [w_min, w_max]; fractional mu then gives NaN in both."""
    rng = np.random.default_rng(7)
    big = dict(PARAMS, eta_plus=0.8, eta_minus=1.0)
    p = jstdp.STDPParameters(
        **big, stdp_algorithm="multiplicative_pow", mu=mu, hardbound=False
    )
    p_norse = norse_parameters(torch.float64, big, "multiplicative_pow", mu, False)
    w0 = rng.uniform(PARAMS["w_min"], PARAMS["w_max"], (5, 7))
    z_pre, z_post = spikes(rng, (4, 7), 0.6), spikes(rng, (4, 5), 0.6)
    w, _ = run_side_by_side(
        jstdp.stdp_step_linear,
        norse_stdp.stdp_step_linear,
        z_pre,
        z_post,
        w0,
        p,
        p_norse,
        DT,
    )
    if mu == 0.5:
        assert np.isnan(w).any() and not np.isnan(w).all()
    else:
        assert not np.isnan(w).any()
    if mu == 0.0:
        assert np.any(w < PARAMS["w_min"]), "weights should leave the bounds"


def test_graded_spikes_and_default_parameters_match_norse(x64):
    """Graded (non-binary) spikes and Norse's defaults, float64 tensors."""
    rng = np.random.default_rng(3)
    z_pre = rng.uniform(0.0, 2.0, (STEPS, 2, 6))
    z_post = rng.uniform(0.0, 2.0, (STEPS, 2, 3))
    w0 = rng.uniform(0.0, 1.0, (3, 6))
    f64 = {
        f: torch.tensor(v, dtype=torch.float64)
        for f, v in dict(
            a_pre=1.0, a_post=1.0, tau_pre_inv=20.0, tau_post_inv=20.0
        ).items()
    }
    run_side_by_side(
        jstdp.stdp_step_linear,
        norse_stdp.stdp_step_linear,
        z_pre,
        z_post,
        w0,
        jstdp.STDPParameters(),
        norse_stdp.STDPParameters(**f64),
        0.001,
    )
