"""Threefry-2x32 in plain ``jnp``: the bits of ``jax.random``, unrolled.

On CPU, JAX lowers its threefry hash as a rolled five-iteration while loop
(``use_rolled_loops`` in ``jax._src.random.threefry2x32``), which XLA cannot
fuse with its neighbours: inside a closed loop it is most of a step. Written
out in ``jnp`` the same 20 rounds are integer additions, rotations and xors
that XLA fuses and vectorises. The results are the same integers, so spikes
drawn from them are the same spikes.

Only what :func:`jstdp.neurons.encoders.poisson_block` needs:
``fold_in(key, t)`` and ``jax.random.bits(key, shape, uint32)`` for a
threefry key, with ``jax_threefry_partitionable`` on (JAX's default).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA


def _rotl(x: jax.Array, r: int) -> jax.Array:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(
    k1: jax.Array, k2: jax.Array, x1: jax.Array, x2: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Threefry-2x32 with 20 rounds (``jax.random``'s ``threefry2x32_p``).

    All arguments ``uint32``, broadcast together; returns the two output words.
    """
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(_PARITY))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = _rotl(x2, r) ^ x1
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def supported(key: jax.Array) -> bool:
    """Whether ``key`` draws with threefry-2x32 in JAX's partitionable mode.

    ``key`` is a typed key or a raw ``uint32[2]`` key (of the default
    implementation); under ``vmap`` its batch axes do not matter.
    """
    if not jax.config.jax_threefry_partitionable:
        return False
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return str(jax.random.key_impl(key)) == "threefry2x32"
    return key.dtype == np.uint32 and str(jax.config.jax_default_prng_impl) == (
        "threefry2x32"
    )


def key_data(key: jax.Array) -> jax.Array:
    """The ``uint32[..., 2]`` words of a threefry key (typed or raw)."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def fold_in(kd: jax.Array, t: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``key_data(fold_in(key, t))`` as two words, for ``kd = key_data(key)``.

    ``t`` may have any shape (one new key per entry).
    """
    t = jnp.asarray(t).astype(jnp.uint32)
    return threefry2x32(kd[..., 0], kd[..., 1], jnp.zeros_like(t), t)


def bits(k1: jax.Array, k2: jax.Array, size: int) -> jax.Array:
    """``jax.random.bits(key, (size,), uint32)`` for a key with words ``k1, k2``.

    ``k1`` and ``k2`` may have a shape ``S`` (one key each): the result is
    ``(*S, size)``. ``size`` must be below ``2**32`` (the counter's high word
    is then 0).
    """
    b1, b2 = words(k1, k2, size)
    return b1 ^ b2


def words(k1: jax.Array, k2: jax.Array, size: int) -> tuple[jax.Array, jax.Array]:
    """The two threefry words of counters ``0 .. size - 1`` under each key:
    ``(*S, size)`` each (``jax.random``'s partitionable layout)."""
    shape = (*jnp.shape(k1), size)
    counts = jnp.broadcast_to(jnp.arange(size, dtype=jnp.uint32), shape)
    k1 = jnp.broadcast_to(jnp.asarray(k1)[..., None], shape)
    k2 = jnp.broadcast_to(jnp.asarray(k2)[..., None], shape)
    return threefry2x32(k1, k2, jnp.zeros(shape, jnp.uint32), counts)
