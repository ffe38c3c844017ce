"""jstdp: Norse-exact spike-timing-dependent plasticity in JAX.

Public API (import from ``jstdp``); ``jstdp.interop`` (torch / Norse) is a
separate, optional module so that ``import jstdp`` never imports torch.
"""

from jstdp._conv import stdp_step_conv2d
from jstdp._linear import stdp_step_linear
from jstdp._parameters import ALGORITHMS, STDPParameters, STDPState

__version__ = "0.1.0"

__all__ = [
    "ALGORITHMS",
    "STDPParameters",
    "STDPState",
    "stdp_step_conv2d",
    "stdp_step_linear",
]
