"""Whole runs under one jitted ``lax.scan``: :func:`run` (a network, closed
loop) and :func:`replay` (a rule on given spike trains, open loop).

Without a :class:`Save` the carry is all that lives across steps, so memory
does not grow with the number of steps; the carry's buffers are donated, so
the weights are updated in place (your arrays are copied first and never
modified). ``Save(every=k, fn=...)`` keeps ``fn(state)`` after every
``k``-th step. ``progress=True`` or ``chunk_steps=`` split a run into chunks
behind a tqdm bar, with the same numbers as one scan; the returned state
continues a run.

Differentiable plasticity: ``jax.grad`` of any scalar of the final state with
respect to weights or numeric rule and neuron parameters goes through the
whole scan. The spike threshold is a step: with a neuron's
``method="heaviside"`` its derivative is zero (the exact derivative with every
spike held fixed); with ``method="super"`` (the default, as Norse) the
SuperSpike surrogate carries gradient through the spikes. Poisson input is
sampled by comparison, so no gradient reaches the rates.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._network import Network, NetworkState
from jstdp._pytree import evolve, pytree, static
from jstdp._sharding import Sharding, as_sharding, constrain, place
from jstdp.connections.dense import Dense
from jstdp.neurons.encoders import (
    PoissonInput,
    poisson_block,
    poisson_step,
    poisson_threshold,
)

INT32_MAX = 2**31 - 1
# Poisson inputs are drawn for up to DRAW_STEPS steps at once, at most about
# DRAW_BYTES of random words per block (poisson_block): the same spikes as one
# draw per step, without a rolled threefry loop in every step.
DRAW_STEPS = 128
# A rule's block body (``update_block``) for the steps of a run, except a rest
# of fewer steps than this, which run one at a time.
BLOCK_MIN = 8
DRAW_BYTES = 1 << 20


@pytree
class Save:
    """What a run keeps: ``fn(state)`` after every ``every``-th step.

    The snapshots are stacked along a leading axis ``R = steps // every``;
    entry ``r`` is taken after step ``(r + 1) * every``.

    Args:
        every: an int ``>= 1``.
        fn: ``fn(state) -> pytree`` (default: the whole state). Keep one
            ``Save`` object for repeated runs: a new function recompiles.

    Example::

        save = jstdp.Save(every=350, fn=lambda s: s.counts["exc"])
    """

    every: int = static(1)
    fn: Callable[[Any], Any] | None = static(None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "every", v.integer("Save.every", self.every, 1))
        if self.fn is not None and not callable(self.fn):
            raise TypeError(f"Save.fn must be a function of the state, got {self.fn!r}")

    def take(self, state: Any) -> Any:
        return state if self.fn is None else self.fn(state)


@pytree
class ReplayState:
    """What :func:`replay` carries: weights, the rule's state, the last spikes.

    Args:
        w: the weights.
        rule: the rule's state.
        z_pre, z_post: the spikes of the last step.
    """

    w: jax.Array
    rule: Any
    z_pre: jax.Array
    z_post: jax.Array


# --- the scan ----------------------------------------------------------------


def _steps(body, carry, xs, steps, save, draw=None):
    """``steps`` applications of ``body``; ``save.fn`` every ``save.every``.

    With ``draw = (fn, block)``, ``fn(carry, n)`` gives the inputs of the
    next ``n`` steps (leading axis ``n``), drawn ``block`` steps at a time
    from the carry at the start of each block, and ``body`` gets ``(x,
    drawn)``: one vectorised draw serves many steps.
    """
    if save is None:
        return _run_steps(body, carry, xs, steps, draw), None
    k = save.every
    n, rem = divmod(steps, k)

    def block(c, xb):
        c = _run_steps(body, c, xb, k, draw)
        return c, save.take(c)

    head = jax.tree.map(lambda x: x[: n * k].reshape(n, k, *x.shape[1:]), xs)
    carry, snaps = jax.lax.scan(block, carry, head, n)
    if rem:
        tail = jax.tree.map(lambda x: x[n * k :], xs)
        carry = _run_steps(body, carry, tail, rem, draw)
    return carry, snaps


def _run_steps(body, carry, xs, steps, draw):
    body, blocks = body if isinstance(body, tuple) else (body, None)
    plain = lambda c, x: (body(c, x), None)  # noqa: E731
    if blocks is not None:
        return _in_blocks(plain, blocks, carry, xs, steps)
    if draw is None:
        return jax.lax.scan(plain, carry, xs, steps)[0]
    if steps == 0:
        return carry
    fn, size = draw
    size = min(size, steps)
    n, rem = divmod(steps, size)

    def outer(c, xb):
        return jax.lax.scan(plain, c, (xb, fn(c, size)), size)[0], None

    head = jax.tree.map(lambda x: x[: n * size].reshape(n, size, *x.shape[1:]), xs)
    carry = jax.lax.scan(outer, carry, head, n)[0]
    if rem:
        tail = jax.tree.map(lambda x: x[n * size :], xs)
        carry = jax.lax.scan(plain, carry, (tail, fn(carry, rem)), rem)[0]
    return carry


def _in_blocks(plain, blocks, carry, xs, steps):
    """``steps`` steps, ``size`` at a time through ``fn(carry, xb)`` (``xb``
    with leading axis ``size``: the block body a rule may offer); a rest of
    fewer than ``BLOCK_MIN`` steps one at a time."""
    fn, size = blocks
    size = min(size, steps)
    if size < BLOCK_MIN:
        return jax.lax.scan(plain, carry, xs, steps)[0]
    n, rem = divmod(steps, size)
    head = jax.tree.map(lambda x: x[: n * size].reshape(n, size, *x.shape[1:]), xs)
    carry = jax.lax.scan(lambda c, xb: (fn(c, xb), None), carry, head, n)[0]
    tail = jax.tree.map(lambda x: x[n * size :], xs)
    if rem >= BLOCK_MIN:
        return fn(carry, tail)
    return jax.lax.scan(plain, carry, tail, rem)[0]


def _with_branches(make_body, parts, carry, xs, steps, save, draw=None):
    """:func:`_steps`, inside one ``lax.cond`` when a rule has ``branches()``.

    A rule with a choice known only at run time (``NorseSTDP`` with
    ``multiplicative_pow``: is ``mu`` 0.5?) offers a predicate and two
    variants; the whole loop runs in the variant the predicate picks, so
    the choice is made once per call and a new value never recompiles.
    ``parts`` is the tuple of rules (``None`` where absent) that
    ``make_body(parts)`` builds the step from.
    """
    for k, rule in enumerate(parts):
        branches = (
            getattr(rule, "branches", lambda: None)() if rule is not None else None
        )
        if branches is None:
            continue
        pred, rule_true, rule_false = branches

        def run(chosen, carry, xs, k=k):
            new_parts = parts[:k] + (chosen,) + parts[k + 1 :]
            return _with_branches(make_body, new_parts, carry, xs, steps, save, draw)

        return jax.lax.cond(
            pred,
            functools.partial(run, rule_true),
            functools.partial(run, rule_false),
            carry,
            xs,
        )
    return _steps(make_body(parts), carry, xs, steps, save, draw)


def _network_scan(
    network, dt, sources, carry, xs, *, steps, save, learning, constraint=None
):
    rules = tuple(q.rule for q in network.projections)
    dtype = carry.dtype
    thresholds = {
        name: poisson_threshold(key, rates, dt, dtype)
        for name, (rates, key) in sources.items()
    }
    blocked = {name: th for name, th in thresholds.items() if th is not None}

    def draw(state, n):
        return {
            name: poisson_block(sources[name][1], state.step, n, th)
            for name, th in blocked.items()
        }

    size = DRAW_BYTES // max(1, 4 * sum(th.size for th in blocked.values()))
    drawing = (draw, max(1, min(DRAW_STEPS, size))) if blocked else None

    def make_body(rules):
        projections = tuple(
            evolve(q, rule=r) if r is not q.rule else q
            for q, r in zip(network.projections, rules, strict=True)
        )
        net = Network.unchecked(network.populations, projections)

        def body(state, x):
            x, drawn = x if drawing else (x, {})
            inputs = {} if x is None else dict(x)
            for name, (rates, key) in sources.items():
                inputs[name] = (
                    drawn[name]
                    if name in drawn
                    else poisson_step(jax.random.fold_in(key, state.step), rates, dt)
                )
            return constrain(net.step(state, inputs, dt, learning), constraint)

        return body

    return _with_branches(make_body, rules, carry, xs, steps, save, drawing)


def _replay_scan(rule_transform, dt, carry, xs, *, steps, save, connection):
    rule, transform = rule_transform

    def make_body(rules):
        (rule,) = rules

        def body(state, x):
            z_pre, z_post, signals = x
            w, rs = rule.update(
                z_pre, z_post, state.w, state.rule, dt, connection, **signals
            )
            w = w if transform is None else transform(w, connection)
            return ReplayState(w, rs, z_pre, z_post)

        offer = getattr(rule, "block_steps", None)
        size = 0
        if transform is None and callable(offer) and not xs[2]:
            size = offer(connection, xs[0].shape[1], carry.w)
        if not size:
            return body

        def block(state, x):  # size steps at once, as size calls of body
            z_pre, z_post, _ = x
            w, rs = rule.update_block(z_pre, z_post, state.w, state.rule, dt)
            return ReplayState(w, rs, z_pre[-1], z_post[-1])

        return body, (block, size)

    return _with_branches(make_body, (rule,), carry, xs, steps, save)


def _jitted(fn, *static):
    """``fn`` jitted twice: donating the carry, and not (for traced calls)."""
    names = ("steps", "save", *static)
    return (
        jax.jit(fn, static_argnames=names, donate_argnames="carry"),
        jax.jit(fn, static_argnames=names),
    )


_SCANS = {
    "network": _jitted(_network_scan, "learning", "constraint"),
    "replay": _jitted(_replay_scan, "connection"),
}


def _scan(kind, args, carry, xs, steps, save, chunk_steps, progress, **static):
    """The jitted scan of ``kind``, in chunks of ``chunk_steps`` (a multiple of
    ``save.every``) when asked, behind a progress bar.

    Under an eager ``vmap`` or a user's ``jit`` the inputs are traced: then
    nothing is donated (the outputs could not reuse the buffers).
    """
    leaves = jax.tree.leaves((args, carry, xs))
    traced = any(isinstance(x, jax.core.Tracer) for x in leaves)
    donating, plain = _SCANS[kind]
    scan = plain if traced else donating
    if not traced:
        carry = jax.tree.map(lambda x: jnp.array(x, copy=True), carry)
    if chunk_steps is None and not progress:
        return scan(*args, carry, xs, steps=steps, save=save, **static)
    k = 1 if save is None else save.every
    chunk = max(1, -(-steps // 100)) if chunk_steps is None else chunk_steps
    chunk = -(-chunk // k) * k
    bar = None
    if progress and not traced:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, unit="step")
    snaps = []
    # At least one (possibly empty) chunk, so that steps=0 still gives a record.
    for start in range(0, max(steps, 1), chunk):
        n = min(chunk, steps - start)
        part = jax.tree.map(lambda x, s=start, n=n: x[s : s + n], xs)
        carry, snap = scan(*args, carry, part, steps=n, save=save, **static)
        snaps.append(snap)
        if bar is not None:
            jax.block_until_ready(carry)
            bar.update(n)
    if bar is not None:
        bar.close()
    if save is None:
        return carry, None
    return carry, jax.tree.map(lambda *s: jnp.concatenate(s), *snaps)


def _check_options(save, progress, chunk_steps) -> None:
    if save is not None:
        v.instance("save", save, Save)
    v.flag("progress", progress)
    v.optional_integer("chunk_steps", chunk_steps)


def _check_steps(steps: int, start: Any, name: str = "steps") -> None:
    """The step counter is int32: refuse runs that would wrap it."""
    first = v.concrete(start)
    first = 0 if first is None else int(first)
    if first + steps > INT32_MAX:
        raise ValueError(
            f"{name} = {steps} would take the step count from {first} past "
            f"2**31 - 1 = {INT32_MAX} (int32): split the work into runs that "
            "start from a fresh state"
        )


# --- run: a network ------------------------------------------------------------


def _inputs(network: Network, inputs: Any) -> dict[str, Any]:
    names = [p.name for p in network.inputs]
    if inputs is None:
        inputs = {}
    elif not isinstance(inputs, dict):
        if len(names) != 1:
            raise TypeError(
                f"inputs must be a dict from input names ({', '.join(names)}) to "
                f"spike arrays or PoissonInput, got {type(inputs).__name__}"
            )
        inputs = {names[0]: inputs}
    missing, unknown = set(names) - set(inputs), set(inputs) - set(names)
    if missing or unknown:
        raise ValueError(
            f"inputs must give every Input population ({', '.join(names) or 'none'}); "
            f"missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    return inputs


def run(
    network: Network,
    inputs: Any = None,
    *,
    steps: int | None = None,
    dt: ArrayLike = 1e-3,
    key: jax.Array | None = None,
    state: NetworkState | None = None,
    batch: int | None = None,
    dtype: jax.typing.DTypeLike = jnp.float32,
    save: Save | None = None,
    learning: bool = True,
    progress: bool = False,
    chunk_steps: int | None = None,
    sharding: Sharding | str | None = None,
) -> tuple[NetworkState, Any]:
    """Simulate a network for ``steps`` steps under one jitted ``lax.scan``.

    Each step is :meth:`Network.step`: spikes in, conductances (through each
    projection's delay), membrane, threshold and reset, STDP, traces.

    Args:
        network: the :class:`Network`.
        inputs: for each :class:`Input` population, time-major spikes
            ``(T, batch, *shape)`` (bool, int or float) or a
            :class:`PoissonInput` with rates ``(batch, *shape)``; a dict from
            input names, or the value alone when there is one input.
        steps: number of steps (default ``T`` of the spike arrays; required
            when every input is Poisson or there is none).
        dt: time step, s (a scalar > 0).
        key: ``jax.random`` key for Poisson inputs without their own key
            (the ``i``-th population draws from ``fold_in(key, i)``).
        state: a :class:`NetworkState` to continue from (default
            ``network.init(batch, dtype)``); its dtype is the compute dtype.
        batch: samples per step (default: from the inputs, else 1).
        dtype: floating dtype of a fresh state.
        save: a :class:`Save`, what to keep every ``k`` steps (default none:
            memory does not grow with ``steps``).
        learning: static; False freezes weights, rule states and adaptation.
        progress: a tqdm progress bar (runs in chunks, same numbers).
        chunk_steps: run in chunks of this many steps.
        sharding: spread the network over devices: ``"model"`` (split the
            neurons, with the weights into them), ``"data"`` (split the
            batch) or a :class:`jstdp.Sharding` (mesh, axes, populations);
            see :mod:`jstdp._sharding`. Default: one device. Continue a
            sharded run with the same ``sharding``.

    Returns:
        ``(state, saved)``: the final :class:`NetworkState` (pass it back as
        ``state=`` to continue; ``state.weights[name]``, ``state.counts``) and
        the stacked snapshots, or None. A sharded run's arrays stay on the
        mesh; :func:`jstdp.gather` brings them to NumPy on every process.

    Raises:
        ValueError / TypeError: inputs that do not fit the network, bad
            options (naming the argument), Poisson rates with more than one
            spike per step, a run that would overflow the step count.
    """
    v.instance("network", network, Network)
    dt = v.time_step(dt)
    learning = v.flag("learning", learning)
    _check_options(save, progress, chunk_steps)
    sharding = None if sharding is None else as_sharding(sharding)
    single = not isinstance(inputs, dict)
    inputs = _inputs(network, inputs)
    arrays, poisson, batches, lengths = {}, {}, set(), set()
    for k, p in enumerate(network.populations):
        if p.name not in inputs:
            continue
        value = inputs[p.name]
        label = "inputs" if single else f"inputs[{p.name!r}]"
        if isinstance(value, PoissonInput):
            rates = jnp.asarray(value.rates_hz)
            _check_shape(
                f"{label}.rates_hz",
                rates.shape[1:],
                p.shape,
                "(batch, *shape)",
                rates.shape,
            )
            _check_rate(label, value.rates_hz, dt)
            k_key = value.key if value.key is not None else _input_key(key, k, label)
            poisson[p.name] = (rates, k_key)
            batches.add(rates.shape[0])
        else:
            z = v.spikes(label, value)
            if z.ndim < 2:
                raise ValueError(
                    f"{label} must be time-major spikes (T, batch, *{p.shape}), got "
                    f"shape {z.shape}"
                )
            _check_shape(label, z.shape[2:], p.shape, "(T, batch, *shape)", z.shape)
            arrays[p.name] = z
            lengths.add(z.shape[0])
            batches.add(z.shape[1])
    if len(lengths) > 1:
        raise ValueError(
            f"input spike arrays must share T, got lengths {sorted(lengths)}"
        )
    if steps is None:
        if not lengths:
            raise ValueError("steps is required when no input is a spike array")
        steps = lengths.pop()
    steps = v.integer("steps", steps, 0)
    if lengths and steps != next(iter(lengths)):
        raise ValueError(
            f"steps = {steps} disagrees with the inputs' T = {lengths.pop()}"
        )
    if state is None:
        if batch is not None:
            batches.add(v.integer("batch", batch, 0))
        if len(batches) > 1:
            raise ValueError(f"inputs disagree on the batch size: {sorted(batches)}")
        state = network.init(batches.pop() if batches else 1, dtype)
    else:
        v.instance("state", state, NetworkState)
        _check_state(network, state)
        if batches - {state.batch}:
            raise ValueError(
                f"inputs have batch {sorted(batches)} but state has batch {state.batch}"
            )
    _check_steps(steps, state.step)
    dtype = state.dtype
    net = _prepared(network, dtype, state.weights)
    sources = {n: (r.astype(dtype), k) for n, (r, k) in poisson.items()}
    xs = arrays or None
    args, constraint = (net, jnp.asarray(dt, dtype), sources), None
    if sharding is not None:
        args, state, xs, constraint = place(args, state, xs, sharding)
    return _scan(
        "network",
        args,
        state,
        xs,
        steps,
        save,
        chunk_steps,
        progress,
        learning=learning,
        constraint=constraint,
    )


def _prepare(rule: Any, w: jax.Array | None) -> Any:
    """``rule.prepare(w)`` (or ``rule.prepare()``), where a rule has it."""
    prepare = getattr(rule, "prepare", None)
    if not callable(prepare):
        return rule
    if "w" in inspect.signature(prepare).parameters:
        return prepare(w=w)
    return prepare()


def _prepared(
    network: Network, dtype: jnp.dtype, weights: dict[str, jax.Array] | None = None
) -> Network:
    """The network a run steps: parameters in ``dtype``, rules prepared (with
    the initial ``weights``, where given, for the rules' fast paths)."""
    net = network.cast(dtype)

    def rule(q):
        # A transform may move weights off the rule's bounds between steps:
        # then the rule is not told them (no FastPaths.events).
        w = None if weights is None or q.transform is not None else weights[q.name]
        return _prepare(q.rule, w)

    return Network.unchecked(
        net.populations,
        tuple(
            evolve(q, rule=rule(q)) if q.rule is not None else q
            for q in net.projections
        ),
    )


def _input_key(key: Any, k: int, label: str) -> jax.Array:
    if key is None:
        raise ValueError(
            f"key (a jax.random key) is required for the PoissonInput {label}"
        )
    v.prng_key("key", key)
    return jax.random.fold_in(key, k)


def _check_shape(label, got, want, layout, full) -> None:
    if tuple(got) != tuple(want):
        raise ValueError(
            f"{label} must have shape {layout} with shape = {want}, got {tuple(full)}"
        )


def _check_rate(label: str, rates: Any, dt: Any) -> None:
    r, d = v.concrete(rates), v.concrete(dt)
    if r is not None and d is not None and np.any(r * d > 1):
        raise ValueError(
            f"{label}.rates_hz * dt must be <= 1 (at most one spike per step), got "
            f"a rate of {np.max(r):g} Hz at dt = {float(d):g} s: use a smaller dt"
        )


def _check_state(network: Network, state: NetworkState) -> None:
    fresh = jax.eval_shape(lambda: network.init(state.batch, state.dtype))
    if jax.tree.structure(fresh) != jax.tree.structure(state):
        raise ValueError(
            "state does not belong to this network (another structure); continue "
            "with the state a run of this network returned"
        )
    for (path, a), b in zip(
        jax.tree_util.tree_flatten_with_path(fresh)[0],
        jax.tree.leaves(state),
        strict=True,
    ):
        if a.shape != jnp.shape(b):
            raise ValueError(
                f"state{jax.tree_util.keystr(path)} must have shape {a.shape}, got "
                f"{jnp.shape(b)}"
            )


# --- replay: a rule on given spike trains --------------------------------------


def replay(
    rule: Any,
    z_pre: ArrayLike,
    z_post: ArrayLike,
    w: ArrayLike,
    dt: ArrayLike = 1e-3,
    *,
    connection: Any = None,
    state: Any = None,
    transform: Any = None,
    signals: dict[str, ArrayLike] | None = None,
    save: Save | None = None,
    progress: bool = False,
    chunk_steps: int | None = None,
) -> tuple[jax.Array, Any, Any]:
    """Drive a rule with given spike trains (open loop), under ``lax.scan``.

    Equals ``T`` calls of ``rule.update``::

        for t in range(T):
            w, state = rule.update(z_pre[t], z_post[t], w, state, dt, connection)
            w = transform(w, connection)        # if given

    This is the tool for comparing a rule with another simulator (NEST,
    Brian2, Norse): give the spike trains as the synapse sees them.

    Args:
        rule: a plasticity rule (:mod:`jstdp.rules`).
        z_pre: ``(T, batch, *pre_shape)`` presynaptic spikes (time-major).
        z_post: ``(T, batch, *post_shape)`` postsynaptic spikes.
        w: initial weights, floating; sets the compute dtype.
        dt: time step, s.
        connection: the geometry (default :class:`jstdp.connections.Dense`).
        state: the rule's initial state (default ``rule.init(...)``).
        transform: applied after every update (e.g. ``Clip``).
        signals: the rule's extra inputs, ``{keyword: (T, ...) array}``.
        save: a :class:`Save`; its ``fn`` gets a :class:`ReplayState`.
        progress, chunk_steps: as in :func:`run`.

    Returns:
        ``(w, state, saved)``: final weights, final rule state, snapshots or
        None.
    """
    if not callable(getattr(rule, "update", None)):
        raise TypeError(
            f"rule must be a jstdp rule (init/update), got {type(rule).__name__}"
        )
    connection = Dense() if connection is None else connection
    dt = v.time_step(dt)
    _check_options(save, progress, chunk_steps)
    w = v.floating_array("w", w)
    w = jnp.asarray(w, w.dtype)
    dtype = w.dtype
    if callable(getattr(rule, "check_weights", None)):
        rule.check_weights(w)  # e.g. NEST's rules on the signs of w and Wmax
    z_pre, z_post = v.spikes("z_pre", z_pre), v.spikes("z_post", z_post)
    for name, z in (("z_pre", z_pre), ("z_post", z_post)):
        if z.ndim < 2:
            raise ValueError(
                f"{name} must be time-major (T, batch, ...), got shape {z.shape}"
            )
    steps = z_pre.shape[0]
    if z_post.shape[0] != steps or z_post.shape[1] != z_pre.shape[1]:
        raise ValueError(
            f"z_pre and z_post must share T and batch, got shapes {z_pre.shape} and "
            f"{z_post.shape}"
        )
    out = connection.output_shape(z_pre.shape[2:], w.shape)
    if tuple(out) != z_post.shape[2:]:
        raise ValueError(
            f"z_post must have shape (T, batch, *{tuple(out)}) for this connection, "
            f"got {z_post.shape}"
        )
    signals = {} if signals is None else {k: jnp.asarray(s) for k, s in signals.items()}
    for k, s in signals.items():
        if s.ndim < 1 or s.shape[0] != steps:
            raise ValueError(
                f"signals[{k!r}] must be time-major with T = {steps}, got {s.shape}"
            )
    if state is None:
        state = rule.init(z_pre.shape[1:], z_post.shape[1:], w.shape, dtype)
    rule = _prepare(v.cast_parameters(rule, dtype), w if transform is None else None)
    transform = v.cast_parameters(transform, dtype)
    carry = ReplayState(
        w,
        v.cast_floats(state, dtype),
        jnp.zeros(z_pre.shape[1:], dtype),
        jnp.zeros(z_post.shape[1:], dtype),
    )
    xs = (z_pre.astype(dtype), z_post.astype(dtype), v.cast_floats(signals, dtype))
    args = ((rule, transform), jnp.asarray(dt, dtype))
    carry, saved = _scan(
        "replay",
        args,
        carry,
        xs,
        steps,
        save,
        chunk_steps,
        progress,
        connection=connection,
    )
    return carry.w, carry.rule, saved
