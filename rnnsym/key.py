"""Answer keys: every numeric answer of a run's variants, as rows for machines.

An :class:`AnswerKey` holds one :class:`KeyRow` per numeric question of each
variant, and one per entry when the answer is a vector or a matrix.  Each row
gives the value three ways:

- ``exact``: integers as ``8``, fractions as ``-1/3``; an irrational value
  (a tanh or sigmoid network's) as sympy's plain text of its closed form,
  ``tanh(tanh(1)/2 + 1/2)``, which ``sympy.sympify`` reads back, when that
  form has at most :data:`MAX_EXACT_CHARS` characters and uses only sympy's
  own functions (sigmoid is written with ``exp``); else empty;
- ``decimal``: the value to ``digits`` significant digits (15 by default, the
  digits a double keeps), rounded to nearest, in Python's float syntax
  (``0.706818409111796``, ``1e-400``);
- ``tolerance``: the absolute tolerance ``max(rtol·|value|, atol)`` written the
  same way; by default ``rtol = 0.005`` and ``atol = 0.0005``, so that an
  answer rounded to three significant digits, or a zero to three decimals, is
  accepted.

Topics (``show``) and free-text questions (no ``find``) have no numeric answer
and no row.  :meth:`AnswerKey.to_csv` and :meth:`AnswerKey.to_json` are
deterministic: the same variants give byte-identical text.

>>> from rnnsym.exercise import reference
>>> from rnnsym.variants import single
>>> key = AnswerKey.from_variants(single(reference()))
>>> key
AnswerKey(4 rows, 1 variant, tolerance max(0.005·|value|, 0.0005))
>>> print(key.to_csv(), end="")
variant,seed,exercise,label,find,entry,exact,decimal,tolerance
1,,Recurrent neural networks: backpropagation through time,1.a,yhat_2,,6,6,0.03
1,,Recurrent neural networks: backpropagation through time,1.b,L,,2,2,0.01
1,,Recurrent neural networks: backpropagation through time,1.c,dL/dh_1,,0,0,0.0005
1,,Recurrent neural networks: backpropagation through time,1.d,dL/dW_h,,8,8,0.04
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterator, Sequence

import mpmath
import sympy

from .errors import InputError, InputTypeError
from .evaluation import GUARD
from .exact import Exact, exact_form, mp_value
from .exercise import Exercise, Question
from .numbers import Number, parse_number
from .testing.report import markdown_table
from .variants import Variant

__all__ = ["KeyRow", "AnswerKey", "RTOL", "ATOL", "DIGITS", "MAX_EXACT_CHARS", "TOLERANCE_RULE",
           "numeric_questions", "free_text_questions", "answer_entries"]

#: Default relative tolerance: answers rounded to three significant digits pass.
RTOL = "0.005"
#: Default absolute tolerance: a zero answer given to three decimals passes.
ATOL = "0.0005"
#: Significant digits of ``decimal`` and ``tolerance`` (a double keeps 15).
DIGITS = 15
#: An irrational value's closed form longer than this is left out of ``exact``.
MAX_EXACT_CHARS = 200
#: How ``tolerance`` is computed from the exact value.
TOLERANCE_RULE = "max(rtol * |value|, atol)"


@dataclass(frozen=True)
class KeyRow:
    """One numeric answer: question ``label`` (``find``) of variant ``variant``
    (drawn with ``seed``, None for fixed values) of the exercise titled
    ``exercise``; ``entry`` is ``"[i]"`` or ``"[i,j]"`` (1-based, as the model's
    names write them) for an entry of a vector or matrix answer, ``""`` for a
    scalar; for a training step (:mod:`rnnsym.training`) the updated parameter's
    name, ``"W_h"`` or ``"W_h[1,2]"``, one row per parameter or entry.  ``exact``, ``decimal`` and ``tolerance`` are text (see the module
    docstring)."""

    variant: int
    seed: int | None
    exercise: str
    label: str
    find: str
    entry: str
    exact: str
    decimal: str
    tolerance: str


#: The columns of the CSV and the keys of each JSON row, in order.
COLUMNS = tuple(f.name for f in fields(KeyRow))


def numeric_questions(exercise: Exercise) -> list[Question]:
    """The questions of ``exercise`` with a numeric answer (neither a topic nor free text)."""
    return [q for q in exercise.questions if q.show is None and q.find]


def free_text_questions(exercise: Exercise) -> list[Question]:
    """The questions of ``exercise`` answered by the author's text alone (no ``find``, no ``show``)."""
    return [q for q in exercise.questions if q.show is None and not q.find]


def answer_entries(exercise: Exercise, question: Question) -> list[tuple[str, Any]]:
    """``(entry, value)`` for the exact answer to ``question`` at the exercise's values:
    one pair with entry ``""`` for a scalar, one pair per entry, row by row, for a
    vector or matrix.

    The value is ``exercise.answer(question)``'s value at ``exercise.values``; for a
    vector quantity (``find = "h_2"`` in a model with a vector state) it is each
    component's value.

    >>> from rnnsym.exercise import reference
    >>> ex = reference()
    >>> answer_entries(ex, ex.questions[3])
    [('', 8)]
    """
    evaluation = exercise.evaluation
    answer = exercise.answer(question)
    if getattr(question, "step", None) is not None:  # a training step: each new parameter, named
        return answer.entries(evaluation)
    value = answer.value_at(evaluation)
    if not isinstance(value, sympy.MatrixBase):
        return [("", value)]
    rows, cols = value.shape
    out = []
    for i in range(rows):
        for j in range(cols):
            if answer.wrt is not None and answer.of.rows == 1:  # a scalar's derivative: indexed like its wrt tensor
                entry = _bracket(str(answer.wrt[i, j]))
            else:
                entry = f"[{i + 1}]" if cols == 1 else f"[{i + 1},{j + 1}]"
            out.append((entry, value[i, j]))
    return out


def _bracket(name: str) -> str:
    """The index part of a component's name: ``"[1,2]"`` of ``"W_h[1,2]"``."""
    return name[name.index("["):] if name.endswith("]") and "[" in name else ""


def _tolerance_number(value: object, field: str) -> Number:
    number = parse_number(value, field)
    if number.exact < 0:
        raise InputError(field, value, "a number >= 0")
    return number


def exact_text(value: Any) -> str:
    """``value`` as exact plain text: ``p/q`` for a rational; sympy's text of the
    closed form for an irrational value when it is short and uses only sympy's
    functions; else ``""``.

    >>> exact_text(sympy.Rational(-1, 3)), exact_text(sympy.tanh(sympy.Rational(1, 2)))
    ('-1/3', 'tanh(1/2)')
    """
    if isinstance(value, sympy.Rational):
        return str(value)
    if not isinstance(value, sympy.Expr) or _size(value) > MAX_EXACT_CHARS:
        return ""
    form = exact_form(value).replace(
        lambda e: isinstance(e, sympy.Function) and not _sympy_function(e),
        lambda e: e.rewrite(sympy.exp),
    )
    if any(not _sympy_function(f) for f in form.atoms(sympy.Function)) or form.free_symbols:
        return ""
    text = sympy.sstr(form)
    return text if len(text) <= MAX_EXACT_CHARS else ""


def _sympy_function(function: sympy.Function) -> bool:
    return type(function).__module__.startswith("sympy.")


def _size(value: sympy.Expr) -> int:
    """The number of nodes ``value`` has once every :class:`Exact` atom is unfolded,
    counted atom by atom (oldest first) without unfolding anything."""
    atoms: dict[Exact, None] = {}
    pending = list(value.atoms(Exact))
    while pending:
        atom = pending.pop()
        if atom not in atoms:
            atoms[atom] = None
            pending.extend(atom.expr.atoms(Exact))
    sizes: dict[Exact, int] = {}
    for atom in sorted(atoms, key=lambda a: a.serial):
        sizes[atom] = _nodes(atom.expr, sizes)
    return _nodes(value, sizes)


def _nodes(expr: sympy.Basic, sizes: dict) -> int:
    total = 0
    for node in sympy.preorder_traversal(expr):
        total += sizes.get(node, 1) if isinstance(node, Exact) else 1
        if total > 10 * MAX_EXACT_CHARS:
            break
    return total


def decimal_text(value: Any, digits: int = DIGITS) -> str:
    """``value`` (exact, or an mpmath number) to ``digits`` significant digits, in
    Python's float syntax, without a trailing ``.0``.

    >>> decimal_text(sympy.Rational(1, 3)), decimal_text(8), decimal_text(sympy.Rational(1, 10**400))
    ('0.333333333333333', '8', '1e-400')
    """
    prec = mpmath.libmp.dps_to_prec(digits + GUARD)
    with mpmath.workprec(prec):
        number = value if isinstance(value, mpmath.mpf) else mp_value(sympy.sympify(value), {}, prec)
        if not isinstance(number, mpmath.mpf):
            raise InputTypeError("value", value, "a real number")
        if not number:
            return "0"
        text = mpmath.libmp.to_str(number._mpf_, digits, strip_zeros=True)
    return re.sub(r"\.0(?=e|$)", "", text)


def tolerance_of(value: Any, rtol: Number, atol: Number, digits: int = DIGITS) -> str:
    """The absolute tolerance ``max(rtol·|value|, atol)`` as text (see :func:`decimal_text`).

    >>> tolerance_of(8, parse_number("0.005", "rtol"), parse_number("0.0005", "atol"))
    '0.04'
    """
    prec = mpmath.libmp.dps_to_prec(digits + GUARD)
    with mpmath.workprec(prec):
        size = abs(mp_value(sympy.sympify(value), {}, prec))
        relative = size * mp_value(rtol.exact, {}, prec)
        absolute = mp_value(atol.exact, {}, prec)
        return decimal_text(max(relative, absolute), digits)


@dataclass(frozen=True)
class AnswerKey:
    """The numeric answers of a run's variants as :class:`KeyRow` rows, with the
    tolerance rule they were computed by (``rtol``, ``atol``, ``digits``).

    Build one with :meth:`from_variants`; write it with :meth:`to_csv` or
    :meth:`to_json`.  See the module docstring for the columns and the rule.
    """

    rows: tuple[KeyRow, ...]
    rtol: Number
    atol: Number
    digits: int = DIGITS

    @classmethod
    def from_variants(cls, variants: Sequence[Variant], *, rtol: object = RTOL, atol: object = ATOL,
                      digits: int = DIGITS) -> "AnswerKey":
        """The key of ``variants`` (a sequence of :class:`~rnnsym.variants.Variant`, at least one).

        ``rtol`` and ``atol`` are numbers >= 0 read exactly (``"0.005"``, ``0.01``,
        ``"1/100"``); ``digits`` is an integer from 1 to 100.  Anything else raises
        :class:`~rnnsym.errors.InputError` naming it.

        >>> from rnnsym.exercise import reference
        >>> from rnnsym.variants import single
        >>> AnswerKey.from_variants(single(reference()), rtol="0.01").rows[3].tolerance
        '0.08'
        >>> AnswerKey.from_variants(single(reference()), atol=-1)
        Traceback (most recent call last):
        ...
        rnnsym.errors.InputError: atol: got -1, expected a number >= 0
        """
        rtol_n, atol_n = _tolerance_number(rtol, "rtol"), _tolerance_number(atol, "atol")
        if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 100:
            raise InputError("digits", digits, "an integer from 1 to 100")
        variants = _check_variants(variants)
        rows = []
        for variant in variants:
            exercise = variant.exercise
            for question in numeric_questions(exercise):
                for entry, value in answer_entries(exercise, question):
                    rows.append(KeyRow(
                        variant.index, variant.seed, exercise.title, question.label, question.find, entry,
                        exact_text(value), decimal_text(value, digits), tolerance_of(value, rtol_n, atol_n, digits),
                    ))
        return cls(tuple(rows), rtol_n, atol_n, digits)

    @property
    def rule(self) -> dict[str, str]:
        """The tolerance rule and its parameters, as written in :meth:`to_json`."""
        return {"rule": TOLERANCE_RULE, "rtol": self.rtol.spelling, "atol": self.atol.spelling}

    def __iter__(self) -> Iterator[KeyRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        n = len({(r.variant, r.exercise) for r in self.rows})
        return (f"AnswerKey({len(self.rows)} row{'s' if len(self.rows) != 1 else ''}, {n} variant{'s' if n != 1 else ''}, "
                f"tolerance max({self.rtol.spelling}·|value|, {self.atol.spelling}))")

    def to_csv(self) -> str:
        """The rows as CSV (:mod:`csv`, the default dialect, ``\\n`` line ends), a header row
        first; ``seed`` is empty when None.  Read it back with :class:`csv.DictReader`."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.rows:
            writer.writerow(["" if v is None else v for v in asdict(row).values()])
        return out.getvalue()

    def to_json(self) -> str:
        """The key as JSON (:mod:`json`, keys sorted, indented by 2): an object with
        ``format`` (``"rnnsym answer key"``), ``columns``, ``digits``, ``tolerance``
        (:attr:`rule`) and ``rows``, each row an object of the columns (``seed``
        null when None; ``exact``, ``decimal`` and ``tolerance`` strings, so that no
        digit is lost).

        >>> import json
        >>> from rnnsym.exercise import reference
        >>> from rnnsym.variants import single
        >>> data = json.loads(AnswerKey.from_variants(single(reference())).to_json())
        >>> data["tolerance"], data["rows"][3]["decimal"]
        ({'atol': '0.0005', 'rtol': '0.005', 'rule': 'max(rtol * |value|, atol)'}, '8')
        """
        data = {
            "format": "rnnsym answer key",
            "columns": list(COLUMNS),
            "digits": self.digits,
            "tolerance": self.rule,
            "rows": [asdict(row) for row in self.rows],
        }
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    def _repr_markdown_(self) -> str:
        cells = [["" if v is None else str(v).replace("\n", " ") for v in asdict(row).values()] for row in self.rows]
        rule = f"tolerance = max({self.rtol.spelling} · \\|value\\|, {self.atol.spelling})"
        return markdown_table(cells, COLUMNS) + f"\n\n{rule}; decimals to {self.digits} significant digits"


def _check_variants(variants: object) -> list[Variant]:
    if isinstance(variants, (str, bytes)) or not isinstance(variants, Sequence):
        raise InputTypeError("variants", variants, "a sequence of Variant (rnnsym.variants)")
    if not variants:
        raise InputError("variants", list(variants), "at least one variant")
    for i, variant in enumerate(variants):
        if not isinstance(variant, Variant):
            raise InputTypeError(f"variants[{i}]", variant, "a Variant (rnnsym.variants)")
    return list(variants)
