"""One-to-one connection: neuron k drives neuron k (Diehl & Cook's E -> I)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jstdp._pytree import pytree
from jstdp.connections._common import check_weight_shape


@pytree
class OneToOne:
    r"""Presynaptic neuron ``k`` to postsynaptic neuron ``k`` only.

    Pre and post populations have the same shape; ``w`` has that shape, or
    is a scalar (one weight for every pair, computed in closed form).

    .. math::
        \mathrm{drive}_{bk} = w_k z_{bk}, \qquad
        \mathrm{correlate}(x, y)_k = \sum_b x_{bk} y_{bk}
    """

    incoming_axes = ()  # one input per neuron: nothing to normalise over

    def weight_shape(
        self, pre_shape: tuple[int, ...], post_shape: tuple[int, ...]
    ) -> tuple[int, ...]:
        _same(pre_shape, post_shape)
        return tuple(pre_shape)

    def output_shape(
        self, pre_shape: tuple[int, ...], w_shape: tuple[int, ...]
    ) -> tuple[int, ...]:
        check_weight_shape("w", w_shape, tuple(pre_shape), scalar=True)
        return tuple(pre_shape)

    def drive(self, z_pre: jax.Array, w: jax.Array) -> jax.Array:
        """``w * z_pre``, shaped like ``z_pre``."""
        return w * z_pre

    def correlate(
        self, post: jax.Array, pre: jax.Array, w_shape: tuple[int, ...]
    ) -> jax.Array:
        """``sum_b post[b] * pre[b]``, shaped like ``w``."""
        del w_shape
        return jnp.sum(post * pre, axis=0)

    def pairs(self, post: jax.Array, pre: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``post`` and ``pre`` as they are: synapse ``k`` joins neurons ``k``."""
        return post, pre

    def sum_pairs(self, x: jax.Array) -> jax.Array:
        """``sum_b x[b]``, shaped like ``w``."""
        return jnp.sum(x, axis=0)


def _same(pre_shape: tuple[int, ...], post_shape: tuple[int, ...]) -> None:
    if tuple(pre_shape) != tuple(post_shape):
        raise ValueError(
            f"a OneToOne connection needs populations of the same shape, got "
            f"{tuple(pre_shape)} -> {tuple(post_shape)}"
        )
