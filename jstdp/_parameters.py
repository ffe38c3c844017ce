"""STDP parameters and trace state as immutable pytrees.

Numeric fields are leaves (vmap, grad and jit treat them as data); the rule,
the bound switch and the conv geometry are static (changing them recompiles).
Defaults are Python floats, so importing jstdp creates no device array and
the values follow the dtype of the weights.
"""

from __future__ import annotations

import numbers
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

Algorithm = Literal[
    "additive", "additive_step", "multiplicative_pow", "multiplicative_relu"
]
ALGORITHMS: tuple[str, ...] = (
    "additive",
    "additive_step",
    "multiplicative_pow",
    "multiplicative_relu",
)
NUMERIC_FIELDS: tuple[str, ...] = (
    "a_pre",
    "a_post",
    "tau_pre_inv",
    "tau_post_inv",
    "w_min",
    "w_max",
    "eta_plus",
    "eta_minus",
    "mu",
)


def _pair(name: str, value: object, minimum: int) -> tuple[int, int]:
    """Normalise Norse's int-or-pair conv geometry to a hashable `(h, w)` tuple."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        pair = tuple(value)
    else:
        pair = (value, value)
    for v in pair:
        # NumPy integers are accepted (as torch accepts them); bools are not.
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
            raise ValueError(
                f"{name} must be an int >= {minimum} or a pair of such ints, "
                f"got {value!r}"
            )
    return int(pair[0]), int(pair[1])


@struct.dataclass
class STDPParameters:
    """Parameters of Norse's STDP rule (same names, order and defaults).

    Args:
        a_pre, a_post: trace increment scale per spike (traces jump by
            ``dt * tau_inv * a`` per spike: Norse's Euler scaling).
        tau_pre_inv, tau_post_inv: inverse trace time constants, 1/s.
        w_min, w_max: weight bounds.
        eta_plus, eta_minus: learning rates of potentiation and depression.
        stdp_algorithm: static; one of ``additive``, ``additive_step``,
            ``multiplicative_pow``, ``multiplicative_relu``.
        mu: exponent of ``multiplicative_pow``. Norse overwrites it with 0 for
            the additive rules and 1 for ``multiplicative_relu``; jstdp keeps
            the value you give and those rules ignore it (the same numbers).
        hardbound: static; clip the weights to ``[w_min, w_max]`` after each step.
        convolutional: static; kept for Norse parity (informational).
        stride, padding, dilation: static conv geometry, int or ``(h, w)``.

    Numeric fields may be arrays: a stacked field plus ``jax.vmap`` is a
    parameter sweep (see ``jstdp.sweep``). Values are cast to the weights'
    dtype inside the step functions.
    """

    a_pre: ArrayLike = 1.0
    a_post: ArrayLike = 1.0
    tau_pre_inv: ArrayLike = 1.0 / 50e-3
    tau_post_inv: ArrayLike = 1.0 / 50e-3
    w_min: ArrayLike = 0.0
    w_max: ArrayLike = 1.0
    eta_plus: ArrayLike = 1e-3
    eta_minus: ArrayLike = 1e-3
    stdp_algorithm: Algorithm = struct.field(pytree_node=False, default="additive")
    mu: ArrayLike = 0.0
    hardbound: bool = struct.field(pytree_node=False, default=True)
    convolutional: bool = struct.field(pytree_node=False, default=False)
    stride: int | tuple[int, int] = struct.field(pytree_node=False, default=1)
    padding: int | tuple[int, int] = struct.field(pytree_node=False, default=0)
    dilation: int | tuple[int, int] = struct.field(pytree_node=False, default=1)

    def __post_init__(self) -> None:
        # Runs on every unflatten with tracers or placeholders in the leaves:
        # touch static fields only.
        if self.stdp_algorithm not in ALGORITHMS:
            raise ValueError(
                f"stdp_algorithm must be one of {', '.join(ALGORITHMS)}; "
                f"got {self.stdp_algorithm!r}"
            )
        for name in ("hardbound", "convolutional"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        object.__setattr__(self, "stride", _pair("stride", self.stride, 1))
        object.__setattr__(self, "padding", _pair("padding", self.padding, 0))
        object.__setattr__(self, "dilation", _pair("dilation", self.dilation, 1))

    def astype(self, dtype: jax.typing.DTypeLike) -> STDPParameters:
        """Return a copy whose numeric leaves are arrays of ``dtype``.

        Used at the top of every step and run, so NumPy float64 parameters
        cannot promote float32 weights (the ``lax.scan`` carry-dtype trap).
        """
        return self.replace(
            **{f: jnp.asarray(getattr(self, f), dtype) for f in NUMERIC_FIELDS}
        )


@struct.dataclass
class STDPState:
    """Presynaptic and postsynaptic spike traces.

    Args:
        t_pre: presynaptic trace, same shape as ``z_pre``.
        t_post: postsynaptic trace, same shape as ``z_post``.
    """

    t_pre: jax.Array
    t_post: jax.Array

    @classmethod
    def zeros_like(
        cls,
        z_pre: ArrayLike,
        z_post: ArrayLike,
        dtype: jax.typing.DTypeLike | None = None,
    ) -> STDPState:
        """Zero traces shaped like the spikes, in ``dtype`` (default float32)."""
        dtype = jnp.float32 if dtype is None else dtype
        return cls(
            jnp.zeros(np.shape(z_pre), dtype), jnp.zeros(np.shape(z_post), dtype)
        )

    def decay(
        self,
        z_pre: ArrayLike,
        z_post: ArrayLike,
        tau_pre_inv: ArrayLike,
        tau_post_inv: ArrayLike,
        a_pre: ArrayLike,
        a_post: ArrayLike,
        dt: ArrayLike = 0.001,
    ) -> STDPState:
        """Return the traces after one explicit Euler step (Norse's ``decay``).

        ``t <- t + dt * tau_inv * (-t + a * z)``. Unlike Norse, ``self`` is
        not modified: a new state is returned.

        Raises:
            ValueError: a spike array does not broadcast with its trace.
        """
        for name, z, t in (
            ("z_pre", z_pre, self.t_pre),
            ("z_post", z_post, self.t_post),
        ):
            try:
                np.broadcast_shapes(np.shape(z), np.shape(t))
            except ValueError:
                raise ValueError(
                    f"{name} of shape {np.shape(z)} does not match its trace of "
                    f"shape {np.shape(t)}"
                ) from None
        return STDPState(
            self.t_pre + dt * tau_pre_inv * (-self.t_pre + a_pre * z_pre),
            self.t_post + dt * tau_post_inv * (-self.t_post + a_post * z_post),
        )
