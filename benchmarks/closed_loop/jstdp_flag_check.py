import os
import sys

import numpy as np

ROOT = os.environ.get(
    "JSTDP_ROOT", str(__import__("pathlib").Path(__file__).resolve().parents[2])
)
sys.path.insert(0, ROOT)
sys.path.insert(0, ROOT + "/benchmarks")
import workloads as wk

w = np.asarray(wk.jstdp_song(100_000)())
np.save(sys.argv[1], w)
