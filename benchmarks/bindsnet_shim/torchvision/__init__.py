"""Stand-in for the few torchvision names BindsNET 0.3.4 imports.

Not torchvision. See ``benchmarks/bindsnet_shim/README.md`` for why it exists:
torchvision's wheels on PyPI are CUDA builds whose compiled operators do not
load beside the CPU build of torch 2.13 used here.
"""

from . import datasets, transforms, utils

__version__ = "0.0.0+jstdp-shim"
__all__ = ["datasets", "transforms", "utils"]
