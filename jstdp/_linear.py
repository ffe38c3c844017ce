"""STDP step for a dense (linear) layer."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp._parameters import STDPParameters, STDPState
from jstdp._rules import (
    HIGHEST,
    UNKNOWN,
    FastPaths,
    apply_update,
    bound,
    check_concrete,
    check_rank,
    check_shapes,
    decay_traces,
    fast_paths,
    prepare,
)

# On CPU, weights larger than this are updated in blocks of rows (see
# `update_rows`), so that w is read and written once per step instead of
# materialising w-sized products. Below it the whole update is faster
# (benchmarks/run.py, 2-core CPU, batch 8, 4096 x 4096 = 64 MiB: additive
# 12.3 vs 15.3 ms, multiplicative_pow 18.8 vs 25.2 ms per step); at 8192 x
# 8192 they are even (additive 80 vs 91 ms, pow 122 vs 115 ms), and the
# blocks spare 256 MiB per product.
BLOCKED_MIN_BYTES = 1 << 27  # 128 MiB
# Bytes of w per block: a block and its two products stay in a core's L2.
BLOCK_BYTES = 1 << 18  # 256 KiB


def update(
    w: jax.Array,
    z_pre: jax.Array,
    z_post: jax.Array,
    state: STDPState,
    p: STDPParameters,
    paths: FastPaths = UNKNOWN,
) -> jax.Array:
    """``bound(w + A_+(w) z_post^T t_pre - A_-(w) t_post^T z_pre)``, batch summed.

    ``z_pre``, ``z_post`` and the (already decayed) traces are ``(batch, n)``;
    returns the new ``(n_post, n_pre)`` weights.

    With ``paths.merged`` (``additive``, concrete scalar learning rates) it is
    one product over the stacked
    batch, ``[eta_+ z_post, -eta_- t_post]^T [t_pre, z_pre]`` (the same
    terms summed in another order: 0.46 -> 0.36 ms per L-mid step of
    benchmarks/run.py on a 2-core CPU).
    """
    if paths.merged:
        left = jnp.concatenate([p.eta_plus * z_post, -p.eta_minus * state.t_post])
        right = jnp.concatenate([state.t_pre, z_pre])
        return bound(w + jnp.einsum("bi,bj->ij", left, right, precision=HIGHEST), p)
    hebb_plus = jnp.einsum("bi,bj->ij", z_post, state.t_pre, precision=HIGHEST)
    hebb_minus = jnp.einsum("bi,bj->ij", state.t_post, z_pre, precision=HIGHEST)
    return apply_update(w, hebb_plus, hebb_minus, p, paths.half)


def update_rows(
    w: jax.Array,
    z_pre: jax.Array,
    z_post: jax.Array,
    state: STDPState,
    p: STDPParameters,
    rows: int,
    paths: FastPaths = UNKNOWN,
) -> jax.Array:
    """:func:`update`, ``rows`` rows of ``w`` at a time.

    Row ``i`` of the new weights needs only row ``i`` of ``w`` and column
    ``i`` of ``z_post`` and ``t_post``, so each block is :func:`update` of a
    slice, with the same arithmetic per entry. Blocks are written back in
    place (``dynamic_update_slice`` on a ``fori_loop`` carry) and their
    products never leave the cache.
    """
    rows = min(rows, w.shape[0])
    n_blocks, rest = divmod(w.shape[0], rows)

    def block(start: jax.Array | int, size: int, w: jax.Array) -> jax.Array:
        def cols(x: jax.Array) -> jax.Array:
            return jax.lax.dynamic_slice_in_dim(x, start, size, axis=1)

        new_rows = update(
            jax.lax.dynamic_slice_in_dim(w, start, size, axis=0),
            z_pre,
            cols(z_post),
            STDPState(state.t_pre, cols(state.t_post)),
            p,
            paths,
        )
        return jax.lax.dynamic_update_slice_in_dim(w, new_rows, start, axis=0)

    w = jax.lax.fori_loop(0, n_blocks, lambda k, w: block(k * rows, rows, w), w)
    return block(n_blocks * rows, rest, w) if rest else w


@functools.partial(jax.jit, static_argnames="paths")
def step_linear_jit(z_pre, z_post, w, state_stdp, p_stdp, dt, paths=UNKNOWN):
    check_rank("z_pre", z_pre, 2, "(batch, n_pre)")
    check_rank("z_post", z_post, 2, "(batch, n_post)")
    check_rank("w", w, 2, "(n_post, n_pre)")
    (batch, n_pre), n_post = jnp.shape(z_pre), jnp.shape(z_post)[1]
    check_shapes("z_post", jnp.shape(z_post), (batch, n_post))
    check_shapes("w", jnp.shape(w), (n_post, n_pre))
    check_shapes("state_stdp.t_pre", jnp.shape(state_stdp.t_pre), (batch, n_pre))
    check_shapes("state_stdp.t_post", jnp.shape(state_stdp.t_post), (batch, n_post))
    w, state, p, dt, (z_pre, z_post) = prepare(w, state_stdp, p_stdp, dt, z_pre, z_post)

    state = decay_traces(z_pre, z_post, state, p, dt)
    rows = max(1, BLOCK_BYTES // max(1, n_pre * w.dtype.itemsize))  # n_pre may be 0
    if w.size * w.dtype.itemsize <= BLOCKED_MIN_BYTES or n_post <= rows:
        return update(w, z_pre, z_post, state, p, paths), state
    # Accelerators run one big product faster than a loop of small ones.
    blocked = functools.partial(update_rows, rows=rows, paths=paths)
    whole = functools.partial(update, paths=paths)
    w = jax.lax.platform_dependent(
        w, z_pre, z_post, state, p, cpu=blocked, default=whole
    )
    return w, state


def stdp_step_linear(
    z_pre: ArrayLike,
    z_post: ArrayLike,
    w: ArrayLike,
    state_stdp: STDPState,
    p_stdp: STDPParameters | None = None,
    dt: ArrayLike = 0.001,
) -> tuple[jax.Array, STDPState]:
    r"""One STDP step of a dense layer (Norse's ``stdp_step_linear``), jitted.

    Traces first, then the weight update from the updated traces, summed over
    the batch:

    .. math::
        t_{pre} &\leftarrow t_{pre} + dt\,\tau_{pre}^{-1}(-t_{pre} + a_{pre} z_{pre}) \\
        t_{post} &\leftarrow t_{post}
            + dt\,\tau_{post}^{-1}(-t_{post} + a_{post} z_{post}) \\
        w &\leftarrow \mathrm{bound}\Big(w + A_+(w) \textstyle\sum_b z_{post}^{b\top}
            t_{pre}^{b} - A_-(w) \sum_b t_{post}^{b\top} z_{pre}^{b}\Big)

    Args:
        z_pre: presynaptic spikes, shape ``(batch, n_pre)``; float, int or bool.
        z_post: postsynaptic spikes, shape ``(batch, n_post)``.
        w: weights, shape ``(n_post, n_pre)``, floating; sets the compute dtype.
        state_stdp: traces ``t_pre`` ``(batch, n_pre)``, ``t_post`` ``(batch, n_post)``.
        p_stdp: parameters (default ``STDPParameters()``).
        dt: time step in seconds, > 0.

    Returns:
        ``(w, state_stdp)``: new weights and traces (inputs are not modified).

    Raises:
        ValueError: wrong ranks or shapes, ``dt <= 0``, ``w_min >= w_max``,
            non-finite ``dt`` or parameters (concrete values only).
        TypeError: ``w`` not floating, wrong parameter or state type.

    Warns:
        RuntimeWarning: ``dt * tau_inv >= 1`` (concrete values): the Euler
        trace update overshoots.

    Do not ``vmap`` over the batch axis: the update is summed over the batch;
    ``vmap`` is for independent networks and parameter sweeps.
    """
    p_stdp = STDPParameters() if p_stdp is None else p_stdp
    check_concrete(p_stdp, dt, state_stdp)
    z_pre, z_post, w = jnp.asarray(z_pre), jnp.asarray(z_post), jnp.asarray(w)
    paths = fast_paths(p_stdp)
    return step_linear_jit(z_pre, z_post, w, state_stdp, p_stdp, dt, paths=paths)


def drive_linear(z_pre: jax.Array, w: jax.Array) -> jax.Array:
    """Synaptic drive of a dense layer, ``z_pre @ w.T``: ``(batch, n_post)``.

    ``z_pre`` is ``(batch, n_pre)`` and ``w`` ``(n_post, n_pre)``, same dtype.
    """
    return jnp.einsum("bj,ij->bi", z_pre, w, precision=HIGHEST)
