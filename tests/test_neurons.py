"""Neurons and encoders: LIF parity with Norse 1.1.0, conductance LIF, Poisson.

The LIF step is compared with Norse's ``lif_feed_forward_step`` after every
step (spikes, voltage, current) and through its SuperSpike surrogate gradient;
Poisson encoding is checked by its rate statistics and, with the uniforms
shared, number for number against Norse's ``poisson_encode``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp

STEPS = 30
# Non-default LIF constants; v_th chosen so that the random drive below makes
# a good fraction of the neurons spike (and reset) within STEPS.
LIF_PARAMS = dict(
    tau_syn_inv=150.0, tau_mem_inv=80.0, v_leak=-0.1, v_th=0.3, v_reset=-0.2
)
NORSE_DEFAULTS = dict(
    tau_syn_inv=200.0, tau_mem_inv=100.0, v_leak=0.0, v_th=1.0, v_reset=0.0
)
# Eager: one kernel per operation in Norse's order, float32 or float64 on
# both sides, so the same rounding everywhere and exact agreement.
EXACT = 0.0
# Under jit, XLA's CPU backend fuses the elementwise chain and may contract
# a * b + c into one FMA: 1-ulp differences (about 40 in 60 000 values).
JIT_RTOL = {np.float32: 4 * 2.0**-23, np.float64: 4 * 2.0**-52}
# Gradients: torch and XLA sum the backward contributions in different
# orders; a few float64 ulp over 30 steps.
GRAD_RTOL = 1e-12


def _drive(seed, shape, dtype):
    """Random input currents, strong enough that neurons cross threshold."""
    return (
        np.random.default_rng(seed)
        .uniform(0.0, 40.0, size=(STEPS, *shape))
        .astype(dtype)
    )


def _norse_lif(norse_lif, torch, inputs, params, dtype, requires_grad=False):
    tdtype = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    # Every field as a tensor of the compared dtype: Norse's float32 defaults
    # would round dt * tau_inv to float32 in a float64 run.
    full = {**NORSE_DEFAULTS, **params}
    p = norse_lif.LIFParameters(
        **{k: torch.as_tensor(v, dtype=tdtype) for k, v in full.items()}
    )
    x = torch.tensor(inputs, requires_grad=requires_grad)
    state = norse_lif.LIFFeedForwardState(
        v=torch.full(inputs.shape[1:], full["v_leak"], dtype=tdtype),
        i=torch.zeros(inputs.shape[1:], dtype=tdtype),
    )
    out = []
    for t in range(inputs.shape[0]):
        z, state = norse_lif.lif_feed_forward_step(x[t], state, p, dt=0.001)
        out.append((z, state.v, state.i))
    return x, out


@pytest.mark.norse
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", [{}, LIF_PARAMS], ids=["norse-defaults", "custom"])
def test_lif_matches_norse_every_step(dtype, params, tr):
    torch = pytest.importorskip("torch")
    norse_lif = pytest.importorskip("norse.torch.functional.lif")
    inputs = _drive(0, (3, 7), dtype)
    _, ref = _norse_lif(norse_lif, torch, inputs, params, dtype)
    with jax.enable_x64(dtype == np.float64):
        p = jstdp.LIFParameters(**params)
        state = p.initial_state(inputs.shape[1:], dtype)
        step = tr(lambda x, s: jstdp.lif_feed_forward_step(x, s, p, 0.001))
        rtol = JIT_RTOL[dtype] if tr is jax.jit else EXACT
        n_spikes = 0
        for t in range(STEPS):
            z, state = step(inputs[t], state)
            assert z.dtype == dtype and state.v.dtype == dtype
            for got, want in zip((z, state.v, state.i), ref[t], strict=True):
                np.testing.assert_allclose(got, want.detach().numpy(), rtol=rtol)
            n_spikes += int(np.sum(z))
    # The comparison covers the threshold and the reset, not only decay.
    assert 10 < n_spikes < inputs[0].size * STEPS


@pytest.mark.norse
def test_superspike_gradient_matches_norse(x64):
    """Norse's SuperSpike backward is 1/(|x|+1)^2 (alpha unused), through 30 steps."""
    torch = pytest.importorskip("torch")
    norse_lif = pytest.importorskip("norse.torch.functional.lif")
    inputs = _drive(1, (2, 5), np.float64)
    readout = np.random.default_rng(2).normal(size=inputs.shape[1:])
    x, ref = _norse_lif(norse_lif, torch, inputs, LIF_PARAMS, np.float64, True)
    loss = sum((z * torch.tensor(readout)).sum() + v.sum() for z, v, _ in ref)
    loss.backward()

    p = jstdp.LIFParameters(**LIF_PARAMS)

    def jax_loss(inputs):
        def step(state, x):
            z, state = jstdp.lif_feed_forward_step(x, state, p)
            return state, jnp.sum(z * readout) + jnp.sum(state.v)

        state = p.initial_state(inputs.shape[1:], jnp.float64)
        return jnp.sum(jax.lax.scan(step, state, inputs)[1])

    grad = jax.jit(jax.grad(jax_loss))(jnp.asarray(inputs))
    assert np.any(np.abs(grad) > 0)
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=GRAD_RTOL, atol=1e-15)


def test_superspike_forward_and_derivative(x64):
    x = jnp.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(jstdp.superspike(x), [0.0, 0.0, 0.0, 1.0, 1.0])
    grad = jax.vmap(jax.grad(jstdp.superspike))(x)
    np.testing.assert_allclose(grad, 1.0 / (np.abs(np.asarray(x)) + 1.0) ** 2)


def test_heaviside_method_blocks_gradient():
    p = jstdp.LIFParameters(method="heaviside")

    def spikes(v):
        state = jstdp.LIFFeedForwardState(v=v, i=jnp.zeros_like(v))
        return jnp.sum(jstdp.lif_feed_forward_step(jnp.zeros_like(v), state, p)[0])

    v = jnp.array([0.5, 0.99, 1.5])
    assert float(spikes(v)) == 1.0
    np.testing.assert_array_equal(jax.grad(spikes)(v), 0.0)


def test_lif_protocol_and_initial_state():
    p = jstdp.LIFParameters(v_leak=-0.5)
    s = p.initial_state((2, 3), jnp.float32)
    np.testing.assert_array_equal(s.v, np.full((2, 3), -0.5, np.float32))
    np.testing.assert_array_equal(s.i, 0.0)
    x = jnp.linspace(0.0, 30.0, 6, dtype=jnp.float32).reshape(2, 3)
    z1, s1 = p.step(x, s, 0.002)
    z2, s2 = jstdp.lif_feed_forward_step(x, s, p, 0.002)
    np.testing.assert_array_equal(z1, z2)
    np.testing.assert_array_equal(s1.v, s2.v)


def test_lif_numpy_float64_parameters_keep_float32_state(x64):
    # The lax.scan carry trap: float64 parameters must not promote the state.
    p = jstdp.LIFParameters(tau_mem_inv=np.float64(90.0), v_th=jnp.float64(0.5))
    s = p.initial_state((4,), jnp.float32)
    z, s = jstdp.lif_feed_forward_step(jnp.ones(4, jnp.float32), s, p)
    assert z.dtype == s.v.dtype == s.i.dtype == jnp.float32


def _conductance_reference(drive, p, dt):
    """The documented update order, in plain numpy float64."""
    v = np.full(drive.shape[1:], p["e_leak"])
    g = np.zeros(drive.shape[1:])
    out = []
    for x in drive:
        g = g + p["g_max"] * x
        v = v + dt * p["tau_mem_inv"] * ((p["e_leak"] - v) + g * (p["e_exc"] - v))
        g = g + -dt * p["tau_e_inv"] * g
        z = (v - p["v_th"] > 0).astype(float)
        v = (1 - z) * v + z * p["v_reset"]
        out.append((z, v.copy(), g.copy()))
    return out


def test_conductance_lif_matches_its_equations(x64, tr):
    params = dict(
        tau_mem_inv=100.0,
        tau_e_inv=200.0,
        e_leak=-74.0,
        e_exc=0.0,
        v_th=-54.0,
        v_reset=-60.0,
        g_max=0.015,
    )
    p = jstdp.ConductanceLIFParameters()
    assert {k: getattr(p, k) for k in params} == params  # Song et al. defaults
    drive = np.random.default_rng(3).uniform(0.0, 400.0, size=(STEPS, 2, 4))
    ref = _conductance_reference(drive, params, 0.001)
    state = p.initial_state((2, 4), jnp.float64)
    step = tr(lambda x, s: p.step(x, s, 0.001))
    n_spikes = 0
    for t in range(STEPS):
        z, state = step(jnp.asarray(drive[t]), state)
        for got, want in zip((z, state.v, state.g), ref[t], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-12)
        n_spikes += int(jnp.sum(z))
    assert n_spikes > 5


@pytest.mark.parametrize("mode", ["clamp", "block"])
def test_refractory_modes_match_their_definition(x64, tr, mode):
    """clamp: v held at v_reset for t_ref/dt steps after a spike, no spike;
    block (Brian 1 with a string reset): v integrates freely, a crossing
    within t_ref - dt/2 of the last spike is neither a spike nor a reset."""
    dt, t_ref = 5e-4, 5e-3
    p = dict(tau_mem_inv=100.0, tau_e_inv=200.0, e_leak=-65.0, e_exc=0.0,
             v_th=-55.0, v_reset=-65.0, g_max=1.0)  # fmt: skip
    neuron = jstdp.ConductanceLIFParameters(
        **p, t_ref=t_ref, refractory_mode=mode, method="heaviside"
    )
    drive = np.full((60, 1, 1), 0.6)  # strong and steady: fires often
    v, g, last = np.full((1, 1), -65.0), np.zeros((1, 1)), -(10**6)
    state = neuron.initial_state((1, 1), jnp.float64)
    step = tr(lambda x, s: neuron.step(x, s, dt))
    spikes = []
    for t in range(60):
        g = g + drive[t]
        v = v + dt * p["tau_mem_inv"] * ((p["e_leak"] - v) + g * (p["e_exc"] - v))
        g = g - dt * p["tau_e_inv"] * g
        since = t - last  # steps since the last spike
        if mode == "clamp" and since <= round(t_ref / dt):
            v, z = np.full((1, 1), p["v_reset"]), 0.0
        else:
            blocked = mode == "block" and since * dt < t_ref - dt / 2
            z = float(v[0, 0] > p["v_th"] and not blocked)
        if z:
            v, last = np.full((1, 1), p["v_reset"]), t
        got_z, state = step(jnp.asarray(drive[t]), state)
        assert float(got_z[0, 0]) == z, t
        np.testing.assert_allclose(state.v, v, rtol=1e-13)
        spikes.append(z)
    gaps = np.diff(np.flatnonzero(spikes))
    assert len(gaps) >= 3
    # block: the next spike 10 steps (t_ref) after the last at the earliest
    assert gaps.min() == (10 if mode == "block" else 11)


def test_poisson_encode_rates_and_shape():
    values = jnp.array([[0.0, 0.1, 0.5, 1.0]])
    seq = jstdp.poisson_encode(jax.random.key(0), values, 20_000, f_max=100.0, dt=0.001)
    assert seq.shape == (20_000, 1, 4) and seq.dtype == jnp.float32
    assert set(np.unique(seq).tolist()) <= {0.0, 1.0}
    p = np.asarray(values[0]) * 100.0 * 0.001
    rate = np.asarray(seq.mean(axis=(0, 1)))
    # Binomial standard error; 5 sigma makes a false failure ~1e-6 likely.
    sigma = np.sqrt(p * (1 - p) / 20_000)
    np.testing.assert_array_less(np.abs(rate - p), 5 * sigma + 1e-12)
    assert rate[0] == 0.0


def test_poisson_step_rates():
    rates = jnp.array([5.0, 50.0, 500.0])
    keys = jax.random.split(jax.random.key(1), 10_000)
    z = jax.vmap(lambda k: jstdp.poisson_step(k, rates, 0.001))(keys)
    p = np.asarray(rates) * 0.001
    sigma = np.sqrt(p * (1 - p) / 10_000)
    np.testing.assert_array_less(np.abs(np.asarray(z.mean(0)) - p), 5 * sigma)
    np.testing.assert_array_equal(
        jstdp.poisson_step(keys[0], jnp.array([0.0, 1000.0])), [0, 1]
    )


@pytest.mark.norse
def test_poisson_encode_is_norse_with_the_same_uniforms(monkeypatch):
    """Same uniforms in, same spikes out: ``rand < dt * f_max * x``, float32."""
    torch = pytest.importorskip("torch")
    encode = pytest.importorskip("norse.torch.functional.encode")
    key, values = jax.random.key(7), jnp.linspace(0.0, 1.0, 12).reshape(3, 4)
    seq_length, f_max, dt = 50, 400.0, 0.002
    u = np.asarray(jax.random.uniform(key, (seq_length, 3, 4), jnp.float32))
    monkeypatch.setattr(torch, "rand", lambda *shape, **kw: torch.from_numpy(u.copy()))
    want = encode.poisson_encode(
        torch.from_numpy(np.array(values)), seq_length, f_max, dt
    )
    got = jstdp.poisson_encode(key, values, seq_length, f_max, dt)
    assert want.dtype == torch.float32 and got.dtype == jnp.float32
    np.testing.assert_array_equal(got, want.numpy())
    assert 0 < float(got.mean()) < 1


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="method must be one of super, heaviside"):
        jstdp.LIFParameters(method="tanh")
    with pytest.raises(ValueError, match="method"):
        jstdp.ConductanceLIFParameters(method="circ")
    with pytest.raises(TypeError, match="state must be jstdp.LIFFeedForwardState"):
        jstdp.lif_feed_forward_step(jnp.ones(2), (jnp.ones(2), jnp.ones(2)))
    with pytest.raises(TypeError, match="p must be jstdp.LIFParameters"):
        s = jstdp.LIFParameters().initial_state((2,))
        jstdp.lif_feed_forward_step(jnp.ones(2), s, jstdp.ConductanceLIFParameters())
    with pytest.raises(TypeError, match="state.v must have a floating dtype"):
        s = jstdp.LIFFeedForwardState(v=jnp.zeros(2, jnp.int32), i=jnp.zeros(2))
        jstdp.lif_feed_forward_step(jnp.ones(2), s)
    with pytest.raises(TypeError, match="seq_length must be an int"):
        jstdp.poisson_encode(jax.random.key(0), jnp.ones(2), 3.0)
    with pytest.raises(ValueError, match="seq_length must be an int >= 0"):
        jstdp.poisson_encode(jax.random.key(0), jnp.ones(2), -1)
