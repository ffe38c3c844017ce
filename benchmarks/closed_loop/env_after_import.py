import os
import sys
import time

import jax
import jax.numpy as jnp

if sys.argv[1] == "set":
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=1000000000"
    )
import jax_loop as jl

cfg = jl.Cfg(impl="fry_jnp", block=1000)
f = jl.make_run(cfg, 100000)
s = jl.init_state(jax.random.key(123))
k = jl.key_for(cfg)
p = (jnp.float32(jl.G_MAX), jnp.float32(jl.ETA_MINUS))
jax.block_until_ready(f(s, k, p))
ts = []
for _ in range(3):
    t0 = time.perf_counter()
    jax.block_until_ready(f(s, k, p))
    ts.append(time.perf_counter() - t0)
print(sys.argv[1], f"{min(ts) / 1e5 * 1e6:.2f} us/step")
