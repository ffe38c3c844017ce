"""STDPParameters / STDPState: Norse's defaults, pytree structure, validation."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp
from jstdp.rules.norse import NUMERIC_FIELDS

# Norse 1.1.0's defaults (norse/torch/functional/stdp.py), as plain numbers.
NORSE_DEFAULTS = dict(
    a_pre=1.0,
    a_post=1.0,
    tau_pre_inv=20.0,
    tau_post_inv=20.0,
    w_min=0.0,
    w_max=1.0,
    eta_plus=1e-3,
    eta_minus=1e-3,
    stdp_algorithm="additive",
    mu=0.0,
    hardbound=True,
    convolutional=False,
    stride=(1, 1),
    padding=(0, 0),
    dilation=(1, 1),
)
STATIC_FIELDS = (
    "stdp_algorithm",
    "hardbound",
    "convolutional",
    "stride",
    "padding",
    "dilation",
)


def test_defaults_are_norses_numbers_and_python_floats():
    p = jstdp.STDPParameters()
    for name, value in NORSE_DEFAULTS.items():
        assert getattr(p, name) == pytest.approx(value) or getattr(p, name) == value
    # Python floats: no device array at construction, dtype follows the weights.
    assert all(type(getattr(p, f)) is float for f in NUMERIC_FIELDS)


def test_field_order_is_norses_argument_order():
    names = [f.name for f in dataclasses.fields(jstdp.STDPParameters)]
    assert names == list(NORSE_DEFAULTS)
    assert jstdp.STDPParameters(2.0, 3.0).a_post == 3.0


def test_numeric_fields_are_leaves_and_configuration_is_static():
    p = jstdp.STDPParameters(stdp_algorithm="multiplicative_pow", stride=(2, 1))
    paths, treedef = jax.tree_util.tree_flatten_with_path(p)
    assert [path[0].name for path, _ in paths] == list(NUMERIC_FIELDS)
    assert set(NUMERIC_FIELDS) | set(STATIC_FIELDS) == {
        f.name for f in dataclasses.fields(p)
    }
    # A numeric change keeps the structure (no recompile) ...
    assert jax.tree.structure(p.replace(eta_plus=0.5, mu=2.0)) == treedef
    # ... while every static field is part of it (a change recompiles).
    for name, value in dict(
        stdp_algorithm="additive",
        hardbound=False,
        convolutional=True,
        stride=1,
        padding=1,
        dilation=2,
    ).items():
        assert jax.tree.structure(p.replace(**{name: value})) != treedef, name


def test_state_is_a_pytree_of_two_traces():
    s = jstdp.STDPState(jnp.ones((2, 3)), jnp.zeros((2, 4)))
    paths, _ = jax.tree_util.tree_flatten_with_path(s)
    assert [path[0].name for path, _ in paths] == ["t_pre", "t_post"]


def test_parameters_and_state_are_immutable():
    p = jstdp.STDPParameters()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.eta_plus = 0.5
    q = p.replace(eta_plus=0.5)
    assert (p.eta_plus, q.eta_plus) == (1e-3, 0.5)
    s = jstdp.STDPState(jnp.zeros(2), jnp.zeros(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.t_pre = jnp.ones(2)


@pytest.mark.parametrize(
    ("given", "stored"),
    [(2, (2, 2)), ((1, 3), (1, 3)), ([2, 1], (2, 1)), (np.int64(3), (3, 3))],
)
def test_conv_geometry_is_normalised_to_a_pair(given, stored):
    p = jstdp.STDPParameters(stride=given, padding=given, dilation=given)
    assert p.stride == p.padding == p.dilation == stored
    assert all(type(v) is int for v in p.stride)
    hash(p.stride)  # static fields must be hashable


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("stride", 0),
        ("stride", (1, 0)),
        ("stride", 1.5),
        ("stride", (1, 2, 3)),
        ("stride", True),
        ("padding", -1),
        ("padding", (0, -2)),
        ("padding", "same"),
        ("dilation", 0),
        ("dilation", (2, None)),
    ],
)
def test_bad_conv_geometry_is_rejected_naming_the_argument(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be an int >= \d.*got"):
        jstdp.STDPParameters(**{name: value})


def test_unknown_algorithm_lists_the_four():
    with pytest.raises(ValueError, match="stdp_algorithm") as info:
        jstdp.STDPParameters(stdp_algorithm="multiplicative")
    for name in jstdp.ALGORITHMS:
        assert name in str(info.value)
    assert "'multiplicative'" in str(info.value)
    assert jstdp.ALGORITHMS == (
        "additive",
        "additive_step",
        "multiplicative_pow",
        "multiplicative_relu",
    )


@pytest.mark.parametrize("name", ["hardbound", "convolutional"])
def test_switches_must_be_bools(name):
    with pytest.raises(TypeError, match=f"{name} must be a bool, got 1"):
        jstdp.STDPParameters(**{name: 1})


def test_unflatten_accepts_arbitrary_leaves():
    """vmap and friends rebuild pytrees with placeholders in the leaves."""
    p = jstdp.STDPParameters(stdp_algorithm="additive_step", padding=(1, 2))
    q = jax.tree.map(lambda _: object(), p)
    assert q.stdp_algorithm == "additive_step" and q.padding == (1, 2)


def test_astype_casts_every_numeric_leaf():
    p = jstdp.STDPParameters(eta_plus=np.float64(0.25), mu=np.arange(3.0))
    q = p.astype(jnp.bfloat16)
    for f in NUMERIC_FIELDS:
        assert getattr(q, f).dtype == jnp.bfloat16, f
    assert q.mu.shape == (3,)
    assert float(q.eta_plus) == 0.25
    assert q.stdp_algorithm == p.stdp_algorithm


def test_vmap_over_a_stacked_parameter_field():
    p = jstdp.STDPParameters(eta_plus=jnp.array([0.1, 0.2, 0.3]))
    axes = jstdp.STDPParameters(**{**dict.fromkeys(NUMERIC_FIELDS), "eta_plus": 0})
    doubled = jax.vmap(lambda q: 2 * q.eta_plus, in_axes=(axes,))(p)
    np.testing.assert_allclose(doubled, [0.2, 0.4, 0.6], rtol=1e-7)


def test_decay_returns_a_new_state_with_euler_traces(tr):
    t_pre, t_post = jnp.array([[0.5, 0.0]]), jnp.array([[0.25]])
    s = jstdp.STDPState(t_pre, t_post)
    z_pre, z_post = jnp.array([[1.0, 1.0]]), jnp.array([[0.0]])
    new = tr(lambda s: s.decay(z_pre, z_post, 20.0, 10.0, 1.0, 2.0, 0.001))(s)
    assert new is not s
    # t <- t + dt * tau_inv * (-t + a * z)
    np.testing.assert_allclose(new.t_pre, [[0.5 + 0.02 * (1.0 - 0.5), 0.02]], rtol=1e-6)
    np.testing.assert_allclose(new.t_post, [[0.25 - 0.01 * 0.25]], rtol=1e-6)
    np.testing.assert_array_equal(s.t_pre, [[0.5, 0.0]])  # unchanged


def test_decay_default_dt_is_one_millisecond():
    s = jstdp.STDPState(jnp.zeros(1), jnp.zeros(1))
    new = s.decay(jnp.ones(1), jnp.ones(1), 20.0, 20.0, 1.0, 1.0)
    np.testing.assert_allclose(new.t_pre, [0.02], rtol=1e-6)


def test_zeros_like_follows_spike_shapes():
    s = jstdp.STDPState.zeros_like(np.ones((2, 3), bool), np.ones((2, 1, 4, 4)))
    assert s.t_pre.shape == (2, 3) and s.t_post.shape == (2, 1, 4, 4)
    assert s.t_pre.dtype == s.t_post.dtype == jnp.float32
    assert not np.any(s.t_pre) and not np.any(s.t_post)
    assert jstdp.STDPState.zeros_like([0], [0], jnp.bfloat16).t_pre.dtype == (
        jnp.bfloat16
    )
