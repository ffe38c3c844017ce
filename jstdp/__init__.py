"""jstdp: spike-timing-dependent plasticity for JAX.

The Norse face (``STDPParameters``, ``STDPState``, ``stdp_step_linear``,
``stdp_step_conv2d``) reproduces ``norse.torch.functional.stdp`` exactly.
Networks (``Network``, ``Input``, ``Population``, ``Projection``) of neurons
(:mod:`jstdp.neurons`), connections (:mod:`jstdp.connections`) and rules
(:mod:`jstdp.rules`) run under one jitted ``lax.scan`` (``run``); ``replay``
drives any rule with given spike trains. ``jstdp.interop`` (torch / Norse)
and ``jstdp.nn`` (Flax NNX) are imported on their own, so ``import jstdp``
never imports torch or ``flax.nnx``.
"""

from jstdp import connections, neurons, rules
from jstdp._event_loop import run_linear_events
from jstdp._loops import (
    Record,
    RunState,
    run_conv2d,
    run_linear,
    simulate_conv2d,
    simulate_linear,
)
from jstdp._network import Input, Network, NetworkState, Population, Projection
from jstdp._norse import STDPParameters, stdp_step_conv2d, stdp_step_linear
from jstdp._run import ReplayState, Save, replay, run
from jstdp._sharding import Sharding, gather, memory_per_device
from jstdp._sweep import parameter_grid, run_sweep
from jstdp._validation import check_finite, validate_parameters
from jstdp._xla import fast_cpu_loops
from jstdp.neurons import (
    AdaptiveThreshold,
    ConductanceLIFParameters,
    ConductanceLIFState,
    LIFFeedForwardState,
    LIFParameters,
    PoissonInput,
    lif_feed_forward_step,
    poisson_encode,
    poisson_step,
    superspike,
)
from jstdp.neurons.poisson_events import poisson_event_spikes
from jstdp.rules import ALGORITHMS, STDPState

__version__ = "0.2.0"

__all__ = [
    "ALGORITHMS",
    "AdaptiveThreshold",
    "ConductanceLIFParameters",
    "ConductanceLIFState",
    "Input",
    "LIFFeedForwardState",
    "LIFParameters",
    "Network",
    "NetworkState",
    "PoissonInput",
    "Population",
    "Projection",
    "Record",
    "ReplayState",
    "RunState",
    "STDPParameters",
    "STDPState",
    "Save",
    "Sharding",
    "check_finite",
    "connections",
    "fast_cpu_loops",
    "gather",
    "lif_feed_forward_step",
    "memory_per_device",
    "neurons",
    "parameter_grid",
    "poisson_encode",
    "poisson_event_spikes",
    "poisson_step",
    "replay",
    "rules",
    "run",
    "run_conv2d",
    "run_linear",
    "run_linear_events",
    "run_sweep",
    "simulate_conv2d",
    "simulate_linear",
    "stdp_step_conv2d",
    "stdp_step_linear",
    "superspike",
    "validate_parameters",
]
