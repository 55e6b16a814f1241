"""Exercises: a model, its values and questions, read from TOML.

The schema is documented in ``docs/exercise-files.md``.  Loading validates
everything up front — model options, every value, every question — so that
a sheet is only written when all of it can be answered.

>>> ex = reference()
>>> ex
Exercise('Recurrent neural networks: backpropagation through time', elman, steps=2, 8 questions)
>>> [q.find or q.show for q in ex.questions]
['yhat_2', 'L', 'dL/dh_1', 'dL/dW_h', 'recurrence', 'vanishing', 'gated', 'truncation']
>>> ex.answer(ex.questions[3]).evaluate(ex.values)
8

A question with ``text`` and the author's ``answer`` but neither ``find`` nor
``show`` is a free-text question: rnnsym derives nothing for it
(:meth:`Exercise.answer` returns None) and prints the author's answer.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

from .derivation import SPLITS, compute, derive
from .derivation.immediate import IMMEDIATE
from .printing import RenderOptions, markdown
from .analysis.topics import TOPICS, Topic
from .errors import InputError, InputTypeError
from .graph import Graph
from .models import build
from .limits import MAX_FILE_BYTES, MAX_QUESTIONS, MAX_TEXT, check_at_most
from .numbers import TomlFloat
from .evaluation import Evaluation, bind, evaluate
from .training import FIND_STEP, read_step

__all__ = ["Question", "Exercise", "load", "loads", "from_dict", "reference", "reference_text", "REFERENCE"]

#: The packaged reference exercise (IN5400, week 10, Task 1).
REFERENCE = "in5400_rnn.toml"

_TOP_KEYS = ("title", "intro", "model", "values", "questions", "variants")  # variants: rnnsym.variants
_MODEL_KEYS = {
    "elman": ("cell", "activation", "steps", "bias", "loss", "loss_at", "reduction", "output_activation", "hidden", "input", "output", "truncate", "truncation"),
    "gru": ("cell", "reset", "hidden_bias", "steps", "bias", "loss", "loss_at", "reduction", "output_activation", "hidden", "input", "output", "truncate", "truncation"),
    "lstm": ("cell", "steps", "bias", "loss", "loss_at", "reduction", "hidden", "input", "output", "truncate", "truncation"),
}
_QUESTION_KEYS = ("label", "text", "find", "split", "show", "answer", "truncate", "truncation", "demo", "step")
_NAME = r"([^/\s\[]+(?:\[[\d,\s]*\])?)"
_DERIVATIVE = re.compile(rf"d\s*{_NAME}\s*/\s*d\s*{_NAME}")


@dataclass(frozen=True)
class Question:
    """One question: ``find`` is a quantity (``"yhat_2"``) or a derivative
    (``"dL/dW_h"``); or ``show`` names a topic (:mod:`rnnsym.analysis.topics`);
    or neither, and the question is free text (:attr:`free_text`), answered by
    the author's ``answer`` alone.  ``answer`` is the author's own text, printed
    with the answer; ``truncate`` and ``truncation`` ask for truncated BPTT
    (:mod:`rnnsym.derivation.truncate`); ``demo`` asks a topic for a
    demonstration on other models too.  ``step`` (a :class:`~rnnsym.training.StepSpec`)
    asks for the parameters after one step of gradient descent (:mod:`rnnsym.training`)."""

    label: str
    text: str
    find: str
    of: str
    wrt: str | None = None
    split: str = "auto"
    show: str | None = None
    answer_text: str = ""
    truncate: object = None
    truncation: str = "per-loss"
    demo: bool = False
    step: object = None

    @property
    def free_text(self) -> bool:
        """Whether this question is free text: no ``find``, no ``show``, the author's answer only.

        >>> reference().questions[0].free_text
        False
        """
        return self.show is None and not self.find

    def answer(self, graph: Graph, options: RenderOptions | None = None, evaluation: Evaluation | None = None):
        """The derivation that answers this question on ``graph`` (for a topic, its items,
        computed at ``evaluation``, the exercise's values; for a free-text question, None)."""
        if self.free_text:
            return None
        if self.show is not None:
            if evaluation is None:
                raise InputError("values", None, f"the exercise's values to answer the topic {self.show!r}")
            return TOPICS[self.show](Topic(graph, evaluation, options or RenderOptions(), self.demo))
        if self.step is not None:
            return self.step.answer(graph, self.of, self.split)
        if self.wrt is None:
            return compute(graph, self.of)
        if IMMEDIATE.fullmatch(self.find):
            return derive(graph, self.of, self.wrt, immediate=True)
        if self.truncate is not None:
            return derive(graph, self.of, self.wrt, split=self.split, truncate=self.truncate, truncation=self.truncation)
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
    _answers: dict = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def evaluation(self) -> Evaluation:
        """The model evaluated at the exercise's values, once, for every answer."""
        return evaluate(self.graph, self.values)

    def __repr__(self) -> str:
        return (
            f"Exercise({self.title!r}, {self.graph.cell.name}, steps={self.graph.steps}, "
            f"{len(self.questions)} questions)"
        )

    def ask(self, find: str, split: str = "auto", label: str = "") -> Question:
        """A validated question about this exercise's model.

        >>> reference().ask("dL/dW_h", split="step").wrt
        'W_h'
        """
        return _question({"label": label, "find": find, "split": split}, 0, self.graph, "")

    def answer(self, question: Question, options: RenderOptions | None = None):
        """The derivation answering ``question`` (for a topic, its items; for a
        free-text question, None: its answer is the author's ``answer_text``),
        built once per question."""
        if question.free_text:
            return None
        if question.show is not None:  # a topic is written with the options
            return question.answer(self.graph, options, self.evaluation)
        cached = self._answers.get(id(question))
        if cached is None or cached[0] is not question:  # the cache holds the question, so its id stays its own
            cached = self._answers[id(question)] = (question, question.answer(self.graph, options))
        return cached[1]

    def answers(self, options: RenderOptions | None = None) -> list[tuple[Question, Any]]:
        """Every question with its answer, in order."""
        return [(q, self.answer(q, options)) for q in self.questions]

    def select(self, labels: Sequence[str], field: str = "questions") -> "Exercise":
        """This exercise with only the questions labelled ``labels``, in the file's order
        (a label given twice counts once).  A label the exercise does not have, or no
        label at all, is an :class:`~rnnsym.errors.InputError` naming ``field``.

        >>> [q.label for q in reference().select(["1.d", "1.a"]).questions]
        ['1.a', '1.d']
        >>> reference().select(["1.a", "9.z"])
        Traceback (most recent call last):
        ...
        rnnsym.errors.InputError: questions: got '9.z', expected a question label of the exercise (one of 1.a, 1.b, 1.c, 1.d, 2.a, 2.b, 2.c, 2.d)
        """
        if isinstance(labels, str) or not isinstance(labels, Sequence):
            raise InputTypeError(field, labels, "a list of question labels")
        available = [q.label for q in self.questions]
        for label in labels:
            if label not in available:
                raise InputError(field, label, "a question label of the exercise (one of " + ", ".join(available) + ")")
        if not labels:
            raise InputError(field, list(labels), "at least one question label (one of " + ", ".join(available) + ")")
        wanted = set(labels)
        return replace(self, questions=tuple(q for q in self.questions if q.label in wanted))

    def _repr_markdown_(self) -> str:
        """The whole exercise as Markdown, answers with its numbers (:func:`rnnsym.printing.markdown`)."""
        return markdown(self)


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
    field_ = f"{name}.{key}" if name else key
    if value is None:
        raise InputError(field_, None, "a string (this key is required)")
    if not isinstance(value, str):
        raise InputTypeError(field_, value, "a string")
    check_at_most(field_, len(value), MAX_TEXT, "characters", shown=f"a text of {len(value)} characters")
    control = _CONTROL.search(value)
    if control:
        raise InputError(field_, value, f"text without control characters (U+{ord(control.group()):04X} at "
                                        f"position {control.start() + 1}; tabs and line breaks are fine)")
    return value


#: Characters no text key may hold: C0 controls but tab and line breaks, DEL, C1 controls,
#: and what XML 1.0 cannot carry (surrogates, U+FFFE, U+FFFF), so that every output can hold the text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _model(data: dict) -> Graph:
    cell = data.get("cell", "elman")
    if cell not in _MODEL_KEYS:
        raise InputError("model.cell", cell, "one of " + ", ".join(repr(c) for c in _MODEL_KEYS))
    _check_keys(data, "model", _MODEL_KEYS[cell])
    if "steps" not in data:
        raise InputError("model.steps", None, "an integer >= 1 (this key is required)")
    options = {k: v for k, v in data.items() if k not in ("cell", "steps", "loss_at", "truncate", "truncation")}
    return build(cell, data["steps"], data.get("loss_at", "all"), **options)


def _question(data: object, index: int, graph: Graph, name: str | None = None, defaults: Mapping = {}) -> Question:
    name = f"questions[{index}]" if name is None else name

    def at(key: str) -> str:
        return f"{name}.{key}" if name else key

    data = _table(data, name)
    _check_keys(data, name, _QUESTION_KEYS)
    label = _string(data, "label", name, str(index + 1))
    text = _string(data, "text", name, "")
    answer = _string(data, "answer", name, "").strip()
    show = data.get("show")
    if show is not None:
        if show not in TOPICS:
            raise InputError(at("show"), show, "one of " + ", ".join(repr(t) for t in TOPICS))
        if "find" in data:
            raise InputError(at("find"), data["find"], "no find together with show")
        if "step" in data:
            raise InputError(at("step"), data["step"], "no step together with show")
        demo = data.get("demo", False)
        if not isinstance(demo, bool):
            raise InputTypeError(at("demo"), demo, "true or false")
        return Question(label, text, "", "", None, show=show, answer_text=answer, demo=demo)
    if "demo" in data:
        raise InputError(at("demo"), data["demo"], "no demo without show (a demonstration belongs to a topic)")
    if "find" not in data:
        if not answer:
            raise InputError(at("find"), None, "a find (a quantity or a derivative), a show (a topic) or, for a "
                             "free-text question, a text with the author's answer (one of them is required)")
        if not text.strip():
            raise InputError(at("text"), text, "the question's text (a free-text question is its text and the author's answer)")
        for key in ("split", "truncate", "truncation", "step"):
            if key in data:
                raise InputError(at(key), data[key], f"no {key} without find (a free-text question has no derivation)")
        return Question(label, text, "", "", None, answer_text=answer)
    find = _string(data, "find", name).strip()
    split = data.get("split", "auto")
    if split not in SPLITS:
        raise InputError(at("split"), split, "one of " + ", ".join(repr(s) for s in SPLITS))
    field_ = at("find")
    if "step" in data:
        return _step_question(data, graph, label, text, find, split, answer, at)
    if find.replace(" ", "") in graph.names or find.replace(" ", "") in graph.tensors:
        if "truncate" in data:
            raise InputError(at("truncate"), data["truncate"], "no truncation for a quantity (only for a derivative)")
        return Question(label, text, find, find, None, split, answer_text=answer)
    match = IMMEDIATE.fullmatch(find) or _DERIVATIVE.fullmatch(find)
    if not match:
        raise InputError(field_, find, 'a quantity such as "yhat_2", a derivative such as "dL/dW_h" or an '
                         'immediate partial such as "d+c_3/dc_1"')
    if IMMEDIATE.fullmatch(find) and (split != "auto" or "truncate" in data):
        key = "split" if split != "auto" else "truncate"
        raise InputError(at(key), data[key], f"no {key} for an immediate partial {find!r} (it is one product)")
    of, wrt = match.groups()
    for part in (of, wrt):
        if part.replace(" ", "") not in graph.tensors and part.replace(" ", "") not in graph.names:
            names = [n for n in (*graph.names, *graph.tensors) if n not in graph.sequences]
            shown = ", ".join(dict.fromkeys(names[:40])) + (", ..." if len(names) > 40 else "")
            raise InputError(field_, find, f"a derivative dA/dB of the model's names ({part!r} is not one of {shown})")
    # the model's truncation applies to derivatives with respect to a leaf (a parameter, input or h_0)
    leaf = wrt.replace(" ", "") in graph.names and graph.is_leaf(graph.symbol(wrt))
    inherited = defaults if leaf else {}
    truncate = data.get("truncate", inherited.get("truncate"))
    truncation = data.get("truncation", inherited.get("truncation", "per-loss"))
    question = Question(label, text, find, of, wrt, split, None, answer, truncate, truncation)
    try:
        question.answer(graph)
    except InputError as error:
        field = error.field if error.field.startswith("trunc") else "find"
        raise InputError(at(field), data.get(field, find), error.expected) from None
    return question


def _step_question(data: dict, graph: Graph, label: str, text: str, find: str, split: str, answer: str, at) -> Question:
    """A question with a ``step`` table: ``find = "dL/dW_h"`` (one parameter) or
    ``find = "step"`` (the parameters ``step.wrt``, every one by default)."""
    for key in ("truncate", "truncation"):
        if key in data:
            raise InputError(at(key), data[key], "no truncation for a training step (it takes the full gradient)")
    match = _DERIVATIVE.fullmatch(find)
    if find.replace(" ", "") == FIND_STEP:
        of, wrt = str(graph.loss), None
    elif match and match.group(1).replace(" ", "") == str(graph.loss):
        of, wrt = match.groups()
    else:
        raise InputError(at("find"), find, f'"{FIND_STEP}" or the gradient of the loss, such as "dL/dW_h", with a step')
    try:
        spec = read_step(data["step"], at("step"), graph, wrt)
    except InputError as error:  # the parameter a find names is reported as find
        raise InputError(at("find") if error.field == "find" else error.field, find if error.field == "find" else error.value,
                         error.expected) from None
    return Question(label, text, find, of, wrt, split, None, answer, step=spec)


def _no_draw_spec(value: object, field: str) -> None:
    """Refuse a draw spec (a table such as ``{choices = [1, 2]}``) where a number is needed."""
    if isinstance(value, dict):
        raise InputError(field, value, "a number; this is a draw spec, drawn only for variants "
                         "(rnnsym sheet, export or check with --variants N; rnnsym.variants.draw in Python)")
    if isinstance(value, list):
        for i, item in enumerate(value, start=1):
            _no_draw_spec(item, f"{field}[{i}]")


def from_dict(data: Mapping[str, Any], source: str = "<string>") -> Exercise:
    """An :class:`Exercise` from parsed TOML data (validated)."""
    data = _table(dict(data), "exercise")
    _check_keys(data, "exercise", _TOP_KEYS)
    title = _string(data, "title", "exercise", "Exercise")
    intro = _string(data, "intro", "exercise", "")
    graph = _model(_table(data.get("model", {}), "model"))
    values = _table(data.get("values", {}), "values")
    for key, value in values.items():
        _no_draw_spec(value, f"values.{str(key).replace(' ', '')}")
    bind(graph, values)
    questions = data.get("questions", [])
    if not isinstance(questions, list):
        raise InputTypeError("questions", questions, "an array of tables ([[questions]])")
    check_at_most("questions", len(questions), MAX_QUESTIONS, "questions", shown=f"{len(questions)} questions")
    model = data.get("model", {})
    defaults = {k: model[k] for k in ("truncate", "truncation") if k in model}
    parsed = tuple(_question(q, i, graph, defaults=defaults) for i, q in enumerate(questions))
    first: dict[str, int] = {}
    for i, q in enumerate(parsed):
        if q.label in first:
            raise InputError(f"questions[{i}].label", q.label,
                             f"a label no other question has (questions[{first[q.label]}] is labelled {q.label!r} too)")
        first[q.label] = i
    return Exercise(title, graph, values, parsed, intro.strip(), source)


def parse_toml(text: str, source: str) -> dict:
    """TOML ``text`` as a table, floats read from their spelling (:class:`~rnnsym.numbers.TomlFloat`);
    malformed TOML is an :class:`InputError` naming ``source``."""
    check_at_most(source, len(text), MAX_FILE_BYTES, "characters", shown=f"a text of {len(text)} characters")
    try:
        return tomllib.loads(text.removeprefix("\ufeff"), parse_float=TomlFloat)
    except tomllib.TOMLDecodeError as error:
        raise InputError(source, "malformed TOML", f"valid TOML ({error})") from None
    except ValueError as error:  # an integer too long for Python to read
        raise InputError(source, "a number too long to read", f"numbers of at most 4300 digits ({error})") from None


def read_text(path: str | Path, field: str) -> str:
    """The UTF-8 text of the file at ``path`` (a leading byte-order mark is dropped);
    an unreadable, non-UTF-8 or too large file is an :class:`InputError` naming ``field``."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        check_at_most(field, len(data), MAX_FILE_BYTES, "bytes", shown=f"{path} (more than {MAX_FILE_BYTES} bytes)")
        return data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError(field, str(path), f"a readable UTF-8 TOML file ({reason})") from None


def loads(text: str, source: str = "<string>") -> Exercise:
    """An :class:`Exercise` from TOML text."""
    return from_dict(parse_toml(text, source), source)


def load(path: str | Path) -> Exercise:
    """Read and validate the exercise file at ``path``."""
    return loads(read_text(path, "exercise"), str(path))


def reference_text() -> str:
    """The TOML text of the packaged reference exercise."""
    return resources.files("rnnsym.exercises").joinpath(REFERENCE).read_text(encoding="utf-8")


def reference() -> Exercise:
    """The packaged reference exercise (IN5400 week 10, Task 1)."""
    return loads(reference_text(), REFERENCE)
