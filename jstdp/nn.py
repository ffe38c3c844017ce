"""Flax NNX layers that learn by STDP on every call.

A layer is a one-projection network (``Input -> Population``, Norse's rule;
:class:`jstdp.Network`) whose state lives in the layer's own
:class:`flax.nnx.Variable` types, so it sits in any NNX model:

- :class:`STDPWeight`: the weights. Not an ``nnx.Param``, so gradient
  optimisers that filter on ``nnx.Param`` (``nnx.Optimizer(model, tx,
  wrt=nnx.Param)``, ``nnx.grad``) leave them alone;
- :class:`STDPTrace`: the pre- and postsynaptic traces (``STDPState``);
- :class:`NeuronState`: the neurons' state pytree (``LIFFeedForwardState``
  for the default LIF neurons);
- :class:`SpikeHistory`: the input spikes still in transit (the delay) and
  the step count.

One call is one time step of :meth:`jstdp.Network.step`::

    drive = z_pre[t - delay] @ w.T            (or conv2d(z_pre[t - delay], w))
    z_post, neuron = p_neuron.step(drive, neuron, dt)
    w, traces = stdp_step_*(z_pre[t], z_post, w, traces, p_stdp, dt)   # learning only

Parameters are stored as arrays of the layer's dtype, so changing a value
(:meth:`STDPLinear.set_parameters`) does not retrace ``nnx.jit``; changing a
static field (``stdp_algorithm``, conv geometry, ``learning``) does.

Example::

    layer = jstdp.nn.STDPLinear(100, 10, batch_size=8, rngs=nnx.Rngs(0))

    @nnx.scan(in_axes=(nnx.Carry, 0), out_axes=(nnx.Carry, 0))
    def run(layer, z_pre):                  # z_pre_seq: [T, 8, 100]
        return layer, layer(z_pre)

    layer, z_post_seq = run(layer, z_pre_seq)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import ArrayLike, DTypeLike

from jstdp import _validation as v
from jstdp._network import Input, Network, NetworkState, Population, Projection
from jstdp._norse import STDPParameters, check_concrete
from jstdp.connections._common import pair
from jstdp.connections.conv2d import conv_output_shape
from jstdp.connections.dense import Dense
from jstdp.neurons.lif import LIFParameters
from jstdp.rules.norse import STDPState

Initializer = Callable[[jax.Array, tuple[int, ...], DTypeLike], jax.Array]
PRE, POST, NAME = "pre", "post", "w"


class STDPWeight(nnx.Variable):
    """Weights learned by STDP; invisible to optimisers filtering ``nnx.Param``."""


class STDPTrace(nnx.Variable):
    """A presynaptic or postsynaptic STDP trace."""


class NeuronState(nnx.Variable):
    """The state pytree of a layer's postsynaptic neurons."""


class SpikeHistory(nnx.Variable):
    """Input spikes in transit (the delay line) and the step count."""


def _as_arrays(p: Any, dtype: DTypeLike) -> Any:
    """Every leaf of ``p`` as an array of ``dtype``: values are data, not code."""
    return jax.tree.map(lambda x: jnp.asarray(x, dtype), p)


def _uniform_bounds(p_stdp: STDPParameters) -> Initializer:
    """Initializer drawing weights uniformly from ``[w_min, w_max)``."""

    def init(key: jax.Array, shape: tuple[int, ...], dtype: DTypeLike) -> jax.Array:
        lo, hi = jnp.asarray(p_stdp.w_min, dtype), jnp.asarray(p_stdp.w_max, dtype)
        # Drawn flat: on CPU, jax.random compiles for seconds at rank 4.
        u = jax.random.uniform(key, (math.prod(shape),), dtype)
        return lo + (hi - lo) * u.reshape(shape)

    return init


def _check_stdp(p_stdp: object) -> STDPParameters:
    return v.instance("p_stdp", p_stdp, STDPParameters)


def _check_positive(name: str, value: object) -> int:
    return v.integer(name, value, 1)


def _check_pair(name: str, value: object, pair_only: bool = False) -> tuple[int, int]:
    """``value`` as an ``(h, w)`` pair of positive ints (an int means ``(v, v)``)."""
    if pair_only and not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"{name} must be a pair (h, w) of ints >= 1, got {value!r}")
    try:
        return pair(name, value, 1)
    except ValueError:
        kind = "a pair (h, w)" if pair_only else "an int or a pair (h, w)"
        raise ValueError(f"{name} must be {kind} of ints >= 1, got {value!r}") from None


class _STDPLayer(nnx.Module):
    """State handling shared by the dense and the convolutional layer."""

    def __init__(
        self,
        connection: Any,
        shapes: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]],
        batch_size: int,
        p_stdp: STDPParameters,
        rule: Any,
        p_neuron: Any | None,
        dt: ArrayLike,
        learning: bool,
        delay: int,
        w_init: Initializer | None,
        dtype: DTypeLike,
        rngs: nnx.Rngs,
    ) -> None:
        self.learning = v.flag("learning", learning)
        self.batch_size = v.integer("batch_size", batch_size, 1)
        self.dtype = v.floating_dtype("dtype", dtype)
        self.delay = v.integer("delay", delay, 0)
        if not isinstance(rngs, nnx.Rngs):
            raise TypeError(f"rngs must be flax.nnx.Rngs, got {type(rngs).__name__}")
        self.connection = connection
        self.pre_shape, self.post_shape, w_shape = shapes
        p_neuron = LIFParameters() if p_neuron is None else p_neuron
        if rule is not None and not callable(getattr(rule, "update", None)):
            raise TypeError(f"rule must be a jstdp rule, got {type(rule).__name__}")
        self.rule = (
            None if rule is None else nnx.data(v.cast_parameters(rule, self.dtype))
        )
        self.set_parameters(p_stdp=p_stdp, p_neuron=p_neuron, dt=dt)
        init = _uniform_bounds(p_stdp) if w_init is None else w_init
        w = jnp.asarray(init(rngs.params(), w_shape, self.dtype))
        if w.shape != w_shape:
            raise ValueError(
                f"w_init must return an array of shape {w_shape}, got {w.shape}"
            )
        self.w = STDPWeight(w.astype(self.dtype))
        self.reset(batch_size)

    def set_parameters(
        self,
        *,
        p_stdp: STDPParameters | None = None,
        p_neuron: Any = None,
        dt: ArrayLike | None = None,
    ) -> None:
        """Replace the STDP parameters, the neuron parameters or ``dt``.

        Values are stored as arrays of the layer's dtype, so a new value of a
        numeric field does not retrace ``nnx.jit``; a new static field does.

        Raises:
            ValueError: ``dt`` not a positive finite scalar, ``w_min >=
                w_max``, or another constraint of
                :func:`jstdp.validate_parameters` on ``p_stdp`` and
                ``p_neuron`` with ``dt`` (e.g. ``dt * tau_inv >= 1``).
            TypeError: ``p_stdp`` is not ``STDPParameters``, or ``p_neuron``
                lacks ``initial_state`` / ``step``.
        """
        p_stdp = self.p_stdp if p_stdp is None else _check_stdp(p_stdp)
        dt = self.dt if dt is None else dt
        check_concrete(p_stdp, dt)  # checks dt first (v.time_step)
        v.validate_parameters(p_stdp, dt)
        if p_neuron is not None:
            if not all(
                callable(getattr(p_neuron, m, None)) for m in ("initial_state", "step")
            ):
                raise TypeError(
                    "p_neuron must implement initial_state(shape, dtype) and "
                    f"step(drive, state, dt), got {type(p_neuron).__name__}"
                )
            v.validate_parameters(p_neuron, dt)
            self.p_neuron = nnx.data(_as_arrays(p_neuron, self.dtype))
        self.p_stdp = nnx.data(p_stdp.astype(self.dtype))
        self.dt = nnx.data(jnp.asarray(dt, self.dtype))

    def _network(self) -> Network:
        return Network.unchecked(
            (
                Input(PRE, self.pre_shape),
                Population(POST, self.p_neuron, self.post_shape),
            ),
            (
                Projection(
                    PRE, POST, self.connection, self.w[...],
                    rule=self.p_stdp if self.rule is None else self.rule,
                    delay=self.delay, name=NAME,
                ),
            ),
        )  # fmt: skip

    def reset(self, batch_size: int | None = None) -> None:
        """Zero the traces and restart the neurons, for ``batch_size`` samples.

        Weights are kept. ``batch_size`` defaults to the current one; call
        this outside ``nnx.jit`` to change it (the state changes shape).
        """
        if batch_size is None:
            batch_size = self.batch_size
        self.batch_size = v.integer("batch_size", batch_size, 1)
        state = self._network().init(self.batch_size, self.dtype)
        self._set_rule_state(state.rules[NAME])
        self.neuron = NeuronState(state.neurons[POST])
        pending = state.history[PRE] if self.delay > 1 else state.spikes[PRE]
        self.pending = SpikeHistory(pending)
        self.steps = SpikeHistory(state.step)

    def __call__(self, z_pre: ArrayLike, *, learning: bool | None = None) -> jax.Array:
        """One time step: drive the neurons, then (when learning) apply STDP.

        Args:
            z_pre: presynaptic spikes of this step, shaped like ``t_pre``
                (float, int or bool; graded values allowed).
            learning: override the layer's ``learning`` attribute for this
                call. When false, weights and traces stay as they are.

        Returns:
            Postsynaptic spikes, shaped like ``t_post``, in the layer's dtype.

        Raises:
            ValueError: ``z_pre`` does not have the expected shape.
        """
        z_pre = v.spikes("z_pre", z_pre)
        learning = self.learning if learning is None else v.flag("learning", learning)
        want = (self.batch_size, *self.pre_shape)
        if z_pre.shape != want:
            raise ValueError(
                f"z_pre must have shape {want} {self._pre_layout}, got "
                f"{z_pre.shape}; call reset(batch_size=...) for a new batch size"
            )
        pending = self.pending[...]
        last = jnp.zeros(want, self.dtype) if self.delay > 1 else pending
        state = NetworkState(
            step=self.steps[...],
            neurons={POST: self.neuron.get_value()},
            spikes={PRE: last},
            history={PRE: pending} if self.delay > 1 else {},
            weights={NAME: self.w[...]},
            rules={NAME: self._rule_state()},
            counts={},
        )
        state = self._network().step(state, {PRE: z_pre}, self.dt, learning)
        self.neuron.set_value(state.neurons[POST])
        self.pending[...] = state.history[PRE] if self.delay > 1 else state.spikes[PRE]
        self.steps[...] = state.step
        if learning:
            self.w[...] = state.weights[NAME]
            self._set_rule_state(state.rules[NAME])
        return state.spikes[POST]

    def _rule_state(self) -> Any:
        if self.rule is None:  # Norse's rule: its two traces, as Norse names them
            return STDPState(self.t_pre[...], self.t_post[...])
        return self.traces.get_value()

    def _set_rule_state(self, state: Any) -> None:
        if self.rule is None:
            self.t_pre = STDPTrace(state.t_pre)
            self.t_post = STDPTrace(state.t_post)
        else:
            self.traces = STDPTrace(state)


class STDPLinear(_STDPLayer):
    r"""A dense layer of spiking neurons whose weights learn by STDP.

    Each call is one step: ``drive = z_pre[t - delay] @ w.T``, the neurons
    integrate the drive (``p_neuron.step``), and, when learning,
    ``stdp_step_linear`` updates the weights (summed over the batch) and the
    traces.

    Args:
        in_features: number of presynaptic neurons ``n_pre``.
        out_features: number of postsynaptic neurons ``n_post``.
        batch_size: samples per call; :meth:`reset` changes it.
        p_stdp: STDP parameters (default ``STDPParameters()``).
        p_neuron: neuron parameters implementing ``initial_state(shape,
            dtype)`` and ``step(drive, state, dt)`` (default
            ``LIFParameters()``).
        dt: time step in seconds, > 0.
        learning: apply STDP on each call (a call may override it).
        delay: steps until an input spike acts on the neurons (default 1;
            see :class:`jstdp.Projection`).
        rule: any plasticity rule (:mod:`jstdp.rules`) instead of Norse's
            rule of ``p_stdp`` (``p_stdp`` then only sets the initial weight
            range); its state is the :class:`STDPTrace` ``traces``.
        w_init: ``init(key, shape, dtype)`` for the weights (default uniform
            in ``[w_min, w_max)``).
        dtype: floating dtype of weights, traces and neuron state.
        rngs: random streams; ``rngs.params()`` draws the initial weights.

    Attributes:
        w: :class:`STDPWeight` ``(out_features, in_features)`` (Norse layout).
        t_pre, t_post: :class:`STDPTrace` ``(batch, in_features)``,
            ``(batch, out_features)`` (Norse's rule; another rule's state is
            ``traces``).
        neuron: :class:`NeuronState` of the ``(batch, out_features)`` neurons.
    """

    _pre_layout = "(batch_size, in_features)"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        batch_size: int = 1,
        p_stdp: STDPParameters | None = None,
        p_neuron: Any = None,
        dt: ArrayLike = 0.001,
        learning: bool = True,
        delay: int = 1,
        rule: Any = None,
        w_init: Initializer | None = None,
        dtype: DTypeLike = jnp.float32,
        rngs: nnx.Rngs,
    ) -> None:
        self.in_features = _check_positive("in_features", in_features)
        self.out_features = _check_positive("out_features", out_features)
        super().__init__(
            Dense(),
            ((in_features,), (out_features,), (out_features, in_features)),
            batch_size,
            STDPParameters() if p_stdp is None else _check_stdp(p_stdp),
            rule,
            p_neuron,
            dt,
            learning,
            delay,
            w_init,
            dtype,
            rngs,
        )


class STDPConv2d(_STDPLayer):
    r"""A 2-D convolutional layer of spiking neurons whose kernel learns by STDP.

    Each call is one step: ``drive = conv2d(z_pre[t - delay], w)`` (NCHW
    spikes, OIHW kernel, with ``p_stdp``'s stride, padding and dilation), the
    neurons integrate it, and, when learning, ``stdp_step_conv2d`` updates
    the kernel (summed over batch and positions) and the traces.

    Args:
        in_channels, out_channels: ``C_in``, ``C_out``.
        kernel_size: ``k`` or ``(kh, kw)``.
        input_size: spatial size ``(H, W)`` of the presynaptic spikes.
        batch_size: samples per call; :meth:`reset` changes it.
        p_stdp: STDP parameters with the conv geometry (default
            ``STDPParameters(convolutional=True)``).
        p_neuron, dt, learning, delay, rule, w_init, dtype, rngs: as
            :class:`STDPLinear`.

    Attributes:
        w: :class:`STDPWeight` ``(C_out, C_in, kh, kw)``.
        t_pre, t_post: :class:`STDPTrace` ``(batch, C_in, H, W)``,
            ``(batch, C_out, H_out, W_out)``.
        neuron: :class:`NeuronState` of the ``(batch, C_out, H_out, W_out)``
            neurons.

    Raises:
        ValueError: the (dilated) kernel is larger than the padded input.
    """

    _pre_layout = "(batch_size, in_channels, H, W)"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        input_size: tuple[int, int],
        batch_size: int = 1,
        p_stdp: STDPParameters | None = None,
        p_neuron: Any = None,
        dt: ArrayLike = 0.001,
        learning: bool = True,
        delay: int = 1,
        rule: Any = None,
        w_init: Initializer | None = None,
        dtype: DTypeLike = jnp.float32,
        rngs: nnx.Rngs,
    ) -> None:
        self.in_channels = _check_positive("in_channels", in_channels)
        self.out_channels = _check_positive("out_channels", out_channels)
        self.kernel_size = _check_pair("kernel_size", kernel_size)
        self.input_size = _check_pair("input_size", input_size, pair_only=True)
        p_stdp = (
            STDPParameters(convolutional=True)
            if p_stdp is None
            else _check_stdp(p_stdp)
        )
        self.geometry = (p_stdp.stride, p_stdp.padding, p_stdp.dilation)
        self.output_size = conv_output_shape(
            self.input_size, self.kernel_size, *self.geometry
        )
        super().__init__(
            p_stdp.conv2d(),
            (
                (in_channels, *self.input_size),
                (out_channels, *self.output_size),
                (out_channels, in_channels, *self.kernel_size),
            ),
            batch_size,
            p_stdp,
            rule,
            p_neuron,
            dt,
            learning,
            delay,
            w_init,
            dtype,
            rngs,
        )

    def set_parameters(
        self,
        *,
        p_stdp: STDPParameters | None = None,
        p_neuron: Any = None,
        dt: ArrayLike | None = None,
    ) -> None:
        """As :meth:`STDPLinear.set_parameters`; the conv geometry must stay.

        Raises:
            ValueError: ``p_stdp`` has another stride, padding or dilation
                (they fix the output shape: build a new layer instead).
        """
        if p_stdp is not None:
            got = (_check_stdp(p_stdp).stride, p_stdp.padding, p_stdp.dilation)
            if got != self.geometry:
                raise ValueError(
                    "p_stdp (stride, padding, dilation) must stay "
                    f"{self.geometry}, got {got}; build a new layer instead"
                )
        super().set_parameters(p_stdp=p_stdp, p_neuron=p_neuron, dt=dt)
