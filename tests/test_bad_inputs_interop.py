"""Bad inputs to jstdp.interop (torch, Norse)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from bad_inputs import (
    N_POST,
    N_PRE,
    B,
    Case,
    T,
    case,
    cases_of,
    check_case,
    linear,
)

import jstdp
import jstdp.cli
import jstdp.interop
import jstdp.nn
import jstdp.plot
from jstdp import (
    STDPParameters,
)

# --------------------------------------------------------------- interop --


def norse_stdp():
    return pytest.importorskip("norse.torch.functional.stdp")


@case(
    "interop/to_norse-wrong-type",
    "`to_norse(dict)`",
    TypeError,
    r"to_norse expects jstdp.STDPParameters",
)
def interop_to_norse_wrong_type():
    norse_stdp()
    return jstdp.interop.to_norse({"eta_plus": 1.0})


@case(
    "interop/from_norse-wrong-type",
    "`from_norse(jstdp.STDPParameters())`",
    TypeError,
    r"from_norse expects norse",
)
def interop_from_norse_wrong_type():
    norse_stdp()
    return jstdp.interop.from_norse(STDPParameters())


@case(
    "interop/from_norse-reassigned-w_max",
    "Norse parameters whose `w_max` was reassigned after construction",
    ValueError,
    r"reassigned after construction",
)
def interop_from_norse_reassigned_w_max():
    p = norse_stdp().STDPParameters()
    p.w_max = 0.5  # Norse's clamp still uses the constructor's 1.0
    return jstdp.interop.from_norse(p)


@case(
    "interop/compare-w-rank-3",
    "`compare_with_norse` with a rank-3 `w`",
    ValueError,
    r"w must have rank 2 .* or 4",
)
def interop_compare_w_rank_3():
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
def interop_from_norse_nan_parameter():
    torch = pytest.importorskip("torch")
    p = jstdp.interop.from_norse(
        norse_stdp().STDPParameters(eta_plus=torch.tensor(float("nan")))
    )
    return linear(p_stdp=p)


@case(
    "interop/to_torch-dtype-string",
    '`to_torch(w, "float32")`',
    TypeError,
    r"dtype must be a torch.dtype \(e.g. torch.float32\), got 'float32'",
)
def interop_to_torch_dtype_string():
    return jstdp.interop.to_torch(jnp.ones(3), "float32")


@case(
    "interop/compare-zero-steps",
    "`compare_with_norse` with `T = 0`",
    works="works: all differences 0",
    check=lambda d: max(d) == 0.0,
)
def interop_compare_zero_steps():
    z = np.zeros((0, B, N_PRE))
    w = jnp.full((N_POST, N_PRE), 0.5)
    return jstdp.interop.compare_with_norse(z, np.zeros((0, B, N_POST)), w)


@case(
    "interop/compare-norse-parameters",
    "`compare_with_norse(p_stdp=<a Norse STDPParameters>)`",
    TypeError,
    r"p_stdp must be jstdp.STDPParameters, got norse.*from_norse",
)
def interop_compare_norse_parameters():
    from norse.torch.functional.stdp import STDPParameters as NorseParameters

    z = np.zeros((2, B, N_PRE))
    w = jnp.full((N_POST, N_PRE), 0.5)
    return jstdp.interop.compare_with_norse(
        z, np.zeros((2, B, N_POST)), w, p_stdp=NorseParameters()
    )


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
