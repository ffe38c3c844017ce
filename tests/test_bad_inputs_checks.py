"""Bad inputs to the opt-in checks (validate_parameters, check_finite)."""

from __future__ import annotations

import jax.numpy as jnp
import pytest
from bad_inputs import (
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
    LIFParameters,
    STDPParameters,
)

# -------------------------------------------------------- opt-in checks --


@case(
    "validate/negative-eta",
    "`validate_parameters(STDPParameters(eta_plus=-1))`",
    ValueError,
    r"STDPParameters.eta_plus must be >= 0",
)
def validate_negative_eta():
    return jstdp.validate_parameters(STDPParameters(eta_plus=-1.0))


@case(
    "validate/lif-v_th-below-v_reset",
    "`validate_parameters(LIFParameters(v_th=-1))`",
    ValueError,
    r"LIFParameters.v_reset must be < v_th",
)
def validate_lif_v_th_below_v_reset():
    return jstdp.validate_parameters(LIFParameters(v_th=-1.0))


@case(
    "check_finite/nan-weights",
    '`check_finite(jnp.array([0.5, nan]), "w")`',
    FloatingPointError,
    r"w has 1 non-finite values",
)
def check_finite_nan_weights():
    return jstdp.check_finite(jnp.array([0.5, jnp.nan]), "w")


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
