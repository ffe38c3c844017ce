"""Plotting helpers shared by the ``jstdp`` command and the notebooks.

matplotlib (the ``cli`` extra) is imported inside the functions, so
``import jstdp.plot`` costs nothing. Figures are built with matplotlib's
object-oriented API (:func:`figure` returns a ``Figure`` on an Agg canvas,
no pyplot), so nothing here changes the backend of a notebook or a GUI; in a
notebook you can also pass an ``ax`` of your own. Every helper takes arrays
(NumPy or JAX), draws on ``ax`` (a new figure when None) and returns ``ax``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from jax.typing import ArrayLike


def new_figure(figsize: tuple[float, float] | None = None) -> Any:
    """An empty ``matplotlib.figure.Figure`` (constrained layout) on an Agg canvas.

    Add axes with ``fig.subplots`` or ``fig.add_gridspec``; save with
    ``fig.savefig(path)``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure(
    nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None
) -> tuple[Any, Any]:
    """:func:`new_figure` with a grid of axes.

    Returns:
        ``(fig, axes)``: ``axes`` is one ``Axes`` for a 1 x 1 grid, else an
        ``(nrows, ncols)`` object array.
    """
    fig = new_figure(figsize)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes[0, 0] if nrows == ncols == 1 else axes


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    return figure(figsize=figsize)[1] if ax is None else ax


def weight_histogram(
    w: ArrayLike,
    ax: Any = None,
    *,
    w_min: float = 0.0,
    w_max: float = 1.0,
    bins: int = 40,
    near: float = 0.1,
    title: str | None = None,
    color: str = "C0",
) -> Any:
    """Histogram of weights over ``[w_min, w_max]``, the near-bound bands shaded.

    The bands are the weights within ``near * (w_max - w_min)`` of a bound;
    their fractions are written in the corners.

    Args:
        w: weights, any shape (flattened).
        ax: axes to draw on (default: a new figure).
        w_min, w_max: the weight bounds (the histogram range).
        bins: number of bins.
        near: width of the near-bound bands, as a fraction of the range.
        title: axes title.
        color: bar color.
    """
    if not w_min < w_max:
        raise ValueError(f"w_min must be < w_max, got {w_min!r} and {w_max!r}")
    w = np.ravel(np.asarray(w, np.float64))
    ax = _axes(ax, (4, 3))
    band = near * (w_max - w_min)
    for lo, hi in ((w_min, w_min + band), (w_max - band, w_max)):
        ax.axvspan(lo, hi, color="0.9", zorder=0)
    ax.hist(w, bins=bins, range=(w_min, w_max), color=color)
    ax.set_xlim(w_min, w_max)
    ax.set_xlabel("weight")
    ax.set_ylabel("synapses")
    box = dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1)
    style = dict(transform=ax.transAxes, va="top", fontsize="small", bbox=box)
    ax.text(0.02, 0.97, f"{np.mean(w <= w_min + band):.2f}", ha="left", **style)
    ax.text(0.98, 0.97, f"{np.mean(w >= w_max - band):.2f}", ha="right", **style)
    if title is not None:
        ax.set_title(title, fontsize="small")
    return ax


def raster(
    spikes: ArrayLike, ax: Any = None, *, dt: float = 1e-3, color: str = "k"
) -> Any:
    """Spike raster: a dot at (time, neuron) for every spike.

    Args:
        spikes: ``(T, N)`` spikes (nonzero = spike), time-major as in jstdp.
        ax: axes to draw on (default: a new figure).
        dt: time step in seconds (the x axis is in seconds).
        color: dot color.
    """
    spikes = np.asarray(spikes)
    if spikes.ndim != 2:
        raise ValueError(f"spikes must have shape (T, N), got {spikes.shape}")
    ax = _axes(ax, (6, 3))
    t, neuron = np.nonzero(spikes)
    ax.scatter(t * dt, neuron, s=2, c=color, marker="|", linewidths=0.8)
    ax.set_xlim(0, spikes.shape[0] * dt)
    ax.set_ylim(-0.5, spikes.shape[1] - 0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron")
    return ax


def stdp_window(
    lags_s: ArrayLike, dw: ArrayLike, ax: Any = None, *, label: str | None = None
) -> Any:
    """The STDP window: weight change of one pre/post pair against the lag.

    Args:
        lags_s: ``(L,)`` lags ``t_post - t_pre`` in seconds (positive: the
            postsynaptic spike comes later, potentiation for Hebbian rules).
        dw: ``(L,)`` weight changes (e.g. :func:`jstdp.experiments.stdp_window`).
        ax: axes to draw on (default: a new figure).
        label: legend label.
    """
    lags, dw = np.asarray(lags_s, np.float64), np.asarray(dw, np.float64)
    if lags.ndim != 1 or lags.shape != dw.shape:
        raise ValueError(
            f"lags_s and dw must be 1-D of the same length, got {lags.shape} "
            f"and {dw.shape}"
        )
    ax = _axes(ax, (4, 3))
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.plot(lags * 1e3, dw, ".-", label=label)
    ax.set_xlabel("t_post - t_pre (ms)")
    ax.set_ylabel("weight change")
    if label is not None:
        ax.legend(fontsize="small")
    return ax


def kernel_mosaic(kernels: ArrayLike, ncols: int | None = None) -> np.ndarray:
    """Tile conv kernels into one image, each scaled to its own range.

    Channels: 1 is shown as is, 2 as ``ON - OFF`` (channel 0 minus channel
    1), 3 as RGB. Signed images (1 or 2 channels) are scaled by their largest
    ``|value|`` to ``[-1, 1]``; RGB kernels are min-max scaled to ``[0, 1]``.
    Tiles are separated by a one-pixel gap (value 0 or, for RGB, 1).

    Args:
        kernels: ``(C_out, C_in, kh, kw)`` with ``C_in`` in 1, 2, 3 (OIHW).
        ncols: tiles per row (default ``ceil(sqrt(C_out))``).

    Returns:
        ``(rows * (kh + 1) - 1, ncols * (kw + 1) - 1)`` for 1 or 2
        channels, with a trailing axis of 3 for RGB.
    """
    k = np.asarray(kernels, np.float64)
    if k.ndim != 4 or k.shape[1] not in (1, 2, 3):
        raise ValueError(
            f"kernels must have shape (C_out, C_in, kh, kw) with C_in in 1, 2, 3, "
            f"got {k.shape}"
        )
    c_out, c_in, kh, kw = k.shape
    ncols = math.ceil(math.sqrt(c_out)) if ncols is None else ncols
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    nrows = math.ceil(c_out / ncols)
    if c_in == 3:
        lo = k.min(axis=(1, 2, 3), keepdims=True)
        span = np.maximum(k.max(axis=(1, 2, 3), keepdims=True) - lo, 1e-12)
        tiles, gap = np.moveaxis((k - lo) / span, 1, -1), 1.0
    else:
        img = k[:, 0] - k[:, 1] if c_in == 2 else k[:, 0]
        scale = np.maximum(np.abs(img).max(axis=(1, 2), keepdims=True), 1e-12)
        tiles, gap = img / scale, 0.0
    shape = (nrows * (kh + 1) - 1, ncols * (kw + 1) - 1, *tiles.shape[3:])
    mosaic = np.full(shape, gap)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        mosaic[r * (kh + 1) : r * (kh + 1) + kh, c * (kw + 1) : c * (kw + 1) + kw] = (
            tile
        )
    return mosaic


def kernel_grid(
    kernels: ArrayLike,
    ax: Any = None,
    *,
    ncols: int | None = None,
    title: str | None = None,
) -> Any:
    """Conv kernels as a grid of images (see :func:`kernel_mosaic`).

    Signed kernels use a gray map centred on 0 (white: ON / positive, black:
    OFF / negative).

    Args:
        kernels: ``(C_out, C_in, kh, kw)`` with ``C_in`` in 1, 2, 3.
        ax: axes to draw on (default: a new figure).
        ncols: tiles per row.
        title: axes title.
    """
    mosaic = kernel_mosaic(kernels, ncols)
    ax = _axes(ax, (5, 5))
    if mosaic.ndim == 3:
        ax.imshow(mosaic, interpolation="nearest")
    else:
        ax.imshow(mosaic, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize="small")
    return ax
