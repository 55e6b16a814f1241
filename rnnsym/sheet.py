"""Solution sheets: exercises rendered as a LaTeX document, and built to PDF.

>>> from rnnsym.exercise import reference
>>> tex = Sheet([reference()]).tex()
>>> tex.startswith("\\\\documentclass")
True
>>> "\\\\frac{\\\\partial L}{\\\\partial W_{h}} &= -4 + 12 = 8" in tex
True
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .errors import InputError, TeXError
from .exercise import Exercise
from .render import Line, RenderOptions, join_parts

__all__ = ["Sheet", "write_atomic", "check_writable", "compile_pdf", "build_pdf", "ROW_WIDTH"]

#: Estimated width (in characters of typeset math) above which a chain is
#: broken over several rows.
ROW_WIDTH = 75

_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{breqn}
\usepackage{booktabs}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5\baselineskip}
\allowdisplaybreaks
"""


def _width(latex: str) -> float:
    """A rough estimate of how wide ``latex`` typesets, in characters."""
    text = re.sub(r"\\(left|right)", "", latex)
    text = text.replace(r"\frac", "\0")
    text = re.sub(r"\\[A-Za-z]+", "x", text)
    text = re.sub(r"[_^]\{([^{}]*)\}", lambda m: "x" * ((len(m.group(1)) + 1) // 2), text)
    fraction = re.compile(r"\0\{([^{}]*)\}\{([^{}]*)\}")
    while fraction.search(text):
        text = fraction.sub(lambda m: "x" * max(len(m.group(1)), len(m.group(2))), text)
    return len(re.sub(r"[{} ]", "", text)) * 1.2


def rows(line: Line, width: float = ROW_WIDTH) -> list[str]:
    """``line`` as ``align`` rows: ``lhs &= …``, long chains continued on
    further rows that begin with ``&=`` (only the last row is numbered)."""
    lhs, rest = line.parts[0], list(line.parts[1:])
    if not rest:
        return [f"{lhs} &"]
    groups: list[list[str]] = [[rest[0]]]
    used = _width(lhs) + _width(rest[0])
    for part in rest[1:]:
        w = _width(part)
        if used + w > width:
            groups.append([part])
            used = _width(lhs) / 2 + w
        else:
            groups[-1].append(part)
            used += w
    out = []
    for i, group in enumerate(groups):
        head = lhs + " " if i == 0 else ""
        sep = "" if group[0].startswith(r"\approx") else "= "
        out.append(f"{head}&{sep}{join_parts(group)}" + (r" \nonumber" if i < len(groups) - 1 else ""))
    return out


def display(lines: Sequence[Line], width: float = ROW_WIDTH) -> str:
    """``lines`` as numbered relation chains: runs of ordinary lines in one
    ``align`` block (long chains continued on further rows), a line with a part
    too wide for a row in a ``dmath`` block of its own (breqn breaks it)."""
    blocks: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            body = " \\\\\n  ".join(run)
            blocks.append(f"\\begin{{align}}\n  {body}\n\\end{{align}}")
            run.clear()

    for line in lines:
        if any(_width(part) > width for part in line.parts):
            flush()
            blocks.append(f"\\begin{{dmath}}\n  {line}\n\\end{{dmath}}")
        else:
            run.extend(rows(line, width))
    flush()
    return "\n".join(blocks)


@dataclass(frozen=True)
class Sheet:
    """Exercises to typeset as one document of worked answers."""

    exercises: Sequence[Exercise]
    options: RenderOptions = field(default_factory=RenderOptions)
    title: str | None = None

    def __post_init__(self) -> None:
        if not self.exercises:
            raise InputError("sheet.exercises", list(self.exercises), "at least one exercise")

    def tex(self) -> str:
        """The complete LaTeX document."""
        title = self.title or self.exercises[0].title
        out = [_PREAMBLE, f"\\title{{{title}}}", r"\date{}", r"\begin{document}", r"\maketitle"]
        for exercise in self.exercises:
            if len(self.exercises) > 1:
                out.append(f"\\section*{{{exercise.title}}}")
            if exercise.intro:
                out.append(exercise.intro)
            for question, answer in exercise.answers(self.options):
                out.append(f"\\subsection*{{{question.label}}}")
                if question.text:
                    out.append(question.text)
                out.append(r"\paragraph{Answer}")
                if question.show is not None:
                    out.extend(item if isinstance(item, str) else display(item) for item in answer)
                else:
                    out.append(display(answer.lines(exercise.values, self.options)))
                if question.answer_text:
                    out.append(question.answer_text)
        out.append(r"\end{document}")
        return "\n\n".join(out) + "\n"


def check_writable(path: Path) -> Path:
    """``path`` if a file can be written there, else :class:`~rnnsym.errors.InputError`."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not str(path) or path.name in ("", ".", ".."):
        raise InputError("output", str(path), "a file name")
    if path.is_dir():
        raise InputError("output", str(path), "a file path, not a directory")
    if not parent.is_dir():
        raise InputError("output", str(path), f"a path in an existing directory ({parent} is not one)")
    if not os.access(parent, os.W_OK):
        raise InputError("output", str(path), f"a path in a writable directory ({parent} is not writable)")
    return path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so no partial file is left."""
    path = check_writable(Path(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise InputError("output", str(path), f"a writable path ({error.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise InputError("output", str(path), f"a writable path ({error.strerror})") from None


_ERROR_LINE = re.compile(r"^(?P<file>[^:\n]+\.tex):(?P<line>\d+): (?P<message>.+)$", re.M)


def compile_pdf(tex: str, name: str = "sheet.tex", latexmk: str = "latexmk") -> bytes:
    """Compile ``tex`` with latexmk (pdflatex) in a temporary folder; the PDF's bytes.

    On failure :class:`~rnnsym.errors.TeXError` carries the first error as
    ``name:line: message``.
    """
    if shutil.which(latexmk) is None:
        raise TeXError(f"{latexmk}: not found; install TeX (texlive-latex-base texlive-latex-recommended latexmk)")
    with tempfile.TemporaryDirectory(prefix="rnnsym-") as tmp:
        source = Path(tmp) / "sheet.tex"
        source.write_text(tex, encoding="utf-8")
        command = [latexmk, "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", source.name]
        try:
            result = subprocess.run(command, cwd=tmp, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise TeXError(f"{name}: latexmk did not finish within 300 s") from None
        built = source.with_suffix(".pdf")
        if result.returncode != 0 or not built.exists():
            log = source.with_suffix(".log")
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else result.stdout
            match = _ERROR_LINE.search(text)
            if match:
                raise TeXError(f"{name}:{match['line']}: {match['message'].strip()}")
            raise TeXError(f"{name}: latexmk failed (exit {result.returncode})")
        return built.read_bytes()


def build_pdf(tex: str, pdf_path: Path, latexmk: str = "latexmk") -> Path:
    """Compile ``tex`` and write the PDF to ``pdf_path`` (nothing is written on failure)."""
    pdf_path = check_writable(Path(pdf_path))
    write_atomic(pdf_path, compile_pdf(tex, pdf_path.with_suffix(".tex").name, latexmk))
    return pdf_path
