"""The STDP window of one pre/post spike pair, measured by simulation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jstdp._loops import simulate_linear
from jstdp._norse import STDPParameters


def stdp_window(
    p_stdp: STDPParameters | None = None,
    dt: float = 1e-3,
    max_lag_steps: int = 50,
    w0: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """The STDP window of one pre/post spike pair, measured by simulation.

    For every lag ``k`` in ``[-max_lag_steps, max_lag_steps]`` one synapse
    with weight ``w0`` sees a presynaptic spike at step ``M = max_lag_steps``
    and a postsynaptic spike at step ``M + k``, replayed through
    :func:`jstdp.simulate_linear` (all lags in one ``vmap``). With Norse's
    Euler traces, ``k > 0`` gives ``A_plus(w0) * dt * tau_pre_inv * a_pre *
    (1 - dt * tau_pre_inv) ** k`` and ``k = 0`` both terms.

    Returns:
        ``(lags_s, dw)``: lags ``t_post - t_pre`` in seconds and the weight
        changes, both ``(2 * max_lag_steps + 1,)``.
    """
    if isinstance(max_lag_steps, bool) or not isinstance(max_lag_steps, int):
        raise TypeError(f"max_lag_steps must be an int, got {max_lag_steps!r}")
    if max_lag_steps < 0:
        raise ValueError(f"max_lag_steps must be >= 0, got {max_lag_steps}")
    p_stdp = STDPParameters() if p_stdp is None else p_stdp
    m = max_lag_steps
    lags = np.arange(-m, m + 1)
    t = np.arange(2 * m + 1)
    z_pre = (t == m).astype(np.float32)[:, None, None]
    z_post = (t[None, :] == (m + lags)[:, None]).astype(np.float32)[..., None, None]
    w = jnp.full((1, 1), w0, jnp.float32)

    def pair(post):
        return simulate_linear(z_pre, post, w, p_stdp=p_stdp, dt=dt)[0][0, 0]

    dw = jax.jit(jax.vmap(pair))(jnp.asarray(z_post)) - w0
    return lags * dt, np.asarray(dw, np.float64)
