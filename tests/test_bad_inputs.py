"""Bad-input fuzzing of the public API.

Every case either works (and its result is checked) or raises an exception
whose message names the argument; none hangs, crashes or returns silently
wrong numbers. ``docs/bad_inputs.md`` is the table of these cases, and
:func:`test_table_is_documented` keeps the two in step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import pathlib
import re
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.experimental import checkify

import jstdp
import jstdp.cli
import jstdp.interop
import jstdp.nn
import jstdp.plot
from jstdp import (
    ConductanceLIFParameters,
    LIFFeedForwardState,
    LIFParameters,
    PoissonInput,
    STDPParameters,
    STDPState,
)

DOCS = pathlib.Path(__file__).parents[1] / "docs" / "bad_inputs.md"


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input: the call, and either the error it raises or a check."""

    id: str
    what: str  # the input, in words (markdown), for docs/bad_inputs.md
    call: Callable[[], Any]
    raises: type[BaseException] | None = None
    match: str | None = None  # the message must name the argument
    warns: type[Warning] | None = None
    check: Callable[[Any], None] | None = None  # what "works" means here...
    works: str | None = None  # ...and in words


CASES: list[Case] = []


def case(id, what, raises=None, match=None, *, warns=None, check=None, works=None):
    """Register the decorated zero-argument call as a case."""

    def register(call):
        CASES.append(Case(id, what, call, raises, match, warns, check, works))
        return call

    return register


# ---------------------------------------------------------------- fixtures --

B, N_PRE, N_POST = 2, 3, 4


def linear_args(**changes) -> dict:
    """Valid arguments of ``stdp_step_linear`` (non-zero traces), then changes."""
    rng = np.random.default_rng(0)
    args = dict(
        z_pre=(rng.random((B, N_PRE)) < 0.5).astype(np.float32),
        z_post=(rng.random((B, N_POST)) < 0.5).astype(np.float32),
        w=jnp.asarray(rng.uniform(0.2, 0.8, (N_POST, N_PRE)), jnp.float32),
        state_stdp=STDPState(
            jnp.asarray(rng.random((B, N_PRE)), jnp.float32),
            jnp.asarray(rng.random((B, N_POST)), jnp.float32),
        ),
        p_stdp=STDPParameters(eta_plus=0.1, eta_minus=0.1),
        dt=1e-3,
    )
    return {**args, **changes}


def linear(**changes):
    return jstdp.stdp_step_linear(**linear_args(**changes))


def conv_args(**changes) -> dict:
    """Valid ``stdp_step_conv2d`` arguments: 5x5 input, 3x3 kernel, 3x3 output."""
    rng = np.random.default_rng(1)
    z_pre = (rng.random((B, 2, 5, 5)) < 0.5).astype(np.float32)
    z_post = (rng.random((B, 3, 3, 3)) < 0.5).astype(np.float32)
    args = dict(
        z_pre=z_pre,
        z_post=z_post,
        w=jnp.asarray(rng.uniform(0.2, 0.8, (3, 2, 3, 3)), jnp.float32),
        state_stdp=STDPState.zeros_like(z_pre, z_post),
        p_stdp=STDPParameters(eta_plus=0.1, eta_minus=0.1),
        dt=1e-3,
    )
    return {**args, **changes}


def conv(**changes):
    return jstdp.stdp_step_conv2d(**conv_args(**changes))


def same_as(reference: Callable[[], Any], atol: float = 0.0):
    """A check: the result equals ``reference()`` (bit for bit by default)."""

    def check(out):
        want = reference()
        for x, y in zip(jax.tree.leaves(out), jax.tree.leaves(want), strict=True):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=atol)

    return check


def dtypes_are(*dtypes):
    """A check: the result's leaves have these dtypes, in order."""

    def check(out):
        assert [x.dtype for x in jax.tree.leaves(out)] == [jnp.dtype(d) for d in dtypes]

    return check


def all_finite(out):
    jstdp.check_finite(out, "result")


# ------------------------------------------------------------ linear step --


@case(
    "linear/z_pre-rank-1",
    "`z_pre` of shape `(3,)` (no batch axis)",
    ValueError,
    r"z_pre must have rank 2",
)
def _():
    return linear(z_pre=np.zeros(N_PRE))


@case(
    "linear/z_post-rank-3", "`z_post` of rank 3", ValueError, r"z_post must have rank 2"
)
def _():
    return linear(z_post=np.zeros((1, B, N_POST)))


@case("linear/w-rank-3", "`w` of rank 3", ValueError, r"w must have rank 2")
def _():
    return linear(w=jnp.zeros((1, N_POST, N_PRE)))


@case(
    "linear/w-transposed",
    "`w` of shape `(n_pre, n_post)` (transposed)",
    ValueError,
    r"w must have shape \(4, 3\)",
)
def _():
    return linear(w=jnp.zeros((N_PRE, N_POST)))


@case(
    "linear/batch-mismatch",
    "`z_post` with another batch size than `z_pre`",
    ValueError,
    r"z_post must have shape \(2, 4\)",
)
def _():
    return linear(z_post=np.zeros((B + 1, N_POST)))


@case(
    "linear/state-swapped",
    "traces swapped (`t_pre` shaped like `z_post`)",
    ValueError,
    r"state_stdp.t_pre must have shape",
)
def _():
    s = linear_args()["state_stdp"]
    return linear(state_stdp=STDPState(s.t_post, s.t_pre))


@case(
    "linear/state-tuple",
    "`state_stdp` a tuple of arrays",
    TypeError,
    r"state_stdp must be jstdp.STDPState",
)
def _():
    s = linear_args()["state_stdp"]
    return linear(state_stdp=(s.t_pre, s.t_post))


@case(
    "linear/state-none",
    "`state_stdp=None`",
    TypeError,
    r"state_stdp must be jstdp.STDPState",
)
def _():
    return linear(state_stdp=None)


@case(
    "linear/p-dict",
    "`p_stdp` a dict",
    TypeError,
    r"p_stdp must be jstdp.STDPParameters",
)
def _():
    return linear(p_stdp={"eta_plus": 0.1})


@case(
    "linear/p-none",
    "`p_stdp=None`",
    works="works: `STDPParameters()`",
    check=same_as(lambda: linear(p_stdp=STDPParameters())),
)
def _():
    return linear(p_stdp=None)


@case("linear/dt-zero", "`dt=0`", ValueError, r"dt must be")
def _():
    return linear(dt=0.0)


@case("linear/dt-negative", "`dt=-1e-3`", ValueError, r"dt must be")
def _():
    return linear(dt=-1e-3)


@case("linear/dt-nan", "`dt=nan`", ValueError, r"dt must be")
def _():
    return linear(dt=float("nan"))


@case("linear/dt-inf", "`dt=inf`", ValueError, r"dt must be")
def _():
    return linear(dt=float("inf"))


@case(
    "linear/dt-vector",
    "`dt` an array of shape `(3,)`",
    ValueError,
    r"dt must be a scalar",
)
def _():
    return linear(dt=np.full(N_PRE, 1e-3))


@case("linear/dt-string", '`dt="1ms"`', TypeError, r"dt")
def _():
    return linear(dt="1ms")


@case(
    "linear/dt-int",
    "`dt=1` (Python int)",
    works="works: same as `dt=1.0`",
    check=same_as(lambda: linear(dt=1.0, p_stdp=slow())),
)
def _():
    return linear(dt=1, p_stdp=slow())


def slow() -> STDPParameters:
    """Parameters for which dt = 1 s does not overshoot."""
    return STDPParameters(tau_pre_inv=0.5, tau_post_inv=0.5, eta_plus=0.1)


@case("linear/w-int", "int32 weights", TypeError, r"w must have a floating dtype")
def _():
    return linear(w=np.ones((N_POST, N_PRE), np.int32))


@case(
    "linear/w-complex", "complex64 weights", TypeError, r"w must have a floating dtype"
)
def _():
    return linear(w=np.ones((N_POST, N_PRE), np.complex64))


@case(
    "linear/w-bfloat16",
    "bfloat16 weights",
    works="works: computed in bfloat16",
    check=dtypes_are("bfloat16", "bfloat16", "bfloat16"),
)
def _():
    return linear(w=jnp.full((N_POST, N_PRE), 0.5, jnp.bfloat16))


@case(
    "linear/w-float16",
    "float16 weights",
    works="works: computed in float16",
    check=dtypes_are("float16", "float16", "float16"),
)
def _():
    return linear(w=jnp.full((N_POST, N_PRE), 0.5, jnp.float16))


@case(
    "linear/spikes-bool",
    "bool spikes",
    works="works: same as float spikes, bit for bit",
    check=same_as(linear),
)
def _():
    a = linear_args()
    return linear(z_pre=a["z_pre"] > 0, z_post=a["z_post"] > 0)


@case(
    "linear/spikes-int",
    "int8 / int64 spikes",
    works="works: same as float spikes, bit for bit",
    check=same_as(linear),
)
def _():
    a = linear_args()
    return linear(z_pre=a["z_pre"].astype(np.int8), z_post=a["z_post"].astype(int))


@case(
    "linear/spikes-uint8",
    "uint8 spikes",
    works="works: same as float spikes, bit for bit",
    check=same_as(linear),
)
def _():
    a = linear_args()
    return linear(z_pre=a["z_pre"].astype(np.uint8), z_post=a["z_post"])


@case(
    "linear/spikes-float64-numpy",
    "float64 NumPy spikes (x64 off)",
    works="works: cast to `w.dtype`, bit for bit",
    check=same_as(linear),
)
def _():
    a = linear_args()
    return linear(z_pre=a["z_pre"].astype(np.float64), z_post=a["z_post"])


@case(
    "linear/python-lists",
    "spikes and weights as Python lists",
    works="works: same as arrays, bit for bit",
    check=same_as(linear),
)
def _():
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
def _():
    return linear(w=np.asarray(linear_args()["w"]))


@case("linear/spikes-complex", "complex spikes", TypeError, r"z_pre must be spikes as")
def _():
    return linear(z_pre=linear_args()["z_pre"].astype(np.complex64))


@case(
    "linear/spikes-graded",
    "graded spikes (0.5, 2.0)",
    works="works: graded values used as given (as Norse)",
    check=all_finite,
)
def _():
    return linear(z_pre=np.full((B, N_PRE), 0.5), z_post=np.full((B, N_POST), 2.0))


@case(
    "linear/empty-batch",
    "batch of 0 samples",
    works="works: `w` unchanged",
    check=lambda out: np.testing.assert_array_equal(out[0], linear_args()["w"]),
)
def _():
    z0 = np.zeros((0, N_PRE)), np.zeros((0, N_POST))
    return linear(z_pre=z0[0], z_post=z0[1], state_stdp=STDPState.zeros_like(*z0))


@case(
    "linear/empty-layer",
    "`n_pre = 0`",
    works="works: `(n_post, 0)` weights",
    check=lambda out: out[0].shape == (N_POST, 0),
)
def _():
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
def _():
    return linear(p_stdp=with_p(eta_plus=float("nan")))


@case("linear/eta-inf", "`eta_minus=inf`", ValueError, r"eta_minus")
def _():
    return linear(p_stdp=with_p(eta_minus=float("inf")))


@case("linear/w_min-nan", "`w_min=nan`", ValueError, r"w_min")
def _():
    return linear(p_stdp=with_p(w_min=float("nan")))


@case("linear/w_max-inf", "`w_max=inf`", ValueError, r"w_max")
def _():
    return linear(p_stdp=with_p(w_max=float("inf")))


@case(
    "linear/tau-nan-array", "`tau_pre_inv=jnp.array(nan)`", ValueError, r"tau_pre_inv"
)
def _():
    return linear(p_stdp=with_p(tau_pre_inv=jnp.array(jnp.nan)))


@case("linear/w_min-ge-w_max", "`w_min == w_max`", ValueError, r"w_min must be < w_max")
def _():
    return linear(p_stdp=with_p(w_min=1.0, w_max=1.0))


@case(
    "linear/w_min-subnormal",
    "`w_min=1e-40` (a float32 subnormal), weights below it",
    works="works: the bound acts as 0 (XLA flushes subnormals to zero on CPU)",
    check=lambda out: np.testing.assert_array_equal(out[0], 0.0),
)
def _():
    return linear(w=jnp.full((N_POST, N_PRE), -1.0), p_stdp=with_p(w_min=1e-40))


@case(
    "linear/eta-negative",
    "`eta_plus=-0.1` (anti-Hebbian)",
    works="works (as Norse); `validate_parameters` rejects it",
    check=all_finite,
)
def _():
    # Anti-Hebbian learning: allowed by the step (as Norse); rejected by
    # validate_parameters.
    return linear(p_stdp=with_p(eta_plus=-0.1))


@case("linear/eta-string", '`eta_plus="fast"`', TypeError, r"p_stdp.eta_plus")
def _():
    return linear(p_stdp=with_p(eta_plus="fast"))


@case(
    "linear/eta-wrong-shape",
    "`eta_plus` of shape `(5,)`",
    ValueError,
    r"p_stdp.eta_plus",
)
def _():
    return linear(p_stdp=with_p(eta_plus=jnp.full(5, 0.1)))


@case(
    "linear/eta-per-synapse",
    "`eta_plus` of shape `(n_post, n_pre)`",
    works="works: per-synapse rates, same as the scalar",
    check=same_as(lambda: linear(p_stdp=with_p(eta_plus=0.1))),
)
def _():
    return linear(p_stdp=with_p(eta_plus=jnp.full((N_POST, N_PRE), 0.1)))


@case(
    "linear/a-per-neuron",
    "`a_pre` of shape `(batch, n_pre)`",
    works="works: per-neuron values, same as the scalar",
    check=same_as(lambda: linear(p_stdp=with_p(a_pre=0.5))),
)
def _():
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
def _():
    return linear(p_stdp=with_p(tau_pre_inv=2000.0))


@case(
    "linear/x64-numpy-float64-params",
    "x64 on, NumPy float64 parameters, float32 `w`",
    works="works: everything stays float32",
    check=dtypes_are(*3 * ["float32"]),
)
def _():
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
def _():
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
def _():
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
def _():
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
def _():
    return STDPParameters(stdp_algorithm="hebbian")


@case("params/hardbound-int", "`hardbound=1`", TypeError, r"hardbound must be a bool")
def _():
    return STDPParameters(hardbound=1)


@case("params/stride-zero", "`stride=0`", ValueError, r"stride must be an int >= 1")
def _():
    return STDPParameters(stride=0)


@case(
    "params/padding-negative",
    "`padding=-1`",
    ValueError,
    r"padding must be an int >= 0",
)
def _():
    return STDPParameters(padding=-1)


@case(
    "params/dilation-zero",
    "`dilation=(1, 0)`",
    ValueError,
    r"dilation must be an int >= 1",
)
def _():
    return STDPParameters(dilation=(1, 0))


@case("params/stride-float", "`stride=1.0`", ValueError, r"stride must be an int")
def _():
    return STDPParameters(stride=1.0)


@case("params/stride-bool", "`stride=True`", ValueError, r"stride must be an int")
def _():
    return STDPParameters(stride=True)


@case(
    "params/padding-triple",
    "`padding=(1, 1, 1)`",
    ValueError,
    r"padding must be an int",
)
def _():
    return STDPParameters(padding=(1, 1, 1))


@case(
    "params/stride-numpy-int",
    "`stride=np.int64(2)`",
    works="works: `stride == (2, 2)`",
    check=lambda p: p.stride == (2, 2),
)
def _():
    return STDPParameters(stride=np.int64(2))


@case(
    "params/decay-shape-mismatch",
    "`STDPState.decay` with `z_pre` shaped like `t_post`",
    ValueError,
    r"z_pre",
)
def _():
    s = STDPState.zeros_like(np.zeros((B, N_PRE)), np.zeros((B, N_POST)))
    return s.decay(np.zeros((B, N_POST)), np.zeros((B, N_POST)), 20.0, 20.0, 1.0, 1.0)


# -------------------------------------------------------------- conv2d step --


@case("conv/z_pre-rank-3", "`z_pre` of rank 3", ValueError, r"z_pre must have rank 4")
def _():
    return conv(z_pre=np.zeros((2, 5, 5)))


@case("conv/w-rank-2", "`w` of rank 2", ValueError, r"w must have rank 4")
def _():
    return conv(w=jnp.zeros((3, 2)))


@case(
    "conv/channels-mismatch",
    "`w` with another `C_in` than `z_pre`",
    ValueError,
    r"w must have shape \(3, 2, 3, 3\)",
)
def _():
    return conv(w=jnp.zeros((3, 1, 3, 3)))


@case(
    "conv/z_post-wrong-size",
    "`z_post` 5x5 where the conv gives 3x3",
    ValueError,
    r"z_post must have shape \(2, 3, 3, 3\)",
)
def _():
    return conv(z_post=np.zeros((B, 3, 5, 5)))


@case(
    "conv/z_post-ignores-stride",
    "`stride=2` but `z_post` sized for stride 1",
    ValueError,
    r"z_post must have shape \(2, 3, 2, 2\)",
)
def _():
    return conv(p_stdp=STDPParameters(stride=2))


@case(
    "conv/state-shape",
    "`t_post` of the wrong shape",
    ValueError,
    r"state_stdp.t_post must have shape",
)
def _():
    a = conv_args()
    return conv(state_stdp=STDPState(a["state_stdp"].t_pre, jnp.zeros((B, 3, 5, 5))))


@case(
    "conv/kernel-larger-than-input",
    "7x7 kernel on a 5x5 input",
    ValueError,
    r"kernel \(7, 7\) .* larger than the padded input",
)
def _():
    return conv(w=jnp.zeros((3, 2, 7, 7)))


@case(
    "conv/dilation-empties-output",
    "3x3 kernel, `dilation=3`, 5x5 input (empty output)",
    ValueError,
    r"kernel \(3, 3\) with dilation \(3, 3\)",
)
def _():
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
def _():
    return conv_geometry(STDPParameters(stride=100), (1, 1))


@case(
    "conv/padding-larger-than-kernel",
    "`padding=3` with a 3x3 kernel (9x9 output)",
    works="works: 9x9 output, finite",
    check=all_finite,
)
def _():
    return conv_geometry(STDPParameters(padding=3), (9, 9))


@case(
    "conv/spikes-bool",
    "bool spikes",
    works="works: same as float spikes, bit for bit",
    check=same_as(conv),
)
def _():
    a = conv_args()
    return conv(z_pre=a["z_pre"] > 0, z_post=a["z_post"] > 0)


@case("conv/dt-negative", "`dt=-1`", ValueError, r"dt must be")
def _():
    return conv(dt=-1.0)


@case(
    "conv/unfold_method-unknown",
    '`unfold_method="im2col"`',
    ValueError,
    r"unfold_method must be one of",
)
def _():
    return jstdp.stdp_step_conv2d(**conv_args(), unfold_method="im2col")


@case(
    "conv/empty-batch",
    "batch of 0 samples",
    works="works: `w` unchanged",
    check=lambda out: np.testing.assert_array_equal(out[0], conv_args()["w"]),
)
def _():
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
def _():
    return jstdp.stdp_step_conv2d(
        **conv_args(p_stdp=strided()), unfold_method="patches"
    )


# ----------------------------------------------------------------- neurons --


def lif_state():
    return LIFParameters().initial_state((B, N_POST))


@case(
    "lif/p-wrong-type",
    "`lif_feed_forward_step` with `STDPParameters`",
    TypeError,
    r"p must be jstdp.LIFParameters",
)
def _():
    return jstdp.lif_feed_forward_step(
        np.ones((B, N_POST)), lif_state(), STDPParameters()
    )


@case(
    "lif/state-wrong-type",
    "state a tuple",
    TypeError,
    r"state must be jstdp.LIFFeedForwardState",
)
def _():
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST)), (0.0, 0.0))


@case("lif/state-int", "int state", TypeError, r"state.v must have a floating dtype")
def _():
    state = LIFFeedForwardState(
        jnp.zeros((B, N_POST), int), jnp.zeros((B, N_POST), int)
    )
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST)), state)


@case(
    "lif/method-unknown",
    '`LIFParameters(method="sigmoid")`',
    ValueError,
    r"method must be one of super, heaviside",
)
def _():
    return LIFParameters(method="sigmoid")


@case("lif/dt-negative", "`dt=-1e-3`", ValueError, r"dt must be")
def _():
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST)), lif_state(), dt=-1e-3)


@case(
    "lif/input-wrong-shape",
    "input current `(2, 5)` for a `(2, 4)` state",
    ValueError,
    r"input_current",
)
def _():
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST + 1)), lif_state())


@case(
    "lif/conductance-drive-shape",
    "`ConductanceLIFParameters.step` with a `(2, 5)` drive for a `(2, 4)` state",
    ValueError,
    r"drive of shape \(2, 5\) must broadcast to the neuron state's shape \(2, 4\)",
)
def _():
    p = ConductanceLIFParameters()
    return p.step(np.ones((B, N_POST + 1)), p.initial_state((B, N_POST)))


@case(
    "lif/conductance-state-wrong-type",
    "`ConductanceLIFParameters.step` with a LIF state",
    TypeError,
    r"state must be jstdp.ConductanceLIFState",
)
def _():
    return ConductanceLIFParameters().step(np.ones((B, N_POST)), lif_state())


@case(
    "poisson/seq_length-negative",
    "`poisson_encode(..., seq_length=-1)`",
    ValueError,
    r"seq_length must be an int >= 0",
)
def _():
    return jstdp.poisson_encode(jax.random.key(0), np.ones(3), -1)


@case(
    "poisson/seq_length-float",
    "`seq_length=10.0`",
    TypeError,
    r"seq_length must be an int",
)
def _():
    return jstdp.poisson_encode(jax.random.key(0), np.ones(3), 10.0)


@case(
    "poisson/key-int", "`poisson_step(0, ...)` (an int, not a key)", TypeError, r"key"
)
def _():
    return jstdp.poisson_step(0, np.ones(3))


@case(
    "poisson/negative-rates",
    "negative rates",
    works="works: no spikes",
    check=lambda z: np.testing.assert_array_equal(z, 0.0),
)
def _():
    return jstdp.poisson_step(jax.random.key(0), np.full(5, -10.0))


@case(
    "poisson/nan-rates",
    "`poisson_step` with NaN rates",
    works="works: no spikes (`u < nan` is false); `run_*` reject NaN rates",
    check=lambda z: np.testing.assert_array_equal(z, 0.0),
)
def _():
    return jstdp.poisson_step(jax.random.key(0), np.full(5, np.nan))


@case(
    "lif/nan-parameter",
    "`lif_feed_forward_step` with `tau_mem_inv=nan`",
    works="works: NaN propagates into `v` (no spike); `check_finite` finds it",
    check=lambda out: np.testing.assert_array_equal(np.isnan(out[1].v), True),
)
def _():
    p = LIFParameters(tau_mem_inv=float("nan"))
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST)), lif_state(), p)


# ------------------------------------------------------------- simulation --

T = 5


def spikes_seq(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((T, *shape)) < 0.5).astype(np.float32)


def run(**changes):
    args = dict(
        inputs=spikes_seq((B, N_PRE)), w=jnp.full((N_POST, N_PRE), 0.5), p_stdp=None
    )
    args.update(changes)
    return jstdp.run_linear(**args)


@case(
    "run/inputs-rank-2",
    "`run_linear` inputs `(T, n_pre)` (no batch axis)",
    ValueError,
    r"input spikes must have shape \(batch, n_pre=3\)",
)
def _():
    return run(inputs=np.zeros((T, N_PRE)))


@case(
    "run/inputs-wrong-n_pre", "inputs with `n_pre + 1` columns", ValueError, r"n_pre=3"
)
def _():
    return run(inputs=np.zeros((T, B, N_PRE + 1)))


@case(
    "run/poisson-without-steps",
    "`PoissonInput` without `steps`",
    ValueError,
    r"steps must be an int >= 0",
)
def _():
    return run(inputs=PoissonInput(np.full((B, N_PRE), 10.0)), key=jax.random.key(0))


@case(
    "run/poisson-without-key",
    "`PoissonInput` without `key`",
    ValueError,
    r"key .* is required",
)
def _():
    return run(inputs=PoissonInput(np.full((B, N_PRE), 10.0)), steps=3)


@case(
    "run/key-with-spike-array",
    "`key` with a spike array",
    ValueError,
    r"key is only used with PoissonInput",
)
def _():
    return run(key=jax.random.key(0))


@case(
    "run/steps-disagrees-with-T",
    "`steps=7` with `T = 5` spikes",
    ValueError,
    r"T = steps = 7",
)
def _():
    return run(steps=7)


@case(
    "run/record_every-zero",
    "`record_every=0`",
    ValueError,
    r"record_every must be None or an int >= 1",
)
def _():
    return run(record_every=0)


@case(
    "run/chunk_steps-bool",
    "`chunk_steps=True`",
    ValueError,
    r"chunk_steps must be None or an int >= 1",
)
def _():
    return run(chunk_steps=True)


@case(
    "run/state-wrong-type",
    "`state` an `STDPState`",
    TypeError,
    r"state must be jstdp.RunState",
)
def _():
    return run(state=STDPState.zeros_like(np.zeros((B, N_PRE)), np.zeros((B, N_POST))))


@case(
    "run/p_neuron-without-step",
    "`p_neuron` without `.step`",
    TypeError,
    r"p_neuron must have",
)
def _():
    return run(p_neuron=STDPParameters())


@case(
    "run/p_stdp-wrong-type",
    "`p_stdp` a `LIFParameters`",
    TypeError,
    r"p_stdp must be jstdp.STDPParameters",
)
def _():
    return run(p_stdp=LIFParameters())


@case("run/dt-zero", "`dt=0`", ValueError, r"dt must be")
def _():
    return run(dt=0.0)


@case(
    "run/zero-steps",
    "`T = 0` steps",
    works="works: `w` unchanged",
    check=lambda out: np.testing.assert_array_equal(out[0], 0.5),
)
def _():
    return run(inputs=np.zeros((0, B, N_PRE)))


@case(
    "run/record_every-longer-than-T",
    "`record_every > T`",
    works="works: an empty record (`R = 0`)",
    check=lambda out: out[2].w.shape == (0, N_POST, N_PRE),
)
def _():
    return run(record_every=T + 1)


@case(
    "run/x64-numpy-float64-params",
    "x64 on, NumPy float64 STDP and LIF parameters, float32 `w`",
    works="works: `w` stays float32",
    check=lambda out: out[0].dtype == jnp.float32,
)
def _():
    with jax.enable_x64(True):
        p = STDPParameters(eta_plus=np.float64(1e-2), tau_pre_inv=np.float64(20.0))
        lif = LIFParameters(tau_mem_inv=np.float64(100.0))
        return jax.block_until_ready(
            run(w=jnp.full((N_POST, N_PRE), 0.5, jnp.float32), p_stdp=p, p_neuron=lif)
        )


@case(
    "run/nan-neuron-parameter",
    "`LIFParameters(tau_mem_inv=nan)`",
    FloatingPointError,
    r"p_neuron.tau_mem_inv is not finite: nan",
)
def _():
    return run(p_neuron=LIFParameters(tau_mem_inv=float("nan")))


@case(
    "run/poisson-nan-rates",
    "`PoissonInput` with a NaN rate",
    ValueError,
    r"PoissonInput.rates_hz must be finite and >= 0, got nan at index \(1, 2\)",
)
def _():
    rates = np.full((B, N_PRE), 10.0)
    rates[1, 2] = np.nan
    return run(inputs=PoissonInput(rates), steps=3, key=jax.random.key(0))


@case(
    "simulate/length-mismatch",
    "`simulate_linear` with `T` and `T + 1` steps",
    ValueError,
    r"same length T",
)
def _():
    return jstdp.simulate_linear(
        spikes_seq((B, N_PRE)),
        np.zeros((T + 1, B, N_POST)),
        jnp.full((N_POST, N_PRE), 0.5),
    )


@case(
    "simulate/conv-rank",
    "`simulate_conv2d` with rank-4 sequences",
    ValueError,
    r"z_pre_seq must have rank 5",
)
def _():
    return jstdp.simulate_conv2d(
        np.zeros((T, B, 5, 5)), np.zeros((T, B, 3, 3, 3)), jnp.zeros((3, 2, 3, 3))
    )


# ------------------------------------------------------------------ sweeps --


@case(
    "sweep/unknown-field",
    "`parameter_grid(..., eta=[...])`",
    ValueError,
    r"has no numeric field 'eta'",
)
def _():
    return jstdp.parameter_grid(STDPParameters(), eta=[1e-3])


@case(
    "sweep/static-field",
    "sweep over `stdp_algorithm`",
    ValueError,
    r"stdp_algorithm is a static field",
)
def _():
    return jstdp.parameter_grid(STDPParameters(), stdp_algorithm=["additive"])


@case(
    "sweep/empty-values",
    "`eta_plus=[]`",
    ValueError,
    r"eta_plus must be a non-empty list",
)
def _():
    return jstdp.parameter_grid(STDPParameters(), eta_plus=[])


@case(
    "sweep/zip-lengths",
    '`mode="zip"`, lists of lengths 2 and 1',
    ValueError,
    r"mode='zip' needs lists of equal length",
)
def _():
    return jstdp.parameter_grid(STDPParameters(), "zip", eta_plus=[1, 2], mu=[1])


@case(
    "sweep/base-not-dataclass",
    "`base` a dict",
    TypeError,
    r"base must be a flax.struct",
)
def _():
    return jstdp.parameter_grid({"eta_plus": 1.0}, eta_plus=[1.0])


@case(
    "sweep/unstacked",
    "`run_sweep` on unstacked parameters",
    ValueError,
    r"stacked must be a pytree whose leaves all share",
)
def _():
    return jstdp.run_sweep(lambda p: p.eta_plus, STDPParameters())


@case(
    "sweep/grid-w_min-ge-w_max",
    "a grid with `w_min >= w_max` in one entry, checked by `validate_parameters(grid)`",
    ValueError,
    r"w_min=2 at index \(1,\) of shape \(2,\)",
)
def _():
    # run_sweep traces the grid (its values are not checked there): validate
    # the concrete grid first.
    grid, _ = jstdp.parameter_grid(STDPParameters(), w_min=[0.0, 2.0])
    return jstdp.validate_parameters(grid)


# ------------------------------------------------------------------ layers --


@case("nn/in_features-zero", "`STDPLinear(0, 2)`", ValueError, r"in_features")
def _():
    return jstdp.nn.STDPLinear(0, 2, rngs=nnx.Rngs(0))


@case("nn/dtype-int", "`dtype=int32`", TypeError, r"dtype must be a floating dtype")
def _():
    return jstdp.nn.STDPLinear(3, 2, dtype=jnp.int32, rngs=nnx.Rngs(0))


@case("nn/dt-negative", "`dt=-1`", ValueError, r"dt must be")
def _():
    return jstdp.nn.STDPLinear(3, 2, dt=-1.0, rngs=nnx.Rngs(0))


@case("nn/learning-int", "`learning=1`", TypeError, r"learning must be a bool")
def _():
    return jstdp.nn.STDPLinear(3, 2, learning=1, rngs=nnx.Rngs(0))


@case(
    "nn/batch-mismatch",
    "a batch of 2 into a layer built for 1",
    ValueError,
    r"z_pre must have shape \(1, 3\)",
)
def _():
    return jstdp.nn.STDPLinear(3, 2, rngs=nnx.Rngs(0))(np.ones((2, 3)))


@case(
    "nn/conv-kernel-too-large",
    "`STDPConv2d` 5x5 kernel on 3x3 input",
    ValueError,
    r"larger than the padded input",
)
def _():
    return jstdp.nn.STDPConv2d(1, 1, 5, input_size=(3, 3), rngs=nnx.Rngs(0))


@case("nn/conv-input_size-triple", "`input_size=(3, 3, 3)`", ValueError, r"input_size")
def _():
    return jstdp.nn.STDPConv2d(1, 1, 2, input_size=(3, 3, 3), rngs=nnx.Rngs(0))


@case(
    "nn/nan-neuron-parameter",
    "`STDPLinear(p_neuron=LIFParameters(tau_mem_inv=nan))`",
    ValueError,
    r"LIFParameters.tau_mem_inv must be finite, got nan",
)
def _():
    p_neuron = LIFParameters(tau_mem_inv=float("nan"))
    return jstdp.nn.STDPLinear(3, 2, p_neuron=p_neuron, rngs=nnx.Rngs(0))


@case(
    "nn/negative-eta",
    "`STDPLinear(p_stdp=STDPParameters(eta_minus=-1e-3))`",
    ValueError,
    r"STDPParameters.eta_minus must be >= 0",
)
def _():
    p = STDPParameters(eta_minus=-1e-3)
    return jstdp.nn.STDPLinear(3, 2, p_stdp=p, rngs=nnx.Rngs(0))


@case(
    "nn/overshooting-dt",
    "`STDPLinear(dt=0.01)` with the default LIF (`dt * tau_syn_inv = 2`)",
    ValueError,
    r"dt \* LIFParameters.tau_syn_inv must be < 1",
)
def _():
    return jstdp.nn.STDPLinear(3, 2, dt=0.01, rngs=nnx.Rngs(0))


# --------------------------------------------------------------- interop --


def norse_stdp():
    return pytest.importorskip("norse.torch.functional.stdp")


@case(
    "interop/to_norse-wrong-type",
    "`to_norse(dict)`",
    TypeError,
    r"to_norse expects jstdp.STDPParameters",
)
def _():
    norse_stdp()
    return jstdp.interop.to_norse({"eta_plus": 1.0})


@case(
    "interop/from_norse-wrong-type",
    "`from_norse(jstdp.STDPParameters())`",
    TypeError,
    r"from_norse expects norse",
)
def _():
    norse_stdp()
    return jstdp.interop.from_norse(STDPParameters())


@case(
    "interop/from_norse-reassigned-w_max",
    "Norse parameters whose `w_max` was reassigned after construction",
    ValueError,
    r"reassigned after construction",
)
def _():
    p = norse_stdp().STDPParameters()
    p.w_max = 0.5  # Norse's clamp still uses the constructor's 1.0
    return jstdp.interop.from_norse(p)


@case(
    "interop/compare-w-rank-3",
    "`compare_with_norse` with a rank-3 `w`",
    ValueError,
    r"w must have rank 2 .* or 4",
)
def _():
    norse_stdp()
    return jstdp.interop.compare_with_norse(
        np.zeros((T, B, N_PRE)), np.zeros((T, B, N_POST)), np.zeros((1, N_POST, N_PRE))
    )


@case(
    "interop/from_norse-nan-parameter",
    "Norse parameters with `eta_plus=nan`, converted, then stepped",
    ValueError,
    r"p_stdp.eta_plus must be finite",
)
def _():
    torch = pytest.importorskip("torch")
    p = jstdp.interop.from_norse(
        norse_stdp().STDPParameters(eta_plus=torch.tensor(float("nan")))
    )
    return linear(p_stdp=p)


# ------------------------------------------------------------------- CLI --


class UsageError(Exception):
    """The command exited with status 2; the message is what it printed."""


def cli(*argv: str) -> int:
    """``jstdp.cli.main(argv)``, a usage error (exit 2) raised as UsageError."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return jstdp.cli.main(list(argv))
    except SystemExit as e:
        if e.code == 2:
            raise UsageError(err.getvalue()) from None
        raise


for flag, value, want in [
    ("--dt", "-1", r"argument --dt: dt must be a finite number > 0 and <= 0.001"),
    ("--dt", "0", r"argument --dt: dt must be a finite number > 0"),
    ("--dt", "0.01", r"argument --dt: dt must be a finite number > 0 and <= 0.001"),
    ("--dt", "nan", r"argument --dt: dt must be a finite number"),
    ("--dt", "1ms", r"argument --dt: expected a number, got '1ms'"),
    ("--dt", "1e-12", r"argument --seconds: .*the step count is int32"),
    ("--dt", "5e-324", r"argument --seconds: .*the step count is int32"),
    ("--seconds", "0", r"argument --seconds: seconds must be a finite number > 0"),
    ("--seconds", "inf", r"argument --seconds: seconds must be a finite number > 0"),
    ("--seconds", "1e300", r"argument --seconds: .*the step count is int32"),
    ("--inputs", "0", r"argument --inputs: inputs must be an int >= 1"),
    ("--inputs", "2.5", r"argument --inputs: expected an integer, got '2.5'"),
    ("--rate", "-15", r"argument --rate: rate_hz must be a finite number > 0"),
    ("--rate", "2000", r"argument --rate: rate_hz must be <= 1 / dt = 1000 Hz"),
    ("--mu", "-0.5", r"argument --mu: mus must be a non-empty list of finite"),
    ("--mu", "nan", r"argument --mu: mus must be a non-empty list of finite"),
    ("--algorithm", "hebbian", r"argument --algorithm: algorithms must be distinct"),
    ("--seed", "-1", r"argument --seed: seeds must be an int >= 0"),
    ("--seed", str(2**32), r"argument --seed: seeds must be an int <= 4294967295"),
    ("--delay", "-1", r"argument --delay: delay must be an int >= 0"),
    ("--bogus", "1", r"unrecognized arguments: --bogus"),
]:
    case(
        f"cli/song2000{flag}={value}",
        f"`jstdp song2000 {flag} {value}`",
        UsageError,
        want,
    )(lambda flag=flag, value=value: cli("song2000", flag, value, "--json"))

for flag, value, want in [
    ("--kernels", "0", r"argument --kernels: kernels must be an int >= 1"),
    ("--presentations", "-3", r"argument --presentations: presentations must be an"),
    ("--seed", "-3", r"argument --seed: seed must be an int >= 0"),
]:
    case(
        f"cli/receptive-fields{flag}={value}",
        f"`jstdp receptive-fields {flag} {value}`",
        UsageError,
        want,
    )(lambda flag=flag, value=value: cli("receptive-fields", flag, value, "--json"))


@case(
    "cli/out-under-a-file",
    "`jstdp song2000 --out FILE/out` (a path under an existing file)",
    UsageError,
    r"--out .* cannot be written",
)
def _():
    import tempfile

    with tempfile.NamedTemporaryFile() as f:
        return cli("song2000", "--quick", "--out", f.name + "/out")


@case(
    "cli/no-command",
    "`jstdp`",
    UsageError,
    r"the following arguments are required: command",
)
def _():
    return cli()


@case("cli/unknown-command", "`jstdp train`", UsageError, r"invalid choice: 'train'")
def _():
    return cli("train")


# ------------------------------------------------------------------ plots --


@case(
    "plot/histogram-w_min-ge-w_max",
    "`weight_histogram(w, w_min=1, w_max=1)`",
    ValueError,
    r"w_min must be < w_max",
)
def _():
    return jstdp.plot.weight_histogram(np.ones(3), w_min=1.0, w_max=1.0)


@case(
    "plot/histogram-nan",
    "`weight_histogram` of weights with a NaN",
    works="works: the NaN is not counted (check weights with `check_finite`)",
    check=lambda ax: sum(bar.get_height() for bar in ax.containers[0]) == 1,
)
def _():
    return jstdp.plot.weight_histogram(np.array([0.5, np.nan]))


@case(
    "plot/raster-rank-1",
    "`raster` of a `(T,)` array",
    ValueError,
    r"spikes must have shape \(T, N\)",
)
def _():
    return jstdp.plot.raster(np.ones(3))


@case(
    "plot/window-length-mismatch",
    "`stdp_window` with 3 lags and 4 changes",
    ValueError,
    r"lags_s and dw must be 1-D of the same length",
)
def _():
    return jstdp.plot.stdp_window(np.ones(3), np.ones(4))


@case(
    "plot/mosaic-4-channels",
    "`kernel_mosaic` of `(2, 4, 3, 3)` kernels",
    ValueError,
    r"kernels must have shape \(C_out, C_in, kh, kw\) with C_in in 1, 2, 3",
)
def _():
    return jstdp.plot.kernel_mosaic(np.ones((2, 4, 3, 3)))


@case(
    "plot/mosaic-ncols-zero",
    "`kernel_mosaic(..., ncols=0)`",
    ValueError,
    r"ncols must be >= 1",
)
def _():
    return jstdp.plot.kernel_mosaic(np.ones((2, 1, 3, 3)), ncols=0)


# -------------------------------------------------------- opt-in checks --


@case(
    "validate/negative-eta",
    "`validate_parameters(STDPParameters(eta_plus=-1))`",
    ValueError,
    r"STDPParameters.eta_plus must be >= 0",
)
def _():
    return jstdp.validate_parameters(STDPParameters(eta_plus=-1.0))


@case(
    "validate/lif-v_th-below-v_reset",
    "`validate_parameters(LIFParameters(v_th=-1))`",
    ValueError,
    r"LIFParameters.v_reset must be < v_th",
)
def _():
    return jstdp.validate_parameters(LIFParameters(v_th=-1.0))


@case(
    "check_finite/nan-weights",
    '`check_finite(jnp.array([0.5, nan]), "w")`',
    FloatingPointError,
    r"w has 1 non-finite values",
)
def _():
    return jstdp.check_finite(jnp.array([0.5, jnp.nan]), "w")


# -------------------------------------------------------------------- tests --


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input(c: Case):
    """The case raises its error (naming the argument), or works as checked."""
    if c.raises is not None:
        with pytest.raises(c.raises, match=c.match):
            jax.block_until_ready(c.call())
        return
    assert c.check is not None, "a working case must check its result"
    if c.warns is not None:
        with pytest.warns(c.warns, match=c.match):
            out = c.call()
    else:
        out = c.call()
    assert c.check(out) in (None, True)


SECTIONS = {
    "linear": "`stdp_step_linear` (and what every step shares)",
    "params": "`STDPParameters`, `STDPState`",
    "conv": "`stdp_step_conv2d`",
    "lif": "Neurons: `lif_feed_forward_step`, `ConductanceLIFParameters.step`",
    "poisson": "Encoders: `poisson_step`, `poisson_encode`",
    "run": "Closed loops: `run_linear` / `run_conv2d`",
    "simulate": "Open loops: `simulate_linear` / `simulate_conv2d`",
    "sweep": "Sweeps: `parameter_grid`, `run_sweep`",
    "nn": "Flax layers: `jstdp.nn.STDPLinear`, `STDPConv2d`",
    "interop": "`jstdp.interop` (torch, Norse)",
    "plot": "`jstdp.plot`",
    "cli": "The `jstdp` command",
    "validate": "`validate_parameters`",
    "check_finite": "`check_finite`",
}
MARKER = "## Cases"


def outcome(c: Case) -> str:
    """What the case gets, as a table cell: its documented result or error."""
    if c.raises is None:
        return c.works
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            jax.block_until_ready(c.call())
    except c.raises as e:
        msg = re.sub(r" at 0x[0-9a-f]+", "", str(e).strip().splitlines()[0])
        msg = msg if len(msg) <= 200 else msg[:197] + "..."
        quoted = f"`` {msg} ``" if "`" in msg else f"`{msg}`"
        kind = "exit 2" if c.raises is UsageError else type(e).__name__
        return f"{kind}: {quoted}".replace("|", "\\|")
    raise AssertionError(f"{c.id} did not raise {c.raises.__name__}")


def write_docs() -> None:
    """Regenerate the tables of docs/bad_inputs.md (the prose above stays)."""
    prose = DOCS.read_text().split(MARKER)[0]
    works = sum(c.raises is None for c in CASES)
    lines = [
        MARKER,
        "",
        f"{len(CASES)} cases: {works} work, {len(CASES) - works} raise.",
    ]
    for section, title in SECTIONS.items():
        lines += ["", f"### {title}", "", "| case | input | outcome |", "|---|---|---|"]
        lines += [
            f"| `{c.id}` | {c.what} | {outcome(c)} |"
            for c in CASES
            if c.id.split("/")[0] == section
        ]
    DOCS.write_text(prose + "\n".join(lines) + "\n")


def test_table_is_documented():
    """docs/bad_inputs.md has one row per case, with its input and outcome kind.

    Regenerate it with ``python tests/test_bad_inputs.py``.
    """
    rows = {}
    for line in DOCS.read_text().splitlines():
        m = re.match(r"\| `([^`]+)` \| (.*) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2), m.group(3)
    assert sorted(rows) == sorted(c.id for c in CASES)
    assert {c.id.split("/")[0] for c in CASES} <= set(SECTIONS)
    for c in CASES:
        what, got = rows[c.id]
        assert what == c.what, c.id
        if c.raises is None:
            assert got == c.works, c.id
        else:
            kind = "exit 2" if c.raises is UsageError else c.raises.__name__
            assert got.startswith(kind + ": "), (c.id, got)


if __name__ == "__main__":
    write_docs()
