"""Immutable pytree dataclasses whose checks run only when a user builds them.

``@pytree`` makes a frozen dataclass, registered with JAX, with ``.replace``
(like ``flax.struct.dataclass``). Fields marked ``static()`` are part of the
tree structure (changing them recompiles); the others are leaves (``vmap``,
``grad`` and ``jit`` treat them as data).

The difference from ``flax.struct``: JAX rebuilds instances (unflatten)
without calling ``__init__``, so ``__post_init__`` sees only what a user
passes (the constructor or ``replace``), never JAX's tracers-by-flattening or
placeholders (``vmap``'s ``in_axes`` trees, ``eval_shape`` structs). A class
may therefore check its values in ``__post_init__`` (see
:mod:`jstdp._validation`), which is where every jstdp object checks them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import jax

T = TypeVar("T")


def static(default: Any = dataclasses.MISSING) -> Any:
    """A static (structure, not leaf) field; the metadata is ``flax.struct``'s."""
    return dataclasses.field(default=default, metadata={"pytree_node": False})


def is_static(f: dataclasses.Field) -> bool:
    return not f.metadata.get("pytree_node", True)


def pytree(cls: type[T]) -> type[T]:
    """Frozen dataclass + JAX pytree, unflattened without ``__init__``."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    fields = dataclasses.fields(cls)
    data = tuple(f.name for f in fields if not is_static(f))
    meta = tuple(f.name for f in fields if is_static(f))
    keys = tuple(jax.tree_util.GetAttrKey(n) for n in data)

    def flatten_with_keys(x):
        children = tuple(zip(keys, (getattr(x, n) for n in data), strict=True))
        return children, tuple(getattr(x, n) for n in meta)

    def flatten(x):
        return tuple(getattr(x, n) for n in data), tuple(getattr(x, n) for n in meta)

    def unflatten(meta_values, leaves):
        obj = object.__new__(cls)
        for name, value in zip(meta, meta_values, strict=True):
            object.__setattr__(obj, name, value)
        for name, value in zip(data, leaves, strict=True):
            object.__setattr__(obj, name, value)
        return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)

    def replace(self: T, **changes: Any) -> T:
        """A copy with ``changes`` (checked like the constructor)."""
        return dataclasses.replace(self, **changes)

    cls.replace = replace
    return cls


def numeric_fields(obj: Any) -> tuple[str, ...]:
    """Names of the leaf (numeric) fields of a pytree dataclass instance."""
    return tuple(f.name for f in dataclasses.fields(obj) if not is_static(f))


def evolve(obj: T, **changes: Any) -> T:
    """A copy of a pytree dataclass with ``changes``, without its checks.

    For values computed inside traced code (an adaptive threshold added to
    ``v_th``), which the constructor has nothing to check on.
    """
    new = object.__new__(type(obj))
    for f in dataclasses.fields(obj):
        object.__setattr__(new, f.name, changes.get(f.name, getattr(obj, f.name)))
    return new
