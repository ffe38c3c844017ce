"""jstdp: Norse-exact spike-timing-dependent plasticity in JAX.

Public API (import from ``jstdp``); ``jstdp.interop`` (torch / Norse) is a
separate, optional module so that ``import jstdp`` never imports torch.
"""

from jstdp._checks import check_finite, validate_parameters
from jstdp._conv import stdp_step_conv2d
from jstdp._linear import stdp_step_linear
from jstdp._neurons import (
    ConductanceLIFParameters,
    ConductanceLIFState,
    LIFFeedForwardState,
    LIFParameters,
    lif_feed_forward_step,
    poisson_encode,
    poisson_step,
    superspike,
)
from jstdp._parameters import ALGORITHMS, STDPParameters, STDPState
from jstdp._simulate import (
    PoissonInput,
    Record,
    RunState,
    run_conv2d,
    run_linear,
    simulate_conv2d,
    simulate_linear,
)
from jstdp._sweep import parameter_grid, run_sweep

__version__ = "0.1.0"

__all__ = [
    "ALGORITHMS",
    "ConductanceLIFParameters",
    "ConductanceLIFState",
    "LIFFeedForwardState",
    "LIFParameters",
    "PoissonInput",
    "Record",
    "RunState",
    "STDPParameters",
    "STDPState",
    "check_finite",
    "lif_feed_forward_step",
    "parameter_grid",
    "poisson_encode",
    "poisson_step",
    "run_conv2d",
    "run_linear",
    "run_sweep",
    "simulate_conv2d",
    "simulate_linear",
    "stdp_step_conv2d",
    "stdp_step_linear",
    "superspike",
    "validate_parameters",
]
