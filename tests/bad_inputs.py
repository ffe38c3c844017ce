"""Bad-input fuzzing of the public API: the shared machinery.

Every case either works (and its result is checked) or raises an exception
whose message names the argument; none hangs, crashes or returns silently
wrong numbers. The cases live in ``tests/test_bad_inputs_<subject>.py``, one
module per subject; ``docs/bad_inputs.md`` is the table of all of them, kept
in step by ``tests/test_bad_inputs_docs.py`` and regenerated with ``python
tests/bad_inputs.py``.
"""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
import re
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jstdp
from jstdp import STDPParameters, STDPState

DOCS = pathlib.Path(__file__).parents[1] / "docs" / "bad_inputs.md"
SUBJECTS = (
    "steps", "neurons", "runs", "network", "sweeps", "layers", "interop", "cli",
    "plot", "checks", "sharding",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input: the call, and either the error it raises or a check."""

    id: str
    what: str  # the input, in words (markdown), for docs/bad_inputs.md
    call: Callable[[], Any]
    raises: type[BaseException] | None = None
    match: str | None = None  # the message must name the argument
    warns: type[Warning] | None = None
    check: Callable[[Any], None] | None = None  # what "works" means here...
    works: str | None = None  # ...and in words
    module: str = ""


CASES: list[Case] = []


def case(id, what, raises=None, match=None, *, warns=None, check=None, works=None):
    """Register the decorated zero-argument call as a case of its module."""

    def register(call):
        CASES.append(
            Case(id, what, call, raises, match, warns, check, works, call.__module__)
        )
        return call

    return register


def cases_of(module: str) -> list[Case]:
    return [c for c in CASES if c.module == module]


class UsageError(Exception):
    """The command exited with status 2; the message is what it printed."""


def check_case(c: Case) -> None:
    """The case raises its error (naming the argument), or works as checked."""
    if c.raises is not None:
        with pytest.raises(c.raises, match=c.match):
            jax.block_until_ready(c.call())
        return
    assert c.check is not None, "a working case must check its result"
    if c.warns is not None:
        with pytest.warns(c.warns, match=c.match):
            out = c.call()
    else:
        out = c.call()
    assert c.check(out) in (None, True)


def all_cases() -> list[Case]:
    """Every subject's cases (imports the subject modules)."""
    for subject in SUBJECTS:
        importlib.import_module(f"test_bad_inputs_{subject}")
    return CASES


# ---------------------------------------------------------------- fixtures --

B, N_PRE, N_POST = 2, 3, 4


def linear_args(**changes) -> dict:
    """Valid arguments of ``stdp_step_linear`` (non-zero traces), then changes."""
    rng = np.random.default_rng(0)
    args = dict(
        z_pre=(rng.random((B, N_PRE)) < 0.5).astype(np.float32),
        z_post=(rng.random((B, N_POST)) < 0.5).astype(np.float32),
        w=jnp.asarray(rng.uniform(0.2, 0.8, (N_POST, N_PRE)), jnp.float32),
        state_stdp=STDPState(
            jnp.asarray(rng.random((B, N_PRE)), jnp.float32),
            jnp.asarray(rng.random((B, N_POST)), jnp.float32),
        ),
        p_stdp=STDPParameters(eta_plus=0.1, eta_minus=0.1),
        dt=1e-3,
    )
    return {**args, **changes}


def linear(**changes):
    return jstdp.stdp_step_linear(**linear_args(**changes))


def conv_args(**changes) -> dict:
    """Valid ``stdp_step_conv2d`` arguments: 5x5 input, 3x3 kernel, 3x3 output."""
    rng = np.random.default_rng(1)
    z_pre = (rng.random((B, 2, 5, 5)) < 0.5).astype(np.float32)
    z_post = (rng.random((B, 3, 3, 3)) < 0.5).astype(np.float32)
    args = dict(
        z_pre=z_pre,
        z_post=z_post,
        w=jnp.asarray(rng.uniform(0.2, 0.8, (3, 2, 3, 3)), jnp.float32),
        state_stdp=STDPState.zeros_like(z_pre, z_post),
        p_stdp=STDPParameters(eta_plus=0.1, eta_minus=0.1),
        dt=1e-3,
    )
    return {**args, **changes}


def conv(**changes):
    return jstdp.stdp_step_conv2d(**conv_args(**changes))


T = 5


def spikes_seq(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((T, *shape)) < 0.5).astype(np.float32)


def same_as(reference: Callable[[], Any], atol: float = 0.0):
    """A check: the result equals ``reference()`` (bit for bit by default)."""

    def check(out):
        want = reference()
        for x, y in zip(jax.tree.leaves(out), jax.tree.leaves(want), strict=True):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=atol)

    return check


def dtypes_are(*dtypes):
    """A check: the result's leaves have these dtypes, in order."""

    def check(out):
        assert [x.dtype for x in jax.tree.leaves(out)] == [jnp.dtype(d) for d in dtypes]

    return check


def all_finite(out):
    jstdp.check_finite(out, "result")


SECTIONS = {
    "linear": "`stdp_step_linear` (and what every step shares)",
    "params": "`STDPParameters`, `STDPState`",
    "conv": "`stdp_step_conv2d`",
    "lif": "Neurons: `lif_feed_forward_step`, `ConductanceLIFParameters.step`",
    "poisson": "Encoders: `poisson_step`, `poisson_encode`",
    "run": "Closed loops: `run_linear` / `run_conv2d`",
    "events": "Event-driven closed loop: `run_linear_events`, `poisson_event_spikes`",
    "simulate": "Open loops: `simulate_linear` / `simulate_conv2d`",
    "sweep": "Sweeps: `parameter_grid`, `run_sweep`",
    "sharding": "Sharded runs: `Sharding`, `run(sharding=)`, `memory_per_device`, "
    "`gather`",
    "network": "Networks: `Network`, `Population`, `Projection`, `run`, `replay`",
    "objects": "Rules, transforms, connections, neurons, `PoissonInput`, `Save`",
    "nn": "Flax layers: `jstdp.nn.STDPLinear`, `STDPConv2d`",
    "interop": "`jstdp.interop` (torch, Norse)",
    "plot": "`jstdp.plot`",
    "cli": "The `jstdp` command",
    "validate": "`validate_parameters`",
    "check_finite": "`check_finite`",
}
MARKER = "## Cases"


def outcome(c: Case) -> str:
    """What the case gets, as a table cell: its documented result or error."""
    if c.raises is None:
        return c.works
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            jax.block_until_ready(c.call())
    except c.raises as e:
        msg = re.sub(r" at 0x[0-9a-f]+", "", str(e).strip().splitlines()[0])
        msg = msg if len(msg) <= 200 else msg[:197] + "..."
        quoted = f"`` {msg} ``" if "`" in msg else f"`{msg}`"
        kind = "exit 2" if c.raises is UsageError else type(e).__name__
        return f"{kind}: {quoted}".replace("|", "\\|")
    raise AssertionError(f"{c.id} did not raise {c.raises.__name__}")


def write_docs() -> None:
    """Regenerate the tables of docs/bad_inputs.md (the prose above stays)."""
    prose = DOCS.read_text().split(MARKER)[0]
    cases = all_cases()
    works = sum(c.raises is None for c in cases)
    lines = [
        MARKER,
        "",
        f"{len(cases)} cases: {works} work, {len(cases) - works} raise.",
    ]
    for section, title in SECTIONS.items():
        lines += ["", f"### {title}", "", "| case | input | outcome |", "|---|---|---|"]
        lines += [
            f"| `{c.id}` | {c.what} | {outcome(c)} |"
            for c in cases
            if c.id.split("/")[0] == section
        ]
    DOCS.write_text(prose + "\n".join(lines) + "\n")


if __name__ == "__main__":
    import bad_inputs  # the module the subjects register with, not __main__

    bad_inputs.write_docs()
