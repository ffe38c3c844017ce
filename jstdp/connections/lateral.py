"""All-to-all-but-self connection: lateral inhibition within a population."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jstdp._pytree import pytree
from jstdp.connections._common import HIGHEST, check_weight_shape
from jstdp.connections.dense import _vector


@pytree
class AllToAllButSelf:
    r"""Every neuron to every other neuron of a population of the same size.

    Diehl & Cook's inhibitory -> excitatory projection (neuron ``k`` inhibits
    all excitatory neurons but its partner ``k``). ``w`` is ``(n, n)``, whose
    diagonal is never used (and never learns), or a scalar, one weight for
    every pair, computed in closed form:

    .. math::
        \mathrm{drive}_{bi} = \sum_{j \ne i} w_{ij} z_{bj}
            \;\big(= w \,(\textstyle\sum_j z_{bj} - z_{bi})\ \text{for a scalar } w\big)
    """

    incoming_axes = (1,)

    def weight_shape(
        self, pre_shape: tuple[int, ...], post_shape: tuple[int, ...]
    ) -> tuple[int, ...]:
        _square(pre_shape, post_shape)
        return (pre_shape[0], pre_shape[0])

    def output_shape(
        self, pre_shape: tuple[int, ...], w_shape: tuple[int, ...]
    ) -> tuple[int, ...]:
        _vector("presynaptic", pre_shape)
        n = pre_shape[0]
        check_weight_shape("w", w_shape, (n, n), scalar=True)
        return (n,)

    def drive(self, z_pre: jax.Array, w: jax.Array) -> jax.Array:
        """``sum_{j != i} w_ij z_j``: ``(batch, n)``."""
        if w.ndim == 0:
            return w * (jnp.sum(z_pre, axis=1, keepdims=True) - z_pre)
        return jnp.einsum("bj,ij->bi", z_pre, _off_diagonal(w), precision=HIGHEST)

    def correlate(
        self, post: jax.Array, pre: jax.Array, w_shape: tuple[int, ...]
    ) -> jax.Array:
        """``sum_b post[b] (x) pre[b]`` with a zero diagonal: ``(n, n)``."""
        del w_shape
        return _off_diagonal(jnp.einsum("bi,bj->ij", post, pre, precision=HIGHEST))

    def pairs(self, post: jax.Array, pre: jax.Array) -> tuple[jax.Array, jax.Array]:
        """As :meth:`Dense.pairs` (the diagonal is dropped by :meth:`sum_pairs`)."""
        return post[:, :, None], pre[:, None, :]

    def sum_pairs(self, x: jax.Array) -> jax.Array:
        """``sum_b x[b]`` with a zero diagonal: ``(n, n)``."""
        return _off_diagonal(jnp.sum(x, axis=0))


def _off_diagonal(x: jax.Array) -> jax.Array:
    return jnp.where(jnp.eye(x.shape[0], dtype=bool), jnp.zeros((), x.dtype), x)


def _square(pre_shape: tuple[int, ...], post_shape: tuple[int, ...]) -> None:
    _vector("presynaptic", pre_shape)
    if tuple(pre_shape) != tuple(post_shape):
        raise ValueError(
            f"an AllToAllButSelf connection needs populations of the same size, "
            f"got {tuple(pre_shape)} -> {tuple(post_shape)}"
        )
