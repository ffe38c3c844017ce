"""Receptive fields: conv2d STDP on ON/OFF filtered natural images."""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jstdp import _validation as v
from jstdp._network import Input, Network, Population, Projection
from jstdp._norse import STDPParameters
from jstdp._run import run
from jstdp._validation import validate_parameters
from jstdp.datasets import on_off_images
from jstdp.experiments._config import option
from jstdp.neurons.competing import CompetingLIFParameters
from jstdp.neurons.encoders import latency_code

QUICK_PRESENTATIONS = 20


def orientation_coherence(kernels: jax.typing.ArrayLike) -> np.ndarray:
    """How oriented each ON-OFF kernel is: structure-tensor coherence in [0, 1].

    For the image ``k = ON - OFF`` with gradients ``gx, gy`` (central
    differences), ``J = sum [[gx*gx, gx*gy], [gx*gy, gy*gy]]`` over the
    kernel; ``(l1 - l2) / (l1 + l2)`` of its eigenvalues is 1 for a perfect
    edge or bar (one gradient direction) and near 0 for blobs and noise.

    Args:
        kernels: ``(C_out, 2, kh, kw)``.

    Returns:
        ``(C_out,)`` coherences.
    """
    k = np.asarray(kernels, np.float64)
    if k.ndim != 4 or k.shape[1] != 2:
        raise ValueError(f"kernels must have shape (C_out, 2, kh, kw), got {k.shape}")
    img = k[:, 0] - k[:, 1]
    gy, gx = np.gradient(img, axis=(1, 2))
    jxx, jyy, jxy = (
        (a * b).sum(axis=(1, 2)) for a, b in ((gx, gx), (gy, gy), (gx, gy))
    )
    return np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / np.maximum(jxx + jyy, 1e-12)


@dataclasses.dataclass(frozen=True)
class ReceptiveFieldsConfig:
    """Settings of :func:`receptive_fields` (defaults: the CLI's).

    ``batch`` random ``patch`` x ``patch`` crops of :func:`on_off_images`
    are shown at a time for ``steps`` steps each, latency coded
    (:func:`latency_code`), to ``kernels`` conv2d kernels (``kernel`` x
    ``kernel``, 2 input channels ON/OFF, stride 1, no padding) feeding
    :class:`CompetingLIFParameters`. STDP is ``multiplicative_relu``
    (soft bounds ``[0, 1]``) with potentiation stronger than depression, as
    in Kheradpisheh et al. (2018), so the inputs that fire before a
    neuron's spike grow and the later ones shrink; traces and membranes are
    reset between presentations, the thresholds are not. Initial weights:
    ``init + init_std * N(0, 1)``, clipped to ``[0, 1]``.
    """

    kernels: int = option(16, "number of kernels", metavar="K")
    kernel: int = 7
    patch: int = 16
    batch: int = 8
    presentations: int = option(
        600, "patch batches shown", metavar="N", quick=QUICK_PRESENTATIONS
    )
    steps: int = 15
    dt: float = 1e-3
    threshold: float = 0.15
    eta_plus: float = 0.02
    eta_minus: float = 0.015
    tau_stdp: float = 0.02
    init: float = 0.5
    init_std: float = 0.05
    seed: int = 0
    chunks: int = 20

    def __post_init__(self) -> None:
        for name in ("kernels", "kernel", "batch", "presentations", "steps", "chunks"):
            v.integer(name, getattr(self, name), 1)
        v.integer("patch", self.patch, self.kernel)
        v.number("dt", self.dt, above=0, at_most=1e-3)
        v.integer("seed", self.seed, 0, 2**32 - 1)

    def stdp_parameters(self) -> STDPParameters:
        """The conv2d STDP parameters."""
        p = STDPParameters(
            tau_pre_inv=1.0 / self.tau_stdp,
            tau_post_inv=1.0 / self.tau_stdp,
            eta_plus=self.eta_plus,
            eta_minus=self.eta_minus,
            stdp_algorithm="multiplicative_relu",
            convolutional=True,
        )
        return validate_parameters(p, dt=self.dt)


@dataclasses.dataclass(frozen=True)
class ReceptiveFieldsResult:
    """What :func:`receptive_fields` learned.

    Args:
        config: the settings.
        initial, kernels: ``(kernels, 2, kernel, kernel)`` weights before and
            after learning.
        examples: ``(batch, 2, patch, patch)`` the first presented patches.
        spikes: ``(presentations, kernels)`` spikes of each kernel (all
            positions and images) per presentation.
        row: the JSON line: ``experiment``, ``seed``, ``kernels``,
            ``presentations``, ``seconds`` (simulated), ``coherence`` (mean
            :func:`orientation_coherence` of the kernels), ``coherence_init``,
            ``active_kernels`` (kernels that spiked in the last 10% of the
            presentations), ``wall_s``.
    """

    config: ReceptiveFieldsConfig
    initial: np.ndarray
    kernels: np.ndarray
    examples: np.ndarray
    spikes: np.ndarray
    row: dict[str, Any]


def _network(config: ReceptiveFieldsConfig, w: jax.Array) -> Network:
    """ON/OFF patches -> conv2d kernels -> competing LIF neurons."""
    p_stdp = config.stdp_parameters()
    conv = p_stdp.conv2d()
    patch = (2, config.patch, config.patch)
    out = conv.output_shape(patch, w.shape)
    return Network(
        populations=(
            Input("patches", patch),
            Population("kernels", CompetingLIFParameters(), out),
        ),
        projections=(Projection("patches", "kernels", conv, w, rule=p_stdp, name="w"),),
    )


@functools.partial(jax.jit, static_argnames=("steps", "threshold"))
def _receptive_fields_chunk(state, network, patches, dt, *, steps, threshold):
    """Present ``patches`` ``(N, batch, 2, P, P)`` one batch after the other.

    Between presentations the network is reset (membranes and traces), the
    thresholds ``theta`` and the weights are kept.
    """

    def present(state, values):
        z_in = latency_code(values, steps, threshold)
        state, _ = run(network, z_in, dt=dt, state=network.reset(state))
        return state, state.counts["kernels"].sum(axis=(0, 2, 3))

    return jax.lax.scan(present, state, patches)


def receptive_fields(
    config: ReceptiveFieldsConfig | None = None, progress: bool = False
) -> ReceptiveFieldsResult:
    """Learn conv2d kernels from natural images with STDP (see the config).

    What to expect with the defaults (seed 0): the
    16 random kernels become smooth oriented edge and bar detectors (an ON
    band beside an OFF band), mostly horizontal and vertical with a few
    diagonals; the mean :func:`orientation_coherence` rises from 0.19 to
    0.58.
    """
    config = ReceptiveFieldsConfig() if config is None else config
    start = time.perf_counter()
    images = on_off_images()
    rng = np.random.default_rng(config.seed)
    n, b, size = config.presentations, config.batch, config.patch
    which = rng.integers(0, images.shape[0], (n, b))
    ys = rng.integers(0, images.shape[2] - size + 1, (n, b))
    xs = rng.integers(0, images.shape[3] - size + 1, (n, b))
    rows, cols = np.arange(size)[:, None], np.arange(size)[None, :]
    patches = images[which[..., None, None], :, ys[..., None, None] + rows,
                     xs[..., None, None] + cols]  # fmt: skip
    patches = np.moveaxis(patches, -1, 2)  # (n, b, 2, P, P)
    shape = (config.kernels, 2, config.kernel, config.kernel)
    noise = jax.random.normal(jax.random.key(config.seed), shape)
    w = jnp.clip(config.init + config.init_std * noise, 0.0, 1.0)
    initial = np.asarray(w)
    network = _network(config, w)
    state = network.init(config.batch)
    per_chunk = -(-n // config.chunks)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, unit="batch", disable=None, desc="receptive-fields")
    spikes = []
    for first in range(0, n, per_chunk):
        state, count = _receptive_fields_chunk(
            state,
            network,
            jnp.asarray(patches[first : first + per_chunk]),
            config.dt,
            steps=config.steps,
            threshold=config.threshold,
        )
        spikes.append(np.asarray(count))
        if bar is not None:
            bar.update(min(per_chunk, n - first))
    if bar is not None:
        bar.close()
    kernels, spikes = np.asarray(state.weights["w"]), np.concatenate(spikes)
    last = spikes[-max(1, n // 10) :].sum(axis=0)
    row = {
        "experiment": "receptive_fields",
        "seed": config.seed,
        "kernels": config.kernels,
        "presentations": n,
        "seconds": round(n * config.steps * config.dt, 6),
        "coherence": round(float(orientation_coherence(kernels).mean()), 4),
        "coherence_init": round(float(orientation_coherence(initial).mean()), 4),
        "active_kernels": int((last > 0).sum()),
        "wall_s": round(time.perf_counter() - start, 3),
    }
    return ReceptiveFieldsResult(config, initial, kernels, patches[0], spikes, row)


def receptive_fields_figure(result: ReceptiveFieldsResult) -> Any:
    """Example patches, initial kernels and learned kernels (ON - OFF, grey)."""
    from jstdp import plot

    fig = plot.new_figure(figsize=(12, 4.4))
    axes = fig.subplots(1, 3, width_ratios=[1, 1, 1])
    plot.kernel_grid(result.examples, axes[0], title="example patches (ON - OFF)")
    coh = orientation_coherence(result.initial).mean()
    plot.kernel_grid(
        result.initial, axes[1], title=f"initial kernels (coherence {coh:.2f})"
    )
    coh = orientation_coherence(result.kernels).mean()
    plot.kernel_grid(
        result.kernels, axes[2], title=f"learned kernels (coherence {coh:.2f})"
    )
    fig.suptitle(
        f"conv2d STDP on natural images: {result.row['presentations']} batches of "
        f"{result.config.batch} patches, seed {result.config.seed} "
        "(white: ON, black: OFF)",
        fontsize="medium",
    )
    return fig


def receptive_fields_json(result: ReceptiveFieldsResult) -> dict[str, Any]:
    """The row, the config, the kernels and the spike counts, JSON-ready."""
    return {
        "row": result.row,
        "config": dataclasses.asdict(result.config),
        "kernels": np.round(result.kernels, 5).tolist(),
        "coherence": np.round(orientation_coherence(result.kernels), 4).tolist(),
        "spikes_per_presentation": result.spikes.tolist(),
    }
