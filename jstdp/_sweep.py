"""Parameter sweeps: stacked parameter grids, ``jax.vmap``, sharding over devices.

A sweep is one compiled call: :func:`parameter_grid` stacks the swept numeric
fields of a parameter pytree into leaves of length ``K``, and :func:`run_sweep`
maps a function over that leading axis with ``jax.vmap``, split across all
devices with ``jax.sharding`` when there is more than one::

    grid, rows = jstdp.parameter_grid(
        jstdp.STDPParameters(), eta_plus=[1e-3, 2e-3], eta_minus=[1e-3, 2e-3]
    )                                                       # K = 4
    w, state, _ = jstdp.run_sweep(
        lambda p: jstdp.run_linear(jstdp.PoissonInput(rates), w0, p,
                                   steps=10_000, key=key),
        grid,
    )                                                       # w: (4, *w0.shape)

Multi-host: every process runs the same script with the same grid (SPMD)::

    jax.distributed.initialize()   # coordinator, process count and id from the
                                   # cluster environment (SLURM, TPU pods, ...)
                                   # or as arguments
    grid, rows = jstdp.parameter_grid(...)
    out = jstdp.run_sweep(fn, grid)    # sharded over jax.devices(): the
                                       # devices of all hosts
    np.asarray(out)                    # every process holds all K entries

The grid and the arguments must be the same values on every process (the
same script and seeds; each process hands its own devices their entries, see
:func:`jstdp._sharding.put`). When the devices span several processes the
result is gathered
inside the compiled call: a fully replicated array, so every process reads
all ``K`` entries without ``multihost_utils.process_allgather``. CPU
processes talk over gloo (jaxlib's default CPU collectives,
``jax_cpu_collectives_implementation``); see the README's "Multi-host".
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jstdp._pytree import numeric_fields
from jstdp._sharding import put, spans_processes
from jstdp._validation import ensure

SWEEP_AXIS = "sweep"


def _numeric_fields(base: Any) -> list[str]:
    """Names of the pytree-leaf (numeric) fields of a ``flax.struct`` dataclass."""
    if not dataclasses.is_dataclass(base) or isinstance(base, type):
        raise TypeError(
            f"base must be a flax.struct parameter dataclass instance, got "
            f"{type(base).__name__}"
        )
    return list(numeric_fields(base))


def parameter_grid(
    base: Any,
    mode: Literal["product", "zip"] = "product",
    **field_values: Sequence[Any],
) -> tuple[Any, list[dict[str, Any]]]:
    """Stack a grid of parameter values into one parameter pytree of length ``K``.

    Args:
        base: a parameter dataclass (``STDPParameters``, ``LIFParameters``,
            ``ConductanceLIFParameters`` or any ``flax.struct`` dataclass);
            the fields not swept keep its values.
        mode: ``"product"``: every combination (the last field varies
            fastest), ``K = prod(len(values))``; ``"zip"``: the ``i``-th values
            together, all lists of the same length ``K``.
        **field_values: numeric field name -> list of values (scalars or
            arrays of one shape).

    Returns:
        ``(stacked, rows)``: ``stacked`` is ``base`` with every numeric leaf
        an array with a leading axis of length ``K`` (swept fields take their
        values, the others are broadcast), ready for ``jax.vmap`` or
        :func:`run_sweep`; ``rows[k]`` is the dict of swept values of entry
        ``k``.

    Raises:
        ValueError: unknown or static field, empty list, unknown mode,
            ``zip`` lists of different lengths.
    """
    numeric = _numeric_fields(base)
    if not field_values:
        raise ValueError("give at least one field to sweep, e.g. eta_plus=[...]")
    for name, values in field_values.items():
        if name not in numeric:
            static = [f.name for f in dataclasses.fields(base) if f.name not in numeric]
            if name in static:
                raise ValueError(
                    f"{name} is a static field of {type(base).__name__} (changing "
                    "it recompiles): loop over it in Python instead"
                )
            raise ValueError(
                f"{type(base).__name__} has no numeric field {name!r}; "
                f"numeric fields: {', '.join(numeric)}"
            )
        _check_values(name, values)
    names = list(field_values)
    match mode:
        case "product":
            combos = list(itertools.product(*field_values.values()))
        case "zip":
            lengths = {n: len(v) for n, v in field_values.items()}
            if len(set(lengths.values())) != 1:
                raise ValueError(
                    f"mode='zip' needs lists of equal length, got {lengths}"
                )
            combos = list(zip(*field_values.values(), strict=True))
        case _:
            raise ValueError(f"mode must be 'product' or 'zip', got {mode!r}")
    rows = [dict(zip(names, combo, strict=True)) for combo in combos]
    k = len(rows)
    leaves = {}
    for name in numeric:
        if name in field_values:
            leaves[name] = jnp.stack([jnp.asarray(row[name]) for row in rows])
        else:  # a number, an array or a nested pytree (a wrapped neuron)
            leaves[name] = jax.tree.map(
                lambda x: jnp.broadcast_to(jnp.asarray(x), (k, *jnp.shape(x))),
                getattr(base, name),
            )
    return base.replace(**leaves), rows


def _check_values(name: str, values: object) -> None:
    """A non-empty list of real numbers, or of real arrays of one shape."""
    if isinstance(values, (str, bytes)) or not isinstance(
        values, (Sequence, np.ndarray)
    ):
        raise TypeError(
            f"{name} must be a list of values (e.g. {name}=[0.1, 0.2]), got {values!r}"
        )
    if len(values) == 0:
        raise ValueError(f"{name} must be a non-empty list of values, got {values!r}")
    shapes = set()
    for k, value in enumerate(values):
        try:
            a = np.asarray(value)
        except (TypeError, ValueError):  # ragged nested lists
            a = np.asarray(None)
        ok = a.dtype != bool and (
            np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)
        )
        if not ok:
            raise TypeError(
                f"{name}[{k}] must be a real number or array, got {value!r}"
            )
        shapes.add(a.shape)
    if len(shapes) > 1:
        raise ValueError(
            f"{name} must hold values of one shape, got shapes {sorted(shapes)}"
        )


def _sweep_size(stacked: Any) -> int:
    sizes = {jnp.shape(x)[0] if jnp.ndim(x) else None for x in jax.tree.leaves(stacked)}
    if not sizes or None in sizes or len(sizes) != 1:
        raise ValueError(
            "stacked must be a pytree whose leaves all share a leading sweep "
            f"axis, got leading sizes {sizes or 'none (no leaves)'}"
        )
    return sizes.pop()


def run_sweep(
    fn: Callable[..., Any],
    stacked: Any,
    *args: Any,
    devices: Sequence[jax.Device] | None = None,
    **kwargs: Any,
) -> Any:
    """``jax.vmap(fn)`` over the leading axis of ``stacked``, sharded over devices.

    Computes ``[fn(stacked[k], *args, **kwargs) for k in range(K)]`` in one
    compiled call, stacked along a leading axis of length ``K``. With more than
    one device the sweep axis is split over a 1-D ``Mesh`` of ``devices``
    (``NamedSharding``); when ``K`` is not a multiple of the device count, the
    last entry is repeated to fill the devices and the padding is dropped from
    the result.

    Args:
        fn: ``fn(entry, *args, **kwargs) -> pytree``; ``entry`` is one slice of
            ``stacked``.
        stacked: a pytree whose leaves share a leading axis ``K`` (e.g.
            :func:`parameter_grid`'s output, or a tuple of such grids and a
            batch of ``jax.random`` keys of the same length).
        *args, **kwargs: passed unchanged to every call. Array leaves are
            jit arguments (replicated on every device); everything else
            (``steps``, ``record_every``, Python floats, static fields) is
            fixed at trace time.
        devices: devices to shard over (default ``jax.devices()``: all local
            devices, or all devices of all hosts after
            ``jax.distributed.initialize()``; see the module docstring for
            multi-host use).

    Returns:
        ``fn``'s output pytree with a leading axis of length ``K``: sharded
        over the devices, or, when they span several processes, replicated
        on every device (each process can read it all).
    """
    k = _sweep_size(stacked)
    devices = jax.devices() if devices is None else devices
    ensure(
        "devices",
        isinstance(devices, Sequence)
        and len(devices) > 0
        and all(isinstance(d, jax.Device) for d in devices),
        devices,
        "None or a non-empty sequence of jax.Device (e.g. jax.devices())",
    )
    devices = tuple(devices)
    leaves, treedef = jax.tree.flatten((args, kwargs))
    is_array = tuple(isinstance(x, (jax.Array, np.ndarray)) for x in leaves)
    arrays = [x for x, a in zip(leaves, is_array, strict=True) if a]
    statics = tuple(None if a else x for x, a in zip(leaves, is_array, strict=True))
    try:
        compiled = _mapped_jit(fn, treedef, statics, is_array, devices)
    except TypeError:  # an unhashable static argument: build without the cache
        compiled = _mapped_jit.__wrapped__(fn, treedef, statics, is_array, devices)

    if len(devices) == 1:
        with jax.default_device(devices[0]):
            return compiled(stacked, arrays)
    pad = -k % len(devices)
    if pad:
        stacked = jax.tree.map(
            lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]), stacked
        )
    sharded, replicated = _shardings(devices)
    out = compiled(
        jax.tree.map(lambda x: put(x, sharded), stacked),
        jax.tree.map(lambda x: put(x, replicated), arrays),
    )
    return jax.tree.map(lambda x: x[:k], out) if pad else out


def _shardings(devices: tuple[jax.Device, ...]) -> tuple[NamedSharding, NamedSharding]:
    """The sweep axis split over a 1-D mesh of ``devices``, and full replication."""
    mesh = Mesh(np.array(devices), (SWEEP_AXIS,))
    return NamedSharding(mesh, PartitionSpec(SWEEP_AXIS)), NamedSharding(
        mesh, PartitionSpec()
    )


@functools.lru_cache(maxsize=32)
def _mapped_jit(fn, treedef, statics, is_array, devices):
    """``jit(vmap(fn))`` with the static arguments baked in, cached.

    Repeated sweeps with the same ``fn`` and static arguments (e.g. a long run
    advanced chunk by chunk) reuse one compiled function.
    """

    def mapped(stacked, arrays):
        it = iter(arrays)
        a, kw = jax.tree.unflatten(
            treedef,
            [next(it) if a else x for x, a in zip(statics, is_array, strict=True)],
        )
        return jax.vmap(lambda entry: fn(entry, *a, **kw))(stacked)

    if len(devices) == 1:
        return jax.jit(mapped)
    sharded, replicated = _shardings(devices)
    # Over several processes each holds a part of a sharded result: gather it
    # in the same program, so that every process gets all K entries.
    return jax.jit(
        mapped, out_shardings=replicated if spans_processes(devices) else sharded
    )
