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
from .errors import InputError, NoVariantError, RnnsymError, TeXError
from .exercise import REFERENCE, Exercise, Question, load, reference
from .limits import TEX_TIMEOUT
from .outputs import check_output, write_file
from .printing import RenderOptions
from .rules import ACTIVATIONS
from .derivation import derive as _derivation
from .derivation.truncate import CONVENTIONS
from .diagram import network_figure
from .key import ATOL, RTOL
from .lms import lms_csv, moodle_xml
from .runs import prepare
from .sheet import Header
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
    stem = Path(args.exercise[0]).stem if args.exercise else Path(REFERENCE).stem
    path = Path(args.output) if args.output else Path(f"{stem}.tex")
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError("output", str(path), "a file name ending in .tex or .pdf (-o x.pdf writes x.tex beside it), or - for standard output")
    if kind == "pdf":
        return path.with_suffix(".tex"), path
    return path, (path.with_suffix(".pdf") if args.pdf else None)


def _run(args: argparse.Namespace):
    """The exercises, variants and questions a ``sheet`` or ``export`` run works on."""
    questions = None if args.questions is None else [q.strip() for q in args.questions.split(",") if q.strip()]
    if args.seed is not None and args.variants is None:
        raise _usage("--seed needs --variants N")
    return prepare(args.exercise, count=args.variants, seed=1 if args.seed is None else args.seed,
                   draws=args.draws, questions=questions)


def _sheet(args: argparse.Namespace) -> int:
    tex_path, pdf_path = _targets(args)
    inputs = list(args.exercise)
    keys = []
    if args.variants is not None or args.key:
        if tex_path is None:
            raise _usage("--variants and --key write the answer key beside the sheet: give -o FILE, not '-'")
        keys = [tex_path.with_name(f"{tex_path.stem}-key{ext}") for ext in (".csv", ".json")]
    run = _run(args)
    for path in (tex_path, pdf_path, *keys):
        if path is not None:
            check_output(path, inputs)
    kind = args.kind or ("both" if run.drawn else "solutions")
    header = Header(args.course or "", args.date or "", args.instructions or "")
    sheet = run.sheet(options=_options(args), trust_latex=args.trust_latex, kind=kind, header=header,
                      figure=None if args.no_figure else network_figure)
    document = sheet.document()
    key = run.key() if keys else None
    if run.drawn:
        print(run.report())
    if tex_path is None:
        sys.stdout.write(document.text)
        return 0
    data = None
    if pdf_path is not None:
        if shutil.which("latexmk") is None:
            _write_all(tex_path, document.text, keys, key, inputs)
            print(_wrote([tex_path, *keys]))
            print(f"rnnsym: no PDF: latexmk was not found; install TeX ({INSTALL_HINT}) and run again", file=sys.stderr)
            return 1
        try:
            data = compile_pdf(document, args.tex_timeout)
        except TeXError as error:
            write_file(tex_path, document.text, inputs)
            where = f" (line {error.line})" if error.line else ""
            raise TeXError(f"{error}; no PDF was written, the LaTeX is kept in {tex_path}{where}", error.line,
                           error.origin, error.tex_message) from None
    _write_all(tex_path, document.text, keys, key, inputs)
    if data is not None:
        write_file(pdf_path, data, inputs)
    print(_wrote([tex_path, *keys, pdf_path]))
    return 0


def _wrote(paths: list[Path | None]) -> str:
    names = [str(p) for p in paths if p is not None]
    return "wrote " + (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0])


def _write_all(tex_path: Path, text: str, keys: list[Path], key, inputs: list[str]) -> None:
    write_file(tex_path, text, inputs)
    if keys:
        write_file(keys[0], key.to_csv(), inputs)
        write_file(keys[1], key.to_json(), inputs)


_EXPORTS = {".xml": "moodle", ".csv": "csv", ".json": "key-json"}


def _export(args: argparse.Namespace) -> int:
    run = _run(args)
    stem = Path(args.exercise[0]).stem if args.exercise else Path(REFERENCE).stem
    fmt = args.format or (_EXPORTS.get(Path(args.output).suffix.lower()) if args.output not in (None, "-") else None) or "moodle"
    if args.output == "-":
        path = None
    else:
        default = {"moodle": ".xml", "csv": ".csv", "key-csv": "-key.csv", "key-json": "-key.json"}[fmt]
        path = Path(args.output) if args.output else Path(f"{stem}{default}")
        check_output(path, list(args.exercise))
    tolerance = {"rtol": args.rtol, "atol": args.atol}
    if fmt == "moodle":
        text = moodle_xml(run.variants, trust_latex=args.trust_latex, **tolerance)
    elif fmt == "csv":
        text = lms_csv(run.variants, trust_latex=args.trust_latex, **tolerance)
    else:
        key = run.key(**tolerance)
        text = key.to_csv() if fmt == "key-csv" else key.to_json()
    if run.drawn:
        print(run.report(), file=sys.stderr if path is None else sys.stdout)
    if path is None:
        sys.stdout.write(text)
        return 0
    write_file(path, text, list(args.exercise))
    questions = sum(1 for _ in run.key(**tolerance))
    print(f"wrote {path} ({fmt}: {len(run.variants)} variant{'s' * (len(run.variants) != 1)}, {questions} numeric answers)")
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

    def run_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("exercise", nargs="*", help="exercise TOML files (default: the reference exercise); several make one document")
        p.add_argument("--questions", metavar="LABELS", help="only these questions, e.g. 1.a,1.d")
        p.add_argument("--variants", type=_count, metavar="N", help="draw N variants of each exercise from its draw specs")
        p.add_argument("--seed", type=_integer, metavar="S", help="the seed of the draws (default 1): the same seed gives the same variants")
        p.add_argument("--draws", type=_count, metavar="N", help="give up after N draws per exercise (default: the exercise's [variants] draws, else 1000)")
        p.add_argument("--trust-latex", action="store_true",
                       help="allow any LaTeX command in intro, text and answer (for a file you trust)")

    sheet = commands.add_parser("sheet", help="write a LaTeX (or PDF) solution sheet, question sheet and answer key")
    run_flags(sheet)
    sheet.add_argument("-o", "--output", help="output .tex file, or - for stdout (default: EXERCISE.tex)")
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
    sheet.set_defaults(run=_sheet)

    export = commands.add_parser("export", help="write Moodle XML, a CSV for other LMSs, or the answer key")
    run_flags(export)
    export.add_argument("-o", "--output", help="output file, or - for stdout (default: EXERCISE.xml, by format)")
    export.add_argument("--format", choices=["moodle", "csv", "key-csv", "key-json"],
                        help="Moodle XML (default, or from -o's .xml), a plain CSV for Canvas/Blackboard (.csv), the answer key (.json)")
    export.add_argument("--rtol", default=RTOL, help=f"relative tolerance of a numeric answer (default {RTOL})")
    export.add_argument("--atol", default=ATOL, help=f"absolute tolerance of a numeric answer (default {ATOL})")
    export.set_defaults(run=_export)

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
    except _UsageError as error:
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
