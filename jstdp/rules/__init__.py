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
dense, conv2d, one-to-one and lateral connections.

Optionally a rule has ``prepare()`` (called before tracing, to fix static
fast paths from what is known of its values) and ``branches()`` (a
predicate and two variants, for one ``lax.cond`` around a whole run).

After a rule, a projection applies its weight transform (:class:`Clip`,
:class:`Normalize`, :class:`Function`, :func:`chain`).

Rules here:

- :class:`NorseSTDP`: Norse's pair rule (``additive``, ``additive_step``,
  ``multiplicative_pow``, ``multiplicative_relu``; ``hardbound``), exact.
- :class:`DiehlCookSTDP`: Diehl & Cook's (2015) nearest-spike rule as their
  Brian 1 code runs it, pairing at arrival through per-synapse delays.
"""

from jstdp.rules.diehl_cook import DiehlCookState, DiehlCookSTDP
from jstdp.rules.norse import ALGORITHMS, NorseSTDP, STDPState
from jstdp.rules.transforms import Chain, Clip, Function, Normalize, chain

__all__ = [
    "ALGORITHMS",
    "Chain",
    "Clip",
    "DiehlCookSTDP",
    "DiehlCookState",
    "Function",
    "NorseSTDP",
    "Normalize",
    "STDPState",
    "chain",
]
