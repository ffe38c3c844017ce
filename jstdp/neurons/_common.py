"""What the neurons share: the spike threshold and its surrogate gradient,
receptor inputs, and the checks of a neuron step's arguments."""

from __future__ import annotations

from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jstdp import _validation as v

Method = Literal["super", "heaviside"]
METHODS: tuple[str, ...] = ("super", "heaviside")


@jax.custom_jvp
def superspike(x: jax.Array) -> jax.Array:
    r"""Heaviside ``H(x) = x > 0`` forward, SuperSpike surrogate derivative backward.

    .. math::
        \frac{\partial z}{\partial x} = \frac{1}{(|x| + 1)^2}

    exactly Norse 1.1.0's ``SuperSpike.backward`` (Zenke & Ganguli 2018,
    section 3.3.2). Norse passes ``alpha`` to it but does not use it, so this
    function takes none.
    """
    return (x > 0).astype(x.dtype)


@superspike.defjvp
def _superspike_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return superspike(x), dx / (jnp.abs(x) + 1.0) ** 2


def threshold(x: jax.Array, method: str) -> jax.Array:
    """Spike where ``x > 0``; ``method`` picks the derivative.

    ``"super"``: SuperSpike surrogate (:func:`superspike`), Norse's default.
    ``"heaviside"``: the true derivative, zero almost everywhere, so no
    gradient flows through a spike.
    """
    match method:
        case "super":
            return superspike(x)
        case "heaviside":
            return (x > 0).astype(x.dtype)
    raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")


def receptor_inputs(
    drive: ArrayLike | dict[str, ArrayLike], receptors: tuple[str, ...], name: str
) -> list[ArrayLike | None]:
    """The drive of each receptor, in ``receptors`` order (None: no input).

    A neuron's drive is an array (everything to the first receptor, ``exc``)
    or a dict from receptor names to arrays (what a network with excitatory
    and inhibitory projections passes).
    """
    if not isinstance(drive, dict):
        return [drive] + [None] * (len(receptors) - 1)
    unknown = sorted(set(drive) - set(receptors))
    if unknown:
        raise ValueError(
            f"{name} has receptors {', '.join(receptors)}; got drive for {unknown}"
        )
    return [drive.get(r) for r in receptors]


def prepare_step(
    state: object,
    state_type: type,
    name: str,
    drives: list[ArrayLike | None],
    p: object,
    dt: ArrayLike,
) -> tuple[jnp.dtype, Any, jax.Array, list[jax.Array | None]]:
    """Check a neuron step's inputs; return the state's dtype, ``p``, ``dt``
    and the drives in it.

    Raises:
        TypeError: ``state`` is not a ``state_type``, or ``state.v`` is not
            floating.
        ValueError: a drive (called ``name``) does not broadcast to the
            state, or a concrete ``dt`` is not positive and finite.
    """
    if not isinstance(state, state_type):
        raise TypeError(
            f"state must be jstdp.{state_type.__name__}, got {type(state).__name__}"
        )
    dtype = jnp.result_type(state.v)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"state.v must have a floating dtype, got {dtype}")
    shape = np.shape(state.v)
    for drive in drives:
        if drive is None:
            continue
        try:
            ok = np.broadcast_shapes(np.shape(drive), shape) == shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"{name} of shape {np.shape(drive)} must broadcast to the neuron "
                f"state's shape {shape}"
            )
    v.time_step(dt)
    for path, leaf in jax.tree_util.tree_flatten_with_path(p)[0]:
        if jnp.issubdtype(jnp.result_type(leaf), jnp.complexfloating):
            raise TypeError(
                f"{type(p).__name__}{jax.tree_util.keystr(path)} must be real, "
                f"got {jnp.result_type(leaf)}"
            )
    for d in drives:
        if d is not None and jnp.issubdtype(jnp.result_type(d), jnp.complexfloating):
            raise TypeError(f"{name} must be real, got {jnp.result_type(d)}")
    cast = [None if d is None else jnp.asarray(d).astype(dtype) for d in drives]
    return dtype, v.cast_parameters(p, dtype), jnp.asarray(dt, dtype), cast
