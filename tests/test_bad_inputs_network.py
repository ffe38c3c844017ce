"""Bad inputs to networks and what builds them: rules, transforms, connections,
neurons, run, replay (the objects of the architecture)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bad_inputs import Case, case, cases_of, check_case

import jstdp
from jstdp.connections import Dense, OneToOne
from jstdp.rules import Clip, NorseSTDP

# ----------------------------------------------------------------- fixtures --


class Relay:
    """Fires where its drive is positive."""

    def initial_state(self, shape, dtype):
        return jnp.zeros(shape, dtype)

    def step(self, drive, state, dt):
        z = (drive > 0).astype(state.dtype)
        return z, z


jax.tree_util.register_static(Relay)


def net(**changes):
    """x (3) -> y (2), Dense, Norse's rule; ``changes`` replace the projection's."""
    q = jstdp.Projection("x", "y", Dense(), jnp.full((2, 3), 0.5), rule=NorseSTDP())
    return jstdp.Network(
        [jstdp.Input("x", (3,)), jstdp.Population("y", Relay(), (2,))],
        [q.replace(**changes)],
    )


def rates(hz=10.0):
    return jstdp.PoissonInput(jnp.full((1, 3), hz))


def run(**changes):
    args = dict(inputs=rates(), steps=5, key=jax.random.key(0)) | changes
    return jstdp.run(net(), **args)


def weights_unchanged(out):
    state, _ = out
    assert int(state.step) == 0


# ------------------------------------------------------------------ network --


@case(
    "network/population-no-neuron",
    '`Population("y", object(), (2,))`',
    TypeError,
    r"Population 'y': neuron must have \.initial_state",
)
def network_population_no_neuron():
    return jstdp.Population("y", object(), (2,))


@case(
    "network/shape-zero", '`Input("x", (0,))`', ValueError, r"Input 'x' shape must be"
)
def network_shape_zero():
    return jstdp.Input("x", (0,))


@case(
    "network/unknown-post",
    "a projection to a population the network lacks",
    ValueError,
    r"projection 'x->z': post 'z' is not a population",
)
def network_unknown_post():
    return net(post="z", name=None)


@case(
    "network/post-is-input",
    "a projection into an `Input`",
    ValueError,
    r"post 'x' is an Input",
)
def network_post_is_input():
    return jstdp.Network(
        [jstdp.Input("x", (3,)), jstdp.Population("y", Relay(), (3,))],
        [jstdp.Projection("y", "x", OneToOne(), 1.0)],
    )


@case(
    "network/w-transposed",
    "Dense weights `(n_pre, n_post)` (transposed)",
    ValueError,
    r"projection 'x->y': w must have shape \(2, 3\) for 'x' \(3,\) -> 'y' \(2,\), got "
    r"\(3, 2\)",
)
def network_w_transposed():
    return net(w=jnp.ones((3, 2)))


@case(
    "network/receptor-unknown",
    '`receptor="gaba"` on a neuron with `exc`/`inh`',
    ValueError,
    r"receptor 'gaba' is not one of",
)
def network_receptor_unknown():
    lif = jstdp.Population("y", jstdp.LIFParameters(), (2,))
    q = jstdp.Projection("x", "y", Dense(), jnp.ones((2, 3)), receptor="gaba")
    return jstdp.Network([jstdp.Input("x", (3,)), lif], [q])


@case(
    "network/zero-delay-loop",
    "two populations feeding each other with `delay=0`",
    ValueError,
    r"zero-delay projections form a loop",
)
def network_zero_delay_loop():
    a, b = jstdp.Population("a", Relay(), (2,)), jstdp.Population("b", Relay(), (2,))
    return jstdp.Network(
        [a, b],
        [
            jstdp.Projection("a", "b", OneToOne(), 1.0, delay=0),
            jstdp.Projection("b", "a", OneToOne(), 1.0, delay=0),
        ],
    )


@case("network/delay-float", "`delay=1.5`", TypeError, r"delay must be an int, got 1.5")
def network_delay_float():
    return net(delay=1.5)


@case(
    "network/delay-numpy-int",
    "`delay=np.int64(3)`",
    works="works: the same as `delay=3`",
    check=lambda n: n.projections[0].delay == 3,
)
def network_delay_numpy_int():
    return net(delay=np.int64(3))


@case(
    "network/per-synapse-delay-zero",
    "a per-synapse delay of 0 steps",
    ValueError,
    r"per-synapse delays must be >= 1 step",
)
def network_per_synapse_delay_zero():
    return net(delay=np.zeros((2, 3), int))


@case(
    "network/transform-without-rule",
    "a transform on a fixed projection",
    ValueError,
    r"a transform needs a rule",
)
def network_transform_without_rule():
    return net(rule=None, transform=Clip())


@case(
    "network/run-rate-above-one-per-step",
    "`PoissonInput` at 2000 Hz with `dt = 1 ms`",
    ValueError,
    r"inputs\.rates_hz \* dt must be <= 1 \(at most one spike per step\), got a rate "
    r"of 2000 Hz",
)
def network_run_rate_above_one_per_step():
    return run(inputs=rates(2000.0))


@case(
    "network/run-steps-overflow",
    "`steps=2**31`",
    ValueError,
    r"steps = 2147483648 would take the step count from 0 past 2\*\*31 - 1",
)
def network_run_steps_overflow():
    return run(steps=2**31)


@case(
    "network/run-continued-past-int32",
    "a continued run whose step count would pass `2**31 - 1`",
    ValueError,
    r"steps = 10 would take the step count from 2147483640",
)
def network_run_continued_past_int32():
    state = net().init(1).replace(step=jnp.int32(2**31 - 8))
    return run(steps=10, state=state)


@case(
    "network/run-dt-complex", "`dt=1e-3+1j`", TypeError, r"dt must be real, got complex"
)
def network_run_dt_complex():
    return run(dt=1e-3 + 1j)


@case(
    "network/run-dt-per-step",
    "`dt` an array of one value per step",
    ValueError,
    r"dt must be a scalar, got shape \(5,\)",
)
def network_run_dt_per_step():
    return run(dt=np.full(5, 1e-3))


@case(
    "network/run-string-spikes",
    "string spikes",
    TypeError,
    r"inputs must be spikes as a bool, int or real float array, got <U1",
)
def network_run_string_spikes():
    return jstdp.run(net(), np.full((5, 1, 3), "1"))


@case(
    "network/run-complex-spikes",
    "complex spikes",
    TypeError,
    r"inputs must be spikes as a bool, int or real float array, got complex",
)
def network_run_complex_spikes():
    return jstdp.run(net(), np.ones((5, 1, 3), np.complex64))


@case(
    "network/run-zero-steps",
    "`steps=0`",
    works="works: the state is returned unchanged",
    check=weights_unchanged,
)
def network_run_zero_steps():
    return run(steps=0)


@case(
    "network/run-steps-numpy",
    "`steps=np.int64(5)`",
    works="works: the same as `steps=5`",
    check=lambda out: int(out[0].step) == 5,
)
def network_run_steps_numpy():
    return run(steps=np.int64(5))


@case(
    "network/run-learning-string",
    '`learning="no"`',
    TypeError,
    r"learning must be a bool \(True or False\), got 'no'",
)
def network_run_learning_string():
    return run(learning="no")


@case(
    "network/run-foreign-state",
    "a `state` of another network",
    ValueError,
    r"state.* must have shape",
)
def network_run_foreign_state():
    other = jstdp.Network(
        [jstdp.Input("x", (3,)), jstdp.Population("y", Relay(), (4,))],
        [jstdp.Projection("x", "y", Dense(), jnp.ones((4, 3)), rule=NorseSTDP())],
    )
    return run(state=other.init(1))


@case(
    "network/replay-zero-steps",
    "`replay` of `T = 0` steps",
    works="works: `w` unchanged",
    check=lambda out: np.testing.assert_array_equal(out[0], 0.5),
)
def network_replay_zero_steps():
    z = np.zeros((0, 1, 3))
    return jstdp.replay(NorseSTDP(), z, np.zeros((0, 1, 2)), jnp.full((2, 3), 0.5))


@case(
    "network/replay-not-a-rule",
    "`replay` with `STDPState` as the rule",
    TypeError,
    r"rule must be a jstdp rule",
)
def network_replay_not_a_rule():
    z = np.zeros((4, 1, 3))
    return jstdp.replay(jstdp.STDPState(1.0, 1.0), z, z, jnp.ones((3, 3)))


# ------------------------------------------------------------------ objects --


@case(
    "objects/rule-tau-zero",
    "`NorseSTDP(tau_pre_inv=0)`",
    ValueError,
    r"NorseSTDP.tau_pre_inv must be > 0, got 0",
)
def objects_rule_tau_zero():
    return NorseSTDP(tau_pre_inv=0.0)


@case(
    "objects/rule-complex",
    "`NorseSTDP(eta_plus=1j)`",
    TypeError,
    r"NorseSTDP.eta_plus must be real",
)
def objects_rule_complex():
    return NorseSTDP(eta_plus=1j)


@case(
    "objects/rule-sweep-bad-entry",
    "a `NorseSTDP` grid with `w_min >= w_max` in one entry",
    ValueError,
    r"NorseSTDP.w_min must be < w_max, got w_min=2 at index \(1,\)",
)
def objects_rule_sweep_bad_entry():
    return jstdp.parameter_grid(NorseSTDP(), w_min=[0.0, 2.0])


@case("objects/clip-bounds", "`Clip(1, 0)`", ValueError, r"Clip.w_min must be < w_max")
def objects_clip_bounds():
    return Clip(1.0, 0.0)


@case(
    "objects/conv-kernel-size",
    "`Conv2d(kernel_size=(3, 0))`",
    ValueError,
    r"kernel_size must be an int >= 1 or a pair",
)
def objects_conv_kernel_size():
    return jstdp.connections.Conv2d(kernel_size=(3, 0))


@case(
    "objects/conductance-negative-g",
    "`ConductanceLIFParameters(g_max=-1)`",
    ValueError,
    r"ConductanceLIFParameters.g_max must be >= 0",
)
def objects_conductance_negative_g():
    return jstdp.ConductanceLIFParameters(g_max=-1.0)


@case(
    "objects/adaptive-no-threshold",
    "`AdaptiveThreshold` around a neuron without `v_th`",
    TypeError,
    r"neuron must be a neuron with a v_th field",
)
def objects_adaptive_no_threshold():
    return jstdp.AdaptiveThreshold(Relay())


@case(
    "objects/poisson-negative",
    "`PoissonInput` with a negative rate",
    ValueError,
    r"PoissonInput.rates_hz must be finite and >= 0, got -1",
)
def objects_poisson_negative():
    return jstdp.PoissonInput(jnp.array([1.0, -1.0]))


@case(
    "objects/poisson-complex",
    "`PoissonInput` with complex rates",
    TypeError,
    r"PoissonInput.rates_hz must be real",
)
def objects_poisson_complex():
    return jstdp.PoissonInput(jnp.ones(3, jnp.complex64))


@case("objects/save-every-zero", "`Save(every=0)`", ValueError, r"Save.every must be")
def objects_save_every_zero():
    return jstdp.Save(every=0)


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
