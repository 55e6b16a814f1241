"""The ``rnnsym`` command.

``rnnsym sheet [EXERCISE.toml] [-o OUT.tex] [--pdf]`` writes a solution sheet
(the reference exercise when no file is given; ``-o OUT.md`` writes it as
Markdown); ``rnnsym derive EXERCISE.toml "dL/dW_h" [--format text|markdown|latex]``
prints the lines of one derivation; ``rnnsym check
[EXERCISE.toml] [--expect KEY.toml]`` checks every answer, and an answer key
(exit status 1 on a disagreement).  Errors in the input print one line on
stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
from pathlib import Path
from typing import Sequence

from . import __version__
from .errors import InputError, RnnsymError, TeXError
from .exercise import REFERENCE, Exercise, load, reference
from .limits import TEX_TIMEOUT
from .outputs import check_output, write_file
from .printing import RenderOptions
from .sheet import Sheet
from .tex import INSTALL_HINT, compile_pdf

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"rnnsym: error: {message} (see '{self.prog} --help')\n")


def _exercise(path: str | None) -> Exercise:
    return reference() if path is None else load(path)


def _options(args: argparse.Namespace) -> RenderOptions:
    return RenderOptions(times=args.times, partial=args.partial, numbers=not args.no_numbers)


_FORMATS = {".tex": "tex", ".pdf": "pdf", ".md": "md"}


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
        raise InputError("output", str(path), "a file name ending in .tex or .pdf (-o x.pdf writes x.tex beside it), .md for Markdown, or - for standard output")
    if kind == "md" and args.pdf:
        raise _usage("--pdf needs a .tex or .pdf output, not a Markdown file")
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
    if tex_path is not None and tex_path.suffix.lower() == ".md":
        from .printing import markdown

        write_file(tex_path, markdown(exercise, options=_options(args)), inputs)
        print(f"wrote {tex_path}")
        return 0
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
    from .printing import markdown, text

    exercise = _exercise(args.exercise)
    question = exercise.ask(args.find, split=args.split)
    answer = exercise.answer(question)
    if args.format != "latex":
        written = (text if args.format == "text" else markdown)(answer, exercise.evaluation, _options(args))
        print(written.rstrip("\n"))
        return 0
    for line in answer.latex(exercise.evaluation, _options(args)):
        print(line)
    for note in answer.notes(exercise.evaluation, _options(args)):
        print(f"% {note}")
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
    sheet.add_argument("-o", "--output", help="output .tex, .pdf or .md (Markdown) file, or - for stdout (default: EXERCISE.tex)")
    sheet.add_argument("--pdf", action="store_true", help="also build the PDF with latexmk (sandboxed)")
    sheet.add_argument("--tex-timeout", type=_seconds, default=TEX_TIMEOUT, metavar="SECONDS",
                       help=f"stop a PDF build that takes longer (default {TEX_TIMEOUT:g})")
    sheet.add_argument("--trust-latex", action="store_true",
                       help="allow any LaTeX command in intro, text and answer (for a file you trust)")
    render_flags(sheet)
    sheet.set_defaults(run=_sheet)

    derive = commands.add_parser("derive", help="print the lines of one derivation")
    derive.add_argument("exercise", help="exercise TOML file")
    derive.add_argument("find", help='a quantity ("yhat_2") or a derivative ("dL/dW_h")')
    derive.add_argument("--split", choices=["auto", "loss", "step"], default="auto",
                        help="per loss term (the textbook), per time step (the recursion), or chosen by size (default)")
    derive.add_argument("--format", choices=["text", "markdown", "latex"], default="text",
                        help="Unicode text for a terminal (default), Markdown, or LaTeX lines")
    render_flags(derive)
    derive.set_defaults(run=_derive)

    check = commands.add_parser("check", help="check every answer of an exercise, and an answer key")
    check.add_argument("exercise", nargs="?", help="exercise TOML file (default: the reference exercise)")
    check.add_argument("--expect", metavar="KEY.toml", help="answer key: an [answers] table of labels and numbers or formulas")
    check.set_defaults(run=_check)
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
