"""Bad inputs to jstdp.plot."""

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

# ------------------------------------------------------------------ plots --


@case(
    "plot/histogram-w_min-ge-w_max",
    "`weight_histogram(w, w_min=1, w_max=1)`",
    ValueError,
    r"w_min must be < w_max",
)
def plot_histogram_w_min_ge_w_max():
    return jstdp.plot.weight_histogram(np.ones(3), w_min=1.0, w_max=1.0)


@case(
    "plot/histogram-nan",
    "`weight_histogram` of weights with a NaN",
    works="works: the NaN is not counted (check weights with `check_finite`)",
    check=lambda ax: sum(bar.get_height() for bar in ax.containers[0]) == 1,
)
def plot_histogram_nan():
    return jstdp.plot.weight_histogram(np.array([0.5, np.nan]))


@case(
    "plot/raster-rank-1",
    "`raster` of a `(T,)` array",
    ValueError,
    r"spikes must have shape \(T, N\)",
)
def plot_raster_rank_1():
    return jstdp.plot.raster(np.ones(3))


@case(
    "plot/window-length-mismatch",
    "`stdp_window` with 3 lags and 4 changes",
    ValueError,
    r"lags_s and dw must be 1-D of the same length",
)
def plot_window_length_mismatch():
    return jstdp.plot.stdp_window(np.ones(3), np.ones(4))


@case(
    "plot/mosaic-4-channels",
    "`kernel_mosaic` of `(2, 4, 3, 3)` kernels",
    ValueError,
    r"kernels must have shape \(C_out, C_in, kh, kw\) with C_in in 1, 2, 3",
)
def plot_mosaic_4_channels():
    return jstdp.plot.kernel_mosaic(np.ones((2, 4, 3, 3)))


@case(
    "plot/mosaic-ncols-zero",
    "`kernel_mosaic(..., ncols=0)`",
    ValueError,
    r"ncols must be >= 1",
)
def plot_mosaic_ncols_zero():
    return jstdp.plot.kernel_mosaic(np.ones((2, 1, 3, 3)), ncols=0)


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
