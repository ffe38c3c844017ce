"""Parity of jstdp's NEST rules with NEST 3.10 itself, run inside the tests.

Every rule, at resolutions 0.1 ms and 1 ms: random pre and post trains of
1.2 s (Poisson plus bursts, coincident pre/post spikes, and dopamine spikes
for the dopamine synapse), three parameter sets a rule (additive and power
law, positive and negative bounds, large steps into both bounds), two
dendritic delays each, weights starting at and near both bounds. NEST's
``weight_recorder`` gives the weight after every presynaptic spike; jstdp's
:func:`jstdp.replay` the weight after every step. The six projections of a
rule run as one ``jax.vmap`` over the stacked rules, in float64 and float32.

Tolerance: ``|w_jstdp - w_nest| <= RTOL |w_nest| + ATOL W`` with ``W`` the
largest bound. A pointwise relative error is meaningless near 0: a step that
lands a weight near 0 cancels, and both keep only the absolute accuracy of
the weight they started from, hence the floor relative to the bound.
"""

import dataclasses

import numpy as np
import pytest

import jstdp
from jstdp import rules

nest_driver = pytest.importorskip(
    "nest_driver", reason="nest-simulator 3.10 is not installed (pip install .[test])"
)

pytestmark = pytest.mark.nest

# float64: both sides keep ~1e-13 of W (measured ~1e-12 relative at worst, the
# rest is NEST's float clock and libm); float32: one rounding a step of the
# traces over their memory (tau / h steps of 6e-8) and of w.
RTOL = {"float64": 1e-10, "float32": 1e-5}
ATOL = {"float64": 1e-11, "float32": 1e-5}  # in units of the bound W

DURATION_MS = 1200.0
N_PRE, N_POST = 6, 5
RATE_HZ = 25.0
DOPAMINE_HZ = 10.0
SAVE_W = jstdp.Save(every=1, fn=lambda s: s.w)

GUETIG = [
    ({"lambda": 0.1, "alpha": 1.2, "tau_plus": 20.0, "Wmax": 2.0}, {"tau_minus": 20.0}),
    (  # additive, runs into both bounds
        {"lambda": 0.3, "alpha": 0.9, "mu_plus": 0.0, "mu_minus": 0.0,
         "tau_plus": 12.0, "Wmax": 1.0},
        {"tau_minus": 35.0},
    ),
    (  # power law, negative weights
        {"lambda": 0.05, "alpha": 1.05, "mu_plus": 0.4, "mu_minus": 0.7,
         "tau_plus": 16.8, "Wmax": -3.0},
        {"tau_minus": 33.7},
    ),
]  # fmt: skip
CASES = {
    "stdp_synapse": GUETIG,
    "stdp_nn_symm_synapse": GUETIG,
    "stdp_nn_pre_centered_synapse": GUETIG,
    "stdp_nn_restr_synapse": GUETIG,
    "stdp_triplet_synapse": [
        (  # Pfister & Gerstner (2006) visual cortex, all-to-all, rates x10
            {"tau_plus": 16.8, "tau_plus_triplet": 101.0, "Aplus": 5e-9,
             "Aminus": 7e-2, "Aplus_triplet": 6.2e-2, "Aminus_triplet": 2.3e-3,
             "Wmax": 1.0},
            {"tau_minus": 33.7, "tau_minus_triplet": 125.0},
        ),
        (  # hippocampal culture, all-to-all, rates x10
            {"tau_plus": 16.8, "tau_plus_triplet": 946.0, "Aplus": 6.1e-2,
             "Aminus": 1.6e-2, "Aplus_triplet": 6.7e-2, "Aminus_triplet": 1.4e-2,
             "Wmax": 0.5},
            {"tau_minus": 33.7, "tau_minus_triplet": 27.0},
        ),
        (  # large steps into both bounds, negative weights
            {"tau_plus": 10.0, "tau_plus_triplet": 50.0, "Aplus": 0.2,
             "Aminus": 0.25, "Aplus_triplet": 0.1, "Aminus_triplet": 0.05,
             "Wmax": -1.0},
            {"tau_minus": 15.0, "tau_minus_triplet": 60.0},
        ),
    ],
    "stdp_dopamine_synapse": [
        ({"A_plus": 1.0, "A_minus": 1.5, "tau_plus": 20.0, "tau_c": 200.0,
          "tau_n": 100.0, "b": 0.0, "Wmin": 0.0, "Wmax": 5.0}, {"tau_minus": 20.0}),
        ({"A_plus": 0.5, "A_minus": 0.6, "tau_plus": 15.0, "tau_c": 500.0,
          "tau_n": 50.0, "b": 0.02, "Wmin": -2.0, "Wmax": 2.0}, {"tau_minus": 30.0}),
        ({"A_plus": 3.0, "A_minus": 2.0, "tau_plus": 10.0, "tau_c": 50.0,
          "tau_n": 20.0, "b": 0.005, "Wmin": 0.5, "Wmax": 1.5}, {"tau_minus": 12.0}),
    ],
    "vogels_sprekeler_synapse": [
        ({"eta": 0.01, "alpha": 0.12, "tau": 20.0, "Wmax": 1.0}, {"tau_minus": 20.0}),
        (  # post trace with tau_minus != tau, negative weights
            {"eta": 0.05, "alpha": 0.3, "tau": 10.0, "Wmax": -2.0},
            {"tau_minus": 25.0},
        ),
        ({"eta": 0.2, "alpha": 1.0, "tau": 15.0, "Wmax": 0.5}, {"tau_minus": 15.0}),
    ],
}  # fmt: skip
MODELS = {rule.nest_model: rule for rule in rules.NEST_RULES}


def spike_train(rng, steps, n, rate_hz, h, first):
    """Poisson spikes plus four bursts a neuron (3-6 spikes 0.1-3 ms apart)."""
    z = rng.random((steps, n)) < rate_hz * h / 1000.0
    for neuron in range(n):
        for start in rng.integers(first, steps - 200, size=4):
            gaps = rng.integers(1, max(3, round(3.0 / h)) + 1, size=rng.integers(3, 7))
            z[np.minimum(start + np.cumsum(gaps), steps - 1), neuron] = True
    z[:first] = False
    return z


def initial_weights(rng, lo, hi):
    """Random weights, with rows starting at and near each bound."""
    w = rng.uniform(lo, hi, (N_POST, N_PRE))
    span = hi - lo
    w[0, :3] = lo, lo + 1e-9 * span, lo + 1e-3 * span
    w[1, :3] = hi, hi - 1e-9 * span, hi - 1e-3 * span
    return w


def projection(rng, model, synapse, neuron, h, delay):
    """One projection of random trains; post trains as the synapse sees them."""
    steps, d = round(DURATION_MS / h), round(delay / h)
    pre = spike_train(rng, steps, N_PRE, RATE_HZ, h, 1)
    post = spike_train(rng, steps, N_POST, RATE_HZ, h, 1 + d)
    # Coincident pairs: post 0 repeats a third of pre 0's spikes, post 1 all of pre 1's.
    post[:, 0] |= pre[:, 0] & (rng.random(steps) < 1 / 3)
    post[:, 1] |= pre[:, 1]
    post[: 1 + d] = False
    dopamine = None
    if model == "stdp_dopamine_synapse":
        bounds = synapse["Wmin"], synapse["Wmax"]
        dopamine = spike_train(rng, steps, 1, DOPAMINE_HZ, h, 2)[:, 0].astype(float)
    else:
        # NEST counts 0 as positive and refuses it with a negative Wmax (except
        # Vogels-Sprekeler's): start those at the smallest negative instead.
        zero = -1e-300 if synapse["Wmax"] < 0 and "eta" not in synapse else 0.0
        bounds = sorted((zero, synapse["Wmax"]))
    return nest_driver.Projection(
        pre.astype(float), post.astype(float), initial_weights(rng, *bounds),
        synapse, neuron, delay, dopamine,
    )  # fmt: skip


def replay_all(model, projections, h, dtype):
    """jstdp's weights after every step, ``(P, T, n_post, n_pre)``: one
    ``vmap`` of :func:`jstdp.replay` over the projections' stacked rules."""
    import jax

    stacked = jax.tree.map(
        lambda *xs: np.stack(xs),
        *[MODELS[model].from_nest(p.synapse, p.neuron) for p in projections],
    )
    z_pre = np.stack([p.pre for p in projections])[:, :, None]
    z_post = np.stack([p.post for p in projections])[:, :, None]
    w0 = np.stack([p.weight for p in projections]).astype(dtype)
    dopamine = [p.dopamine for p in projections]

    def one(rule, z_pre, z_post, w0, dopamine):
        signals = None if dopamine is None else {"dopamine": dopamine}
        return jstdp.replay(
            rule, z_pre, z_post, w0, h * 1e-3, signals=signals, save=SAVE_W
        )[2]

    with jax.enable_x64(True):
        dopamine = None if dopamine[0] is None else np.stack(dopamine)
        return np.asarray(jax.vmap(one)(stacked, z_pre, z_post, w0, dopamine))


def differences(projections, records, weights, dtype):
    """Largest ``|dw| / W``, largest pointwise relative difference where
    ``|w| > 1% W``, and the largest excess over the tolerance."""
    absolute, relative, excess = 0.0, 0.0, -np.inf
    for p, rec, w in zip(projections, records, weights, strict=True):
        ours = w[rec.step, rec.post, rec.pre].astype(np.float64)
        bound = max(abs(p.synapse["Wmax"]), abs(p.synapse.get("Wmin", 0.0)))
        diff = np.abs(ours - rec.weight)
        size = np.abs(rec.weight)
        absolute = max(absolute, diff.max() / bound)
        large = size > 0.01 * bound
        relative = max(relative, (diff[large] / size[large]).max(initial=0.0))
        allowed = RTOL[dtype] * size + ATOL[dtype] * bound
        excess = max(excess, (diff - allowed).max())
    return absolute, relative, excess


@pytest.mark.parametrize("h", [0.1, 1.0], ids=["h0.1ms", "h1ms"])
@pytest.mark.parametrize("model", list(CASES))
def test_weights_after_every_presynaptic_spike_match_nest(model, h):
    rng = np.random.default_rng([list(CASES).index(model), round(10 * h)])
    delays = (h, 2.0 if h == 1.0 else 2.3)
    projections = [
        projection(rng, model, synapse, neuron, h, d)
        for synapse, neuron in CASES[model]
        for d in delays
    ]
    records = nest_driver.simulate(model, projections, h)
    count = sum(len(r.weight) for r in records)
    assert count > 5000  # every synapse at every presynaptic spike
    for dtype in ("float64", "float32"):
        weights = replay_all(model, projections, h, dtype)
        absolute, relative, excess = differences(projections, records, weights, dtype)
        print(
            f"NEST parity {model} h={h} ms {dtype}, {count} weights: "
            f"max |dw|/W = {absolute:.2e}, "
            f"max |dw|/|w| (|w| > 1% W) = {relative:.2e}"
        )
        assert excess <= 0, (model, h, dtype, absolute, relative)


@pytest.mark.parametrize("model", list(CASES))
def test_defaults_are_nests(model):
    """Every field's default is NEST's: the synapse model's, and for the
    postsynaptic time constants the neuron's (``parrot_neuron``; every
    archiving neuron shares them)."""
    nest = nest_driver.nest
    nest.ResetKernel()
    synapse, neuron = nest.GetDefaults(model), nest.GetDefaults("parrot_neuron")
    rule = MODELS[model]()
    for field in (f.name for f in dataclasses.fields(rule)):
        key = "lambda" if field == "lambda_" else field
        assert getattr(rule, field) == synapse.get(key, neuron.get(key)), field
