"""Differentiable plasticity: jax.grad through a whole closed-loop run.

What flows: the traces, the weight dependence, the bound (zero gradient where
a weight is clipped) and the drive into the membrane are smooth in the numeric
STDP and neuron parameters; the spike threshold is a step. With
``method="heaviside"`` its derivative is zero, so ``jax.grad`` is the
derivative with every spike held fixed: the true derivative of the loss in any
region where no spike flips. With ``method="super"`` (Norse's default) the
SuperSpike surrogate lets gradient flow through the spikes too, exactly as
torch autograd does through Norse's own functions.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp

T, N_PRE, N_POST = 60, 8, 2
# Drive and threshold (see tests/test_simulate.py) for about one output spike
# in three steps; eta small enough that no weight reaches a bound in T steps.
LIF = dict(v_th=2.0, tau_mem_inv=150.0)
STDP = dict(tau_post_inv=30.0, eta_minus=0.012, a_post=1.2)
THETA = dict(eta_plus=0.01, tau_pre_inv=40.0)
# Central differences in float64 with h = 1e-6 * value: truncation O(h^2)
# and round-off ~1e-16 / 1e-6, both far below 1e-6 relative.
FD_REL_STEP = 1e-6
FD_RTOL = 1e-6
# jax vs torch autograd, same operations summed in different orders.
TORCH_RTOL = 1e-9


def _problem():
    rng = np.random.default_rng(0)
    inputs = rng.random((T, 1, N_PRE)) < 0.3
    w0 = rng.uniform(0.4, 0.8, (N_POST, N_PRE))
    readout = rng.normal(size=(N_POST, N_PRE))
    return inputs, w0, readout


def _run(theta, method, inputs, w0, record_every=None):
    p_stdp = jstdp.STDPParameters(**STDP, **theta)
    p_lif = jstdp.LIFParameters(**LIF, method=method)
    return jstdp.run_linear(inputs, w0, p_stdp, p_lif, record_every=record_every)


def _loss(theta, method, inputs, w0, readout):
    return jnp.sum(readout * _run(theta, method, inputs, w0)[0])


def test_grad_matches_finite_differences_with_spikes_fixed(x64):
    inputs, w0, readout = _problem()
    inputs, w0 = jnp.asarray(inputs), jnp.asarray(w0)
    theta = {k: jnp.asarray(v) for k, v in THETA.items()}
    grad = jax.jit(jax.grad(_loss), static_argnums=1)(
        theta, "heaviside", inputs, w0, readout
    )
    w, _, base = _run(theta, "heaviside", inputs, w0, record_every=1)
    assert 0.1 < float(jnp.mean(base.z_post)) < 0.9
    # No weight at a bound, where the clip's derivative jumps.
    assert 0.0 < float(jnp.min(base.w)) and float(jnp.max(base.w)) < 1.0
    for name, value in THETA.items():
        h = FD_REL_STEP * value
        losses = []
        for sign in (1, -1):
            shifted = {**theta, name: theta[name] + sign * h}
            _, _, rec = _run(shifted, "heaviside", inputs, w0, record_every=1)
            # The smooth regime: the same spikes at every step, so the loss is
            # differentiable here and the FD quotient is its derivative.
            np.testing.assert_array_equal(rec.z_post, base.z_post)
            losses.append(float(jnp.sum(readout * rec.w[-1])))
        fd = (losses[0] - losses[1]) / (2 * h)
        assert abs(fd) > 1e-3, name  # a real sensitivity, not 0 == 0
        np.testing.assert_allclose(grad[name], fd, rtol=FD_RTOL)


def test_surrogate_lets_gradient_through_spikes(x64):
    inputs, w0, readout = _problem()
    theta = {k: jnp.asarray(v) for k, v in THETA.items()}

    def loss(theta, v_th, method):
        p_lif = jstdp.LIFParameters(v_th=v_th, tau_mem_inv=150.0, method=method)
        p_stdp = jstdp.STDPParameters(**STDP, **theta)
        w = jstdp.run_linear(inputs, jnp.asarray(w0), p_stdp, p_lif)[0]
        return jnp.sum(readout * w)

    v_th = jnp.asarray(LIF["v_th"])
    g_hard = jax.grad(loss, argnums=(0, 1))(theta, v_th, "heaviside")
    g_super = jax.grad(loss, argnums=(0, 1))(theta, v_th, "super")
    # The threshold acts only through the spikes: no gradient without a surrogate.
    assert float(g_hard[1]) == 0.0
    assert abs(float(g_super[1])) > 1e-3
    for name in THETA:
        assert np.isfinite(g_super[0][name]) and g_super[0][name] != g_hard[0][name]


@pytest.mark.norse
def test_surrogate_gradient_matches_torch_autograd_through_norse(x64):
    torch = pytest.importorskip("torch")
    norse_lif = pytest.importorskip("norse.torch.functional.lif")
    norse_stdp = pytest.importorskip("norse.torch.functional.stdp")
    inputs, w0, readout = _problem()
    f64 = lambda v, grad=False: torch.tensor(v, dtype=torch.float64, requires_grad=grad)

    theta_t = {k: f64(v, grad=True) for k, v in THETA.items()}
    p_stdp = norse_stdp.STDPParameters(
        a_pre=f64(1.0),
        a_post=f64(STDP["a_post"]),
        tau_post_inv=f64(STDP["tau_post_inv"]),
        w_min=f64(0.0),
        w_max=f64(1.0),
        eta_minus=f64(STDP["eta_minus"]),
        **theta_t,
    )
    p_lif = norse_lif.LIFParameters(
        tau_syn_inv=f64(200.0),
        tau_mem_inv=f64(LIF["tau_mem_inv"]),
        v_leak=f64(0.0),
        v_th=f64(LIF["v_th"]),
        v_reset=f64(0.0),
        method="super",
    )
    w = f64(w0)
    lif_state = norse_lif.LIFFeedForwardState(
        v=torch.zeros(1, N_POST, dtype=torch.float64),
        i=torch.zeros(1, N_POST, dtype=torch.float64),
    )
    stdp_state = norse_stdp.STDPState(
        torch.zeros(1, N_PRE, dtype=torch.float64),
        torch.zeros(1, N_POST, dtype=torch.float64),
    )
    z_sent = torch.zeros(1, N_PRE, dtype=torch.float64)  # delay 1: last step's input
    for t in range(T):
        z_in = f64(inputs[t].astype(np.float64))
        drive = torch.nn.functional.linear(z_sent, w)
        z_sent = z_in
        z_out, lif_state = norse_lif.lif_feed_forward_step(drive, lif_state, p_lif)
        w, stdp_state = norse_stdp.stdp_step_linear(z_in, z_out, w, stdp_state, p_stdp)
    (w * f64(readout)).sum().backward()

    theta = {k: jnp.asarray(v) for k, v in THETA.items()}
    grad = jax.grad(_loss)(
        theta, "super", jnp.asarray(inputs), jnp.asarray(w0), readout
    )
    for name in THETA:
        np.testing.assert_allclose(
            grad[name], theta_t[name].grad.item(), rtol=TORCH_RTOL
        )
