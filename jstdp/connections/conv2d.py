"""2-D convolution (NCHW spikes, OIHW kernels), with its receptive fields."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from jstdp import _validation as v
from jstdp._pytree import pytree, static
from jstdp.connections._common import HIGHEST, pair

UnfoldMethod = Literal["conv", "slices", "patches"]
UNFOLD_METHODS: tuple[str, ...] = ("conv", "slices", "patches")
# XLA:CPU contracts a long (batch, position) axis into a small C_out x F
# result faster with both operands positions-first; larger results are faster
# features-first (benchmarks/results.md, C-mnist and C-deep).
POSITIONS_FIRST_MAX = 2048
# Pieces of the (batch, position) axis in Conv2d.correlate_pair.
CHUNKS = 4


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


@pytree
class Conv2d:
    r"""A 2-D convolution (cross-correlation, as PyTorch and Norse).

    Spikes are ``(batch, C_in, H, W)`` in and ``(batch, C_out, H_out, W_out)``
    out; the kernel ``w`` is ``(C_out, C_in, kh, kw)``. ``correlate`` sums
    over the batch and every output position ``k``, with ``U`` the receptive
    fields (``torch.nn.functional.unfold``):

    .. math::
        \mathrm{correlate}(x, y)_{ij} = \sum_{b,k} x_{b,i,k}\, U(y)_{b,j,k}

    with ``i`` the output channel and ``j`` the ``(C_in, kh, kw)`` feature.

    Args:
        kernel_size: ``k`` or ``(kh, kw)``; needed only to make weights from
            an initializer (otherwise the kernel's shape says it).
        stride, padding, dilation: ints or ``(h, w)`` pairs.
        unfold_method: how ``correlate`` sums: ``"slices"`` (default): ``U``
            from strided slices and one matrix product over batch and
            positions; ``"conv"``: as the kernel gradient of the convolution,
            one ``lax.conv_general_dilated`` over the batch, without building
            ``U`` (slower on CPU, where XLA runs this convolution outside its
            fast kernels; an option for accelerators); ``"patches"``: the
            reference, ``U`` from ``lax.conv_general_dilated_patches`` and
            Norse's einsum. The same products; the sums differ only in
            rounding order.
    """

    kernel_size: int | tuple[int, int] | None = static(None)
    stride: int | tuple[int, int] = static(1)
    padding: int | tuple[int, int] = static(0)
    dilation: int | tuple[int, int] = static(1)
    unfold_method: UnfoldMethod = static("slices")

    incoming_axes = (1, 2, 3)  # an output channel's inputs: one kernel

    def __post_init__(self) -> None:
        if self.kernel_size is not None:
            object.__setattr__(
                self, "kernel_size", pair("kernel_size", self.kernel_size, 1)
            )
        object.__setattr__(self, "stride", pair("stride", self.stride, 1))
        object.__setattr__(self, "padding", pair("padding", self.padding, 0))
        object.__setattr__(self, "dilation", pair("dilation", self.dilation, 1))
        v.choice("unfold_method", self.unfold_method, UNFOLD_METHODS)

    def weight_shape(
        self, pre_shape: tuple[int, ...], post_shape: tuple[int, ...]
    ) -> tuple[int, ...] | None:
        """``(C_out, C_in, kh, kw)``, or None without a ``kernel_size``."""
        if self.kernel_size is None:
            return None
        _image("presynaptic", pre_shape)
        _image("postsynaptic", post_shape)
        return (post_shape[0], pre_shape[0], *self.kernel_size)

    def output_shape(
        self, pre_shape: tuple[int, ...], w_shape: tuple[int, ...]
    ) -> tuple[int, ...]:
        """``(C_out, H_out, W_out)`` for presynaptic ``(C_in, H, W)``."""
        _image("presynaptic", pre_shape)
        if len(w_shape) != 4:
            raise ValueError(
                f"w must have rank 4 (C_out, C_in, kh, kw), got shape {tuple(w_shape)}"
            )
        c_out, c_in, kh, kw = w_shape
        if c_in != pre_shape[0]:
            raise ValueError(
                f"w must have shape {(c_out, pre_shape[0], kh, kw)}, got "
                f"{tuple(w_shape)}"
            )
        if self.kernel_size is not None and self.kernel_size != (kh, kw):
            raise ValueError(
                f"w has a {(kh, kw)} kernel but the connection says kernel_size="
                f"{self.kernel_size}"
            )
        hw = conv_output_shape(
            pre_shape[1:], (kh, kw), self.stride, self.padding, self.dilation
        )
        return (c_out, *hw)

    def drive(self, z_pre: jax.Array, w: jax.Array) -> jax.Array:
        """``conv(z_pre, w)``: ``(batch, C_out, H_out, W_out)``."""
        return jax.lax.conv_general_dilated(
            z_pre,
            w,
            window_strides=self.stride,
            padding=[(q, q) for q in self.padding],
            rhs_dilation=self.dilation,
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
            precision=HIGHEST,
        )

    def correlate(
        self, post: jax.Array, pre: jax.Array, w_shape: tuple[int, ...]
    ) -> jax.Array:
        """``sum_{b,k} post[b, :, k] (x) U(pre)[b, :, k]``, shaped like ``w``."""
        batch, c_out = post.shape[:2]
        post = post.reshape(batch, c_out, post.shape[2] * post.shape[3])
        return self.hebbian(post, pre, tuple(w_shape[2:])).reshape(w_shape)

    def correlate_pair(
        self,
        first: tuple[jax.Array, jax.Array],
        second: tuple[jax.Array, jax.Array],
        w_shape: tuple[int, ...],
    ) -> tuple[jax.Array, jax.Array]:
        """``(correlate(*first), correlate(*second))`` as one batched product.

        With the ``"slices"`` fields, positions first (a small ``C_out x F``,
        see ``POSITIONS_FIRST_MAX``; otherwise two products, which are faster
        there), both ``(post, pre)`` pairs (shaped alike) are stacked and the
        long ``(batch, position)`` axis is cut in
        ``CHUNKS`` pieces that the product runs side by side (XLA:CPU spreads a
        batched product over the cores; one long contraction into a small
        ``C_out x F`` result it does not): the same sums, the positions added
        in another order (float rounding).
        """
        kernel_hw = tuple(w_shape[2:])
        c_out, features = w_shape[0], w_shape[1] * kernel_hw[0] * kernel_hw[1]
        if self.unfold_method != "slices" or c_out * features > POSITIONS_FIRST_MAX:
            return self.correlate(*first, w_shape), self.correlate(*second, w_shape)
        post, pre = (jnp.stack([first[i], second[i]]) for i in (0, 1))
        fields = jax.vmap(lambda x: self.receptive_fields(x, kernel_hw, True))(pre)
        length = post.shape[3] * post.shape[4]  # positions (a batch may be empty)
        post = post.reshape(*post.shape[:3], length).transpose(0, 1, 3, 2)
        k = post.shape[1] * post.shape[2]  # (batch, position) pairs
        n = next(c for c in (CHUNKS, 2, 1) if k % c == 0)
        post = post.reshape(2, n, k // n, c_out)
        fields = fields.reshape(2, n, k // n, features)
        out = jnp.einsum("snki,snkj->snij", post, fields, precision=HIGHEST).sum(1)
        return out[0].reshape(w_shape), out[1].reshape(w_shape)

    def unfold(self, x: jax.Array, kernel_hw: tuple[int, int]) -> jax.Array:
        """Receptive fields of ``x``, exactly ``torch.nn.functional.unfold``.

        ``x`` ``(batch, C_in, H, W)`` -> ``(batch, C_in * kh * kw, L)``, features
        ordered ``(C_in, kh, kw)``, ``L = H_out * W_out``.
        """
        patches = jax.lax.conv_general_dilated_patches(
            x,
            filter_shape=kernel_hw,
            window_strides=self.stride,
            padding=[(q, q) for q in self.padding],
            rhs_dilation=self.dilation,
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
            # A real convolution: accelerators would otherwise round float32 traces.
            precision=HIGHEST,
        )
        return patches.reshape(*patches.shape[:2], patches.shape[2] * patches.shape[3])

    def receptive_fields(
        self, x: jax.Array, kernel_hw: tuple[int, int], positions_first: bool = False
    ) -> jax.Array:
        """:meth:`unfold` by strided slices, with batch and positions merged.

        ``receptive_fields(x, k)[:, b * L + l] == unfold(x, k)[b, :, l]``, bit
        for bit: every entry is a copy of an input value or a padding zero,
        without the identity convolution that ``conv_general_dilated_patches``
        runs. The field of output position ``(y, x)`` is ``x_pad[..., y*s_h +
        i*d_h, x*s_w + j*d_w]``: the ``kw`` strided slices along the width are
        stacked, then the ``kh`` slices of that along the height, in ``(C_in,
        kh, kw)`` feature order, so the result comes out in the layout of one
        matrix product over ``(batch, L)``.

        Returns:
            ``(C_in * kh * kw, batch * L)``, or ``(batch * L, C_in * kh * kw)``
            when ``positions_first`` (sliced from the channels-last input).
        """
        (kh, kw), (sh, sw), (dh, dw) = kernel_hw, self.stride, self.dilation
        batch, c_in, h, wd = x.shape
        h_out, w_out = conv_output_shape(
            (h, wd), kernel_hw, self.stride, self.padding, self.dilation
        )
        (ph, pw), none = self.padding, (0, 0)
        if positions_first:  # (batch, H, W, C_in): windows end up last
            x = jnp.pad(x.transpose(0, 2, 3, 1), (none, (ph, ph), (pw, pw), none))
            x = _windows(x, 2, kw, dw, sw, w_out, -1)  # (b, H_pad, W_out, C_in, kw)
            x = _windows(x, 1, kh, dh, sh, h_out, -2)  # (b, H_out, W_out, C_in, kh, kw)
            return x.reshape(batch * h_out * w_out, c_in * kh * kw)
        x = jnp.pad(x.transpose(1, 0, 2, 3), (none, none, (ph, ph), (pw, pw)))
        x = _windows(x, 3, kw, dw, sw, w_out, 1)  # (C_in, kw, batch, H_pad, W_out)
        x = _windows(x, 3, kh, dh, sh, h_out, 1)  # (C_in, kh, kw, batch, H_out, W_out)
        return x.reshape(c_in * kh * kw, batch * h_out * w_out)

    def hebbian(
        self,
        post: jax.Array,
        pre: jax.Array,
        kernel_hw: tuple[int, int],
        positions_first: bool | None = None,
    ) -> jax.Array:
        """``einsum("bik,bjk->ij", post, unfold(pre))``: sum over batch and positions.

        ``post`` is ``(batch, C_out, L)`` and ``pre`` ``(batch, C_in, H, W)``;
        returns ``(C_out, C_in * kh * kw)``. Both operands are positions-first
        when ``C_out * C_in * kh * kw <= POSITIONS_FIRST_MAX`` (or as
        ``positions_first`` says).
        """
        if self.unfold_method == "patches":
            fields = self.unfold(pre, kernel_hw)
            return jnp.einsum("bik,bjk->ij", post, fields, precision=HIGHEST)
        if self.unfold_method == "conv":
            return self.weight_gradient(post, pre, kernel_hw)
        batch, c_out, length = post.shape
        features = pre.shape[1] * kernel_hw[0] * kernel_hw[1]
        if positions_first is None:
            positions_first = c_out * features <= POSITIONS_FIRST_MAX
        fields = self.receptive_fields(pre, kernel_hw, positions_first)
        if positions_first:
            post = post.transpose(0, 2, 1).reshape(batch * length, c_out)
            return jnp.einsum("ki,kj->ij", post, fields, precision=HIGHEST)
        post = post.transpose(1, 0, 2).reshape(c_out, batch * length)
        return jnp.einsum("ik,jk->ij", post, fields, precision=HIGHEST)

    def weight_gradient(
        self, post: jax.Array, pre: jax.Array, kernel_hw: tuple[int, int]
    ) -> jax.Array:
        """``hebbian`` as the kernel gradient of :meth:`drive`: one convolution.

        ``sum_{b,y,x} post[b, o, y, x] pre_pad[b, c, y*s + i*d, x*s + j*d]``
        is a convolution of ``pre`` (channels as its batch, the batch as its
        features) with ``post`` as the kernel, the forward stride ``s`` as
        kernel dilation and the forward dilation ``d`` as stride. ``post`` is
        ``(batch, C_out, L)``; returns ``(C_out, C_in * kh * kw)``.
        """
        batch, c_out = post.shape[:2]
        h_out, w_out = conv_output_shape(
            pre.shape[2:], kernel_hw, self.stride, self.padding, self.dilation
        )
        post = post.reshape(batch, c_out, h_out, w_out)
        out = jax.lax.conv_general_dilated(
            pre,
            post,
            window_strides=self.dilation,
            padding=[(q, q) for q in self.padding],
            rhs_dilation=self.stride,
            dimension_numbers=("CNHW", "IOHW", "CNHW"),
            precision=HIGHEST,
        )  # (C_out, C_in, >= kh, >= kw): rows past the last window are unused
        out = out[:, :, : kernel_hw[0], : kernel_hw[1]]
        return out.reshape(c_out, pre.shape[1] * kernel_hw[0] * kernel_hw[1])


def _windows(
    x: jax.Array, axis: int, k: int, dilation: int, stride: int, n_out: int, at: int
) -> jax.Array:
    """The ``k`` strided slices ``x[j*dilation :: stride]`` (``n_out`` long)
    along ``axis``, stacked as a new axis ``at``. Unfolding one spatial axis
    at a time writes ``kw``, then ``kh``, copies instead of ``kh * kw``."""
    span = stride * (n_out - 1) + 1
    return jnp.stack(
        [
            jax.lax.slice_in_dim(x, j * dilation, j * dilation + span, stride, axis)
            for j in range(k)
        ],
        at,
    )


def _image(side: str, shape: tuple[int, ...]) -> None:
    if len(shape) != 3:
        raise ValueError(
            f"a Conv2d connection needs {side} neurons of shape (C, H, W), got "
            f"{tuple(shape)}"
        )
