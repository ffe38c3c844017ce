"""Execute every notebook in notebooks/ with small settings (JSTDP_NOTEBOOK_SMALL=1).

The kernel is this interpreter (``sys.executable``, a kernelspec written to a
temporary directory), so the notebooks see the same environment as the tests,
on CPU with matplotlib's Agg backend. Notebooks must be committed with their
outputs stripped.
"""

import json
import pathlib
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300  # generous: a loaded 2-core CI machine compiles slowly
KERNEL = "jstdp-tests"


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory):
    """A Jupyter data dir whose kernel runs ``sys.executable`` with CI settings."""
    root = tmp_path_factory.mktemp("jupyter")
    (root / "kernels" / KERNEL).mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "jstdp tests",
        "language": "python",
        "env": {
            "JSTDP_NOTEBOOK_SMALL": "1",
            "JAX_PLATFORMS": "cpu",
            "MPLBACKEND": "Agg",
        },
    }
    (root / "kernels" / KERNEL / "kernel.json").write_text(json.dumps(spec))
    return str(root)


def test_there_are_notebooks():
    assert [nb.name[:2] for nb in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_is_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: strip the outputs before committing"
            )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs(path, jupyter_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", jupyter_path)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert errors == []
