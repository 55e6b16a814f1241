"""The ``rnnsym`` command.

``rnnsym sheet [EXERCISE.toml] [-o OUT.tex] [--pdf]`` writes a solution sheet
(the reference exercise when no file is given); ``rnnsym derive EXERCISE.toml
"dL/dW_h"`` prints the lines of one derivation; ``rnnsym check
[EXERCISE.toml] [--expect KEY.toml]`` checks every answer, and an answer key
(exit status 1 on a disagreement).  Errors in the input print one line on
stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from . import __version__
from .errors import InputError, RnnsymError
from .exercise import REFERENCE, Exercise, load, reference
from .render import RenderOptions
from .sheet import Sheet, check_writable, compile_pdf, write_atomic

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"rnnsym: error: {message} (see '{self.prog} --help')\n")


def _exercise(path: str | None) -> Exercise:
    return reference() if path is None else load(path)


def _options(args: argparse.Namespace) -> RenderOptions:
    return RenderOptions(times=args.times, partial=args.partial, numbers=not args.no_numbers)


def _sheet(args: argparse.Namespace) -> int:
    exercise = _exercise(args.exercise)
    tex = Sheet([exercise], _options(args)).tex()
    if args.output == "-":
        if args.pdf:
            raise _usage("--pdf needs an output file, not '-'")
        sys.stdout.write(tex)
        return 0
    if args.output == "":
        raise InputError("output", "", "a file name or - for stdout")
    stem = Path(args.exercise).stem if args.exercise else Path(REFERENCE).stem
    out = check_writable(Path(args.output) if args.output else Path(f"{stem}.tex"))
    if args.pdf:
        pdf = check_writable(out.with_suffix(".pdf"))
        data = compile_pdf(tex, out.name)
        write_atomic(out, tex)
        write_atomic(pdf, data)
        print(f"wrote {out} and {pdf}")
    else:
        write_atomic(out, tex)
        print(f"wrote {out}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .answers import check_exercise, load_key

    exercise = _exercise(args.exercise)
    key = load_key(args.expect, exercise) if args.expect else None
    result = check_exercise(exercise, key)
    print(f"{exercise.title} ({exercise.source})")
    print(result)
    return 0 if result.ok else 1


def _derive(args: argparse.Namespace) -> int:
    exercise = _exercise(args.exercise)
    question = exercise.ask(args.find, split=args.split)
    for line in exercise.answer(question).latex(exercise.values, _options(args)):
        print(line)
    return 0


class _UsageError(Exception):
    pass


def _usage(message: str) -> _UsageError:
    return _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnsym", description="Derive and explain gradients of recurrent neural networks.")
    parser.add_argument("--version", action="version", version=f"rnnsym {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def render_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--times", choices=["times", "cdot"], default="times", help="multiplication sign")
        p.add_argument("--partial", choices=["partial", "d"], default="partial", help="derivative symbol")
        p.add_argument("--no-numbers", action="store_true", help="omit the line with numbers substituted")

    sheet = commands.add_parser("sheet", help="write a LaTeX (or PDF) solution sheet")
    sheet.add_argument("exercise", nargs="?", help="exercise TOML file (default: the reference exercise)")
    sheet.add_argument("-o", "--output", help="output .tex file, or - for stdout (default: EXERCISE.tex)")
    sheet.add_argument("--pdf", action="store_true", help="also build the PDF with latexmk")
    render_flags(sheet)
    sheet.set_defaults(run=_sheet)

    derive = commands.add_parser("derive", help="print the lines of one derivation")
    derive.add_argument("exercise", help="exercise TOML file")
    derive.add_argument("find", help='a quantity ("yhat_2") or a derivative ("dL/dW_h")')
    derive.add_argument("--split", choices=["loss", "step"], default="loss", help="split per loss term or per time step")
    render_flags(derive)
    derive.set_defaults(run=_derive)

    check = commands.add_parser("check", help="check every answer of an exercise, and an answer key")
    check.add_argument("exercise", nargs="?", help="exercise TOML file (default: the reference exercise)")
    check.add_argument("--expect", metavar="KEY.toml", help="answer key: an [answers] table of labels and numbers or formulas")
    check.set_defaults(run=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2
    try:
        return args.run(args)
    except _UsageError as error:
        print(f"rnnsym: error: {error}", file=sys.stderr)
        return 2
    except RnnsymError as error:
        print(f"rnnsym: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnsym: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
