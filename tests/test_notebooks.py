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
KERNEL_NO_TORCH = "jstdp-tests-no-torch"


def write_kernel(root, name, env):
    """A kernelspec ``name`` under ``root`` running ``sys.executable`` with ``env``."""
    (root / "kernels" / name).mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": name,
        "language": "python",
        "env": {
            "JSTDP_NOTEBOOK_SMALL": "1",
            "JAX_PLATFORMS": "cpu",
            "MPLBACKEND": "Agg",
            # Two CPU devices, so the sharded sweeps run their multi-device path.
            "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
            **env,
        },
    }
    (root / "kernels" / name / "kernel.json").write_text(json.dumps(spec))


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory):
    """A Jupyter data dir with the test kernels; see :func:`write_kernel`."""
    root = tmp_path_factory.mktemp("jupyter")
    write_kernel(root, KERNEL, {})
    # Without torch and NEST (as on a Colab TPU runtime): sys.modules[name] =
    # None makes importlib.util.find_spec(name) return None and `import name` fail.
    hide = root / "no_torch"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "for name in ('torch', 'norse', 'nir', 'nirtorch', 'nest'):\n"
        "    sys.modules[name] = None\n"
    )
    write_kernel(root, KERNEL_NO_TORCH, {"PYTHONPATH": str(hide)})
    return str(root)


def execute(path, kernel):
    """Run a notebook in ``kernel`` (cwd: its folder); return the executed copy."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def outputs(nb, output_type):
    return [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == output_type
    ]


def test_there_are_notebooks():
    assert [nb.name[:2] for nb in NOTEBOOKS] == [
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "07",
    ]


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
    nb = execute(path, KERNEL)
    assert outputs(nb, "error") == []  # execute() raises first; kept as a guard


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, skipped, comparison",
    [
        ("norse", "torch or norse is not installed", "max |w"),
        ("rules", "NEST is not installed", "w_NEST"),
    ],
)
def test_notebooks_skip_what_is_not_installed(
    jupyter_path, monkeypatch, name, skipped, comparison
):
    """Without torch, Norse and NEST (as on a Colab TPU runtime) the Norse
    and NEST notebooks say so and skip their comparisons."""
    monkeypatch.setenv("JUPYTER_PATH", jupyter_path)
    (path,) = [nb for nb in NOTEBOOKS if name in nb.name]
    nb = execute(path, KERNEL_NO_TORCH)
    text = "".join(out.text for out in outputs(nb, "stream"))
    assert skipped in text
    assert comparison not in text  # no comparison ran
