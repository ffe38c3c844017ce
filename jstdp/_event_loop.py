r"""The closed loop of :func:`jstdp.run_linear` for one neuron, event by event.

Poisson inputs -> plastic weights ``w`` ``(1, n)`` (Norse's rule, scalar
parameters, hard bounds) -> one neuron. :func:`run_linear` computes every
synapse every step; here a step touches only what its spikes touch, which
is what a single neuron driven by sparse inputs needs (Song et al. 2000 at
dt = 0.1 ms: about one input spike per step among 1000 inputs):

- **Input spikes** are drawn as events (:mod:`jstdp.neurons.poisson_events`,
  a few random numbers per spike instead of one per input and step): the
  same Bernoulli process as :class:`jstdp.PoissonInput`, another random
  stream. :func:`jstdp.poisson_event_spikes` gives them as an array.
- **Presynaptic traces are lazy**: each input keeps its trace after its last
  spike and that step; the trace ``k`` steps later is ``x (1 - dt /
  tau_pre)^k``, the value of the rule's Euler steps ``x <- x + dt / tau_pre
  (-x)`` (here as ``exp(k log(1 - dt / tau_pre))``: rounding differs).
- **A step without an output spike** updates the inputs that spiked (their
  trace jumps, then depression ``w <- bound(w - A_-(w) t_post)``), one after
  the other in place; **a step with one** updates every synapse, as the
  dense rule: ``w <- bound(w + A_+(w) t_pre - A_-(w) t_post z_pre)``.
  Synapses nothing touches keep their weight exactly (hard bounds, weights
  within them: the dense rule adds ``A(w) * 0`` and clips).

The numbers are :func:`run_linear`'s on the same input spikes up to float
rounding (the lazy traces, and the drive summed spike by spike instead of a
dot product): ``tests/test_event_loop.py`` runs both on
:func:`jstdp.poisson_event_spikes`. Small closed loops run fastest as one
kernel (:func:`jstdp.fast_cpu_loops`). XLA updates a weight in place only if
no read of the array comes after the write in the same step, so each spike's
new values are written just before the next spike's are read (``pending``).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._loops import RunState
from jstdp._norse import check_concrete
from jstdp._run import _check_steps
from jstdp.connections.dense import Dense
from jstdp.neurons import poisson_events
from jstdp.neurons.encoders import PoissonInput
from jstdp.neurons.lif import LIFParameters
from jstdp.neurons.poisson_events import check_inputs, fold_rounds
from jstdp.rules.norse import NUMERIC_FIELDS, NorseSTDP, STDPState, apply_update


class _Step(NamedTuple):
    """The loop's carry: step ``t`` (of this call), buffer position ``ptr``,
    the neuron, the synapses (``w``, trace after the last spike ``x``, the
    step of that spike ``last``), the write not yet done (``pending``: index
    and the three values), the drive of the next step (delay 1), output
    spikes, and the input spikes of the last step."""

    t: jax.Array
    ptr: jax.Array
    neuron: Any
    t_post: jax.Array
    w: jax.Array
    x: jax.Array
    last: jax.Array
    pending: tuple[jax.Array, jax.Array, jax.Array, jax.Array]
    drive: jax.Array
    count: jax.Array
    z_last: jax.Array


def run_linear_events(
    inputs: PoissonInput,
    w: ArrayLike,
    p_stdp: NorseSTDP | None = None,
    p_neuron: Any = None,
    dt: ArrayLike = 0.001,
    *,
    steps: int,
    key: jax.Array | None = None,
    state: RunState | None = None,
    delay: int = 1,
) -> tuple[jax.Array, RunState]:
    """:func:`jstdp.run_linear` for one neuron with Poisson inputs, event-driven.

    The same model and order as :func:`jstdp.run_linear` (drive from the
    spikes of ``delay`` steps ago, neuron, then Norse's rule with this step's
    spikes); the input spikes are :func:`jstdp.poisson_event_spikes` of
    ``key`` (statistically :class:`jstdp.PoissonInput`'s, another stream),
    and the numbers are :func:`run_linear`'s on those spikes up to float
    rounding. Worth it when spikes are sparse (one neuron, many inputs at low
    rates per step); see the module docstring for how.

    Args:
        inputs: a :class:`jstdp.PoissonInput` with rates ``(1, n)`` or ``(n,)``.
        w: ``(1, n)`` weights within ``[w_min, w_max]``, float32 or float64.
        p_stdp: Norse's rule (default ``STDPParameters()``) with scalar
            parameters and ``hardbound=True``.
        p_neuron: the neuron (default ``LIFParameters()``), scalar parameters.
        dt: time step, s.
        steps: steps to run (an int >= 0).
        key: a ``jax.random`` key (or the input's ``key``).
        state: a :class:`jstdp.RunState` to continue from (default: fresh).
        delay: 0 or 1 (steps until an input spike acts on the neuron).

    Returns:
        ``(w, state)``: the weights and a :class:`jstdp.RunState` (``pending``:
        the last step's input spikes, for ``delay=1``), which
        :func:`run_linear` and this function both continue from.

    Raises:
        ValueError: shapes, bounds, ``delay``, ``steps`` (or the step count
            past int32) or rates out of range.
        TypeError: wrong types, or traced ``w`` / ``p_stdp`` (their bounds
            are checked before the run).
    """
    p_stdp = NorseSTDP() if p_stdp is None else p_stdp
    p_neuron = LIFParameters() if p_neuron is None else p_neuron
    if not isinstance(inputs, PoissonInput):
        raise TypeError(
            f"inputs must be jstdp.PoissonInput, got {type(inputs).__name__} "
            "(replay spike arrays with jstdp.run_linear)"
        )
    key = inputs.key if key is None else key
    if key is None:
        raise ValueError("key (a jax.random key) is required, or PoissonInput.key")
    rates, dt, steps = check_inputs(key, inputs.rates_hz, dt, steps)
    delay = v.integer("delay", delay, 0)
    v.ensure("delay", delay <= 1, delay, "0 or 1 (jstdp.run_linear takes longer)")
    w = _weights(w, rates.shape[0])
    p_stdp, half = _rule(p_stdp, w, dt)
    v.neuron("p_neuron", p_neuron)
    v.check_finite(p_neuron, "p_neuron")
    state = _initial(state, p_neuron, w, delay)
    _check_steps(steps, state.step)
    size = poisson_events.capacity(rates.shape[0])  # candidates per round
    w_out, state = _run(
        key, rates, w, p_stdp, p_neuron, jnp.asarray(dt, w.dtype), state,
        jnp.int32(steps), delay=delay, half=half, size=size,
    )  # fmt: skip
    return w_out, state


def _weights(w: ArrayLike, n: int) -> jax.Array:
    if isinstance(w, jax.core.Tracer):
        raise TypeError("w must be concrete (its bounds are checked before the run)")
    w = v.floating_array("w", w)
    if w.shape != (1, n):
        raise ValueError(f"w must be (1, n_pre) = (1, {n}), got shape {w.shape}")
    return jnp.asarray(w, w.dtype)


def _rule(p: Any, w: jax.Array, dt: Any) -> tuple[NorseSTDP, bool | None]:
    """``p`` cast to ``w``'s dtype and whether ``mu`` is 0.5 (the ``sqrt``
    kernel, as the dense rule picks it)."""
    if not isinstance(p, NorseSTDP):
        raise TypeError(f"p_stdp must be jstdp.STDPParameters, got {type(p).__name__}")
    check_concrete(p, dt)
    for name in NUMERIC_FIELDS:
        leaf = getattr(p, name)
        if isinstance(leaf, jax.core.Tracer):
            raise TypeError(f"p_stdp.{name} must be concrete (checked before the run)")
        if np.size(leaf) != 1:
            raise ValueError(
                f"p_stdp.{name} must be a scalar (one neuron), got shape "
                f"{np.shape(leaf)}; per-synapse values: jstdp.run_linear"
            )
    if not p.hardbound:
        raise ValueError("p_stdp.hardbound must be True (untouched weights stay)")
    if not p.bounded(w):
        raise ValueError(
            f"w must lie within [w_min, w_max] = [{p.w_min}, {p.w_max}] with "
            "finite learning rates and mu >= 0 (untouched weights stay)"
        )
    p = v.cast_parameters(p, w.dtype)
    p = jax.tree.map(lambda x: jnp.reshape(x, ()), p)
    half = None
    if p.stdp_algorithm == "multiplicative_pow":
        half = bool(np.asarray(p.mu) == 0.5)
    return p, half


def _initial(state: RunState | None, p_neuron: Any, w: jax.Array, delay: int):
    n = w.shape[1]
    if state is None:
        z = jnp.zeros((1, n), w.dtype)
        return RunState(
            neuron=p_neuron.initial_state((1, 1), w.dtype),
            stdp=STDPState(jnp.zeros((1, n), w.dtype), jnp.zeros((1, 1), w.dtype)),
            step=jnp.zeros((), jnp.int32),
            spike_count=jnp.zeros((1, 1), jnp.int32),
            pending=None if delay == 0 else z,
        )
    if not isinstance(state, RunState):
        raise TypeError(f"state must be jstdp.RunState, got {type(state).__name__}")
    pending = state.pending
    if delay == 1 and (pending is None or np.shape(pending) != (1, n)):
        raise ValueError(
            f"state.pending must be (1, {n}) input spikes for delay=1, got "
            f"{None if pending is None else np.shape(pending)}"
        )
    cast = lambda x: jnp.asarray(x, w.dtype)  # noqa: E731
    return state.replace(
        stdp=STDPState(cast(state.stdp.t_pre), cast(state.stdp.t_post)),
        pending=None if delay == 0 else cast(pending),
    )


@functools.partial(jax.jit, static_argnames=("delay", "half", "size"))
def _run(key, rates, w, p, p_neuron, dt, state, steps, *, delay, half, size):
    n, dtype = w.shape[1], w.dtype
    c_pre = dt * p.tau_pre_inv  # the trace's Euler factor, as the rule has it
    log_decay = jnp.log1p(-c_pre)

    def trace(x, last, t):
        """A trace after the spike of step ``last``, at the end of step ``t``."""
        return x * jnp.exp((t - last).astype(dtype) * log_decay)

    def write(s: _Step) -> _Step:
        j, wj, xj, lj = s.pending
        return s._replace(
            w=jax.lax.dynamic_update_index_in_dim(s.w, wj, j, 0),
            x=jax.lax.dynamic_update_index_in_dim(s.x, xj, j, 0),
            last=jax.lax.dynamic_update_index_in_dim(s.last, lj, j, 0),
        )

    def consume(s: _Step, t_ev, i_ev, begin, end):
        def at_t(s):
            return t_ev[s.ptr] == s.t

        def gather(s):  # delay 0: the weights of this step's spikes, unchanged
            def add(a):
                k, total = a
                return k + 1, total + s.w[i_ev[k]]

            return jax.lax.while_loop(
                lambda a: t_ev[a[0]] == s.t, add, (s.ptr, jnp.zeros((), dtype))
            )[1]

        def spikes(s: _Step, fired: jax.Array) -> _Step:
            """This step's input spikes, one at a time: the trace jumps and,
            without an output spike, depression (with one, :func:`dense`
            updates every synapse: here the values stay)."""

            def one(s):
                s = write(s)
                j = i_ev[s.ptr]
                wj, xj, lj = s.w[j], s.x[j], s.last[j]
                x = trace(xj, lj, s.t - 1)
                x = x + c_pre * (-x + p.a_pre * 1.0)
                w_new = apply_update(wj, 0.0, s.t_post, p, half, plus=False)
                pending = (
                    j,
                    jnp.where(fired, wj, w_new),
                    jnp.where(fired, xj, x),
                    jnp.where(fired, lj, s.t),
                )
                return s._replace(ptr=s.ptr + 1, pending=pending, drive=s.drive + w_new)

            return jax.lax.while_loop(at_t, one, s)

        def dense(args):
            """The rule for every synapse (an output spike in step ``t``)."""
            s, start = args
            s = write(s)

            def mark(a):
                k, z = a
                return k + 1, z.at[i_ev[k]].set(1.0)

            z_pre = jax.lax.while_loop(
                lambda a: a[0] < s.ptr, mark, (start, jnp.zeros((n,), dtype))
            )[1]
            before = trace(s.x, s.last, s.t - 1)
            jumped = before + c_pre * (-before + p.a_pre * z_pre)
            t_pre = jnp.where(z_pre > 0, jumped, trace(s.x, s.last, s.t))
            w_new = apply_update(s.w, t_pre, s.t_post * z_pre, p, half)
            x = jnp.where(z_pre > 0, jumped, s.x)
            last = jnp.where(z_pre > 0, s.t, s.last)
            j = s.pending[0]  # written: a write of the values it has now
            s = s._replace(
                w=w_new,
                x=x,
                last=last,
                pending=(j, w_new[j], x[j], last[j]),
                drive=jnp.sum(jnp.where(z_pre > 0, w_new, 0.0)),
            )
            return s, start

        def step(s: _Step) -> _Step:
            if delay == 0:
                s = write(s)
                drive = gather(s)
            else:
                drive = s.drive
            z, neuron = p_neuron.step(jnp.reshape(drive, (1, 1)), s.neuron, dt)
            fired = z[0, 0] != 0
            t_post = s.t_post + dt * p.tau_post_inv * (-s.t_post + p.a_post * z[0, 0])
            s = s._replace(neuron=neuron, t_post=t_post, drive=jnp.zeros((), dtype))
            start = s.ptr
            s = spikes(s, fired)
            s, _ = jax.lax.cond(fired, dense, lambda a: a, (s, start))
            return s._replace(t=s.t + 1, count=s.count + fired.astype(jnp.int32))

        s = s._replace(ptr=jnp.zeros((), jnp.int32))
        s = jax.lax.while_loop(lambda s: s.t < end, step, s)
        last = jnp.where(t_ev == steps - 1, i_ev, n)
        z_last = jnp.zeros((n,), dtype).at[last].set(1.0, mode="drop")
        return s._replace(z_last=jnp.where(end == steps, z_last, s.z_last))

    w0, x0 = w[0], state.stdp.t_pre[0]
    last0 = jnp.full((n,), -1, jnp.int32)
    drive0 = jnp.zeros((), dtype)
    if delay == 1:  # the spikes of the step before this call, as run_linear
        drive0 = Dense().drive(state.pending, w)[0, 0]
    zero = jnp.zeros((), jnp.int32)
    s = _Step(
        t=zero,
        ptr=zero,
        neuron=state.neuron,
        t_post=state.stdp.t_post[0, 0],
        w=w0,
        x=x0,
        last=last0,
        pending=(zero, w0[0], x0[0], last0[0]),
        drive=drive0,
        count=state.spike_count[0, 0],
        z_last=jnp.zeros((n,), dtype) if delay == 0 else state.pending[0],
    )
    s = fold_rounds(key, rates, dt, steps, consume, s, size)
    s = write(s)
    t_pre = trace(s.x, s.last, steps - 1)
    new = RunState(
        neuron=s.neuron,
        stdp=STDPState(t_pre[None], jnp.reshape(s.t_post, (1, 1))),
        step=state.step + steps,
        spike_count=jnp.reshape(s.count, (1, 1)),
        pending=None if delay == 0 else s.z_last[None],
    )
    return s.w[None], new
