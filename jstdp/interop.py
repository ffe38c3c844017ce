"""Optional bridge to PyTorch and Norse: array conversion, Norse objects, parity.

torch and norse are imported inside the functions that need them, so
``import jstdp.interop`` is cheap and ``import jstdp`` never imports torch.

Conversions copy: a tensor made by :func:`to_torch` and the array it came from
share no memory (Norse and torch users may modify tensors in place; JAX
arrays must not change).

Example::

    p_norse = to_norse(jstdp.STDPParameters(stdp_algorithm="multiplicative_pow"))
    diff = compare_with_norse(z_pre, z_post, w)    # z_* time-major [T, batch, ...]
    assert max(diff) < 1e-5
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jstdp._norse import STDPParameters, stdp_step_conv2d, stdp_step_linear
from jstdp.rules.norse import NUMERIC_FIELDS, STDPState

if TYPE_CHECKING:
    import torch

__all__ = [
    "NorseDifference",
    "compare_with_norse",
    "from_norse",
    "from_torch",
    "to_norse",
    "to_torch",
]


def _array_to_torch(x: ArrayLike, dtype: torch.dtype | None) -> torch.Tensor:
    import torch

    # A writable host copy; non-JAX inputs are read as JAX would read them.
    a = np.array(x if isinstance(x, jax.Array) else jnp.asarray(x))
    if a.dtype == jnp.bfloat16:  # NumPy has no bfloat16: hand torch the bits.
        t = torch.from_numpy(a.view(np.uint16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(a)
    return t if dtype is None else t.to(dtype)


def _tensor_to_jax(t: torch.Tensor, dtype: jax.typing.DTypeLike | None) -> jax.Array:
    import torch

    t = t.detach().cpu().resolve_conj().resolve_neg()
    if t.dtype == torch.bfloat16:  # NumPy has no bfloat16: reinterpret the bits.
        a = t.contiguous().view(torch.uint16).numpy().view(jnp.bfloat16)
    else:
        a = t.numpy()
    return jnp.array(a, dtype)  # jnp.array copies: no memory shared with torch.


def to_torch(tree: Any, dtype: torch.dtype | None = None) -> Any:
    """Copy JAX arrays (or every array leaf of a pytree) into torch tensors.

    Args:
        tree: a JAX array, array-like or pytree of them (e.g. an
            :class:`~jstdp.STDPParameters` or :class:`~jstdp.STDPState`);
            Python numbers are read as JAX reads them (float32 unless
            ``jax_enable_x64``).
        dtype: optional torch dtype for every leaf; default keeps each dtype
            (bfloat16 included).

    Returns:
        The same structure with CPU ``torch.Tensor`` leaves that share no
        memory with the input. A parameter pytree stays a ``jstdp``
        pytree (with tensor leaves); use :func:`to_norse` for Norse objects.

    Raises:
        TypeError: ``dtype`` is not a ``torch.dtype`` (e.g. the string
            ``"float32"``).
    """
    import torch

    if dtype is not None and not isinstance(dtype, torch.dtype):
        raise TypeError(
            f"dtype must be a torch.dtype (e.g. torch.float32), got {dtype!r}"
        )
    return jax.tree.map(lambda x: _array_to_torch(x, dtype), tree)


def from_torch(tree: Any, dtype: jax.typing.DTypeLike | None = None) -> Any:
    """Copy torch tensors (or every tensor leaf of a pytree) into JAX arrays.

    Args:
        tree: a ``torch.Tensor`` or pytree with tensor leaves; other leaves
            are returned unchanged. Gradients are detached.
        dtype: optional JAX dtype for every converted leaf. Without
            ``jax_enable_x64``, float64 tensors become float32 (JAX's rule).

    Returns:
        The same structure with ``jax.Array`` leaves (no memory shared).
    """
    import torch

    return jax.tree.map(
        lambda x: _tensor_to_jax(x, dtype) if isinstance(x, torch.Tensor) else x,
        tree,
    )


def to_norse(obj: STDPParameters | STDPState, dtype: torch.dtype | None = None):
    """Build the Norse 1.1.0 object equivalent to a jstdp parameter or state pytree.

    Args:
        obj: :class:`~jstdp.STDPParameters` or :class:`~jstdp.STDPState`.
        dtype: torch dtype of every numeric field; default keeps each leaf's
            JAX dtype. Norse's own defaults are float32 0-d tensors, so for a
            float64 comparison pass ``torch.float64``.

    Returns:
        ``norse.torch.functional.stdp.STDPParameters`` (numeric fields as
        tensors, ``mu`` kept for ``multiplicative_pow``; Norse itself sets 0 for
        the additive rules and 1 for ``multiplicative_relu``) or
        ``norse.torch.functional.stdp.STDPState``.

    Raises:
        TypeError: ``obj`` is neither.
    """
    from norse.torch.functional import stdp

    if isinstance(obj, STDPState):
        return stdp.STDPState(to_torch(obj.t_pre, dtype), to_torch(obj.t_post, dtype))
    if not isinstance(obj, STDPParameters):
        raise TypeError(
            f"to_norse expects jstdp.STDPParameters or jstdp.STDPState, "
            f"got {type(obj).__name__}"
        )
    numeric = {f: to_torch(getattr(obj, f), dtype) for f in NUMERIC_FIELDS}
    mu = numeric.pop("mu")
    p = stdp.STDPParameters(
        **numeric,
        stdp_algorithm=obj.stdp_algorithm,
        # Norse wraps mu in torch.tensor(), which warns for a tensor and makes
        # float32; set the tensor after construction (A_plus reads self.mu).
        mu=0.0,
        hardbound=obj.hardbound,
        convolutional=obj.convolutional,
        stride=obj.stride,
        padding=obj.padding,
        dilation=obj.dilation,
    )
    if obj.stdp_algorithm == "multiplicative_pow":
        p.mu = mu
    return p


def _same_value(a: Any, b: Any) -> bool:
    import torch

    a64 = torch.as_tensor(a).detach().cpu().double()
    b64 = torch.as_tensor(b).detach().cpu().double()
    return a64.shape == b64.shape and bool(torch.equal(a64, b64))


def _norse_clamp_bounds(p: Any) -> tuple[Any, Any] | None:
    """The bounds Norse's ``bounding_func`` really uses, or None without clamp.

    Norse's clamp closes over the constructor's ``w_min``/``w_max`` while its
    weight dependence reads the attributes; they differ if an attribute was
    reassigned after construction.
    """
    bounds = inspect.getclosurevars(p.bounding_func).nonlocals
    if "w_min" not in bounds:
        return None
    return bounds["w_min"], bounds["w_max"]


def from_norse(obj: Any) -> STDPParameters | STDPState:
    """Convert a Norse 1.1.0 ``STDPParameters`` or ``STDPState`` to jstdp.

    Tensor fields become JAX arrays (see :func:`from_torch`); Python numbers
    stay Python numbers. The conv geometry is read when Norse stored it
    (``convolutional=True``), else jstdp's defaults apply.

    Raises:
        TypeError: ``obj`` is not a Norse STDP parameter or state object.
        ValueError: the Norse parameters are internally inconsistent, so no
            jstdp parameters reproduce them: ``hardbound``, ``w_min`` or
            ``w_max`` was reassigned after construction, while Norse's clamp
            still uses the constructor's values.
    """
    from norse.torch.functional import stdp

    if isinstance(obj, stdp.STDPState):
        return STDPState(from_torch(obj.t_pre), from_torch(obj.t_post))
    if not isinstance(obj, stdp.STDPParameters):
        raise TypeError(
            "from_norse expects norse.torch.functional.stdp.STDPParameters or "
            f"STDPState, got {type(obj).__name__}"
        )
    clamp = _norse_clamp_bounds(obj)
    if (clamp is not None) != obj.hardbound:
        raise ValueError(
            f"Norse parameters have hardbound={obj.hardbound!r} but their "
            f"bounding_func {'clamps' if clamp else 'does not clamp'} (hardbound "
            "was reassigned after construction); rebuild the Norse object"
        )
    if clamp is not None and not (
        _same_value(clamp[0], obj.w_min) and _same_value(clamp[1], obj.w_max)
    ):
        raise ValueError(
            f"Norse parameters clamp to [{clamp[0]}, {clamp[1]}] but have "
            f"w_min={obj.w_min}, w_max={obj.w_max} (reassigned after "
            "construction); rebuild the Norse object"
        )
    return STDPParameters(
        **{f: from_torch(getattr(obj, f)) for f in NUMERIC_FIELDS},
        stdp_algorithm=obj.stdp_algorithm,
        hardbound=obj.hardbound,
        convolutional=obj.convolutional,
        stride=getattr(obj, "stride", 1),
        padding=getattr(obj, "padding", 0),
        dilation=getattr(obj, "dilation", 1),
    )


class NorseDifference(NamedTuple):
    """Largest absolute differences between jstdp and Norse over a whole run.

    NaN against NaN counts as equal; NaN against a number counts as ``inf``.
    ``max(diff)`` is the largest of the three.
    """

    w: float
    t_pre: float
    t_post: float


def _max_abs_difference(a: ArrayLike, b: ArrayLike) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf; handled on the next line
        d = np.abs(a - b)
    d = np.where((a == b) | (np.isnan(a) & np.isnan(b)), 0.0, d)
    return float(np.nan_to_num(d, nan=np.inf).max(initial=0.0))


def compare_with_norse(
    z_pre: ArrayLike,
    z_post: ArrayLike,
    w: ArrayLike,
    state_stdp: STDPState | None = None,
    p_stdp: STDPParameters | None = None,
    dt: float = 0.001,
) -> NorseDifference:
    """Run jstdp and Norse 1.1.0 side by side on the same spikes; compare every step.

    The layer follows the rank of ``w``: 2 is ``stdp_step_linear``, 4 is
    ``stdp_step_conv2d`` (Norse reads the conv geometry only with
    ``convolutional=True``, which is set here). Both run in ``w.dtype``; Norse
    gets its parameters as tensors of that dtype (:func:`to_norse`) and fresh
    trace tensors each step, since it updates its state object in place.

    Args:
        z_pre: presynaptic spikes, time-major ``(T, batch, ...)``.
        z_post: postsynaptic spikes ``(T, batch, ...)``.
        w: initial weights ``(n_post, n_pre)`` or ``(C_out, C_in, kh, kw)``.
        state_stdp: initial traces (default zeros in ``w.dtype``).
        p_stdp: parameters (default ``STDPParameters()``).
        dt: time step in seconds.

    Returns:
        :class:`NorseDifference` with the largest absolute difference of the
        weights and of each trace over all ``T`` steps.

    Raises:
        ValueError: ``w`` is not of rank 2 or 4, or the spikes are not
            time-major with one more axis than a single step takes, or the
            two spike trains differ in length.
    """
    import torch
    from norse.torch.functional import stdp

    w = jnp.asarray(w)
    if w.ndim not in (2, 4):
        raise ValueError(
            f"w must have rank 2 (n_post, n_pre) or 4 (C_out, C_in, kh, kw), "
            f"got shape {w.shape}"
        )
    conv = w.ndim == 4
    z_pre, z_post = jnp.asarray(z_pre), jnp.asarray(z_post)
    for name, z in (("z_pre", z_pre), ("z_post", z_post)):
        if z.ndim != w.ndim + 1:
            raise ValueError(
                f"{name} must be time-major with rank {w.ndim + 1} "
                f"(T, batch, ...), got shape {z.shape}"
            )
    if z_pre.shape[0] != z_post.shape[0]:
        raise ValueError(
            f"z_pre and z_post must have the same number of steps, got "
            f"{z_pre.shape[0]} and {z_post.shape[0]}"
        )
    p = STDPParameters() if p_stdp is None else p_stdp
    if not isinstance(p, STDPParameters):
        raise TypeError(
            f"p_stdp must be jstdp.STDPParameters, got {type(p).__module__}."
            f"{type(p).__name__}: convert Norse parameters with "
            "jstdp.interop.from_norse(p) first"
        )
    if conv:
        p = p.replace(convolutional=True)
    state = (
        STDPState(
            jnp.zeros(z_pre.shape[1:], w.dtype), jnp.zeros(z_post.shape[1:], w.dtype)
        )
        if state_stdp is None
        else state_stdp
    )
    step, norse_step = (
        (stdp_step_conv2d, stdp.stdp_step_conv2d)
        if conv
        else (stdp_step_linear, stdp.stdp_step_linear)
    )

    w_t = to_torch(w)
    p_t = to_norse(p, w_t.dtype)
    s_t = to_norse(state, w_t.dtype)
    diff = np.zeros(3)
    for k in range(z_pre.shape[0]):
        w, state = step(z_pre[k], z_post[k], w, state, p, dt)
        zt_pre, zt_post = to_torch((z_pre[k], z_post[k]), w_t.dtype)
        with torch.no_grad():
            w_t, s_t = norse_step(zt_pre, zt_post, w_t, s_t, p_t, dt=float(dt))
        s_t = stdp.STDPState(s_t.t_pre.clone(), s_t.t_post.clone())
        step_diff = [
            _max_abs_difference(a, b.double().numpy())
            for a, b in ((w, w_t), (state.t_pre, s_t.t_pre), (state.t_post, s_t.t_post))
        ]
        diff = np.maximum(diff, step_diff)
    return NorseDifference(*(float(d) for d in diff))
