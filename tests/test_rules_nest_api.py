"""jstdp's NEST rules without NEST: the rule protocol everywhere (replay,
jit, vmap over parameter grids, grad, networks, every connection, the NNX
layers, float32 and float64), NEST's quirks computed by hand, and the errors.
Parity with NEST itself is tests/test_rules_nest.py."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp
from jstdp import rules
from jstdp.connections import AllToAllButSelf, Conv2d, Dense, OneToOne

T, BATCH, N_PRE, N_POST = 40, 2, 4, 3
DT = 1e-3  # s
# Parameters that make every term act within T steps, weights far from the
# bounds (so finite differences see no clipping).
RULES = {
    rules.STDPSynapse: dict(
        lambda_=0.05, alpha=1.1, mu_plus=0.5, mu_minus=0.8, Wmax=5.0
    ),
    rules.STDPNNSymmSynapse: dict(lambda_=0.05, alpha=1.2, Wmax=5.0, tau_minus=30.0),
    rules.STDPNNPreCenteredSynapse: dict(lambda_=0.05, mu_plus=0.7, Wmax=5.0),
    rules.STDPNNRestrSynapse: dict(lambda_=0.05, alpha=0.9, Wmax=5.0, tau_plus=15.0),
    rules.STDPTripletSynapse: dict(
        Aplus=0.01, Aminus=0.012, Aplus_triplet=0.02, Aminus_triplet=0.005, Wmax=5.0
    ),
    rules.STDPDopamineSynapse: dict(
        A_plus=0.1, A_minus=0.15, tau_c=50.0, tau_n=20.0, b=0.002, Wmax=5.0
    ),
    rules.VogelsSprekelerSynapse: dict(eta=0.02, alpha=0.3, Wmax=5.0, tau_minus=25.0),
}  # fmt: skip
IDS = [rule.__name__ for rule in RULES]
# Numeric fields whose derivative is checked against finite differences.
GRAD_FIELDS = {
    rules.STDPSynapse: ("lambda_", "alpha", "mu_plus", "tau_plus", "tau_minus"),
    rules.STDPNNSymmSynapse: ("lambda_", "alpha", "tau_plus"),
    rules.STDPNNPreCenteredSynapse: ("lambda_", "mu_plus", "tau_plus"),
    rules.STDPNNRestrSynapse: ("lambda_", "tau_minus"),
    rules.STDPTripletSynapse: (
        "Aplus", "Aplus_triplet", "tau_plus_triplet", "tau_minus"
    ),
    rules.STDPDopamineSynapse: ("A_plus", "tau_c", "tau_n", "b"),
    rules.VogelsSprekelerSynapse: ("eta", "alpha", "tau"),
}  # fmt: skip
PER_SYNAPSE = (rules.STDPNNPreCenteredSynapse, rules.STDPNNRestrSynapse)
# Central differences in float64 with h = 1e-6 * value (see tests/test_grad.py).
FD_REL_STEP, FD_RTOL = 1e-6, 1e-6


def trains(dtype=np.float64, seed=0, n_pre=N_PRE, n_post=N_POST, batch=BATCH):
    rng = np.random.default_rng(seed)
    z_pre = (rng.random((T, batch, n_pre)) < 0.15).astype(dtype)
    z_post = (rng.random((T, batch, n_post)) < 0.15).astype(dtype)
    dopamine = (rng.random(T) < 0.1).astype(dtype)
    w0 = rng.uniform(1.0, 2.0, (n_post, n_pre)).astype(dtype)
    return z_pre, z_post, w0, dopamine


def signals_of(rule_type, dopamine):
    return {"dopamine": dopamine} if rule_type is rules.STDPDopamineSynapse else None


def replay(rule, z_pre, z_post, w0, dopamine, **kwargs):
    signals = signals_of(type(rule), dopamine)
    return jstdp.replay(rule, z_pre, z_post, w0, DT, signals=signals, **kwargs)


# --- one rule, every way of running it ------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule_type", RULES, ids=IDS)
def test_eager_jit_and_scan_agree_bit_for_bit(x64, rule_type, dtype):
    """A loop of ``update`` (each step compiled inside), the same loop under
    ``jax.jit`` and :func:`jstdp.replay`'s ``lax.scan`` give the same bits,
    in the weights' dtype; the weights move."""
    rule = jstdp.validate_parameters(rule_type(**RULES[rule_type]))
    z_pre, z_post, w0, dopamine = map(jnp.asarray, trains(dtype))
    cast = jax.tree.map(lambda x: jnp.asarray(x, dtype), rule)
    dt = jnp.asarray(DT, dtype)

    def loop(rule, update):
        w, state = w0, rule.init(z_pre.shape[1:], z_post.shape[1:], w0.shape, dtype)
        for t in range(T):
            signals = signals_of(rule_type, dopamine[t]) or {}
            w, state = update(rule, z_pre[t], z_post[t], w, state, dt, **signals)
        return w, state

    def update(rule, *args, **signals):
        return rule.update(*args, **signals)

    eager = loop(cast, update)
    jitted = loop(cast, jax.jit(update))
    w, state, _ = replay(rule, z_pre, z_post, w0, dopamine)
    for got in (jitted, (w, state)):
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(eager), strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert w.dtype == dtype and np.abs(np.asarray(w) - w0).max() > 1e-3


@pytest.mark.parametrize("rule_type", RULES, ids=IDS)
def test_vmap_over_a_parameter_grid_equals_single_runs(x64, rule_type):
    base = rule_type(**RULES[rule_type])
    field = GRAD_FIELDS[rule_type][0]
    value = getattr(base, field)
    grid, rows = jstdp.parameter_grid(
        base, **{field: [value, 1.5 * value, 0.5 * value]}
    )
    z_pre, z_post, w0, dopamine = trains()
    swept = jax.vmap(lambda r: replay(r, z_pre, z_post, w0, dopamine)[0])(grid)
    for k, row in enumerate(rows):
        single = replay(base.replace(**row), z_pre, z_post, w0, dopamine)[0]
        # vmap batches the Hebbian sums into one product: same terms, other
        # order of summation, so equal to rounding (not bit for bit).
        np.testing.assert_allclose(swept[k], single, rtol=1e-14, atol=1e-14)
    assert not np.allclose(swept[0], swept[1])


@pytest.mark.parametrize("rule_type", RULES, ids=IDS)
def test_grad_matches_finite_differences(x64, rule_type):
    """``jax.grad`` of a readout of the final weights with respect to the
    rule's numeric parameters, through the whole ``replay``."""
    base = rule_type(**RULES[rule_type])
    z_pre, z_post, w0, dopamine = trains()
    readout = np.random.default_rng(1).normal(size=w0.shape)

    def loss(rule):
        return jnp.sum(readout * replay(rule, z_pre, z_post, w0, dopamine)[0])

    grad = jax.jit(jax.grad(loss))(base)
    for field in GRAD_FIELDS[rule_type]:
        value = float(getattr(base, field))
        h = FD_REL_STEP * value
        fd = (
            loss(base.replace(**{field: value + h}))
            - loss(base.replace(**{field: value - h}))
        ) / (2 * h)
        got = getattr(grad, field)
        assert abs(float(fd)) > 1e-6, field  # the parameter matters
        np.testing.assert_allclose(got, fd, rtol=FD_RTOL, err_msg=field)


def test_grad_is_finite_at_the_bounds(x64):
    """Weights clipped at a bound (``(1 - w/Wmax)^mu`` with ``mu < 1`` has an
    infinite slope there) still give finite gradients."""
    rule = rules.STDPSynapse(lambda_=0.5, mu_plus=0.5, mu_minus=0.5, Wmax=2.0)
    z_pre, z_post, w0, _ = trains()
    w0 = np.full_like(w0, 2.0)
    grad = jax.grad(lambda r: jnp.sum(replay(r, z_pre, z_post, w0, None)[0]))(rule)
    assert all(np.isfinite(x) for x in jax.tree.leaves(grad))


# --- connections ---------------------------------------------------------------


@pytest.mark.parametrize("rule_type", RULES, ids=IDS)
def test_one_to_one_and_all_to_all_but_self_are_parts_of_dense(x64, rule_type):
    """Every synapse of a NEST rule learns from its own pre and post only, so
    a OneToOne projection is the diagonal of a Dense one on the same trains,
    and AllToAllButSelf is Dense without its diagonal (which never learns)."""
    rule = rule_type(**RULES[rule_type])
    z_pre, _, w0, dopamine = trains(n_post=N_PRE)
    z_post = trains(seed=1, n_pre=N_PRE)[0]
    dense = replay(rule, z_pre, z_post, w0, dopamine)[0]
    diagonal = np.diag(w0).copy()
    one = replay(rule, z_pre, z_post, diagonal, dopamine, connection=OneToOne())[0]
    np.testing.assert_allclose(one, np.diag(dense), rtol=1e-14)
    lateral = replay(rule, z_pre, z_post, w0, dopamine, connection=AllToAllButSelf())[0]
    off = ~np.eye(N_PRE, dtype=bool)
    np.testing.assert_allclose(np.asarray(lateral)[off], np.asarray(dense)[off], 1e-14)
    if rule_type is not rules.STDPDopamineSynapse:  # its weights always integrate
        np.testing.assert_array_equal(np.diag(lateral), diagonal)


@pytest.mark.parametrize("rule_type", RULES, ids=IDS)
def test_conv2d_is_dense_when_the_kernel_covers_the_input(x64, rule_type):
    """A kernel as large as its input has one output position: the conv2d
    rule is then the dense rule on flattened spikes. The rules with state
    per synapse refuse conv2d (its weights are shared)."""
    rule = rule_type(**RULES[rule_type])
    z_pre, z_post, w0, dopamine = trains(n_pre=2 * 2 * 2)
    image = z_pre.reshape(T, BATCH, 2, 2, 2)
    kernel = w0.reshape(N_POST, 2, 2, 2)
    post = z_post.reshape(T, BATCH, N_POST, 1, 1)
    if rule_type in PER_SYNAPSE:
        with pytest.raises(ValueError, match="needs a Dense, OneToOne or AllToAll"):
            replay(rule, image, post, kernel, dopamine, connection=Conv2d())
        return
    conv = replay(rule, image, post, kernel, dopamine, connection=Conv2d())[0]
    dense = replay(rule, z_pre, z_post, w0, dopamine)[0]
    np.testing.assert_allclose(np.asarray(conv).reshape(w0.shape), dense, rtol=1e-14)


@pytest.mark.parametrize("connection", [Dense(), OneToOne(), AllToAllButSelf()])
def test_sum_pairs_of_pairs_is_correlate(x64, connection):
    rng = np.random.default_rng(3)
    post, pre = rng.normal(size=(2, 3, 5))
    w_shape = (5,) if isinstance(connection, OneToOne) else (5, 5)
    a, b = connection.pairs(jnp.asarray(post), jnp.asarray(pre))
    np.testing.assert_allclose(
        connection.sum_pairs(a * b), connection.correlate(post, pre, w_shape), 1e-14
    )


# --- networks and layers -----------------------------------------------------------


def test_every_rule_learns_in_a_closed_loop_network():
    """One network, one plastic projection per rule (dopamine from a
    population of its own through ``signals``), LIF neurons driven by
    Poisson input: every rule changes its weights, finitely."""
    populations = [
        jstdp.Input("x", (12,)),
        jstdp.Input("da", (1,)),
        jstdp.Population("y", jstdp.LIFParameters(v_th=0.3), (4,)),
    ]
    w0 = np.random.default_rng(0).uniform(1.0, 2.0, (4, 12))
    dopamine = {"dopamine": "da"}
    projections = [
        jstdp.Projection(
            "x", "y", w=w0, rule=rule_type(**RULES[rule_type]),
            name=rule_type.__name__,
            signals=dopamine if rule_type is rules.STDPDopamineSynapse else {},
        )
        for rule_type in RULES
    ]  # fmt: skip
    network = jstdp.Network(populations, projections)
    inputs = {
        "x": jstdp.PoissonInput(jnp.full((2, 12), 150.0)),
        "da": jstdp.PoissonInput(jnp.full((2, 1), 50.0)),
    }
    state, _ = jstdp.run(network, inputs, steps=60, key=jax.random.key(0))
    assert float(state.counts["y"].sum()) > 10
    for name, w in state.weights.items():
        assert w.dtype == jnp.float32 and np.all(np.isfinite(w)), name
        assert np.abs(np.asarray(w) - w0).max() > 1e-4, name


@pytest.mark.parametrize(
    "rule_type", [rules.STDPSynapse, rules.STDPNNRestrSynapse, rules.STDPTripletSynapse]
)
def test_the_nnx_layers_take_nest_rules(rule_type):
    nnx = pytest.importorskip("flax.nnx")
    from jstdp.nn import STDPConv2d, STDPLinear

    rule = rule_type(**RULES[rule_type])
    z = jnp.asarray(np.random.default_rng(0).random((20, 2, 6)) < 0.4, jnp.float32)
    layer = STDPLinear(6, 3, batch_size=2, rule=rule, rngs=nnx.Rngs(0))
    w0 = layer.w[...]
    for t in range(20):
        layer(z[t])
    assert np.abs(layer.w[...] - w0).max() > 0
    assert type(layer.traces.get_value()).__name__.endswith("State") or isinstance(
        layer.traces.get_value(), rules.NESTTraces
    )
    if rule_type in PER_SYNAPSE:
        return
    conv = STDPConv2d(1, 2, 3, input_size=(5, 5), rule=rule, rngs=nnx.Rngs(0))
    w0 = conv.w[...]
    images = np.random.default_rng(1).random((20, 1, 1, 5, 5)) < 0.5
    for t in range(20):
        conv(jnp.asarray(images[t], jnp.float32))
    assert np.abs(conv.w[...] - w0).max() > 0


# --- NEST's semantics, by hand ------------------------------------------------------


def one_synapse(rule, pre_steps, post_steps, w=1.0, steps=40, dt=1e-3, **signals):
    """Weights after every step of one synapse with spikes at the given steps
    (step ``k`` is time ``k + 1`` in units of ``dt``)."""
    z_pre, z_post = np.zeros((steps, 1, 1)), np.zeros((steps, 1, 1))
    z_pre[list(pre_steps)], z_post[list(post_steps)] = 1.0, 1.0
    save = jstdp.Save(every=1, fn=lambda s: s.w[0, 0])
    w0 = np.full((1, 1), w)
    return np.asarray(
        jstdp.replay(rule, z_pre, z_post, w0, dt, signals=signals, save=save)[2]
    )


def test_pair_rule_by_hand(x64):
    """Gütig's facilitation at a post 5 ms after a pre, depression at a pre
    10 ms after that post, and nothing for a pre and a post at the same time."""
    rule = rules.STDPSynapse(
        lambda_=0.1, alpha=2.0, mu_plus=0.5, mu_minus=1.0, Wmax=4.0
    )
    w = one_synapse(rule, pre_steps=[0, 15], post_steps=[5])
    after_post = 4.0 * (0.25 + 0.1 * 0.75**0.5 * math.exp(-5 / 20))
    np.testing.assert_allclose(w[5], after_post, rtol=1e-14)
    depressed = 4.0 * (w[5] / 4 - 2.0 * 0.1 * (w[5] / 4) * math.exp(-10 / 20))
    np.testing.assert_allclose(w[15], depressed, rtol=1e-14)
    assert np.all(one_synapse(rule, pre_steps=[3], post_steps=[3]) == 1.0)


def test_nearest_neighbour_quirks_by_hand(x64):
    """``stdp_nn_symm``: a post with no pre before it pairs with a phantom pre
    at time 0. ``stdp_nn_pre_centered``: the first post after two pres sums
    both, the next post gets nothing, and there is no phantom. ``stdp_nn_restr``:
    only the first post after a pre is facilitated; a pre depresses with the
    nearest post only if a post came after the previous pre."""
    kw = dict(lambda_=0.1, Wmax=10.0)
    symm = one_synapse(rules.STDPNNSymmSynapse(**kw), [], [9])
    np.testing.assert_allclose(symm[9], 10 * (0.1 + 0.1 * 0.9 * math.exp(-10 / 20)))
    pre_centered = rules.STDPNNPreCenteredSynapse(**kw)
    w = one_synapse(pre_centered, [0, 2], [9, 11])
    k = math.exp(-9 / 20) + math.exp(-7 / 20)
    np.testing.assert_allclose(w[9], 10 * (0.1 + 0.1 * 0.9 * k), rtol=1e-14)
    assert w[11] == w[9] and np.all(one_synapse(pre_centered, [], [9]) == 1.0)
    w = one_synapse(rules.STDPNNRestrSynapse(**kw), [0, 19, 29], [4, 7])
    np.testing.assert_allclose(w[4], 10 * (0.1 + 0.1 * 0.9 * math.exp(-4 / 20)))
    assert w[7] == w[4]  # the second post after the same pre
    depressed = 10 * (w[7] / 10 - 0.1 * (w[7] / 10) * math.exp(-12 / 20))
    np.testing.assert_allclose(w[19], depressed, rtol=1e-14)
    assert w[29] == w[19]  # no post since the pre at step 19


def test_triplet_rule_by_hand(x64):
    """Pre, then two posts: the second post's facilitation has the triplet
    term with ``o2`` of the first post (not of itself)."""
    rule = rules.STDPTripletSynapse(Aplus=0.1, Aplus_triplet=0.2, Aminus=0.0, Wmax=5.0)
    w = one_synapse(rule, [0], [5, 9])
    r1 = [math.exp(-5 / 16.8), math.exp(-9 / 16.8)]
    np.testing.assert_allclose(w[5], 1 + 0.1 * r1[0], rtol=1e-14)
    second = w[5] + r1[1] * (0.1 + 0.2 * math.exp(-4 / 110))
    np.testing.assert_allclose(w[9], second, rtol=1e-14)


def test_vogels_sprekeler_by_hand(x64):
    """An isolated pre spike depresses by ``alpha eta``; a weight at 0 stays."""
    rule = rules.VogelsSprekelerSynapse(eta=0.01, alpha=2.0)
    np.testing.assert_allclose(one_synapse(rule, [3], [], w=0.5)[3], 0.5 - 0.02)
    assert one_synapse(rule, [3], [], w=0.0)[3] == 0.0


def test_dopamine_integral_and_concentration_signal(x64):
    """A pair makes ``c = A_plus e^{-5/tau_plus}``; a dopamine spike then adds
    the exact integral of ``c (n - b)``, and ``n=`` as a concentration per
    step gives the same weights as the spikes it comes from."""
    rule = rules.STDPDopamineSynapse(A_plus=1.0, tau_c=100.0, tau_n=50.0, Wmax=10.0)
    steps = 400
    dopamine = np.zeros(steps)
    dopamine[[20, 30]] = 1.0
    w = one_synapse(rule, [0], [5], steps=steps, dopamine=dopamine)
    c5 = math.exp(-5 / 20)  # eligibility just after the post at t = 6 ms
    tau_s = 100 * 50 / 150

    # n jumps at t = 21 and 31 ms; w(t) = 1 + int c(s) n(s) ds, in closed form.
    def integral(t):
        c = lambda s: c5 * math.exp(-(s - 6) / 100)  # noqa: E731
        total = 0.0
        for t_d in (21, 31):
            if t > t_d:
                total += c(t_d) / 50 * tau_s * (1 - math.exp(-(t - t_d) / tau_s))
        return total

    for k in (25, 40, 399):
        np.testing.assert_allclose(w[k], 1 + integral(k + 1), rtol=1e-12)
    n = np.zeros(steps)
    for k in range(steps):
        n[k] = (n[k - 1] if k else 0.0) * math.exp(-1 / 50) + dopamine[k] / 50
    np.testing.assert_allclose(one_synapse(rule, [0], [5], steps=steps, n=n), w, 1e-12)


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: rules.STDPSynapse(tau_plus=0.0), r"STDPSynapse\.tau_plus must be > 0"),
        (lambda: rules.STDPNNRestrSynapse(tau_minus=-5.0), r"tau_minus must be > 0"),
        (lambda: rules.STDPNNSymmSynapse(Wmax=0.0), r"Wmax must be != 0"),
        (
            lambda: rules.STDPTripletSynapse(tau_minus_triplet=0.0),
            r"STDPTripletSynapse\.tau_minus_triplet must be > 0",
        ),
        (lambda: rules.STDPDopamineSynapse(tau_c=0.0), r"tau_c must be > 0"),
        (
            lambda: rules.STDPDopamineSynapse(Wmin=2.0, Wmax=1.0),
            r"STDPDopamineSynapse\.Wmin must be < Wmax",
        ),
        (lambda: rules.VogelsSprekelerSynapse(tau=0.0), r"\.tau must be > 0"),
        (lambda: rules.STDPSynapse(alpha=np.nan), r"STDPSynapse\.alpha must be finite"),
        (
            lambda: rules.STDPSynapse.from_nest(
                {"lambda": 0.1, "tau_minus_triplet": 1}
            ),
            r"STDPSynapse has no parameter 'tau_minus_triplet'.*lambda_, alpha",
        ),
        (
            lambda: jstdp.validate_parameters(rules.STDPSynapse(lambda_=-0.1)),
            r"STDPSynapse\.lambda_ must be >= 0",
        ),
    ],
)
def test_bad_parameters_name_the_field(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unknown_names_are_refused():
    with pytest.raises(TypeError, match="unexpected keyword argument 'tau'"):
        rules.STDPSynapse(tau=20.0)


def test_from_nest_reads_nest_names():
    rule = rules.STDPSynapse.from_nest(
        {"lambda": 0.2, "Wmax": 3.0}, {"tau_minus": 33.7}
    )
    assert rule == rules.STDPSynapse(lambda_=0.2, Wmax=3.0, tau_minus=33.7)


@pytest.mark.parametrize(
    "rule, w, ok",
    [
        (rules.STDPSynapse(Wmax=-1.0), -0.5, True),
        (rules.STDPSynapse(Wmax=-1.0), 0.0, False),  # NEST: 0 is positive
        (rules.STDPTripletSynapse(Wmax=2.0), -0.5, False),
        (rules.STDPNNSymmSynapse(Wmax=-1.0), -0.0, True),  # by the sign bit
        (rules.STDPNNSymmSynapse(Wmax=-1.0), 0.0, False),
        (rules.VogelsSprekelerSynapse(Wmax=-1.0), 0.0, True),  # 0 goes with both
        (rules.VogelsSprekelerSynapse(Wmax=-1.0), 0.5, False),
    ],
)
def test_weights_must_share_the_sign_of_wmax_as_nest_says(rule, w, ok):
    z = np.zeros((2, 1, 2))
    w0 = np.full((2, 2), w)
    w0[0, 0] = -0.5 if rule.Wmax < 0 else 0.5
    if ok:
        jstdp.replay(rule, z, z, w0)
        return
    name = type(rule).__name__
    with pytest.raises(ValueError, match=rf"w must have the sign of {name}\.Wmax"):
        jstdp.replay(rule, z, z, w0)
    populations = [
        jstdp.Input("x", (2,)),
        jstdp.Population("y", jstdp.LIFParameters(), (2,)),
    ]
    with pytest.raises(
        ValueError, match=r"projection 'x->y': rule: w must have the sign"
    ):
        jstdp.Network(populations, [jstdp.Projection("x", "y", w=w0, rule=rule)])


def test_dopamine_signals_are_checked():
    rule = rules.STDPDopamineSynapse()
    z = np.zeros((3, 1, 2))
    w0 = np.ones((2, 2))
    with pytest.raises(ValueError, match="not both"):
        jstdp.replay(
            rule, z, z, w0, signals={"dopamine": np.zeros(3), "n": np.zeros(3)}
        )
    with pytest.raises(ValueError, match="n must be a scalar per step"):
        jstdp.replay(rule, z, z, w0, signals={"n": np.zeros((3, 2))})
    with pytest.raises(TypeError, match="dopamine"):
        jstdp.replay(rules.STDPSynapse(), z, z, w0, signals={"dopamine": np.zeros(3)})
