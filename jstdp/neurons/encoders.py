"""Encoders: spike trains from values (Poisson, latency)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jstdp import _threefry
from jstdp import _validation as v
from jstdp._pytree import pytree

# Mantissa bits of jax.random.uniform: u = (bits >> (width - m)) * 2**-m.
_MANTISSA = {np.dtype(np.float32): (32, 23), np.dtype(np.float64): (64, 52)}


def _spike_dtype(x: jax.Array) -> jnp.dtype:
    """Spikes come in ``x``'s floating dtype, float32 for integer ``x``."""
    return x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.dtype(jnp.float32)


def poisson_step(
    key: jax.Array, rates_hz: ArrayLike, dt: ArrayLike = 0.001
) -> jax.Array:
    """One step of independent Poisson spike trains (Bernoulli per step).

    ``z = U < rates_hz * dt`` with ``U ~ Uniform[0, 1)`` drawn from ``key``.

    Args:
        key: a ``jax.random`` key.
        rates_hz: firing rates in Hz, any shape.
        dt: time step in seconds.

    Returns:
        spikes (0/1) shaped like ``rates_hz``, in its floating dtype
        (float32 for integer rates).
    """
    rates = jnp.asarray(rates_hz)
    if jnp.issubdtype(rates.dtype, jnp.complexfloating):
        raise TypeError(f"rates_hz must be real, got {rates.dtype}")
    dtype = _spike_dtype(rates)
    u = jax.random.uniform(key, rates.shape, dtype)
    return (u < rates.astype(dtype) * jnp.asarray(dt, dtype)).astype(dtype)


def poisson_threshold(
    key: jax.Array, rates_hz: jax.Array, dt: ArrayLike, dtype: jax.typing.DTypeLike
) -> jax.Array | None:
    """The integer threshold of :func:`poisson_block`, or None where it cannot
    reproduce :func:`poisson_step` (a key other than threefry-2x32 in JAX's
    partitionable mode, a dtype other than float32/float64, ``2**32`` or more
    inputs).

    ``uniform`` keeps the top ``m`` bits of a random word (``m`` = 23 for
    float32, 52 for float64): ``u = k * 2**-m`` with ``k`` those bits, so
    ``u < p`` exactly when ``k < ceil(p * 2**m)`` (``p * 2**m`` is exact).
    """
    dtype = np.dtype(dtype)
    if (
        dtype not in _MANTISSA
        or not _threefry.supported(key)
        or np.prod(np.shape(rates_hz)) >= 2**32
    ):
        return None
    width, m = _MANTISSA[dtype]
    p = rates_hz.astype(dtype) * jnp.asarray(dt, dtype)  # as poisson_step
    scaled = jnp.ceil(jnp.minimum(p, 1) * 2.0**m)  # NaN and p <= 0: no spike
    uint = jnp.uint32 if width == 32 else jnp.uint64
    return jnp.where(p > 0, scaled, 0).astype(uint)


def poisson_block(
    key: jax.Array, start: jax.Array, steps: int, threshold: jax.Array
) -> jax.Array:
    """``steps`` consecutive steps of a :class:`PoissonInput`, drawn at once.

    Entry ``i`` equals ``poisson_step(jax.random.fold_in(key, start + i),
    rates_hz, dt) > 0`` bit for bit, with ``threshold =
    poisson_threshold(key, rates_hz, dt, dtype)`` (not None): the same
    threefry words (:mod:`jstdp._threefry`), compared as integers.

    Returns:
        ``(steps, *rates_hz.shape)`` bool spikes.
    """
    kd = _threefry.key_data(key)
    t = jnp.asarray(start, jnp.int32) + jnp.arange(steps, dtype=jnp.int32)
    k1, k2 = _threefry.fold_in(kd, t)
    size = int(np.prod(threshold.shape))
    if threshold.dtype == np.uint32:
        words = _threefry.bits(k1, k2, size)
        kept = words >> np.uint32(32 - _MANTISSA[np.dtype(np.float32)][1])
    else:  # float64: the high and low words of one uint64
        hi, lo = _threefry.words(k1, k2, size)
        words = (hi.astype(jnp.uint64) << np.uint64(32)) | lo.astype(jnp.uint64)
        kept = words >> np.uint64(64 - _MANTISSA[np.dtype(np.float64)][1])
    return (kept < threshold.reshape(1, size)).reshape(steps, *threshold.shape)


def poisson_steps(
    key: jax.Array, start: ArrayLike, steps: int, rates_hz: ArrayLike, dt: ArrayLike
) -> jax.Array:
    """Steps ``start .. start + steps - 1`` of a :class:`PoissonInput`, at once.

    Entry ``i`` is ``poisson_step(jax.random.fold_in(key, start + i),
    rates_hz, dt)``: the spikes a run draws in those steps, for sharing
    one draw between runs (by :func:`poisson_block` where it can, else
    step by step).

    Returns:
        ``(steps, *rates_hz.shape)`` spikes (0/1) in the rates' floating dtype
        (float32 for integer rates).
    """
    rates = jnp.asarray(rates_hz)
    dtype = _spike_dtype(rates)
    rates = rates.astype(dtype)
    threshold = poisson_threshold(key, rates, dt, dtype)
    if threshold is not None:
        return poisson_block(key, start, steps, threshold).astype(dtype)
    t = jnp.asarray(start, jnp.int32) + jnp.arange(steps, dtype=jnp.int32)
    # One step at a time, as a run draws them (rbg keys draw other bits under vmap).
    return jax.lax.map(lambda t: poisson_step(jax.random.fold_in(key, t), rates, dt), t)


def poisson_encode(
    key: jax.Array,
    input_values: ArrayLike,
    seq_length: int,
    f_max: ArrayLike = 100.0,
    dt: ArrayLike = 0.001,
) -> jax.Array:
    """Poisson spike trains from values in ``[0, 1]`` (Norse's ``poisson_encode``).

    ``z[t] = U[t] < dt * f_max * input_values``, ``U ~ Uniform[0, 1)``, so a
    value ``x`` fires at ``x * f_max`` Hz. Norse draws from a torch generator;
    here the randomness is the explicit ``key`` (same statistics, not the same
    numbers).

    Args:
        key: a ``jax.random`` key.
        input_values: values in ``[0, 1]``, any shape.
        seq_length: number of time steps ``T``.
        f_max: rate in Hz of an input value of 1.
        dt: time step in seconds.

    Returns:
        ``[T, *input_values.shape]`` spikes (0/1), in the input's floating
        dtype (float32 for integer input).
    """
    seq_length = v.integer("seq_length", seq_length, 0)
    x = jnp.asarray(input_values)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"input_values must be real, got {x.dtype}")
    dtype = _spike_dtype(x)
    u = jax.random.uniform(key, (seq_length, *x.shape), dtype)
    limit = jnp.asarray(dt, dtype) * jnp.asarray(f_max, dtype) * x.astype(dtype)
    return (u < limit[None]).astype(dtype)


@pytree
class PoissonInput:
    """Input spikes drawn inside a run's scan, one Bernoulli step per time step.

    Step ``t`` draws ``poisson_step(jax.random.fold_in(key, t), rates_hz, dt)``
    with ``t`` the global step count, so a long run needs no ``[T, ...]``
    input array and a continued or chunked run draws the same spikes as one
    long run. A run computes these draws for up to 128 steps at once
    (:func:`poisson_block`: the same spikes, bit for bit).

    Args:
        rates_hz: rates in Hz, ``(batch, *shape)`` of the input population;
            real, finite and ``>= 0``. A run checks ``rates_hz * dt <= 1``
            (at most one spike per step).
        key: a ``jax.random`` key; default: the run's ``key``, folded with
            the input's position among the network's populations.
    """

    rates_hz: ArrayLike
    key: jax.Array | None = None

    def __post_init__(self) -> None:
        v.require(
            "PoissonInput.rates_hz",
            {"rates_hz": self.rates_hz},
            lambda r: (r >= 0) & (abs(r) < float("inf")),
            "be finite and >= 0",
            "PoissonInput.",
        )
        if self.key is not None:
            v.prng_key("PoissonInput.key", self.key)


def latency_code(values: jax.Array, steps: int, threshold: float) -> jax.Array:
    """Intensity-to-latency code: one spike per value above ``threshold``.

    A value ``v`` in ``[0, 1]`` fires once, at step ``round((1 - v) *
    (steps - 1))``: the strongest inputs fire first (Thorpe; Masquelier &
    Thorpe 2007), the others stay silent.

    Returns:
        ``(steps, *values.shape)`` spikes (0/1), time-major.
    """
    latency = jnp.round((1 - values) * (steps - 1))
    t = jnp.arange(steps, dtype=values.dtype).reshape((steps,) + (1,) * values.ndim)
    return ((latency[None] == t) & (values[None] > threshold)).astype(values.dtype)
