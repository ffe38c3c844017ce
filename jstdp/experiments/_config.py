"""Experiment settings as the single source of the ``jstdp`` command's flags.

A config dataclass marks the fields that are command-line flags with
:func:`option`; the command builds its flags, their help text and defaults
from those fields (so the two cannot disagree), and the config's own checks
validate what the user typed.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def option(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    metavar: str = "X",
    quick: Any = None,
) -> Any:
    """A config field that is also a flag of the ``jstdp`` command.

    Args:
        default: the default value (a number, or a tuple for a list flag).
        help: one line for ``--help`` (the default is appended).
        flag: the flag's name (default ``--field-name``).
        metavar: the placeholder in ``--help``.
        quick: the value under ``--quick``, if it differs.
    """
    return dataclasses.field(
        default=default,
        metadata={"help": help, "flag": flag, "metavar": metavar, "quick": quick},
    )


def flags(config: type) -> list[dataclasses.Field]:
    """The fields of ``config`` that are command-line flags, in order."""
    return [f for f in dataclasses.fields(config) if "help" in f.metadata]


def flag_name(f: dataclasses.Field) -> str:
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")


def quick(config: type) -> dict[str, Any]:
    """The overrides of ``--quick``."""
    return {
        f.name: f.metadata["quick"]
        for f in flags(config)
        if f.metadata["quick"] is not None
    }
