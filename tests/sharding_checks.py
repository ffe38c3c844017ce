"""Sharded runs on 8 host CPU devices against the unsharded run: what
``tests/test_sharding.py`` runs in a subprocess (one, for every check, to pay
for JAX's start once). Prints one JSON line: per case the largest difference
of every kind of state, whether the spikes agree, and the layouts.

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python tests/sharding_checks.py
"""

import json
import os
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np

import jstdp
from jstdp.connections import Conv2d
from jstdp.neurons import CompetingLIFParameters
from jstdp.rules import NorseSTDP, STDPTripletSynapse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import multihost  # noqa: E402

N_IN, N_EXC, STEPS = 64, 32, 100


def compare(sharded, single) -> dict:
    """Largest |difference| per top-level field, spikes equal, layouts."""
    diffs = {}
    for (path, a), b in zip(
        jax.tree_util.tree_flatten_with_path(single)[0],
        jax.tree.leaves(sharded),
        strict=True,
    ):
        field = str(path[0].name)
        d = float(
            np.max(np.abs(np.asarray(a, float) - np.asarray(b, float)), initial=0)
        )
        diffs[field] = max(diffs.get(field, 0.0), d)
    specs = {
        jax.tree_util.keystr(p): str(x.sharding.spec)
        for p, x in jax.tree_util.tree_flatten_with_path(sharded)[0]
        if isinstance(x.sharding, jax.sharding.NamedSharding)
    }
    return dict(
        diff=diffs, spikes=int(np.sum(np.asarray(single.counts["exc"]))), specs=specs
    )


def dense(sharding, batch=2, stdp=multihost.STDP, **kwargs):
    net = multihost.network(N_IN, N_EXC, stdp)
    inputs = jstdp.PoissonInput(multihost.rates(N_IN, batch))
    run = dict(steps=STEPS, dt=multihost.DT, key=jax.random.key(2), **kwargs)
    single = jstdp.run(net, inputs, **run)
    sharded = jstdp.run(net, inputs, sharding=sharding, **run)
    out = compare(sharded[0], single[0])
    if kwargs.get("save"):
        out["saved"] = float(np.max(np.abs(np.asarray(sharded[1] - single[1]))))
    return out


def conv(sharding):
    """Conv2d into winner-take-all neurons: one channel per device."""
    neuron = CompetingLIFParameters(
        jstdp.LIFParameters(v_th=0.3), gain=1.0, theta_plus=0.02
    )
    rng = np.random.default_rng(4)
    w0 = rng.uniform(0.0, 0.5, (8, 2, 3, 3))
    net = jstdp.Network(
        populations=[
            jstdp.Input("x", (2, 12, 12)),
            jstdp.Population("exc", neuron, (8, 12, 12)),
        ],
        projections=[
            jstdp.Projection(
                "x", "exc", Conv2d(padding=1), w0,
                rule=NorseSTDP(eta_plus=0.01, eta_minus=0.008),
            ),
        ],
    )  # fmt: skip
    x = rng.random((60, 2, 2, 12, 12)) < 0.15
    single = jstdp.run(net, x)[0]
    return compare(jstdp.run(net, x, sharding=sharding)[0], single)


def emission(sharding):
    """Per-synapse delays delivering the weight a spike left with: the queued
    drive (D, batch, n_exc) is split as its population."""
    rng = np.random.default_rng(5)
    net = jstdp.Network(
        populations=[
            jstdp.Input("x", (N_IN,)),
            jstdp.Population("exc", jstdp.LIFParameters(v_th=0.3), (N_EXC,)),
        ],
        projections=[
            jstdp.Projection(
                "x", "exc", w=rng.uniform(0.0, 0.2, (N_EXC, N_IN)),
                rule=NorseSTDP(eta_plus=0.01, eta_minus=0.008),
                delay=rng.integers(1, 5, (N_EXC, N_IN)), weight_at="emission",
            ),
        ],
    )  # fmt: skip
    x = rng.random((STEPS, 2, N_IN)) < 0.1
    single = jstdp.run(net, x)[0]
    return compare(jstdp.run(net, x, sharding=sharding)[0], single)


def memory(n=16_384):
    """Per-device memory of an n x n plastic layer over 8 devices and on one."""
    w = jax.ShapeDtypeStruct((n, n), jnp.float32)
    net = jstdp.Network(
        [jstdp.Input("x", (n,)), jstdp.Population("y", jstdp.LIFParameters(), (n,))],
        [jstdp.Projection("x", "y", w=w, rule=NorseSTDP())],
    )  # fmt: skip
    return {
        "sharded": jstdp.memory_per_device(net, sharding="model"),
        "single": jstdp.memory_per_device(net),
    }


def errors():
    """Messages of the mistakes that need several devices to make."""
    net = multihost.network(N_IN, 12)
    messages = {}
    cases = {
        "input": jstdp.Sharding(populations=["x"]),
        "indivisible": jstdp.Sharding(populations=["exc"]),
        "batch": "data",
    }
    for name, sharding in cases.items():
        try:
            jstdp.run(net, jnp.zeros((1, 3, N_IN)), sharding=sharding)
        except ValueError as e:
            messages[name] = str(e)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jstdp.run(net, jnp.zeros((1, 8, N_IN)), sharding="model")
    messages["nothing-split"] = str(caught[0].message)
    return messages


def main():
    assert len(jax.devices()) == 8, jax.devices()
    mesh = jax.make_mesh((2, 4), ("data", "model"))
    pow_rule = NorseSTDP(
        tau_pre_inv=50.0, tau_post_inv=40.0, eta_plus=0.05, eta_minus=0.04,
        stdp_algorithm="multiplicative_pow", mu=0.5,
    )  # fmt: skip
    save = jstdp.Save(every=50, fn=lambda s: s.counts["exc"])
    per_neuron = multihost.STDP.replace(a_post=np.linspace(0.8, 1.2, N_EXC))
    result = {
        # per-neuron a_post: the update is left to the partitioner (no shard_map)
        "model_dense": dense("model", stdp=per_neuron, chunk_steps=STEPS // 2),
        "model_conv": conv("model"),
        "model_dense_emission": emission("model"),
        # a NEST rule (its slow traces and NEST's clipping) split the same way
        "model_dense_triplet": dense(
            "model", stdp=STDPTripletSynapse(Wmax=1.0, Aplus=5e-3, Aminus=7e-3)
        ),
        "data_dense": dense("data", batch=8, save=save),
        "both_dense_pow": dense(
            jstdp.Sharding(mesh=mesh, data="data"), batch=4, stdp=pow_rule
        ),
        "memory": memory(),
        "errors": errors(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
