"""Reports of the checks: what was compared, row by row, as text and Markdown tables.

>>> print(table([("a", "1"), ("bb", "22")], ("name", "value")))
name  value
a     1
bb    22
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import mpmath
import sympy

from ..graph import Graph
from .mp import numeric

__all__ = ["Comparison", "GradientReport", "show", "table", "markdown_table", "point_text"]


def show(value: Any, digits: int = 15) -> str:
    """A short display of an exact or numeric value; a matrix row by row, its
    entries to 6 digits.

    >>> show(sympy.Matrix([[1, sympy.Rational(1, 3)], [sympy.Float("0.123456789", 20), 0]]))
    '[[1, 1/3], [≈0.123457, 0]]'
    """
    if value is None:
        return "-"
    if isinstance(value, sympy.MatrixBase):
        rows = [", ".join(show(value[i, j], min(digits, 6)) for j in range(value.cols)) for i in range(value.rows)]
        return "[" + ", ".join(f"[{r}]" for r in rows) + "]"
    if isinstance(value, sympy.Rational):
        return str(value)
    if isinstance(value, sympy.Basic):
        text = sympy.sstr(value)
        plain = all(isinstance(a, (sympy.Number, sympy.NumberSymbol)) for a in value.atoms())
        return text if plain and len(text) <= 20 else "≈" + mpmath.nstr(numeric(value), digits)
    if isinstance(value, mpmath.mpf):
        return mpmath.nstr(value, digits)
    return str(value)


def _show_difference(difference: Any) -> str:
    if difference is None:
        return "-"
    if difference == 0:
        return "0"
    if isinstance(difference, sympy.Rational):
        return str(difference) if len(str(difference)) <= 12 else mpmath.nstr(numeric(difference), 2)
    return mpmath.nstr(difference, 2)


@dataclass(frozen=True)
class Comparison:
    """One row of a report: ``check`` compared ``symbolic`` (rnnsym's value)
    with ``numeric`` (the independent one) for ``quantity``.

    ``status`` is ``"ok"``, ``"MISMATCH"`` or ``"skipped"``; ``note`` says why
    a check was skipped or which line disagreed.
    """

    quantity: str
    check: str
    symbolic: Any
    numeric: Any
    difference: Any
    status: str
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "MISMATCH"

    def cells(self) -> tuple[str, ...]:
        return (
            self.quantity,
            self.check,
            show(self.symbolic),
            show(self.numeric),
            _show_difference(self.difference),
            self.status,
        )


_HEADER = ("quantity", "check", "symbolic", "numeric", "difference", "status")


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Rows of strings as aligned plain-text columns."""
    rows = [tuple(header)] + [tuple(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def markdown_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Rows of strings as a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", r"\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


#: A point with more leaves than this is shown by its first and last few.
MAX_POINT_ITEMS = 12


def point_text(point: Mapping[str, Any]) -> str:
    """The leaves' values as ``name = value`` pairs, the middle left out past
    :data:`MAX_POINT_ITEMS` leaves (a 1000-step model has 2000 inputs and targets).

    >>> point_text({"W_h": 1, "x_1": 2})
    'W_h = 1, x_1 = 2'
    >>> point_text({f"x_{t}": t for t in range(1, 101)})
    'x_1 = 1, x_2 = 2, x_3 = 3, x_4 = 4, x_5 = 5, x_6 = 6, …(88 more)…, x_95 = 95, x_96 = 96, x_97 = 97, x_98 = 98, x_99 = 99, x_100 = 100'
    """
    items = [f"{name} = {show(value)}" for name, value in point.items()]
    if len(items) > MAX_POINT_ITEMS:
        half = MAX_POINT_ITEMS // 2
        items = items[:half] + [f"…({len(items) - 2 * half} more)…"] + items[-half:]
    return ", ".join(items)


@dataclass
class GradientReport:
    """What :func:`check_gradients` compared, row by row.

    ``ok`` is true when nothing disagrees; ``mismatches`` and ``skipped``
    list the rows that did not agree or were not run; ``point`` holds the
    value of every leaf, by name.  ``str()`` gives an aligned table,
    ``_repr_markdown_`` a Markdown one.
    """

    graph: Graph
    point: dict[str, Any]
    rows: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def mismatches(self) -> list[Comparison]:
        return [r for r in self.rows if not r.ok]

    @property
    def skipped(self) -> list[Comparison]:
        return [r for r in self.rows if r.status == "skipped"]

    @property
    def quantities(self) -> list[str]:
        return list(dict.fromkeys(r.quantity for r in self.rows))

    def __repr__(self) -> str:
        done = [r for r in self.rows if r.status != "skipped"]
        what = ", ".join(self.quantities) if len(self.quantities) <= 3 else f"{len(self.quantities)} derivatives"
        if self.ok:
            verdict = f"{len(done)} checks agree"
        else:
            verdict = f"{len(self.mismatches)} of {len(done)} checks DISAGREE"
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return f"GradientReport({self.graph.cell.name}, steps={self.graph.steps}, {what}: {verdict}{skipped})"

    def __str__(self) -> str:
        text = table([r.cells() for r in self.rows], _HEADER)
        tail = [f"at {point_text(self.point)}"] + self.notes
        tail += [f"{r.quantity}, {r.check}: {r.note}" for r in self.rows if r.note]
        return text + "\n" + "\n".join(tail)

    def _repr_markdown_(self) -> str:
        text = markdown_table([r.cells() for r in self.rows], _HEADER)
        tail = [f"at {point_text(self.point)}"] + self.notes
        tail += [f"{r.quantity}, {r.check}: {r.note}" for r in self.rows if r.note]
        return text + "\n\n" + "\n\n".join(tail)

    def raise_for_mismatch(self) -> "GradientReport":
        """Raise :class:`AssertionError` with the table when any row disagrees."""
        if not self.ok:
            raise AssertionError(f"{len(self.mismatches)} of the checks disagree:\n{self}")
        return self
