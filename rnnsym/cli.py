"""The ``rnnsym`` command.

``rnnsym sheet [EXERCISE.toml] [-o OUT.tex] [--pdf]`` writes a solution sheet
(the reference exercise when no file is given); ``rnnsym derive [EXERCISE.toml]
"dL/dW_h"`` prints the lines of one derivation; ``rnnsym check
[EXERCISE.toml] [--expect KEY.toml]`` checks every answer, and an answer key
(exit status 1 on a disagreement); ``rnnsym init [NAME.toml] [--cell CELL]``
writes an exercise file to start from.  Errors in the input print one line on
stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from . import __version__
from .errors import InputError, RnnsymError, TeXError
from .exercise import REFERENCE, Exercise, Question, load, reference
from .limits import TEX_TIMEOUT
from .outputs import check_output, write_file
from .printing import RenderOptions
from .rules import ACTIVATIONS
from .derivation import derive as _derivation
from .derivation.truncate import CONVENTIONS
from .sheet import Sheet
from .tex import INSTALL_HINT, compile_pdf
from .templates import TEMPLATES, template

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


def _exercise(path: str | None) -> Exercise:
    return reference() if path is None else load(path)


def _options(args: argparse.Namespace) -> RenderOptions:
    return RenderOptions(times=args.times, partial=args.partial, numbers=not args.no_numbers)


_FORMATS = {".tex": "tex", ".pdf": "pdf"}


def _targets(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """Where the sheet goes: (the .tex, the .pdf or None); (None, None) for standard output."""
    if args.output == "-":
        if args.pdf:
            raise _usage("--pdf needs an output file, not '-'")
        return None, None
    if args.output == "":
        raise InputError("output", "", "a file name ending in .tex or .pdf, or - for standard output")
    stem = Path(args.exercise).stem if args.exercise else Path(REFERENCE).stem
    path = Path(args.output) if args.output else Path(f"{stem}.tex")
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError("output", str(path), "a file name ending in .tex or .pdf (-o x.pdf writes x.tex beside it), or - for standard output")
    if kind == "pdf":
        return path.with_suffix(".tex"), path
    return path, (path.with_suffix(".pdf") if args.pdf else None)


def _sheet(args: argparse.Namespace) -> int:
    exercise = _exercise(args.exercise)
    tex_path, pdf_path = _targets(args)
    inputs = [args.exercise] if args.exercise else []
    for path in (tex_path, pdf_path):
        if path is not None:
            check_output(path, inputs)
    document = Sheet([exercise], _options(args), trust_latex=args.trust_latex).document()
    if tex_path is None:
        sys.stdout.write(document.text)
        return 0
    if pdf_path is None:
        write_file(tex_path, document.text, inputs)
        print(f"wrote {tex_path}")
        return 0
    if shutil.which("latexmk") is None:
        write_file(tex_path, document.text, inputs)
        print(f"wrote {tex_path}")
        print(f"rnnsym: no PDF: latexmk was not found; install TeX ({INSTALL_HINT}) and run again", file=sys.stderr)
        return 1
    try:
        data = compile_pdf(document, args.tex_timeout)
    except TeXError as error:
        write_file(tex_path, document.text, inputs)
        where = f" (line {error.line})" if error.line else ""
        raise TeXError(f"{error}; no PDF was written, the LaTeX is kept in {tex_path}{where}", error.line,
                       error.origin, error.tex_message) from None
    write_file(tex_path, document.text, inputs)
    write_file(pdf_path, data, inputs)
    print(f"wrote {tex_path} and {pdf_path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .grading import check_exercise, load_key

    exercise = _exercise(args.exercise)
    key = load_key(args.expect, exercise) if args.expect else None
    result = check_exercise(exercise, key)
    print(f"{exercise.title} ({exercise.source})")
    print(result)
    return 0 if result.ok else 1


def _derive(args: argparse.Namespace) -> int:
    if args.exercise is None and args.find.lower().endswith(".toml"):
        raise _usage(f"the following arguments are required: find, after the exercise {args.find!r} "
                     f"(e.g. rnnsym derive {shlex.quote(args.find)} \"dL/dW_h\")")
    exercise = _exercise(args.exercise)
    question = exercise.ask(args.find, split=args.split)
    truncated = args.truncate is not None or args.truncation is not None
    answer = _truncated(exercise, question, args) if truncated else exercise.answer(question)
    options = _options(args) if args.digits is None else replace(_options(args), approx_digits=args.digits)
    for line in answer.latex(exercise.evaluation, options):
        print(line)
    for note in answer.notes(exercise.evaluation, options):
        print(f"% {note}")
    return 0


def _truncated(exercise: Exercise, question: Question, args: argparse.Namespace):
    """``derive --truncate K [--truncation C]``: truncated BPTT; an error names the flag."""
    if question.wrt is None:
        raise InputError("--truncate", args.truncate, f"no truncation for a quantity ({question.find!r}), only for a derivative")
    try:
        return _derivation(exercise.graph, question.of, question.wrt, question.split,
                           args.truncate, args.truncation or "per-loss")
    except InputError as error:
        if error.field not in ("truncate", "truncation"):
            raise
        expected = error.expected.replace("truncation=", "--truncation ").replace("(truncation ", "(--truncation ")
        raise InputError(f"--{error.field}", error.value, expected) from None


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


def _init(args: argparse.Namespace) -> int:
    """``rnnsym init [NAME] [--cell CELL] [--activation ACT]``: a new exercise file, never over an existing one."""
    try:
        text = template(args.cell, args.activation)
    except InputError as error:  # named as the flag
        raise InputError(f"--{error.field}", error.value, error.expected) from None
    if args.name == "-":
        sys.stdout.write(text)
        return 0
    path = Path(args.name)
    if path.suffix.lower() != ".toml":
        raise InputError("NAME", args.name, "a file name ending in .toml, or - for standard output")
    check_output(path, field="NAME")  # a name the file system takes, in a writable folder
    if path.is_symlink() or path.exists():
        raise InputError("NAME", args.name, "a new file name (it exists; rnnsym init never overwrites a file)")
    write_file(path, text, field="NAME")
    cell = args.cell or ("elman" if args.activation else None)
    what = "the reference exercise, every key explained" if cell is None else f"an exercise on the {cell} cell"
    print(f"wrote {path} ({what})")
    print(f"next: rnnsym sheet {shlex.quote(str(path))} --pdf")
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
    sheet.add_argument("--pdf", action="store_true", help="also build the PDF with latexmk (sandboxed)")
    sheet.add_argument("--tex-timeout", type=_seconds, default=TEX_TIMEOUT, metavar="SECONDS",
                       help=f"stop a PDF build that takes longer (default {TEX_TIMEOUT:g})")
    sheet.add_argument("--trust-latex", action="store_true",
                       help="allow any LaTeX command in intro, text and answer (for a file you trust)")
    render_flags(sheet)
    sheet.set_defaults(run=_sheet)

    derive = commands.add_parser("derive", help="print the lines of one derivation")
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
    render_flags(derive)
    derive.set_defaults(run=_derive)

    check = commands.add_parser("check", help="check every answer of an exercise, and an answer key")
    check.add_argument("exercise", nargs="?", help="exercise TOML file (default: the reference exercise)")
    check.add_argument("--expect", metavar="KEY.toml", help="answer key: an [answers] table of labels and numbers or formulas")
    check.set_defaults(run=_check)

    init = commands.add_parser("init", help="write an exercise file to start from")
    init.add_argument("name", nargs="?", default="exercise.toml", metavar="NAME",
                      help="the file to write, a new .toml file, or - for stdout (default: exercise.toml)")
    init.add_argument("--cell", choices=sorted(TEMPLATES), help="a short exercise on this cell (default: the reference exercise, every key explained)")
    init.add_argument("--activation", choices=list(ACTIVATIONS), help="the elman cell's activation (implies --cell elman)")
    init.set_defaults(run=_init)
    return parser


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
    except _UsageError as error:
        print(f"rnnsym: error: {error}", file=sys.stderr)
        return 2
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
