"""What each ``rnnsym`` command does, given its parsed arguments (:mod:`rnnsym.cli` parses them).

``sheet`` writes a run's sheet (LaTeX, PDF or Markdown) and its answer key;
``export`` its Moodle XML, CSV or key; ``derive`` prints one derivation;
``check`` checks every answer; ``init`` writes an exercise file to start from.
Each returns the exit status.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
import shlex
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from .errors import InputError, TeXError
from .exercise import REFERENCE, Exercise, Question, load, reference
from .outputs import check_output, write_file
from .printing import RenderOptions, markdown, text
from .printing.as_markdown import text_to_markdown
from .derivation import derive as _derivation
from .diagram import network_figure
from .lms import lms_csv, moodle_xml
from .runs import prepare
from .sheet import Header, given_values
from .tex import INSTALL_HINT, compile_pdf
from .templates import template

__all__ = ["sheet", "export", "check", "derive", "init", "UsageError"]


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
    stem = Path(args.exercise[0]).stem if args.exercise else Path(REFERENCE).stem
    path = Path(args.output) if args.output else Path(f"{stem}.tex")
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError("output", str(path), "a file name ending in .tex or .pdf (-o x.pdf writes x.tex beside it), .md for Markdown, or - for standard output")
    if kind == "md" and args.pdf:
        raise _usage("--pdf needs a .tex or .pdf output, not a Markdown file")
    if kind == "pdf":
        return path.with_suffix(".tex"), path
    return path, (path.with_suffix(".pdf") if args.pdf else None)


def _run(args: argparse.Namespace):
    """The exercises, variants and questions a ``sheet`` or ``export`` run works on."""
    questions = None if args.questions is None else [q.strip() for q in args.questions.split(",") if q.strip()]
    if args.seed is not None and args.variants is None:
        raise _usage("--seed needs --variants N")
    with _as_flags("seed", "draws"):
        return prepare(args.exercise, count=args.variants, seed=1 if args.seed is None else args.seed,
                       draws=args.draws, questions=questions)


@contextmanager
def _as_flags(*names: str):
    """An InputError about one of ``names`` is reported under its flag (``--seed``)."""
    try:
        yield
    except InputError as error:
        if error.field not in names:
            raise
        raise InputError(f"--{error.field}", error.value, error.expected) from None


def sheet(args: argparse.Namespace) -> int:
    """``rnnsym sheet``: the run's sheet as LaTeX (and PDF) or Markdown, and its answer key."""
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
    markdown_out = tex_path is not None and tex_path.suffix.lower() == ".md"
    kind = args.kind or ("both" if run.drawn and not markdown_out else "solutions")
    if markdown_out:
        if kind != "solutions":
            raise _usage("a Markdown sheet (-o X.md) holds the worked solutions; write --kind questions or both as .tex or .pdf")
        if run.drawn:
            print(run.report())
        _write_all(tex_path, _markdown(run, _options(args)), keys, run.key() if keys else None, inputs)
        print(_wrote([tex_path, *keys]))
        return 0
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


def _markdown(run, options: RenderOptions) -> str:
    """The run's worked solutions as Markdown; a drawn variant headed "Variant n" and its values stated."""
    parts = []
    for v in run.variants:
        exercise = v.exercise
        if run.drawn:
            exercise = replace(exercise, title=f"Variant {v.index}: {exercise.title}")
        text = markdown(exercise, options=options).rstrip("\n")
        if run.drawn:  # the values, after the heading line
            given = text_to_markdown(given_values(v.exercise, options))
            head, _, rest = text.partition("\n")
            text = f"{head}\n\n{given}\n{rest}"
        parts.append(text)
    return "\n\n".join(parts) + "\n"


def _wrote(paths: list[Path | None]) -> str:
    names = [str(p) for p in paths if p is not None]
    return "wrote " + (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0])


def _write_all(tex_path: Path, text: str, keys: list[Path], key, inputs: list[str]) -> None:
    write_file(tex_path, text, inputs)
    if keys:
        write_file(keys[0], key.to_csv(), inputs)
        write_file(keys[1], key.to_json(), inputs)


_EXPORTS = {".xml": "moodle", ".csv": "csv", ".json": "key-json"}
_SUFFIX = {"moodle": ".xml", "csv": ".csv", "key-csv": ".csv", "key-json": ".json"}


def export(args: argparse.Namespace) -> int:
    """``rnnsym export``: the run as Moodle XML, a plain CSV or its answer key."""
    run = _run(args)
    stem = Path(args.exercise[0]).stem if args.exercise else Path(REFERENCE).stem
    given = None if args.output in (None, "-") else Path(args.output).suffix.lower()
    if given is not None and given not in _EXPORTS:
        raise InputError("output", args.output, "a file name ending in .xml (Moodle), .csv or .json, or - for standard output")
    fmt = args.format or _EXPORTS.get(given) or "moodle"
    if given is not None and given != _SUFFIX[fmt]:
        raise InputError("output", args.output, f"a file name ending in {_SUFFIX[fmt]} for --format {fmt}")
    if args.output == "-":
        path = None
    else:
        default = {"moodle": ".xml", "csv": ".csv", "key-csv": "-key.csv", "key-json": "-key.json"}[fmt]
        path = Path(args.output) if args.output else Path(f"{stem}{default}")
        check_output(path, list(args.exercise))
    tolerance = {"rtol": args.rtol, "atol": args.atol}
    with _as_flags("rtol", "atol"):
        if fmt == "moodle":
            text = moodle_xml(run.variants, trust_latex=args.trust_latex, by_question=args.by_question, **tolerance)
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


def check(args: argparse.Namespace) -> int:
    """``rnnsym check``: every answer checked, and an answer key."""
    from .grading import check_exercise, load_key

    if args.variants is None:
        if args.seed is not None:
            raise _usage("--seed needs --variants N")
        exercises = [_exercise(args.exercise)]
    else:
        if args.expect:
            raise _usage("--expect checks one exercise's key: it cannot go with --variants")
        with _as_flags("seed"):
            run = prepare([args.exercise] if args.exercise else [], count=args.variants,
                          seed=1 if args.seed is None else args.seed)
        print(run.report())
        exercises = run.exercises
    ok = True
    for n, exercise in enumerate(exercises, start=1):
        key = load_key(args.expect, exercise) if args.expect else None
        result = check_exercise(exercise, key)
        print(f"{exercise.title} ({exercise.source}" + (f", variant {n})" if args.variants else ")"))
        print(result)
        ok = ok and result.ok
    return 0 if ok else 1


def derive(args: argparse.Namespace) -> int:
    """``rnnsym derive``: one derivation's lines, as text, Markdown or LaTeX."""
    if args.exercise is None and args.find.lower().endswith(".toml"):
        raise _usage(f"the following arguments are required: find, after the exercise {args.find!r} "
                     f"(e.g. rnnsym derive {shlex.quote(args.find)} \"dL/dW_h\")")
    exercise = _exercise(args.exercise)
    question = exercise.ask(args.find, split=args.split)
    truncated = args.truncate is not None or args.truncation is not None
    answer = _truncated(exercise, question, args) if truncated else exercise.answer(question)
    options = _options(args) if args.digits is None else replace(_options(args), approx_digits=args.digits)
    if args.format != "latex":
        written = (text if args.format == "text" else markdown)(answer, exercise.evaluation, options)
        print(written.rstrip("\n"))
        return 0
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


def init(args: argparse.Namespace) -> int:
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


class UsageError(Exception):
    """A command line that parses but cannot run (one line, exit status 2)."""


def _usage(message: str) -> UsageError:
    return UsageError(message)
