"""The Norse face: ``STDPParameters`` and the two step functions, exact.

``norse.torch.functional.stdp``'s names, argument order and defaults, as a
thin layer over the pair rule (:class:`jstdp.rules.NorseSTDP`) and the
Dense / Conv2d connections. As in Norse, parameter values are not checked
when the parameters are made; the step functions check what is known when
they are called (and never modify their inputs).
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jstdp import _validation as v
from jstdp._pytree import pytree, static
from jstdp.connections._common import check_weight_shape as check_shape
from jstdp.connections._common import pair
from jstdp.connections.conv2d import UNFOLD_METHODS, Conv2d, UnfoldMethod
from jstdp.connections.dense import Dense
from jstdp.rules.norse import NUMERIC_FIELDS, NorseSTDP, STDPState, update


@pytree
class STDPParameters(NorseSTDP):
    """Parameters of Norse's STDP rule (same names, order and defaults).

    A :class:`jstdp.rules.NorseSTDP` with Norse's conv geometry on it, for
    :func:`stdp_step_conv2d` (a network's ``Conv2d`` connection carries its
    own geometry).

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
    parameter sweep (see :func:`jstdp.parameter_grid`). Values are cast to
    the weights' dtype inside the step functions.
    """

    convolutional: bool = static(False)
    stride: int | tuple[int, int] = static(1)
    padding: int | tuple[int, int] = static(0)
    dilation: int | tuple[int, int] = static(1)

    def __post_init__(self) -> None:
        # As Norse: the structure is checked now, the values when stepped.
        self._check_static()
        if not isinstance(self.convolutional, bool):
            raise TypeError(f"convolutional must be a bool, got {self.convolutional!r}")
        object.__setattr__(self, "stride", pair("stride", self.stride, 1))
        object.__setattr__(self, "padding", pair("padding", self.padding, 0))
        object.__setattr__(self, "dilation", pair("dilation", self.dilation, 1))

    def astype(self, dtype: jax.typing.DTypeLike) -> STDPParameters:
        """Return a copy whose numeric leaves are arrays of ``dtype``."""
        return v.cast_parameters(self, dtype)

    def conv2d(self, unfold_method: UnfoldMethod = "slices") -> Conv2d:
        """The :class:`jstdp.connections.Conv2d` with this geometry."""
        return Conv2d(
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            unfold_method=unfold_method,
        )


def check_types(p: object, state: object = None, has_state: bool = False) -> None:
    """Raise a TypeError unless ``p`` (and ``state``) are jstdp pytrees."""
    hint = " (convert Norse objects with jstdp.interop.from_norse)"
    if not isinstance(p, STDPParameters):
        raise TypeError(
            f"p_stdp must be jstdp.STDPParameters, got {type(p).__name__}{hint}"
        )
    if has_state and not isinstance(state, STDPState):
        raise TypeError(
            f"state_stdp must be jstdp.STDPState, got {type(state).__name__}{hint}"
        )


def check_concrete(p: STDPParameters, dt: ArrayLike) -> None:
    """Checks of the values known before tracing (tracers are skipped).

    Raises a ValueError on a ``dt`` that is not a positive finite scalar, on a
    NaN or infinite parameter and on ``w_min >= w_max``; warns when ``dt *
    tau_inv >= 1``, where the Euler trace update overshoots.
    """
    v.time_step(dt)
    dt_v = v.concrete(dt)
    # Each leaf is read once: for a jax array leaf this is a host transfer.
    values = {}
    for name in NUMERIC_FIELDS:
        leaf = getattr(p, name)
        traced = isinstance(leaf, jax.core.Tracer)
        values[name] = None if traced else v.real(f"p_stdp.{name}", leaf)
    for name, value in values.items():
        if value is not None and not np.all(np.isfinite(value)):
            raise ValueError(f"p_stdp.{name} must be finite, got {getattr(p, name)!r}")
    lo, hi = values["w_min"], values["w_max"]
    if lo is not None and hi is not None and np.any(lo >= hi):
        raise ValueError(
            f"w_min must be < w_max, got w_min={p.w_min!r}, w_max={p.w_max!r}"
        )
    if dt_v is None:
        return
    for name in ("tau_pre_inv", "tau_post_inv"):
        tau = values[name]
        if tau is not None and np.any(dt_v * tau >= 1.0):
            warnings.warn(
                f"dt * {name} = {np.max(dt_v * tau):g} >= 1: the Euler trace "
                "update overshoots (traces oscillate or change sign); use a "
                "smaller dt",
                RuntimeWarning,
                stacklevel=4,  # the caller of stdp_step_* or run_*
            )


def check_rank(name: str, x: ArrayLike, rank: int, layout: str) -> None:
    """Raise a ValueError naming ``name`` when ``x`` is not of rank ``rank``."""
    if np.ndim(x) != rank:
        raise ValueError(
            f"{name} must have rank {rank} {layout}, got shape {np.shape(x)}"
        )


def prepare(w, state, p, dt, z_pre, z_post):
    """Cast the weights' companions to the weights' dtype.

    Computation happens in ``w.dtype``: parameters, ``dt``, traces and spikes
    (bool, int or float, graded values allowed) are cast to it.
    """
    w = v.floating_array("w", w)
    dtype = w.dtype
    for name, t in (("t_pre", state.t_pre), ("t_post", state.t_post)):
        if jnp.issubdtype(jnp.result_type(t), jnp.complexfloating):
            raise TypeError(f"state_stdp.{name} must be real, got {jnp.result_type(t)}")
    p.check_shapes(w.shape, jnp.shape(state.t_pre), jnp.shape(state.t_post))
    state = STDPState(jnp.asarray(state.t_pre, dtype), jnp.asarray(state.t_post, dtype))
    return (
        w,
        state,
        v.cast_parameters(p, dtype),
        jnp.asarray(dt, dtype),
        z_pre.astype(dtype),
        z_post.astype(dtype),
    )


@functools.partial(jax.jit, static_argnames="paths")
def _step_linear(z_pre, z_post, w, state_stdp, p_stdp, dt, paths):
    check_rank("z_pre", z_pre, 2, "(batch, n_pre)")
    check_rank("z_post", z_post, 2, "(batch, n_post)")
    check_rank("w", w, 2, "(n_post, n_pre)")
    (batch, n_pre), n_post = jnp.shape(z_pre), jnp.shape(z_post)[1]
    check_shape("z_post", jnp.shape(z_post), (batch, n_post))
    check_shape("w", jnp.shape(w), (n_post, n_pre))
    check_shape("state_stdp.t_pre", jnp.shape(state_stdp.t_pre), (batch, n_pre))
    check_shape("state_stdp.t_post", jnp.shape(state_stdp.t_post), (batch, n_post))
    w, state, p, dt, z_pre, z_post = prepare(w, state_stdp, p_stdp, dt, z_pre, z_post)
    return update(p, paths, z_pre, z_post, w, state, dt, Dense())


@functools.partial(jax.jit, static_argnames=("paths", "unfold_method"))
def _step_conv2d(z_pre, z_post, w, state_stdp, p_stdp, dt, paths, unfold_method):
    check_rank("z_pre", z_pre, 4, "(batch, C_in, H, W)")
    check_rank("z_post", z_post, 4, "(batch, C_out, H_out, W_out)")
    check_rank("w", w, 4, "(C_out, C_in, kh, kw)")
    batch = jnp.shape(z_pre)[0]
    conv = p_stdp.conv2d(unfold_method)
    # checks w against z_pre: "w must have shape (C_out, C_in, kh, kw), got ..."
    out_shape = conv.output_shape(jnp.shape(z_pre)[1:], jnp.shape(w))
    check_shape("z_post", jnp.shape(z_post), (batch, *out_shape))
    check_shape("state_stdp.t_pre", jnp.shape(state_stdp.t_pre), jnp.shape(z_pre))
    check_shape("state_stdp.t_post", jnp.shape(state_stdp.t_post), jnp.shape(z_post))
    w, state, p, dt, z_pre, z_post = prepare(w, state_stdp, p_stdp, dt, z_pre, z_post)
    return update(p, paths, z_pre, z_post, w, state, dt, conv)


def _arguments(z_pre, z_post, w, state_stdp, p_stdp, dt):
    p_stdp = STDPParameters() if p_stdp is None else p_stdp
    check_types(p_stdp, state_stdp, has_state=True)
    check_concrete(p_stdp, dt)
    z_pre, z_post = v.spikes("z_pre", z_pre), v.spikes("z_post", z_post)
    paths = p_stdp.prepare().paths
    return z_pre, z_post, jnp.asarray(w), state_stdp, p_stdp, dt, paths


def stdp_step_linear(
    z_pre: ArrayLike,
    z_post: ArrayLike,
    w: ArrayLike,
    state_stdp: STDPState,
    p_stdp: STDPParameters | None = None,
    dt: ArrayLike = 0.001,
) -> tuple[jax.Array, STDPState]:
    r"""One STDP step of a dense layer (Norse's ``stdp_step_linear``), jitted.

    Traces first, then the weight update from the updated traces, summed over
    the batch:

    .. math::
        t_{pre} &\leftarrow t_{pre} + dt\,\tau_{pre}^{-1}(-t_{pre} + a_{pre} z_{pre}) \\
        t_{post} &\leftarrow t_{post}
            + dt\,\tau_{post}^{-1}(-t_{post} + a_{post} z_{post}) \\
        w &\leftarrow \mathrm{bound}\Big(w + A_+(w) \textstyle\sum_b z_{post}^{b\top}
            t_{pre}^{b} - A_-(w) \sum_b t_{post}^{b\top} z_{pre}^{b}\Big)

    Args:
        z_pre: presynaptic spikes, shape ``(batch, n_pre)``; float, int or bool.
        z_post: postsynaptic spikes, shape ``(batch, n_post)``.
        w: weights, shape ``(n_post, n_pre)``, floating; sets the compute dtype.
        state_stdp: traces ``t_pre`` ``(batch, n_pre)``, ``t_post`` ``(batch, n_post)``.
        p_stdp: parameters (default ``STDPParameters()``).
        dt: time step in seconds, > 0.

    Returns:
        ``(w, state_stdp)``: new weights and traces (inputs are not modified).

    Raises:
        ValueError: wrong ranks or shapes, ``dt <= 0``, ``w_min >= w_max``,
            non-finite ``dt`` or parameters (concrete values only).
        TypeError: ``w`` not floating, wrong parameter or state type, spikes
            that are not bool, int or real floats.

    Warns:
        RuntimeWarning: ``dt * tau_inv >= 1`` (concrete values): the Euler
        trace update overshoots.

    Do not ``vmap`` over the batch axis: the update is summed over the batch;
    ``vmap`` is for independent networks and parameter sweeps.
    """
    return _step_linear(*_arguments(z_pre, z_post, w, state_stdp, p_stdp, dt))


def stdp_step_conv2d(
    z_pre: ArrayLike,
    z_post: ArrayLike,
    w: ArrayLike,
    state_stdp: STDPState,
    p_stdp: STDPParameters | None = None,
    dt: ArrayLike = 0.001,
    *,
    unfold_method: UnfoldMethod = "slices",
) -> tuple[jax.Array, STDPState]:
    r"""One STDP step of a conv2d layer (Norse's ``stdp_step_conv2d``), jitted.

    Traces are updated as in :func:`stdp_step_linear`; presynaptic spikes and
    traces are unfolded into receptive fields ``U`` (``torch.nn.functional.
    unfold`` with the parameters' ``stride``, ``padding``, ``dilation``), and
    the update is summed over the batch and all output positions ``k``:

    .. math::
        w_{ij} \leftarrow \mathrm{bound}\Big(w_{ij}
          + A_+(w)_{ij} \textstyle\sum_{b,k} z_{post}^{b,i,k}\, U(t_{pre})^{b,j,k}
          - A_-(w)_{ij} \sum_{b,k} t_{post}^{b,i,k}\, U(z_{pre})^{b,j,k}\Big)

    with ``i`` the output channel and ``j`` the ``(C_in, kh, kw)`` feature.

    Args:
        z_pre: presynaptic spikes ``(batch, C_in, H, W)``.
        z_post: postsynaptic spikes ``(batch, C_out, H_out, W_out)``, the
            output size of the convolution with the parameters' geometry.
        w: kernel ``(C_out, C_in, kh, kw)``, floating; sets the compute dtype.
        state_stdp: traces shaped like ``z_pre`` and ``z_post``.
        p_stdp: parameters (default ``STDPParameters()``); ``stride``,
            ``padding``, ``dilation`` are ints or ``(h, w)`` pairs.
        dt: time step in seconds, > 0.
        unfold_method: static. ``"slices"`` (default): ``U`` from strided
            slices and one matrix product over batch and positions;
            ``"conv"``: the Hebbian sums as the kernel gradient of the
            convolution (one ``conv_general_dilated``; slower on CPU);
            ``"patches"``: the reference path, ``U`` from
            ``lax.conv_general_dilated_patches`` and Norse's einsum. The same
            products; the sums differ only in rounding order (a few float32
            ulp); ``"slices"`` is several times faster than ``"patches"`` on
            CPU (benchmarks/results.md).

    Returns:
        ``(w, state_stdp)``: new kernel and traces.

    Raises:
        ValueError: wrong ranks or shapes, a kernel larger than the padded
            input, ``dt <= 0``, ``w_min >= w_max``, non-finite ``dt`` or
            parameters (concrete values only), unknown ``unfold_method``.

    Warns:
        RuntimeWarning: ``dt * tau_inv >= 1`` (concrete values): the Euler
        trace update overshoots.
    """
    v.choice("unfold_method", unfold_method, UNFOLD_METHODS)
    args = _arguments(z_pre, z_post, w, state_stdp, p_stdp, dt)
    return _step_conv2d(*args, unfold_method=unfold_method)
