"""Threefry-2x32 in plain jnp, unrolled: the same bits as jax.random (CPU
lowers threefry as a rolled 5-iteration while loop, which XLA cannot fuse)."""

import jax
import jax.numpy as jnp

_R0 = (13, 15, 26, 6)
_R1 = (17, 29, 16, 24)


def _rotl(x, r):
    return (x << jnp.uint32(r)) | (x >> jnp.uint32(32 - r))


def threefry2x32(k1, k2, x1, x2):
    ks = (k1, k2, k1 ^ k2 ^ jnp.uint32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in _R0 if i % 2 == 0 else _R1:
            x1 = x1 + x2
            x2 = _rotl(x2, r) ^ x1
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + jnp.uint32(i + 1)
    return x1, x2


def fold_in(kd, t):
    """kd: uint32[2] key data; t: int scalar. == key_data(fold_in(key, t))."""
    b1, b2 = threefry2x32(
        kd[0], kd[1], jnp.uint32(0), jnp.asarray(t).astype(jnp.uint32)
    )
    return jnp.stack([b1, b2])


def bits(kd, n):
    """== jax.random.bits(key, (n,), uint32) for a threefry key with data kd."""
    b1, b2 = threefry2x32(
        kd[0], kd[1], jnp.zeros((n,), jnp.uint32), jnp.arange(n, dtype=jnp.uint32)
    )
    return b1 ^ b2


if __name__ == "__main__":
    key = jax.random.key(7)
    kd = jax.random.key_data(key)
    for t in (0, 1, 12345, 2**31 - 1):
        a = jax.random.bits(jax.random.fold_in(key, t), (1000,), jnp.uint32)
        b = jax.jit(lambda kd, t: bits(fold_in(kd, t), 1000))(kd, t)
        print(t, bool(jnp.all(a == b)))
    ks = jax.random.split(key, 3)
    for k in ks:
        a = jax.random.bits(jax.random.fold_in(k, 99), (1001,), jnp.uint32)
        b = bits(fold_in(jax.random.key_data(k), 99), 1001)
        print(bool(jnp.all(a == b)))
