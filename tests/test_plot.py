"""jstdp.plot: each helper draws what it is given, on a new figure or a given ax."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from jstdp import plot  # noqa: E402


def test_import_does_not_import_matplotlib():
    code = "import sys, jstdp.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_figure_is_agg_and_saves_png(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, axes = plot.figure(2, 3, figsize=(6, 4))
    assert axes.shape == (2, 3)
    assert isinstance(fig.canvas, FigureCanvasAgg)
    fig, ax = plot.figure()
    assert ax.figure is fig
    path = tmp_path / "f.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_weight_histogram_counts_and_near_fractions():
    w = np.array([0.0, 0.05, 0.5, 0.5, 0.95, 1.0, 1.0, 0.3])
    ax = plot.weight_histogram(w.reshape(2, 4), bins=10, title="t")
    heights = [p.get_height() for p in ax.containers[0]]
    assert len(heights) == 10
    assert sum(heights) == w.size
    assert heights[0] == 2 and heights[-1] == 3
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["0.25", "0.38"]  # 2 of 8 near 0, 3 of 8 near 1
    assert ax.get_title() == "t"
    assert ax.get_xlim() == (0.0, 1.0)


def test_weight_histogram_draws_on_given_ax_and_checks_bounds():
    fig, axes = plot.figure(1, 2)
    assert plot.weight_histogram([0.2], axes[0, 1], w_min=-1, w_max=1) is axes[0, 1]
    assert axes[0, 1].get_xlim() == (-1.0, 1.0)
    with pytest.raises(ValueError, match="w_min must be < w_max"):
        plot.weight_histogram([0.2], w_min=1, w_max=1)


def test_raster_places_a_dot_per_spike():
    spikes = np.zeros((50, 4))
    spikes[[3, 10, 10, 49], [0, 1, 3, 2]] = 1
    ax = plot.raster(spikes, dt=0.01)
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(
        sorted(map(tuple, offsets)), [(0.03, 0), (0.1, 1), (0.1, 3), (0.49, 2)]
    )
    assert ax.get_xlim() == (0.0, 0.5)
    with pytest.raises(ValueError, match=r"spikes must have shape \(T, N\)"):
        plot.raster(np.zeros(5))


def test_stdp_window_plots_lags_in_ms():
    lags = np.array([-0.002, 0.0, 0.002])
    ax = plot.stdp_window(lags, [-1.0, 0.5, 1.0], label="rule")
    x, y = ax.lines[-1].get_data()
    np.testing.assert_allclose(x, [-2.0, 0.0, 2.0])
    np.testing.assert_allclose(y, [-1.0, 0.5, 1.0])
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match="same length"):
        plot.stdp_window(lags, [1.0, 2.0])


def test_kernel_mosaic_on_minus_off_scaled_per_kernel():
    k = np.zeros((3, 2, 2, 2))
    k[0, 0, 0, 0] = 2.0  # ON pixel
    k[0, 1, 1, 1] = 1.0  # OFF pixel
    k[1, 1, 0, 1] = 0.5  # OFF only
    mosaic = plot.kernel_mosaic(k, ncols=2)
    # 2 rows x 2 cols of 2x2 tiles with 1-pixel gaps
    assert mosaic.shape == (5, 5)
    np.testing.assert_allclose(mosaic[0:2, 0:2], [[1.0, 0.0], [0.0, -0.5]])
    np.testing.assert_allclose(mosaic[0:2, 3:5], [[0.0, -1.0], [0.0, 0.0]])
    np.testing.assert_allclose(mosaic[3:5, 0:2], 0.0)  # an all-zero kernel stays 0
    assert np.all(mosaic[2, :] == 0) and np.all(mosaic[:, 2] == 0)


def test_kernel_mosaic_gray_and_rgb():
    gray = plot.kernel_mosaic(np.arange(8.0).reshape(2, 1, 2, 2))
    assert gray.shape == (2, 5)  # ceil(sqrt(2)) = 2 columns
    np.testing.assert_allclose(gray[:, 3:], [[4 / 7, 5 / 7], [6 / 7, 1.0]])
    rgb = plot.kernel_mosaic(np.arange(12.0).reshape(1, 3, 2, 2))
    assert rgb.shape == (2, 2, 3)
    assert rgb.min() == 0.0 and rgb.max() == 1.0
    np.testing.assert_allclose(rgb[0, 0], [0.0, 4 / 11, 8 / 11])


@pytest.mark.parametrize(
    "shape", [(2, 4, 3, 3), (4, 3, 3), (2, 0, 3, 3)], ids=["c_in4", "rank3", "c_in0"]
)
def test_kernel_mosaic_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match=r"kernels must have shape"):
        plot.kernel_mosaic(np.zeros(shape))


def test_kernel_grid_shows_the_mosaic():
    k = np.random.default_rng(0).normal(size=(5, 2, 3, 3))
    ax = plot.kernel_grid(k, ncols=3, title="kernels")
    image = ax.images[0]
    np.testing.assert_allclose(image.get_array(), plot.kernel_mosaic(k, 3))
    assert image.get_clim() == (-1.0, 1.0)
    assert ax.get_title() == "kernels"
    with pytest.raises(ValueError, match="ncols must be >= 1"):
        plot.kernel_grid(k, ncols=0)
