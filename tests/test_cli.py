"""The jstdp command: help, one-line flag errors (exit 2), quick end-to-end runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from jstdp.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"
SONG_KEYS = {"algorithm", "mu", "seed", "seconds", "frac_near_min", "frac_near_max"}
SONG_KEYS |= {"mean", "std", "rate_hz", "wall_s"}


def _lines(text):
    return [json.loads(line) for line in text.splitlines()]


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "song2000" in out and "receptive-fields" in out


def test_song2000_help_lists_flags(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["song2000", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--algorithm", "--mu", "--seconds", "--seed", "--dt", "--inputs"):
        assert flag in out
    for flag in ("--rate", "--out", "--json", "--quick"):
        assert flag in out


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the following arguments are required: command"),
        (["song3000"], "invalid choice: 'song3000'"),
        (
            ["song2000", "--dt", "0.01"],
            "--dt: dt must be a finite number > 0 and <= 0.001",
        ),
        (["song2000", "--dt", "abc"], "--dt: expected a number, got 'abc'"),
        (
            ["song2000", "--dt", "1e-12"],
            "--seconds: seconds must be <= (2**31 - 1) * dt",
        ),
        (["song2000", "--dt", "5e-324"], "the step count is int32"),
        (["song2000", "--seconds", "1e300"], "the step count is int32"),
        (["song2000", "--mu", "0.1", "-1"], "--mu: mus must be a non-empty list"),
        (["song2000", "--mu", "nan"], "--mu: mus must be a non-empty list of finite"),
        (
            ["song2000", "--seconds", "0"],
            "--seconds: seconds must be a finite number > 0",
        ),
        (["song2000", "--seconds", "0.01"], "seconds must be >= chunks * dt"),
        (
            ["song2000", "--algorithm", "hebb"],
            "--algorithm: algorithms must be distinct",
        ),
        (["song2000", "--inputs", "1.5"], "--inputs: expected an integer, got '1.5'"),
        (["song2000", "--rate", "-3"], "--rate: rate_hz must be a finite number > 0"),
        (["song2000", "--rate", "5000"], "rate_hz must be <= 1 / dt = 1000 Hz"),
        (["song2000", "--seed", "-1"], "--seed: seeds must be an int >= 0, got -1"),
        (["song2000", "--delay", "-1"], "--delay: delay must be an int >= 0"),
        (["song2000", "--bogus"], "unrecognized arguments: --bogus"),
        (
            ["receptive-fields", "--kernels", "0"],
            "--kernels: kernels must be an int >= 1",
        ),
        (["receptive-fields", "--presentations", "x"], "--presentations: expected"),
        (
            ["receptive-fields", "--seed", "4294967296"],
            "--seed: seed must be an int <=",
        ),
    ],
)
def test_bad_flag_is_one_line_and_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("jstdp") and ": error: " in lines[0]
    assert message in lines[0]


def test_help_defaults_are_the_configs(capsys):
    """One source of defaults: the flags' help shows the config's values."""
    from jstdp.experiments import Song2000Config

    with pytest.raises(SystemExit):
        main(["song2000", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    config = Song2000Config()
    assert f"(default {config.seconds}; --quick: 2.0)" in out
    assert f"(default {config.rate_hz})" in out and f"(default {config.g_max})" in out


def test_unwritable_out_fails_before_the_run(capsys, tmp_path):
    """--out under a file: one line, exit 2, nothing computed or printed."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as exit_:
        main(["song2000", "--quick", "--out", str(blocker / "out")])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "cannot be written" in captured.err


def test_song2000_quick_writes_figure_json_and_lines(capsys, tmp_path):
    out = tmp_path / "out"
    argv = ["song2000", "--quick", "--algorithm", "additive", "multiplicative_pow"]
    argv += ["--mu", "0", "1", "--inputs", "100", "--rate", "150", "--seed", "0", "7"]
    assert main([*argv, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    rows = _lines(captured.out)
    assert [(r["algorithm"], r["mu"], r["seed"]) for r in rows] == [
        ("additive", 0.0, 0),
        ("additive", 0.0, 7),
        ("multiplicative_pow", 0.0, 0),
        ("multiplicative_pow", 0.0, 7),
        ("multiplicative_pow", 1.0, 0),
        ("multiplicative_pow", 1.0, 7),
    ]
    for r in rows:
        assert SONG_KEYS <= set(r)
        assert r["seconds"] == 2.0
    assert (out / "song2000.png").read_bytes()[:8] == PNG
    saved = json.loads((out / "song2000.json").read_text())
    assert saved["rows"] == rows
    assert saved["config"]["inputs"] == 100
    assert f"wrote {out / 'song2000.png'}" in captured.err


def test_python_m_jstdp_json_only_writes_nothing(tmp_path):
    out = tmp_path / "never"
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    argv = ["song2000", "--quick", "--json", "--algorithm", "additive"]
    argv += ["--inputs", "50", "--seconds", "0.5", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "jstdp", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = _lines(proc.stdout)
    assert row["algorithm"] == "additive" and row["seconds"] == 0.5
    assert not out.exists()


def test_receptive_fields_writes_kernel_grid(capsys, tmp_path):
    argv = ["receptive-fields", "--kernels", "4", "--presentations", "2"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    (row,) = _lines(capsys.readouterr().out)
    assert row["experiment"] == "receptive_fields"
    assert (row["kernels"], row["presentations"], row["seed"]) == (4, 2, 0)
    assert (tmp_path / "receptive_fields.png").read_bytes()[:8] == PNG
    saved = json.loads((tmp_path / "receptive_fields.json").read_text())
    assert saved["row"] == row
    assert len(saved["kernels"]) == 4


DIEHL_COOK_KEYS = {
    "neurons", "train_samples", "test_samples", "epochs", "accuracy",
    "accuracy_train", "seed", "simulated_s", "wall_s", "train_samples_per_s",
}  # fmt: skip


def test_diehl_cook_help_lists_flags(capsys):
    with pytest.raises(SystemExit):
        main(["diehl-cook", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for flag in ("--neurons", "--epochs", "--train-samples", "--test-samples"):
        assert flag in out
    for flag in ("--seed", "--mnist-dir", "--quick", "--out", "--json"):
        assert flag in out
    assert "excitatory neurons (default 100; --quick: 40)" in out
    assert "(the code: 3 over 60,000) (default 4)" in out
    assert "rate; the code's is 1e-4 (default 0.001)" in out
    assert "rate; the code's is 1e-2 (default 0.1)" in out
    assert "(default: the bundled 5,000)" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--neurons", "0"], "--neurons: neurons must be an int >= 1"),
        (["--epochs", "x"], "--epochs: expected an integer, got 'x'"),
        (["--nu-post", "-0.1"], "--nu-post: nu_post must be a finite number >= 0"),
        (["--nu-pre", "fast"], "--nu-pre: expected a number, got 'fast'"),
        (["--mnist-dir", "/no/such/dir"], "directory /no/such/dir: no such directory"),
        (["--train-samples", "4001"], "train_samples = 4001 and test_samples"),
    ],
)
def test_diehl_cook_bad_flags_fail_before_the_run(capsys, tmp_path, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(["diehl-cook", *argv, "--out", str(tmp_path)])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("jstdp diehl-cook: error: ") and message in line


def test_diehl_cook_writes_figure_json_and_line(capsys, tmp_path):
    argv = ["diehl-cook", "--neurons", "10", "--train-samples", "60"]
    argv += ["--test-samples", "40", "--seed", "3", "--out", str(tmp_path)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    (row,) = _lines(captured.out)
    assert set(row) == DIEHL_COOK_KEYS
    assert (row["neurons"], row["train_samples"], row["test_samples"]) == (10, 60, 40)
    assert row["seed"] == 3 and 0 <= row["accuracy"] <= 1
    assert (tmp_path / "diehl_cook.png").read_bytes()[:8] == PNG
    saved = json.loads((tmp_path / "diehl_cook.json").read_text())
    assert saved["row"] == row and len(saved["assignments"]) == 10
    assert saved["config"]["neurons"] == 10
