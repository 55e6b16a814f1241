"""The ``rnnsym`` command.

``rnnsym sheet [EXERCISE.toml] [-o OUT.tex] [--pdf]`` writes a solution sheet
(the reference exercise when no file is given; ``-o OUT.md`` writes it as
Markdown); ``rnnsym export`` writes Moodle XML, a CSV or the answer key;
``rnnsym derive [EXERCISE.toml] "dL/dW_h" [--format text|markdown|latex]``
prints the lines of one derivation; ``rnnsym check
[EXERCISE.toml] [--expect KEY.toml]`` checks every answer, and an answer key
(exit status 1 on a disagreement); ``rnnsym init [NAME.toml] [--cell CELL]``
writes an exercise file to start from.  Errors in the input print one line on
stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from typing import Sequence

from . import __version__, commands
from .errors import NoVariantError, RnnsymError
from .limits import TEX_TIMEOUT
from .rules import ACTIVATIONS
from .derivation.truncate import CONVENTIONS
from .key import ATOL, RTOL
from .templates import TEMPLATES

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    #: options and positionals in any order, an optional positional first (``derive [EXERCISE] FIND``)
    intermixed = False

    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"rnnsym: error: {message} (see '{self.prog} --help')\n")

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        if not self.intermixed:
            return super().parse_known_args(args, namespace)
        self.intermixed = False  # parse_known_intermixed_args calls parse_known_args twice
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self.intermixed = True


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnsym", description="Derive and explain gradients of recurrent neural networks.")
    parser.add_argument("--version", action="version", version=f"rnnsym {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def render_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--times", choices=["times", "cdot"], default="times", help="multiplication sign")
        p.add_argument("--partial", choices=["partial", "d"], default="partial", help="derivative symbol")
        p.add_argument("--no-numbers", action="store_true", help="omit the line with numbers substituted")

    def run_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("exercise", nargs="*", help="exercise TOML files (default: the reference exercise); several make one document")
        p.add_argument("--questions", metavar="LABELS", help="only these questions, e.g. 1.a,1.d")
        p.add_argument("--variants", type=_count, metavar="N", help="draw N variants of each exercise from its draw specs")
        p.add_argument("--seed", type=_integer, metavar="S", help="the seed of the draws (default 1): the same seed gives the same variants")
        p.add_argument("--draws", type=_count, metavar="N", help="give up after N draws per exercise (default: the exercise's [variants] draws, else 1000)")
        p.add_argument("--trust-latex", action="store_true",
                       help="allow any LaTeX command in intro, text and answer (for a file you trust)")

    sheet = subcommands.add_parser("sheet", help="write a LaTeX (or PDF) solution sheet, question sheet and answer key")
    run_flags(sheet)
    sheet.add_argument("-o", "--output", help="output .tex, .pdf or .md (Markdown) file, or - for stdout (default: EXERCISE.tex)")
    sheet.add_argument("--pdf", action="store_true", help="also build the PDF with latexmk (sandboxed)")
    sheet.add_argument("--kind", choices=["solutions", "questions", "both"],
                       help="worked solutions (default), the questions alone, or both in one document (default with --variants)")
    sheet.add_argument("--key", action="store_true", help="also write the answer key, OUT-key.csv and OUT-key.json (always with --variants)")
    sheet.add_argument("--course", help="course name under the title")
    sheet.add_argument("--date", help="date under the title (none by default)")
    sheet.add_argument("--instructions", help="instructions before the first question (plain text)")
    sheet.add_argument("--no-figure", action="store_true", help="leave out the figure of the unrolled network")
    sheet.add_argument("--tex-timeout", type=_seconds, default=TEX_TIMEOUT, metavar="SECONDS",
                       help=f"stop a PDF build that takes longer (default {TEX_TIMEOUT:g})")
    render_flags(sheet)
    sheet.set_defaults(run=commands.sheet)

    export = subcommands.add_parser("export", help="write Moodle XML, a CSV for other LMSs, or the answer key")
    run_flags(export)
    export.add_argument("-o", "--output", help="output file, or - for stdout (default: EXERCISE.xml, by format)")
    export.add_argument("--format", choices=["moodle", "csv", "key-csv", "key-json"],
                        help="Moodle XML (default, or from -o's .xml), a plain CSV for Canvas/Blackboard (.csv), the answer key (.json)")
    export.add_argument("--by-question", action="store_true",
                        help="Moodle: a subcategory per question holding its variants, for quizzes that draw one variant at random")
    export.add_argument("--rtol", default=RTOL, help=f"relative tolerance of a numeric answer (default {RTOL})")
    export.add_argument("--atol", default=ATOL, help=f"absolute tolerance of a numeric answer (default {ATOL})")
    export.set_defaults(run=commands.export)

    derive = subcommands.add_parser("derive", help="print the lines of one derivation")
    derive.intermixed = True
    derive.add_argument("exercise", nargs="?", help="exercise TOML file (default: the reference exercise)")
    derive.add_argument("find", help='a quantity ("yhat_2") or a derivative ("dL/dW_h")')
    derive.add_argument("--split", choices=["auto", "loss", "step"], default="auto",
                        help="per loss term (the textbook), per time step (the recursion), or chosen by size (default)")
    derive.add_argument("--truncate", type=_truncate_k, metavar="K",
                        help="truncated BPTT: each loss term back-propagated K steps (K1,K2 with --truncation k1-k2)")
    derive.add_argument("--truncation", choices=CONVENTIONS, help="the truncation convention (default per-loss)")
    derive.add_argument("--digits", type=_digits, metavar="N",
                        help="significant digits of the decimals shown for irrational values (default 6)")
    derive.add_argument("--format", choices=["text", "markdown", "latex"], default="text",
                        help="Unicode text for a terminal (default), Markdown, or LaTeX lines")
    render_flags(derive)
    derive.set_defaults(run=commands.derive)

    check = subcommands.add_parser("check", help="check every answer of an exercise, and an answer key")
    check.add_argument("exercise", nargs="?", help="exercise TOML file (default: the reference exercise)")
    check.add_argument("--expect", metavar="KEY.toml", help="answer key: an [answers] table of labels and numbers or formulas")
    check.add_argument("--variants", type=_count, metavar="N", help="check N variants drawn from the exercise's draw specs")
    check.add_argument("--seed", type=_integer, metavar="S", help="the seed of the draws (default 1)")
    check.set_defaults(run=commands.check)

    init = subcommands.add_parser("init", help="write an exercise file to start from")
    init.add_argument("name", nargs="?", default="exercise.toml", metavar="NAME",
                      help="the file to write, a new .toml file, or - for stdout (default: exercise.toml)")
    init.add_argument("--cell", choices=sorted(TEMPLATES), help="a short exercise on this cell (default: the reference exercise, every key explained)")
    init.add_argument("--activation", choices=list(ACTIVATIONS), help="the elman cell's activation (implies --cell elman)")
    init.set_defaults(run=commands.init)
    return parser


def _truncate_k(text: str) -> int | tuple[int, int]:
    """``K`` or ``K1,K2`` as argparse reads ``--truncate``."""
    parts = text.split(",")
    if 1 <= len(parts) <= 2 and all(re.fullmatch(r"\s*[0-9]{1,9}\s*", p) for p in parts):
        numbers = tuple(int(p) for p in parts)
        return numbers[0] if len(numbers) == 1 else numbers
    raise argparse.ArgumentTypeError(f"got {text!r}, expected K, an integer >= 1 (or K1,K2 with --truncation k1-k2)")

#: ``derive --digits``: at most this many significant digits, the limit of RenderOptions.approx_digits.
_MAX_DIGITS = 50


def _digits(text: str) -> int:
    value = int(text) if re.fullmatch(r"\s*[0-9]{1,3}\s*", text) else 0
    if not 1 <= value <= _MAX_DIGITS:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a number of significant digits from 1 to {_MAX_DIGITS}")
    return value


def _integer(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,18}", text.strip()):
        raise argparse.ArgumentTypeError(f"got {text!r}, expected an integer")
    return int(text)


def _count(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected an integer >= 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a number of seconds above 0 and at most 3600")
    return value


class _Stopped(BaseException):
    """SIGTERM or SIGHUP, raised where the program is so that clean-up runs as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0: done; 1: ``check`` found a disagreement, or ``--pdf`` could not find TeX
    (the .tex is written); 2: bad input, one line on stderr, nothing written
    but a failed PDF build's .tex; 128 + n: stopped by signal n (Ctrl-C, SIGTERM,
    SIGHUP), after removing temporary files and stopping TeX.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2
    previous = {}
    try:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            previous[signum] = signal.signal(signum, _stop)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        return args.run(args)
    except commands.UsageError as error:
        print(f"rnnsym: error: {error}", file=sys.stderr)
        return 2
    except NoVariantError as error:  # the exercise is fine; no draw met its constraints
        print(f"rnnsym: no variants: {error}", file=sys.stderr)
        return 1
    except RnnsymError as error:
        print(f"rnnsym: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnsym: interrupted", file=sys.stderr)
        return 130
    except _Stopped as stopped:
        print(f"rnnsym: stopped by {signal.Signals(stopped.signum).name}", file=sys.stderr)
        return 128 + stopped.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
