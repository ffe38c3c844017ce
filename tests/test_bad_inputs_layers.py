"""Bad inputs to the Flax NNX layers."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from bad_inputs import (
    Case,
    case,
    cases_of,
    check_case,
)
from flax import nnx

import jstdp
import jstdp.cli
import jstdp.interop
import jstdp.nn
import jstdp.plot
from jstdp import (
    LIFParameters,
    STDPParameters,
)

# ------------------------------------------------------------------ layers --


@case("nn/in_features-zero", "`STDPLinear(0, 2)`", ValueError, r"in_features")
def nn_in_features_zero():
    return jstdp.nn.STDPLinear(0, 2, rngs=nnx.Rngs(0))


@case("nn/dtype-int", "`dtype=int32`", TypeError, r"dtype must be a floating dtype")
def nn_dtype_int():
    return jstdp.nn.STDPLinear(3, 2, dtype=jnp.int32, rngs=nnx.Rngs(0))


@case("nn/dt-negative", "`dt=-1`", ValueError, r"dt must be")
def nn_dt_negative():
    return jstdp.nn.STDPLinear(3, 2, dt=-1.0, rngs=nnx.Rngs(0))


@case("nn/learning-int", "`learning=1`", TypeError, r"learning must be a bool")
def nn_learning_int():
    return jstdp.nn.STDPLinear(3, 2, learning=1, rngs=nnx.Rngs(0))


@case(
    "nn/batch-mismatch",
    "a batch of 2 into a layer built for 1",
    ValueError,
    r"z_pre must have shape \(1, 3\)",
)
def nn_batch_mismatch():
    return jstdp.nn.STDPLinear(3, 2, rngs=nnx.Rngs(0))(np.ones((2, 3)))


@case(
    "nn/conv-kernel-too-large",
    "`STDPConv2d` 5x5 kernel on 3x3 input",
    ValueError,
    r"larger than the padded input",
)
def nn_conv_kernel_too_large():
    return jstdp.nn.STDPConv2d(1, 1, 5, input_size=(3, 3), rngs=nnx.Rngs(0))


@case("nn/conv-input_size-triple", "`input_size=(3, 3, 3)`", ValueError, r"input_size")
def nn_conv_input_size_triple():
    return jstdp.nn.STDPConv2d(1, 1, 2, input_size=(3, 3, 3), rngs=nnx.Rngs(0))


@case(
    "nn/nan-neuron-parameter",
    "`STDPLinear(p_neuron=LIFParameters(tau_mem_inv=nan))`",
    ValueError,
    r"LIFParameters.tau_mem_inv must be finite, got nan",
)
def nn_nan_neuron_parameter():
    p_neuron = LIFParameters(tau_mem_inv=float("nan"))
    return jstdp.nn.STDPLinear(3, 2, p_neuron=p_neuron, rngs=nnx.Rngs(0))


@case(
    "nn/negative-eta",
    "`STDPLinear(p_stdp=STDPParameters(eta_minus=-1e-3))`",
    ValueError,
    r"STDPParameters.eta_minus must be >= 0",
)
def nn_negative_eta():
    p = STDPParameters(eta_minus=-1e-3)
    return jstdp.nn.STDPLinear(3, 2, p_stdp=p, rngs=nnx.Rngs(0))


@case(
    "nn/overshooting-dt",
    "`STDPLinear(dt=0.01)` with the default LIF (`dt * tau_syn_inv = 2`)",
    ValueError,
    r"dt \* LIFParameters.tau_syn_inv must be < 1",
)
def nn_overshooting_dt():
    return jstdp.nn.STDPLinear(3, 2, dt=0.01, rngs=nnx.Rngs(0))


@case(
    "nn/learning-string-call",
    '`layer(z, learning="no")`',
    TypeError,
    r"learning must be a bool \(True or False\), got 'no'",
)
def nn_learning_string_call():
    layer = jstdp.nn.STDPLinear(3, 2, rngs=nnx.Rngs(0))
    return layer(jnp.ones((1, 3)), learning="no")


@case(
    "nn/dt-array",
    "`STDPLinear(dt=jnp.ones(3))`",
    ValueError,
    r"dt must be a scalar, got shape \(3,\)",
)
def nn_dt_array():
    return jstdp.nn.STDPLinear(3, 2, dt=jnp.ones(3) * 1e-3, rngs=nnx.Rngs(0))


@case(
    "nn/set_parameters-dt-array",
    "`set_parameters(dt=jnp.ones(3))`",
    ValueError,
    r"dt must be a scalar, got shape \(3,\)",
)
def nn_set_parameters_dt_array():
    layer = jstdp.nn.STDPLinear(3, 2, rngs=nnx.Rngs(0))
    return layer.set_parameters(dt=jnp.ones(3) * 1e-3)


@case(
    "nn/batch_size-none",
    "`STDPLinear(batch_size=None)`",
    TypeError,
    r"batch_size must be an int, got None",
)
def nn_batch_size_none():
    return jstdp.nn.STDPLinear(3, 2, batch_size=None, rngs=nnx.Rngs(0))


@case(
    "nn/rngs-int",
    "`STDPLinear(rngs=0)`",
    TypeError,
    r"rngs must be flax.nnx.Rngs, got int",
)
def nn_rngs_int():
    return jstdp.nn.STDPLinear(3, 2, rngs=0)


@case(
    "nn/sizes-numpy-int",
    "`STDPLinear(np.int64(3), np.int64(2))`",
    works="works: the same as Python ints",
    check=lambda layer: layer.w[...].shape == (2, 3),
)
def nn_sizes_numpy_int():
    return jstdp.nn.STDPLinear(np.int64(3), np.int64(2), rngs=nnx.Rngs(0))


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
