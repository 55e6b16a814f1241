"""Exporting a run's variants to a learning management system: Moodle XML and a plain CSV.

:func:`moodle_xml` writes the Moodle XML question format (Moodle's own
import and export format, https://docs.moodle.org/en/Moodle_XML_format, as
``question/format/xml/format.php`` reads it): a ``<quiz>`` holding, for each
exercise, a category question (``$course$/top/<exercise title>``) followed by
one ``numerical`` question per numeric answer of each variant — one per entry
of a vector or matrix answer — and one ``essay`` question per free-text
question, with the author's answer as information for graders.  Topics
(``show``) are not exported: their answers are prose, tables and figures for
a printed sheet.  The numbers are the :class:`~rnnsym.key.AnswerKey`'s: the
answer is its ``decimal``, the tolerance its ``tolerance``.

Question texts are LaTeX with ``$…$`` math; they are rewritten for Moodle's
MathJax filter (:func:`to_mathjax`: ``\\(…\\)`` inline, ``\\[…\\]`` display)
and escaped as HTML, and the XML is written by :mod:`xml.etree.ElementTree`,
so an exercise's text stays text whatever it holds.  Each numerical question
is self-contained: the exercise's introduction, the question, and the
variant's values (``\\(h_{0} = 1\\)``, …).

:func:`lms_csv` writes the same questions as a CSV table (title, question,
answer, tolerance, …) for a system without a Moodle XML import.

>>> import xml.etree.ElementTree as ET
>>> from rnnsym.exercise import reference
>>> from rnnsym.variants import single
>>> quiz = ET.fromstring(moodle_xml(single(reference())))
>>> [q.get("type") for q in quiz]
['category', 'numerical', 'numerical', 'numerical', 'numerical']
>>> quiz[4].findtext("name/text")
'Recurrent neural networks: backpropagation through time — variant 1 — 1.d'
>>> quiz[4].findtext("answer/text"), quiz[4].findtext("answer/tolerance")
('8', '0.04')
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Sequence

from .errors import InputTypeError
from .exercise import Exercise
from .key import ATOL, DIGITS, RTOL, AnswerKey, KeyRow, _check_variants, free_text_questions
from .notation import spell
from .numbers import parse_number
from .sheet import prompt
from .tex import vet
from .variants import Variant

__all__ = ["moodle_xml", "lms_csv", "to_mathjax", "given_values", "CSV_COLUMNS", "DEFAULT_GRADE", "PENALTY"]

#: Marks a numerical or essay question is worth (Moodle's ``defaultgrade``).
DEFAULT_GRADE = "1"
#: The fraction of the marks lost per wrong try in interactive quizzes (Moodle's default).
PENALTY = "0.3333333"
#: The columns of :func:`lms_csv`.
CSV_COLUMNS = ("title", "question", "answer", "tolerance", "variant", "seed", "label", "entry", "exercise")

_MATH = re.compile(
    r"""
      \$\$(?P<display>(?:\\.|[^\\$])+)\$\$      # $$ … $$
    | \$(?P<inline>(?:\\.|[^\\$])+)\$           # $ … $
    | \\\((?P<paren>.*?)\\\)                     # \( … \)
    | \\\[(?P<bracket>.*?)\\\]                   # \[ … \]
    | \\(?P<escaped>[$%&\#_{}])                  # \$ \% \& \# \_ \{ \} in text
    | \\(?:[A-Za-z]+|.)                          # any other control sequence, kept
    | ~                                          # a non-breaking space
    """,
    re.S | re.X,
)


def to_mathjax(text: str) -> str:
    """LaTeX ``text`` with its math delimited for MathJax: ``$…$`` and ``\\(…\\)``
    become ``\\(…\\)``, ``$$…$$`` and ``\\[…\\]`` become ``\\[…\\]`` (the delimiters
    MathJax and Moodle's MathJax filter read by default); in the text around
    the math, ``\\$ \\% \\& \\# \\_ \\{ \\}`` become the characters and ``~`` a
    non-breaking space.  Other text-mode LaTeX is left as written, and a ``$``
    without its partner stays a ``$``.  The result is plain text: escape it
    for HTML before use.

    >>> print(to_mathjax(r"Compute $\\hat{y}_2$ for 100\\% of $$L = \\sum_t L_t.$$"))
    Compute \\(\\hat{y}_2\\) for 100% of \\[L = \\sum_t L_t.\\]
    >>> print(to_mathjax("costs $5"))
    costs $5
    """
    def replace(match: re.Match) -> str:
        for group, (left, right) in (("display", ("\\[", "\\]")), ("inline", ("\\(", "\\)")),
                                     ("paren", ("\\(", "\\)")), ("bracket", ("\\[", "\\]"))):
            if match.group(group) is not None:
                return left + match.group(group) + right
        if match.group("escaped") is not None:
            return match.group("escaped")
        return "\u00a0" if match.group(0) == "~" else match.group(0)

    return _MATH.sub(replace, text)


def given_values(exercise: Exercise) -> list[str]:
    """The exercise's values as LaTeX equations, one per name (per step for the
    inputs and targets), numbers spelled as the exercise writes them; vectors as
    columns and matrices row by row (``bmatrix``).

    >>> from rnnsym.exercise import reference
    >>> given_values(reference())
    ['h_{0} = 1', 'x_{1} = 10', 'x_{2} = 10', 'y_{1} = 5', 'y_{2} = 5', 'W_{h} = 1', 'W_{x} = 0.1', 'W_{y} = 2']
    """
    graph = exercise.graph
    out = []
    for key, value in exercise.values.items():
        name = str(key).replace(" ", "")
        if name in graph.sequences and isinstance(value, (list, tuple)):
            out += [f"{spell(f'{name}_{t}')} = {_value_latex(item, f'values.{name}[{t}]')}"
                    for t, item in enumerate(value, start=1)]
        else:
            out.append(f"{spell(name)} = {_value_latex(value, f'values.{name}')}")
    return out


def _value_latex(value: Any, field: str) -> str:
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(row, (list, tuple)) for row in value):
            rows = [" & ".join(_value_latex(v, f"{field}[{i}]") for v in row) for i, row in enumerate(value, 1)]
        else:
            rows = [_value_latex(v, f"{field}[{i}]") for i, v in enumerate(value, 1)]
        return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"
    return parse_number(value, field).latex


@dataclass(frozen=True)
class _Item:
    """One exported question: its name, its text as paragraphs (MathJax-delimited
    plain text), and its key row (None for an essay) or the author's answer."""

    name: str
    paragraphs: tuple[str, ...]
    row: KeyRow | None = None
    feedback: tuple[str, ...] = ()
    category: str = ""


def _paragraphs(latex: str) -> list[str]:
    return [to_mathjax(" ".join(p.split())) for p in re.split(r"\n\s*\n", latex.strip()) if p.strip()]


def _entry_text(entry: str) -> str:
    if not entry.startswith("["):  # a parameter after a training step (rnnsym.training), or one of its entries
        name, _, index = entry.partition("[")
        return f"Answer with {f'entry [{index} of ' if index else ''}{name} after the step."
    indices = entry.strip("[]").split(",")
    if len(indices) == 1:
        return f"Answer with entry {indices[0]} of the result (a vector)."
    return f"Answer with entry [{entry.strip('[]')}] of the result: row {indices[0]}, column {indices[1]}."


def _items(variants: Sequence[Variant], rtol: object, atol: object, digits: int, trust_latex: bool,
           intro: bool, by_question: bool) -> list[tuple[str, list[_Item]]]:
    """The exported questions, grouped by exercise title in order of first appearance."""
    if not isinstance(trust_latex, bool):
        raise InputTypeError("trust_latex", trust_latex, "true or false")
    if not isinstance(intro, bool):
        raise InputTypeError("intro", intro, "true or false")
    variants = _check_variants(variants)
    groups: dict[str, list[tuple[Variant, AnswerKey]]] = {}
    for variant in variants:
        key = AnswerKey.from_variants([variant], rtol=rtol, atol=atol, digits=digits)
        groups.setdefault(variant.exercise.title, []).append((variant, key))
    out = []
    for title, members in groups.items():
        items: list[_Item] = []
        for variant, key in members:
            exercise = variant.exercise
            where = f"variant {variant.index}: "
            head = _paragraphs(vet(exercise.intro, where + "intro", trust_latex)) if intro and exercise.intro else []
            given = "Given: " + ", ".join(rf"\({v}\)" for v in given_values(exercise)) + "."
            questions = {q.label: (i, q) for i, q in enumerate(exercise.questions)}
            for row in key.rows:
                i, question = questions[row.label]
                text = vet(question.text, f"{where}questions[{i}].text", trust_latex) or prompt(question)
                body = head + _paragraphs(text) + [given] + ([_entry_text(row.entry)] if row.entry else [])
                feedback = _paragraphs(vet(question.answer_text, f"{where}questions[{i}].answer", trust_latex))
                name = f"{title} — variant {variant.index} — {row.label}" + (f" {row.entry}" if row.entry else "")
                items.append(_Item(name, tuple(body), row, tuple(feedback), row.label))
        variant = members[0][0]
        exercise = variant.exercise
        head = _paragraphs(vet(exercise.intro, "intro", trust_latex)) if intro and exercise.intro else []
        for question in free_text_questions(exercise):
            i = exercise.questions.index(question)
            text = _paragraphs(vet(question.text, f"questions[{i}].text", trust_latex))
            answer = _paragraphs(vet(question.answer_text, f"questions[{i}].answer", trust_latex))
            items.append(_Item(f"{title} — {question.label}", tuple(head + text), None, tuple(answer), question.label))
        if by_question:
            order = {q.label: i for i, q in enumerate(exercise.questions)}
            items.sort(key=lambda item: order.get(item.category, len(order)))
        out.append((title, items))
    return out


def _html(paragraphs: Sequence[str]) -> str:
    """Paragraphs of plain text as an HTML fragment, written by ElementTree (text escaped)."""
    if not paragraphs:
        return ""
    div = ET.Element("div")
    for text in paragraphs:
        ET.SubElement(div, "p").text = text
    return ET.tostring(div, encoding="unicode", method="html")


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    ET.SubElement(element, "text").text = text
    return element


def _value(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _category_path(*parts: str) -> str:
    """A Moodle category path: ``/`` inside a name is written ``//``."""
    return "$course$/top/" + "/".join(p.replace("/", "//") for p in parts)


def _category(quiz: ET.Element, path: str) -> None:
    question = ET.SubElement(quiz, "question", {"type": "category"})
    _text(question, "category", path)
    _text(question, "info", "", format="html")


def _common(question: ET.Element, item: _Item, penalty: str) -> None:
    _text(question, "name", item.name)
    _text(question, "questiontext", _html(item.paragraphs), format="html")
    _text(question, "generalfeedback", _html(item.feedback) if item.row is not None else "", format="html")
    _value(question, "defaultgrade", DEFAULT_GRADE)
    _value(question, "penalty", penalty)
    _value(question, "hidden", "0")


def moodle_xml(variants: Sequence[Variant], *, rtol: object = RTOL, atol: object = ATOL, digits: int = DIGITS,
               trust_latex: bool = False, intro: bool = True, by_question: bool = False) -> str:
    """``variants`` as a Moodle XML question file (UTF-8 text, an XML declaration first).

    For each exercise (variants grouped by title): a category question
    ``$course$/top/<title>``; then each numeric answer of each variant as a
    ``numerical`` question named ``"<title> — variant <n> — <label>"`` (and
    ``" [i,j]"`` for an entry of a vector or matrix answer), its text the
    exercise's introduction (unless ``intro`` is False), the question's text
    and the variant's values, its one answer (fraction 100) the key's
    ``decimal`` with the key's ``tolerance`` (:class:`~rnnsym.key.AnswerKey` with
    ``rtol``, ``atol`` and ``digits``), the author's answer as general feedback;
    then each free-text question once, as an ``essay`` question with the
    author's answer as information for graders.  With ``by_question`` each
    question's variants go to a subcategory ``<title>/<label>`` instead, so that a
    quiz can draw a random variant of each question.

    LaTeX from the exercise is vetted (:func:`rnnsym.tex.vet`) unless
    ``trust_latex``; a refused command raises :class:`~rnnsym.errors.InputError`
    naming the variant and the key.  Bad ``rtol``, ``atol``, ``digits`` or
    variants raise it as :meth:`AnswerKey.from_variants` does.

    >>> import xml.etree.ElementTree as ET
    >>> from rnnsym.exercise import reference
    >>> from rnnsym.variants import single
    >>> quiz = ET.fromstring(moodle_xml(single(reference()), by_question=True))
    >>> [q.findtext("category/text") for q in quiz if q.get("type") == "category"][:2]
    ['$course$/top/Recurrent neural networks: backpropagation through time/1.a', '$course$/top/Recurrent neural networks: backpropagation through time/1.b']
    """
    quiz = ET.Element("quiz")
    for title, items in _items(variants, rtol, atol, digits, trust_latex, intro, by_question):
        if not by_question:
            _category(quiz, _category_path(title))
        current = None
        for item in items:
            if by_question and item.category != current:
                current = item.category
                _category(quiz, _category_path(title, item.category))
            if item.row is None:
                question = ET.SubElement(quiz, "question", {"type": "essay"})
                _common(question, item, "0")
                for tag, text in (("responseformat", "editor"), ("responserequired", "1"), ("responsefieldlines", "10"),
                                  ("attachments", "0"), ("attachmentsrequired", "0")):
                    _value(question, tag, text)
                _text(question, "graderinfo", _html(item.feedback), format="html")
                _text(question, "responsetemplate", "", format="html")
                continue
            question = ET.SubElement(quiz, "question", {"type": "numerical"})
            _common(question, item, PENALTY)
            answer = _text(question, "answer", item.row.decimal, fraction="100", format="moodle_auto_format")
            _text(answer, "feedback", "", format="html")
            _value(answer, "tolerance", item.row.tolerance)
            for tag, text in (("unitgradingtype", "0"), ("unitpenalty", "0.1000000"), ("showunits", "3"), ("unitsleft", "0")):
                _value(question, tag, text)
    ET.indent(quiz, space="  ")
    out = io.StringIO()
    ET.ElementTree(quiz).write(out, encoding="unicode", xml_declaration=True)
    return out.getvalue() + "\n"


def lms_csv(variants: Sequence[Variant], *, rtol: object = RTOL, atol: object = ATOL, digits: int = DIGITS,
            trust_latex: bool = False, intro: bool = True) -> str:
    """The numeric questions of ``variants`` as CSV (:mod:`csv`, ``\\n`` line ends), one
    row per answer, the columns :data:`CSV_COLUMNS`: ``title`` (the Moodle question's
    name), ``question`` (its text as plain text, math in ``\\(…\\)`` and ``\\[…\\]``,
    paragraphs separated by a blank line), ``answer`` and ``tolerance`` (the key's
    ``decimal`` and ``tolerance``), ``variant``, ``seed``, ``label``, ``entry``
    and ``exercise``.  Free-text questions and topics are left out.

    >>> import csv, io
    >>> from rnnsym.exercise import reference
    >>> from rnnsym.variants import single
    >>> row = next(csv.DictReader(io.StringIO(lms_csv(single(reference()), intro=False))))
    >>> print(row["question"])
    Compute the predicted value \\(\\hat{y}_2\\).
    <BLANKLINE>
    Given: \\(h_{0} = 1\\), \\(x_{1} = 10\\), \\(x_{2} = 10\\), \\(y_{1} = 5\\), \\(y_{2} = 5\\), \\(W_{h} = 1\\), \\(W_{x} = 0.1\\), \\(W_{y} = 2\\).
    >>> row["answer"], row["tolerance"], row["label"]
    ('6', '0.03', '1.a')
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for title, items in _items(variants, rtol, atol, digits, trust_latex, intro, False):
        for item in items:
            if item.row is None:
                continue
            row = item.row
            writer.writerow([item.name, "\n\n".join(item.paragraphs), row.decimal, row.tolerance, row.variant,
                             "" if row.seed is None else row.seed, row.label, row.entry, title])
    return out.getvalue()
