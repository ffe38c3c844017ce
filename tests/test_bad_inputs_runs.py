"""Bad inputs to the single-projection runs (run_linear, simulate_linear, ...)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bad_inputs import (
    N_POST,
    N_PRE,
    B,
    Case,
    T,
    case,
    cases_of,
    check_case,
    spikes_seq,
)

import jstdp
import jstdp.cli
import jstdp.interop
import jstdp.nn
import jstdp.plot
from jstdp import (
    LIFParameters,
    PoissonInput,
    STDPParameters,
    STDPState,
)

# ------------------------------------------------------------- simulation --


def run(**changes):
    args = dict(
        inputs=spikes_seq((B, N_PRE)), w=jnp.full((N_POST, N_PRE), 0.5), p_stdp=None
    )
    args.update(changes)
    return jstdp.run_linear(**args)


@case(
    "run/inputs-rank-2",
    "`run_linear` inputs `(T, n_pre)` (no batch axis)",
    ValueError,
    r"input spikes must have shape \(batch, n_pre=3\)",
)
def run_inputs_rank_2():
    return run(inputs=np.zeros((T, N_PRE)))


@case(
    "run/inputs-wrong-n_pre", "inputs with `n_pre + 1` columns", ValueError, r"n_pre=3"
)
def run_inputs_wrong_n_pre():
    return run(inputs=np.zeros((T, B, N_PRE + 1)))


@case(
    "run/poisson-without-steps",
    "`PoissonInput` without `steps`",
    ValueError,
    r"steps \(an int >= 0\) is required with PoissonInput",
)
def run_poisson_without_steps():
    return run(inputs=PoissonInput(np.full((B, N_PRE), 10.0)), key=jax.random.key(0))


@case(
    "run/poisson-without-key",
    "`PoissonInput` without `key`",
    ValueError,
    r"key .* is required",
)
def run_poisson_without_key():
    return run(inputs=PoissonInput(np.full((B, N_PRE), 10.0)), steps=3)


@case(
    "run/key-with-spike-array",
    "`key` with a spike array",
    ValueError,
    r"key is only used with PoissonInput",
)
def run_key_with_spike_array():
    return run(key=jax.random.key(0))


@case(
    "run/steps-disagrees-with-T",
    "`steps=7` with `T = 5` spikes",
    ValueError,
    r"T = steps = 7",
)
def run_steps_disagrees_with_t():
    return run(steps=7)


@case(
    "run/record_every-zero",
    "`record_every=0`",
    ValueError,
    r"record_every must be an int >= 1, got 0",
)
def run_record_every_zero():
    return run(record_every=0)


@case(
    "run/chunk_steps-bool",
    "`chunk_steps=True`",
    TypeError,
    r"chunk_steps must be an int, got True",
)
def run_chunk_steps_bool():
    return run(chunk_steps=True)


@case(
    "run/state-wrong-type",
    "`state` an `STDPState`",
    TypeError,
    r"state must be jstdp.RunState",
)
def run_state_wrong_type():
    return run(state=STDPState.zeros_like(np.zeros((B, N_PRE)), np.zeros((B, N_POST))))


@case(
    "run/p_neuron-without-step",
    "`p_neuron` without `.step`",
    TypeError,
    r"p_neuron must have",
)
def run_p_neuron_without_step():
    return run(p_neuron=STDPParameters())


@case(
    "run/p_stdp-wrong-type",
    "`p_stdp` a `LIFParameters`",
    TypeError,
    r"p_stdp must be jstdp.STDPParameters",
)
def run_p_stdp_wrong_type():
    return run(p_stdp=LIFParameters())


@case("run/dt-zero", "`dt=0`", ValueError, r"dt must be")
def run_dt_zero():
    return run(dt=0.0)


@case(
    "run/zero-steps",
    "`T = 0` steps",
    works="works: `w` unchanged",
    check=lambda out: np.testing.assert_array_equal(out[0], 0.5),
)
def run_zero_steps():
    return run(inputs=np.zeros((0, B, N_PRE)))


@case(
    "run/record_every-longer-than-T",
    "`record_every > T`",
    works="works: an empty record (`R = 0`)",
    check=lambda out: out[2].w.shape == (0, N_POST, N_PRE),
)
def run_record_every_longer_than_t():
    return run(record_every=T + 1)


@case(
    "run/x64-numpy-float64-params",
    "x64 on, NumPy float64 STDP and LIF parameters, float32 `w`",
    works="works: `w` stays float32",
    check=lambda out: out[0].dtype == jnp.float32,
)
def run_x64_numpy_float64_params():
    with jax.enable_x64(True):
        p = STDPParameters(eta_plus=np.float64(1e-2), tau_pre_inv=np.float64(20.0))
        lif = LIFParameters(tau_mem_inv=np.float64(100.0))
        return jax.block_until_ready(
            run(w=jnp.full((N_POST, N_PRE), 0.5, jnp.float32), p_stdp=p, p_neuron=lif)
        )


@case(
    "run/nan-neuron-parameter",
    "`LIFParameters(tau_mem_inv=nan)`",
    FloatingPointError,
    r"p_neuron.tau_mem_inv is not finite: nan",
)
def run_nan_neuron_parameter():
    return run(p_neuron=LIFParameters(tau_mem_inv=float("nan")))


@case(
    "run/poisson-nan-rates",
    "`PoissonInput` with a NaN rate",
    ValueError,
    r"PoissonInput.rates_hz must be finite and >= 0, got nan at index \(1, 2\)",
)
def run_poisson_nan_rates():
    rates = np.full((B, N_PRE), 10.0)
    rates[1, 2] = np.nan
    return run(inputs=PoissonInput(rates), steps=3, key=jax.random.key(0))


@case(
    "simulate/length-mismatch",
    "`simulate_linear` with `T` and `T + 1` steps",
    ValueError,
    r"same length T",
)
def simulate_length_mismatch():
    return jstdp.simulate_linear(
        spikes_seq((B, N_PRE)),
        np.zeros((T + 1, B, N_POST)),
        jnp.full((N_POST, N_PRE), 0.5),
    )


@case(
    "simulate/conv-rank",
    "`simulate_conv2d` with rank-4 sequences",
    ValueError,
    r"z_pre_seq must have rank 5",
)
def simulate_conv_rank():
    return jstdp.simulate_conv2d(
        np.zeros((T, B, 5, 5)), np.zeros((T, B, 3, 3, 3)), jnp.zeros((3, 2, 3, 3))
    )


@case(
    "run/poisson-rate-above-one-per-step",
    "`PoissonInput` at 2000 Hz with `dt = 1 ms` (at most one spike per step)",
    ValueError,
    r"inputs.rates_hz \* dt must be <= 1 \(at most one spike per step\)",
)
def run_poisson_rate_above_one_per_step():
    return run(
        inputs=PoissonInput(np.full((B, N_PRE), 2000.0)), steps=3, key=jax.random.key(0)
    )


@case(
    "run/dt-per-step",
    "`dt` an array of one value per step",
    ValueError,
    r"dt must be a scalar, got shape \(5,\)",
)
def run_dt_per_step():
    return run(dt=np.full(T, 1e-3))


@case("run/dt-complex", "`dt=1e-3+1j`", TypeError, r"dt must be real")
def run_dt_complex():
    return run(dt=1e-3 + 1j)


@case(
    "run/inputs-complex",
    "complex input spikes",
    TypeError,
    r"inputs must be spikes as a bool, int or real float array, got complex64",
)
def run_inputs_complex():
    return run(inputs=spikes_seq((B, N_PRE)).astype(np.complex64))


@case(
    "run/inputs-string",
    "string input spikes",
    TypeError,
    r"inputs must be spikes as a bool, int or real float array, got <U",
)
def run_inputs_string():
    return run(inputs=spikes_seq((B, N_PRE)).astype(str))


@case(
    "run/steps-overflow",
    "`steps=2**31` with `PoissonInput`",
    ValueError,
    r"steps = 2147483648 would take the step count from 0 past 2\*\*31 - 1",
)
def run_steps_overflow():
    rates = PoissonInput(np.full((B, N_PRE), 10.0))
    return run(inputs=rates, steps=2**31, key=jax.random.key(0))


@case(
    "run/continued-past-int32",
    "a `RunState` whose step count would pass `2**31 - 1`",
    ValueError,
    r"would take the step count from 2147483645",
)
def run_continued_past_int32():
    rates = PoissonInput(np.full((B, N_PRE), 10.0))
    state = run(inputs=rates, steps=1, key=jax.random.key(0))[1]
    state = state.replace(step=jnp.int32(2**31 - 3))
    return run(inputs=rates, steps=5, key=jax.random.key(0), state=state)


@case(
    "run/steps-numpy-int",
    "`steps=np.int64(3)`, `record_every=np.int64(1)`",
    works="works: the same as Python ints",
    check=lambda out: out[2].w.shape[0] == 3,
)
def run_steps_numpy_int():
    rates = PoissonInput(np.full((B, N_PRE), 10.0))
    return run(
        inputs=rates, steps=np.int64(3), key=jax.random.key(0), record_every=np.int64(1)
    )


# ------------------------------------------------------------------ events --


def events(**changes):
    args = dict(
        inputs=PoissonInput(np.full((1, N_PRE), 10.0)),
        w=jnp.full((1, N_PRE), 0.5),
        p_stdp=None,
        p_neuron=None,
        dt=1e-3,
        steps=T,
        key=jax.random.key(0),
    )
    args.update(changes)
    return jstdp.run_linear_events(**args)


@case(
    "events/inputs-array",
    "`run_linear_events` given a spike array",
    TypeError,
    r"inputs must be jstdp.PoissonInput, got ndarray",
)
def events_inputs_array():
    return events(inputs=spikes_seq((1, N_PRE)))


@case("events/no-key", "no `key` (and none in the input)", ValueError, r"key")
def events_no_key():
    return events(key=None)


@case("events/delay-2", "`delay=2`", ValueError, r"delay must be 0 or 1")
def events_delay_2():
    return events(delay=2)


@case(
    "events/two-neurons",
    "`w` of shape `(2, n_pre)`",
    ValueError,
    r"w must be \(1, n_pre\) = \(1, 3\)",
)
def events_two_neurons():
    return events(w=jnp.full((2, N_PRE), 0.5))


@case(
    "events/w-above-w_max",
    "`w` above `w_max`",
    ValueError,
    r"w must lie within \[w_min, w_max\]",
)
def events_w_above_w_max():
    return events(w=jnp.full((1, N_PRE), 1.5))


@case(
    "events/soft-bound",
    "`STDPParameters(hardbound=False)`",
    ValueError,
    r"p_stdp.hardbound must be True",
)
def events_soft_bound():
    return events(p_stdp=STDPParameters(hardbound=False))


@case(
    "events/per-synapse-eta",
    "a per-synapse `eta_plus`",
    ValueError,
    r"p_stdp.eta_plus must be a scalar",
)
def events_per_synapse_eta():
    return events(p_stdp=STDPParameters(eta_plus=jnp.full((1, N_PRE), 1e-3)))


@case(
    "events/rate-above-1-over-dt",
    "a rate above `1 / dt`",
    ValueError,
    r"rates_hz must be finite, >= 0 and at most 1 / dt",
)
def events_rate_above_1_over_dt():
    return events(inputs=PoissonInput(np.full((1, N_PRE), 2000.0)))


@case(
    "events/traced-w",
    "`w` traced (`run_linear_events` under `jax.jit`)",
    TypeError,
    r"w must be concrete",
)
def events_traced_w():
    return jax.jit(lambda w: events(w=w)[0])(jnp.full((1, N_PRE), 0.5))


@case(
    "events/pending-missing",
    "a `RunState` of `delay=0` continued with `delay=1`",
    ValueError,
    r"state.pending must be \(1, 3\) input spikes for delay=1",
)
def events_pending_missing():
    state = events(delay=0)[1]
    return events(state=state)


@case(
    "events/continued-past-int32",
    "a `RunState` whose step count would pass `2**31 - 1`",
    ValueError,
    r"would take the step count from 2147483645",
)
def events_continued_past_int32():
    state = events()[1].replace(step=jnp.int32(2**31 - 3))
    return events(state=state)


@case(
    "events/zero-steps",
    "`steps=0`",
    works="works: `w` unchanged",
    check=lambda out: np.testing.assert_array_equal(out[0], 0.5),
)
def events_zero_steps():
    return events(steps=0)


@case(
    "events/spikes-batch-2",
    "`poisson_event_spikes` with rates `(2, n)`",
    ValueError,
    r"rates_hz must be \(n,\) or \(1, n\) \(one sample\), got shape \(2, 3\)",
)
def events_spikes_batch_2():
    return jstdp.poisson_event_spikes(jax.random.key(0), np.ones((2, N_PRE)), 1e-3, T)


@case(
    "events/spikes-negative-rate",
    "`poisson_event_spikes` with a negative rate",
    ValueError,
    r"rates_hz must be finite, >= 0",
)
def events_spikes_negative_rate():
    rates = np.array([1.0, -1.0, 2.0])
    return jstdp.poisson_event_spikes(jax.random.key(0), rates, 1e-3, T)


@case(
    "events/spikes-seed-as-key",
    "`poisson_event_spikes` with an int seed as the key",
    TypeError,
    r"key must be a jax.random key",
)
def events_spikes_seed_as_key():
    return jstdp.poisson_event_spikes(0, np.ones(N_PRE), 1e-3, T)


@case(
    "simulate/zero-steps",
    "`simulate_linear` with `T = 0`",
    works="works: `w` unchanged",
    check=lambda out: np.testing.assert_array_equal(out[0], 0.5),
)
def simulate_zero_steps():
    z = np.zeros((0, B, N_PRE))
    return jstdp.simulate_linear(
        z, np.zeros((0, B, N_POST)), jnp.full((N_POST, N_PRE), 0.5)
    )


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
