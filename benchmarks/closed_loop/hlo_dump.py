import sys

import jax
import jax.numpy as jnp

from jax_loop import ETA_MINUS, F32, G_MAX, Cfg, init_state, key_for, make_run

cfg = eval(sys.argv[1]) if len(sys.argv) > 1 else Cfg()
steps = 1000
fn = make_run(cfg, steps)
state = init_state(jax.random.key(123))
key = key_for(cfg)
params = (jnp.asarray(G_MAX, F32), jnp.asarray(ETA_MINUS, F32))
txt = fn.lower(state, key, params).compile().as_text()
open("hlo.txt", "w").write(txt)

print(len(txt.splitlines()), "lines")
for line in txt.splitlines():
    if (
        " fusion" in line
        and "=" in line
        and "calls=" in line
        or "while(" in line
        or "custom-call" in line
        or " dot(" in line
    ):
        print(line.strip()[:200])
