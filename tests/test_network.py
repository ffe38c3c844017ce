"""Networks: populations, projections, delays, transforms, run, reset, save.

The reference is a plain NumPy loop written here from the equations in the
docstrings (not from jstdp's code): an excitatory/inhibitory network with
lateral inhibition, an adaptive threshold and normalised plastic input
weights must equal it step by step (spikes, voltages, thresholds, weights).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp
from jstdp.connections import AllToAllButSelf, Conv2d, Dense, OneToOne
from jstdp.rules import Chain, Clip, Function, Normalize, NorseSTDP, chain

# float64, the same operations in the same order on both sides, apart from
# the order of sums in matrix products: rounding level, over 60 steps.
F64 = dict(rtol=1e-11, atol=1e-12)
DT = 5e-4

# --- the E/I network of Diehl & Cook's shape, small -----------------------------

N_IN, N_E, STEPS, BATCH = 12, 5, 60, 2
EXC = dict(
    tau_mem_inv=1 / 20e-3, tau_e_inv=1 / 2e-3, tau_i_inv=1 / 4e-3, e_leak=-65.0,
    e_exc=0.0, e_inh=-100.0, v_th=-62.0, v_reset=-65.0, g_max=1.0, g_max_inh=1.0,
    t_ref=2e-3,
)  # fmt: skip
INH = dict(
    tau_mem_inv=1 / 10e-3, tau_e_inv=1 / 1e-3, tau_i_inv=1 / 2e-3, e_leak=-60.0,
    e_exc=0.0, e_inh=-85.0, v_th=-55.0, v_reset=-58.0, g_max=1.0, g_max_inh=1.0,
    t_ref=1e-3,
)  # fmt: skip
THETA = dict(theta_plus=0.8, tau_theta_inv=5.0, theta_init=0.5)
STDP = dict(
    tau_pre_inv=50.0, tau_post_inv=40.0, eta_plus=0.4, eta_minus=0.3,
    stdp_algorithm="additive",
)  # fmt: skip
W_EI, W_IE, TOTAL = 3.0, 2.5, 3.0


def ei_network(w0):
    exc = jstdp.AdaptiveThreshold(jstdp.ConductanceLIFParameters(**EXC), **THETA)
    inh = jstdp.ConductanceLIFParameters(**INH)
    return jstdp.Network(
        populations=[
            jstdp.Input("x", (N_IN,)),
            jstdp.Population("exc", exc, (N_E,)),
            jstdp.Population("inh", inh, (N_E,)),
        ],
        projections=[
            jstdp.Projection(
                "x", "exc", Dense(), w0, rule=NorseSTDP(**STDP),
                transform=chain(Clip(0.0, 1.0), Normalize(TOTAL)),
            ),
            jstdp.Projection("exc", "inh", OneToOne(), W_EI),
            jstdp.Projection("inh", "exc", AllToAllButSelf(), W_IE, receptor="inh"),
        ],
    )  # fmt: skip


def numpy_lif(p, v, g, gi, ref, exc, inh, v_th, dt=DT):
    """The conductance LIF step, from its docstring."""
    g = g + p["g_max"] * exc
    gi = gi + p["g_max_inh"] * inh
    dv = (p["e_leak"] - v) + g * (p["e_exc"] - v) + gi * (p["e_inh"] - v)
    v_new = v + dt * p["tau_mem_inv"] * dv
    g = g - dt * p["tau_e_inv"] * g
    gi = gi - dt * p["tau_i_inv"] * gi
    refractory = ref > dt / 2
    v_new = np.where(refractory, p["v_reset"], v_new)
    z = (v_new > v_th) & ~refractory
    v_new = np.where(z, p["v_reset"], v_new)
    ref = np.where(z, p["t_ref"], np.maximum(ref - dt, 0.0))
    return z.astype(float), v_new, g, gi, ref


def numpy_ei(x, w0):
    """The whole network, one step at a time, in the documented order."""
    n = (BATCH, N_E)
    v_e, g_e, gi_e, r_e = (
        np.full(n, EXC["e_leak"]),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
    )
    v_i, g_i, gi_i, r_i = (
        np.full(n, INH["e_leak"]),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
    )
    theta = np.full(N_E, THETA["theta_init"])
    w = w0.copy()
    t_pre, t_post = np.zeros((BATCH, N_IN)), np.zeros(n)
    x_last, z_e, z_i = np.zeros((BATCH, N_IN)), np.zeros(n), np.zeros(n)
    out = []
    for t in range(STEPS):
        # conductances: last step's spikes (delay 1)
        exc_e = x_last @ w.T
        inh_e = W_IE * (z_i.sum(1, keepdims=True) - z_i)
        exc_i = W_EI * z_e
        # membranes, thresholds, resets
        theta = theta - DT * THETA["tau_theta_inv"] * theta
        z_e_new, v_e, g_e, gi_e, r_e = numpy_lif(
            EXC, v_e, g_e, gi_e, r_e, exc_e, inh_e, EXC["v_th"] + theta
        )
        theta = theta + THETA["theta_plus"] * z_e_new.sum(0)
        z_i, v_i, g_i, gi_i, r_i = numpy_lif(
            INH, v_i, g_i, gi_i, r_i, exc_i, 0.0, INH["v_th"]
        )
        z_e = z_e_new
        # STDP (Norse: traces first), clip, normalise each row
        t_pre = t_pre + DT * STDP["tau_pre_inv"] * (-t_pre + x[t])
        t_post = t_post + DT * STDP["tau_post_inv"] * (-t_post + z_e)
        w = w + STDP["eta_plus"] * z_e.T @ t_pre - STDP["eta_minus"] * t_post.T @ x[t]
        w = np.clip(w, 0.0, 1.0)
        w = w * (TOTAL / w.sum(1, keepdims=True))
        x_last = x[t]
        out.append((z_e, z_i, v_e, v_i, theta, w))
    return out


def test_ei_network_equals_numpy_loop_every_step(x64):
    rng = np.random.default_rng(0)
    x = (rng.random((STEPS, BATCH, N_IN)) < 0.3).astype(float)
    w0 = rng.uniform(0.1, 0.6, (N_E, N_IN))
    net = ei_network(jnp.asarray(w0))
    save = jstdp.Save(
        every=1,
        fn=lambda s: (
            s.spikes["exc"], s.spikes["inh"], s.neurons["exc"].neuron.v,
            s.neurons["inh"].v, s.neurons["exc"].theta, s.weights["x->exc"],
        ),
    )  # fmt: skip
    state, saved = jstdp.run(net, jnp.asarray(x), dt=DT, dtype=jnp.float64, save=save)
    want = numpy_ei(x, w0)
    names = ("z_exc", "z_inh", "v_exc", "v_inh", "theta", "w")
    for t, expected in enumerate(want):
        for name, got, ref in zip(names, saved, expected, strict=True):
            np.testing.assert_allclose(got[t], ref, **F64, err_msg=f"{name}, step {t}")
    spikes_e, spikes_i = np.sum(want[-1][0]), sum(np.sum(o[1]) for o in want)
    assert sum(np.sum(o[0]) for o in want) > 10 and spikes_i > 3  # it all fired
    assert not np.allclose(want[-1][5], w0 * TOTAL / w0.sum(1, keepdims=True))
    np.testing.assert_allclose(np.sum(state.weights["x->exc"], 1), TOTAL, rtol=1e-12)
    assert spikes_e >= 0 and int(state.step) == STEPS
    np.testing.assert_array_equal(
        state.counts["exc"], sum(o[0] for o in want).astype(int)
    )


# --- issue 16: closed-loop timing ----------------------------------------------


def test_plasticity_off_delay_one_equals_numpy_loop_spike_for_spike(x64):
    """Song's neuron, fixed inputs, no STDP: input of step t acts in step t + 1."""
    rng = np.random.default_rng(1)
    n, steps, dt = 200, 400, 1e-3
    x = (rng.random((steps, 1, n)) < 0.02).astype(float)
    w = rng.uniform(0, 1, (1, n))
    neuron = jstdp.ConductanceLIFParameters(g_max=0.05)
    net = jstdp.Network(
        [jstdp.Input("x", (n,)), jstdp.Population("y", neuron, (1,))],
        [jstdp.Projection("x", "y", Dense(), jnp.asarray(w))],
    )
    save = jstdp.Save(1, lambda s: (s.spikes["y"], s.neurons["y"].v))
    _, (z, v) = jstdp.run(net, jnp.asarray(x), dt=dt, dtype=jnp.float64, save=save)
    fields = ("g_max", "g_max_inh", "t_ref", "e_leak", "e_exc", "e_inh", "v_reset")
    rates = ("tau_mem_inv", "tau_e_inv", "tau_i_inv")
    p = {f: getattr(neuron, f) for f in fields + rates}
    v_ref, g, gi, ref = np.full((1, 1), -74.0), *np.zeros((3, 1, 1))
    for t in range(steps):
        drive = x[t - 1] @ w.T if t else np.zeros((1, 1))
        z_ref, v_ref, g, gi, ref = numpy_lif(
            p, v_ref, g, gi, ref, drive, 0.0, -54.0, dt
        )
        assert z[t, 0, 0] == z_ref[0, 0], t
        np.testing.assert_allclose(v[t], v_ref, rtol=1e-12, atol=1e-10)
    assert float(jnp.sum(z)) >= 5


@pytest.mark.parametrize("delay", [0, 1])
def test_the_input_that_fires_the_neuron_is_potentiated(delay):
    """One input whose spike alone makes the neuron fire; Norse's additive rule
    with depression 1.5x potentiation. With delay 1 the causal pair has lag +1
    and is potentiated; at lag 0 (delay 0) it is depressed (A+ - A-)."""
    steps = 40
    x = np.zeros((steps, 1, 1))
    x[5::10] = 1.0  # four input spikes
    # tau_e = dt: the conductance of one input spike lasts one step.
    neuron = jstdp.ConductanceLIFParameters(g_max=8.0, tau_e_inv=1000.0)
    rule = NorseSTDP(eta_plus=0.1, eta_minus=0.15, tau_pre_inv=50.0, tau_post_inv=50.0)
    net = jstdp.Network(
        [jstdp.Input("x", (1,)), jstdp.Population("y", neuron, (1,))],
        [
            jstdp.Projection(
                "x", "y", Dense(), jnp.full((1, 1), 0.5), rule=rule, delay=delay
            )
        ],
    )
    state, z = jstdp.run(net, x, save=jstdp.Save(1, lambda s: s.spikes["y"]))
    fired = np.flatnonzero(np.asarray(z)[:, 0, 0])
    np.testing.assert_array_equal(fired, np.flatnonzero(x[:, 0, 0]) + delay)
    dw = float(state.weights["x->y"][0, 0]) - 0.5
    if delay == 1:
        assert dw > 0.01  # ~4 x 0.95 A+ (lag +1), minus tiny anti-causal terms
    else:
        assert dw < -0.005  # 4 x (A+ - A-) = 4 x -0.05 A+


# --- delays ---------------------------------------------------------------------


@pytest.mark.parametrize("delay", [2, 5])
def test_longer_delays_shift_the_drive(delay):
    x = np.zeros((12, 1, 3))
    x[1, 0, 0] = x[4, 0, 2] = 1.0
    net = jstdp.Network(
        [jstdp.Input("x", (3,)), jstdp.Population("y", Relay(), (3,))],
        [jstdp.Projection("x", "y", OneToOne(), 1.0, delay=delay)],
    )
    _, z = jstdp.run(net, x, save=jstdp.Save(1, lambda s: s.spikes["y"]))
    want = np.zeros_like(x)
    want[delay:] = x[:-delay]
    np.testing.assert_array_equal(z, want)


def test_per_synapse_delays_equal_numpy(x64):
    rng = np.random.default_rng(3)
    x = (rng.random((30, 2, 6)) < 0.3).astype(float)
    w = rng.uniform(0, 1, (4, 6))
    delays = rng.integers(1, 6, (4, 6))
    net = jstdp.Network(
        [jstdp.Input("x", (6,)), jstdp.Population("y", Drive(), (4,))],
        [jstdp.Projection("x", "y", Dense(), jnp.asarray(w), delay=delays)],
    )
    _, drive = jstdp.run(
        net, x, dtype=jnp.float64, save=jstdp.Save(1, lambda s: s.neurons["y"])
    )
    for t in range(30):
        want = np.zeros((2, 4))
        for i in range(4):
            for j in range(6):
                if t - delays[i, j] >= 0:
                    want[:, i] += w[i, j] * x[t - delays[i, j], :, j]
        np.testing.assert_allclose(drive[t], want, rtol=1e-12, atol=1e-14)


def test_weight_at_emission_delivers_the_weight_a_spike_left_with(x64):
    """weight_at="emission" (Brian 1's DelayConnection): a spike of step m
    through a synapse of delay d drives step m + d with w as it was after
    step m's STDP; "arrival" (the default) with w of step m + d. A NumPy loop
    replays the weights jstdp saved."""
    rng = np.random.default_rng(5)
    steps, n_in, n_out = 40, 6, 3
    x = (rng.random((steps, 1, n_in)) < 0.4).astype(float)
    delays = rng.integers(1, 6, (n_out, n_in))
    w0 = rng.uniform(0, 1, (n_out, n_in))
    # A rule that changes every weight every step, whatever the spikes.
    rule = NorseSTDP(eta_plus=0.0, eta_minus=0.0)
    grow = Function(lambda w: w * 1.05)
    for at in ("arrival", "emission"):
        net = jstdp.Network(
            [jstdp.Input("x", (n_in,)), jstdp.Population("y", Drive(), (n_out,))],
            [
                jstdp.Projection(
                    "x", "y", Dense(), jnp.asarray(w0), rule=rule, transform=grow,
                    delay=delays, weight_at=at,
                )
            ],
        )  # fmt: skip
        save = jstdp.Save(1, lambda s: (s.neurons["y"], s.weights["x->y"]))
        _, (drive, w) = jstdp.run(net, x, dtype=jnp.float64, save=save)
        w = np.asarray(w)  # w[t]: after step t
        for t in range(steps):
            want = np.zeros(n_out)
            for i in range(n_out):
                for j in range(n_in):
                    m = t - delays[i, j]
                    if m < 0 or not x[m, 0, j]:
                        continue
                    # arrival: the weights the drive of step t sees (after
                    # step t - 1); emission: after step m.
                    seen = w[m] if at == "emission" else (w[t - 1] if t else w0)
                    want[i] += seen[i, j]
            np.testing.assert_allclose(drive[t, 0], want, rtol=1e-12, err_msg=at)
    state = net.init(batch=2)
    assert state.history["x->y/queued"].shape == (5, 2, n_out)
    assert "x" not in state.history  # no spike ring: the queue holds the drive


def test_weight_at_needs_a_delay_and_a_free_name():
    with pytest.raises(ValueError, match="weight_at must be one of arrival"):
        jstdp.Projection("x", "y", Dense(), jnp.zeros((2, 2)), weight_at="soon")
    with pytest.raises(ValueError, match="weight_at='emission' needs a delay >= 1"):
        jstdp.Projection("x", "y", Dense(), jnp.zeros((2, 2)), delay=0,
                         weight_at="emission")  # fmt: skip
    with pytest.raises(ValueError, match="two population or queues are named"):
        jstdp.Network(
            [jstdp.Input("x", (2,)), jstdp.Population("q/queued", Relay(), (2,))],
            [jstdp.Projection("x", "q/queued", OneToOne(), 1.0, name="q",
                              weight_at="emission")],
        )  # fmt: skip


def test_delay_ring_memory_is_the_longest_delay():
    net = jstdp.Network(
        [jstdp.Input("x", (3,)), jstdp.Population("y", Relay(), (3,))],
        [jstdp.Projection("x", "y", OneToOne(), 1.0, delay=7)],
    )
    state = net.init(batch=2)
    assert state.history["x"].shape == (7, 2, 3) and "y" not in state.history


def test_zero_delay_chains_are_ordered_and_loops_refused():
    net = jstdp.Network(
        [
            jstdp.Population("c", Relay(), (2,)),
            jstdp.Population("b", Relay(), (2,)),
            jstdp.Input("x", (2,)),
        ],
        [
            jstdp.Projection("b", "c", OneToOne(), 1.0, delay=0),
            jstdp.Projection("x", "b", OneToOne(), 1.0, delay=0),
        ],
    )
    assert [p.name for p in net.order] == ["b", "c"]
    x = np.eye(2)[None].repeat(3, 0)[:, :1]  # (3, 1, 2)
    _, z = jstdp.run(net, x, save=jstdp.Save(1, lambda s: s.spikes["c"]))
    np.testing.assert_array_equal(z, x)  # through two populations in one step
    with pytest.raises(ValueError, match="zero-delay projections form a loop"):
        jstdp.Network(
            [
                jstdp.Population("a", Relay(), (2,)),
                jstdp.Population("b", Relay(), (2,)),
            ],
            [
                jstdp.Projection("a", "b", OneToOne(), 1.0, delay=0),
                jstdp.Projection("b", "a", OneToOne(), 1.0, delay=0),
            ],
        )


# --- connections ------------------------------------------------------------------


def test_connections_drive_and_correlate_shapes_and_values(x64):
    rng = np.random.default_rng(4)
    z = rng.random((3, 5))
    post = rng.random((3, 5))
    w = rng.random((5, 5))
    # Dense
    np.testing.assert_allclose(Dense().drive(z, w), z @ w.T, rtol=1e-13)
    np.testing.assert_allclose(
        Dense().correlate(post, z, w.shape), post.T @ z, rtol=1e-13
    )
    # OneToOne: array and scalar weights
    np.testing.assert_allclose(OneToOne().drive(z, w[0]), z * w[0], rtol=1e-13)
    np.testing.assert_allclose(OneToOne().drive(z, jnp.float64(2.0)), 2 * z, rtol=1e-13)
    np.testing.assert_allclose(
        OneToOne().correlate(post, z, (5,)), (post * z).sum(0), rtol=1e-13
    )
    # AllToAllButSelf: the diagonal never counts
    off = w * (1 - np.eye(5))
    lateral = AllToAllButSelf()
    np.testing.assert_allclose(lateral.drive(z, w), z @ off.T, rtol=1e-13)
    np.testing.assert_allclose(
        lateral.drive(z, jnp.float64(1.5)),
        1.5 * (z.sum(1, keepdims=True) - z),
        rtol=1e-13,
    )
    corr = lateral.correlate(post, z, w.shape)
    np.testing.assert_allclose(corr, (post.T @ z) * (1 - np.eye(5)), rtol=1e-13)
    # Conv2d: correlate is the weight gradient of the convolution
    conv = Conv2d(kernel_size=(2, 3), stride=1, padding=1)
    x = rng.random((2, 3, 6, 5))
    k = rng.random((4, 3, 2, 3))
    out_shape = conv.output_shape((3, 6, 5), k.shape)
    assert out_shape == (4, 7, 5)
    y = rng.random((2, *out_shape))
    grad = jax.grad(lambda k: jnp.sum(conv.drive(x, k) * y))(k)
    np.testing.assert_allclose(conv.correlate(y, x, k.shape), grad, rtol=1e-12)


def test_weight_shape_and_output_shape_errors():
    with pytest.raises(ValueError, match=r"w must have shape \(3, 4\)"):
        Dense().output_shape((4,), (3, 5))
    with pytest.raises(
        ValueError, match="OneToOne connection needs populations of the same shape"
    ):
        OneToOne().weight_shape((3,), (4,))
    with pytest.raises(ValueError, match=r"w must have shape \(3, 3\) or \(\)"):
        AllToAllButSelf().output_shape((3,), (3, 2))
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2d(kernel_size=0)
    with pytest.raises(ValueError, match="unfold_method must be one of"):
        Conv2d(unfold_method="im2col")
    assert Conv2d(kernel_size=3).weight_shape((2, 8, 8), (5, 6, 6)) == (5, 2, 3, 3)


# --- transforms -------------------------------------------------------------------


def test_transforms_clip_normalize_function_chain():
    w = jnp.array([[0.5, 1.5, -0.5], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(Clip(0.0, 1.0)(w), [[0.5, 1.0, 0.0], [0, 0, 0]])
    norm = Normalize(3.0)(w, Dense())
    np.testing.assert_allclose(norm[0], [1.0, 3.0, -1.0], rtol=1e-6)
    np.testing.assert_array_equal(norm[1], 0.0)  # nothing to scale: kept
    per_neuron = Normalize(jnp.array([1.0, 2.0]))(jnp.ones((2, 4)), Dense())
    np.testing.assert_allclose(per_neuron.sum(1), [1.0, 2.0], rtol=1e-6)
    kernel = jnp.ones((2, 3, 2, 2))
    np.testing.assert_allclose(Normalize(6.0)(kernel, Conv2d()).sum((1, 2, 3)), 6.0)
    both = chain(Clip(0.0, 1.0), Normalize(1.0))(w, Dense())
    np.testing.assert_allclose(both[0], [1 / 3, 2 / 3, 0.0], rtol=1e-6)
    assert isinstance(both, jax.Array) and isinstance(chain(), Chain)
    np.testing.assert_array_equal(Function(lambda x: 2 * x)(w), 2 * w)
    with pytest.raises(ValueError, match="Normalize needs a connection"):
        Normalize(1.0)(jnp.ones(3), OneToOne())
    with pytest.raises(ValueError, match="Clip.w_min must be < w_max"):
        Clip(1.0, 1.0)
    with pytest.raises(TypeError, match=r"transforms\[1\] must be a transform"):
        chain(Clip(), 3)
    with pytest.raises(TypeError, match="fn must be a function"):
        Function(3.0)


# --- run: save, reset, continue, replay ---------------------------------------------


def poisson_net(n=30, rule=True):
    return jstdp.Network(
        [
            jstdp.Input("x", (n,)),
            jstdp.Population("y", jstdp.LIFParameters(v_th=0.3), (4,)),
        ],
        [
            jstdp.Projection(
                "x", "y", Dense(), jnp.full((4, n), 0.5),
                rule=NorseSTDP(eta_plus=0.02, eta_minus=0.02) if rule else None,
            )
        ],
    )  # fmt: skip


def test_save_every_k_with_a_user_function():
    net = poisson_net()
    inputs = jstdp.PoissonInput(jnp.full((2, 30), 100.0))
    counts = jstdp.Save(every=10, fn=lambda s: s.counts["y"].sum())
    state, saved = jstdp.run(net, inputs, steps=45, key=jax.random.key(0), save=counts)
    assert saved.shape == (4,)  # steps 10, 20, 30, 40
    assert np.all(np.diff(np.asarray(saved)) >= 0) and int(saved[-1]) > 0
    whole, snaps = jstdp.run(
        net, inputs, steps=45, key=jax.random.key(0), save=jstdp.Save(15)
    )
    assert isinstance(snaps, jstdp.NetworkState) and snaps.weights["x->y"].shape == (
        3,
        4,
        30,
    )
    np.testing.assert_array_equal(snaps.weights["x->y"][-1], whole.weights["x->y"])


def test_continued_and_chunked_runs_equal_one_run():
    net = poisson_net()
    inputs = jstdp.PoissonInput(jnp.full((1, 30), 80.0))
    key = jax.random.key(1)
    one, _ = jstdp.run(net, inputs, steps=60, key=key)
    a, _ = jstdp.run(net, inputs, steps=25, key=key)
    b, _ = jstdp.run(net, inputs, steps=35, key=key, state=a)
    chunked, _ = jstdp.run(net, inputs, steps=60, key=key, chunk_steps=7)
    for other in (b, chunked):
        jax.tree.map(np.testing.assert_array_equal, other, one)
    assert float(jnp.max(jnp.abs(one.weights["x->y"] - 0.5))) > 1e-3


def test_reset_between_stimuli_keeps_weights_step_and_adaptation():
    exc = jstdp.AdaptiveThreshold(jstdp.LIFParameters(v_th=0.2), theta_plus=0.1)
    net = jstdp.Network(
        [jstdp.Input("x", (8,)), jstdp.Population("y", exc, (3,))],
        [
            jstdp.Projection(
                "x", "y", Dense(), jnp.full((3, 8), 0.6), rule=NorseSTDP(eta_plus=0.05)
            )
        ],
    )
    x = jnp.ones((20, 1, 8))
    state, _ = jstdp.run(net, x)
    fresh = net.reset(state)
    assert int(fresh.step) == 20
    np.testing.assert_array_equal(fresh.weights["x->y"], state.weights["x->y"])
    np.testing.assert_array_equal(fresh.neurons["y"].theta, state.neurons["y"].theta)
    assert float(jnp.max(state.neurons["y"].theta)) > 0  # it adapted
    for leaf in jax.tree.leaves(
        (fresh.spikes, fresh.history, fresh.rules, fresh.counts)
    ):
        np.testing.assert_array_equal(leaf, 0)
    np.testing.assert_array_equal(fresh.neurons["y"].neuron.v, 0.0)  # v_leak


def test_learning_off_freezes_weights_rules_and_adaptation():
    exc = jstdp.AdaptiveThreshold(jstdp.LIFParameters(v_th=0.2), theta_plus=0.1)
    net = jstdp.Network(
        [jstdp.Input("x", (8,)), jstdp.Population("y", exc, (3,))],
        [
            jstdp.Projection(
                "x", "y", Dense(), jnp.full((3, 8), 0.6), rule=NorseSTDP(eta_plus=0.05)
            )
        ],
    )
    state, _ = jstdp.run(net, jnp.ones((20, 1, 8)), learning=False)
    np.testing.assert_array_equal(state.weights["x->y"], np.float32(0.6))
    np.testing.assert_array_equal(state.neurons["y"].theta, 0.0)
    assert int(state.counts["y"].sum()) > 0


def test_replay_equals_simulate_linear_and_conv2d():
    rng = np.random.default_rng(5)
    p = jstdp.STDPParameters(
        eta_plus=0.02, eta_minus=0.03, stdp_algorithm="multiplicative_pow", mu=0.5
    )
    z_pre, z_post = rng.random((20, 2, 6)) < 0.3, rng.random((20, 2, 3)) < 0.3
    w0 = jnp.asarray(rng.uniform(0.2, 0.8, (3, 6)), jnp.float32)
    w, s, _ = jstdp.replay(p, z_pre, z_post, w0)
    w_ref, s_ref, _ = jstdp.simulate_linear(z_pre, z_post, w0, p_stdp=p)
    np.testing.assert_array_equal(w, w_ref)
    jax.tree.map(np.testing.assert_array_equal, s, s_ref)
    conv = Conv2d(stride=2, padding=1)
    x, y = rng.random((10, 1, 2, 7, 7)) < 0.3, rng.random((10, 1, 3, 4, 4)) < 0.3
    k = jnp.full((3, 2, 3, 3), 0.5)
    got, _, _ = jstdp.replay(p, x, y, k, connection=conv)
    want, _, _ = jstdp.simulate_conv2d(x, y, k, p_stdp=p.replace(stride=2, padding=1))
    np.testing.assert_array_equal(got, want)


def test_replay_with_a_transform_and_saves():
    rng = np.random.default_rng(6)
    z_pre, z_post = rng.random((12, 1, 5)) < 0.4, rng.random((12, 1, 2)) < 0.4
    rule = NorseSTDP(eta_plus=0.3, eta_minus=0.1, hardbound=False)
    w, _, saved = jstdp.replay(
        rule, z_pre, z_post, jnp.full((2, 5), 0.5), transform=Normalize(1.0),
        save=jstdp.Save(3, lambda s: s.w.sum(1)),
    )  # fmt: skip
    np.testing.assert_allclose(saved, 1.0, rtol=1e-6)
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-6)


def test_memory_does_not_grow_with_steps():
    net = poisson_net(n=200)
    inputs = jstdp.PoissonInput(jnp.full((1, 200), 50.0))
    state = net.init(1)

    def compiled(steps):
        f = jax.jit(lambda s, k: jstdp.run(net, inputs, steps=steps, key=k, state=s)[0])
        return f.lower(state, jax.random.key(0)).compile().memory_analysis()

    # Poisson input is drawn DRAW_STEPS steps at a time: from there on, memory
    # is that of one block, whatever the number of steps.
    small, large = compiled(1000), compiled(10_000)
    assert small.temp_size_in_bytes == large.temp_size_in_bytes
    assert small.output_size_in_bytes == large.output_size_in_bytes


def test_vmap_over_rule_parameters_equals_single_runs():
    net = poisson_net()
    inputs = jstdp.PoissonInput(jnp.full((1, 30), 80.0))
    key = jax.random.key(2)
    etas = jnp.array([0.0, 0.02, 0.05])

    def final(eta):
        rule = NorseSTDP(eta_plus=eta, eta_minus=0.02)
        q = net.projections[0].replace(rule=rule)
        n2 = jstdp.Network(net.populations, [q])
        return jstdp.run(n2, inputs, steps=40, key=key)[0].weights["x->y"]

    batched = jax.jit(jax.vmap(final))(etas)
    for k, eta in enumerate(etas):
        np.testing.assert_allclose(batched[k], final(float(eta)), rtol=1e-6, atol=1e-7)


# --- bad inputs: every new object names what is wrong ---------------------------------


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: jstdp.Input("", (3,)),
            TypeError,
            "Input.name must be a non-empty string",
        ),
        (
            lambda: jstdp.Input("x", (0,)),
            ValueError,
            r"Input 'x' shape must be an int >= 1",
        ),
        (lambda: jstdp.Population("y", object(), (3,)), TypeError, "neuron must have"),
        (
            lambda: jstdp.Projection("x", "y", "dense", jnp.ones((2, 2))),
            TypeError,
            "connection must be",
        ),
        (
            lambda: jstdp.Projection("x", "y", Dense(), "heavy"),
            TypeError,
            "w must be a real array",
        ),
        (
            lambda: jstdp.Projection("x", "y", Dense(), jnp.ones((2, 2)), rule=3),
            TypeError,
            "rule must be",
        ),
        (
            lambda: jstdp.Projection("x", "y", Dense(), jnp.ones((2, 2)), delay=-1),
            ValueError,
            "delay must be an int >= 0",
        ),
        (
            lambda: jstdp.Projection("x", "y", Dense(), jnp.ones((2, 2)), delay=1.5),
            TypeError,
            "delay must be an int",
        ),
        (
            lambda: jstdp.Projection("x", "y", OneToOne(), 1.0, delay=np.ones(2, int)),
            ValueError,
            "per-synapse delays need a Dense",
        ),
        (
            lambda: jstdp.Projection(
                "x", "y", Dense(), jnp.ones((2, 2)), delay=np.zeros((2, 2), int)
            ),
            ValueError,
            "per-synapse delays must be >= 1",
        ),
        (
            lambda: jstdp.Projection(
                "x", "y", Dense(), jnp.ones((2, 2)), transform=Clip()
            ),
            ValueError,
            "a transform needs a rule",
        ),
        (lambda: NorseSTDP(w_min=1.0), ValueError, "NorseSTDP.w_min must be < w_max"),
        (
            lambda: NorseSTDP(tau_pre_inv=0.0),
            ValueError,
            "NorseSTDP.tau_pre_inv must be > 0",
        ),
        (
            lambda: NorseSTDP(eta_plus=float("nan")),
            ValueError,
            "NorseSTDP.eta_plus must be finite",
        ),
        (
            lambda: NorseSTDP(stdp_algorithm="hebb"),
            ValueError,
            "stdp_algorithm must be one of",
        ),
        (
            lambda: jstdp.AdaptiveThreshold(object()),
            TypeError,
            "neuron must be a neuron with a v_th",
        ),
        (
            lambda: jstdp.AdaptiveThreshold(jstdp.LIFParameters(), theta_plus=-1.0),
            ValueError,
            "theta_plus must be >= 0",
        ),
        (
            lambda: jstdp.ConductanceLIFParameters(t_ref=-1e-3),
            ValueError,
            "t_ref must be >= 0",
        ),
        (
            lambda: jstdp.PoissonInput(jnp.full(3, -1.0)),
            ValueError,
            "PoissonInput.rates_hz must be finite and >= 0",
        ),
        (
            lambda: jstdp.PoissonInput(jnp.ones(3), key=0),
            TypeError,
            "PoissonInput.key must be a jax.random key",
        ),
        (lambda: jstdp.Save(every=0), ValueError, "Save.every must be an int >= 1"),
        (lambda: jstdp.Save(fn=3), TypeError, "Save.fn must be a function"),
    ],
)
def test_bad_objects_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_networks_name_the_projection():
    x, y = jstdp.Input("x", (3,)), jstdp.Population("y", Relay(), (2,))
    ok = jstdp.Projection("x", "y", Dense(), jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="two populations are named 'x'"):
        jstdp.Network([x, jstdp.Input("x", (2,))], [])
    with pytest.raises(
        ValueError, match="projection 'x->z': post 'z' is not a population"
    ):
        jstdp.Network([x, y], [ok.replace(post="z", name=None)])
    with pytest.raises(ValueError, match="projection 'y->x': post 'x' is an Input"):
        jstdp.Network([x, y], [jstdp.Projection("y", "x", Dense(), jnp.ones((3, 2)))])
    with pytest.raises(
        ValueError, match=r"projection 'x->y': w must have shape \(2, 3\)"
    ):
        jstdp.Network([x, y], [ok.replace(w=jnp.ones((2, 4)))])
    with pytest.raises(
        ValueError,
        match=r"w must have shape \(2, 3\) for 'x' \(3,\) -> 'y' \(2,\), got \(5, 3\)",
    ):
        jstdp.Network([x, y], [ok.replace(w=jnp.ones((5, 3)))])
    with pytest.raises(ValueError, match="receptor 'gaba' is not one of 'y'"):
        jstdp.Network([x, y], [ok.replace(receptor="gaba")])
    with pytest.raises(ValueError, match="a plastic projection needs an array"):
        jstdp.Network(
            [x, jstdp.Population("z", Relay(), (3,))],
            [jstdp.Projection("x", "z", OneToOne(), 1.0, rule=NorseSTDP())],
        )
    with pytest.raises(ValueError, match="two projections are named 'x->y'"):
        jstdp.Network([x, y], [ok, ok])
    with pytest.raises(TypeError, match=r"projections\[0\] must be jstdp.Projection"):
        jstdp.Network([x, y], [3])


def test_bad_run_arguments_name_the_argument():
    net = poisson_net()
    key = jax.random.key(0)
    rates = jstdp.PoissonInput(jnp.full((1, 30), 10.0))
    cases = [
        (dict(inputs=rates, key=key), ValueError, "steps is required"),
        (
            dict(inputs=rates, steps=5),
            ValueError,
            "key .* is required for the PoissonInput",
        ),
        (
            dict(
                inputs=jstdp.PoissonInput(jnp.full((1, 30), 2000.0)), steps=5, key=key
            ),
            ValueError,
            r"rates_hz \* dt must be <= 1",
        ),
        (
            dict(inputs={"z": rates}, steps=5, key=key),
            ValueError,
            "missing \\['x'\\], unknown \\['z'\\]",
        ),
        (
            dict(inputs=jnp.ones((5, 1, 29))),
            ValueError,
            r"inputs must have shape \(T, batch, \*shape\)",
        ),
        (
            dict(inputs=jnp.ones((5, 30))),
            ValueError,
            r"must have shape \(T, batch, \*shape\) with shape = \(30,\), got \(5, 30",
        ),
        (dict(inputs=jnp.ones(30)), ValueError, "must be time-major spikes"),
        (dict(inputs=np.array([["a"]])), TypeError, r"inputs must be spikes"),
        (
            dict(inputs=rates, steps=5, key=key, dt=jnp.ones(3)),
            ValueError,
            "dt must be a scalar",
        ),
        (dict(inputs=rates, steps=5, key=key, dt=1j), TypeError, "dt must be real"),
        (dict(inputs=rates, steps=2.0, key=key), TypeError, "steps must be an int"),
        (
            dict(inputs=rates, steps=5, key=key, learning="no"),
            TypeError,
            "learning must be a bool",
        ),
        (
            dict(inputs=rates, steps=5, key=key, save=3),
            TypeError,
            "save must be jstdp.Save",
        ),
        (
            dict(inputs=rates, steps=5, key=key, state=3),
            TypeError,
            "state must be jstdp.NetworkState",
        ),
        (
            dict(inputs=rates, steps=2**31, key=key),
            ValueError,
            r"steps = 2147483648 would take the step count",
        ),
    ]
    for kwargs, error, match in cases:
        with pytest.raises(error, match=match):
            jstdp.run(net, **kwargs)
    other = poisson_net(n=31).init(1)
    with pytest.raises(ValueError, match="state.* must have shape"):
        jstdp.run(net, rates, steps=3, key=key, state=other)
    with pytest.raises(TypeError, match="network must be jstdp.Network"):
        jstdp.run(3, rates)


# --- neurons for the tests -------------------------------------------------------


class Relay:
    """Fires where its drive is positive; no memory."""

    def initial_state(self, shape, dtype):
        return jnp.zeros(shape, dtype)

    def step(self, drive, state, dt):
        z = (drive > 0).astype(state.dtype)
        return z, z


class Drive:
    """Never fires; its state is the last drive (to look at the delays)."""

    def initial_state(self, shape, dtype):
        return jnp.zeros(shape, dtype)

    def step(self, drive, state, dt):
        return jnp.zeros_like(state), drive


jax.tree_util.register_static(Relay)
jax.tree_util.register_static(Drive)
