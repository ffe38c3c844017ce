"""The ``jstdp`` command (also ``python -m jstdp``).

Subcommands::

    jstdp song2000            Song et al. (2000) / Guetig et al. (2003): weight
                              distributions of four STDP rules and a mu sweep
    jstdp receptive-fields    conv2d STDP on natural images: a kernel grid

Each prints one JSON line per result to stdout and, unless ``--json``, writes
a PNG figure and a JSON file to ``--out``. A bad flag value prints one line
``jstdp <command>: error: ...`` to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from jstdp.rules.norse import ALGORITHMS

QUICK_SECONDS = 2.0


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(kind: type, test: Callable[[Any], bool], want: str) -> Callable:
    """An argparse ``type`` that parses ``kind`` and checks ``test``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}") from None
        if not (math.isfinite(value) and test(value)):
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}")
        return value

    parse.__name__ = want  # argparse names the type in its messages
    return parse


_positive = _number(float, lambda x: x > 0, "a number > 0")
_non_negative = _number(float, lambda x: x >= 0, "a number >= 0")
_dt = _number(float, lambda x: 0 < x <= 1e-3, "a time step in (0, 0.001] s")
_count = _number(int, lambda x: x >= 1, "an integer >= 1")
_seed = _number(int, lambda x: 0 <= x < 2**32, "an integer in [0, 2**32)")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed",
        type=_seed,
        nargs="+",
        default=[0],
        metavar="N",
        help="random seed(s); several run together (default 0)",
    )
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
    parser = _Parser(
        prog="jstdp",
        description="Norse-exact STDP in JAX: the experiments.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    song = sub.add_parser(
        "song2000",
        help="Song et al. (2000) / Guetig et al. (2003): four rules and a mu sweep",
        description=(
            "1000 Poisson inputs drive one conductance-based LIF neuron through "
            "plastic weights. Runs every STDP rule and the multiplicative_pow mu "
            "sweep (all seeds) as one compiled, vmapped call; prints one JSON "
            "line per run, writes DIR/song2000.png and DIR/song2000.json."
        ),
    )
    song.add_argument(
        "--algorithm",
        nargs="+",
        choices=ALGORITHMS,
        default=list(ALGORITHMS),
        metavar="NAME",
        help=f"STDP rules (default all: {', '.join(ALGORITHMS)})",
    )
    song.add_argument(
        "--mu",
        type=_non_negative,
        nargs="+",
        metavar="MU",
        help="mu values of multiplicative_pow (default 0 0.01 0.02 0.05 0.1 0.2 0.5 1)",
    )
    song.add_argument(
        "--seconds",
        type=_positive,
        metavar="S",
        help="simulated seconds (default 80; --quick: 2)",
    )
    song.add_argument(
        "--dt",
        type=_dt,
        default=1e-3,
        metavar="DT",
        help="time step in seconds (default 0.001)",
    )
    song.add_argument(
        "--inputs",
        type=_count,
        default=1000,
        metavar="N",
        help="number of Poisson inputs (default 1000)",
    )
    song.add_argument(
        "--rate",
        type=_positive,
        default=15.0,
        metavar="HZ",
        help="input rate in Hz (default 15)",
    )
    _add_common(song)
    song.set_defaults(configure=_song2000_config, execute=_song2000, parser=song)

    fields = sub.add_parser(
        "receptive-fields",
        help="conv2d STDP on natural images: a grid of learned kernels",
        description=(
            "ON/OFF (difference-of-Gaussians) filtered patches of the scikit-learn "
            "sample images, Poisson-encoded, drive conv2d LIF neurons that compete "
            "(winner-take-all across kernels) and learn with STDP. Writes "
            "DIR/receptive_fields.png and DIR/receptive_fields.json."
        ),
    )
    fields.add_argument(
        "--kernels",
        type=_count,
        default=16,
        metavar="K",
        help="number of kernels (default 16)",
    )
    fields.add_argument(
        "--presentations",
        type=_count,
        metavar="N",
        help="patch batches shown (default 600; --quick: 20)",
    )
    _add_common(fields)
    fields.set_defaults(
        configure=_receptive_fields_configs, execute=_receptive_fields, parser=fields
    )
    return parser


def _print_rows(rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        print(json.dumps(row), flush=True)


def _song2000_config(args: argparse.Namespace) -> Any:
    from jstdp import experiments

    overrides: dict[str, Any] = {}
    seconds = args.seconds or (QUICK_SECONDS if args.quick else None)
    if seconds is not None:
        overrides["seconds"] = seconds
    if args.mu is not None:
        overrides["mus"] = tuple(args.mu)
    return experiments.Song2000Config(
        dt=args.dt,
        inputs=args.inputs,
        rate_hz=args.rate,
        algorithms=tuple(dict.fromkeys(args.algorithm)),
        seeds=tuple(args.seed),
        **overrides,
    )


def _song2000(args: argparse.Namespace, config: Any) -> list[Path]:
    from jstdp import experiments

    result = experiments.song2000(config, progress=True)
    _print_rows(result.rows)
    if args.json:
        return []
    args.out.mkdir(parents=True, exist_ok=True)
    png, js = args.out / "song2000.png", args.out / "song2000.json"
    experiments.song2000_figure(result).savefig(png, dpi=110)
    js.write_text(json.dumps(experiments.song2000_json(result)) + "\n")
    return [png, js]


def _receptive_fields_configs(args: argparse.Namespace) -> list[Any]:
    from jstdp import experiments

    overrides: dict[str, Any] = {}
    if args.presentations is not None:
        overrides["presentations"] = args.presentations
    elif args.quick:
        overrides["presentations"] = experiments.QUICK_PRESENTATIONS
    return [
        experiments.ReceptiveFieldsConfig(kernels=args.kernels, seed=s, **overrides)
        for s in dict.fromkeys(args.seed)
    ]


def _receptive_fields(args: argparse.Namespace, configs: list[Any]) -> list[Path]:
    from jstdp import experiments

    paths = []
    for config in configs:
        result = experiments.receptive_fields(config, progress=True)
        _print_rows([result.row])
        if args.json:
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        suffix = "" if len(configs) == 1 else f"_seed{config.seed}"
        png = args.out / f"receptive_fields{suffix}.png"
        js = args.out / f"receptive_fields{suffix}.json"
        experiments.receptive_fields_figure(result).savefig(png, dpi=110)
        js.write_text(json.dumps(experiments.receptive_fields_json(result)) + "\n")
        paths += [png, js]
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jstdp`` command; returns the exit status (2 on a bad flag)."""
    args = _parser().parse_args(argv)
    if not args.json and args.out.exists() and not args.out.is_dir():
        args.parser.error(
            f"--out must be a directory, got the existing file {args.out}"
        )
    try:
        config = args.configure(args)
    except ValueError as err:  # a combination of values the config rejects
        args.parser.error(str(err))
    for path in args.execute(args, config):
        print(f"wrote {path}", file=sys.stderr)
    return 0
