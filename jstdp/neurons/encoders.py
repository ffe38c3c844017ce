"""Encoders: spike trains from values (Poisson, latency)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import pytree


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
    dtype = rates.dtype if jnp.issubdtype(rates.dtype, jnp.floating) else jnp.float32
    u = jax.random.uniform(key, rates.shape, dtype)
    return (u < rates.astype(dtype) * jnp.asarray(dt, dtype)).astype(dtype)


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
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
    u = jax.random.uniform(key, (seq_length, *x.shape), dtype)
    limit = jnp.asarray(dt, dtype) * jnp.asarray(f_max, dtype) * x.astype(dtype)
    return (u < limit[None]).astype(dtype)


@pytree
class PoissonInput:
    """Input spikes drawn inside a run's scan, one Bernoulli step per time step.

    Step ``t`` draws ``poisson_step(jax.random.fold_in(key, t), rates_hz, dt)``
    with ``t`` the global step count, so a long run needs no ``[T, ...]``
    input array and a continued or chunked run draws the same spikes as one
    long run.

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
