"""Data sets that ship with packages (no downloads): images for the experiments."""

from __future__ import annotations

import numpy as np


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
