"""Test helpers shared by several modules: the rule cases, the weight
dependence in NumPy, and the output size of a conv2d geometry case."""

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
