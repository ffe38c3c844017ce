"""Sharding: model- and data-parallel runs equal the unsharded run, sweeps and
networks over two processes equal one process, memory per device (bad
arguments: ``tests/test_bad_inputs_sharding.py``).

The checks that need several devices run in two subprocesses (JAX starts
once in each): ``tests/sharding_checks.py`` on 8 host CPU devices
(``--xla_force_host_platform_device_count=8``), and ``examples/multihost.py``
as two processes on localhost (``jax.distributed``, gloo collectives, 2
devices each). ``pytest -k "model_parallel or data_parallel or
multiprocess"`` selects them.
"""

import importlib.util
import os
import pathlib
import socket
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import run_on_8_devices

import jstdp
from jstdp import _sharding

ROOT = pathlib.Path(__file__).parents[1]
spec = importlib.util.spec_from_file_location(
    "multihost", ROOT / "examples/multihost.py"
)
multihost = importlib.util.module_from_spec(spec)
spec.loader.exec_module(multihost)

# What differs between a sharded and the unsharded run is only the order of
# the sums that cross devices (or that XLA:CPU vectorises differently for a
# local block): a few float32 ulp of a conductance (~1) or a voltage (~60
# mV) per step, which spikes can carry further. Measured: 0 (bitwise) for
# model parallel and the two-process run; 1 ulp of a membrane potential
# (7.6e-6 mV) data parallel; 2.1e-7 in a weight for the two-process sweep
# (XLA:CPU batches 2 parameter sets per device differently from 8 on one).
ATOL = 1e-4
# Per device, besides its block of the weights: the replicated input spikes
# and presynaptic traces and the split neuron state of a 16,384-neuron layer
# (measured 0.30 MB).
OVERHEAD = 1 << 20


def small_network():
    return multihost.network(16, 8)


def inputs(batch=2):
    return jstdp.PoissonInput(multihost.rates(16, batch))


RUN = dict(steps=20, dt=multihost.DT, key=jax.random.key(2))


def one_device_mesh(*names):
    return jax.make_mesh((1,) * len(names), names)


@pytest.mark.parametrize("sharding", ["model", "data", "2d-mesh"])
def test_model_parallel_and_data_parallel_on_one_device_equal_unsharded(sharding):
    if sharding == "2d-mesh":
        sharding = jstdp.Sharding(mesh=one_device_mesh("data", "model"), data="data")
    net = small_network()
    single, _ = jstdp.run(net, inputs(), **RUN)
    sharded, _ = jstdp.run(net, inputs(), sharding=sharding, **RUN)
    for a, b in zip(jax.tree.leaves(single), jax.tree.leaves(sharded), strict=True):
        np.testing.assert_array_equal(a, b)
    # the state continues a sharded run
    again, _ = jstdp.run(net, inputs(), state=sharded, sharding=sharding, **RUN)
    assert int(again.step) == 2 * RUN["steps"]


@pytest.mark.parametrize(
    "rule, local",
    [
        (multihost.STDP, True),
        (multihost.STDP.replace(stdp_algorithm="multiplicative_pow", mu=0.5), True),
        (multihost.STDP.replace(a_post=np.linspace(0.5, 1.0, 8)), False),
    ],
    ids=["additive", "pow", "per-neuron-a_post"],
)
def test_model_parallel_update_runs_under_shard_map_where_it_can(rule, local):
    """A plastic Dense projection into a split population is updated on each
    device's rows (LocalRule) unless its rule has per-neuron parameters (then
    the partitioner splits the update); fixed projections keep no rule."""
    net = multihost.network(16, 8, rule)
    state = net.init(2)
    args = (net, jnp.asarray(1e-3), {})
    (placed, _, _), _, _, _ = _sharding.place(args, state, None, jstdp.Sharding())
    rules = [type(q.rule).__name__ for q in placed.projections]
    assert rules == ["LocalRule" if local else "NorseSTDP", "NoneType", "NoneType"]


def test_memory_per_device_on_one_device():
    w = jax.ShapeDtypeStruct((256, 128), jnp.float32)
    y = jstdp.Population("y", jstdp.LIFParameters(), (256,))
    net = jstdp.Network(
        [jstdp.Input("x", (128,)), y],
        [jstdp.Projection("x", "y", w=w, rule=jstdp.rules.NorseSTDP())],
    )
    mem = jstdp.memory_per_device(net, batch=4)
    assert mem["weights"] == 256 * 128 * 4
    assert mem["weights"] <= mem["arguments"] < mem["weights"] + OVERHEAD
    assert mem["total"] == (
        mem["arguments"] + mem["outputs"] - mem["aliased"] + mem["temporaries"]
    )
    assert jstdp.memory_per_device(net, sharding="model")["weights"] == mem["weights"]


@pytest.mark.parametrize("mu", [0.5, 0.75])
def test_multiplicative_pow_over_128_mib_holds_one_copy_of_the_weights(mu):
    # Over BLOCKED_MIN_BYTES the rule decides mu == 0.5 before tracing, so no
    # lax.cond around the run holds a second copy of the weights (1 GiB more
    # for 16,384 x 16,384 when it did). Compiled only: nothing is allocated.
    n = 8192  # 256 MiB of float32
    w = jax.ShapeDtypeStruct((n, n), jnp.float32)
    rule = jstdp.rules.NorseSTDP(stdp_algorithm="multiplicative_pow", mu=mu)
    net = jstdp.Network(
        [jstdp.Input("x", (n,)), jstdp.Population("y", jstdp.LIFParameters(), (n,))],
        [jstdp.Projection("x", "y", w=w, rule=rule)],
    )
    mem = jstdp.memory_per_device(net)
    assert mem["temporaries"] < OVERHEAD, mem
    assert mem["total"] < n * n * 4 + 2 * OVERHEAD, mem


# --- 8 host CPU devices -----------------------------------------------------------


@pytest.mark.slow
def test_model_parallel_dense_conv2d_and_data_parallel_on_8_devices():
    result = run_on_8_devices(str(ROOT / "tests/sharding_checks.py"))

    # model parallel: Dense rows and Conv2d output channels split, postsynaptic
    # state with them, presynaptic spikes and traces replicated; bitwise.
    for case in ("model_dense", "model_conv", "model_dense_triplet"):
        r = result[case]
        assert r["specs"][".weights['x->exc']"] == "P('model',)"
        if case == "model_dense_triplet":
            # A NEST rule's update is left to the partitioner: weights, spikes
            # and traces bitwise; the membrane (its drive product split by
            # XLA) within float32 rounding of -70 mV (1 ulp = 7.6e-6 mV).
            others = {k: d for k, d in r["diff"].items() if k != "neurons"}
            assert set(others.values()) == {0.0}, r["diff"]
            assert r["diff"]["neurons"] <= ATOL, r["diff"]
        else:
            assert set(r["diff"].values()) == {0.0}, (case, r["diff"])
    # weight_at="emission": the queued drive (D, batch, n) is split as its
    # population; weights, spikes and traces bitwise, the drive summed from
    # split blocks within float32 rounding (measured 1.2e-7, membrane 4.8e-7).
    r = result["model_dense_emission"]
    assert r["specs"][".history['x->exc/queued']"] == "P(None, None, 'model')"
    assert r["specs"][".weights['x->exc']"] == "P('model',)"
    others = {k: d for k, d in r["diff"].items() if k not in ("neurons", "history")}
    assert set(others.values()) == {0.0}, r["diff"]
    assert max(r["diff"]["neurons"], r["diff"]["history"]) <= ATOL, r["diff"]
    assert r["spikes"] > 0
    for case in ("model_dense", "model_conv"):
        r = result[case]
        assert r["specs"][".rules['x->exc'].t_pre"] == "P()"
        assert r["specs"][".rules['x->exc'].t_post"] == "P(None, 'model')"
        assert r["specs"][".spikes['x']"] == "P()"
        assert r["spikes"] > 0
    assert result["model_dense"]["specs"][".neurons['exc'].theta"] == "P('model',)"
    assert result["model_conv"]["specs"][".neurons['exc'].theta"] == "P(None, 'model')"

    # data parallel: the batch split, the weights replicated (the batch sum
    # of the update is an all-reduce); with a Save of counts.
    r = result["data_dense"]
    assert max(r["diff"].values()) <= ATOL and r["saved"] == 0.0, r["diff"]
    assert r["specs"][".weights['x->exc']"] == "P()"
    assert r["specs"][".neurons['exc'].neuron.v"] == "P('data',)"

    # both, on a 2 x 4 mesh, multiplicative_pow (its mu = 0.5 branch)
    r = result["both_dense_pow"]
    assert max(r["diff"].values()) <= ATOL and r["diff"]["counts"] == 0, r["diff"]
    assert r["specs"][".neurons['exc'].neuron.v"] == "P('data', 'model')"

    # a 16,384 x 16,384 float32 layer: 1/8 of its 1 GiB per device
    mem = result["memory"]
    assert mem["single"]["weights"] == 8 * mem["sharded"]["weights"] == 1 << 30
    sharded = mem["sharded"]
    assert sharded["weights"] <= sharded["arguments"] < sharded["weights"] + OVERHEAD
    # the temporaries are at most one local block (the Hebbian product)
    assert sharded["temporaries"] < sharded["weights"] + OVERHEAD

    errors = result["errors"]
    assert "'x' is not a neuron population" in errors["input"]
    assert "'exc' has 12 along its first axis" in errors["indivisible"]
    assert "batch = 3 must be a multiple of the 8 devices" in errors["batch"]
    assert "nothing is split" in errors["nothing-split"]


# --- two processes ----------------------------------------------------------------


@pytest.mark.slow
def test_multiprocess_sweep_and_model_parallel_equal_one_process(tmp_path):
    """``examples/multihost.py`` on two CPU processes (2 devices each, gloo
    over loopback) equals the same run and sweep in this one process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [
        sys.executable, str(ROOT / "examples/multihost.py"), "--cpu", "2",
        "--processes", "2", "--coordinator", f"127.0.0.1:{port}",
        "--inputs", "64", "--neurons", "32", "--steps", "200", "--out", str(tmp_path),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    workers = [
        subprocess.Popen(
            [*args, "--process-id", str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    # One worker failing leaves the other waiting for it: stop both then.
    deadline = time.monotonic() + 600
    while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
        if any(w.returncode for w in workers):
            break
        time.sleep(0.1)
    for w in workers:
        if w.poll() is None:
            w.kill()
    logs = [w.communicate()[0] for w in workers]
    for w, log in zip(workers, logs, strict=True):
        assert w.returncode == 0, log[-3000:]
    assert "2 processes, 4 devices" in logs[0], logs[0][-3000:]

    state = multihost.train(64, 32, 1, 200, sharding=None)
    w_sweep, spikes = multihost.sweep(8, 200, devices=jax.devices()[:1])
    for i in range(2):
        got = np.load(tmp_path / f"process{i}.npz")
        np.testing.assert_array_equal(got["counts"], state.counts["exc"])
        np.testing.assert_allclose(got["w"], state.weights["x->exc"], atol=ATOL)
        np.testing.assert_allclose(got["theta"], state.neurons["exc"].theta, atol=ATOL)
        np.testing.assert_allclose(got["w_sweep"], w_sweep, atol=ATOL)
        np.testing.assert_array_equal(got["spikes_sweep"], spikes)
    assert int(np.sum(state.counts["exc"])) > 0
