"""Plasticity rules: one protocol, in the spirit of optax's ``init``/``update``.

A rule is an immutable pytree: its numeric parameters are leaves (``vmap``
sweeps them, ``grad`` differentiates them), its choices are static fields.
It has two methods::

    state = rule.init(pre_shape, post_shape, w_shape, dtype)
    w, state = rule.update(z_pre, z_post, w, state, dt, connection, **signals)

``init`` makes the rule's state (traces, eligibility, ...) for spikes of
``pre_shape`` / ``post_shape`` (batch axis first) and weights of ``w_shape``.
``update`` takes one time step's spikes (and optional signals such as a
neuromodulator), already cast to ``w.dtype``, and returns the updated
weights and state. It asks ``connection.correlate(post, pre, w.shape)`` for
the batch-summed Hebbian products in the layout of ``w``, so one rule serves
dense, conv2d, one-to-one and lateral connections. A connection may also
offer ``correlate_pair((post, pre), (post2, pre2), w.shape)``, two such
products at once (:class:`jstdp.connections.Conv2d`: one batched product);
Norse's rule asks for it when it is there.

Optionally a rule has ``prepare()`` (called before tracing, to fix static
fast paths from what is known of its values), ``branches()`` (a
predicate and two variants, for one ``lax.cond`` around a whole run) and
``check_weights(w)`` (called on the initial weights by :func:`jstdp.replay`
and :class:`jstdp.Network`, to refuse weights the rule cannot take).
A prepared rule may offer ``block_steps(connection, batch, w)`` (``R > 0``
where it can) and ``update_block(z_pre, z_post, w, state, dt)``, ``R``
steps of given spikes at once, equal to ``R`` calls of ``update``:
:func:`jstdp.replay` then takes its steps ``R`` at a time (Norse's rule on
a large dense layer with batch 1).

After a rule, a projection applies its weight transform (:class:`Clip`,
:class:`Normalize`, :class:`Function`, :func:`chain`).

Rules here:

- :class:`NorseSTDP`: Norse's pair rule (``additive``, ``additive_step``,
  ``multiplicative_pow``, ``multiplicative_relu``; ``hardbound``), exact.
- :class:`DiehlCookSTDP`: Diehl & Cook's (2015) nearest-spike rule as their
  Brian 1 code runs it, pairing at arrival through per-synapse delays.

NEST 3.10's synapse models, with NEST's class and parameter names
(``lambda`` is ``lambda_``), defaults and units (ms), its order of events
within a time step and its quirks, checked against NEST itself
(``tests/test_rules_nest.py``); the postsynaptic time constants that NEST
keeps on the neuron (``tau_minus``, ``tau_minus_triplet``) are fields here.
``from_nest(syn_spec, neuron_params)`` builds one from NEST's dicts:

- :class:`STDPSynapse` (``stdp_synapse``): all-to-all pairs, Gütig et al.'s
  power-law weight dependence;
- :class:`STDPNNSymmSynapse`, :class:`STDPNNPreCenteredSynapse`,
  :class:`STDPNNRestrSynapse`: NEST's three nearest-neighbour schemes (the
  last two keep per-synapse state: Dense, OneToOne, AllToAllButSelf);
- :class:`STDPTripletSynapse` (``stdp_triplet_synapse``): Pfister & Gerstner;
- :class:`STDPDopamineSynapse` (``stdp_dopamine_synapse``): Izhikevich's
  eligibility trace and dopamine (signal ``dopamine=`` spikes or ``n=``);
- :class:`VogelsSprekelerSynapse` (``vogels_sprekeler_synapse``): inhibitory
  plasticity towards the rate ``alpha / (2 tau)``.

Spike trains are given as the synapse sees them: NEST's whole connection
delay ``d`` is dendritic, so a postsynaptic spike at ``t`` reaches the
synapse at ``t + d`` (shift the postsynaptic train by ``d / dt`` steps).
"""

from jstdp.rules._nest import NESTTraces
from jstdp.rules.diehl_cook import DiehlCookState, DiehlCookSTDP
from jstdp.rules.dopamine import DopamineState, STDPDopamineSynapse
from jstdp.rules.inhibitory import VogelsSprekelerSynapse
from jstdp.rules.nearest import (
    PreCenteredState,
    RestrState,
    STDPNNPreCenteredSynapse,
    STDPNNRestrSynapse,
    STDPNNSymmSynapse,
)
from jstdp.rules.nest_pair import STDPSynapse
from jstdp.rules.norse import ALGORITHMS, NorseSTDP, STDPState
from jstdp.rules.transforms import Chain, Clip, Function, Normalize, chain
from jstdp.rules.triplet import STDPTripletSynapse, TripletState

NEST_RULES = (
    STDPSynapse,
    STDPNNSymmSynapse,
    STDPNNPreCenteredSynapse,
    STDPNNRestrSynapse,
    STDPTripletSynapse,
    STDPDopamineSynapse,
    VogelsSprekelerSynapse,
)

__all__ = [
    "ALGORITHMS",
    "NEST_RULES",
    "Chain",
    "Clip",
    "DiehlCookSTDP",
    "DiehlCookState",
    "DopamineState",
    "Function",
    "NESTTraces",
    "NorseSTDP",
    "Normalize",
    "PreCenteredState",
    "RestrState",
    "STDPDopamineSynapse",
    "STDPNNPreCenteredSynapse",
    "STDPNNRestrSynapse",
    "STDPNNSymmSynapse",
    "STDPState",
    "STDPSynapse",
    "STDPTripletSynapse",
    "TripletState",
    "VogelsSprekelerSynapse",
    "chain",
]
