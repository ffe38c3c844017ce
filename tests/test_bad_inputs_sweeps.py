"""Bad inputs to parameter grids and sweeps."""

from __future__ import annotations

import numpy as np
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
    STDPParameters,
)

# ------------------------------------------------------------------ sweeps --


@case(
    "sweep/unknown-field",
    "`parameter_grid(..., eta=[...])`",
    ValueError,
    r"has no numeric field 'eta'",
)
def sweep_unknown_field():
    return jstdp.parameter_grid(STDPParameters(), eta=[1e-3])


@case(
    "sweep/static-field",
    "sweep over `stdp_algorithm`",
    ValueError,
    r"stdp_algorithm is a static field",
)
def sweep_static_field():
    return jstdp.parameter_grid(STDPParameters(), stdp_algorithm=["additive"])


@case(
    "sweep/empty-values",
    "`eta_plus=[]`",
    ValueError,
    r"eta_plus must be a non-empty list",
)
def sweep_empty_values():
    return jstdp.parameter_grid(STDPParameters(), eta_plus=[])


@case(
    "sweep/zip-lengths",
    '`mode="zip"`, lists of lengths 2 and 1',
    ValueError,
    r"mode='zip' needs lists of equal length",
)
def sweep_zip_lengths():
    return jstdp.parameter_grid(STDPParameters(), "zip", eta_plus=[1, 2], mu=[1])


@case(
    "sweep/base-not-dataclass",
    "`base` a dict",
    TypeError,
    r"base must be a flax.struct",
)
def sweep_base_not_dataclass():
    return jstdp.parameter_grid({"eta_plus": 1.0}, eta_plus=[1.0])


@case(
    "sweep/unstacked",
    "`run_sweep` on unstacked parameters",
    ValueError,
    r"stacked must be a pytree whose leaves all share",
)
def sweep_unstacked():
    return jstdp.run_sweep(lambda p: p.eta_plus, STDPParameters())


@case(
    "sweep/grid-w_min-ge-w_max",
    "a grid with `w_min >= w_max` in one entry, checked by `validate_parameters(grid)`",
    ValueError,
    r"w_min=2 at index \(1,\) of shape \(2,\)",
)
def sweep_grid_w_min_ge_w_max():
    # run_sweep traces the grid (its values are not checked there): validate
    # the concrete grid first.
    grid, _ = jstdp.parameter_grid(STDPParameters(), w_min=[0.0, 2.0])
    return jstdp.validate_parameters(grid)


@case(
    "sweep/scalar-not-list",
    "`parameter_grid(..., eta_plus=0.1)` (a scalar, not a list)",
    TypeError,
    r"eta_plus must be a list of values \(e.g. eta_plus=\[0.1, 0.2\]\), got 0.1",
)
def sweep_scalar_not_list():
    return jstdp.parameter_grid(STDPParameters(), eta_plus=0.1)


@case(
    "sweep/none-in-values",
    "`eta_plus=[0.1, None]`",
    TypeError,
    r"eta_plus\[1\] must be a real number or array, got None",
)
def sweep_none_in_values():
    return jstdp.parameter_grid(STDPParameters(), eta_plus=[0.1, None])


@case(
    "sweep/string-in-values",
    '`eta_plus=[0.1, "fast"]`',
    TypeError,
    r"eta_plus\[1\] must be a real number or array, got 'fast'",
)
def sweep_string_in_values():
    return jstdp.parameter_grid(STDPParameters(), eta_plus=[0.1, "fast"])


@case(
    "sweep/ragged-values",
    "`eta_plus=[[0.1, 0.2], 0.3]` (values of two shapes)",
    ValueError,
    r"eta_plus must hold values of one shape, got shapes \[\(\), \(2,\)\]",
)
def sweep_ragged_values():
    return jstdp.parameter_grid(STDPParameters(), eta_plus=[[0.1, 0.2], 0.3])


@case(
    "sweep/devices-empty",
    "`run_sweep(fn, grid, devices=[])`",
    ValueError,
    r"devices must be None or a non-empty sequence of jax.Device",
)
def sweep_devices_empty():
    return jstdp.run_sweep(lambda x: 2 * x, np.arange(2.0), devices=[])


@case(
    "sweep/devices-not-devices",
    '`run_sweep(fn, grid, devices=["cpu"])`',
    ValueError,
    r"devices must be None or a non-empty sequence of jax.Device",
)
def sweep_devices_not_devices():
    return jstdp.run_sweep(lambda x: 2 * x, np.arange(2.0), devices=["cpu"])


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
