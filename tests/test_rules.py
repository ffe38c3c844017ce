"""Norse's rule (jstdp.rules.norse) and the Norse face's checks (jstdp._norse)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp
from jstdp import _norse
from jstdp.rules import norse as _rules

# float32 rounding of a handful of operations on O(1) numbers.
F32_RTOL = 1e-6


def test_heaviside_is_zero_at_zero_like_norse(tr):
    """Norse: ``torch.gt(x, 0)``: 1 above 0; 0 at 0, below 0 and for NaN."""
    x = jnp.array([-1.0, -0.0, 0.0, 1e-30, 2.0, jnp.nan, jnp.inf])
    np.testing.assert_array_equal(tr(_rules.heaviside)(x), [0, 0, 0, 1, 1, 0, 1])
    assert _rules.heaviside(x).dtype == x.dtype


W = jnp.array([0.0, 0.25, 1.0])  # at w_min, inside, at w_max (bounds 0 and 1)


@pytest.mark.parametrize(
    ("rule", "mu", "a_plus", "a_minus"),
    [
        ("additive", 0.7, [0.3, 0.3, 0.3], [0.1, 0.1, 0.1]),  # mu ignored
        # No potentiation at w_max and no depression at w_min.
        ("additive_step", 0.0, [0.3, 0.3, 0.0], [0.0, 0.1, 0.1]),
        ("multiplicative_pow", 0.5, [0.3, 0.3 * 0.75**0.5, 0.0], [0.0, 0.05, 0.1]),
        ("multiplicative_pow", 0.0, [0.3, 0.3, 0.3], [0.1, 0.1, 0.1]),  # 0**0 = 1
        ("multiplicative_relu", 7.0, [0.3, 0.225, 0.0], [0.0, 0.025, 0.1]),
    ],
)
def test_weight_dependence_table(tr, rule, mu, a_plus, a_minus):
    p = jstdp.STDPParameters(eta_plus=0.3, eta_minus=0.1, stdp_algorithm=rule, mu=mu)
    got_plus, got_minus = tr(_rules.amplitudes)(W, p)
    np.testing.assert_allclose(jnp.broadcast_to(got_plus, W.shape), a_plus, F32_RTOL)
    np.testing.assert_allclose(jnp.broadcast_to(got_minus, W.shape), a_minus, F32_RTOL)


def test_relu_rule_is_zero_outside_the_bounds_and_pow_is_nan():
    w = jnp.array([-0.5, 1.5])
    relu = jstdp.STDPParameters(stdp_algorithm="multiplicative_relu")
    a_plus, a_minus = _rules.amplitudes(w, relu)
    np.testing.assert_allclose(a_plus, [1.5e-3, 0.0], F32_RTOL)
    np.testing.assert_allclose(a_minus, [0.0, 1.5e-3], F32_RTOL)
    pow_ = jstdp.STDPParameters(stdp_algorithm="multiplicative_pow", mu=0.5)
    a_plus, a_minus = _rules.amplitudes(w, pow_)
    assert np.isnan(a_plus[1]) and np.isnan(a_minus[0])
    assert np.isfinite(a_plus[0]) and np.isfinite(a_minus[1])


@pytest.mark.parametrize("hardbound", [True, False])
def test_apply_update_adds_signed_terms_then_clips(tr, hardbound):
    p = jstdp.STDPParameters(
        w_min=-1.0, w_max=1.0, eta_plus=0.5, eta_minus=0.25, hardbound=hardbound
    )
    w = jnp.array([0.0, 0.9, -0.9])
    hebb_plus = jnp.array([1.0, 1.0, 0.0])
    hebb_minus = jnp.array([2.0, 0.0, 2.0])
    # w + 0.5 * hebb_plus - 0.25 * hebb_minus = [0.0, 1.4, -1.4]
    expected = [0.0, 1.0, -1.0] if hardbound else [0.0, 1.4, -1.4]
    got = tr(_rules.apply_update)(w, hebb_plus, hebb_minus, p.astype(w.dtype))
    np.testing.assert_allclose(got, expected, F32_RTOL)


def test_decay_traces_uses_the_parameters():
    p = jstdp.STDPParameters(a_pre=2.0, a_post=0.5, tau_pre_inv=10.0, tau_post_inv=40.0)
    s = jstdp.STDPState(jnp.array([1.0]), jnp.array([1.0]))
    new = s.decay(
        jnp.array([1.0]), jnp.array([0.0]), p.tau_pre_inv, p.tau_post_inv,
        p.a_pre, p.a_post, 0.01,
    )  # fmt: skip
    # 1 + 0.01 * 10 * (-1 + 2) and 1 + 0.01 * 40 * (-1)
    np.testing.assert_allclose(new.t_pre, [1.1], F32_RTOL)
    np.testing.assert_allclose(new.t_post, [0.6], F32_RTOL)


@pytest.mark.parametrize("spike_dtype", [bool, np.int32, np.float64, jnp.bfloat16])
def test_prepare_computes_in_the_weights_dtype(spike_dtype):
    w = jnp.ones((2, 3), jnp.float32)
    s = jstdp.STDPState(np.zeros((1, 3)), np.zeros((1, 2)))
    p = jstdp.STDPParameters(eta_plus=np.float64(0.5))
    z = np.ones((1, 3), spike_dtype)
    w2, s2, p2, dt, z2, _ = _norse.prepare(
        w, s, p, 0.001, jnp.asarray(z), jnp.asarray(z)
    )
    assert w2.dtype == dt.dtype == z2.dtype == jnp.float32
    assert s2.t_pre.dtype == s2.t_post.dtype == p2.eta_plus.dtype == jnp.float32
    np.testing.assert_array_equal(z2, 1.0)


def test_prepare_rejects_integer_weights():
    s = jstdp.STDPState(jnp.zeros(1), jnp.zeros(1))
    with pytest.raises(TypeError, match="w must have a floating dtype, got int32"):
        z = jnp.ones(1)
        _norse.prepare(jnp.ones(1, jnp.int32), s, jstdp.STDPParameters(), 0.001, z, z)


def test_check_types_names_the_argument():
    with pytest.raises(
        TypeError, match="p_stdp must be jstdp.STDPParameters, got dict"
    ):
        _norse.check_types({})
    with pytest.raises(
        TypeError, match="state_stdp must be jstdp.STDPState, got tuple"
    ):
        _norse.check_types(jstdp.STDPParameters(), (1, 2), has_state=True)
    _norse.check_types(jstdp.STDPParameters(), jstdp.STDPState(1.0, 1.0), True)


def test_shape_and_rank_messages():
    with pytest.raises(ValueError, match=r"w must have shape \(3, 2\), got \(2, 3\)"):
        _norse.check_shape("w", (2, 3), (3, 2))
    with pytest.raises(
        ValueError, match=r"z_pre must have rank 2 \(batch, n\), got shape \(4,\)"
    ):
        _norse.check_rank("z_pre", np.zeros(4), 2, "(batch, n)")


@pytest.mark.parametrize("dt", [0.0, -1e-3, float("nan"), np.array([1e-3, 0.0])])
def test_non_positive_dt_is_rejected(dt):
    with pytest.raises(ValueError, match="dt must be (positive|a scalar)"):
        _norse.check_concrete(jstdp.STDPParameters(), dt)


@pytest.mark.parametrize(
    ("w_min", "w_max"), [(1.0, 1.0), (2.0, 1.0), (np.array([0.0, 1.0]), 1.0)]
)
def test_w_min_must_be_below_w_max(w_min, w_max):
    p = jstdp.STDPParameters(w_min=w_min, w_max=w_max)
    with pytest.raises(ValueError, match="w_min must be < w_max, got w_min="):
        _norse.check_concrete(p, 0.001)


def test_euler_overshoot_warns():
    with pytest.warns(RuntimeWarning, match=r"dt \* tau_post_inv = 1.5 >= 1"):
        _norse.check_concrete(jstdp.STDPParameters(tau_post_inv=1500.0), 0.001)


def test_traced_values_are_skipped():
    """Under an outer jit nothing is concrete; the checks must not fail there."""

    @jax.jit
    def f(w_min, dt):
        _norse.check_concrete(jstdp.STDPParameters(w_min=w_min), dt)
        return dt

    assert f(5.0, -1.0) == -1.0
