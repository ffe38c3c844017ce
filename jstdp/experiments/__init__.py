"""The experiments behind the ``jstdp`` command, as plain functions.

- :func:`song2000`: Song, Miller & Abbott (2000) and Guetig et al. (2003).
- :func:`receptive_fields`: conv2d STDP on ON/OFF filtered natural images.
- :func:`diehl_cook`: Diehl & Cook (2015), unsupervised MNIST digits.
- :func:`stdp_window`: the weight change of one pre/post spike pair against
  the lag, measured by simulation.
"""

from jstdp.experiments.diehl_cook import (
    DiehlCookConfig,
    DiehlCookResult,
    assign_labels,
    diehl_cook,
    diehl_cook_data,
    diehl_cook_figure,
    diehl_cook_json,
    diehl_cook_network,
    predict,
)
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
    "DiehlCookConfig",
    "DiehlCookResult",
    "NEAR",
    "NORSE_MU",
    "QUICK_PRESENTATIONS",
    "ReceptiveFieldsConfig",
    "ReceptiveFieldsResult",
    "Song2000Config",
    "Song2000Result",
    "assign_labels",
    "diehl_cook",
    "diehl_cook_data",
    "diehl_cook_figure",
    "diehl_cook_json",
    "diehl_cook_network",
    "orientation_coherence",
    "predict",
    "receptive_fields",
    "receptive_fields_figure",
    "receptive_fields_json",
    "song2000",
    "song2000_figure",
    "song2000_json",
    "stdp_window",
]
