"""Weight transforms: what happens to the weights after a rule's update.

A transform is a small immutable object called as ``transform(w,
connection) -> w``; like ``optax.chain``, :class:`Chain` composes them. A
projection applies its transform after every rule update (see
:class:`jstdp.Projection`); called directly, a transform is a plain
function of the weights (Diehl & Cook normalise before each presentation)::

    w = jstdp.rules.Normalize(78.0)(w, jstdp.connections.Dense())
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import pytree, static


@pytree
class Clip:
    """Hard bounds: ``clip(w, w_min, w_max)``.

    Args:
        w_min, w_max: bounds, scalars or arrays broadcasting to ``w``.
    """

    w_min: ArrayLike = 0.0
    w_max: ArrayLike = 1.0

    checks: ClassVar = (v.less("w_min", "w_max"),)

    def __post_init__(self) -> None:
        v.check_fields(self)

    def __call__(self, w: jax.Array, connection: Any = None) -> jax.Array:
        return jnp.clip(w, self.w_min, self.w_max)


@pytree
class Normalize:
    r"""Scale each postsynaptic neuron's incoming weights to sum to ``total``.

    .. math:: w_{ij} \leftarrow w_{ij}\, \frac{total}{\sum_{j'} w_{ij'}}

    summed over the connection's ``incoming_axes`` (a row of a dense ``w``,
    a whole kernel of a conv2d output channel). A neuron whose weights sum to
    0 keeps them (there is nothing to scale).

    Args:
        total: the target sum (Diehl & Cook: 78 for 784 inputs), a scalar or
            one value per postsynaptic neuron.
    """

    total: ArrayLike = 1.0

    def __post_init__(self) -> None:
        v.check_fields(self)

    def __call__(self, w: jax.Array, connection: Any) -> jax.Array:
        axes = getattr(connection, "incoming_axes", None)
        if not axes:
            raise ValueError(
                f"Normalize needs a connection whose neurons have several inputs "
                f"(Dense, Conv2d, AllToAllButSelf), got {type(connection).__name__}"
            )
        total = jnp.asarray(self.total, w.dtype)
        total = total.reshape(total.shape + (1,) * len(axes)) if total.ndim else total
        s = jnp.sum(w, axis=axes, keepdims=True)
        return jnp.where(s != 0, w * (total / jnp.where(s != 0, s, 1)), w)


@pytree
class Function:
    """A function of the weights as a transform: ``fn(w)`` (static, not traced).

    Args:
        fn: ``fn(w) -> w``, pure and jittable, e.g. ``lambda w: w * mask``.
    """

    fn: Callable[[jax.Array], jax.Array] = static(None)

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"fn must be a function of the weights, got {self.fn!r}")

    def __call__(self, w: jax.Array, connection: Any = None) -> jax.Array:
        return self.fn(w)


@pytree
class Chain:
    """Apply transforms one after the other (``optax.chain``'s idea).

    Args:
        transforms: transforms, applied in order.
    """

    transforms: tuple = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "transforms", tuple(self.transforms))
        for k, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(
                    f"transforms[{k}] must be a transform (Clip, Normalize, "
                    f"Function, ...), got {type(t).__name__}"
                )

    def __call__(self, w: jax.Array, connection: Any = None) -> jax.Array:
        for t in self.transforms:
            w = t(w, connection)
        return w


def chain(*transforms: Any) -> Chain:
    """``Chain(transforms)``: e.g. ``chain(Clip(0, 1), Normalize(78.0))``."""
    return Chain(transforms)
