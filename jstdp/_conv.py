"""STDP step for a 2-D convolutional layer (NCHW spikes, OIHW weights)."""

from __future__ import annotations

import functools
from typing import Literal

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jstdp._parameters import STDPParameters, STDPState
from jstdp._rules import (
    HIGHEST,
    UNKNOWN,
    apply_update,
    check_concrete,
    check_rank,
    check_shapes,
    decay_traces,
    fast_paths,
    prepare,
)


def conv_output_shape(
    in_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int]:
    """Spatial output size of a convolution (PyTorch's formula).

    ``out = (in + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1``.

    Raises:
        ValueError: when the (dilated) kernel is larger than the padded input.
    """
    out = tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(
            in_hw, kernel_hw, stride, padding, dilation, strict=True
        )
    )
    if min(out) < 1:
        raise ValueError(
            f"kernel {tuple(kernel_hw)} with dilation {dilation} is larger than "
            f"the padded input {tuple(in_hw)} + 2 * padding {padding}: the "
            f"convolution output would be {out}"
        )
    return out  # type: ignore[return-value]


def unfold(x: jax.Array, kernel_hw: tuple[int, int], p: STDPParameters) -> jax.Array:
    """Receptive fields of ``x``, exactly ``torch.nn.functional.unfold``.

    Args:
        x: ``(batch, C_in, H, W)``.
        kernel_hw: ``(kh, kw)``.
        p: supplies ``stride``, ``padding``, ``dilation``.

    Returns:
        ``(batch, C_in * kh * kw, L)`` with features ordered ``(C_in, kh, kw)``
        and ``L = H_out * W_out``.
    """
    patches = jax.lax.conv_general_dilated_patches(
        x,
        filter_shape=kernel_hw,
        window_strides=p.stride,
        padding=[(q, q) for q in p.padding],
        rhs_dilation=p.dilation,
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        # A real convolution: accelerators would otherwise round float32 traces.
        precision=HIGHEST,
    )
    return patches.reshape(*patches.shape[:2], patches.shape[2] * patches.shape[3])


def receptive_fields(
    x: jax.Array,
    kernel_hw: tuple[int, int],
    p: STDPParameters,
    positions_first: bool = False,
) -> jax.Array:
    """:func:`unfold` by strided slices, with batch and positions merged.

    ``receptive_fields(x, k, p)[:, b * L + l] == unfold(x, k, p)[b, :, l]``,
    bit for bit: every entry is a copy of an input value or a padding zero,
    without the identity convolution that ``conv_general_dilated_patches``
    runs. The field of output position ``(y, x)`` is ``x_pad[..., y*s_h +
    i*d_h, x*s_w + j*d_w]``: the ``kw`` strided slices along the width are
    stacked, then the ``kh`` slices of that along the height, in ``(C_in,
    kh, kw)`` feature order, so the result comes out in the layout of one
    matrix product over ``(batch, L)``, with no transpose of the (``kh *
    kw`` times larger than ``x``) fields.

    Args:
        x: ``(batch, C_in, H, W)``.
        kernel_hw: ``(kh, kw)``.
        p: supplies ``stride``, ``padding``, ``dilation``.
        positions_first: return the transpose, sliced from the
            channels-last input.

    Returns:
        ``(C_in * kh * kw, batch * L)`` with ``L = H_out * W_out``, or
        ``(batch * L, C_in * kh * kw)`` when ``positions_first``.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, p.stride, p.dilation
    batch, c_in, h, wd = x.shape
    h_out, w_out = conv_output_shape(
        (h, wd), kernel_hw, p.stride, p.padding, p.dilation
    )
    (ph, pw), none = p.padding, (0, 0)
    if positions_first:  # (batch, H, W, C_in): windows end up last
        x = jnp.pad(x.transpose(0, 2, 3, 1), (none, (ph, ph), (pw, pw), none))
        x = _windows(x, 2, kw, dw, sw, w_out, -1)  # (batch, H_pad, W_out, C_in, kw)
        x = _windows(x, 1, kh, dh, sh, h_out, -2)  # (batch, H_out, W_out, C_in, kh, kw)
        return x.reshape(batch * h_out * w_out, c_in * kh * kw)
    x = jnp.pad(x.transpose(1, 0, 2, 3), (none, none, (ph, ph), (pw, pw)))
    x = _windows(x, 3, kw, dw, sw, w_out, 1)  # (C_in, kw, batch, H_pad, W_out)
    x = _windows(x, 3, kh, dh, sh, h_out, 1)  # (C_in, kh, kw, batch, H_out, W_out)
    return x.reshape(c_in * kh * kw, batch * h_out * w_out)


def _windows(
    x: jax.Array, axis: int, k: int, dilation: int, stride: int, n_out: int, at: int
) -> jax.Array:
    """The ``k`` strided slices ``x[j*dilation :: stride]`` (``n_out`` long)
    along ``axis``, stacked as a new axis ``at``. Unfolding one spatial axis
    at a time writes ``kw``, then ``kh``, copies: ~2.5x faster on CPU than
    ``kh * kw`` slices of the input."""
    span = stride * (n_out - 1) + 1
    return jnp.stack(
        [
            jax.lax.slice_in_dim(x, j * dilation, j * dilation + span, stride, axis)
            for j in range(k)
        ],
        at,
    )


UnfoldMethod = Literal["slices", "patches"]
UNFOLD_METHODS: tuple[str, ...] = ("slices", "patches")
# XLA:CPU contracts a long (batch, position) axis into a small C_out x F
# result ~1.5x faster with both operands positions-first; larger results
# are faster features-first (2 cores, benchmarks/run.py, min of 7: C-mnist,
# C_out x F = 32 x 50, 2.0 -> 1.1 ms per step; C-deep, 64 x 288, 3.4 ms,
# 4.2-6.3 ms if positions-first).
POSITIONS_FIRST_MAX = 2048


def hebbian(
    post: jax.Array,
    pre: jax.Array,
    kernel_hw: tuple[int, int],
    p: STDPParameters,
    unfold_method: str,
    positions_first: bool | None = None,
) -> jax.Array:
    """``einsum("bik,bjk->ij", post, unfold(pre))``: sum over batch and positions.

    ``post`` is ``(batch, C_out, L)`` and ``pre`` ``(batch, C_in, H, W)``;
    returns ``(C_out, C_in * kh * kw)``. ``"patches"``: :func:`unfold` and
    Norse's einsum (the reference). ``"slices"``: :func:`receptive_fields`
    and one matrix product over the merged ``(batch, L)`` axis, with both
    operands positions-first when ``C_out * C_in * kh * kw`` is at most
    ``POSITIONS_FIRST_MAX`` (or as ``positions_first`` says).
    """
    if unfold_method == "patches":
        return jnp.einsum(
            "bik,bjk->ij", post, unfold(pre, kernel_hw, p), precision=HIGHEST
        )
    batch, c_out, length = post.shape
    features = pre.shape[1] * kernel_hw[0] * kernel_hw[1]
    if positions_first is None:
        positions_first = c_out * features <= POSITIONS_FIRST_MAX
    fields = receptive_fields(pre, kernel_hw, p, positions_first)
    if positions_first:
        post = post.transpose(0, 2, 1).reshape(batch * length, c_out)
        return jnp.einsum("ki,kj->ij", post, fields, precision=HIGHEST)
    post = post.transpose(1, 0, 2).reshape(c_out, batch * length)
    return jnp.einsum("ik,jk->ij", post, fields, precision=HIGHEST)


@functools.partial(jax.jit, static_argnames=("unfold_method", "paths"))
def step_conv2d_jit(
    z_pre, z_post, w, state_stdp, p_stdp, dt, unfold_method="slices", paths=UNKNOWN
):
    check_rank("z_pre", z_pre, 4, "(batch, C_in, H, W)")
    check_rank("z_post", z_post, 4, "(batch, C_out, H_out, W_out)")
    check_rank("w", w, 4, "(C_out, C_in, kh, kw)")
    batch, c_in, h, wd = jnp.shape(z_pre)
    c_out, _, kh, kw = jnp.shape(w)
    check_shapes("w", jnp.shape(w), (c_out, c_in, kh, kw))
    out_hw = conv_output_shape(
        (h, wd), (kh, kw), p_stdp.stride, p_stdp.padding, p_stdp.dilation
    )
    check_shapes("z_post", jnp.shape(z_post), (batch, c_out, *out_hw))
    check_shapes("state_stdp.t_pre", jnp.shape(state_stdp.t_pre), jnp.shape(z_pre))
    check_shapes("state_stdp.t_post", jnp.shape(state_stdp.t_post), jnp.shape(z_post))
    w, state, p, dt, (z_pre, z_post) = prepare(w, state_stdp, p_stdp, dt, z_pre, z_post)

    state = decay_traces(z_pre, z_post, state, p, dt)
    # Explicit sizes: reshape cannot infer -1 for an empty batch.
    z_post_flat = z_post.reshape(batch, c_out, out_hw[0] * out_hw[1])
    t_post_flat = state.t_post.reshape(batch, c_out, out_hw[0] * out_hw[1])
    hebb_plus = hebbian(z_post_flat, state.t_pre, (kh, kw), p, unfold_method)
    hebb_minus = hebbian(t_post_flat, z_pre, (kh, kw), p, unfold_method)
    return (
        apply_update(
            w, hebb_plus.reshape(w.shape), hebb_minus.reshape(w.shape), p, paths.half
        ),
        state,
    )


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
            slices (:func:`receptive_fields`) and one matrix product over
            batch and positions (positions-first operands for a small
            ``C_out x C_in*kh*kw`` result); ``"patches"``: the reference
            path, ``U`` from ``lax.conv_general_dilated_patches``
            (:func:`unfold`) and Norse's einsum. Both give the same ``U``;
            the sums differ only in rounding order (a few float32 ulp);
            ``"slices"`` is 3-7x faster on CPU (2 cores, min of 5 runs: 7.3
            -> 1.0 ms per C-mnist step of benchmarks/run.py, 11.5 -> 3.4 ms
            per C-deep step).

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
    p_stdp = STDPParameters() if p_stdp is None else p_stdp
    check_concrete(p_stdp, dt, state_stdp)
    if unfold_method not in UNFOLD_METHODS:
        raise ValueError(
            f"unfold_method must be one of {', '.join(UNFOLD_METHODS)}; "
            f"got {unfold_method!r}"
        )
    z_pre, z_post, w = jnp.asarray(z_pre), jnp.asarray(z_post), jnp.asarray(w)
    paths = fast_paths(p_stdp)
    return step_conv2d_jit(
        z_pre,
        z_post,
        w,
        state_stdp,
        p_stdp,
        dt,
        unfold_method=unfold_method,
        paths=paths,
    )


def drive_conv2d(z_pre: jax.Array, w: jax.Array, p: STDPParameters) -> jax.Array:
    """Synaptic drive of a conv2d layer, ``conv(z_pre, w)`` (cross-correlation).

    ``z_pre`` is ``(batch, C_in, H, W)`` and ``w`` ``(C_out, C_in, kh, kw)``,
    same dtype; ``p`` supplies ``stride``, ``padding``, ``dilation``. Returns
    ``(batch, C_out, H_out, W_out)``.
    """
    return jax.lax.conv_general_dilated(
        z_pre,
        w,
        window_strides=p.stride,
        padding=[(q, q) for q in p.padding],
        rhs_dilation=p.dilation,
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        precision=HIGHEST,
    )
