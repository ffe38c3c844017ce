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
