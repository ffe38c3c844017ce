"""The experiments behind the ``jstdp`` command, as plain functions.

- :func:`song2000`: Song, Miller & Abbott (2000) and Guetig et al. (2003).
- :func:`receptive_fields`: conv2d STDP on ON/OFF filtered natural images.
- :func:`stdp_window`: the weight change of one pre/post spike pair against
  the lag, measured by simulation.
"""

from jstdp.experiments.receptive_fields import (
    QUICK_PRESENTATIONS,
    ReceptiveFieldsConfig,
    ReceptiveFieldsResult,
    orientation_coherence,
    receptive_fields,
    receptive_fields_figure,
    receptive_fields_json,
)
from jstdp.experiments.song2000 import (
    NEAR,
    NORSE_MU,
    Song2000Config,
    Song2000Result,
    song2000,
    song2000_figure,
    song2000_json,
)
from jstdp.experiments.window import stdp_window

__all__ = [
    "NEAR",
    "NORSE_MU",
    "QUICK_PRESENTATIONS",
    "ReceptiveFieldsConfig",
    "ReceptiveFieldsResult",
    "Song2000Config",
    "Song2000Result",
    "orientation_coherence",
    "receptive_fields",
    "receptive_fields_figure",
    "receptive_fields_json",
    "song2000",
    "song2000_figure",
    "song2000_json",
    "stdp_window",
]
