"""Whole runs under ``lax.scan``: replay spike trains, or close the loop.

Open loop (:func:`simulate_linear`, :func:`simulate_conv2d`) replays given
presynaptic and postsynaptic spike trains through STDP. Closed loop
(:func:`run_linear`, :func:`run_conv2d`) feeds input spikes through the
weights into a neuron and learns from its output spikes, every step::

    drive  = z_in @ w.T                  (conv2d: conv(z_in, w), precision HIGHEST)
    z_out, neuron = p_neuron.step(drive, neuron, dt)
    w, stdp = stdp_step_linear(z_in, z_out, w, stdp, p_stdp, dt)   (or _conv2d)

Without a record the carry is all that lives across steps, so memory does not
grow with ``T``; the carry buffers are donated, so ``w`` is updated in place
(your own ``w`` is copied first and never modified). ``record_every=k`` keeps
a snapshot after every ``k``-th step. Long runs can be split into chunks
(``chunk_steps``) with a tqdm progress bar (``progress=True``); chunked and
unchunked runs give the same numbers.

Every function here is jit-compatible and vmappable over ``w``, keys and any
numeric parameter leaf (see :mod:`jstdp._sweep` for parameter grids).

Differentiable plasticity: ``jax.grad`` of any scalar of the final weights
(or state) with respect to ``w``, numeric STDP parameters or numeric neuron
parameters goes through the whole scan. What flows: the traces, the weight
dependence, the hard bound (zero gradient for a clipped weight) and the drive
into the membrane are smooth. The spike threshold is a step: with the neuron's
``method="heaviside"`` its derivative is zero, so the gradient is the exact
derivative with every spike held fixed (what finite differences give as long
as no spike flips); with ``method="super"`` (the default, as Norse) the
SuperSpike surrogate ``1 / (|v - v_th| + 1)**2`` also carries gradient through
the spikes, the same numbers as torch autograd through Norse. Poisson input is
sampled by comparison, so no gradient reaches ``rates_hz``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from jstdp._checks import check_finite
from jstdp._conv import conv_output_shape, drive_conv2d, step_conv2d_jit
from jstdp._linear import drive_linear, step_linear_jit
from jstdp._neurons import LIFParameters, poisson_step
from jstdp._parameters import STDPParameters, STDPState
from jstdp._rules import FastPaths, all_half, check_concrete, check_rank, fast_paths

Layer = str  # "linear" | "conv2d"


@struct.dataclass
class PoissonInput:
    """Input spikes drawn inside the scan, one Bernoulli step per time step.

    Step ``t`` draws ``poisson_step(jax.random.fold_in(key, t), rates_hz, dt)``
    with ``t`` the global step count (``RunState.step``), so a long run needs
    no ``[T, ...]`` input array and a continued or chunked run draws the same
    spikes as one long run.

    Args:
        rates_hz: rates in Hz, ``(batch, n_pre)`` for a dense layer or
            ``(batch, C_in, H, W)`` for conv2d.
    """

    rates_hz: ArrayLike


@struct.dataclass
class RunState:
    """Everything a closed loop carries besides the weights.

    Args:
        neuron: the neuron state (e.g. ``LIFFeedForwardState``).
        stdp: the STDP traces.
        step: int32 count of steps run so far (seeds ``PoissonInput``).
        spike_count: int32 count of output spikes per postsynaptic neuron
            (shaped like the output spikes), so the output rate in Hz is
            ``spike_count / (step * dt)``.
    """

    neuron: Any
    stdp: STDPState
    step: jax.Array
    spike_count: jax.Array


@struct.dataclass
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


# The jitted cores of stdp_step_linear / _conv2d, which take the static
# FastPaths that the run functions choose from what they know of the
# parameters (never from values; mu = 0.5 is decided in _scan_body).
_STDP_STEPS = {"linear": step_linear_jit, "conv2d": step_conv2d_jit}


def _open_step(layer: Layer, paths: FastPaths, consts, carry, x):
    p_stdp, dt = consts
    w, state = carry
    z_pre, z_post = x
    w, state = _STDP_STEPS[layer](z_pre, z_post, w, state, p_stdp, dt, paths=paths)
    return (w, state), (z_pre, z_post)


def _closed_step(layer: Layer, paths: FastPaths, consts, carry, x):
    p_stdp, p_neuron, dt, source = consts
    w, state = carry
    if x is None:
        rates, key = source
        z_in = poisson_step(jax.random.fold_in(key, state.step), rates, dt)
    else:
        z_in = jnp.asarray(x).astype(w.dtype)
    match layer:
        case "linear":
            drive = drive_linear(z_in, w)
        case "conv2d":
            drive = drive_conv2d(z_in, w, p_stdp)
    z_out, neuron = p_neuron.step(drive, state.neuron, dt)
    w, stdp = _STDP_STEPS[layer](z_in, z_out, w, state.stdp, p_stdp, dt, paths=paths)
    count = state.spike_count + (z_out > 0).astype(jnp.int32)
    return (w, RunState(neuron, stdp, state.step + 1, count)), (z_in, z_out)


@dataclasses.dataclass(frozen=True)
class _Step:
    """One scan step: open or closed loop, dense or conv2d, with its static
    fast paths. Hashable by value: the static key of the jitted scan."""

    loop: str
    layer: Layer
    paths: FastPaths

    def __call__(self, consts, carry, x):
        fn = _open_step if self.loop == "open" else _closed_step
        return fn(self.layer, self.paths, consts, carry, x)


def _scan_body(step, consts, carry, xs, *, steps, record_every):
    """:func:`_scan_steps`, for ``multiplicative_pow`` in two branches.

    Whether ``mu`` is 0.5 (the ``sqrt`` path, see ``_rules.apply_update``) is
    decided once per call by a ``lax.cond`` on ``_rules.all_half`` around
    the whole loop, so each branch's step has a static choice and ``mu``
    stays a traced value: changing it does not recompile. Under ``vmap`` over
    ``mu`` one branch serves every set: sqrt if all are 0.5, else the
    general power.
    """
    run = functools.partial(_scan_steps, steps=steps, record_every=record_every)
    if consts[0].stdp_algorithm != "multiplicative_pow" or step.paths.half is not None:
        return run(step, consts, carry, xs)

    def branch(half: bool):
        paths = dataclasses.replace(step.paths, half=half)
        return functools.partial(run, dataclasses.replace(step, paths=paths))

    mu_is_half = all_half(consts[0].mu)
    return jax.lax.cond(mu_is_half, branch(True), branch(False), consts, carry, xs)


def _scan_steps(step, consts, carry, xs, *, steps, record_every):
    """``steps`` applications of ``step``; snapshots every ``record_every``."""
    body = functools.partial(step, consts)
    if record_every is None:
        carry, _ = jax.lax.scan(lambda c, x: (body(c, x)[0], None), carry, xs, steps)
        return carry, None

    k = record_every
    n, rem = divmod(steps, k)
    x_spec = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype), xs)
    out_spec = jax.eval_shape(body, carry, x_spec)[1]
    no_out = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), out_spec)

    def block(c, xb):
        # The inner carry keeps only the latest step's spikes: O(1) in k.
        (c, out), _ = jax.lax.scan(
            lambda co, x: (body(co[0], x), None), (c, no_out), xb, k
        )
        return c, (c, out)

    head = jax.tree.map(lambda x: x[: n * k].reshape(n, k, *x.shape[1:]), xs)
    carry, snaps = jax.lax.scan(block, carry, head, n)
    if rem:
        tail = jax.tree.map(lambda x: x[n * k :], xs)
        carry, _ = jax.lax.scan(lambda c, x: (body(c, x)[0], None), carry, tail, rem)
    return carry, snaps


_STATIC = ("step", "steps", "record_every")
_scan_donating = jax.jit(_scan_body, static_argnames=_STATIC, donate_argnames="carry")
_scan_traced = jax.jit(_scan_body, static_argnames=_STATIC)


def _scan(step, consts, carry, xs, *, steps, record_every):
    """:func:`_scan_body`, jitted; the carry is donated unless it is traced.

    Under an eager ``vmap`` the outputs are batched and cannot reuse the
    carry's buffers; donating them would only raise a warning.
    """
    leaves = jax.tree.leaves((consts, carry, xs))
    traced = any(isinstance(x, jax.core.Tracer) for x in leaves)
    scan = _scan_traced if traced else _scan_donating
    return scan(step, consts, carry, xs, steps=steps, record_every=record_every)


def _scan_chunked(step, consts, carry, xs, steps, record_every, chunk_steps, progress):
    """:func:`_scan` in chunks of ``chunk_steps`` (a multiple of ``record_every``)."""
    if chunk_steps is None and not progress:
        return _scan(step, consts, carry, xs, steps=steps, record_every=record_every)
    k = record_every or 1
    chunk = max(1, -(-steps // 100)) if chunk_steps is None else chunk_steps
    chunk = -(-chunk // k) * k
    tracing = any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(carry))
    bar = None
    if progress and not tracing:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, unit="step")
    snaps = []
    # At least one (possibly empty) chunk, so that steps=0 still gives a record.
    for start in range(0, max(steps, 1), chunk):
        n = min(chunk, steps - start)
        part = jax.tree.map(lambda x, s=start, n=n: x[s : s + n], xs)
        carry, snap = _scan(
            step, consts, carry, part, steps=n, record_every=record_every
        )
        snaps.append(snap)
        if bar is not None:
            jax.block_until_ready(carry)
            bar.update(n)
    if bar is not None:
        bar.close()
    if record_every is None:
        return carry, None
    return carry, jax.tree.map(lambda *s: jnp.concatenate(s), *snaps)


def _check_options(record_every: object, chunk_steps: object) -> None:
    for name, value in (("record_every", record_every), ("chunk_steps", chunk_steps)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{name} must be None or an int >= 1, got {value!r}")


def _weights(w: ArrayLike, layer: Layer) -> jax.Array:
    w = jnp.asarray(w)
    if not jnp.issubdtype(w.dtype, jnp.floating):
        raise TypeError(f"w must have a floating dtype, got {w.dtype}")
    if layer == "linear":
        check_rank("w", w, 2, "(n_post, n_pre)")
    else:
        check_rank("w", w, 4, "(C_out, C_in, kh, kw)")
    # Strongly typed, so jnp.full(..., 0.5) and a run's output share a cache entry.
    return jnp.asarray(w, w.dtype)


def _post_shape(
    layer: Layer, pre_shape: tuple[int, ...], w: jax.Array, p_stdp: STDPParameters
) -> tuple[int, ...]:
    """Shape of the output spikes for input spikes of ``pre_shape``."""
    if layer == "linear":
        if len(pre_shape) != 2 or pre_shape[1] != w.shape[1]:
            raise ValueError(
                f"input spikes must have shape (batch, n_pre={w.shape[1]}) per "
                f"step for w of shape {w.shape}, got {pre_shape}"
            )
        return (pre_shape[0], w.shape[0])
    if len(pre_shape) != 4 or pre_shape[1] != w.shape[1]:
        raise ValueError(
            f"input spikes must have shape (batch, C_in={w.shape[1]}, H, W) per "
            f"step for w of shape {w.shape}, got {pre_shape}"
        )
    out_hw = conv_output_shape(
        pre_shape[2:], w.shape[2:], p_stdp.stride, p_stdp.padding, p_stdp.dilation
    )
    return (pre_shape[0], w.shape[0], *out_hw)


def _cast_floats(tree: Any, dtype: jax.typing.DTypeLike) -> Any:
    """``tree`` with its floating leaves (and Python floats) cast to ``dtype``."""
    return jax.tree.map(
        lambda x: (
            jnp.asarray(x, dtype)
            if jnp.issubdtype(jnp.result_type(x), jnp.inexact)
            else x
        ),
        tree,
    )


def _copy(tree: Any) -> Any:
    """Fresh buffers, so donating the carry never deletes the caller's arrays."""
    return jax.tree.map(lambda x: jnp.array(x, copy=True), tree)


def _simulate(layer, z_pre_seq, z_post_seq, w, state_stdp, p_stdp, dt, options):
    p_stdp = STDPParameters() if p_stdp is None else p_stdp
    if not isinstance(p_stdp, STDPParameters):
        raise TypeError(
            f"p_stdp must be jstdp.STDPParameters, got {type(p_stdp).__name__}"
        )
    check_concrete(p_stdp, dt)
    _check_options(options["record_every"], options["chunk_steps"])
    w = _weights(w, layer)
    z_pre_seq, z_post_seq = jnp.asarray(z_pre_seq), jnp.asarray(z_post_seq)
    rank = 3 if layer == "linear" else 5
    layout = "(T, batch, n)" if layer == "linear" else "(T, batch, C, H, W)"
    check_rank("z_pre_seq", z_pre_seq, rank, layout)
    check_rank("z_post_seq", z_post_seq, rank, layout)
    steps = z_pre_seq.shape[0]
    if z_post_seq.shape[0] != steps:
        raise ValueError(
            f"z_pre_seq and z_post_seq must have the same length T, got "
            f"{steps} and {z_post_seq.shape[0]}"
        )
    if state_stdp is None:
        state_stdp = STDPState.zeros_like(z_pre_seq[0], z_post_seq[0], w.dtype)
    elif not isinstance(state_stdp, STDPState):
        raise TypeError(
            f"state_stdp must be jstdp.STDPState, got {type(state_stdp).__name__}"
        )
    consts = (p_stdp.astype(w.dtype), jnp.asarray(dt, w.dtype))
    (w, state_stdp), snaps = _scan_chunked(
        _Step("open", layer, fast_paths(p_stdp)),
        consts,
        _copy((w, state_stdp)),
        (z_pre_seq, z_post_seq),
        steps,
        **options,
    )
    record = None
    if snaps is not None:
        (w_r, s_r), (z_pre_r, z_post_r) = snaps
        record = Record(w=w_r, stdp=s_r, z_pre=z_pre_r, z_post=z_post_r)
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

    Equals ``T`` calls of :func:`jstdp.stdp_step_linear`::

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


def _run(layer, inputs, w, p_stdp, p_neuron, dt, steps, key, state, options):
    p_stdp = STDPParameters() if p_stdp is None else p_stdp
    p_neuron = LIFParameters() if p_neuron is None else p_neuron
    if not isinstance(p_stdp, STDPParameters):
        raise TypeError(
            f"p_stdp must be jstdp.STDPParameters, got {type(p_stdp).__name__}"
        )
    for method in ("initial_state", "step"):
        if not callable(getattr(p_neuron, method, None)):
            raise TypeError(
                f"p_neuron must have .initial_state(shape, dtype) and "
                f".step(drive, state, dt); {type(p_neuron).__name__} has no {method}"
            )
    check_concrete(p_stdp, dt)
    check_finite(p_neuron, "p_neuron")  # a NaN parameter would never spike
    _check_options(options["record_every"], options["chunk_steps"])
    w = _weights(w, layer)
    dtype = w.dtype
    if isinstance(inputs, PoissonInput):
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(
                f"steps must be an int >= 0 with PoissonInput, got {steps!r}"
            )
        if key is None:
            raise ValueError("key (a jax.random key) is required with PoissonInput")
        rates = jnp.asarray(check_finite(inputs.rates_hz, "inputs.rates_hz"), dtype)
        pre_shape, xs, source = rates.shape, None, (rates, key)
    else:
        xs = jnp.asarray(inputs)
        if xs.ndim < 1 or (steps is not None and steps != xs.shape[0]):
            raise ValueError(
                f"inputs of shape {xs.shape} must be time-major (T, batch, ...)"
                + ("" if steps is None else f" with T = steps = {steps}")
            )
        if key is not None:
            raise ValueError("key is only used with PoissonInput inputs")
        steps, pre_shape, source = xs.shape[0], xs.shape[1:], None
    post_shape = _post_shape(layer, pre_shape, w, p_stdp)
    if state is None:
        state = RunState(
            neuron=p_neuron.initial_state(post_shape, dtype),
            stdp=STDPState(jnp.zeros(pre_shape, dtype), jnp.zeros(post_shape, dtype)),
            step=jnp.zeros((), jnp.int32),
            spike_count=jnp.zeros(post_shape, jnp.int32),
        )
    elif not isinstance(state, RunState):
        raise TypeError(f"state must be jstdp.RunState, got {type(state).__name__}")
    consts = (
        p_stdp.astype(dtype),
        _cast_floats(p_neuron, dtype),
        jnp.asarray(dt, dtype),
        source,
    )
    (w, state), snaps = _scan_chunked(
        _Step("closed", layer, fast_paths(p_stdp)),
        consts,
        _copy((w, state)),
        xs,
        steps,
        **options,
    )
    record = None
    if snaps is not None:
        (w_r, s_r), (z_pre_r, z_post_r) = snaps
        record = Record(
            w=w_r, stdp=s_r.stdp, z_pre=z_pre_r, z_post=z_post_r, neuron=s_r.neuron
        )
    return w, state, record


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
    record_every: int | None = None,
    progress: bool = False,
    chunk_steps: int | None = None,
) -> tuple[jax.Array, RunState, Record | None]:
    """Closed-loop dense layer: input -> ``w`` -> neuron -> STDP, every step.

    Each step, in this order (a plain-loop reference)::

        drive = z_in @ w.T                                   # (batch, n_post)
        z_out, neuron = p_neuron.step(drive, neuron, dt)
        w, stdp = stdp_step_linear(z_in, z_out, w, stdp, p_stdp, dt)

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
    return _run("linear", inputs, w, p_stdp, p_neuron, dt, steps, key, state, options)


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
    record_every: int | None = None,
    progress: bool = False,
    chunk_steps: int | None = None,
) -> tuple[jax.Array, RunState, Record | None]:
    """Closed-loop conv2d layer: input -> ``conv(·, w)`` -> neuron -> STDP.

    As :func:`run_linear`, with NCHW inputs ``(T, batch, C_in, H, W)`` (or
    PoissonInput rates ``(batch, C_in, H, W)``), an OIHW kernel ``w`` and
    ``drive = lax.conv_general_dilated(z_in, w, ...)`` with the stride,
    padding and dilation of ``p_stdp`` (precision HIGHEST); the STDP step is
    :func:`jstdp.stdp_step_conv2d`.
    """
    options = dict(
        record_every=record_every, chunk_steps=chunk_steps, progress=progress
    )
    return _run("conv2d", inputs, w, p_stdp, p_neuron, dt, steps, key, state, options)
