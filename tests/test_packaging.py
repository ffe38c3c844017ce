"""The base install (``pip install jstdp``, no extras) runs the main job.

A fresh virtual environment gets only the base install, from this checkout,
with pip's own configuration (its index and cache, or the ``--find-links``
wheels of an offline machine). Then ``jstdp song2000 --json --quick`` runs,
and a figure (which needs matplotlib, the ``cli`` extra) is refused with one
line naming the extra.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("base") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    done = subprocess.run([*pip, str(ROOT)], capture_output=True, text=True)
    if done.returncode:
        pytest.fail(f"pip install of the base package failed:\n{done.stderr[-3000:]}")
    return venv / "bin"


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return {**env, "JAX_PLATFORMS": "cpu"}


@pytest.mark.slow
def test_base_install_runs_song2000_json(base_venv, tmp_path):
    listed = subprocess.run(
        [str(base_venv / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "matplotlib" not in names and "torch" not in names  # base only
    out = subprocess.run(
        [str(base_venv / "jstdp"), "song2000", "--json", "--quick"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(),
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 11 and all(r["seconds"] == 2.0 for r in rows)
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_base_install_names_the_extra_for_figures(base_venv, tmp_path):
    out = subprocess.run(
        [str(base_venv / "jstdp"), "song2000", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "jstdp song2000: error: figures need matplotlib: pip install "
        "'jstdp[cli]' (or use --json)"
    ]
