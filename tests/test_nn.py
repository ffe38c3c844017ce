"""jstdp.nn: Flax NNX layers against the functional API, transforms, errors."""

import operator

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jstdp
from jstdp.nn import NeuronState, STDPConv2d, STDPLinear, STDPTrace, STDPWeight

# Same functions on the same values: float64 agreement is at rounding level
# (an outer jit may fuse differently); float32 runs are compared loosely.
RTOL_64, ATOL_64 = 1e-12, 1e-14
RTOL_32, ATOL_32 = 1e-6, 1e-6
T = 12  # time steps: enough for spikes, traces and weight changes to build up

HIGHEST = jax.lax.Precision.HIGHEST


def spikes(seed, shape, p=0.3, dtype=jnp.float32):
    # NumPy draws: jax.random.uniform compiles for seconds at rank 5 on CPU.
    return jnp.asarray(np.random.default_rng(seed).random(shape) < p, dtype)


def eager_call(layer, z):
    return layer(z)


jitted_call = nnx.jit(eager_call)


def reference_run(z_seq, w, p_stdp, p_neuron, step, drive, dt, delay=1):
    """Functional loop: drive (from the input of ``delay`` steps ago) -> LIF ->
    STDP, recording everything per step."""

    @jax.jit
    def ref_step(z_pre, z_arrived, w, state, neuron):
        z_post, neuron = jstdp.lif_feed_forward_step(
            drive(z_arrived, w), neuron, p_neuron, dt
        )
        w, state = step(z_pre, z_post, w, state, p_stdp, dt)
        return z_post, w, state, neuron

    state = jstdp.STDPState.zeros_like(z_seq[0], drive(z_seq[0], w), w.dtype)
    neuron = p_neuron.initial_state(state.t_post.shape, w.dtype)
    out = []
    for t, z_pre in enumerate(z_seq):
        arrived = z_seq[t - delay] if t >= delay else jnp.zeros_like(z_pre)
        out.append(ref_step(z_pre, arrived, w, state, neuron))
        _, w, state, neuron = out[-1]
    return out


def linear_drive(z, w):
    return jnp.einsum("bj,ij->bi", z, w, precision=HIGHEST)


def assert_layer_matches(layer, call, z_seq, ref, rtol, atol):
    for z_pre, (z_post, w, state, neuron) in zip(z_seq, ref, strict=True):
        got = call(layer, z_pre)
        np.testing.assert_array_equal(got, z_post)
        np.testing.assert_allclose(layer.w[...], w, rtol=rtol, atol=atol)
        np.testing.assert_allclose(layer.t_pre[...], state.t_pre, rtol, atol)
        np.testing.assert_allclose(layer.t_post[...], state.t_post, rtol, atol)
        got_neuron = layer.neuron.get_value()
        np.testing.assert_allclose(got_neuron.v, neuron.v, rtol=rtol, atol=atol)
        np.testing.assert_allclose(got_neuron.i, neuron.i, rtol=rtol, atol=atol)


# The layer hands p_stdp to the step function unchanged; two rules suffice here
# (the rules themselves are tested against Norse elsewhere).
@pytest.mark.parametrize("delay", [0, 1, 2])
@pytest.mark.parametrize("algorithm", ["additive", "multiplicative_pow"])
def test_linear_matches_functional_steps_x64(x64, algorithm, delay):
    """Every step: spikes, weights, traces and LIF state equal the functional loop."""
    p = jstdp.STDPParameters(
        eta_plus=0.05, eta_minus=0.04, stdp_algorithm=algorithm, mu=0.5
    )
    p_neuron = jstdp.LIFParameters(v_th=0.5)
    layer = STDPLinear(
        10, 4, batch_size=3, p_stdp=p, p_neuron=p_neuron, dtype=jnp.float64,
        delay=delay, rngs=nnx.Rngs(0),
    )  # fmt: skip
    z_seq = spikes(1, (T, 3, 10), dtype=jnp.float64)
    ref = reference_run(
        z_seq, layer.w[...], p, p_neuron, jstdp.stdp_step_linear, linear_drive, 1e-3,
        delay,
    )  # fmt: skip
    assert float(sum(r[0].sum() for r in ref)) > 0  # the neurons spike
    assert_layer_matches(layer, jitted_call, z_seq, ref, RTOL_64, ATOL_64)


def test_linear_eager_matches_functional_steps():
    p = jstdp.STDPParameters(eta_plus=0.05, eta_minus=0.04)
    layer = STDPLinear(10, 4, batch_size=2, p_stdp=p, rngs=nnx.Rngs(1))
    z_seq = spikes(2, (T, 2, 10)).astype(bool)  # bool spikes are accepted
    ref = reference_run(
        z_seq.astype(jnp.float32), layer.w[...], p, jstdp.LIFParameters(),
        jstdp.stdp_step_linear, linear_drive, 1e-3,
    )  # fmt: skip
    assert layer.w[...].dtype == jnp.float32
    assert_layer_matches(layer, eager_call, z_seq, ref, RTOL_32, ATOL_32)


def test_conv2d_matches_closed_loop_step_for_step():
    """Every step of the layer equals the recorded step of ``jstdp.run_conv2d``."""
    p = jstdp.STDPParameters(
        eta_plus=0.05, eta_minus=0.04, convolutional=True, stride=(2, 1),
        padding=1, dilation=(1, 2), stdp_algorithm="multiplicative_relu",
    )  # fmt: skip
    p_neuron = jstdp.LIFParameters(v_th=0.3)
    layer = STDPConv2d(
        2, 3, (3, 2), input_size=(7, 6), batch_size=2, p_stdp=p,
        p_neuron=p_neuron, rngs=nnx.Rngs(0),
    )  # fmt: skip
    assert layer.t_post[...].shape == (2, 3, 4, 6)
    z_seq = spikes(3, (T, 2, 2, 7, 6))
    _, _, rec = jstdp.run_conv2d(z_seq, layer.w[...], p, p_neuron, record_every=1)
    assert float(rec.z_post.sum()) > 0
    at = lambda tree, t: jax.tree.map(operator.itemgetter(t), tree)
    ref = [at((rec.z_post, rec.w, rec.stdp, rec.neuron), t) for t in range(T)]
    assert_layer_matches(layer, jitted_call, z_seq, ref, RTOL_32, ATOL_32)


def scan_layer(layer, z_seq):
    @nnx.scan(in_axes=(nnx.Carry, 0), out_axes=(nnx.Carry, 0))
    def run(layer, z_pre):
        return layer, layer(z_pre)

    return run(layer, z_seq)


def test_nnx_scan_matches_closed_loop_run():
    """A layer under ``nnx.scan`` over time is ``jstdp.run_linear``."""
    p_neuron = jstdp.LIFParameters(v_th=0.4)
    p = jstdp.STDPParameters(eta_plus=0.05, eta_minus=0.04)
    layer = STDPLinear(
        10, 4, batch_size=3, p_stdp=p, p_neuron=p_neuron, rngs=nnx.Rngs(0)
    )
    z_seq = spikes(5, (T, 3, 10))
    w, state, record = jstdp.run_linear(
        z_seq, layer.w[...], p, p_neuron, record_every=1
    )
    layer, z_post = scan_layer(layer, z_seq)
    np.testing.assert_array_equal(z_post, record.z_post)
    assert float(z_post.sum()) > 0
    np.testing.assert_allclose(layer.w[...], w, RTOL_32, ATOL_32)
    np.testing.assert_allclose(layer.t_pre[...], state.stdp.t_pre, RTOL_32, ATOL_32)
    np.testing.assert_allclose(layer.t_post[...], state.stdp.t_post, RTOL_32, ATOL_32)
    np.testing.assert_allclose(
        layer.neuron.get_value().v, state.neuron.v, RTOL_32, ATOL_32
    )


def test_learning_off_freezes_weights_and_traces():
    layer = STDPLinear(
        6, 3, batch_size=2, p_stdp=jstdp.STDPParameters(eta_plus=0.01),
        p_neuron=jstdp.LIFParameters(v_th=0.2), rngs=nnx.Rngs(0),
    )  # fmt: skip
    z = jnp.ones((2, 6))
    w0 = layer.w[...]
    layer(z, learning=False)
    layer(z, learning=False)  # the first input arrives one step later
    np.testing.assert_array_equal(layer.w[...], w0)
    np.testing.assert_array_equal(layer.t_pre[...], 0.0)
    assert float(jnp.abs(layer.neuron.get_value().i).sum()) > 0  # neurons still run
    layer.set_attributes(learning=False)
    assert layer(z).sum() > 0  # the drive is large enough to spike
    np.testing.assert_array_equal(layer.w[...], w0)
    layer(z, learning=True)  # a call overrides the attribute
    assert not np.array_equal(layer.w[...], w0)
    assert float(layer.t_pre[...].min()) > 0


def test_changing_a_parameter_value_does_not_retrace():
    traces = []

    @nnx.jit
    def step(layer, z):
        traces.append(None)
        return layer(z)

    layer = STDPLinear(5, 2, batch_size=1, rngs=nnx.Rngs(0))
    z = jnp.ones((1, 5))
    step(layer, z)
    w_slow = layer.w[...]
    layer.set_parameters(
        p_stdp=jstdp.STDPParameters(eta_plus=0.3, eta_minus=0.0),
        p_neuron=jstdp.LIFParameters(v_th=0.01),
        dt=0.0005,
    )
    step(layer, z)
    step(layer, z)
    assert len(traces) == 1
    assert float(layer.p_stdp.eta_plus) == pytest.approx(0.3)
    assert float((layer.w[...] - w_slow).max()) > 1e-3  # the new rate is in use
    layer.set_parameters(p_stdp=jstdp.STDPParameters(stdp_algorithm="additive_step"))
    step(layer, z)
    assert len(traces) == 2  # a static field is a new program


def test_variable_types_keep_stdp_weights_away_from_optimisers():
    layer = STDPLinear(4, 2, rngs=nnx.Rngs(0))
    assert isinstance(layer.w, STDPWeight) and not isinstance(layer.w, nnx.Param)
    assert isinstance(layer.t_pre, STDPTrace) and isinstance(layer.neuron, NeuronState)
    assert len(jax.tree.leaves(nnx.state(layer, nnx.Param))) == 0
    assert len(jax.tree.leaves(nnx.state(layer, STDPWeight))) == 1
    assert len(jax.tree.leaves(nnx.state(layer, STDPTrace))) == 2
    assert len(jax.tree.leaves(nnx.state(layer, NeuronState))) == 2  # v and i


class PlasticClassifier(nnx.Module):
    """A plastic STDP layer (unsupervised) feeding a gradient-trained readout."""

    def __init__(self, rngs):
        self.plastic = STDPLinear(
            12, 6, batch_size=4, p_stdp=jstdp.STDPParameters(eta_plus=0.01),
            p_neuron=jstdp.LIFParameters(v_th=0.3), rngs=rngs,
        )  # fmt: skip
        self.readout = nnx.Linear(6, 2, rngs=rngs)

    def __call__(self, z_seq):
        _, z_post = scan_layer(self.plastic, z_seq)
        return self.readout(z_post.mean(axis=0))


def test_plastic_layer_in_a_model_with_a_gradient_trained_readout():
    model = PlasticClassifier(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.sgd(0.5), wrt=nnx.Param)
    z_seq = spikes(7, (T, 4, 12), p=0.5)
    labels = jnp.array([0, 1, 0, 1])

    def loss_fn(model):
        logits = model(z_seq)
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    @nnx.jit
    def train_step(model, optimizer):
        loss, grads = nnx.value_and_grad(loss_fn)(model)
        w_after_stdp = model.plastic.w[...]
        optimizer.update(model, grads)
        return loss, grads, w_after_stdp

    w0, kernel0 = model.plastic.w[...], model.readout.kernel[...]
    loss, grads, w_after_stdp = train_step(model, optimizer)
    # Gradients exist for the readout only.
    assert set(nnx.to_flat_state(grads).paths) == {
        ("readout", "bias"),
        ("readout", "kernel"),
    }
    # STDP changed the plastic weights in the forward pass ...
    assert float(jnp.abs(w_after_stdp - w0).max()) > 0
    # ... and the optimiser left them exactly there, while it moved the readout.
    np.testing.assert_array_equal(model.plastic.w[...], w_after_stdp)
    assert float(jnp.abs(model.readout.kernel[...] - kernel0).max()) > 0
    assert np.isfinite(float(loss))


def test_reset_for_a_new_batch_size():
    layer = STDPLinear(6, 3, batch_size=2, rngs=nnx.Rngs(0))
    jitted_call(layer, spikes(8, (2, 6)))
    w = layer.w[...]
    layer.reset(batch_size=5)
    assert layer.batch_size == 5
    assert layer.t_pre[...].shape == (5, 6) and layer.t_post[...].shape == (5, 3)
    assert layer.neuron.get_value().v.shape == (5, 3)
    np.testing.assert_array_equal(layer.t_pre[...], 0.0)
    np.testing.assert_array_equal(layer.w[...], w)  # weights are kept
    assert jitted_call(layer, spikes(9, (5, 6), p=0.9)).shape == (5, 3)
    assert float(layer.t_pre[...].min()) >= 0 and float(layer.t_pre[...].max()) > 0
    layer.reset()  # same batch size, state back to rest
    np.testing.assert_array_equal(layer.t_pre[...], 0.0)
    assert layer.t_pre[...].shape == (5, 6)
    conv = STDPConv2d(1, 2, 3, input_size=(5, 5), batch_size=2, rngs=nnx.Rngs(0))
    conv.reset(batch_size=4)
    assert conv.t_pre[...].shape == (4, 1, 5, 5)
    assert conv.t_post[...].shape == (4, 2, 3, 3)
    assert conv.neuron.get_value().i.shape == (4, 2, 3, 3)


def test_wrong_input_shapes_raise_clear_errors():
    dense = STDPLinear(6, 3, batch_size=2, rngs=nnx.Rngs(0))
    with pytest.raises(
        ValueError, match=r"z_pre must have shape \(2, 6\).*\(3, 6\).*reset"
    ):
        dense(jnp.ones((3, 6)))
    with pytest.raises(
        ValueError, match=r"z_pre .*\(batch_size, in_features\).*\(6,\)"
    ):
        nnx.jit(lambda layer, z: layer(z))(dense, jnp.ones(6))
    conv = STDPConv2d(1, 2, 3, input_size=(5, 5), batch_size=1, rngs=nnx.Rngs(0))
    with pytest.raises(
        ValueError, match=r"\(1, 1, 5, 5\).*in_channels, H, W.*\(1, 1, 4, 5\)"
    ):
        conv(jnp.ones((1, 1, 4, 5)))


def test_bad_construction_raises():
    rngs = nnx.Rngs(0)
    with pytest.raises(ValueError, match="in_features must be an int >= 1, got 0"):
        STDPLinear(0, 3, rngs=rngs)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        STDPLinear(2, 3, batch_size=0, rngs=rngs)
    with pytest.raises(ValueError, match="dt must be positive"):
        STDPLinear(2, 3, dt=0.0, rngs=rngs)
    with pytest.raises(ValueError, match="w_min must be < w_max"):
        STDPLinear(2, 3, p_stdp=jstdp.STDPParameters(w_min=1.0), rngs=rngs)
    with pytest.raises(TypeError, match="p_neuron must implement initial_state"):
        STDPLinear(2, 3, p_neuron=object(), rngs=rngs)
    with pytest.raises(TypeError, match="p_stdp must be jstdp.STDPParameters"):
        STDPConv2d(1, 2, 3, input_size=(5, 5), p_stdp=object(), rngs=rngs)
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        STDPLinear(2, 3, dtype=jnp.int32, rngs=rngs)
    with pytest.raises(
        ValueError, match=r"w_init must return .*\(3, 2\), got \(2, 3\)"
    ):
        STDPLinear(2, 3, w_init=lambda k, s, d: jnp.zeros((2, 3), d), rngs=rngs)
    with pytest.raises(ValueError, match="kernel .* is larger than the padded input"):
        STDPConv2d(1, 2, 5, input_size=(3, 3), rngs=rngs)
    with pytest.raises(ValueError, match=r"input_size must be a pair \(h, w\)"):
        STDPConv2d(1, 2, 3, input_size=5, rngs=rngs)
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        STDPConv2d(1, 2, (3, 0), input_size=(5, 5), rngs=rngs)
    conv = STDPConv2d(1, 2, 3, input_size=(5, 5), rngs=rngs)
    with pytest.raises(ValueError, match=r"must stay \(\(1, 1\), \(0, 0\), \(1, 1\)\)"):
        conv.set_parameters(p_stdp=jstdp.STDPParameters(stride=2))


def test_conductance_neurons_plug_in():
    """Any neuron implementing the protocol works, e.g. Song 2000's conductance LIF."""
    p_neuron = jstdp.ConductanceLIFParameters(g_max=2.0)
    layer = STDPLinear(20, 2, batch_size=1, p_neuron=p_neuron, rngs=nnx.Rngs(0))
    z_seq = spikes(10, (50, 1, 20), p=0.5)
    layer, z_post = scan_layer(layer, z_seq)
    state = layer.neuron.get_value()
    assert isinstance(state, jstdp.ConductanceLIFState)
    assert float(z_post.sum()) > 0
    assert float(state.v.min()) >= -80.0  # mV, between E_L-ish and E_e


def test_any_rule_plugs_in_and_keeps_its_state_in_traces():
    """``rule=`` runs any jstdp rule; Norse's rule given that way is the same
    layer as ``p_stdp`` (its state then lives in ``traces``)."""
    values = dict(eta_plus=0.05, eta_minus=0.04, tau_pre_inv=40.0)
    by_params = STDPLinear(
        6, 3, batch_size=2, p_stdp=jstdp.STDPParameters(**values), rngs=nnx.Rngs(0)
    )
    by_rule = STDPLinear(
        6, 3, batch_size=2, rule=jstdp.rules.NorseSTDP(**values), rngs=nnx.Rngs(0)
    )
    z_seq = spikes(7, (T, 2, 6))
    by_params, z_a = scan_layer(by_params, z_seq)
    by_rule, z_b = scan_layer(by_rule, z_seq)
    np.testing.assert_array_equal(z_a, z_b)
    np.testing.assert_array_equal(by_params.w[...], by_rule.w[...])
    traces = by_rule.traces.get_value()
    assert isinstance(by_rule.traces, STDPTrace) and not hasattr(by_rule, "t_pre")
    np.testing.assert_array_equal(traces.t_pre, by_params.t_pre[...])
    with pytest.raises(TypeError, match="rule must be a jstdp rule"):
        STDPLinear(6, 3, rule=3.0, rngs=nnx.Rngs(0))
