"""Bad inputs to the jstdp command."""

from __future__ import annotations

import contextlib
import io

import pytest
from bad_inputs import (
    Case,
    UsageError,
    case,
    cases_of,
    check_case,
)

import jstdp
import jstdp.cli
import jstdp.interop
import jstdp.nn
import jstdp.plot

# ------------------------------------------------------------------- CLI --


def cli(*argv: str) -> int:
    """``jstdp.cli.main(argv)``, a usage error (exit 2) raised as UsageError."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return jstdp.cli.main(list(argv))
    except SystemExit as e:
        if e.code == 2:
            raise UsageError(err.getvalue()) from None
        raise


for flag, value, want in [
    ("--dt", "-1", r"argument --dt: dt must be a finite number > 0 and <= 0.001"),
    ("--dt", "0", r"argument --dt: dt must be a finite number > 0"),
    ("--dt", "0.01", r"argument --dt: dt must be a finite number > 0 and <= 0.001"),
    ("--dt", "nan", r"argument --dt: dt must be a finite number"),
    ("--dt", "1ms", r"argument --dt: expected a number, got '1ms'"),
    ("--dt", "1e-12", r"argument --seconds: .*the step count is int32"),
    ("--dt", "5e-324", r"argument --seconds: .*the step count is int32"),
    ("--seconds", "0", r"argument --seconds: seconds must be a finite number > 0"),
    ("--seconds", "inf", r"argument --seconds: seconds must be a finite number > 0"),
    ("--seconds", "1e300", r"argument --seconds: .*the step count is int32"),
    ("--inputs", "0", r"argument --inputs: inputs must be an int >= 1"),
    ("--inputs", "2.5", r"argument --inputs: expected an integer, got '2.5'"),
    ("--rate", "-15", r"argument --rate: rate_hz must be a finite number > 0"),
    ("--rate", "2000", r"argument --rate: rate_hz must be <= 1 / dt = 1000 Hz"),
    ("--mu", "-0.5", r"argument --mu: mus must be a non-empty list of finite"),
    ("--mu", "nan", r"argument --mu: mus must be a non-empty list of finite"),
    ("--algorithm", "hebbian", r"argument --algorithm: algorithms must be distinct"),
    ("--seed", "-1", r"argument --seed: seeds must be an int >= 0"),
    ("--seed", str(2**32), r"argument --seed: seeds must be an int <= 4294967295"),
    ("--delay", "-1", r"argument --delay: delay must be an int >= 0"),
    ("--bogus", "1", r"unrecognized arguments: --bogus"),
]:
    case(
        f"cli/song2000{flag}={value}",
        f"`jstdp song2000 {flag} {value}`",
        UsageError,
        want,
    )(lambda flag=flag, value=value: cli("song2000", flag, value, "--json"))

for flag, value, want in [
    ("--kernels", "0", r"argument --kernels: kernels must be an int >= 1"),
    ("--presentations", "-3", r"argument --presentations: presentations must be an"),
    ("--seed", "-3", r"argument --seed: seed must be an int >= 0"),
]:
    case(
        f"cli/receptive-fields{flag}={value}",
        f"`jstdp receptive-fields {flag} {value}`",
        UsageError,
        want,
    )(lambda flag=flag, value=value: cli("receptive-fields", flag, value, "--json"))


@case(
    "cli/out-under-a-file",
    "`jstdp song2000 --out FILE/out` (a path under an existing file)",
    UsageError,
    r"--out .* cannot be written",
)
def cli_out_under_a_file():
    import tempfile

    with tempfile.NamedTemporaryFile() as f:
        return cli("song2000", "--quick", "--out", f.name + "/out")


@case(
    "cli/no-command",
    "`jstdp`",
    UsageError,
    r"the following arguments are required: command",
)
def cli_no_command():
    return cli()


@case("cli/unknown-command", "`jstdp train`", UsageError, r"invalid choice: 'train'")
def cli_unknown_command():
    return cli("train")


@pytest.mark.parametrize("c", cases_of(__name__), ids=lambda c: c.id)
def test_bad_input(c: Case):
    check_case(c)
