"""The public surface: exports, import side effects, Norse's signatures."""

import inspect
import json
import os
import pathlib
import subprocess
import sys

import pytest

import jstdp
from jstdp import interop

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", [jstdp, interop], ids=["jstdp", "interop"])
def test_every_exported_name_exists(module):
    assert module.__all__, module.__name__
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_core_names_are_exported_and_interop_stays_separate():
    for name in ("STDPParameters", "STDPState", "stdp_step_linear", "stdp_step_conv2d"):
        assert name in jstdp.__all__
    for name in interop.__all__:
        assert name not in jstdp.__all__, name


IMPORT_PROBE = """
import json, sys
import jstdp
import jstdp.interop
from jax._src import xla_bridge
before = xla_bridge.backends_are_initialized()
jstdp.STDPParameters(stdp_algorithm="multiplicative_pow", stride=(2, 1))
print(json.dumps({
    "torch": "torch" in sys.modules,
    "norse": any(m == "norse" or m.startswith("norse.") for m in sys.modules),
    "backend_after_import": before,
    "backend_after_parameters": xla_bridge.backends_are_initialized(),
}))
"""


@pytest.mark.slow
def test_import_has_no_heavy_side_effects():
    """``import jstdp`` (and ``jstdp.interop``) imports no torch/Norse and
    creates no device array: no backend is initialised, even after building
    parameters (defaults are Python floats)."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "torch": False,
        "norse": False,
        "backend_after_import": False,
        "backend_after_parameters": False,
    }


@pytest.mark.norse
def test_signatures_are_norses():
    """Names, order and defaults of Norse 1.1.0's STDP API, so code ports line
    by line."""
    norse_stdp = pytest.importorskip("norse.torch.functional.stdp")
    ours = inspect.signature(jstdp.STDPParameters).parameters
    theirs = inspect.signature(norse_stdp.STDPParameters).parameters
    assert list(ours) == list(theirs)
    for name, param in theirs.items():
        default = param.default
        if hasattr(default, "item"):  # Norse's 0-d tensors
            default = default.item()
        got = ours[name].default
        if isinstance(default, (str, bool, int)):
            assert got == default, name
        else:
            assert got == pytest.approx(default, rel=1e-7), name
    for fn in ("stdp_step_linear", "stdp_step_conv2d"):
        ours = inspect.signature(getattr(jstdp, fn)).parameters
        theirs = inspect.signature(getattr(norse_stdp, fn)).parameters
        assert list(ours)[: len(theirs)] == list(theirs), fn
        assert ours["dt"].default == theirs["dt"].default == 0.001
        # jstdp-only options are keyword-only with defaults: Norse calls work.
        for extra in list(ours.values())[len(theirs) :]:
            assert extra.kind is inspect.Parameter.KEYWORD_ONLY, (fn, extra)
            assert extra.default is not inspect.Parameter.empty, (fn, extra)
    for ours, theirs in (
        (jstdp.STDPState, norse_stdp.STDPState),
        (jstdp.STDPState.decay, norse_stdp.STDPState.decay),
    ):
        ours, theirs = inspect.signature(ours), inspect.signature(theirs)
        assert list(ours.parameters) == list(theirs.parameters)
        assert [p.default for p in ours.parameters.values()] == [
            p.default for p in theirs.parameters.values()
        ]
