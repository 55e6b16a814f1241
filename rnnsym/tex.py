"""TeX as a boundary: plain text escaped, an author's LaTeX vetted, TeX itself sandboxed.

An exercise file may come from anyone.  Its text reaches a TeX run in two
ways, and each is made safe on its own:

- keys that are plain text by design (``title``, a question's ``label``) are
  *escaped* by :func:`escape`: ``\\input{x}`` prints as those characters;
- keys that are LaTeX by design (``intro``, a question's ``text`` and
  ``answer``) are *vetted* by :func:`vet`: commands that read or write files,
  run programs, define macros or change how TeX reads its input
  (:data:`DENIED`) are refused with an error naming the key, unless the
  author's file is trusted (``--trust-latex``);
- whatever the input, :func:`compile_pdf` runs latexmk without shell escape,
  with TeX's file access limited to its own folder (``openin_any=p``,
  ``openout_any=p``), no latexmk rc files, in a process group of its own that
  is killed as a whole on timeout, error or signal, in a temporary folder
  that is always removed.

>>> escape("Loss_t & 100% of $x$")
'Loss\\\\_t \\\\& 100\\\\% of \\\\$x\\\\$'
>>> vet(r"Compute $\\hat{y}_2$.", "questions[0].text")
'Compute $\\\\hat{y}_2$.'
>>> vet(r"\\input{/etc/passwd}", "intro")
Traceback (most recent call last):
...
rnnsym.errors.InputError: intro: got '\\\\input', expected LaTeX without commands that read or write files, run programs or define macros (\\input, \\write, \\def, \\catcode, \\usepackage, … are refused; pass --trust-latex for a file you trust)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from .errors import InputError, TeXError
from .limits import TEX_TIMEOUT

#: Points a typeset line may pass the page's width by before a build is refused.
MAX_OVERFULL = 3.0

#: The date of a PDF when ``SOURCE_DATE_EPOCH`` is not set: 0, 1970-01-01 00:00 UTC, so that the
#: same document always builds to the same bytes (a sheet prints no date; set the variable to date it).
DEFAULT_EPOCH = 0

__all__ = ["escape", "vet", "DENIED", "DENIED_ENVIRONMENTS", "Document", "compile_pdf", "INSTALL_HINT", "MAX_OVERFULL",
           "DEFAULT_EPOCH", "source_date_epoch"]

#: How to install what ``--pdf`` needs on Debian or Ubuntu.
INSTALL_HINT = "apt-get install texlive-latex-base texlive-latex-recommended texlive-pictures latexmk"

#: Control sequences refused in an author's LaTeX: file and terminal input and output,
#: programs, macro and environment definitions, catcode and input changes, packages,
#: interaction modes, output routines and hooks, fonts loaded by file name.
DENIED = frozenset(
    """
    input include includeonly InputIfFileExists IfFileExists openin openout closein closeout
    read readline write immediate newread newwrite endinput scantokens special shipout
    catcode endlinechar newlinechar makeatletter makeatother csname endcsname
    def edef gdef xdef let futurelet global long outer protected
    newcommand renewcommand providecommand DeclareRobustCommand DeclareTextCommand
    newenvironment renewenvironment newif loop repeat
    usepackage RequirePackage documentclass LoadClass PassOptionsToPackage
    batchmode nonstopmode scrollmode errorstopmode
    output everypar everymath everydisplay everyhbox everyvbox everyjob everyeof everycr
    afterassignment font includegraphics verbatiminput lstinputlisting directlua latelua
    """.split()
)
#: Prefixes of refused control sequences (pdfTeX's and LuaTeX's own primitives).
DENIED_PREFIXES = ("pdf", "lua")
#: Environments refused in an author's LaTeX.
DENIED_ENVIRONMENTS = frozenset({"filecontents", "filecontents*", "document"})

_EXPECTED = (
    "LaTeX without commands that read or write files, run programs or define macros "
    r"(\input, \write, \def, \catcode, \usepackage, … are refused; pass --trust-latex for a file you trust)"
)
_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\^{}",
    "_": r"\_",
    "~": r"\~{}",
    "%": r"\%",
}
_TOKEN = re.compile(r"\\([A-Za-z]+|.?)|%[^\n]*|\^\^|[{}$]", re.S)
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{([^{}]*)\}")


def escape(text: str) -> str:
    """``text`` as LaTeX that prints exactly those characters (line breaks become spaces)."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text)
    return "".join(_SPECIAL.get(c, c) for c in text)


def vet(text: str, field: str, trust: bool = False) -> str:
    """``text``, an author's LaTeX, if it is safe to typeset; else an
    :class:`~rnnsym.errors.InputError` naming ``field`` and the first refused
    command.  Braces must balance.  With ``trust`` only the braces are checked."""
    depth, shifts = 0, []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token == "$":
            shifts.append(match.start())
        elif token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth < 0:
                raise InputError(field, _excerpt(text, match.start()), "LaTeX with balanced braces (a '}' closes nothing)")
        elif trust:
            continue
        elif token == "^^":
            raise InputError(field, "^^", _EXPECTED.replace("(", "(TeX's ^^ character codes, ", 1))
        elif token.startswith("\\"):
            name = match.group(1)
            if name in DENIED or name.startswith(DENIED_PREFIXES) and name.isalpha():
                raise InputError(field, "\\" + name, _EXPECTED)
    if depth > 0:
        raise InputError(field, _excerpt(text, len(text)), "LaTeX with balanced braces (a '{' is never closed)")
    if len(shifts) % 2:
        raise InputError(field, _excerpt(text, shifts[-1] + 1), "LaTeX whose math is closed (an odd number of '$')")
    if not trust:
        for match in _ENVIRONMENT.finditer(text):
            if match.group(1).strip() in DENIED_ENVIRONMENTS:
                raise InputError(field, match.group(), _EXPECTED)
    return text


def _excerpt(text: str, at: int) -> str:
    return text[max(0, at - 30) : at + 10]


# --- documents and the TeX run ----------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A LaTeX document and where each of its lines came from.

    ``origins`` holds ``(first, last, key)``: lines ``first`` to ``last``
    (1-based) were written from ``key`` (``"title"``, ``"questions[2].text"``,
    ``"the answer to 1.d"``), so that a TeX error can name what caused it.
    """

    text: str
    origins: tuple[tuple[int, int, str], ...] = ()

    @classmethod
    def join(cls, pieces: Sequence[tuple[str, str | None]], separator: str = "\n\n") -> "Document":
        """A document from ``(text, key)`` pieces joined by ``separator``."""
        origins, line = [], 1
        step = separator.count("\n")
        for text, key in pieces:
            lines = text.count("\n")
            if key is not None:
                origins.append((line, line + lines, key))
            line += lines + step
        return cls(separator.join(text for text, _ in pieces) + "\n", tuple(origins))

    def origin(self, line: int) -> str | None:
        """The key line ``line`` was written from, if known."""
        for first, last, key in self.origins:
            if first <= line <= last:
                return key
        return None


_FILE_LINE = re.compile(r"^(?P<file>[^\n:]*?\.(?:tex|sty|cls|def|cfg|fd|clo|aux)):(?P<line>\d+): (?P<message>[^\n]*)$", re.M)
_BANG = re.compile(r"^! (?P<message>[^\n]*)$", re.M)
_CONTEXT = re.compile(r"^l\.(?P<line>\d+) (?P<context>[^\n]*)$", re.M)


def source_date_epoch(environ: Mapping[str, str] | None = None) -> str:
    """The time a PDF is dated with, in seconds since 1970-01-01 UTC: ``SOURCE_DATE_EPOCH``
    when it is set (the convention of reproducible builds,
    https://reproducible-builds.org/specs/source-date-epoch/), else :data:`DEFAULT_EPOCH`.
    A value that is not a whole number of seconds is an :class:`~rnnsym.errors.InputError`.

    >>> source_date_epoch({"SOURCE_DATE_EPOCH": "1700000000"}), source_date_epoch({})
    ('1700000000', '0')
    """
    environ = os.environ if environ is None else environ
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return str(DEFAULT_EPOCH)
    if not value.isdigit() or len(value) > 12:
        raise InputError("SOURCE_DATE_EPOCH", value, "a whole number of seconds since 1970-01-01 UTC")
    return value


def _sandbox_environment() -> dict[str, str]:
    """The environment of the TeX run: TeX may open files only in its own folder
    (and TeX's own trees), may not run programs, and writes nowhere else; the PDF
    is dated :func:`source_date_epoch` (pdfTeX reads ``SOURCE_DATE_EPOCH`` for its
    dates and its /ID, and ``FORCE_SOURCE_DATE=1`` for ``\\today`` and ``\\time``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TEXMFOUTPUT", "openin_any", "openout_any", "shell_escape")}
    env.update(openin_any="p", openout_any="p", shell_escape="f", shell_escape_commands="")
    env.update(SOURCE_DATE_EPOCH=source_date_epoch(), FORCE_SOURCE_DATE="1")
    return env


def _kill(process: subprocess.Popen) -> None:
    """Stop ``process`` and every process it started (its own process group), and wait
    until the whole group is gone."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.01)


def compile_pdf(document: Document | str, timeout: float = TEX_TIMEOUT, latexmk: str = "latexmk",
                max_overfull: float | None = MAX_OVERFULL) -> bytes:
    """Compile ``document`` with latexmk (pdflatex), sandboxed; the PDF's bytes.

    The run takes place in a temporary folder that is removed however it ends,
    in a new process group killed as a whole on timeout, on an exception and
    on KeyboardInterrupt.  On failure :class:`~rnnsym.errors.TeXError` gives
    TeX's error (its ``!`` line), the line of the document and the key it was
    written from; its ``line`` and ``origin`` attributes hold them too.  A
    line wider than the page by more than ``max_overfull`` points (TeX's
    "Overfull \\hbox") is an error too (``None``: allowed).

    The same document builds to the same bytes: the PDF is dated
    ``SOURCE_DATE_EPOCH`` (:data:`DEFAULT_EPOCH` when unset), which also
    seeds its /ID, and the run's folder name appears nowhere in it.
    """
    if isinstance(document, str):
        document = Document(document)
    if shutil.which(latexmk) is None:
        raise TeXError(f"{latexmk}: not found, so no PDF was made; install TeX ({INSTALL_HINT})")
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout <= 3600):
        raise InputError("tex_timeout", timeout, "a number of seconds above 0 and at most 3600")
    with tempfile.TemporaryDirectory(prefix="rnnsym-") as tmp:
        source = Path(tmp) / "sheet.tex"
        source.write_text(document.text, encoding="utf-8")
        command = [
            latexmk, "-norc", "-pdf", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
            "-file-line-error", "-pdflatex=pdflatex -no-shell-escape %O %S", source.name,
        ]
        process = subprocess.Popen(
            command, cwd=tmp, env=_sandbox_environment(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise _timed_out(timeout) from None
        except BaseException:
            _kill(process)
            raise
        built = source.with_suffix(".pdf")
        if process.returncode != 0 or not built.exists():
            log = source.with_suffix(".log")
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else output.decode(errors="replace")
            raise _failure(text, document, process.returncode)
        if max_overfull is not None:
            log = source.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
            _check_overfull(log, document, max_overfull)
        return built.read_bytes()


_OVERFULL = re.compile(r"^Overfull \\hbox \((?P<points>[\d.]+)pt too wide\) (?:in paragraph at lines (?P<first>\d+)--\d+"
                       r"|detected at line (?P<line>\d+)|in alignment at lines (?P<align>\d+)--\d+)", re.M)


def _check_overfull(log: str, document: Document, tolerance: float) -> None:
    """Raise :class:`~rnnsym.errors.TeXError` for the widest line that passes the page by more than ``tolerance`` points."""
    worst = None
    for match in _OVERFULL.finditer(log):
        points = float(match["points"])
        if points > tolerance and (worst is None or points > float(worst["points"])):
            worst = match
    if worst is None:
        return
    line = int(worst["first"] or worst["line"] or worst["align"])
    origin = document.origin(line)
    source = f" (from {origin})" if origin else ""
    message = f"a line {float(worst['points']):.1f} pt wider than the page"
    raise TeXError(f"TeX set {message} at line {line} of the LaTeX{source}", line, origin, message)


def _timed_out(timeout: float) -> TeXError:
    return TeXError(f"TeX did not finish within {timeout:g} s and was stopped (a loop in the document's LaTeX?)",
                    tex_message="timeout")


def _failure(log: str, document: Document, status: int) -> TeXError:
    """The TeXError for a failed run, from the first error in TeX's log."""
    found = [m for m in (_FILE_LINE.search(log), _BANG.search(log)) if m]
    first = min(found, key=lambda m: m.start()) if found else None
    message = first["message"].strip() if first else f"latexmk failed (exit status {status})"
    line = None
    context = _CONTEXT.search(log, first.end()) if first else None
    if first is not None and "file" in first.groupdict():
        if Path(first["file"]).name == "sheet.tex":
            line = int(first["line"])
        else:
            message += f" (in {Path(first['file']).name}, line {first['line']})"
            context = None
    elif context is not None:
        line = int(context["line"])
    if context is not None and context["context"].strip():
        message += f" (at {context['context'].strip()[-40:]})"
    origin = document.origin(line) if line is not None else None
    where = f"line {line} of the LaTeX" if line is not None else "the LaTeX"
    source = f" (from {origin})" if origin else ""
    return TeXError(f"TeX failed at {where}{source}: {message}", line, origin, message)
