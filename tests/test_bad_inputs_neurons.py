"""Bad inputs to neurons and encoders."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bad_inputs import (
    N_POST,
    B,
    Case,
    case,
    cases_of,
    check_case,
)

import jstdp
import jstdp.cli
import jstdp.interop
import jstdp.nn
import jstdp.plot
from jstdp import (
    ConductanceLIFParameters,
    LIFFeedForwardState,
    LIFParameters,
    STDPParameters,
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
def lif_p_wrong_type():
    return jstdp.lif_feed_forward_step(
        np.ones((B, N_POST)), lif_state(), STDPParameters()
    )


@case(
    "lif/state-wrong-type",
    "state a tuple",
    TypeError,
    r"state must be jstdp.LIFFeedForwardState",
)
def lif_state_wrong_type():
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST)), (0.0, 0.0))


@case("lif/state-int", "int state", TypeError, r"state.v must have a floating dtype")
def lif_state_int():
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
def lif_method_unknown():
    return LIFParameters(method="sigmoid")


@case("lif/dt-negative", "`dt=-1e-3`", ValueError, r"dt must be")
def lif_dt_negative():
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST)), lif_state(), dt=-1e-3)


@case(
    "lif/input-wrong-shape",
    "input current `(2, 5)` for a `(2, 4)` state",
    ValueError,
    r"input_current",
)
def lif_input_wrong_shape():
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST + 1)), lif_state())


@case(
    "lif/conductance-drive-shape",
    "`ConductanceLIFParameters.step` with a `(2, 5)` drive for a `(2, 4)` state",
    ValueError,
    r"drive of shape \(2, 5\) must broadcast to the neuron state's shape \(2, 4\)",
)
def lif_conductance_drive_shape():
    p = ConductanceLIFParameters()
    return p.step(np.ones((B, N_POST + 1)), p.initial_state((B, N_POST)))


@case(
    "lif/conductance-state-wrong-type",
    "`ConductanceLIFParameters.step` with a LIF state",
    TypeError,
    r"state must be jstdp.ConductanceLIFState",
)
def lif_conductance_state_wrong_type():
    return ConductanceLIFParameters().step(np.ones((B, N_POST)), lif_state())


@case(
    "poisson/seq_length-negative",
    "`poisson_encode(..., seq_length=-1)`",
    ValueError,
    r"seq_length must be an int >= 0",
)
def poisson_seq_length_negative():
    return jstdp.poisson_encode(jax.random.key(0), np.ones(3), -1)


@case(
    "poisson/seq_length-float",
    "`seq_length=10.0`",
    TypeError,
    r"seq_length must be an int",
)
def poisson_seq_length_float():
    return jstdp.poisson_encode(jax.random.key(0), np.ones(3), 10.0)


@case(
    "poisson/key-int", "`poisson_step(0, ...)` (an int, not a key)", TypeError, r"key"
)
def poisson_key_int():
    return jstdp.poisson_step(0, np.ones(3))


@case(
    "poisson/negative-rates",
    "negative rates",
    works="works: no spikes",
    check=lambda z: np.testing.assert_array_equal(z, 0.0),
)
def poisson_negative_rates():
    return jstdp.poisson_step(jax.random.key(0), np.full(5, -10.0))


@case(
    "poisson/nan-rates",
    "`poisson_step` with NaN rates",
    works="works: no spikes (`u < nan` is false); `run_*` reject NaN rates",
    check=lambda z: np.testing.assert_array_equal(z, 0.0),
)
def poisson_nan_rates():
    return jstdp.poisson_step(jax.random.key(0), np.full(5, np.nan))


@case(
    "lif/nan-parameter",
    "`lif_feed_forward_step` with `tau_mem_inv=nan`",
    works="works: NaN propagates into `v` (no spike); `check_finite` finds it",
    check=lambda out: np.testing.assert_array_equal(np.isnan(out[1].v), True),
)
def lif_nan_parameter():
    p = LIFParameters(tau_mem_inv=float("nan"))
    return jstdp.lif_feed_forward_step(np.ones((B, N_POST)), lif_state(), p)


@case(
    "lif/parameter-complex",
    "`LIFParameters(v_th=1+1j)`",
    TypeError,
    r"LIFParameters.v_th must be real, got complex",
)
def lif_parameter_complex():
    s = LIFParameters().initial_state((2, 3))
    return jstdp.lif_feed_forward_step(jnp.ones((2, 3)), s, LIFParameters(v_th=1 + 1j))


@case(
    "lif/drive-complex",
    "complex input current",
    TypeError,
    r"input_current must be real",
)
def lif_drive_complex():
    s = LIFParameters().initial_state((2, 3))
    return jstdp.lif_feed_forward_step(jnp.ones((2, 3), jnp.complex64), s)


@case(
    "poisson/rates-complex",
    "`poisson_step` with complex rates",
    TypeError,
    r"rates_hz must be real",
)
def poisson_rates_complex():
    return jstdp.poisson_step(jax.random.key(0), jnp.ones(3, jnp.complex64))


@case(
    "poisson/seq_length-numpy",
    "`seq_length=np.int64(4)`",
    works="works: the same as `seq_length=4`",
    check=lambda z: z.shape == (4, 3),
)
def poisson_seq_length_numpy():
    return jstdp.poisson_encode(jax.random.key(0), np.ones(3), np.int64(4))


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
