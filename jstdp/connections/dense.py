"""All-to-all connection with a dense weight matrix (Norse's linear layer)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jstdp._pytree import pytree
from jstdp.connections._common import HIGHEST, check_weight_shape


@pytree
class Dense:
    r"""Every presynaptic neuron to every postsynaptic one.

    Weights ``w`` are ``(n_post, n_pre)`` (Norse's and PyTorch's layout);
    spikes are ``(batch, n_pre)`` in and ``(batch, n_post)`` out.

    .. math::
        \mathrm{drive}_{bi} = \sum_j w_{ij} z_{bj}, \qquad
        \mathrm{correlate}(x, y)_{ij} = \sum_b x_{bi} y_{bj}
    """

    incoming_axes = (1,)  # a postsynaptic neuron's inputs: one row of w

    def weight_shape(
        self, pre_shape: tuple[int, ...], post_shape: tuple[int, ...]
    ) -> tuple[int, ...]:
        _vector("presynaptic", pre_shape)
        _vector("postsynaptic", post_shape)
        return (post_shape[0], pre_shape[0])

    def output_shape(
        self, pre_shape: tuple[int, ...], w_shape: tuple[int, ...]
    ) -> tuple[int, ...]:
        """``(n_post,)`` for presynaptic ``(n_pre,)`` and ``w`` ``(n_post, n_pre)``."""
        _vector("presynaptic", pre_shape)
        if len(w_shape) != 2:
            raise ValueError(
                f"w must have rank 2 (n_post, n_pre) for a Dense connection, got "
                f"shape {tuple(w_shape)}"
            )
        check_weight_shape("w", w_shape, (w_shape[0], pre_shape[0]))
        return (w_shape[0],)

    def drive(self, z_pre: jax.Array, w: jax.Array) -> jax.Array:
        """``z_pre @ w.T``: ``(batch, n_post)``."""
        return jnp.einsum("bj,ij->bi", z_pre, w, precision=HIGHEST)

    def drive_delayed(
        self, history: jax.Array, w: jax.Array, delays: jax.Array, step: jax.Array
    ) -> jax.Array:
        """Drive through per-synapse delays: ``sum_j w_ij z_j(t - d_ij)``.

        ``history`` is the ring ``(D, batch, n_pre)`` whose slot ``s % D``
        holds the spikes of step ``s``; ``delays`` ``(n_post, n_pre)`` are
        ints in ``[1, D]``; ``step`` is the current step ``t``.
        """
        slot = (step - delays) % history.shape[0]  # (n_post, n_pre)
        columns = jnp.arange(w.shape[1])
        seen = history[slot, :, columns[None, :]]  # (n_post, n_pre, batch)
        return jnp.einsum("ijb,ij->bi", seen, w, precision=HIGHEST)

    def enqueue_delayed(
        self,
        queue: jax.Array,
        z_pre: jax.Array,
        w: jax.Array,
        delays: jax.Array,
        step: jax.Array,
    ) -> jax.Array:
        """Queue this step's spikes with today's weights: the drive they
        deliver ``d_ij`` steps later (a projection's ``weight_at="emission"``).

        ``queue`` is the ring ``(D, batch, n_post)`` whose slot ``s % D``
        holds the drive of step ``s``; ``delays`` ``(n_post, n_pre)`` are ints
        in ``[1, D]``; ``step`` is the current step ``t``:
        ``queue[(t + d_ij) % D, b, i] += w_ij z_bj``.
        """
        slot = (step + delays) % queue.shape[0]  # (n_post, n_pre)
        rows = jnp.arange(w.shape[0])[:, None]
        sent = w[:, :, None] * z_pre.T[None, :, :]  # (n_post, n_pre, batch)
        return queue.at[slot, :, rows].add(sent)

    def correlate(
        self, post: jax.Array, pre: jax.Array, w_shape: tuple[int, ...]
    ) -> jax.Array:
        """``sum_b post[b] (x) pre[b]``: ``(n_post, n_pre)``.

        With one sample the sum has one term: an outer product, which XLA
        fuses into the weight update (one pass over ``w``, the same values).
        """
        del w_shape
        if post.shape[0] == 1:
            return post[0][:, None] * pre[0][None, :]
        return jnp.einsum("bi,bj->ij", post, pre, precision=HIGHEST)

    def pairs(self, post: jax.Array, pre: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``post`` and ``pre`` spread over the synapses, per batch entry:
        ``(batch, n_post, 1)`` and ``(batch, 1, n_pre)``, which broadcast to
        ``(batch, *w.shape)`` (for rules whose state or masks are per synapse)."""
        return post[:, :, None], pre[:, None, :]

    def sum_pairs(self, x: jax.Array) -> jax.Array:
        """``sum_b x[b]``: per-synapse values ``(batch, n_post, n_pre)`` summed
        over the batch, in the layout of ``w``."""
        return jnp.sum(x, axis=0)


def _vector(side: str, shape: tuple[int, ...]) -> None:
    if len(shape) != 1:
        raise ValueError(
            f"a Dense connection needs {side} neurons of shape (n,), got {tuple(shape)}"
        )
