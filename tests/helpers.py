"""Test helpers shared by several modules: the rule cases, the weight
dependence in NumPy, the output size of a conv2d geometry case, and a
Python run on 8 host CPU devices."""

import json
import os
import subprocess
import sys

import numpy as np

# Every algorithm, with a mu that exercises it. mu = 0.75 is exact in float32,
# so Norse's torch.tensor(mu) (float32 even for float64 weights) carries the
# same value as jstdp's float64 mu.
RULES = [
    ("additive", 0.0),
    ("additive_step", 0.0),
    ("multiplicative_pow", 0.75),
    ("multiplicative_relu", 1.0),
]
RULE_IDS = [r for r, _ in RULES]


def dependence(rule, mu, x):
    """Weight-dependence factor f(x) with x = w_max - w (LTP) or w - w_min (LTD)."""
    x = np.asarray(x, np.float64)
    return {
        "additive": np.ones_like(x),
        "additive_step": (x > 0).astype(np.float64),
        "multiplicative_pow": x**mu,
        "multiplicative_relu": np.maximum(x, 0.0),
    }[rule]


def conv_out_hw(geometry):
    """``(H_out, W_out)`` of a case ``(C_in, H, W, C_out, kh, kw, stride,
    padding, dilation, batch)`` (ints or ``(h, w)`` pairs), by PyTorch's
    formula ``(n + 2 p - d (k - 1) - 1) // s + 1``, independent of jstdp."""
    _, h, wd, _, kh, kw, stride, padding, dilation, _ = geometry

    def pair(v):
        return v if isinstance(v, tuple) else (v, v)

    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(
            (h, wd), (kh, kw), pair(stride), pair(padding), pair(dilation), strict=True
        )
    )


def run_on_8_devices(*args: str, timeout: int = 600) -> object:
    """``python *args`` with 8 host CPU devices; its last line of output, JSON."""
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
    }
    out = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env,
        timeout=timeout,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
