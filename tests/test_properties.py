"""Property tests (hypothesis): invariants of the STDP steps, stated in words.

Each new static configuration (layer shape, dtype, rule, hardbound) compiles
the step once, so those come from small fixed sets; parameter values, spike
densities, step counts and random seeds vary freely. Profiles live in
``tests/conftest.py``: "ci" (default: few examples, derandomized) and
``HYPOTHESIS_PROFILE=thorough`` for a long local run.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jstdp
from jstdp import STDPParameters, STDPState
from jstdp.connections import conv_output_shape


@dataclasses.dataclass(frozen=True)
class Layer:
    """A static geometry: spike and weight shapes and the conv options."""

    kind: str
    pre: tuple[int, ...]
    w: tuple[int, ...]
    stride: int | tuple[int, int] = 1
    padding: int | tuple[int, int] = 0
    dilation: int | tuple[int, int] = 1
    unfold_method: str = "slices"  # conv2d: receptive fields by slices or patches

    @property
    def post(self) -> tuple[int, ...]:
        if self.kind == "linear":
            return (self.pre[0], self.w[0])
        p = STDPParameters(
            stride=self.stride, padding=self.padding, dilation=self.dilation
        )
        hw = conv_output_shape(
            self.pre[2:], self.w[2:], p.stride, p.padding, p.dilation
        )
        return (self.pre[0], self.w[0], *hw)

    @property
    def positions(self) -> int:
        """Output positions an update sums over (1 for a dense layer)."""
        return int(np.prod(self.post[2:]))

    def step(self, *args):
        if self.kind == "linear":
            return jstdp.stdp_step_linear(*args)
        return jstdp.stdp_step_conv2d(*args, unfold_method=self.unfold_method)


LINEAR = (Layer("linear", (1, 1), (1, 1)), Layer("linear", (3, 4), (2, 4)))
CONV = (
    Layer("conv2d", (2, 2, 5, 4), (3, 2, 3, 2), stride=(2, 1), padding=1),
    Layer("conv2d", (1, 1, 4, 4), (2, 1, 2, 2), dilation=2, unfold_method="patches"),
)
DTYPES = ("float32", "float64", "bfloat16")
densities = st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Case:
    """One drawn example: a static configuration plus values and spikes."""

    layer: Layer
    dtype: str
    algorithm: str
    hardbound: bool
    values: dict
    dt: float
    steps: int
    density: float
    seed: int

    def params(self, **changes) -> STDPParameters:
        g = self.layer
        return STDPParameters(
            **self.values,
            stdp_algorithm=self.algorithm,
            hardbound=self.hardbound,
            stride=g.stride,
            padding=g.padding,
            dilation=g.dilation,
        ).replace(**changes)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    def spikes(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """0/1 spike trains ``[steps, *shape]`` (float32) at the drawn density."""
        t = (self.steps,)
        z_pre = rng.random(t + self.layer.pre) < self.density
        z_post = rng.random(t + self.layer.post) < self.density
        return z_pre.astype(np.float32), z_post.astype(np.float32)

    def bounds(self) -> tuple[float, float]:
        """``(w_min, w_max)`` as the step sees them: cast to the weights' dtype."""
        lo, hi = (self.values[k] for k in ("w_min", "w_max"))
        return tuple(float(jnp.asarray(v, self.dtype)) for v in (lo, hi))

    def weights(self, rng: np.random.Generator, spread: float = 0.0) -> jax.Array:
        """Uniform weights in ``[w_min, w_max]``, widened by ``spread`` widths."""
        lo, hi = self.bounds()
        pad = spread * (hi - lo)
        w = rng.uniform(lo - pad, hi + pad, self.layer.w)
        return jnp.clip(jnp.asarray(w, self.dtype), lo - pad, hi + pad)

    def zero_state(self) -> STDPState:
        return STDPState.zeros_like(
            jnp.zeros(self.layer.pre), jnp.zeros(self.layer.post), self.dtype
        )

    def run(self, w, state, p, z_pre, z_post):
        """``(w, state)`` after each step, as a list."""
        out = []
        for t in range(z_pre.shape[0]):
            w, state = self.layer.step(z_pre[t], z_post[t], w, state, p, self.dt)
            out.append((w, state))
        return out


@st.composite
def cases(
    draw,
    layers=LINEAR + CONV,
    algorithms=jstdp.ALGORITHMS,
    hardbounds=(True, False),
    dtypes=DTYPES,
    max_steps=8,
) -> Case:
    dt = draw(st.sampled_from([1e-4, 1e-3, 1e-2]))
    # XLA on CPU flushes subnormals to zero, so a subnormal bound acts as 0.
    w_min = draw(st.floats(-1.0, 0.5, allow_subnormal=False))
    # dt * tau_inv stays below 1: the Euler trace update does not overshoot.
    c_pre, c_post = draw(st.floats(1e-3, 0.95)), draw(st.floats(1e-3, 0.95))
    values = dict(
        a_pre=draw(st.floats(0.0, 2.0)),
        a_post=draw(st.floats(0.0, 2.0)),
        tau_pre_inv=c_pre / dt,
        tau_post_inv=c_post / dt,
        w_min=w_min,
        w_max=w_min + draw(st.floats(0.05, 2.0)),
        eta_plus=draw(st.floats(0.0, 2.0)),
        eta_minus=draw(st.floats(0.0, 2.0)),
        mu=draw(st.floats(0.0, 2.0)),
    )
    return Case(
        layer=draw(st.sampled_from(layers)),
        dtype=draw(st.sampled_from(dtypes)),
        algorithm=draw(st.sampled_from(algorithms)),
        hardbound=draw(st.sampled_from(hardbounds)),
        values=values,
        dt=dt,
        steps=draw(st.integers(1, max_steps)),
        density=draw(densities),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def x64_for(case: Case):
    """float64 needs x64 on; create every array of the case inside this."""
    return jax.enable_x64(case.dtype == "float64")


def eps(dtype: str) -> float:
    return float(jnp.finfo(dtype).eps)


def f64(x) -> np.ndarray:
    return np.asarray(jnp.asarray(x, jnp.float32) if x.dtype == jnp.bfloat16 else x)


@given(cases(hardbounds=(True,)))
def test_hardbound_keeps_every_weight_in_bounds(case):
    """With hardbound, every weight lies in [w_min, w_max] after every step.

    For every rule, layer, dtype, spike density and parameter value, starting
    anywhere inside the bounds (and, for the rules that stay finite outside
    them, up to half a width outside): the clip after each step holds the
    bounds as cast to the weights' dtype, and nothing becomes NaN.
    """
    with x64_for(case):
        rng = case.rng()
        spread = 0.0 if case.algorithm == "multiplicative_pow" else 0.5
        w0 = case.weights(rng, spread)
        z_pre, z_post = case.spikes(rng)
        lo, hi = case.bounds()
        for w, _ in case.run(w0, case.zero_state(), case.params(), z_pre, z_post):
            w = f64(w)
            assert np.all(np.isfinite(w))
            assert np.all((w >= lo) & (w <= hi)), (w.min(), w.max(), lo, hi)


@given(cases(algorithms=("additive",), hardbounds=(True,)))
def test_traces_stay_in_zero_to_a(case):
    """Traces stay in [0, a] for spikes in {0, 1}, starting from zero.

    Each spike adds ``dt * tau_inv * a`` and each step multiplies by
    ``1 - dt * tau_inv``; the geometric series of jumps sums to at most
    ``dt * tau_inv * a / (1 - (1 - dt * tau_inv)) = a``. This holds whenever
    ``dt * tau_inv``, computed in the dtype, is at most 1 (no overshoot; drawn
    up to 0.95 here), up to a few rounding errors of ``a``.
    """
    with x64_for(case):
        p = case.params()
        rng = case.rng()
        z_pre, z_post = case.spikes(rng)
        caps = (case.values["a_pre"], case.values["a_post"])
        tol = 4 * eps(case.dtype)  # a few roundings of the update, relative to a
        for _, s in case.run(case.weights(rng), case.zero_state(), p, z_pre, z_post):
            for trace, a in zip((s.t_pre, s.t_post), caps, strict=True):
                trace = f64(trace)
                assert np.all(trace >= 0.0)
                assert np.all(trace <= a * (1 + tol)), (trace.max(), a)


@given(cases(hardbounds=(True,)))
def test_silent_input_only_decays(case):
    """A silent step (no pre, no post spike) only decays the traces.

    After any history of spikes, a step with ``z_pre = z_post = 0`` gives
    ``0 <= t_new <= t_old`` elementwise and leaves the weights bit-identical
    (both Hebbian products are zero, so the update adds exactly 0).
    """
    with x64_for(case):
        rng = case.rng()
        z_pre, z_post = case.spikes(rng)
        p = case.params()
        w, s = case.run(case.weights(rng), case.zero_state(), p, z_pre, z_post)[-1]
        silent = np.zeros((1, *case.layer.pre), np.float32)
        silent_post = np.zeros((1, *case.layer.post), np.float32)
        w_new, s_new = case.run(w, s, p, silent, silent_post)[0]
        np.testing.assert_array_equal(f64(w_new), f64(w))
        for old, new in ((s.t_pre, s_new.t_pre), (s.t_post, s_new.t_post)):
            old, new = f64(old), f64(new)
            assert np.all((new >= 0.0) & (new <= old))


def at_and_beyond_bounds(case: Case, rng: np.random.Generator) -> jax.Array:
    """Weights drawn from {below w_min, w_min, inside, w_max, above w_max}."""
    lo, hi = case.bounds()
    choices = np.array([lo - 0.5, lo, (lo + hi) / 2, hi, hi + 0.5])
    return jnp.asarray(rng.choice(choices, case.layer.w), case.dtype)


def random_state(case: Case, rng: np.random.Generator) -> STDPState:
    """Traces left by earlier spikes: uniform in [0, a]."""
    a_pre, a_post = case.values["a_pre"], case.values["a_post"]
    return STDPState(
        jnp.asarray(rng.uniform(0, a_pre, case.layer.pre), case.dtype),
        jnp.asarray(rng.uniform(0, a_post, case.layer.post), case.dtype),
    )


@given(cases(algorithms=("additive_step",), hardbounds=(False,), max_steps=1))
def test_additive_step_never_potentiates_at_w_max_nor_depresses_at_w_min(case):
    """additive_step: no potentiation at/above w_max, no depression at/below w_min.

    With hardbound off (so the clip cannot hide it), after one step with any
    spikes and traces, a weight that was ``>= w_max`` did not grow and a
    weight that was ``<= w_min`` did not shrink, exactly:
    ``H(w_max - w) = 0`` there (Norse's ``H(0) = 0``).
    """
    with x64_for(case):
        rng = case.rng()
        w = at_and_beyond_bounds(case, rng)
        z_pre, z_post = case.spikes(rng)
        w_new, _ = case.run(w, random_state(case, rng), case.params(), z_pre, z_post)[0]
        lo, hi = case.bounds()
        w, w_new = f64(w), f64(w_new)
        assert np.all(w_new[w >= hi] <= w[w >= hi])
        assert np.all(w_new[w <= lo] >= w[w <= lo])


@given(
    cases(algorithms=("multiplicative_relu",), hardbounds=(False,)),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
)
def test_multiplicative_relu_is_a_soft_bound(case, frac_plus, frac_minus):
    """multiplicative_relu keeps weights in [w_min, w_max] by its own rule.

    With hardbound off, starting inside the bounds, and learning rates small
    enough that ``eta * hebb <= 1`` (a Hebbian sum is at most
    ``batch * positions * a``, so ``eta <= 1 / (batch * positions * a)``):
    ``w' - w_max = (w - w_max)(1 - eta_plus hebb_plus)
    - eta_minus (w - w_min) hebb_minus <= 0`` and symmetrically for
    ``w_min``, so no weight leaves the bounds (up to rounding).
    """
    v = case.values
    n = case.layer.pre[0] * case.layer.positions
    eta_plus = frac_plus / (n * max(v["a_pre"], 1e-3))
    eta_minus = frac_minus / (n * max(v["a_post"], 1e-3))
    with x64_for(case):
        rng = case.rng()
        p = case.params(eta_plus=eta_plus, eta_minus=eta_minus)
        z_pre, z_post = case.spikes(rng)
        lo, hi = case.bounds()
        # A few roundings of the update, relative to the weights' magnitude.
        tol = 8 * eps(case.dtype) * max(abs(lo), abs(hi))
        for w, _ in case.run(case.weights(rng), case.zero_state(), p, z_pre, z_post):
            w = f64(w)
            assert np.all((w >= lo - tol) & (w <= hi + tol)), (w.min(), w.max())


def as_linear(z: np.ndarray) -> np.ndarray:
    """``[T, B, C, H, W]`` conv spikes as ``[T, B * H * W, C]`` dense spikes."""
    t, b, c, h, w = z.shape
    return z.transpose(0, 1, 3, 4, 2).reshape(t, b * h * w, c)


POINTWISE = (
    Layer("conv2d", (2, 3, 1, 1), (2, 3, 1, 1)),
    Layer("conv2d", (1, 2, 2, 3), (3, 2, 1, 1)),
)


@given(cases(layers=POINTWISE, dtypes=("float32", "float64")))
def test_pointwise_conv_equals_linear(case):
    """conv2d with a 1x1 kernel is the linear step with positions as batch.

    On 1x1 images the two are the same computation; on HxW images every
    position is one more sample of the dense layer's batch (the conv update
    sums over batch and positions, the dense update over the batch). Weights
    and traces agree at every step up to summation order. With
    ``multiplicative_pow`` the weights must stay in bounds (else both are NaN
    at rounding-dependent places), so it runs with hardbound on.
    """
    hardbound = case.hardbound or case.algorithm == "multiplicative_pow"
    with x64_for(case):
        rng = case.rng()
        p = case.params(hardbound=hardbound)
        z_pre, z_post = case.spikes(rng)
        w = case.weights(rng)
        dense = dataclasses.replace(
            case,
            layer=Layer("linear", as_linear(z_pre).shape[1:], case.layer.w[:2]),
        )
        conv_run = case.run(w, case.zero_state(), p, z_pre, z_post)
        dense_run = dense.run(
            w[:, :, 0, 0],
            dense.zero_state(),
            p,
            as_linear(z_pre),
            as_linear(z_post),
        )
        # Summation order over batch x positions: a few roundings per step.
        rtol = 16 * case.layer.pre[0] * case.layer.positions * eps(case.dtype)
        for t, ((wc, sc), (wd, sd)) in enumerate(zip(conv_run, dense_run, strict=True)):
            scale = rtol * (t + 1) * max(1.0, float(np.max(np.abs(f64(wd)))))
            np.testing.assert_allclose(f64(wc)[:, :, 0, 0], f64(wd), rtol=0, atol=scale)
            np.testing.assert_array_equal(as_linear(f64(sc.t_pre)[None])[0], sd.t_pre)
            np.testing.assert_array_equal(as_linear(f64(sc.t_post)[None])[0], sd.t_post)


@given(
    cases(
        layers=(LINEAR[1], CONV[0]), hardbounds=(False,), dtypes=("float32", "float64")
    )
)
def test_batch_update_is_the_sum_of_single_sample_updates(case):
    """One step on a batch changes w by the sum of the single-sample changes.

    Norse sums the update over the batch (it does not average), and the
    weight dependence ``A(w)`` is evaluated on the weights before the step,
    so with hardbound off (the clip is not linear) the batch update of a
    dense or conv2d layer is the sum of the updates each sample would make
    alone from the same weights, for every rule; each sample's traces are
    its own (bit-identical to the single-sample run).
    """
    with x64_for(case):
        rng = case.rng()
        w = case.weights(rng)
        state = random_state(case, rng)
        z_pre, z_post = case.spikes(rng)
        p = case.params()
        step = lambda zp, zq, s: case.layer.step(zp, zq, w, s, p, case.dt)  # noqa: E731
        w_batch, s_batch = step(z_pre[0], z_post[0], state)
        deltas = []
        for b in range(case.layer.pre[0]):
            one = slice(b, b + 1)
            w_b, s_b = step(
                z_pre[0, one],
                z_post[0, one],
                STDPState(state.t_pre[one], state.t_post[one]),
            )
            deltas.append(f64(w_b) - f64(w))
            np.testing.assert_array_equal(f64(s_b.t_pre), f64(s_batch.t_pre[one]))
            np.testing.assert_array_equal(f64(s_b.t_post), f64(s_batch.t_post[one]))
        # Each of the B + 1 weight updates rounds once relative to |w| and the
        # summed products round once per term.
        scale = np.abs(f64(w)) + sum(np.abs(d) for d in deltas)
        tol = 4 * (len(deltas) + 2) * eps(case.dtype) * scale
        err = np.abs((f64(w_batch) - f64(w)) - sum(deltas))
        assert np.all(err <= tol), (err.max(), tol.max())


def seeded_run(layer: Layer, algorithm: str, seed: int, run, steps: int = 12):
    """``run`` on ``steps`` steps of spikes and weights drawn from ``seed``.

    NumPy draws the inputs: compiling ``jax.random`` costs seconds on CPU, and
    keys are exercised by the closed-loop runs below.
    """
    rng = np.random.default_rng(seed)
    z_pre = (rng.random((steps, *layer.pre)) < 0.3).astype(np.float32)
    z_post = (rng.random((steps, *layer.post)) < 0.3).astype(np.float32)
    w = jnp.asarray(rng.random(layer.w), jnp.float32)
    p = STDPParameters(
        eta_plus=0.05,
        eta_minus=0.04,
        tau_pre_inv=37.0,
        tau_post_inv=29.0,
        mu=0.7,
        stdp_algorithm=algorithm,
        stride=layer.stride,
        padding=layer.padding,
        dilation=layer.dilation,
    )
    state = STDPState.zeros_like(z_pre[0], z_post[0])
    return run(z_pre, z_post, w, state, p)


def loop_of(layer: Layer, wrap=lambda f: f):
    """A Python loop of (optionally wrapped) single steps."""
    one = wrap(lambda zp, zq, w, s, p: layer.step(zp, zq, w, s, p, 1e-3))

    def run(z_pre, z_post, w, state, p):
        for t in range(z_pre.shape[0]):
            w, state = one(z_pre[t], z_post[t], w, state, p)
        return w, state

    return run


def scan_of(layer: Layer):
    """The same steps under ``jax.jit(lax.scan)``."""

    @jax.jit
    def run(z_pre, z_post, w, state, p):
        def body(carry, z):
            return layer.step(*z, *carry, p, 1e-3), None

        return jax.lax.scan(body, (w, state), (z_pre, z_post))[0]

    return run


def assert_bit_identical(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


DETERMINISM = [(LINEAR[1], alg) for alg in jstdp.ALGORITHMS] + [
    (CONV[0], "multiplicative_pow")
]


@pytest.mark.parametrize("layer, algorithm", DETERMINISM)
def test_same_inputs_give_bit_identical_results(layer, algorithm):
    """The same inputs give bit-identical weights and traces, every time.

    Run twice as a Python loop of the public step (its core is jitted), twice
    with each step under an outer ``jax.jit``, and once under
    ``jit(lax.scan)``: all five agree bit for bit. The outer jit inlines the
    step's own jit and the scan body is the same computation, so XLA compiles
    the same fused kernels (checked on CPU; see the next test for what
    differs from op-by-op evaluation).

    The one exception is ``additive``: with concrete learning rates (the
    plain loop) the dense step merges its two products into one
    (``FastPaths.merged``); passed through ``jax.jit`` as arguments they are
    traced and the products stay two. Same terms, other summation order: a
    few ulp apart.
    """
    seed = 1234
    eager_loop, jit_loop = loop_of(layer), loop_of(layer, jax.jit)
    eager = seeded_run(layer, algorithm, seed, eager_loop)
    assert_bit_identical(eager, seeded_run(layer, algorithm, seed, eager_loop))
    jitted = seeded_run(layer, algorithm, seed, jit_loop)
    assert_bit_identical(jitted, seeded_run(layer, algorithm, seed, jit_loop))
    assert_bit_identical(jitted, seeded_run(layer, algorithm, seed, scan_of(layer)))
    if algorithm == "additive" and layer.kind == "linear":
        for x, y in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted), strict=True):
            np.testing.assert_allclose(x, y, rtol=0, atol=4 * eps("float32"))
        assert not np.array_equal(eager[0], jitted[0])  # the merged path ran
    else:
        assert_bit_identical(eager, jitted)
    other = seeded_run(layer, algorithm, 1, eager_loop)
    assert not np.array_equal(eager[0], other[0])  # the inputs matter


def test_jit_differs_from_op_by_op_by_a_few_roundings():
    """Compiled and op-by-op (``jax.disable_jit``) runs differ by rounding only.

    XLA fuses each step's elementwise chain into one kernel and contracts
    multiply-add pairs into fused multiply-adds (one rounding instead of
    two); it does not reassociate sums. Op-by-op evaluation (and NumPy)
    rounds every product, so the two differ by about one unit in the last
    place per operation; over ``n`` steps the difference stays within
    ``4 n eps`` of the values' scale (measured on CPU: at most 4 ulps after
    12-20 steps in float32). Checked on the rule with the most operations.
    """
    layer, algorithm, seed = LINEAR[1], "multiplicative_pow", 7
    compiled = seeded_run(layer, algorithm, seed, loop_of(layer))
    with jax.disable_jit():
        op_by_op = seeded_run(layer, algorithm, seed, loop_of(layer))
    n, e = 12, eps("float32")
    for x, y in zip(jax.tree.leaves(compiled), jax.tree.leaves(op_by_op), strict=True):
        x, y = np.asarray(x), np.asarray(y)
        tol = 4 * n * e * max(1.0, float(np.max(np.abs(x))))
        assert np.max(np.abs(x - y)) <= tol


@pytest.mark.parametrize(
    "algorithm, hardbound", [("additive", True), ("multiplicative_relu", False)]
)
def test_long_closed_loop_stays_finite_and_in_bounds(algorithm, hardbound):
    """10^4 closed-loop steps (Poisson input -> LIF -> STDP) stay finite and bounded.

    A small dense layer (50 inputs at 30 Hz, 4 LIF neurons) learns for 10 s
    of simulated time: the weights end finite and in ``[w_min, w_max]``
    (clipped by hardbound for ``additive``; by the rule alone for
    ``multiplicative_relu`` with hardbound off), the traces and the neuron
    state end finite, and the weights did change (the neurons fired).
    ``benchmarks/long_run.py`` runs the same for 10^6 steps.
    """
    rng = np.random.default_rng(0)
    z_in = (rng.random((10_000, 1, 50)) < 30.0 * 1e-3).astype(np.float32)
    w0 = jnp.asarray(rng.uniform(0.2, 0.8, (4, 50)), jnp.float32)
    p = STDPParameters(
        eta_plus=5e-2, eta_minus=5.25e-2, stdp_algorithm=algorithm, hardbound=hardbound
    )
    w, state, _ = jstdp.run_linear(z_in, w0, p)
    jstdp.check_finite((w, state), "run")
    w = np.asarray(w)
    assert np.all((w >= 0.0) & (w <= 1.0))
    assert np.max(np.abs(w - np.asarray(w0))) > 0.1
    assert int(state.step) == 10_000


def test_same_key_gives_the_same_poisson_run():
    """A closed loop driven by PoissonInput is a function of its key.

    The same key gives bit-identical weights and state; another key gives
    other input spikes, hence other weights.
    """
    inputs = jstdp.PoissonInput(jnp.full((2, 8), 50.0))
    w0 = jnp.full((3, 8), 0.5)
    p = STDPParameters(eta_plus=1e-2, eta_minus=1e-2)

    def run(seed):
        return jstdp.run_linear(inputs, w0, p, steps=200, key=jax.random.key(seed))[:2]

    first = run(0)
    assert_bit_identical(first, run(0))
    assert not np.array_equal(first[0], run(1)[0])
