"""Opt-in checks: validate_parameters, check_finite, and the overshoot warning."""

from __future__ import annotations

import doctest
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from jax.experimental import checkify

import jstdp
import jstdp._validation
from jstdp import (
    ConductanceLIFParameters,
    LIFParameters,
    STDPParameters,
    STDPState,
    check_finite,
    validate_parameters,
)

# ------------------------------------------------------- validate_parameters --


@pytest.mark.parametrize(
    "p, dt",
    [
        (STDPParameters(), 1e-3),
        (STDPParameters(stdp_algorithm="multiplicative_pow", mu=0.5), None),
        (LIFParameters(), 1e-3),
        (ConductanceLIFParameters(), 1e-4),
    ],
)
def test_defaults_are_valid_and_returned_unchanged(p, dt):
    assert validate_parameters(p, dt) is p


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(w_min=1.0, w_max=1.0), r"STDPParameters.w_min must be < w_max, got "),
        (dict(tau_pre_inv=0.0), r"STDPParameters.tau_pre_inv must be > 0, got 0$"),
        (dict(tau_post_inv=-20.0), r"STDPParameters.tau_post_inv must be > 0"),
        (dict(eta_plus=-1e-3), r"STDPParameters.eta_plus must be >= 0, got -0.001"),
        (dict(eta_minus=-1.0), r"STDPParameters.eta_minus must be >= 0"),
        (dict(a_pre=-1.0), r"STDPParameters.a_pre must be >= 0"),
        (dict(a_post=-1.0), r"STDPParameters.a_post must be >= 0"),
        (dict(mu=-0.5), r"STDPParameters.mu must be >= 0"),
        (
            dict(eta_plus=float("nan")),
            r"STDPParameters.eta_plus must be finite, got nan",
        ),
        (dict(w_max=float("inf")), r"STDPParameters.w_max must be finite, got inf"),
    ],
)
def test_stdp_constraints_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        validate_parameters(STDPParameters(**changes))


@pytest.mark.parametrize(
    "p, message",
    [
        (
            lambda: LIFParameters(tau_mem_inv=0.0),
            r"LIFParameters.tau_mem_inv must be > 0",
        ),
        (
            lambda: LIFParameters(tau_syn_inv=-1.0),
            r"LIFParameters.tau_syn_inv must be > 0",
        ),
        (
            lambda: LIFParameters(v_reset=1.0),
            r"LIFParameters.v_reset must be < v_th, got ",
        ),
        (
            lambda: LIFParameters(alpha=float("nan")),
            r"LIFParameters.alpha must be finite",
        ),
        (
            lambda: ConductanceLIFParameters(g_max=-0.01),
            r"ConductanceLIFParameters.g_max must be >= 0",
        ),
        (
            lambda: ConductanceLIFParameters(v_th=-70.0),
            r"ConductanceLIFParameters.v_reset must be < v_th",
        ),
        (
            lambda: ConductanceLIFParameters(tau_e_inv=0.0),
            r"ConductanceLIFParameters.tau_e_inv must be > 0",
        ),
    ],
)
def test_neuron_constraints_name_the_field(p, message):
    """LIFParameters (Norse's) are checked by validate_parameters; jstdp's
    own neurons already when they are made, with the same message."""
    with pytest.raises(ValueError, match=message):
        validate_parameters(p())


@pytest.mark.parametrize(
    "p, dt, message",
    [
        (STDPParameters(), 0.0, r"dt must be positive, got 0"),
        (STDPParameters(), -1e-3, r"dt must be positive"),
        (STDPParameters(), float("nan"), r"dt must be positive, got nan"),
        (
            STDPParameters(),
            0.05,
            r"dt \* STDPParameters.tau_pre_inv must be < 1 \(else the explicit "
            r"Euler step overshoots\), got dt=0.05, tau_pre_inv=20",
        ),
        (LIFParameters(), 0.006, r"dt \* LIFParameters.tau_syn_inv must be < 1"),
        (ConductanceLIFParameters(), 0.01, r"dt \* ConductanceLIFParameters.tau_mem"),
    ],
)
def test_dt_constraints(p, dt, message):
    with pytest.raises(ValueError, match=message):
        validate_parameters(p, dt)


@pytest.mark.parametrize("value", ["fast", True, 1j, None])
def test_a_non_real_field_is_a_type_error(value):
    with pytest.raises(TypeError, match=r"STDPParameters.eta_plus must be"):
        validate_parameters(STDPParameters(eta_plus=value))


def test_stacked_fields_are_checked_elementwise():
    grid, _ = jstdp.parameter_grid(STDPParameters(), w_min=[0.0, 0.5, 1.5])
    with pytest.raises(
        ValueError, match=r"w_min=1.5 at index \(2,\) of shape \(3,\), w_max=1 at"
    ):
        validate_parameters(grid)
    ok, _ = jstdp.parameter_grid(STDPParameters(), eta_plus=[0.0, 1e-3])
    assert validate_parameters(ok, dt=1e-3) is ok


def test_shapes_that_do_not_broadcast_are_named():
    p = STDPParameters(w_min=np.zeros(3), w_max=np.ones(2))
    with pytest.raises(ValueError, match=r"STDPParameters.w_min must be < w_max: "):
        validate_parameters(p)


def test_other_pytrees_get_the_finiteness_check():
    @struct.dataclass
    class MyNeuron:
        threshold: float = 1.0

    assert validate_parameters(MyNeuron(-5.0), dt=1e-3).threshold == -5.0
    with pytest.raises(ValueError, match=r"MyNeuron.threshold must be finite, got inf"):
        validate_parameters(MyNeuron(float("inf")))
    with pytest.raises(ValueError, match=r"dict\['b'\]\[1\] must be finite, got nan"):
        validate_parameters({"a": 1.0, "b": [2.0, float("nan")]})


def test_traced_values_are_checked_only_under_checkify():
    """Under jit the values are unknown: no error while tracing or running;
    checkify turns the same checks on, by field name."""

    @jax.jit
    def learn(p):
        return validate_parameters(p, dt=1e-3).eta_plus * 2.0

    bad = STDPParameters(eta_plus=-1.0)
    assert learn(bad) == -2.0
    err, out = checkify.checkify(learn)(bad)
    assert err.get().startswith("STDPParameters.eta_plus must be >= 0")
    assert out == -2.0
    err, _ = checkify.checkify(learn)(STDPParameters())
    assert err.get() is None


def test_a_vmapped_grid_is_checked_under_checkify():
    grid, _ = jstdp.parameter_grid(STDPParameters(), eta_plus=[1e-3, 1e-2])
    grid = grid.replace(w_max=jnp.array([1.0, -1.0]))
    check = jax.jit(jax.vmap(lambda p: validate_parameters(p).w_max))
    err, _ = checkify.checkify(check)(grid)
    assert err.get().startswith("STDPParameters.w_min must be < w_max")


# --------------------------------------------------------------- check_finite --


def test_check_finite_returns_its_input():
    tree = {"w": jnp.ones(3), "n": 3, "name": "layer", "none": None, "i": np.arange(2)}
    assert check_finite(tree, "tree") is tree


@pytest.mark.parametrize(
    "tree, message",
    [
        (
            jnp.array([1.0, jnp.nan]),
            r"^w has 1 non-finite values of 2 \(first at index \(1,\): nan\)$",
        ),
        (
            np.array([[1.0], [np.inf]]),
            r"^w has 1 non-finite values of 2 \(first at index \(1, 0\): inf\)$",
        ),
        (jnp.array([jnp.nan, 1.0], jnp.bfloat16), r"^w has 1 non-finite"),
        (jnp.array([1j * jnp.inf]), r"^w has 1 non-finite"),
        ([1.0, float("-inf")], r"^w\[1\] is not finite: -inf$"),
        (
            STDPState(jnp.zeros(2), jnp.array([0.0, jnp.nan])),
            r"^w.t_post has 1 non-finite values",
        ),
    ],
)
def test_check_finite_names_the_leaf(tree, message):
    with pytest.raises(FloatingPointError, match=message):
        check_finite(tree, "w")


def test_check_finite_is_free_under_jit_and_on_under_checkify():
    @jax.jit
    def f(x):
        return check_finite({"x": x * 2.0}, "out")["x"]

    x = jnp.array([1.0, jnp.inf])
    np.testing.assert_array_equal(f(x), [2.0, jnp.inf])  # unchecked, unchanged
    err, out = checkify.checkify(f)(x)
    assert err.get() == "out['x'] has non-finite values (`check` failed)"
    with pytest.raises(checkify.JaxRuntimeError, match=r"out\['x'\] has non-finite"):
        err.throw()
    err, _ = checkify.checkify(f)(jnp.ones(2))
    err.throw()  # nothing to raise


def pow_nan_setup():
    """multiplicative_pow, hardbound off: weights pushed past w_max go NaN."""
    p = STDPParameters(
        stdp_algorithm="multiplicative_pow", mu=0.5, eta_plus=1.0, hardbound=False
    )
    z = jnp.ones((1, 2))
    return p, z, jnp.full((2, 2), 0.9), STDPState.zeros_like(z, z)


def test_check_finite_catches_multiplicative_pow_nan_in_a_loop():
    p, z, w, s = pow_nan_setup()
    w, s = jstdp.stdp_step_linear(z, z, w, s, p, dt=0.04)
    check_finite(w, "w")  # 0.9 + 0.316 * 0.8: out of bounds, still finite
    assert float(w.max()) > 1.0
    w, s = jstdp.stdp_step_linear(z, z, w, s, p, dt=0.04)
    with pytest.raises(FloatingPointError, match=r"^w has 4 non-finite values of 4"):
        check_finite(w, "w")


def test_checkify_finds_the_step_that_made_the_nan_inside_a_scan():
    """The documented pattern: ``checkify.checkify(jax.jit(run))``."""
    p, z, w, s = pow_nan_setup()

    def run(w, s):
        def body(carry, t):
            w, s = jstdp.stdp_step_linear(z, z, *carry, p, dt=0.04)
            checkify.check(jnp.all(jnp.isfinite(w)), "w is not finite at step {}", t)
            return (w, s), None

        return jax.lax.scan(body, (w, s), jnp.arange(5))[0]

    err, _ = checkify.checkify(jax.jit(run))(w, s)
    assert err.get() == "w is not finite at step 1 (`check` failed)"
    err, _ = checkify.checkify(jax.jit(run), errors=checkify.float_checks)(w, s)
    assert err.get().startswith("nan generated by primitive")  # names the op


def test_check_finite_on_a_closed_loop_run():
    w, state, _ = jstdp.run_linear(
        np.ones((20, 1, 3), np.float32), jnp.full((2, 3), 0.5)
    )
    assert check_finite((w, state), "run") == (w, state)
    with pytest.raises(FloatingPointError, match=r"^run\[1\].stdp.t_pre has 3 "):
        check_finite(
            (
                w,
                state.replace(
                    stdp=STDPState(state.stdp.t_pre / 0.0, state.stdp.t_post)
                ),
            ),
            "run",
        )


def test_docstring_examples_run():
    result = doctest.testmod(jstdp._validation, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0


# --------------------------------------------------------- overshoot warning --


def test_overshoot_warns_once_per_call_site():
    """Python's default filter shows a warning once per call site (and
    message): a loop of steps warns once, another call site warns again."""
    z = jnp.ones((1, 2))
    w, s = jnp.full((2, 2), 0.5), STDPState.zeros_like(z, z)
    p = STDPParameters(tau_pre_inv=1500.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            w, s = jstdp.stdp_step_linear(z, z, w, s, p)
        w, s = jstdp.stdp_step_linear(z, z, w, s, p)
    assert len(caught) == 2
    assert all(m.category is RuntimeWarning for m in caught)
    assert str(caught[0].message).startswith(
        "dt * tau_pre_inv = 1.5 >= 1: the Euler trace update overshoots"
    )
    assert caught[0].filename == caught[1].filename == __file__  # the caller's line
    assert caught[0].lineno != caught[1].lineno


def test_overshoot_warns_at_trace_time_when_concrete():
    """Parameters closed over by a jitted function are concrete while tracing:
    the warning comes once, at trace time; traced parameters cannot warn."""
    z = jnp.ones((1, 2))
    s = STDPState.zeros_like(z, z)
    p = STDPParameters(tau_post_inv=2000.0)
    f = jax.jit(lambda w: jstdp.stdp_step_linear(z, z, w, s, p)[0])
    with pytest.warns(RuntimeWarning, match=r"dt \* tau_post_inv = 2 >= 1"):
        f(jnp.full((2, 2), 0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f(jnp.full((2, 2), 0.4))  # cached: not traced again, no warning
        g = jax.jit(lambda p: jstdp.stdp_step_linear(z, z, jnp.ones((2, 2)), s, p)[0])
        g(p)
