"""Connections: how spikes of one population reach another, and how a rule's
spike and trace vectors become a weight-shaped update.

Every connection is a small immutable object with static geometry and

- ``output_shape(pre_shape, w_shape)``: the postsynaptic shape (no batch
  axis), checking that ``w`` fits;
- ``weight_shape(pre_shape, post_shape)``: the shape of its weights;
- ``drive(z_pre, w)``: the synaptic drive ``(batch, *post_shape)``;
- ``correlate(post, pre, w_shape)``: ``sum_b post[b] (x) pre[b]`` in the
  layout of ``w`` (what a rule needs for its Hebbian terms);
- ``pairs(post, pre)`` and ``sum_pairs(x)`` (Dense, OneToOne,
  AllToAllButSelf; not Conv2d, whose weights are shared): per-neuron values
  spread over the synapses of each batch entry, and per-synapse values summed
  over the batch into the layout of ``w``, for rules whose state or pairing
  conditions belong to single synapses (NEST's nearest-neighbour schemes);
  ``sum_pairs(a * b)`` of ``a, b = pairs(post, pre)`` is ``correlate``;
- ``incoming_axes``: the axes of ``w`` that hold one postsynaptic neuron's
  inputs (for :class:`jstdp.rules.Normalize`).

=========================  ===================  ================================
connection                 ``w``                drive
=========================  ===================  ================================
:class:`Dense`             ``(n_post, n_pre)``  ``z @ w.T``
:class:`Conv2d`            ``(C_out, C_in,      ``conv(z, w)``, NCHW / OIHW
                           kh, kw)``
:class:`OneToOne`          pre shape or ``()``  ``w * z``
:class:`AllToAllButSelf`   ``(n, n)`` or ``()``  ``sum_{j != i} w_ij z_j``
=========================  ===================  ================================
"""

from jstdp.connections.conv2d import UNFOLD_METHODS, Conv2d, conv_output_shape
from jstdp.connections.dense import Dense
from jstdp.connections.lateral import AllToAllButSelf
from jstdp.connections.one_to_one import OneToOne

CONNECTIONS = (Dense, Conv2d, OneToOne, AllToAllButSelf)

__all__ = [
    "CONNECTIONS",
    "UNFOLD_METHODS",
    "AllToAllButSelf",
    "Conv2d",
    "Dense",
    "OneToOne",
    "conv_output_shape",
]
