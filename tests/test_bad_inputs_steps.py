"""Bad inputs to the Norse face: the step functions and their parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bad_inputs import (
    N_POST,
    N_PRE,
    B,
    Case,
    all_finite,
    case,
    cases_of,
    check_case,
    conv,
    conv_args,
    dtypes_are,
    linear,
    linear_args,
    same_as,
)
from jax.experimental import checkify

import jstdp
import jstdp.cli
import jstdp.interop
import jstdp.nn
import jstdp.plot
from jstdp import (
    STDPParameters,
    STDPState,
)

# ------------------------------------------------------------ linear step --


@case(
    "linear/z_pre-rank-1",
    "`z_pre` of shape `(3,)` (no batch axis)",
    ValueError,
    r"z_pre must have rank 2",
)
def linear_z_pre_rank_1():
    return linear(z_pre=np.zeros(N_PRE))


@case(
    "linear/z_post-rank-3", "`z_post` of rank 3", ValueError, r"z_post must have rank 2"
)
def linear_z_post_rank_3():
    return linear(z_post=np.zeros((1, B, N_POST)))


@case("linear/w-rank-3", "`w` of rank 3", ValueError, r"w must have rank 2")
def linear_w_rank_3():
    return linear(w=jnp.zeros((1, N_POST, N_PRE)))


@case(
    "linear/w-transposed",
    "`w` of shape `(n_pre, n_post)` (transposed)",
    ValueError,
    r"w must have shape \(4, 3\)",
)
def linear_w_transposed():
    return linear(w=jnp.zeros((N_PRE, N_POST)))


@case(
    "linear/batch-mismatch",
    "`z_post` with another batch size than `z_pre`",
    ValueError,
    r"z_post must have shape \(2, 4\)",
)
def linear_batch_mismatch():
    return linear(z_post=np.zeros((B + 1, N_POST)))


@case(
    "linear/state-swapped",
    "traces swapped (`t_pre` shaped like `z_post`)",
    ValueError,
    r"state_stdp.t_pre must have shape",
)
def linear_state_swapped():
    s = linear_args()["state_stdp"]
    return linear(state_stdp=STDPState(s.t_post, s.t_pre))


@case(
    "linear/state-tuple",
    "`state_stdp` a tuple of arrays",
    TypeError,
    r"state_stdp must be jstdp.STDPState",
)
def linear_state_tuple():
    s = linear_args()["state_stdp"]
    return linear(state_stdp=(s.t_pre, s.t_post))


@case(
    "linear/state-none",
    "`state_stdp=None`",
    TypeError,
    r"state_stdp must be jstdp.STDPState",
)
def linear_state_none():
    return linear(state_stdp=None)


@case(
    "linear/p-dict",
    "`p_stdp` a dict",
    TypeError,
    r"p_stdp must be jstdp.STDPParameters",
)
def linear_p_dict():
    return linear(p_stdp={"eta_plus": 0.1})


@case(
    "linear/p-none",
    "`p_stdp=None`",
    works="works: `STDPParameters()`",
    check=same_as(lambda: linear(p_stdp=STDPParameters())),
)
def linear_p_none():
    return linear(p_stdp=None)


@case("linear/dt-zero", "`dt=0`", ValueError, r"dt must be")
def linear_dt_zero():
    return linear(dt=0.0)


@case("linear/dt-negative", "`dt=-1e-3`", ValueError, r"dt must be")
def linear_dt_negative():
    return linear(dt=-1e-3)


@case("linear/dt-nan", "`dt=nan`", ValueError, r"dt must be")
def linear_dt_nan():
    return linear(dt=float("nan"))


@case("linear/dt-inf", "`dt=inf`", ValueError, r"dt must be")
def linear_dt_inf():
    return linear(dt=float("inf"))


@case(
    "linear/dt-vector",
    "`dt` an array of shape `(3,)`",
    ValueError,
    r"dt must be a scalar",
)
def linear_dt_vector():
    return linear(dt=np.full(N_PRE, 1e-3))


@case("linear/dt-string", '`dt="1ms"`', TypeError, r"dt")
def linear_dt_string():
    return linear(dt="1ms")


@case(
    "linear/dt-int",
    "`dt=1` (Python int)",
    works="works: same as `dt=1.0`",
    check=same_as(lambda: linear(dt=1.0, p_stdp=slow())),
)
def linear_dt_int():
    return linear(dt=1, p_stdp=slow())


def slow() -> STDPParameters:
    """Parameters for which dt = 1 s does not overshoot."""
    return STDPParameters(tau_pre_inv=0.5, tau_post_inv=0.5, eta_plus=0.1)


@case("linear/w-int", "int32 weights", TypeError, r"w must have a floating dtype")
def linear_w_int():
    return linear(w=np.ones((N_POST, N_PRE), np.int32))


@case(
    "linear/w-complex", "complex64 weights", TypeError, r"w must have a floating dtype"
)
def linear_w_complex():
    return linear(w=np.ones((N_POST, N_PRE), np.complex64))


@case(
    "linear/w-bfloat16",
    "bfloat16 weights",
    works="works: computed in bfloat16",
    check=dtypes_are("bfloat16", "bfloat16", "bfloat16"),
)
def linear_w_bfloat16():
    return linear(w=jnp.full((N_POST, N_PRE), 0.5, jnp.bfloat16))


@case(
    "linear/w-float16",
    "float16 weights",
    works="works: computed in float16",
    check=dtypes_are("float16", "float16", "float16"),
)
def linear_w_float16():
    return linear(w=jnp.full((N_POST, N_PRE), 0.5, jnp.float16))


@case(
    "linear/spikes-bool",
    "bool spikes",
    works="works: same as float spikes, bit for bit",
    check=same_as(linear),
)
def linear_spikes_bool():
    a = linear_args()
    return linear(z_pre=a["z_pre"] > 0, z_post=a["z_post"] > 0)


@case(
    "linear/spikes-int",
    "int8 / int64 spikes",
    works="works: same as float spikes, bit for bit",
    check=same_as(linear),
)
def linear_spikes_int():
    a = linear_args()
    return linear(z_pre=a["z_pre"].astype(np.int8), z_post=a["z_post"].astype(int))


@case(
    "linear/spikes-uint8",
    "uint8 spikes",
    works="works: same as float spikes, bit for bit",
    check=same_as(linear),
)
def linear_spikes_uint8():
    a = linear_args()
    return linear(z_pre=a["z_pre"].astype(np.uint8), z_post=a["z_post"])


@case(
    "linear/spikes-float64-numpy",
    "float64 NumPy spikes (x64 off)",
    works="works: cast to `w.dtype`, bit for bit",
    check=same_as(linear),
)
def linear_spikes_float64_numpy():
    a = linear_args()
    return linear(z_pre=a["z_pre"].astype(np.float64), z_post=a["z_post"])


@case(
    "linear/python-lists",
    "spikes and weights as Python lists",
    works="works: same as arrays, bit for bit",
    check=same_as(linear),
)
def linear_python_lists():
    a = linear_args()
    return linear(
        z_pre=a["z_pre"].tolist(), z_post=a["z_post"].tolist(), w=a["w"].tolist()
    )


@case(
    "linear/numpy-arrays",
    "NumPy weights",
    works="works: same as JAX arrays, bit for bit",
    check=same_as(linear),
)
def linear_numpy_arrays():
    return linear(w=np.asarray(linear_args()["w"]))


@case("linear/spikes-complex", "complex spikes", TypeError, r"z_pre must be spikes as")
def linear_spikes_complex():
    return linear(z_pre=linear_args()["z_pre"].astype(np.complex64))


@case(
    "linear/spikes-graded",
    "graded spikes (0.5, 2.0)",
    works="works: graded values used as given (as Norse)",
    check=all_finite,
)
def linear_spikes_graded():
    return linear(z_pre=np.full((B, N_PRE), 0.5), z_post=np.full((B, N_POST), 2.0))


@case(
    "linear/empty-batch",
    "batch of 0 samples",
    works="works: `w` unchanged",
    check=lambda out: np.testing.assert_array_equal(out[0], linear_args()["w"]),
)
def linear_empty_batch():
    z0 = np.zeros((0, N_PRE)), np.zeros((0, N_POST))
    return linear(z_pre=z0[0], z_post=z0[1], state_stdp=STDPState.zeros_like(*z0))


@case(
    "linear/empty-layer",
    "`n_pre = 0`",
    works="works: `(n_post, 0)` weights",
    check=lambda out: out[0].shape == (N_POST, 0),
)
def linear_empty_layer():
    z = np.zeros((B, 0))
    a = linear_args()
    return linear(
        z_pre=z,
        w=jnp.zeros((N_POST, 0)),
        state_stdp=STDPState(jnp.zeros((B, 0)), a["state_stdp"].t_post),
    )


def with_p(**fields):
    return STDPParameters(eta_plus=0.1, eta_minus=0.1).replace(**fields)


@case("linear/eta-nan", "`eta_plus=nan`", ValueError, r"eta_plus")
def linear_eta_nan():
    return linear(p_stdp=with_p(eta_plus=float("nan")))


@case("linear/eta-inf", "`eta_minus=inf`", ValueError, r"eta_minus")
def linear_eta_inf():
    return linear(p_stdp=with_p(eta_minus=float("inf")))


@case("linear/w_min-nan", "`w_min=nan`", ValueError, r"w_min")
def linear_w_min_nan():
    return linear(p_stdp=with_p(w_min=float("nan")))


@case("linear/w_max-inf", "`w_max=inf`", ValueError, r"w_max")
def linear_w_max_inf():
    return linear(p_stdp=with_p(w_max=float("inf")))


@case(
    "linear/tau-nan-array", "`tau_pre_inv=jnp.array(nan)`", ValueError, r"tau_pre_inv"
)
def linear_tau_nan_array():
    return linear(p_stdp=with_p(tau_pre_inv=jnp.array(jnp.nan)))


@case("linear/w_min-ge-w_max", "`w_min == w_max`", ValueError, r"w_min must be < w_max")
def linear_w_min_ge_w_max():
    return linear(p_stdp=with_p(w_min=1.0, w_max=1.0))


@case(
    "linear/w_min-subnormal",
    "`w_min=1e-40` (a float32 subnormal), weights below it",
    works="works: the bound acts as 0 (XLA flushes subnormals to zero on CPU)",
    check=lambda out: np.testing.assert_array_equal(out[0], 0.0),
)
def linear_w_min_subnormal():
    return linear(w=jnp.full((N_POST, N_PRE), -1.0), p_stdp=with_p(w_min=1e-40))


@case(
    "linear/eta-negative",
    "`eta_plus=-0.1` (anti-Hebbian)",
    works="works (as Norse); `validate_parameters` rejects it",
    check=all_finite,
)
def linear_eta_negative():
    # Anti-Hebbian learning: allowed by the step (as Norse); rejected by
    # validate_parameters.
    return linear(p_stdp=with_p(eta_plus=-0.1))


@case("linear/eta-string", '`eta_plus="fast"`', TypeError, r"p_stdp.eta_plus")
def linear_eta_string():
    return linear(p_stdp=with_p(eta_plus="fast"))


@case(
    "linear/eta-wrong-shape",
    "`eta_plus` of shape `(5,)`",
    ValueError,
    r"p_stdp.eta_plus",
)
def linear_eta_wrong_shape():
    return linear(p_stdp=with_p(eta_plus=jnp.full(5, 0.1)))


@case(
    "linear/eta-per-synapse",
    "`eta_plus` of shape `(n_post, n_pre)`",
    works="works: per-synapse rates, same as the scalar",
    check=same_as(lambda: linear(p_stdp=with_p(eta_plus=0.1))),
)
def linear_eta_per_synapse():
    return linear(p_stdp=with_p(eta_plus=jnp.full((N_POST, N_PRE), 0.1)))


@case(
    "linear/a-per-neuron",
    "`a_pre` of shape `(batch, n_pre)`",
    works="works: per-neuron values, same as the scalar",
    check=same_as(lambda: linear(p_stdp=with_p(a_pre=0.5))),
)
def linear_a_per_neuron():
    return linear(p_stdp=with_p(a_pre=jnp.full((B, N_PRE), 0.5)))


@case(
    "linear/overshoot-warns",
    "`dt * tau_pre_inv = 2`",
    works="works, with `RuntimeWarning: dt * tau_pre_inv = 2 >= 1: the Euler "
    "trace update overshoots ...` (once per call site)",
    warns=RuntimeWarning,
    match=r"dt \* tau_pre_inv = 2 >= 1",
    check=all_finite,
)
def linear_overshoot_warns():
    return linear(p_stdp=with_p(tau_pre_inv=2000.0))


@case(
    "linear/x64-numpy-float64-params",
    "x64 on, NumPy float64 parameters, float32 `w`",
    works="works: everything stays float32",
    check=dtypes_are(*3 * ["float32"]),
)
def linear_x64_numpy_float64_params():
    with jax.enable_x64(True):
        p = with_p(eta_plus=np.float64(0.1), w_max=np.array(1.0), a_pre=np.float64(1))
        a = linear_args(p_stdp=p)
        return jax.block_until_ready(jstdp.stdp_step_linear(**a))


@case(
    "linear/x64-float64-traces",
    "x64 on, float64 traces, float32 `w`",
    works="works: traces cast to float32",
    check=dtypes_are(*3 * ["float32"]),
)
def linear_x64_float64_traces():
    with jax.enable_x64(True):
        a = linear_args()
        s = a["state_stdp"]
        a["state_stdp"] = STDPState(
            *(jnp.asarray(t, jnp.float64) for t in (s.t_pre, s.t_post))
        )
        return jax.block_until_ready(jstdp.stdp_step_linear(**a))


@case(
    "linear/x64-scan-carry",
    "x64 on, float64 parameters, step inside `lax.scan` (carry dtype trap)",
    works="works: carry stays float32",
    check=dtypes_are(*3 * ["float32"]),
)
def linear_x64_scan_carry():
    # The scan carry dtype trap: float64 NumPy parameters must not promote
    # float32 weights inside lax.scan.
    with jax.enable_x64(True):
        a = linear_args(p_stdp=with_p(eta_plus=np.float64(0.1)))

        def body(carry, _):
            w, s = carry
            args = {**a, "w": w, "state_stdp": s}
            return jstdp.stdp_step_linear(**args), None

        carry = (a["w"], a["state_stdp"])
        return jax.block_until_ready(jax.lax.scan(body, carry, None, length=3)[0])


@case(
    "linear/jit-traced-w_min-ge-w_max-checkify",
    "`w_min > w_max` passed traced into `jit`, run under `checkify` with "
    "`validate_parameters`",
    checkify.JaxRuntimeError,
    r"w_min must be < w_max",
)
def linear_jit_traced_w_min_ge_w_max_checkify():
    # Traced values cannot be checked while tracing: validate_parameters
    # under checkify checks them at run time.
    @jax.jit
    def f(p):
        jstdp.validate_parameters(p)
        return linear(p_stdp=p)

    err, _ = checkify.checkify(f)(with_p(w_min=2.0))
    err.throw()


# -------------------------------------------------------------- parameters --


@case(
    "params/unknown-algorithm",
    '`stdp_algorithm="hebbian"`',
    ValueError,
    r"stdp_algorithm must be one of additive, additive_step, multiplicative_pow, "
    r"multiplicative_relu",
)
def params_unknown_algorithm():
    return STDPParameters(stdp_algorithm="hebbian")


@case("params/hardbound-int", "`hardbound=1`", TypeError, r"hardbound must be a bool")
def params_hardbound_int():
    return STDPParameters(hardbound=1)


@case("params/stride-zero", "`stride=0`", ValueError, r"stride must be an int >= 1")
def params_stride_zero():
    return STDPParameters(stride=0)


@case(
    "params/padding-negative",
    "`padding=-1`",
    ValueError,
    r"padding must be an int >= 0",
)
def params_padding_negative():
    return STDPParameters(padding=-1)


@case(
    "params/dilation-zero",
    "`dilation=(1, 0)`",
    ValueError,
    r"dilation must be an int >= 1",
)
def params_dilation_zero():
    return STDPParameters(dilation=(1, 0))


@case("params/stride-float", "`stride=1.0`", ValueError, r"stride must be an int")
def params_stride_float():
    return STDPParameters(stride=1.0)


@case("params/stride-bool", "`stride=True`", ValueError, r"stride must be an int")
def params_stride_bool():
    return STDPParameters(stride=True)


@case(
    "params/padding-triple",
    "`padding=(1, 1, 1)`",
    ValueError,
    r"padding must be an int",
)
def params_padding_triple():
    return STDPParameters(padding=(1, 1, 1))


@case(
    "params/stride-numpy-int",
    "`stride=np.int64(2)`",
    works="works: `stride == (2, 2)`",
    check=lambda p: p.stride == (2, 2),
)
def params_stride_numpy_int():
    return STDPParameters(stride=np.int64(2))


@case(
    "params/decay-shape-mismatch",
    "`STDPState.decay` with `z_pre` shaped like `t_post`",
    ValueError,
    r"z_pre",
)
def params_decay_shape_mismatch():
    s = STDPState.zeros_like(np.zeros((B, N_PRE)), np.zeros((B, N_POST)))
    return s.decay(np.zeros((B, N_POST)), np.zeros((B, N_POST)), 20.0, 20.0, 1.0, 1.0)


# -------------------------------------------------------------- conv2d step --


@case("conv/z_pre-rank-3", "`z_pre` of rank 3", ValueError, r"z_pre must have rank 4")
def conv_z_pre_rank_3():
    return conv(z_pre=np.zeros((2, 5, 5)))


@case("conv/w-rank-2", "`w` of rank 2", ValueError, r"w must have rank 4")
def conv_w_rank_2():
    return conv(w=jnp.zeros((3, 2)))


@case(
    "conv/channels-mismatch",
    "`w` with another `C_in` than `z_pre`",
    ValueError,
    r"w must have shape \(3, 2, 3, 3\)",
)
def conv_channels_mismatch():
    return conv(w=jnp.zeros((3, 1, 3, 3)))


@case(
    "conv/z_post-wrong-size",
    "`z_post` 5x5 where the conv gives 3x3",
    ValueError,
    r"z_post must have shape \(2, 3, 3, 3\)",
)
def conv_z_post_wrong_size():
    return conv(z_post=np.zeros((B, 3, 5, 5)))


@case(
    "conv/z_post-ignores-stride",
    "`stride=2` but `z_post` sized for stride 1",
    ValueError,
    r"z_post must have shape \(2, 3, 2, 2\)",
)
def conv_z_post_ignores_stride():
    return conv(p_stdp=STDPParameters(stride=2))


@case(
    "conv/state-shape",
    "`t_post` of the wrong shape",
    ValueError,
    r"state_stdp.t_post must have shape",
)
def conv_state_shape():
    a = conv_args()
    return conv(state_stdp=STDPState(a["state_stdp"].t_pre, jnp.zeros((B, 3, 5, 5))))


@case(
    "conv/kernel-larger-than-input",
    "7x7 kernel on a 5x5 input",
    ValueError,
    r"kernel \(7, 7\) .* larger than the padded input",
)
def conv_kernel_larger_than_input():
    return conv(w=jnp.zeros((3, 2, 7, 7)))


@case(
    "conv/dilation-empties-output",
    "3x3 kernel, `dilation=3`, 5x5 input (empty output)",
    ValueError,
    r"kernel \(3, 3\) with dilation \(3, 3\)",
)
def conv_dilation_empties_output():
    return conv(p_stdp=STDPParameters(dilation=3))


def conv_geometry(p_stdp, out_hw):
    """``conv`` under another geometry, with all-ones ``z_post`` (and zero
    traces) of the output size ``out_hw`` that geometry gives."""
    z_post = np.ones((B, 3, *out_hw), np.float32)
    state = STDPState.zeros_like(conv_args()["z_pre"], z_post)
    return conv(z_post=z_post, state_stdp=state, p_stdp=p_stdp)


@case(
    "conv/stride-larger-than-input",
    "`stride=100` on a 5x5 input (1x1 output)",
    works="works: 1x1 output",
    check=lambda out: out[1].t_post.shape == (B, 3, 1, 1),
)
def conv_stride_larger_than_input():
    return conv_geometry(STDPParameters(stride=100), (1, 1))


@case(
    "conv/padding-larger-than-kernel",
    "`padding=3` with a 3x3 kernel (9x9 output)",
    works="works: 9x9 output, finite",
    check=all_finite,
)
def conv_padding_larger_than_kernel():
    return conv_geometry(STDPParameters(padding=3), (9, 9))


@case(
    "conv/spikes-bool",
    "bool spikes",
    works="works: same as float spikes, bit for bit",
    check=same_as(conv),
)
def conv_spikes_bool():
    a = conv_args()
    return conv(z_pre=a["z_pre"] > 0, z_post=a["z_post"] > 0)


@case("conv/dt-negative", "`dt=-1`", ValueError, r"dt must be")
def conv_dt_negative():
    return conv(dt=-1.0)


@case(
    "conv/unfold_method-unknown",
    '`unfold_method="im2col"`',
    ValueError,
    r"unfold_method must be one of",
)
def conv_unfold_method_unknown():
    return jstdp.stdp_step_conv2d(**conv_args(), unfold_method="im2col")


@case(
    "conv/empty-batch",
    "batch of 0 samples",
    works="works: `w` unchanged",
    check=lambda out: np.testing.assert_array_equal(out[0], conv_args()["w"]),
)
def conv_empty_batch():
    z_pre, z_post = np.zeros((0, 2, 5, 5)), np.zeros((0, 3, 3, 3))
    return conv(
        z_pre=z_pre, z_post=z_post, state_stdp=STDPState.zeros_like(z_pre, z_post)
    )


def strided() -> STDPParameters:
    """Padding 1, stride 2: the 5x5 input still gives a 3x3 output."""
    return STDPParameters(eta_plus=0.1, eta_minus=0.1, padding=1, stride=2)


@case(
    "conv/unfold-patches",
    '`unfold_method="patches"`, stride 2, padding 1',
    works='works: same as `"slices"` within 1e-6',
    check=same_as(lambda: conv(p_stdp=strided()), 1e-6),
)
def conv_unfold_patches():
    return jstdp.stdp_step_conv2d(
        **conv_args(p_stdp=strided()), unfold_method="patches"
    )


@case("linear/dt-complex", "`dt=1e-3+1j`", TypeError, r"dt must be real")
def linear_dt_complex():
    return linear(dt=1e-3 + 1j)


@case(
    "linear/eta-complex",
    "`eta_plus=0.1+1j`",
    TypeError,
    r"p_stdp.eta_plus must be real",
)
def linear_eta_complex():
    return linear(p_stdp=STDPParameters(eta_plus=0.1 + 1j))


@case(
    "linear/traces-complex",
    "complex traces",
    TypeError,
    r"state_stdp.t_pre must be real, got complex64",
)
def linear_traces_complex():
    s = linear_args()["state_stdp"]
    return linear(state_stdp=s.replace(t_pre=s.t_pre.astype(jnp.complex64)))


@case(
    "linear/spikes-string",
    "string spikes",
    TypeError,
    r"z_pre must be spikes as a bool, int or real float array, got <U1",
)
def linear_spikes_string():
    return linear(z_pre=np.full((B, N_PRE), "1"))


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
