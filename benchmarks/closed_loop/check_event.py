"""Event-driven vs dense on the SAME input spikes (events -> dense rows):
what the lazy traces change (rounding only)."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import event_loop as ev
import jax_loop as jl

steps, K = int(sys.argv[1]), 1000
params = (jnp.asarray(jl.G_MAX, jl.F32), jnp.asarray(jl.ETA_MINUS, jl.F32))
cfg = jl.Cfg()


@jax.jit
def dense_from_events(state, key, params):
    def outer(c, _):
        s, b, nxt = c
        j_ev, start, nxt, _ = ev.block_events(key, b, nxt, K)
        # dense rows of this block from the same events
        step_of = jnp.searchsorted(start, jnp.arange(j_ev.shape[0]), side="right") - 1
        zb = jnp.zeros((K + 1, jl.N), bool).at[step_of, j_ev].set(True)[:K]

        def inner(c2, z):
            s, t = c2
            return (jl.plastic_step(cfg, s, z, params, t), t + 1), None

        (s, _), _ = lax.scan(inner, (s, b * K), zb)
        return (s, b + 1, nxt), None

    first = jnp.floor(
        jnp.log(
            1.0 - jax.random.uniform(jax.random.fold_in(key, 2**31 - 1), (), jl.F32)
        )
        / ev.LOG_1MP
    ).astype(jnp.int32)
    (s, _, _), _ = lax.scan(outer, (state, jnp.int32(0), first), None, steps // K)
    return s


for seed in range(3):
    key = jax.random.key(seed)
    d = dense_from_events(jl.init_state(jax.random.key(123)), key, params)
    e, ovf = ev.make_run(steps, K)(ev.init_state(jax.random.key(123)), key, params)
    dw = np.abs(np.asarray(d["w"]) - np.asarray(e["w"]))
    print(
        f"seed {seed}: spikes dense {int(d['count'])} event {int(e['count'])}, max|dw| {dw.max():.2e}, "
        f"mean|dw| {dw.mean():.2e}, v equal {bool(d['v'] == e['v'])}"
    )
