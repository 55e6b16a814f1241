"""A cell: template equations over placeholders, and its parameters.

``prev("h")`` is h_{t−1}, ``now("x")`` is x_t (or a quantity computed earlier
in the same step); any other symbol is a parameter.  Each :class:`Equation`
derives its local partials once, as forms (:func:`rnnsym.partials.partial_form`).

>>> Equation("h", sympy.tanh(prev("h") + now("x")), "state").partials[prev("h")]
1 - h__now**2
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

import sympy
from sympy import Expr, Symbol

from ..errors import InputError, InputTypeError
from ..forms import symbols_in_order
from ..notation import CURRENT, PREVIOUS, symbol
from ..printing import Line, cell_lines
from ..partials import partial_form

__all__ = ["Equation", "Cell", "prev", "now", "placeholder", "at_step", "ROLES"]

ROLES = ("intermediate", "state", "output", "loss")
_PREV, _NOW = PREVIOUS, CURRENT


def prev(base: str) -> Symbol:
    """Placeholder for quantity ``base`` at the previous step (h_{t−1}); ``base`` may carry an index, ``"h[2]"``."""
    return symbol(f"{base}{_PREV}")


def now(base: str) -> Symbol:
    """Placeholder for quantity or input ``base`` at the current step (x_t, z_t)."""
    return symbol(f"{base}{_NOW}")


def placeholder(s: Symbol) -> tuple[str, int] | None:
    """``("h[2]", -1)`` for ``prev("h[2]")``, ``("x", 0)`` for ``now("x")``, else ``None``."""
    if s.name.endswith(_PREV):
        return s.name[: -len(_PREV)], -1
    if s.name.endswith(_NOW):
        return s.name[: -len(_NOW)], 0
    return None


def at_step(base: str, t: int) -> str:
    """The name of ``base`` at step ``t``: ``at_step("h[2]", 3) == "h_3[2]"``."""
    head, bracket, rest = base.partition("[")
    return f"{head}_{t}{bracket}{rest}"


@dataclass(frozen=True)
class Equation:
    """One template assignment of a cell: ``base_t := form``.

    ``role`` is ``intermediate``, ``state``, ``output`` or ``loss`` (loss
    equations are instantiated only at the steps that carry a loss).
    ``partials`` may give the written form of some local partials
    (placeholder → form); the others are derived from ``form``.
    """

    base: str
    form: Expr
    role: str = "intermediate"
    given: Mapping[Symbol, Expr] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InputError("equation.role", self.role, "one of " + ", ".join(ROLES))
        if not isinstance(self.form, sympy.Basic):
            raise InputTypeError(f"equation {self.base}", self.form, "a sympy expression")

    @cached_property
    def partials(self) -> dict[Symbol, Expr]:
        """Local partial forms of ``form`` for each symbol it uses (derived once)."""
        out = now(self.base)
        return {s: self.given.get(s) or partial_form(self.form, s, out=out) for s in symbols_in_order(self.form)}


@dataclass(frozen=True)
class Cell:
    """A recurrent cell: template equations in computation order, plus

    - ``state``: bases carried from step to step (``("h",)``, ``("h", "c")``),
      each component a leaf at step 0 (h_0);
    - ``inputs`` and ``targets``: per-step leaves (``x``, ``y``);
    - ``parameters``: leaf names shared by every step (``W_h``, ``W_h[1,2]``);
    - ``sizes``: the length of each vector base (1 for a scalar);
    - ``options``: how the cell was built, for display and exercise files.
    """

    name: str
    equations: tuple[Equation, ...]
    state: tuple[str, ...] = ("h",)
    inputs: tuple[str, ...] = ("x",)
    targets: tuple[str, ...] = ("y",)
    parameters: tuple[str, ...] = ()
    sizes: Mapping[str, int] = field(default_factory=dict)
    options: Mapping[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:
        bases = []
        for e in self.equations:
            head = e.base.partition("[")[0]
            if e.role != "loss" and head not in bases:
                bases.append(head)
        loss = self.options.get("loss")
        return f"Cell({self.name}: {', '.join(bases)}" + (f"; loss={loss})" if loss else ")")

    def _rnnsym_lines(self, values=None, options=None) -> list[Line]:
        """The template equations at a generic step t (see :func:`rnnsym.printing.latex`)."""
        return [Line(tuple(text.split(" = ", 1))) for text in cell_lines(self, options)]

    def _repr_latex_(self) -> str:
        return "$\\begin{aligned}" + r"\\".join(l.replace(" = ", " &= ", 1) for l in cell_lines(self)) + r"\end{aligned}$"

    def size(self, base: str) -> int:
        return int(self.sizes.get(base, 1))

    @cached_property
    def parameter_tensors(self) -> tuple[str, ...]:
        """The parameters as whole vectors and matrices, in the cell's order: ``("W_h", "W_x", "W_y")``
        for the components ``W_h[1,1]``, ``W_h[1,2]``, …"""
        return tuple(dict.fromkeys(name.partition("[")[0] for name in self.parameters))

    def components(self, base: str) -> list[str]:
        """Component names of ``base``: ``["h"]`` when scalar, ``["h[1]", "h[2]"]`` otherwise."""
        n = self.size(base)
        return [base] if n == 1 and not self.options.get("indexed") else [f"{base}[{i}]" for i in range(1, n + 1)]
