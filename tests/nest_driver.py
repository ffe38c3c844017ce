"""Run NEST 3.10 plasticity synapses on given spike trains: the reference side
of jstdp's NEST parity tests.

Spike trains are 0/1 arrays on a time grid, exactly as jstdp's rules see them:
step ``k`` of an array is NEST time ``(k + 1) * h`` (``h`` the resolution), so
a rule's ``init`` state is the state at NEST time 0 and its ``update`` at step
``k`` advances to ``(k + 1) * h``. Each :class:`Projection` becomes its own
small network, built the standard way::

    spike_generator -> parrot_neuron (pre)  --plastic, delay d, receptor 1-->
    spike_generator -> parrot_neuron (post)     parrot_neuron (post)

with static generator links of delay ``h`` (a generator spike at ``t - h``
makes its parrot fire at ``t``). Receptor 1 keeps the post parrots from
repeating the spikes that arrive through the plastic connections.

Dendritic delay: NEST treats the whole delay ``d`` of a plastic connection
as dendritic. The synapse sees a presynaptic spike at the time ``t`` its
parrot fires, and a postsynaptic spike at ``s = t_post + d``, ``d`` after its
parrot fires. ``Projection.post`` is the train the synapse sees (the ``s``);
the driver makes the post parrots fire ``d`` earlier. So the same arrays
drive jstdp and NEST, whatever the delay. The synapse's ``tau_minus`` and
``tau_minus_triplet`` are parameters of the post parrots (``neuron``).

Dopamine (``stdp_dopamine_synapse``): the train is the volume transmitter's,
``generator -> parrot -> volume_transmitter``, both links of delay ``h``.
Every static link has delay ``h``, so NEST's ``min_delay`` is ``h`` and the
volume transmitter delivers (and the synapse integrates and clips its weight)
at every step; with a larger ``min_delay`` NEST clips less often.

Earliest spikes: NEST refuses generator spikes at time 0, so pre spikes start
at step 1, post spikes (as seen) at step ``1 + d / h`` and dopamine spikes at
step 2. Each projection's synapse model is a ``CopyModel`` carrying its
parameters and a ``weight_recorder``, which records the weight after every
presynaptic spike. A ``spike_recorder`` checks that every parrot fires
exactly when intended.

Example::

    p = Projection(pre=z_pre, post=z_post, weight=w0, synapse={"lambda": 0.05})
    (rec,) = simulate("stdp_synapse", [p], resolution=0.1)
    rec.weight[rec.step == 10]   # weights after the pre spikes of step 10
"""

import dataclasses
import os

os.environ.setdefault("PYNEST_QUIET", "1")

import nest  # noqa: E402
import numpy as np  # noqa: E402


@dataclasses.dataclass
class Projection:
    """One plastic projection, all-to-all from its own pre to its own post
    parrots, independent of the other projections of a simulation.

    Attributes:
        pre: ``(T, n_pre)`` 0/1 presynaptic spikes.
        post: ``(T, n_post)`` 0/1 postsynaptic spikes as the synapse sees them.
        weight: initial weights, a scalar or ``(n_post, n_pre)``.
        synapse: synapse parameters, NEST names (``lambda``, ``Wmax``, ...).
        neuron: post parrot parameters (``tau_minus``, ``tau_minus_triplet``).
        delay: the dendritic delay ``d`` in ms, a multiple of ``h``; ``h`` if None.
        dopamine: ``(T,)`` 0/1 spikes at the volume transmitter (dopamine synapse).
    """

    pre: np.ndarray
    post: np.ndarray
    weight: float | np.ndarray = 1.0
    synapse: dict = dataclasses.field(default_factory=dict)
    neuron: dict = dataclasses.field(default_factory=dict)
    delay: float | None = None
    dopamine: np.ndarray | None = None


@dataclasses.dataclass
class Record:
    """NEST's weight after every presynaptic spike, one entry per synapse and
    spike, ordered by step, then post index, then pre index."""

    step: np.ndarray  # grid step of the presynaptic spike
    pre: np.ndarray  # presynaptic index
    post: np.ndarray  # postsynaptic index
    weight: np.ndarray


def simulate(model, projections, resolution):
    """Run NEST once for all ``projections`` of synapse ``model``.

    Args:
        model: a NEST synapse model name, e.g. ``"stdp_triplet_synapse"``.
        projections: a sequence of :class:`Projection`, all with the same ``T``.
        resolution: NEST's resolution ``h`` in ms.

    Returns:
        One :class:`Record` per projection. NEST's kernel is reset first, so
        nothing from an earlier call survives.

    Raises:
        ValueError: spikes that are not 0/1, too early for NEST, mismatched
            shapes, or a delay off the grid.
        AssertionError: a parrot did not fire at its intended times.
    """
    h = resolution
    steps = {len(p.pre) for p in projections}
    if len(steps) != 1:
        raise ValueError(f"all projections need the same number of steps, got {steps}")
    (n_steps,) = steps

    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.resolution = h
    recorder = nest.Create("spike_recorder")
    built = [_build(model, i, p, h, recorder) for i, p in enumerate(projections)]
    delays = [_delay_steps(p, h) for p in projections]
    nest.Simulate((n_steps + max(delays) + 2) * h)

    fired = recorder.events
    for parrots, trains in (item for b in built for item in b["check"]):
        for parrot, times in zip(parrots.tolist(), trains, strict=True):
            got = fired["times"][fired["senders"] == parrot]
            assert np.array_equal(np.rint(got / h), np.rint(times / h)), (
                f"parrot {parrot} fired at {got}, intended {times}"
            )
    return [_record(b, h) for b in built]


def _build(model, index, p, h, recorder):
    """Create one projection's parrots, generators and plastic connections."""
    pre, post = _spikes(p.pre, "pre"), _spikes(p.post, "post")
    if pre.shape[0] != post.shape[0]:
        raise ValueError(f"pre has {pre.shape[0]} steps, post {post.shape[0]}")
    d = _delay_steps(p, h)
    if pre[:1].any() or post[: 1 + d].any():
        raise ValueError(f"pre spikes start at step 1, post at {1 + d} (d = {d} h)")
    pre_times = _times(pre, h)  # when the pre parrots fire
    post_times = [s - d * h for s in _times(post, h)]  # post parrots fire at s - d
    pre_parrots = _parrots(pre_times, h)
    post_parrots = _parrots(post_times, h, p.neuron)
    check = [(pre_parrots, pre_times), (post_parrots, post_times)]

    weight = np.broadcast_to(np.asarray(p.weight, float), (post.shape[1], pre.shape[1]))
    synapse = dict(p.synapse)
    synapse["weight_recorder"] = nest.Create("weight_recorder")
    # The model's default weight must share Wmax's sign, or CopyModel refuses.
    synapse.setdefault("weight", weight.flat[0])
    if p.dopamine is not None:
        vt_parrot, vt_times = _dopamine(p.dopamine, pre.shape[0], h)
        synapse["volume_transmitter"] = nest.Create("volume_transmitter")
        nest.Connect(vt_parrot, synapse["volume_transmitter"], syn_spec={"delay": h})
        check.append((vt_parrot, [vt_times]))
    name = f"{model}_{index}"
    nest.CopyModel(model, name, synapse)
    nest.Connect(
        pre_parrots,
        post_parrots,
        "all_to_all",
        {
            "synapse_model": name,
            "weight": np.array(weight),  # (n_post, n_pre): NEST's (targets, sources)
            "delay": d * h,
            "receptor_type": 1,
        },
    )
    for parrots, _ in check:
        nest.Connect(parrots, recorder)
    return {
        "recorder": synapse["weight_recorder"],
        "pre": pre_parrots.tolist(),
        "post": post_parrots.tolist(),
        "check": check,
    }


def _dopamine(train, steps, h):
    """The parrot that relays ``train`` to a volume transmitter, and its times.

    NEST refuses ``spike_generator -> volume_transmitter``; through a parrot,
    the transmitter receives ``h`` after the parrot fires, ``2 h`` after the
    generator.
    """
    (dopamine,) = _times(_spikes(np.asarray(train)[:, None], "dopamine"), h)
    if len(train) != steps or (dopamine < 3 * h - h / 2).any():
        raise ValueError(f"dopamine must be ({steps},) 0/1 spikes from step 2 on")
    parrot_times = dopamine - h
    return _parrots([parrot_times], h), parrot_times


def _spikes(z, what):
    z = np.asarray(z)
    if z.ndim != 2 or not np.isin(z, (0, 1)).all():
        raise ValueError(f"{what} must be a (T, n) array of 0/1 spikes")
    return z.astype(bool)


def _delay_steps(p, h):
    d = h if p.delay is None else p.delay
    steps = round(d / h)
    if steps < 1 or not np.isclose(steps * h, d, rtol=0, atol=1e-9 * h):
        raise ValueError(f"delay {d} ms is not a positive multiple of h = {h} ms")
    return steps


def _times(z, h):
    """Spike times in ms, per neuron (column), step k at (k + 1) h."""
    return [(np.flatnonzero(column) + 1) * h for column in z.T]


def _parrots(times, h, params=None):
    """Parrots that fire at ``times`` (one array per parrot)."""
    parrots = nest.Create("parrot_neuron", len(times), params=params or {})
    generators = nest.Create(
        "spike_generator", len(times), params=[{"spike_times": t - h} for t in times]
    )
    nest.Connect(generators, parrots, "one_to_one", syn_spec={"delay": h})
    return parrots


def _record(built, h):
    events = built["recorder"].events
    pre = np.searchsorted(built["pre"], events["senders"])
    post = np.searchsorted(built["post"], events["targets"])
    step = np.rint(events["times"] / h).astype(int) - 1
    order = np.lexsort((pre, post, step))
    return Record(step[order], pre[order], post[order], events["weights"][order])
