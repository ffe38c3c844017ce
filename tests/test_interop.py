"""jstdp.interop: torch conversion, Norse objects both ways, side-by-side runs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import RULES

import jstdp
from jstdp import interop

torch = pytest.importorskip("torch")
norse_stdp = pytest.importorskip("norse.torch.functional.stdp")

pytestmark = pytest.mark.norse


@pytest.mark.parametrize(
    ("jax_dtype", "torch_dtype"),
    [
        (jnp.float32, torch.float32),
        (jnp.bfloat16, torch.bfloat16),
        (jnp.float16, torch.float16),
        (jnp.int32, torch.int32),
        (jnp.uint8, torch.uint8),
        (jnp.bool_, torch.bool),
    ],
)
def test_arrays_round_trip_with_their_dtype(jax_dtype, torch_dtype):
    x = jnp.asarray(np.arange(-3, 9).reshape(3, 4) % 7, jax_dtype)
    t = interop.to_torch(x)
    assert isinstance(t, torch.Tensor) and t.dtype == torch_dtype
    assert t.shape == (3, 4)
    back = interop.from_torch(t)
    assert isinstance(back, jax.Array) and back.dtype == jax_dtype
    np.testing.assert_array_equal(np.asarray(back, np.float64), np.asarray(x, float))


def test_float64_round_trip_is_exact(x64):
    x = jnp.asarray(np.random.default_rng(0).normal(size=5))
    t = interop.to_torch(x)
    assert t.dtype == torch.float64
    np.testing.assert_array_equal(interop.from_torch(t), x)


def test_dtype_argument_and_python_numbers():
    assert interop.to_torch(1.5).dtype == torch.float32  # as JAX reads 1.5
    assert interop.to_torch(jnp.ones(2), torch.float64).dtype == torch.float64
    assert interop.from_torch(torch.ones(2), jnp.bfloat16).dtype == jnp.bfloat16


def test_conversions_share_no_memory():
    x = jnp.arange(4.0)
    t = interop.to_torch(x)
    t.add_(10.0)  # in place, as torch code does
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0, 3.0])
    source = torch.zeros(3)
    y = interop.from_torch(source)
    source.fill_(7.0)
    np.testing.assert_array_equal(y, 0.0)


def test_from_torch_detaches_and_leaves_other_leaves_alone():
    t = torch.ones(2, requires_grad=True) * 2
    tree = {"t": t, "n": 3, "s": "text"}
    out = interop.from_torch(tree)
    np.testing.assert_array_equal(out["t"], [2.0, 2.0])
    assert out["n"] == 3 and out["s"] == "text"


def test_parameter_and_state_pytrees_round_trip():
    p = jstdp.STDPParameters(
        eta_plus=0.25, stdp_algorithm="multiplicative_pow", mu=0.5, stride=(2, 1)
    )
    p_t = interop.to_torch(p)
    assert isinstance(p_t, jstdp.STDPParameters)
    assert isinstance(p_t.eta_plus, torch.Tensor) and p_t.eta_plus.item() == 0.25
    assert p_t.stride == (2, 1) and p_t.stdp_algorithm == "multiplicative_pow"
    back = interop.from_torch(p_t)
    assert jax.tree.structure(back) == jax.tree.structure(p)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(p), strict=True):
        assert isinstance(a, jax.Array) and float(a) == pytest.approx(b)
    s = jstdp.STDPState(jnp.ones((2, 3)), jnp.zeros((2, 1)))
    s_back = interop.from_torch(interop.to_torch(s))
    assert isinstance(s_back, jstdp.STDPState)
    np.testing.assert_array_equal(s_back.t_pre, s.t_pre)


@pytest.mark.parametrize(("rule", "mu"), RULES)
@pytest.mark.parametrize("hardbound", [True, False])
def test_parameters_to_norse_and_back(rule, mu, hardbound):
    p = jstdp.STDPParameters(
        a_pre=0.5,
        a_post=2.0,
        tau_pre_inv=10.0,
        tau_post_inv=30.0,
        w_min=-1.0,
        w_max=2.0,
        eta_plus=0.125,
        eta_minus=0.25,
        stdp_algorithm=rule,
        mu=mu,
        hardbound=hardbound,
        convolutional=True,
        stride=(1, 2),
        padding=3,
        dilation=(2, 1),
    )
    n = interop.to_norse(p, torch.float64)
    assert isinstance(n, norse_stdp.STDPParameters)
    assert n.stdp_algorithm == rule and n.hardbound is hardbound
    assert (n.stride, n.padding, n.dilation) == ((1, 2), (3, 3), (2, 1))
    assert n.eta_plus.dtype == n.tau_pre_inv.dtype == torch.float64
    # Norse's own behaviour: mu is 0 / 1 for the additive / relu rules.
    assert float(n.mu) == {"additive": 0.0, "multiplicative_relu": 1.0}.get(rule, mu)
    w = torch.tensor([[-3.0, 0.5, 5.0]], dtype=torch.float64)
    expected_clamp = [[-1.0, 0.5, 2.0]] if hardbound else w.tolist()
    assert n.bounding_func(w).tolist() == expected_clamp
    back = interop.from_norse(n)
    assert isinstance(back, jstdp.STDPParameters)
    assert jax.tree.structure(back) == jax.tree.structure(p)
    for f in ("a_pre", "a_post", "tau_pre_inv", "w_min", "w_max", "eta_minus"):
        assert float(getattr(back, f)) == getattr(p, f), f


def test_norse_defaults_convert_to_jstdp_defaults():
    back = interop.from_norse(norse_stdp.STDPParameters())
    want = jstdp.STDPParameters()
    assert jax.tree.structure(back) == jax.tree.structure(want)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7)


def test_state_to_norse_and_back():
    s = jstdp.STDPState(jnp.arange(6.0).reshape(2, 3), jnp.ones((2, 1)))
    n = interop.to_norse(s)
    assert isinstance(n, norse_stdp.STDPState) and n.t_pre.dtype == torch.float32
    back = interop.from_norse(n)
    np.testing.assert_array_equal(back.t_pre, s.t_pre)
    np.testing.assert_array_equal(back.t_post, s.t_post)


def test_norse_objects_reassigned_after_construction_are_refused():
    """Norse's clamp keeps the constructor's bounds; its A(w) reads attributes."""
    p = norse_stdp.STDPParameters(w_max=1.0)
    p.w_max = 2.0
    with pytest.raises(ValueError, match=r"clamp to \[0.0, 1.0\] but have .*w_max=2.0"):
        interop.from_norse(p)
    p = norse_stdp.STDPParameters(hardbound=False)
    p.hardbound = True
    with pytest.raises(ValueError, match="hardbound=True but their bounding_func"):
        interop.from_norse(p)


def test_wrong_objects_are_refused():
    with pytest.raises(TypeError, match="to_norse expects jstdp.STDPParameters"):
        interop.to_norse({"eta_plus": 1.0})
    with pytest.raises(TypeError, match="from_norse expects norse"):
        interop.from_norse(jstdp.STDPParameters())
    with pytest.raises(TypeError, match="interop.from_norse"):
        jstdp.stdp_step_linear(
            np.zeros((1, 2)),
            np.zeros((1, 1)),
            np.zeros((1, 2), np.float32),
            jstdp.STDPState(np.zeros((1, 2)), np.zeros((1, 1))),
            norse_stdp.STDPParameters(),
        )


def test_converted_norse_objects_drive_norse_like_hand_made_ones(x64):
    """to_norse output in Norse's own step equals jstdp, in float64."""
    rng = np.random.default_rng(1)
    z_pre, z_post = rng.random((10, 2, 4)) < 0.5, rng.random((10, 2, 3)) < 0.5
    p = jstdp.STDPParameters(
        eta_plus=0.1, eta_minus=0.1, stdp_algorithm="multiplicative_pow", mu=0.3
    )
    w = jnp.asarray(rng.uniform(0.2, 0.8, (3, 4)))
    s = jstdp.STDPState.zeros_like(z_pre[0], z_post[0], jnp.float64)
    w_t, s_t, p_t = interop.to_torch(w), interop.to_norse(s), interop.to_norse(p)
    # mu = 0.3 is not a float32 number: only a float64 mu gives 1e-16 here.
    assert p_t.mu.dtype == torch.float64
    for k in range(10):
        w, s = jstdp.stdp_step_linear(z_pre[k], z_post[k], w, s, p)
        zt = interop.to_torch((z_pre[k], z_post[k]), torch.float64)
        w_t, s_t = norse_stdp.stdp_step_linear(*zt, w_t, s_t, p_t)
    np.testing.assert_allclose(w, w_t.numpy(), rtol=1e-13)


@pytest.mark.parametrize(("rule", "mu"), RULES)
def test_compare_with_norse_linear_and_conv(rule, mu):
    rng = np.random.default_rng(2)
    p = jstdp.STDPParameters(
        eta_plus=0.05, eta_minus=0.06, stdp_algorithm=rule, mu=mu, padding=(1, 0)
    )
    dense = interop.compare_with_norse(
        rng.random((20, 3, 5)) < 0.4,
        rng.random((20, 3, 4)) < 0.4,
        rng.uniform(0, 1, (4, 5)).astype(np.float32),
        p_stdp=p,
    )
    conv = interop.compare_with_norse(
        rng.random((20, 2, 2, 6, 5)) < 0.4,
        rng.random((20, 2, 3, 6, 3)) < 0.4,
        rng.uniform(0, 1, (3, 2, 3, 3)).astype(np.float32),
        p_stdp=p,
    )
    for diff in (dense, conv):
        assert isinstance(diff, interop.NorseDifference)
        # float32 weights and traces of order 1: a few ulp.
        assert max(diff) < 1e-6, diff


def test_compare_with_norse_float64_and_given_state(x64):
    rng = np.random.default_rng(3)
    state = jstdp.STDPState(jnp.full((2, 4), 0.3), jnp.full((2, 3), 0.1))
    diff = interop.compare_with_norse(
        rng.random((20, 2, 4)) < 0.5,
        rng.random((20, 2, 3)) < 0.5,
        jnp.asarray(rng.uniform(0, 1, (3, 4))),
        state,
        jstdp.STDPParameters(eta_plus=0.05, stdp_algorithm="multiplicative_relu"),
        dt=0.002,
    )
    assert max(diff) < 1e-14, diff


def test_compare_with_norse_reports_a_real_difference(monkeypatch):
    """A jstdp that drifts by 1e-3 per step must show up as ~steps * 1e-3."""
    original = interop.stdp_step_linear

    def drifting(*args, **kwargs):
        w, state = original(*args, **kwargs)
        return w + 1e-3, state

    monkeypatch.setattr(interop, "stdp_step_linear", drifting)
    diff = interop.compare_with_norse(
        np.zeros((5, 1, 2)),
        np.zeros((5, 1, 2)),
        np.full((2, 2), 0.5, np.float32),
        p_stdp=jstdp.STDPParameters(hardbound=False),
    )
    assert diff.w == pytest.approx(5e-3, rel=1e-4)
    assert diff.t_pre == diff.t_post == 0.0


def test_nan_counts_as_equal_to_nan_only():
    assert interop._max_abs_difference([np.nan, 1.0], [np.nan, 1.0]) == 0.0
    assert interop._max_abs_difference([np.nan], [1.0]) == np.inf
    assert interop._max_abs_difference([np.inf], [np.inf]) == 0.0
    assert interop._max_abs_difference([1.0, 2.0], [1.5, 2.0]) == 0.5


@pytest.mark.parametrize(
    ("z_pre", "z_post", "w", "message"),
    [
        ((5, 1, 2), (5, 1, 2), (2, 2, 1), "w must have rank 2 .* or 4"),
        ((1, 2), (5, 1, 2), (2, 2), r"z_pre must be time-major with rank 3"),
        ((5, 1, 2), (4, 1, 2), (2, 2), "same number of steps, got 5 and 4"),
    ],
)
def test_compare_with_norse_checks_its_input(z_pre, z_post, w, message):
    with pytest.raises(ValueError, match=message):
        interop.compare_with_norse(
            np.zeros(z_pre), np.zeros(z_post), np.zeros(w, np.float32)
        )
