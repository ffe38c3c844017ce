"""Neurons and encoders.

Every neuron is an immutable parameter pytree with the protocol that
networks use, so a user can plug in their own::

    state = neuron.initial_state(shape, dtype)      # shape: (batch, *population)
    z, state = neuron.step(drive, state, dt)

``drive`` is an array (all to the first receptor, ``exc``) or a dict from
receptor names (``neuron.receptors``, default ``("exc",)``) to arrays.
Optional: ``reset(state)`` (a fresh neuron between stimuli, keeping slow
adaptation; default ``initial_state``) and ``frozen()`` (the neuron a run
with ``learning=False`` uses; default itself).

- :class:`LIFParameters`, :func:`lif_feed_forward_step`: Norse's LIF, exact.
- :class:`ConductanceLIFParameters`: conductance LIF with excitatory and
  inhibitory reversal potentials and a refractory period.
- :class:`AdaptiveThreshold`: a threshold that rises at each spike and
  decays slowly, around any neuron with a ``v_th``.
- :class:`CompetingLIFParameters`: conv2d LIF with winner-take-all across
  channels.
- Encoders: :func:`poisson_step`, :func:`poisson_encode` (Norse's),
  :class:`PoissonInput` (drawn inside a run), :func:`latency_code`.
"""

from jstdp.neurons._common import METHODS, superspike, threshold
from jstdp.neurons.adaptive import AdaptiveState, AdaptiveThreshold
from jstdp.neurons.competing import CompetingLIFParameters, CompetingLIFState
from jstdp.neurons.conductance import ConductanceLIFParameters, ConductanceLIFState
from jstdp.neurons.encoders import (
    PoissonInput,
    latency_code,
    poisson_encode,
    poisson_step,
)
from jstdp.neurons.lif import LIFFeedForwardState, LIFParameters, lif_feed_forward_step

__all__ = [
    "METHODS",
    "AdaptiveState",
    "AdaptiveThreshold",
    "CompetingLIFParameters",
    "CompetingLIFState",
    "ConductanceLIFParameters",
    "ConductanceLIFState",
    "LIFFeedForwardState",
    "LIFParameters",
    "PoissonInput",
    "latency_code",
    "lif_feed_forward_step",
    "poisson_encode",
    "poisson_step",
    "superspike",
    "threshold",
]
