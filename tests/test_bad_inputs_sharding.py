"""Bad inputs to sharded runs: ``Sharding``, ``run(sharding=)``,
``memory_per_device``, ``gather``. Mistakes that need several devices to
make (a population or batch the devices do not divide) are checked on 8
host devices by ``tests/test_sharding.py``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bad_inputs import Case, case, cases_of, check_case, same_as

import jstdp
from jstdp.connections import Dense
from jstdp.rules import NorseSTDP


def net():
    """x (3) -> y (2), Dense, Norse's rule, LIF neurons."""
    return jstdp.Network(
        [jstdp.Input("x", (3,)), jstdp.Population("y", jstdp.LIFParameters(), (2,))],
        [jstdp.Projection("x", "y", Dense(), jnp.full((2, 3), 0.5), rule=NorseSTDP())],
    )


def run(**changes):
    spikes = np.ones((5, 2, 3), np.float32)
    return jstdp.run(net(), spikes, **changes)


def mesh(*names):
    return jax.make_mesh((1,) * len(names), names)


@case(
    "sharding/one-device",
    '`run(..., sharding="model")` on one device',
    check=same_as(run),
    works="works: the same state, bit for bit, as without `sharding`",
)
def sharding_one_device():
    return run(sharding="model")


@case(
    "sharding/unknown-name",
    '`sharding="models"`',
    TypeError,
    r"sharding must be 'model', 'data' or a jstdp.Sharding, got 'models'",
)
def sharding_unknown_name():
    return run(sharding="models")


@case(
    "sharding/no-axis",
    "`Sharding(model=None)` (and no `data`)",
    ValueError,
    r"Sharding needs an axis",
)
def sharding_no_axis():
    return jstdp.Sharding(model=None)


@case(
    "sharding/axis-not-a-string",
    "`Sharding(model=3)`",
    TypeError,
    r"Sharding.model must be a non-empty string, got 3",
)
def sharding_axis_not_a_string():
    return jstdp.Sharding(model=3)


@case(
    "sharding/same-axis",
    '`Sharding(model="a", data="a")`',
    ValueError,
    r"Sharding.model and Sharding.data must be different mesh axes",
)
def sharding_same_axis():
    return jstdp.Sharding(model="a", data="a")


@case(
    "sharding/mesh-not-a-mesh",
    '`Sharding(mesh="cpu")`',
    TypeError,
    r"Sharding.mesh must be a jax.sharding.Mesh",
)
def sharding_mesh_not_a_mesh():
    return jstdp.Sharding(mesh="cpu")


@case(
    "sharding/axis-not-in-mesh",
    'a mesh with one axis `"x"` for `model="model"`',
    ValueError,
    r"Sharding.model = 'model' is not an axis of the mesh \(axes \('x',\)\)",
)
def sharding_axis_not_in_mesh():
    return jstdp.Sharding(mesh=mesh("x"))


@case(
    "sharding/two-axes-no-mesh",
    '`Sharding(data="data")` (model and data axes, no mesh)',
    ValueError,
    r"Sharding with both model and data axes needs a mesh",
)
def sharding_two_axes_no_mesh():
    return jstdp.Sharding(data="data")


@case(
    "sharding/populations-string",
    '`Sharding(populations="y")`',
    TypeError,
    r"Sharding.populations must be a list of population names",
)
def sharding_populations_string():
    return jstdp.Sharding(populations="y")


@case(
    "sharding/populations-not-names",
    "`Sharding(populations=[None])`",
    TypeError,
    r"Sharding.populations\[0\] must be a non-empty string, got None",
)
def sharding_populations_not_names():
    return jstdp.Sharding(populations=[None])


@case(
    "sharding/population-unknown",
    '`Sharding(populations=["x"])` (an Input)',
    ValueError,
    r"Sharding.populations: 'x' is not a neuron population of the network \(y\)",
)
def sharding_population_unknown():
    return run(sharding=jstdp.Sharding(populations=["x"]))


@case(
    "sharding/under-jit",
    "`run(..., sharding=...)` inside `jax.jit`",
    ValueError,
    r"sharding= needs concrete inputs and state",
)
def sharding_under_jit():
    spikes = jnp.ones((5, 2, 3))
    return jax.jit(lambda x: jstdp.run(net(), x, sharding="model")[0])(spikes)


@case(
    "sharding/memory-network",
    "`memory_per_device(3)`",
    TypeError,
    r"network must be jstdp.Network, got int",
)
def sharding_memory_network():
    return jstdp.memory_per_device(3)


@case(
    "sharding/memory-batch-zero",
    "`memory_per_device(net, batch=0)`",
    ValueError,
    r"batch must be an int >= 1, got 0",
)
def sharding_memory_batch_zero():
    return jstdp.memory_per_device(net(), batch=0)


@case(
    "sharding/memory-steps-float",
    "`memory_per_device(net, steps=1.5)`",
    TypeError,
    r"steps must be an int, got 1.5",
)
def sharding_memory_steps_float():
    return jstdp.memory_per_device(net(), steps=1.5)


@case(
    "sharding/memory-sharding-devices",
    "`memory_per_device(net, sharding=jax.devices())`",
    TypeError,
    r"sharding must be 'model', 'data' or a jstdp.Sharding",
)
def sharding_memory_sharding_devices():
    return jstdp.memory_per_device(net(), sharding=jax.devices())


@case(
    "sharding/gather-numbers",
    "`gather({'a': 1.0, 'w': jnp.ones(2)})` (non-array leaves)",
    check=lambda out: out["a"] == 1.0 and isinstance(out["w"], np.ndarray),
    works="works: numbers unchanged, arrays to NumPy",
)
def sharding_gather_numbers():
    return jstdp.gather({"a": 1.0, "w": jnp.ones(2)})


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
