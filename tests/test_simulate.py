"""Whole runs under lax.scan equal plain Python loops over the step functions.

Open loop: ``simulate_*`` equals repeated ``stdp_step_*`` calls. Closed loop:
``run_*`` equals a loop of drive -> neuron step -> STDP step, compared at
every step through ``record_every=1`` (spike-array and Poisson input, dense
and conv2d). Records, chunking, continuation, donation safety, vmap/jit, the
dtype trap, errors, and flat memory over 10^5 steps (in a subprocess).
"""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp

# Scan vs step-by-step calls: identical operations, but XLA fuses the scan
# body differently from the standalone jitted steps (FMA contraction on CPU),
# so a few ulp per step; 1e-5 (float32) / 1e-12 (float64) over 20-40 steps.
RTOL = {jnp.float32: 1e-5, jnp.float64: 1e-12}
ATOL = {jnp.float32: 1e-6, jnp.float64: 1e-14}

P_STDP = jstdp.STDPParameters(
    tau_pre_inv=40.0, tau_post_inv=30.0, eta_plus=0.02, eta_minus=0.025, a_post=1.2
)
# Conv: stride 2, padding 1, dilation 1, so the geometry is exercised.
P_CONV = P_STDP.replace(stride=2, padding=1)
# A LIF that fires often under the drives below (threshold crossed every few steps).
P_LIF = jstdp.LIFParameters(v_th=2.0, tau_mem_inv=150.0)


def _spikes(seed, shape, p=0.3):
    return np.random.default_rng(seed).random(shape) < p


def _close(got, want, dtype=jnp.float32):
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=ATOL[dtype])


def _close_tree(got, want, dtype=jnp.float32):
    jax.tree.map(lambda g, w: _close(g, w, dtype), got, want)


@pytest.mark.parametrize("rule", ["additive", "multiplicative_pow"])
def test_open_loop_linear_equals_steps(rule):
    p = P_STDP.replace(stdp_algorithm=rule, mu=0.5)
    z_pre, z_post = _spikes(0, (25, 2, 6)), _spikes(1, (25, 2, 3))
    w0 = jnp.asarray(np.random.default_rng(2).uniform(0.2, 0.8, (3, 6)), jnp.float32)
    w, state, record = jstdp.simulate_linear(z_pre, z_post, w0, p_stdp=p)
    assert record is None
    w_ref, s_ref = w0, jstdp.STDPState.zeros_like(z_pre[0], z_post[0])
    for t in range(25):
        w_ref, s_ref = jstdp.stdp_step_linear(z_pre[t], z_post[t], w_ref, s_ref, p)
    _close(w, w_ref)
    _close_tree(state, s_ref)
    assert float(jnp.max(jnp.abs(w - w0))) > 1e-3  # the weights did learn


def test_open_loop_conv2d_equals_steps_and_records_every_k():
    z_pre, z_post = _spikes(3, (10, 2, 2, 7, 6)), _spikes(4, (10, 2, 3, 4, 4))
    w0 = jnp.full((3, 2, 3, 2), 0.5)
    w, state, record = jstdp.simulate_conv2d(
        z_pre, z_post, w0, p_stdp=P_CONV, record_every=3
    )
    w_ref, s_ref = w0, jstdp.STDPState.zeros_like(z_pre[0], z_post[0])
    for t in range(10):
        w_ref, s_ref = jstdp.stdp_step_conv2d(z_pre[t], z_post[t], w_ref, s_ref, P_CONV)
        if (t + 1) % 3 == 0:
            r = (t + 1) // 3 - 1
            _close(record.w[r], w_ref)
            _close_tree(jax.tree.map(lambda x, r=r: x[r], record.stdp), s_ref)
            np.testing.assert_array_equal(record.z_pre[r], z_pre[t])
            np.testing.assert_array_equal(record.z_post[r], z_post[t])
    # T = 10, k = 3: three snapshots, and the last step still ran.
    assert record.w.shape == (3, *w0.shape) and record.neuron is None
    _close(w, w_ref)
    _close_tree(state, s_ref)


def _loop_closed(layer, inputs, w, p_stdp, p_neuron, dt, key=None, steps=None, delay=1):
    """The reference: a plain Python loop over the public step functions; the
    drive of step t comes from the input of step t - delay (none before 0)."""
    if layer == "linear":
        drive = lambda z, w: z @ w.T
        stdp_step = jstdp.stdp_step_linear
    else:
        drive = lambda z, w: jax.lax.conv_general_dilated(
            z, w, p_stdp.stride, [(q, q) for q in p_stdp.padding],
            rhs_dilation=p_stdp.dilation,
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
            precision=jax.lax.Precision.HIGHEST,
        )  # fmt: skip
        stdp_step = jstdp.stdp_step_conv2d
    neuron = stdp = None
    trace, sent = [], []
    for t in range(len(inputs) if key is None else steps):
        if key is None:
            z_in = jnp.asarray(inputs[t], w.dtype)
        else:
            z_in = jstdp.poisson_step(jax.random.fold_in(key, t), inputs, dt)
        sent.append(z_in)
        arrived = sent[t - delay] if t >= delay else jnp.zeros_like(z_in)
        i = drive(arrived, w)
        if neuron is None:
            neuron = p_neuron.initial_state(i.shape, w.dtype)
            stdp = jstdp.STDPState.zeros_like(z_in, i, w.dtype)
        z_out, neuron = p_neuron.step(i, neuron, dt)
        w, stdp = stdp_step(z_in, z_out, w, stdp, p_stdp, dt)
        trace.append((w, stdp, z_in, z_out, neuron))
    return trace


def _assert_record_is_loop(record, trace, dtype):
    assert record.w.shape[0] == len(trace)
    for t, (w, stdp, z_in, z_out, neuron) in enumerate(trace):
        got = jax.tree.map(lambda x, t=t: x[t], record)
        np.testing.assert_array_equal(got.z_pre, z_in)
        np.testing.assert_array_equal(got.z_post, z_out)
        _close(got.w, w, dtype)
        _close_tree(got.stdp, stdp, dtype)
        _close_tree(got.neuron, neuron, dtype)


@pytest.mark.parametrize("delay", [0, 1, 3])
@pytest.mark.parametrize("layer", ["linear", "conv2d"])
def test_closed_loop_equals_python_loop_every_step(layer, delay, x64):
    dtype = jnp.float64
    if layer == "linear":
        inputs, w0, p_stdp = _spikes(5, (25, 2, 8)), jnp.full((3, 8), 0.6), P_STDP
        run = jstdp.run_linear
    else:
        inputs, w0 = _spikes(6, (25, 2, 2, 6, 5)), jnp.full((3, 2, 3, 3), 0.4)
        p_stdp, run = P_CONV, jstdp.run_conv2d
    w, state, record = run(
        inputs, w0, p_stdp, P_LIF, 0.001, record_every=1, delay=delay
    )
    trace = _loop_closed(layer, inputs, w0, p_stdp, P_LIF, 0.001, delay=delay)
    _assert_record_is_loop(record, trace, dtype)
    _close(w, trace[-1][0], dtype)
    _close_tree(state.neuron, trace[-1][4], dtype)
    assert int(state.step) == 25
    np.testing.assert_array_equal(state.spike_count, jnp.sum(record.z_post, axis=0))
    assert w.dtype == record.w.dtype == dtype
    assert 0.05 < float(jnp.mean(record.z_post)) < 0.95  # spikes both ways


def test_closed_loop_poisson_and_conductance_neuron_equal_loop(x64):
    rates = jnp.asarray(np.random.default_rng(7).uniform(0.0, 300.0, (2, 30)))
    w0 = jnp.asarray(np.random.default_rng(8).uniform(0.0, 1.0, (2, 30)))
    p_neuron = jstdp.ConductanceLIFParameters(g_max=0.3)
    key = jax.random.key(9)
    w, state, record = jstdp.run_linear(
        jstdp.PoissonInput(rates), w0, P_STDP, p_neuron, steps=30, key=key,
        record_every=1,
    )  # fmt: skip
    trace = _loop_closed("linear", rates, w0, P_STDP, p_neuron, 0.001, key, 30)
    _assert_record_is_loop(record, trace, jnp.float64)
    assert float(jnp.sum(record.z_post)) > 3


def test_chunked_progress_and_continued_runs_equal_one_run(capsys):
    rates, w0 = jnp.full((1, 20), 80.0), jnp.full((2, 20), 0.5)
    key = jax.random.key(0)
    run = lambda **kw: jstdp.run_linear(
        jstdp.PoissonInput(rates), w0, P_STDP, P_LIF, key=key, **kw
    )
    w, state, rec = run(steps=100, record_every=5)
    w_c, state_c, rec_c = run(
        steps=100, record_every=5, chunk_steps=48
    )  # rounded up to 50
    w_p, _, _ = run(steps=100, progress=True, chunk_steps=50)
    assert "100/100" in capsys.readouterr().err  # the tqdm bar
    w_a, state_a, _ = run(steps=50)
    w_b, state_b, _ = jstdp.run_linear(
        jstdp.PoissonInput(rates), w_a, P_STDP, P_LIF, key=key, steps=50, state=state_a
    )
    # The same computation split differently: equal to the last bit.
    for other in (w_c, w_p, w_b):
        np.testing.assert_array_equal(other, w)
    jax.tree.map(np.testing.assert_array_equal, state_c, state)
    jax.tree.map(np.testing.assert_array_equal, state_b, state)
    jax.tree.map(np.testing.assert_array_equal, rec_c, rec)
    assert rec.w.shape == (20, 2, 20) and int(state.step) == 100
    assert float(jnp.max(jnp.abs(w - w0))) > 1e-3


@pytest.mark.parametrize("chunk_steps", [None, 4])
def test_zero_steps_and_records_longer_than_the_run(chunk_steps):
    rates, w0 = jstdp.PoissonInput(jnp.full((1, 3), 50.0)), jnp.full((2, 3), 0.5)
    key = jax.random.key(0)
    for steps, k, n_records in ((0, 2, 0), (3, 4, 0), (9, 4, 2)):
        w, state, rec = jstdp.run_linear(
            rates, w0, steps=steps, key=key, record_every=k, chunk_steps=chunk_steps
        )
        assert rec.w.shape == (n_records, 2, 3) and int(state.step) == steps
    np.testing.assert_array_equal(
        jstdp.run_linear(rates, w0, steps=0, key=key, chunk_steps=chunk_steps)[0], w0
    )


def test_caller_arrays_survive_donation():
    w0 = jnp.full((2, 5), 0.5)
    inputs = jnp.asarray(_spikes(10, (20, 1, 5)))
    state0 = jax.tree.map(jnp.copy, jstdp.run_linear(inputs[:1], w0)[1])
    w, state, _ = jstdp.run_linear(inputs, w0, state=state0, chunk_steps=5)
    assert not w0.is_deleted() and not state0.stdp.t_pre.is_deleted()
    np.testing.assert_array_equal(w0, 0.5)
    z, zp = inputs, jnp.zeros((20, 1, 2))
    jstdp.simulate_linear(z, zp, w0)
    np.testing.assert_array_equal(w0, 0.5)


def test_jit_and_vmap_over_keys_and_weights():
    rates = jnp.full((1, 12), 100.0)
    keys = jax.random.split(jax.random.key(1), 3)
    w0s = jnp.stack([jnp.full((2, 12), v) for v in (0.2, 0.5, 0.8)])

    def final_w(w, key):
        return jstdp.run_linear(
            jstdp.PoissonInput(rates), w, P_STDP, P_LIF, steps=50, key=key
        )[0]

    batched = jax.jit(jax.vmap(final_w))(w0s, keys)
    for i in range(3):
        _close(batched[i], final_w(w0s[i], keys[i]))
    assert len({float(jnp.sum(b)) for b in batched}) == 3


def test_eager_vmap_over_spike_trains_warns_nothing_and_equals_loop():
    # Batched outputs cannot reuse the donated carry: runs under an eager vmap
    # must not donate (pytest turns the donation warning into an error).
    w0 = jnp.full((3, 4), 0.5)
    z_pre = jnp.asarray(_spikes(11, (4, 6, 2, 4)))
    z_post = jnp.asarray(_spikes(12, (4, 6, 2, 3)))
    batched = jax.vmap(lambda a, b: jstdp.simulate_linear(a, b, w0, p_stdp=P_STDP)[0])(
        z_pre, z_post
    )
    for i in range(4):
        _close(
            batched[i], jstdp.simulate_linear(z_pre[i], z_post[i], w0, None, P_STDP)[0]
        )
    assert len({float(jnp.sum(b)) for b in batched}) == 4


def test_float32_weights_with_float64_parameters_under_x64(x64):
    # The lax.scan carry trap: NumPy float64 parameters must not promote w.
    p = P_STDP.replace(eta_plus=np.float64(0.01), tau_pre_inv=np.float64(30.0))
    p_neuron = jstdp.LIFParameters(v_th=np.float64(0.2))
    w0 = jnp.full((2, 4), 0.5, jnp.float32)
    inputs = _spikes(11, (10, 1, 4))
    w, state, record = jstdp.run_linear(inputs, w0, p, p_neuron, record_every=2)
    leaves = jax.tree.leaves((w, state.neuron, state.stdp, record))
    assert {x.dtype for x in leaves} == {jnp.dtype(jnp.float32)}
    w, s, _ = jstdp.simulate_linear(inputs, jnp.zeros((10, 1, 2)), w0, p_stdp=p)
    assert w.dtype == s.t_pre.dtype == jnp.float32


def test_user_neuron_protocol():
    """Any pytree with initial_state and step plugs into the closed loop."""
    from flax import struct

    @struct.dataclass
    class Relay:  # fires whenever the drive exceeds a threshold; no memory
        theta: float = 0.5

        def initial_state(self, shape, dtype):
            return jnp.zeros(shape, dtype)

        def step(self, drive, state, dt):
            z = (drive > self.theta).astype(drive.dtype)
            return z, z

    inputs = _spikes(12, (15, 1, 4))
    w0 = jnp.full((1, 4), 0.3)
    _, _, rec = jstdp.run_linear(inputs, w0, P_STDP, Relay(), record_every=1)
    want = (np.sum(inputs, axis=2) * 0.3 > 0.5).astype(np.float32)
    # The first steps, before STDP has moved w far from 0.3; the input of
    # step t drives the neuron in step t + 1 (delay 1).
    np.testing.assert_array_equal(rec.z_post[1:4, :, 0], want[:3])
    np.testing.assert_array_equal(rec.z_post[0], 0.0)


def test_bad_arguments_raise():
    w = jnp.full((2, 4), 0.5)
    rates = jstdp.PoissonInput(jnp.full((1, 4), 10.0))
    key = jax.random.key(0)
    spikes = jnp.zeros((5, 1, 4))
    with pytest.raises(ValueError, match=r"steps \(an int >= 0\) is required with"):
        jstdp.run_linear(rates, w, key=key)
    with pytest.raises(ValueError, match="key .* is required with PoissonInput"):
        jstdp.run_linear(rates, w, steps=3)
    with pytest.raises(ValueError, match="key is only used with PoissonInput"):
        jstdp.run_linear(spikes, w, key=key)
    with pytest.raises(ValueError, match=r"T = steps = 4"):
        jstdp.run_linear(spikes, w, steps=4)
    with pytest.raises(ValueError, match=r"n_pre=4.*got \(1, 3\)"):
        jstdp.run_linear(jnp.zeros((5, 1, 3)), w)
    with pytest.raises(ValueError, match="C_in=2"):
        jstdp.run_conv2d(jnp.zeros((5, 1, 3, 6, 6)), jnp.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        jstdp.run_conv2d(jnp.zeros((5, 1, 2, 2, 2)), jnp.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="w must have rank 2"):
        jstdp.run_linear(spikes, jnp.ones((2, 4, 1)))
    with pytest.raises(TypeError, match="w must have a floating dtype"):
        jstdp.run_linear(spikes, jnp.ones((2, 4), jnp.int32))
    with pytest.raises(ValueError, match="record_every must be an int >= 1, got 0"):
        jstdp.run_linear(spikes, w, record_every=0)
    with pytest.raises(TypeError, match="chunk_steps must be an int, got 2.5"):
        jstdp.simulate_linear(spikes, jnp.zeros((5, 1, 2)), w, chunk_steps=2.5)
    with pytest.raises(ValueError, match="dt must be positive"):
        jstdp.run_linear(spikes, w, dt=0.0)
    with pytest.raises(TypeError, match="p_neuron must have .initial_state"):
        jstdp.run_linear(spikes, w, p_neuron=jstdp.STDPParameters())
    with pytest.raises(TypeError, match="p_stdp must be jstdp.STDPParameters"):
        jstdp.run_linear(spikes, w, p_stdp=jstdp.LIFParameters())
    with pytest.raises(TypeError, match="state must be jstdp.RunState"):
        jstdp.run_linear(spikes, w, state=jstdp.STDPState.zeros_like(w, w))
    with pytest.raises(ValueError, match="z_pre_seq must have rank 3"):
        jstdp.simulate_linear(jnp.zeros((5, 4)), jnp.zeros((5, 1, 2)), w)
    with pytest.raises(ValueError, match="same length T"):
        jstdp.simulate_linear(spikes, jnp.zeros((6, 1, 2)), w)


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, resource
    import jax, jax.numpy as jnp
    import jstdp

    def peak_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rates, w0 = jnp.full((1, 500), 10.0), jnp.full((1, 500), 0.5)
    p_neuron = jstdp.ConductanceLIFParameters()

    def run(steps):
        w, state, _ = jstdp.run_linear(
            jstdp.PoissonInput(rates), w0, p_neuron=p_neuron, steps=steps,
            key=jax.random.key(0),
        )
        jax.block_until_ready(w)
        return int(state.step)

    run(10)
    base = peak_mib()
    assert run(10_000) == 10_000
    short = peak_mib()
    assert run(100_000) == 100_000
    print(json.dumps(dict(base=base, short=short, long=peak_mib())))
    """
)
# If the run kept anything per step, 10^5 steps of the (1, 500) float32 input
# spikes (or weights) alone would be 200 MB; compiling a second scan costs a
# few MB (measured: +3 MiB from 10^4 to 10^5 steps).
MEMORY_GROWTH_MIB = 48


@pytest.mark.slow
def test_memory_flat_over_1e5_steps():
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    )  # fmt: skip
    peaks = json.loads(out.stdout.strip().splitlines()[-1])
    assert peaks["long"] - peaks["short"] < MEMORY_GROWTH_MIB, peaks
