"""Single-projection runs with Norse's rule: thin wrappers over :func:`jstdp.run`
and :func:`jstdp.replay`.

Open loop (:func:`simulate_linear`, :func:`simulate_conv2d`) replays given
presynaptic and postsynaptic spike trains through STDP. Closed loop
(:func:`run_linear`, :func:`run_conv2d`) is the network ``input -> w ->
neuron`` with the projection's delay (default 1 step) and Norse's rule,
every step::

    drive  = z_in[t - delay] @ w.T        (conv2d: conv(z_in[t - delay], w))
    z_out, neuron = p_neuron.step(drive, neuron, dt)
    w, stdp = stdp_step_linear(z_in[t], z_out, w, stdp, p_stdp, dt)   (or _conv2d)

Every function here is jit-compatible and vmappable over ``w``, keys and any
numeric parameter leaf (see :func:`jstdp.parameter_grid`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._network import Input, Network, NetworkState, Population, Projection
from jstdp._norse import STDPParameters, check_concrete, check_rank, check_types
from jstdp._pytree import pytree
from jstdp._run import ReplayState, Save, replay, run
from jstdp.connections.dense import Dense
from jstdp.neurons.encoders import PoissonInput
from jstdp.neurons.lif import LIFParameters
from jstdp.rules.norse import STDPState

PRE, POST, NAME = "in", "out", "in->out"


@pytree
class RunState:
    """Everything a closed loop carries besides the weights.

    Args:
        neuron: the neuron state (e.g. ``LIFFeedForwardState``).
        stdp: the STDP traces.
        step: int32 count of steps run so far (seeds ``PoissonInput``).
        spike_count: int32 count of output spikes per postsynaptic neuron
            (shaped like the output spikes), so the output rate in Hz is
            ``spike_count / (step * dt)``.
        pending: input spikes sent but not yet delivered: the last step's
            (``delay=1``), the ring of the last ``delay`` steps' (``delay >
            1``), or None (a fresh run, ``delay=0``).
    """

    neuron: Any
    stdp: STDPState
    step: jax.Array
    spike_count: jax.Array
    pending: jax.Array | None = None


@pytree
class Record:
    """Snapshots after every ``k``-th step, stacked along a leading axis ``R``.

    ``R = T // k``; entry ``r`` is the state after step ``(r + 1) * k``.

    Args:
        w: weights ``(R, *w.shape)``.
        stdp: traces, ``(R, batch, ...)`` each.
        z_pre: input spikes of the recorded step ``(R, batch, ...)``.
        z_post: output spikes of the recorded step ``(R, batch, ...)``.
        neuron: neuron state (closed loop), else None.
    """

    w: jax.Array
    stdp: STDPState
    z_pre: jax.Array
    z_post: jax.Array
    neuron: Any = None


def _options(record_every: object, chunk_steps: object, progress: object) -> dict:
    record_every = v.optional_integer("record_every", record_every)
    chunk_steps = v.optional_integer("chunk_steps", chunk_steps)
    save = None
    if record_every is not None:
        save = Save(record_every, _snapshot)  # equal Saves: the same compiled run
    return dict(
        save=save, chunk_steps=chunk_steps, progress=v.flag("progress", progress)
    )


def _snapshot(s: NetworkState | ReplayState) -> Record:
    if isinstance(s, ReplayState):
        return Record(w=s.w, stdp=s.rule, z_pre=s.z_pre, z_post=s.z_post)
    return Record(
        w=s.weights[NAME],
        stdp=s.rules[NAME],
        z_pre=s.spikes[PRE],
        z_post=s.spikes[POST],
        neuron=s.neurons[POST],
    )


def _weights(w: ArrayLike, layer: str) -> jax.Array:
    w = v.floating_array("w", w)
    if layer == "linear":
        check_rank("w", w, 2, "(n_post, n_pre)")
    else:
        check_rank("w", w, 4, "(C_out, C_in, kh, kw)")
    # Strongly typed, so jnp.full(..., 0.5) and a run's output share a cache entry.
    return jnp.asarray(w, w.dtype)


def _connection(layer: str, p_stdp: STDPParameters) -> Any:
    return Dense() if layer == "linear" else p_stdp.conv2d()


def _post_shape(
    layer: str, pre_shape: tuple[int, ...], w: jax.Array, conn: Any
) -> tuple:
    """Shape of the output spikes for input spikes of ``pre_shape``."""
    if layer == "linear":
        if len(pre_shape) != 2 or pre_shape[1] != w.shape[1]:
            raise ValueError(
                f"input spikes must have shape (batch, n_pre={w.shape[1]}) per "
                f"step for w of shape {w.shape}, got {pre_shape}"
            )
    elif len(pre_shape) != 4 or pre_shape[1] != w.shape[1]:
        raise ValueError(
            f"input spikes must have shape (batch, C_in={w.shape[1]}, H, W) per "
            f"step for w of shape {w.shape}, got {pre_shape}"
        )
    return (pre_shape[0], *conn.output_shape(pre_shape[1:], w.shape))


def _simulate(layer, z_pre_seq, z_post_seq, w, state_stdp, p_stdp, dt, options):
    p_stdp = STDPParameters() if p_stdp is None else p_stdp
    check_types(p_stdp)
    check_concrete(p_stdp, dt)
    options = _options(**options)
    w = _weights(w, layer)
    z_pre_seq = v.spikes("z_pre_seq", z_pre_seq)
    z_post_seq = v.spikes("z_post_seq", z_post_seq)
    rank = 3 if layer == "linear" else 5
    layout = "(T, batch, n)" if layer == "linear" else "(T, batch, C, H, W)"
    check_rank("z_pre_seq", z_pre_seq, rank, layout)
    check_rank("z_post_seq", z_post_seq, rank, layout)
    if z_post_seq.shape[0] != z_pre_seq.shape[0]:
        raise ValueError(
            f"z_pre_seq and z_post_seq must have the same length T, got "
            f"{z_pre_seq.shape[0]} and {z_post_seq.shape[0]}"
        )
    if state_stdp is not None:
        check_types(p_stdp, state_stdp, has_state=True)
    w, state_stdp, record = replay(
        p_stdp,
        z_pre_seq,
        z_post_seq,
        w,
        dt,
        connection=_connection(layer, p_stdp),
        state=state_stdp,
        **options,
    )
    return w, state_stdp, record


def simulate_linear(
    z_pre_seq: ArrayLike,
    z_post_seq: ArrayLike,
    w: ArrayLike,
    state_stdp: STDPState | None = None,
    p_stdp: STDPParameters | None = None,
    dt: ArrayLike = 0.001,
    *,
    record_every: int | None = None,
    progress: bool = False,
    chunk_steps: int | None = None,
) -> tuple[jax.Array, STDPState, Record | None]:
    """Replay spike trains through dense STDP (open loop), under ``lax.scan``.

    Equals ``T`` calls of :func:`jstdp.stdp_step_linear` (it is
    :func:`jstdp.replay` with the parameters as the rule)::

        for t in range(T):
            w, state_stdp = stdp_step_linear(z_pre_seq[t], z_post_seq[t], w,
                                             state_stdp, p_stdp, dt)

    Args:
        z_pre_seq: ``(T, batch, n_pre)`` presynaptic spikes (time-major).
        z_post_seq: ``(T, batch, n_post)`` postsynaptic spikes.
        w: ``(n_post, n_pre)`` weights, floating; sets the compute dtype.
        state_stdp: initial traces (default zeros).
        p_stdp: STDP parameters (default ``STDPParameters()``).
        dt: time step in seconds, > 0.
        record_every: keep a snapshot after every ``k``-th step (default none).
        progress: run in chunks with a tqdm progress bar.
        chunk_steps: run in chunks of this many steps (rounded up to a multiple
            of ``record_every``); default: one scan, or 100 chunks with
            ``progress``.

    Returns:
        ``(w, state_stdp, record)``; ``record`` is a :class:`Record` (with
        ``neuron=None``) or None.

    Raises:
        ValueError: wrong ranks or shapes, ``dt <= 0``, bad options.
        TypeError: wrong parameter or state types.
    """
    options = dict(
        record_every=record_every, chunk_steps=chunk_steps, progress=progress
    )
    return _simulate(
        "linear", z_pre_seq, z_post_seq, w, state_stdp, p_stdp, dt, options
    )


def simulate_conv2d(
    z_pre_seq: ArrayLike,
    z_post_seq: ArrayLike,
    w: ArrayLike,
    state_stdp: STDPState | None = None,
    p_stdp: STDPParameters | None = None,
    dt: ArrayLike = 0.001,
    *,
    record_every: int | None = None,
    progress: bool = False,
    chunk_steps: int | None = None,
) -> tuple[jax.Array, STDPState, Record | None]:
    """Replay spike trains through conv2d STDP (open loop), under ``lax.scan``.

    Equals ``T`` calls of :func:`jstdp.stdp_step_conv2d`; arguments as in
    :func:`simulate_linear`, with ``z_pre_seq`` ``(T, batch, C_in, H, W)``,
    ``z_post_seq`` ``(T, batch, C_out, H_out, W_out)`` and ``w``
    ``(C_out, C_in, kh, kw)``; the geometry comes from ``p_stdp``.
    """
    options = dict(
        record_every=record_every, chunk_steps=chunk_steps, progress=progress
    )
    return _simulate(
        "conv2d", z_pre_seq, z_post_seq, w, state_stdp, p_stdp, dt, options
    )


def _run(layer, inputs, w, p_stdp, p_neuron, dt, steps, key, state, delay, options):
    p_stdp = STDPParameters() if p_stdp is None else p_stdp
    p_neuron = LIFParameters() if p_neuron is None else p_neuron
    if not isinstance(p_stdp, STDPParameters):
        raise TypeError(
            f"p_stdp must be jstdp.STDPParameters, got {type(p_stdp).__name__}"
        )
    v.neuron("p_neuron", p_neuron)
    check_concrete(p_stdp, dt)
    v.check_finite(p_neuron, "p_neuron")  # a NaN parameter would never spike
    delay = v.integer("delay", delay, 0)
    options = _options(**options)
    w = _weights(w, layer)
    conn = _connection(layer, p_stdp)
    if isinstance(inputs, PoissonInput):
        if steps is None:
            raise ValueError("steps (an int >= 0) is required with PoissonInput")
        steps = v.integer("steps", steps, 0)
        if key is None:
            raise ValueError("key (a jax.random key) is required with PoissonInput")
        pre_shape = jnp.shape(inputs.rates_hz)
        inputs = PoissonInput(inputs.rates_hz, key)
    else:
        xs = v.spikes("inputs", inputs)
        steps = None if steps is None else v.integer("steps", steps, 0)
        if xs.ndim < 1 or (steps is not None and steps != xs.shape[0]):
            raise ValueError(
                f"inputs of shape {xs.shape} must be time-major (T, batch, ...)"
                + ("" if steps is None else f" with T = steps = {steps}")
            )
        if key is not None:
            raise ValueError("key is only used with PoissonInput inputs")
        pre_shape, inputs, steps = xs.shape[1:], xs, xs.shape[0]
    post_shape = _post_shape(layer, pre_shape, w, conn)
    network = Network(
        populations=(
            Input(PRE, pre_shape[1:]),
            Population(POST, p_neuron, post_shape[1:]),
        ),
        projections=(Projection(PRE, POST, conn, w, rule=p_stdp, delay=delay),),
    )
    if state is not None and not isinstance(state, RunState):
        raise TypeError(f"state must be jstdp.RunState, got {type(state).__name__}")
    net_state = _network_state(network, state, w, pre_shape[0])
    net_state, saved = run(
        network, inputs, steps=steps, dt=dt, state=net_state, **options
    )
    return net_state.weights[NAME], _run_state(network, net_state), saved


def _network_state(network: Network, state: RunState | None, w: jax.Array, batch: int):
    fresh = network.init(batch, w.dtype)
    fresh = fresh.replace(weights={NAME: w})
    if state is None:
        return fresh
    history, spikes = fresh.history, dict(fresh.spikes)
    if state.pending is not None and PRE in history:
        history = {PRE: jnp.asarray(state.pending, w.dtype)}
    elif state.pending is not None:
        spikes[PRE] = jnp.asarray(state.pending, w.dtype)
    return fresh.replace(
        step=jnp.asarray(state.step, jnp.int32),
        neurons={POST: state.neuron},
        spikes=spikes,
        history=history,
        rules={NAME: state.stdp},
        counts={
            PRE: fresh.counts[PRE],
            POST: jnp.asarray(state.spike_count, jnp.int32),
        },
    )


def _run_state(network: Network, s: NetworkState) -> RunState:
    delay = network.projections[0].delay
    pending = None if delay == 0 else s.history[PRE] if delay > 1 else s.spikes[PRE]
    return RunState(
        neuron=s.neurons[POST],
        stdp=s.rules[NAME],
        step=s.step,
        spike_count=s.counts[POST],
        pending=pending,
    )


def run_linear(
    inputs: ArrayLike | PoissonInput,
    w: ArrayLike,
    p_stdp: STDPParameters | None = None,
    p_neuron: Any = None,
    dt: ArrayLike = 0.001,
    *,
    steps: int | None = None,
    key: jax.Array | None = None,
    state: RunState | None = None,
    delay: int = 1,
    record_every: int | None = None,
    progress: bool = False,
    chunk_steps: int | None = None,
) -> tuple[jax.Array, RunState, Record | None]:
    """Closed-loop dense layer: input -> ``w`` -> neuron -> STDP, every step.

    The network ``Input -> Population`` with one Dense projection and Norse's
    rule (:func:`jstdp.run`). Each step, in this order (a plain-loop
    reference)::

        drive = z_in[t - delay] @ w.T                        # (batch, n_post)
        z_out, neuron = p_neuron.step(drive, neuron, dt)
        w, stdp = stdp_step_linear(z_in[t], z_out, w, stdp, p_stdp, dt)

    Args:
        inputs: input spikes ``(T, batch, n_pre)``, or a :class:`PoissonInput`
            with rates ``(batch, n_pre)`` (then ``steps`` and ``key`` are
            required).
        w: ``(n_post, n_pre)`` weights, floating; sets the compute dtype
            (parameters, ``dt`` and states are cast to it).
        p_stdp: STDP parameters (default ``STDPParameters()``).
        p_neuron: neuron parameters implementing ``initial_state`` and
            ``step`` (default ``LIFParameters()``).
        dt: time step in seconds, > 0.
        steps: number of steps (PoissonInput; else ``T``).
        key: ``jax.random`` key for PoissonInput.
        state: a :class:`RunState` to continue from (default: the neuron's
            ``initial_state`` and zero traces, step 0).
        delay: steps until an input spike acts on the neuron (default 1: the
            input that makes a neuron fire is paired with it at lag +1, as in
            NEST and Brian2; 0 is jstdp's first order, biased at coarse dt).
        record_every, progress, chunk_steps: as in :func:`simulate_linear`.

    Returns:
        ``(w, state, record)``: final weights, final :class:`RunState` (pass it
        back as ``state=`` to continue), and a :class:`Record` or None.

    Raises:
        ValueError: wrong shapes, missing ``steps``/``key``, ``dt <= 0``.
        TypeError: wrong parameter or state types.
    """
    options = dict(
        record_every=record_every, chunk_steps=chunk_steps, progress=progress
    )
    return _run(
        "linear", inputs, w, p_stdp, p_neuron, dt, steps, key, state, delay, options
    )


def run_conv2d(
    inputs: ArrayLike | PoissonInput,
    w: ArrayLike,
    p_stdp: STDPParameters | None = None,
    p_neuron: Any = None,
    dt: ArrayLike = 0.001,
    *,
    steps: int | None = None,
    key: jax.Array | None = None,
    state: RunState | None = None,
    delay: int = 1,
    record_every: int | None = None,
    progress: bool = False,
    chunk_steps: int | None = None,
) -> tuple[jax.Array, RunState, Record | None]:
    """Closed-loop conv2d layer: input -> ``conv(·, w)`` -> neuron -> STDP.

    As :func:`run_linear`, with NCHW inputs ``(T, batch, C_in, H, W)`` (or
    PoissonInput rates ``(batch, C_in, H, W)``), an OIHW kernel ``w`` and
    ``drive = conv(z_in[t - delay], w)`` with the stride, padding and
    dilation of ``p_stdp`` (precision HIGHEST); the STDP step is
    :func:`jstdp.stdp_step_conv2d`.
    """
    options = dict(
        record_every=record_every, chunk_steps=chunk_steps, progress=progress
    )
    return _run(
        "conv2d", inputs, w, p_stdp, p_neuron, dt, steps, key, state, delay, options
    )
