"""Exercises: a model, its values and questions, read from TOML.

The schema is documented in ``docs/exercise-files.md``.  Loading validates
everything up front — model options, every value, every question — so that
a sheet is only written when all of it can be answered.

>>> ex = reference()
>>> ex
Exercise('Recurrent neural networks: backpropagation through time', elman, steps=2, 4 questions)
>>> [q.find for q in ex.questions]
['yhat_2', 'L', 'dL/dh_1', 'dL/dW_h']
>>> ex.answer(ex.questions[3]).evaluate(ex.values)
8
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from .derive import SPLITS, Derivation, compute, derive
from .errors import InputError, InputTypeError
from .graph import Graph, build
from .values import bind

__all__ = ["Question", "Exercise", "load", "loads", "from_dict", "reference", "REFERENCE"]

#: The packaged reference exercise (IN5400, week 10, Task 1).
REFERENCE = "in5400_rnn.toml"

_TOP_KEYS = ("title", "intro", "model", "values", "questions")
_MODEL_KEYS = {
    "elman": ("cell", "activation", "steps", "bias", "loss", "loss_at", "output_activation", "hidden", "input", "output"),
    "gru": ("cell", "reset", "steps", "bias", "loss", "loss_at", "output_activation", "hidden", "input", "output"),
    "lstm": ("cell", "steps", "bias", "loss", "loss_at", "hidden", "input", "output"),
}
_QUESTION_KEYS = ("label", "text", "find", "split")
_NAME = r"([^/\s\[]+(?:\[[\d,\s]*\])?)"
_DERIVATIVE = re.compile(rf"d\s*{_NAME}\s*/\s*d\s*{_NAME}")


@dataclass(frozen=True)
class Question:
    """One question: ``find`` is a quantity (``"yhat_2"``) or a derivative (``"dL/dW_h"``)."""

    label: str
    text: str
    find: str
    of: str
    wrt: str | None = None
    split: str = "loss"

    def answer(self, graph: Graph) -> Derivation:
        """The derivation that answers this question on ``graph``."""
        if self.wrt is None:
            return compute(graph, self.of)
        return derive(graph, self.of, self.wrt, split=self.split)


@dataclass(frozen=True)
class Exercise:
    """A model unrolled into ``graph``, its ``values`` and its ``questions``."""

    title: str
    graph: Graph
    values: Mapping[str, Any]
    questions: tuple[Question, ...]
    intro: str = ""
    source: str = field(default="<string>", compare=False)

    def __repr__(self) -> str:
        return (
            f"Exercise({self.title!r}, {self.graph.cell.name}, steps={self.graph.steps}, "
            f"{len(self.questions)} questions)"
        )

    def ask(self, find: str, split: str = "loss", label: str = "") -> Question:
        """A validated question about this exercise's model.

        >>> reference().ask("dL/dW_h", split="step").wrt
        'W_h'
        """
        return _question({"label": label, "find": find, "split": split}, 0, self.graph, "")

    def answer(self, question: Question) -> Derivation:
        """The derivation answering ``question``."""
        return question.answer(self.graph)

    def answers(self) -> list[tuple[Question, Derivation]]:
        """Every question with its derivation, in order."""
        return [(q, self.answer(q)) for q in self.questions]

    def _repr_markdown_(self) -> str:
        parts = [f"### {self.title}"]
        for q, d in self.answers():
            parts.append(f"**{q.label}** {q.text}")
            parts.append("$$\\begin{aligned}" + r"\\".join(l.replace(" = ", " &= ", 1) for l in d.latex(self.values)) + "\\end{aligned}$$")
        return "\n\n".join(parts)


def _table(data: object, name: str) -> dict:
    if not isinstance(data, dict):
        raise InputTypeError(name, data, "a table")
    return data


def _check_keys(data: dict, name: str, allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise InputError(name, key, "a key among " + ", ".join(allowed))


def _string(data: dict, key: str, name: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise InputError(f"{name}.{key}", None, "a string (this key is required)")
    if not isinstance(value, str):
        raise InputTypeError(f"{name}.{key}", value, "a string")
    return value


def _model(data: dict) -> Graph:
    cell = data.get("cell", "elman")
    if cell not in _MODEL_KEYS:
        raise InputError("model.cell", cell, "one of " + ", ".join(repr(c) for c in _MODEL_KEYS))
    _check_keys(data, "model", _MODEL_KEYS[cell])
    if "steps" not in data:
        raise InputError("model.steps", None, "an integer >= 1 (this key is required)")
    options = {k: v for k, v in data.items() if k not in ("cell", "steps", "loss_at")}
    return build(cell, data["steps"], data.get("loss_at", "all"), **options)


def _question(data: object, index: int, graph: Graph, name: str | None = None) -> Question:
    name = f"questions[{index}]" if name is None else name

    def at(key: str) -> str:
        return f"{name}.{key}" if name else key

    data = _table(data, name)
    _check_keys(data, name, _QUESTION_KEYS)
    label = _string(data, "label", name, str(index + 1))
    text = _string(data, "text", name, "")
    find = _string(data, "find", name).strip()
    split = data.get("split", "loss")
    if split not in SPLITS:
        raise InputError(at("split"), split, "one of " + ", ".join(repr(s) for s in SPLITS))
    field_ = at("find")
    if find.replace(" ", "") in graph.names or find.replace(" ", "") in graph.tensors:
        return Question(label, text, find, find, None, split)
    match = _DERIVATIVE.fullmatch(find)
    if not match:
        raise InputError(field_, find, 'a quantity such as "yhat_2" or a derivative such as "dL/dW_h"')
    of, wrt = match.groups()
    for name in (of, wrt):
        if name.replace(" ", "") not in graph.tensors:
            graph.symbol(name, field_)
    question = Question(label, text, find, of, wrt, split)
    try:
        question.answer(graph)
    except InputError as error:
        raise InputError(field_, find, error.expected) from None
    return question


def from_dict(data: Mapping[str, Any], source: str = "<string>") -> Exercise:
    """An :class:`Exercise` from parsed TOML data (validated)."""
    data = _table(dict(data), "exercise")
    _check_keys(data, "exercise", _TOP_KEYS)
    title = _string(data, "title", "exercise", "Exercise")
    intro = _string(data, "intro", "exercise", "")
    graph = _model(_table(data.get("model", {}), "model"))
    values = _table(data.get("values", {}), "values")
    bind(graph, values)
    questions = data.get("questions", [])
    if not isinstance(questions, list):
        raise InputTypeError("questions", questions, "an array of tables ([[questions]])")
    parsed = tuple(_question(q, i, graph) for i, q in enumerate(questions))
    return Exercise(title, graph, values, parsed, intro.strip(), source)


def loads(text: str, source: str = "<string>") -> Exercise:
    """An :class:`Exercise` from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(source, "malformed TOML", f"valid TOML ({error})") from None
    return from_dict(data, source)


def load(path: str | Path) -> Exercise:
    """Read and validate the exercise file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError("exercise", str(path), f"a readable UTF-8 TOML file ({reason})") from None
    return loads(text, str(path))


def reference() -> Exercise:
    """The packaged reference exercise (IN5400 week 10, Task 1)."""
    text = resources.files("rnnsym.exercises").joinpath(REFERENCE).read_text(encoding="utf-8")
    return loads(text, REFERENCE)
