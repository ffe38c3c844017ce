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
from jstdp import (
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
    call: Callable[[], Any]
    raises: type[BaseException] | None = None
    match: str | None = None  # the message must name the argument
    warns: type[Warning] | None = None
    check: Callable[[Any], None] | None = None  # what "works" means here


CASES: list[Case] = []


def case(id: str, raises=None, match=None, warns=None, check=None):
    """Register the decorated zero-argument call as a case."""

    def register(call):
        CASES.append(Case(id, call, raises, match, warns, check))
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


@case("linear/z_pre-rank-1", ValueError, r"z_pre must have rank 2")
def _():
    return linear(z_pre=np.zeros(N_PRE))


@case("linear/z_post-rank-3", ValueError, r"z_post must have rank 2")
def _():
    return linear(z_post=np.zeros((1, B, N_POST)))


@case("linear/w-rank-3", ValueError, r"w must have rank 2")
def _():
    return linear(w=jnp.zeros((1, N_POST, N_PRE)))


@case("linear/w-transposed", ValueError, r"w must have shape \(4, 3\)")
def _():
    return linear(w=jnp.zeros((N_PRE, N_POST)))


@case("linear/batch-mismatch", ValueError, r"z_post must have shape \(2, 4\)")
def _():
    return linear(z_post=np.zeros((B + 1, N_POST)))


@case("linear/state-swapped", ValueError, r"state_stdp.t_pre must have shape")
def _():
    s = linear_args()["state_stdp"]
    return linear(state_stdp=STDPState(s.t_post, s.t_pre))


@case("linear/state-tuple", TypeError, r"state_stdp must be jstdp.STDPState")
def _():
    s = linear_args()["state_stdp"]
    return linear(state_stdp=(s.t_pre, s.t_post))


@case("linear/state-none", TypeError, r"state_stdp must be jstdp.STDPState")
def _():
    return linear(state_stdp=None)


@case("linear/p-dict", TypeError, r"p_stdp must be jstdp.STDPParameters")
def _():
    return linear(p_stdp={"eta_plus": 0.1})


@case("linear/p-none", check=same_as(lambda: linear(p_stdp=STDPParameters())))
def _():
    return linear(p_stdp=None)


@case("linear/dt-zero", ValueError, r"dt must be")
def _():
    return linear(dt=0.0)


@case("linear/dt-negative", ValueError, r"dt must be")
def _():
    return linear(dt=-1e-3)


@case("linear/dt-nan", ValueError, r"dt must be")
def _():
    return linear(dt=float("nan"))


@case("linear/dt-inf", ValueError, r"dt must be")
def _():
    return linear(dt=float("inf"))


@case("linear/dt-vector", ValueError, r"dt must be a scalar")
def _():
    return linear(dt=np.full(N_PRE, 1e-3))


@case("linear/dt-string", TypeError, r"dt")
def _():
    return linear(dt="1ms")


@case("linear/dt-int", check=same_as(lambda: linear(dt=1.0, p_stdp=slow())))
def _():
    return linear(dt=1, p_stdp=slow())


def slow() -> STDPParameters:
    """Parameters for which dt = 1 s does not overshoot."""
    return STDPParameters(tau_pre_inv=0.5, tau_post_inv=0.5, eta_plus=0.1)


@case("linear/w-int", TypeError, r"w must have a floating dtype")
def _():
    return linear(w=np.ones((N_POST, N_PRE), np.int32))


@case("linear/w-complex", TypeError, r"w must have a floating dtype")
def _():
    return linear(w=np.ones((N_POST, N_PRE), np.complex64))


@case("linear/w-bfloat16", check=dtypes_are("bfloat16", "bfloat16", "bfloat16"))
def _():
    return linear(w=jnp.full((N_POST, N_PRE), 0.5, jnp.bfloat16))


@case("linear/w-float16", check=dtypes_are("float16", "float16", "float16"))
def _():
    return linear(w=jnp.full((N_POST, N_PRE), 0.5, jnp.float16))


@case("linear/spikes-bool", check=same_as(linear))
def _():
    a = linear_args()
    return linear(z_pre=a["z_pre"] > 0, z_post=a["z_post"] > 0)


@case("linear/spikes-int", check=same_as(linear))
def _():
    a = linear_args()
    return linear(z_pre=a["z_pre"].astype(np.int8), z_post=a["z_post"].astype(int))


@case("linear/spikes-uint8", check=same_as(linear))
def _():
    a = linear_args()
    return linear(z_pre=a["z_pre"].astype(np.uint8), z_post=a["z_post"])


@case("linear/spikes-float64-numpy", check=same_as(linear))
def _():
    a = linear_args()
    return linear(z_pre=a["z_pre"].astype(np.float64), z_post=a["z_post"])


@case("linear/python-lists", check=same_as(linear))
def _():
    a = linear_args()
    return linear(
        z_pre=a["z_pre"].tolist(), z_post=a["z_post"].tolist(), w=a["w"].tolist()
    )


@case("linear/numpy-arrays", check=same_as(linear))
def _():
    return linear(w=np.asarray(linear_args()["w"]))


@case("linear/spikes-complex", TypeError, r"z_pre must be real")
def _():
    return linear(z_pre=linear_args()["z_pre"].astype(np.complex64))


@case("linear/spikes-graded", check=all_finite)
def _():
    return linear(z_pre=np.full((B, N_PRE), 0.5), z_post=np.full((B, N_POST), 2.0))


@case(
    "linear/empty-batch",
    check=lambda out: np.testing.assert_array_equal(out[0], linear_args()["w"]),
)
def _():
    z0 = np.zeros((0, N_PRE)), np.zeros((0, N_POST))
    return linear(z_pre=z0[0], z_post=z0[1], state_stdp=STDPState.zeros_like(*z0))


@case("linear/empty-layer", check=lambda out: out[0].shape == (N_POST, 0))
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


@case("linear/eta-nan", ValueError, r"eta_plus")
def _():
    return linear(p_stdp=with_p(eta_plus=float("nan")))


@case("linear/eta-inf", ValueError, r"eta_minus")
def _():
    return linear(p_stdp=with_p(eta_minus=float("inf")))


@case("linear/w_min-nan", ValueError, r"w_min")
def _():
    return linear(p_stdp=with_p(w_min=float("nan")))


@case("linear/w_max-inf", ValueError, r"w_max")
def _():
    return linear(p_stdp=with_p(w_max=float("inf")))


@case("linear/tau-nan-array", ValueError, r"tau_pre_inv")
def _():
    return linear(p_stdp=with_p(tau_pre_inv=jnp.array(jnp.nan)))


@case("linear/w_min-ge-w_max", ValueError, r"w_min must be < w_max")
def _():
    return linear(p_stdp=with_p(w_min=1.0, w_max=1.0))


@case("linear/eta-negative", check=all_finite)
def _():
    # Anti-Hebbian learning: allowed by the step (as Norse); rejected by
    # validate_parameters.
    return linear(p_stdp=with_p(eta_plus=-0.1))


@case("linear/eta-string", TypeError, r"p_stdp.eta_plus")
def _():
    return linear(p_stdp=with_p(eta_plus="fast"))


@case("linear/eta-wrong-shape", ValueError, r"p_stdp.eta_plus")
def _():
    return linear(p_stdp=with_p(eta_plus=jnp.full(5, 0.1)))


@case(
    "linear/eta-per-synapse",
    check=same_as(lambda: linear(p_stdp=with_p(eta_plus=0.1))),
)
def _():
    return linear(p_stdp=with_p(eta_plus=jnp.full((N_POST, N_PRE), 0.1)))


@case("linear/a-per-neuron", check=same_as(lambda: linear(p_stdp=with_p(a_pre=0.5))))
def _():
    return linear(p_stdp=with_p(a_pre=jnp.full((B, N_PRE), 0.5)))


@case(
    "linear/overshoot-warns",
    warns=RuntimeWarning,
    match=r"dt \* tau_pre_inv = 2 >= 1",
    check=all_finite,
)
def _():
    return linear(p_stdp=with_p(tau_pre_inv=2000.0))


@case("linear/x64-numpy-float64-params", check=dtypes_are(*3 * ["float32"]))
def _():
    with jax.enable_x64(True):
        p = with_p(eta_plus=np.float64(0.1), w_max=np.array(1.0), a_pre=np.float64(1))
        a = linear_args(p_stdp=p)
        return jax.block_until_ready(jstdp.stdp_step_linear(**a))


@case("linear/x64-float64-traces", check=dtypes_are(*3 * ["float32"]))
def _():
    with jax.enable_x64(True):
        a = linear_args()
        s = a["state_stdp"]
        a["state_stdp"] = STDPState(
            *(jnp.asarray(t, jnp.float64) for t in (s.t_pre, s.t_post))
        )
        return jax.block_until_ready(jstdp.stdp_step_linear(**a))


@case("linear/x64-scan-carry", check=dtypes_are(*3 * ["float32"]))
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
    ValueError,
    r"stdp_algorithm must be one of additive, additive_step, multiplicative_pow, "
    r"multiplicative_relu",
)
def _():
    return STDPParameters(stdp_algorithm="hebbian")


@case("params/hardbound-int", TypeError, r"hardbound must be a bool")
def _():
    return STDPParameters(hardbound=1)


@case("params/stride-zero", ValueError, r"stride must be an int >= 1")
def _():
    return STDPParameters(stride=0)


@case("params/padding-negative", ValueError, r"padding must be an int >= 0")
def _():
    return STDPParameters(padding=-1)


@case("params/dilation-zero", ValueError, r"dilation must be an int >= 1")
def _():
    return STDPParameters(dilation=(1, 0))


@case("params/stride-float", ValueError, r"stride must be an int")
def _():
    return STDPParameters(stride=1.0)


@case("params/stride-bool", ValueError, r"stride must be an int")
def _():
    return STDPParameters(stride=True)


@case("params/padding-triple", ValueError, r"padding must be an int")
def _():
    return STDPParameters(padding=(1, 1, 1))


@case("params/stride-numpy-int", check=lambda p: p.stride == (2, 2))
def _():
    return STDPParameters(stride=np.int64(2))


@case("params/decay-shape-mismatch", ValueError, r"z_pre")
def _():
    s = STDPState.zeros_like(np.zeros((B, N_PRE)), np.zeros((B, N_POST)))
    return s.decay(np.zeros((B, N_POST)), np.zeros((B, N_POST)), 20.0, 20.0, 1.0, 1.0)


# -------------------------------------------------------------- conv2d step --


@case("conv/z_pre-rank-3", ValueError, r"z_pre must have rank 4")
def _():
    return conv(z_pre=np.zeros((2, 5, 5)))


@case("conv/w-rank-2", ValueError, r"w must have rank 4")
def _():
    return conv(w=jnp.zeros((3, 2)))


@case("conv/channels-mismatch", ValueError, r"w must have shape \(3, 2, 3, 3\)")
def _():
    return conv(w=jnp.zeros((3, 1, 3, 3)))


@case("conv/z_post-wrong-size", ValueError, r"z_post must have shape \(2, 3, 3, 3\)")
def _():
    return conv(z_post=np.zeros((B, 3, 5, 5)))


@case(
    "conv/z_post-ignores-stride", ValueError, r"z_post must have shape \(2, 3, 2, 2\)"
)
def _():
    return conv(p_stdp=STDPParameters(stride=2))


@case("conv/state-shape", ValueError, r"state_stdp.t_post must have shape")
def _():
    a = conv_args()
    return conv(state_stdp=STDPState(a["state_stdp"].t_pre, jnp.zeros((B, 3, 5, 5))))


@case(
    "conv/kernel-larger-than-input",
    ValueError,
    r"kernel \(7, 7\) .* larger than the padded input",
)
def _():
    return conv(w=jnp.zeros((3, 2, 7, 7)))


@case(
    "conv/dilation-empties-output",
    ValueError,
    r"kernel \(3, 3\) with dilation \(3, 3\)",
)
def _():
    return conv(p_stdp=STDPParameters(dilation=3))


@case(
    "conv/stride-larger-than-input",
    check=lambda out: out[1].t_post.shape == (B, 3, 1, 1),
)
def _():
    z_post = np.ones((B, 3, 1, 1), np.float32)
    a = conv_args()
    return conv(
        z_post=z_post,
        state_stdp=STDPState.zeros_like(a["z_pre"], z_post),
        p_stdp=STDPParameters(stride=100),
    )


@case("conv/padding-larger-than-kernel", check=all_finite)
def _():
    z_post = np.ones((B, 3, 9, 9), np.float32)
    a = conv_args()
    return conv(
        z_post=z_post,
        state_stdp=STDPState.zeros_like(a["z_pre"], z_post),
        p_stdp=STDPParameters(padding=3),
    )


@case("conv/spikes-bool", check=same_as(conv))
def _():
    a = conv_args()
    return conv(z_pre=a["z_pre"] > 0, z_post=a["z_post"] > 0)


@case("conv/dt-negative", ValueError, r"dt must be")
def _():
    return conv(dt=-1.0)


@case("conv/unfold_method-unknown", ValueError, r"unfold_method must be one of")
def _():
    return jstdp.stdp_step_conv2d(**conv_args(), unfold_method="im2col")


@case(
    "conv/empty-batch",
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


@case("conv/unfold-patches", check=same_as(lambda: conv(p_stdp=strided()), 1e-6))
def _():
    return jstdp.stdp_step_conv2d(
        **conv_args(p_stdp=strided()), unfold_method="patches"
    )


# ----------------------------------------------------------------- neurons --


def lif_state():
    return LIFParameters().initial_state((B, N_POST))


@case("lif/p-wrong-type", TypeError, r"p must be jstdp.LIFParameters")
def _():
    return jstdp.lif_feed_forward_step(
        np.ones((B, N_POST)), lif_state(), STDPParameters()
    )


@case("lif/state-wrong-type", TypeError, r"state must be jstdp.LIFFeedForwardState")
def _():
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST)), (0.0, 0.0))


@case("lif/state-int", TypeError, r"state.v must have a floating dtype")
def _():
    state = LIFFeedForwardState(
        jnp.zeros((B, N_POST), int), jnp.zeros((B, N_POST), int)
    )
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST)), state)


@case("lif/method-unknown", ValueError, r"method must be one of super, heaviside")
def _():
    return LIFParameters(method="sigmoid")


@case("lif/dt-negative", ValueError, r"dt must be")
def _():
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST)), lif_state(), dt=-1e-3)


@case("lif/input-wrong-shape", ValueError, r"input_current")
def _():
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST + 1)), lif_state())


@case("poisson/seq_length-negative", ValueError, r"seq_length must be >= 0")
def _():
    return jstdp.poisson_encode(jax.random.key(0), np.ones(3), -1)


@case("poisson/seq_length-float", TypeError, r"seq_length must be an int")
def _():
    return jstdp.poisson_encode(jax.random.key(0), np.ones(3), 10.0)


@case("poisson/key-int", TypeError, r"key")
def _():
    return jstdp.poisson_step(0, np.ones(3))


@case("poisson/negative-rates", check=lambda z: np.testing.assert_array_equal(z, 0.0))
def _():
    return jstdp.poisson_step(jax.random.key(0), np.full(5, -10.0))


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
    "run/inputs-rank-2", ValueError, r"input spikes must have shape \(batch, n_pre=3\)"
)
def _():
    return run(inputs=np.zeros((T, N_PRE)))


@case("run/inputs-wrong-n_pre", ValueError, r"n_pre=3")
def _():
    return run(inputs=np.zeros((T, B, N_PRE + 1)))


@case("run/poisson-without-steps", ValueError, r"steps must be an int >= 0")
def _():
    return run(inputs=PoissonInput(np.full((B, N_PRE), 10.0)), key=jax.random.key(0))


@case("run/poisson-without-key", ValueError, r"key .* is required")
def _():
    return run(inputs=PoissonInput(np.full((B, N_PRE), 10.0)), steps=3)


@case("run/key-with-spike-array", ValueError, r"key is only used with PoissonInput")
def _():
    return run(key=jax.random.key(0))


@case("run/steps-disagrees-with-T", ValueError, r"T = steps = 7")
def _():
    return run(steps=7)


@case("run/record_every-zero", ValueError, r"record_every must be None or an int >= 1")
def _():
    return run(record_every=0)


@case("run/chunk_steps-bool", ValueError, r"chunk_steps must be None or an int >= 1")
def _():
    return run(chunk_steps=True)


@case("run/state-wrong-type", TypeError, r"state must be jstdp.RunState")
def _():
    return run(state=STDPState.zeros_like(np.zeros((B, N_PRE)), np.zeros((B, N_POST))))


@case("run/p_neuron-without-step", TypeError, r"p_neuron must have")
def _():
    return run(p_neuron=STDPParameters())


@case("run/p_stdp-wrong-type", TypeError, r"p_stdp must be jstdp.STDPParameters")
def _():
    return run(p_stdp=LIFParameters())


@case("run/dt-zero", ValueError, r"dt must be")
def _():
    return run(dt=0.0)


@case("run/zero-steps", check=lambda out: np.testing.assert_array_equal(out[0], 0.5))
def _():
    return run(inputs=np.zeros((0, B, N_PRE)))


@case(
    "run/record_every-longer-than-T",
    check=lambda out: out[2].w.shape == (0, N_POST, N_PRE),
)
def _():
    return run(record_every=T + 1)


@case("run/x64-numpy-float64-params", check=lambda out: out[0].dtype == jnp.float32)
def _():
    with jax.enable_x64(True):
        p = STDPParameters(eta_plus=np.float64(1e-2), tau_pre_inv=np.float64(20.0))
        lif = LIFParameters(tau_mem_inv=np.float64(100.0))
        return jax.block_until_ready(
            run(w=jnp.full((N_POST, N_PRE), 0.5, jnp.float32), p_stdp=p, p_neuron=lif)
        )


@case("simulate/length-mismatch", ValueError, r"same length T")
def _():
    return jstdp.simulate_linear(
        spikes_seq((B, N_PRE)),
        np.zeros((T + 1, B, N_POST)),
        jnp.full((N_POST, N_PRE), 0.5),
    )


@case("simulate/conv-rank", ValueError, r"z_pre_seq must have rank 5")
def _():
    return jstdp.simulate_conv2d(
        np.zeros((T, B, 5, 5)), np.zeros((T, B, 3, 3, 3)), jnp.zeros((3, 2, 3, 3))
    )


# ------------------------------------------------------------------ sweeps --


@case("sweep/unknown-field", ValueError, r"has no numeric field 'eta'")
def _():
    return jstdp.parameter_grid(STDPParameters(), eta=[1e-3])


@case("sweep/static-field", ValueError, r"stdp_algorithm is a static field")
def _():
    return jstdp.parameter_grid(STDPParameters(), stdp_algorithm=["additive"])


@case("sweep/empty-values", ValueError, r"eta_plus must be a non-empty list")
def _():
    return jstdp.parameter_grid(STDPParameters(), eta_plus=[])


@case("sweep/zip-lengths", ValueError, r"mode='zip' needs lists of equal length")
def _():
    return jstdp.parameter_grid(STDPParameters(), "zip", eta_plus=[1, 2], mu=[1])


@case("sweep/base-not-dataclass", TypeError, r"base must be a flax.struct")
def _():
    return jstdp.parameter_grid({"eta_plus": 1.0}, eta_plus=[1.0])


@case("sweep/unstacked", ValueError, r"stacked must be a pytree whose leaves all share")
def _():
    return jstdp.run_sweep(lambda p: p.eta_plus, STDPParameters())


@case(
    "sweep/grid-w_min-ge-w_max", ValueError, r"w_min=2 at index \(1,\) of shape \(2,\)"
)
def _():
    # run_sweep traces the grid (its values are not checked there): validate
    # the concrete grid first.
    grid, _ = jstdp.parameter_grid(STDPParameters(), w_min=[0.0, 2.0])
    return jstdp.validate_parameters(grid)


# ------------------------------------------------------------------ layers --


@case("nn/in_features-zero", ValueError, r"in_features")
def _():
    return jstdp.nn.STDPLinear(0, 2, rngs=nnx.Rngs(0))


@case("nn/dtype-int", TypeError, r"dtype must be a floating dtype")
def _():
    return jstdp.nn.STDPLinear(3, 2, dtype=jnp.int32, rngs=nnx.Rngs(0))


@case("nn/dt-negative", ValueError, r"dt must be")
def _():
    return jstdp.nn.STDPLinear(3, 2, dt=-1.0, rngs=nnx.Rngs(0))


@case("nn/learning-int", TypeError, r"learning must be a bool")
def _():
    return jstdp.nn.STDPLinear(3, 2, learning=1, rngs=nnx.Rngs(0))


@case("nn/batch-mismatch", ValueError, r"z_pre must have shape \(1, 3\)")
def _():
    return jstdp.nn.STDPLinear(3, 2, rngs=nnx.Rngs(0))(np.ones((2, 3)))


@case("nn/conv-kernel-too-large", ValueError, r"larger than the padded input")
def _():
    return jstdp.nn.STDPConv2d(1, 1, 5, input_size=(3, 3), rngs=nnx.Rngs(0))


@case("nn/conv-input_size-triple", ValueError, r"input_size")
def _():
    return jstdp.nn.STDPConv2d(1, 1, 2, input_size=(3, 3, 3), rngs=nnx.Rngs(0))


# --------------------------------------------------------------- interop --


def norse_stdp():
    return pytest.importorskip("norse.torch.functional.stdp")


@case(
    "interop/to_norse-wrong-type", TypeError, r"to_norse expects jstdp.STDPParameters"
)
def _():
    norse_stdp()
    return jstdp.interop.to_norse({"eta_plus": 1.0})


@case("interop/from_norse-wrong-type", TypeError, r"from_norse expects norse")
def _():
    norse_stdp()
    return jstdp.interop.from_norse(STDPParameters())


@case(
    "interop/from_norse-reassigned-w_max", ValueError, r"reassigned after construction"
)
def _():
    p = norse_stdp().STDPParameters()
    p.w_max = 0.5  # Norse's clamp still uses the constructor's 1.0
    return jstdp.interop.from_norse(p)


@case("interop/compare-w-rank-3", ValueError, r"w must have rank 2 .* or 4")
def _():
    norse_stdp()
    return jstdp.interop.compare_with_norse(
        np.zeros((T, B, N_PRE)), np.zeros((T, B, N_POST)), np.zeros((1, N_POST, N_PRE))
    )


@case("interop/from_norse-nan-parameter", ValueError, r"p_stdp.eta_plus must be finite")
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
    ("--dt", "-1", r"argument --dt: expected a time step in \(0, 0.001\] s"),
    ("--dt", "0", r"argument --dt: expected a time step"),
    ("--dt", "0.01", r"argument --dt: expected a time step"),
    ("--dt", "nan", r"argument --dt: expected a time step"),
    ("--dt", "1ms", r"argument --dt: expected a time step"),
    ("--seconds", "0", r"argument --seconds: expected a number > 0"),
    ("--seconds", "inf", r"argument --seconds: expected a number > 0"),
    ("--inputs", "0", r"argument --inputs: expected an integer >= 1"),
    ("--inputs", "2.5", r"argument --inputs: expected an integer >= 1"),
    ("--rate", "-15", r"argument --rate: expected a number > 0"),
    ("--mu", "-0.5", r"argument --mu: expected a number >= 0"),
    ("--mu", "nan", r"argument --mu: expected a number >= 0"),
    ("--algorithm", "hebbian", r"argument --algorithm: invalid choice: 'hebbian'"),
    ("--seed", "-1", r"argument --seed: expected an integer in \[0, 2\*\*32\)"),
    ("--seed", str(2**32), r"argument --seed: expected an integer in"),
    ("--bogus", "1", r"unrecognized arguments: --bogus"),
]:
    case(f"cli/song2000{flag}={value}", UsageError, want)(
        lambda flag=flag, value=value: cli("song2000", flag, value, "--json")
    )

for flag, value, want in [
    ("--kernels", "0", r"argument --kernels: expected an integer >= 1"),
    ("--presentations", "-3", r"argument --presentations: expected an integer >= 1"),
]:
    case(f"cli/receptive-fields{flag}={value}", UsageError, want)(
        lambda flag=flag, value=value: cli("receptive-fields", flag, value, "--json")
    )


@case("cli/no-command", UsageError, r"the following arguments are required: command")
def _():
    return cli()


@case("cli/unknown-command", UsageError, r"invalid choice: 'train'")
def _():
    return cli("train")


# -------------------------------------------------------- opt-in checks --


@case("validate/negative-eta", ValueError, r"STDPParameters.eta_plus must be >= 0")
def _():
    return jstdp.validate_parameters(STDPParameters(eta_plus=-1.0))


@case(
    "validate/lif-v_th-below-v_reset",
    ValueError,
    r"LIFParameters.v_reset must be < v_th",
)
def _():
    return jstdp.validate_parameters(LIFParameters(v_th=-1.0))


@case("check_finite/nan-weights", FloatingPointError, r"w has 1 non-finite values")
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


def test_table_is_documented():
    """docs/bad_inputs.md has one row per case, with the same outcome."""
    rows = {}
    for line in DOCS.read_text().splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|.*\|\s*(.+?)\s*\|\s*$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    assert sorted(rows) == sorted(c.id for c in CASES)
    for c in CASES:
        outcome = rows[c.id]
        want = {None: "works", UsageError: "exit 2"}.get(c.raises)
        want = want or c.raises.__name__
        assert outcome.startswith(want), (c.id, outcome, want)
