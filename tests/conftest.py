"""Shared test configuration: CPU, strict promotion, eager/jit and x64 fixtures."""

import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

import jstdp  # noqa: E402

# As `jstdp song2000` runs: small closed loops as one kernel each, before the
# first computation (the same numbers: tests/test_fast_loops.py checks it).
jstdp.fast_cpu_loops()

# The strictest settings (equinox, diffrax): implicit rank or dtype promotion
# in library code is a bug.
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture(
    params=[pytest.param(lambda f: f, id="eager"), pytest.param(jax.jit, id="jit")]
)
def tr(request):
    """Run a function as is and under an outer ``jax.jit``."""
    return request.param


@pytest.fixture(autouse=True)
def _torch_single_thread():
    """Norse reference runs are tiny: torch's thread pool only adds contention."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


@pytest.fixture
def x64():
    """float64 for the duration of a test; create every array inside it."""
    with jax.enable_x64(True):
        yield


# Hypothesis profiles: "ci" (the default) is fast and reproducible; for a
# thorough local run: HYPOTHESIS_PROFILE=thorough pytest tests/test_properties.py
settings.register_profile("ci", max_examples=10, deadline=None, derandomize=True)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def compiles():
    """Counts XLA compilations while the test runs."""
    events = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            events.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    yield events
    jax.monitoring.unregister_event_duration_listener(listener)
