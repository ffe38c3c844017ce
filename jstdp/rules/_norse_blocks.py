r"""Norse's rule on a dense layer with batch 1, many steps at a time (open loop).

Given the spikes of ``R`` steps, the traces of every step are known before
any weight changes (they do not depend on ``w``), and entry ``(i, j)``
changes only at the steps where postsynaptic ``i`` (a row event) or
presynaptic ``j`` (a column event) spikes. Its updates are those of
:func:`jstdp.rules.norse.event_update`, in the same order, whatever happens
to the other entries: so the ``R`` steps can run tile by tile. A tile is
``TB`` rows of ``w``, transposed (``(n_pre, TB)``, a column event is then a
contiguous line) and small enough to stay in cache while all ``R`` steps
replay on it:

.. math::
    \text{column event } (s, j):\ w_{ij} \leftarrow
        \mathrm{bound}(w_{ij} + A_+ z^{post}_{si} t^{pre}_{sj}
        - A_- t^{post}_{si} z^{pre}_{sj})
        \quad \text{for every } i \text{ with } z^{post}_{si} = 0 \\
    \text{row event } (s, i):\ w_{i\cdot} \leftarrow
        \mathrm{bound}(w_{i\cdot} + A_+ z^{post}_{si} t^{pre}_{s\cdot}
        - A_- t^{post}_{si} z^{pre}_{s\cdot})

A tile runs its row events in time order, each after the column events
of the steps up to it. Eager column events (:func:`event_update`, step by
step on the whole ``w``) cost a cache line per entry, a row of ``w`` apart;
here a tile crosses memory once per block and its column events are
contiguous lines of a tile in cache (``benchmarks/profiles.md``). The
numbers are those of ``R`` calls of the rule, bit for bit.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jstdp.connections.dense import Dense
from jstdp.rules import norse
from jstdp.rules.norse import (
    FastPaths,
    NorseSTDP,
    STDPState,
    _first,
    apply_update,
    update,
)

# Steps replayed per block: the traces of a block are (R, n) arrays.
BLOCK_STEPS = 128
# A step's list of column events holds n_pre // COLUMN_SHARE presynaptic
# spikes (1.6%); a block with a step over it runs step by step.
COLUMN_SHARE = 64
# Bytes of w per tile (a tile and its column lists stay in a core's L2).
TILE_BYTES = 1 << 18  # 256 KiB


def block_steps(
    p: NorseSTDP, paths: FastPaths, connection: Any, batch: int, w: jax.Array
) -> int:
    """Steps per block for this rule and layer, or 0 where blocks do not apply.

    Blocks need what :func:`event_update` needs (``paths.events``, batch 1,
    a large dense ``w``), a static ``**`` and scalar parameters (one value
    for every synapse and neuron).
    """
    scalars = all(
        np.ndim(getattr(p, name)) == 0
        for name in ("a_pre", "a_post", "tau_pre_inv", "tau_post_inv")
        + ("w_min", "w_max", "eta_plus", "eta_minus", "mu")
    )
    ok = (
        paths.events
        and isinstance(connection, Dense)
        and batch == 1
        and w.ndim == 2
        and w.size >= norse.EVENTS_MIN_ENTRIES
        and scalars
        and (p.stdp_algorithm != "multiplicative_pow" or paths.half is not None)
    )
    return BLOCK_STEPS if ok else 0


def update_block(
    p: NorseSTDP,
    paths: FastPaths,
    z_pre: jax.Array,
    z_post: jax.Array,
    w: jax.Array,
    state: STDPState,
    dt: jax.Array,
) -> tuple[jax.Array, STDPState]:
    """``R`` steps of the rule: spikes ``(R, 1, n_pre)`` and ``(R, 1, n_post)``.

    Equals ``R`` calls of ``update`` (bit for bit). Where a step has more
    presynaptic spikes than a step's column list holds (``n_pre //
    COLUMN_SHARE``), the block runs those ``R`` calls instead.
    """

    def trace(state, z):
        state = state.decay(*z, p.tau_pre_inv, p.tau_post_inv, p.a_pre, p.a_post, dt)
        return state, state

    end, traces = jax.lax.scan(trace, state, (z_pre, z_post))
    capacity = max(1, w.shape[1] // COLUMN_SHARE)
    zp, zq = z_pre[:, 0], z_post[:, 0]
    fits = jnp.max(jnp.sum(zp != 0, axis=1)) <= capacity

    def steps(w):
        def one(carry, z):
            return update(p, paths, *z, *carry, dt, Dense()), None

        return jax.lax.scan(one, (w, state), (z_pre, z_post))[0][0]

    # Loops of zero or one trip rather than a lax.cond: w is never copied.
    w = jax.lax.fori_loop(0, jnp.where(fits, 0, 1), lambda _, w: steps(w), w)
    return _tiles(p, paths.half, w, zp, zq, traces, capacity, fits), end


def _tiles(p, half, w, zp, zq, traces, capacity, go):
    """The block tile by tile, where ``go`` (every step's columns fit the lists)."""
    tp, tq = traces.t_pre[:, 0], traces.t_post[:, 0]
    cols = jax.vmap(lambda z: _first(z != 0, capacity))(zp)  # (R, C); n_pre pads
    # The column events' presynaptic spikes, gathered once for every tile.
    zp_cols = jnp.take_along_axis(zp, cols, axis=1, mode="fill", fill_value=0)
    n_post, n_pre = w.shape
    size = int(max(1, min(n_post, TILE_BYTES // max(1, n_pre * w.dtype.itemsize))))

    def tile(start, size, w):
        def cut(x):  # this tile's postsynaptic entries of an (R, n_post) array
            return jax.lax.dynamic_slice_in_dim(x, start, size, axis=1)

        zq_t, tq_t = cut(zq), cut(tq)
        on = zq_t != 0

        def columns(s, wt):
            c = cols[s]
            old = wt.at[c].get(mode="fill", fill_value=0)  # (C, size)
            # Rows without a spike: hebb_plus is 0 (plus=False); the others
            # keep their entries for their row events.
            hebb_minus = tq_t[s][None, :] * zp_cols[s][:, None]
            new = apply_update(old, 0.0, hebb_minus, p, half, plus=False)
            new = jnp.where(on[s][None, :], old, new)
            return wt.at[c].set(new, mode="drop", unique_indices=True)

        def row(s, i, wt):
            old = jax.lax.dynamic_slice_in_dim(wt, i, 1, axis=1)[:, 0]
            hebb_plus = zq_t[s, i] * tp[s]
            hebb_minus = tq_t[s, i] * zp[s]
            new = apply_update(old, hebb_plus, hebb_minus, p, half)
            return jax.lax.dynamic_update_slice_in_dim(wt, new[:, None], i, 1)

        # Row events in time order: the column events up to each, then it.
        flat = on.reshape(-1)
        events = _first(flat, flat.size)

        def event(k, carry):
            wt, done = carry
            s, i = events[k] // size, events[k] % size
            wt = jax.lax.fori_loop(done, s + 1, columns, wt)
            return row(s, i, wt), s + 1

        wt = jax.lax.dynamic_slice_in_dim(w, start, size, axis=0).T
        count = jnp.sum(flat, dtype=jnp.int32)
        wt, done = jax.lax.fori_loop(0, count, event, (wt, jnp.int32(0)))
        wt = jax.lax.fori_loop(done, zp.shape[0], columns, wt)
        return jax.lax.dynamic_update_slice_in_dim(w, wt.T, start, axis=0)

    n_tiles, rest = divmod(n_post, size)
    trips = jnp.where(go, n_tiles, 0)
    w = jax.lax.fori_loop(0, trips, lambda k, w: tile(k * size, size, w), w)
    if rest:
        end = n_tiles * size
        w = jax.lax.fori_loop(
            0, jnp.where(go, 1, 0), lambda _, w: tile(end, rest, w), w
        )
    return w
