"""The README's examples run as written and do what they say."""

import contextlib
import io
import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).parents[1] / "README.md"


def example(heading: str) -> str:
    """The first python block after ``heading`` in the README."""
    text = README.read_text()
    after = text[text.index(heading) :]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


def test_networks_example_runs_as_written():
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(example("## Networks"), "README.md", "exec"), scope)
    assert out.getvalue().count("[") >= 3  # it printed its three results
    state, counts = scope["state"], np.asarray(scope["counts"])
    assert counts.shape == (4, 1, 10) and np.all(np.diff(counts, axis=0) >= 0)
    assert counts[-1].sum() > 100  # the excitatory neurons fire
    w = np.asarray(state.weights["x->exc"])
    np.testing.assert_allclose(w.sum(1), 20.0, rtol=1e-5)  # Normalize(20)
    # STDP moved weight onto the 30 inputs that fire at 60 Hz (from 0.3).
    assert w[:, :30].sum(1).mean() / 20 > 0.35
    assert np.all(np.asarray(state.neurons["exc"].theta) > 0)  # thresholds rose


def test_nest_rules_example_runs_as_written():
    scope: dict = {}
    exec(compile(example("## NEST's plasticity rules"), "README.md", "exec"), scope)
    w = np.asarray(scope["w"])
    assert w.shape == (5, 20) and np.all((w >= 0) & (w <= 4)) and np.any(w != 1)


def test_event_loop_example_runs_as_written():
    """100 s of Song: the neuron fires at a plausible rate and additive STDP
    has begun to split the weights (more near the bounds than at the start)."""
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(example("- `run_linear_events`"), "README.md", "exec"), scope)
    assert out.getvalue().strip().endswith("Hz")
    rate = float(scope["state"].spike_count[0, 0]) / 100.0
    assert 5 < rate < 60
    w, w0 = np.asarray(scope["w"]), np.asarray(scope["w0"])
    near = lambda x: np.mean((x < 0.1) | (x > 0.9))  # noqa: E731
    assert near(w) > near(w0) + 0.1
