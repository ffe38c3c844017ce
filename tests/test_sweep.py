"""Parameter sweeps: grids, vmapped runs equal individual runs, sharding.

The sharded case runs in a subprocess with 8 host CPU devices
(``--xla_force_host_platform_device_count=8``), with a grid size (12)
that 8 does not divide.
"""

import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import run_on_8_devices

import jstdp

# vmap batches the same operations; XLA may fuse the batched body differently
# (CPU FMA contraction), so a few float32 ulp over 80 steps.
RTOL, ATOL = 1e-5, 1e-6


def test_product_grid_stacks_swept_and_broadcasts_the_rest():
    base = jstdp.STDPParameters(tau_pre_inv=30.0, stdp_algorithm="multiplicative_pow")
    grid, rows = jstdp.parameter_grid(base, eta_plus=[1e-3, 2e-3, 3e-3], mu=[0.5, 1.0])
    assert len(rows) == 6
    assert rows[0] == {"eta_plus": 1e-3, "mu": 0.5}
    assert rows[1] == {"eta_plus": 1e-3, "mu": 1.0}  # the last field varies fastest
    assert rows[5] == {"eta_plus": 3e-3, "mu": 1.0}
    np.testing.assert_allclose(grid.eta_plus, [1e-3, 1e-3, 2e-3, 2e-3, 3e-3, 3e-3])
    np.testing.assert_allclose(grid.mu, [0.5, 1.0] * 3)
    np.testing.assert_array_equal(grid.tau_pre_inv, np.full(6, 30.0))
    assert grid.stdp_algorithm == "multiplicative_pow"  # static fields kept
    for name in ("a_pre", "w_max", "eta_minus"):
        assert getattr(grid, name).shape == (6,)


def test_zip_grid_and_neuron_parameters():
    grid, rows = jstdp.parameter_grid(
        jstdp.ConductanceLIFParameters(), "zip", g_max=[0.01, 0.02], v_th=[-55.0, -50.0]
    )
    assert rows == [{"g_max": 0.01, "v_th": -55.0}, {"g_max": 0.02, "v_th": -50.0}]
    np.testing.assert_allclose(grid.v_th, [-55.0, -50.0])
    np.testing.assert_array_equal(grid.e_leak, [-74.0, -74.0])
    lif, _ = jstdp.parameter_grid(
        jstdp.LIFParameters(), v_th=[np.ones(3), 2 * np.ones(3)]
    )
    assert lif.v_th.shape == (2, 3) and lif.v_leak.shape == (2,)


def test_grid_errors():
    base = jstdp.STDPParameters()
    with pytest.raises(ValueError, match="stdp_algorithm is a static field"):
        jstdp.parameter_grid(base, stdp_algorithm=["additive", "multiplicative_pow"])
    with pytest.raises(ValueError, match="no numeric field 'eta'.*eta_plus"):
        jstdp.parameter_grid(base, eta=[1.0])
    with pytest.raises(ValueError, match="needs lists of equal length"):
        jstdp.parameter_grid(base, "zip", eta_plus=[1.0, 2.0], eta_minus=[1.0])
    with pytest.raises(ValueError, match="non-empty list"):
        jstdp.parameter_grid(base, eta_plus=[])
    with pytest.raises(ValueError, match="at least one field"):
        jstdp.parameter_grid(base)
    with pytest.raises(ValueError, match="mode must be 'product' or 'zip'"):
        jstdp.parameter_grid(base, "outer", eta_plus=[1.0])
    with pytest.raises(TypeError, match="flax.struct parameter dataclass"):
        jstdp.parameter_grid({"eta_plus": 1.0}, eta_plus=[1.0])
    with pytest.raises(ValueError, match="share a leading sweep axis"):
        jstdp.run_sweep(lambda p: p, (jnp.zeros(3), jnp.zeros(4)))


def _closed_loop(entry, rates, w0):
    p_stdp, p_lif, key = entry
    w, state, _ = jstdp.run_linear(
        jstdp.PoissonInput(rates), w0, p_stdp, p_lif, steps=80, key=key
    )
    return w, jnp.sum(state.stdp.t_post)


def test_vmapped_grid_equals_individual_runs():
    rates, w0 = jnp.full((1, 16), 60.0), jnp.full((3, 16), 0.5)
    p_stdp, rows = jstdp.parameter_grid(
        jstdp.STDPParameters(), eta_plus=[0.005, 0.02], tau_pre_inv=[20.0, 60.0]
    )
    p_lif, _ = jstdp.parameter_grid(
        jstdp.LIFParameters(), "zip", v_th=[0.5, 1.0, 1.5, 2.0]
    )
    keys = jax.random.split(jax.random.key(0), 4)
    w, trace = jstdp.run_sweep(_closed_loop, (p_stdp, p_lif, keys), rates, w0)
    assert w.shape == (4, 3, 16) and trace.shape == (4,)
    for k, row in enumerate(rows):
        single = (
            jstdp.STDPParameters(**row),
            jstdp.LIFParameters(v_th=[0.5, 1.0, 1.5, 2.0][k]),
            keys[k],
        )
        w_k, trace_k = _closed_loop(single, rates, w0)
        np.testing.assert_allclose(w[k], w_k, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(trace[k], trace_k, rtol=RTOL, atol=ATOL)
    assert len({float(jnp.sum(x)) for x in w}) == 4  # four different outcomes


SHARDED_SCRIPT = textwrap.dedent(
    """
    import json
    import jax, jax.numpy as jnp, numpy as np
    import jstdp

    assert len(jax.devices()) == 8, jax.devices()
    rates, w0 = jnp.full((1, 16), 60.0), jnp.full((3, 16), 0.5)

    def fn(entry, rates, w0):
        p_stdp, key = entry
        w, state, _ = jstdp.run_linear(
            jstdp.PoissonInput(rates), w0, p_stdp, steps=40, key=key
        )
        return w, state.stdp.t_pre

    result = {}
    for k in (12,):  # padded to 16: two entries per device, four of them padding
        grid, _ = jstdp.parameter_grid(
            jstdp.STDPParameters(), eta_plus=list(np.linspace(1e-3, 2e-2, k))
        )
        keys = jax.random.split(jax.random.key(1), k)
        sharded = jstdp.run_sweep(fn, (grid, keys), rates, w0)
        single = jstdp.run_sweep(fn, (grid, keys), rates, w0, devices=jax.devices()[:1])
        assert sharded[0].shape == single[0].shape == (k, 3, 16)
        result[k] = dict(
            diff=max(
                float(jnp.max(jnp.abs(a - b)))
                for a, b in zip(jax.tree.leaves(sharded), jax.tree.leaves(single))
            ),
            n_devices=len(sharded[0].sharding.device_set),
            spread=float(jnp.max(sharded[0]) - jnp.min(sharded[0])),
        )
    print(json.dumps(result))
    """
)


@pytest.mark.slow
def test_sharded_sweep_on_8_devices_equals_single_device():
    result = run_on_8_devices("-c", SHARDED_SCRIPT)
    assert result["12"]["diff"] == 0.0, result
    assert result["12"]["spread"] > 0.0, result  # the entries differ
    assert result["12"]["n_devices"] == 8, result


def test_repeated_sweeps_reuse_the_compiled_function():
    traces = []

    def fn(p, w, steps):
        traces.append(steps)  # runs once per trace, not per call
        return jstdp.run_linear(jnp.ones((steps, 1, 3)), w, p)[0]

    grid, _ = jstdp.parameter_grid(jstdp.STDPParameters(), eta_plus=[0.01, 0.02])
    w0 = jnp.full((2, 3), 0.5, jnp.float32)
    first = jstdp.run_sweep(fn, grid, w0, steps=5)
    again = jstdp.run_sweep(fn, grid, first[0], steps=5)
    assert traces == [5]
    assert again.shape == (2, 2, 3) and float(jnp.max(again - first)) > 0
    jstdp.run_sweep(fn, grid, w0, steps=6)  # a new static value traces anew
    assert traces == [5, 6]
