"""A derivation's steps written with numbers: ``lhs = named = symbolic = numbers = value``.

Each :class:`~rnnsym.derivation.core.Step` becomes one chain; at given values
the symbolic form is repeated with every symbol and named partial replaced by
its number (exact where it is, decimals where it is not), then the value.

>>> from rnnsym.graph import elman
>>> from rnnsym.derivation import derive
>>> values = {"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2}
>>> print(derive(elman(2), "L", "h_1").latex(values)[-1])
\\frac{\\partial L}{\\partial h_{1}} = -4 + 4 = 0
"""

from __future__ import annotations

from typing import Any, Mapping

import sympy
from sympy import Add, Expr, Symbol

from ..evaluation import Evaluation, bind
from ..forms import Partial
from ..numbers import format_exact
from ..printing import Line, Printer, RenderOptions, decimal, format_value
from ..rules import relu

__all__ = ["derivation_lines", "kink_notes"]


class _Context:
    def __init__(self, derivation: Any, values: Mapping | None, options: RenderOptions) -> None:
        self.options = options
        self.printer = Printer(options)
        self.evaluate = None
        if values is not None:
            graph = derivation.graph
            bound = bind(graph, values)
            self.evaluate = Evaluation(graph, {s: n.exact for s, n in bound.items()})
            env = self.evaluate.env
            self.approx = self.evaluate.decimal(max(options.approx_digits, 1))
            self.spelled = {s: n.latex for s, n in bound.items()}
            for q in graph.quantities:
                if isinstance(env[q], sympy.Rational):
                    text = format_exact(env[q], options.max_decimals)
                    if not text.startswith(r"\approx"):  # too long to write exactly: a decimal below
                        self.spelled[q] = text

    def numbers(self, form: Expr) -> tuple[str, bool] | None:
        """``form`` with every symbol and named partial replaced by its number,
        and whether all of them were exact; irrational ones are written as
        decimals (``None`` when a value is missing or decimals are disabled)."""
        table = dict(self.spelled)
        exact = True
        for s in form.free_symbols:
            if s not in table and s in self.approx.env:
                table[s] = self.decimal(self.approx.env[s])
                exact = False
        for p in form.atoms(Partial):
            value = self.evaluate.partial(p)
            text = format_exact(value, self.options.max_decimals) if isinstance(value, sympy.Rational) else r"\approx"
            if not text.startswith(r"\approx"):
                table[p] = text
            else:
                table[p] = self.decimal(self.approx.partial(p))
                exact = False
        if any(t is None for t in table.values()) or any(s not in table for s in form.free_symbols):
            return None
        return Printer(self.options, table).doprint(form), exact

    def decimal(self, value: Expr) -> str | None:
        if not self.options.approx_digits:
            return None
        return decimal(value, self.options.approx_digits)

    def line(self, step: Any) -> Line | None:
        print_ = self.printer.doprint
        parts = [print_(step.lhs)] + [print_(f) for f in step.forms]
        if step.kind in ("split", "recall") or self.evaluate is None:
            return None if step.kind == "sum" else Line(tuple(parts))
        if step.kind == "sum":
            return self._sum(step, parts[0])
        last = step.forms[-1] if step.forms else step.lhs
        value = self.evaluate(last)
        numbers = self.numbers(last) if step.forms and self.options.numbers else None
        if numbers is not None and numbers[0] == parts[-1]:
            numbers = None
        shown = self._value(last, value, exact=numbers is None)
        if numbers is not None and numbers[0] != shown:
            parts.append(numbers[0] if numbers[1] else rf"\approx {numbers[0]}")
        if shown != parts[-1]:
            parts.append(shown)
        return Line(tuple(parts))

    def _value(self, form: Expr, value: Expr, exact: bool = True) -> str:
        if isinstance(value, sympy.Rational):
            return format_exact(value, self.options.max_decimals)
        return format_value(value, self.options, self.approx(form), exact)

    def _sum(self, step: Any, lhs: str) -> Line:
        form = step.forms[-1]
        terms = form.args if isinstance(form, Add) else (form,)
        values = [self.evaluate(t) for t in terms]
        value = self.evaluate(form)
        shown = self._value(form, value)
        if len(values) < 2 or not all(isinstance(v, sympy.Rational) for v in values):
            return Line((lhs, shown))
        terms = [format_exact(abs(v), self.options.max_decimals) for v in values]
        if any(t.startswith(r"\approx") for t in terms):
            return Line((lhs, shown))
        text = ("-" if values[0] < 0 else "") + terms[0]
        for v, term in zip(values[1:], terms[1:]):
            text += f" {'-' if v < 0 else '+'} {term}"
        return Line((lhs, text, shown))


def derivation_lines(
    derivation: Any, values: Mapping | None = None, options: RenderOptions | None = None
) -> list[Line]:
    """The derivation's lines as :class:`Line` objects (parts kept apart for layout)."""
    options = options or RenderOptions()
    context = _Context(derivation, values, options)
    steps = (derivation.context if options.recall else ()) + derivation.steps
    return [line for line in (context.line(s) for s in steps) if line is not None]


def kink_notes(graph: Any, env: Mapping[Symbol, Expr], within, options: RenderOptions | None = None) -> list[str]:
    """A sentence for the relu kinks among ``within`` at ``env`` (none when there are none)."""
    printer = Printer(options or RenderOptions())
    zeros = [f.args[0] for q in graph.kinks(env, within) for f in graph.assignment(q).form.atoms(relu)
             if f.args[0].xreplace(env) == 0]
    if not zeros:
        return []
    where = ", ".join(f"${printer.doprint(z)} = 0$" for z in dict.fromkeys(zeros))
    return [
        rf"Note: at these values {where}: relu has no derivative at 0 (its kink). The lines above take "
        r"$\operatorname{relu}'(0) = 0$, one of its subgradients; a finite-difference check is not meaningful there."
    ]
