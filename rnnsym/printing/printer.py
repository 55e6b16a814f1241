r"""The one printer: every piece of math rnnsym writes is spelled here.

:class:`Printer` is a sympy ``LatexPrinter`` subclass with ``_print_<Node>``
methods for rnnsym's forms (written products, named partials), registered
functions in their registered spelling, and numbers substituted for symbols
where asked; it is configured by one validated :class:`RenderOptions`.

>>> from rnnsym.forms import Partial, Times
>>> from rnnsym.notation import symbol
>>> Printer(RenderOptions()).doprint(Times(Partial(symbol("L"), symbol("yhat_2")), symbol("W_y")))
'\\frac{\\partial L}{\\partial \\hat{y}_{2}} \\times W_{y}'
>>> Printer(RenderOptions(times="cdot", partial="d")).doprint(Times(Partial(symbol("L"), symbol("h_1")), 2))
'\\frac{d L}{d h_{1}} \\cdot 2'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from sympy import Add, Expr, Symbol
from sympy.printing.latex import LatexPrinter

from ..errors import InputError, InputTypeError
from ..forms import Diag, Gradient, Hadamard, MatrixProduct, Transposed, Juxt, Partial, Times
from ..notation import DEFAULT, Notation
from ..limits import digits_of
from ..numbers import format_exact
from ..rules import FUNCTIONS_BY_CLASS

__all__ = ["RenderOptions", "Printer", "TIMES", "PARTIAL"]

TIMES = {"times": r"\times", "cdot": r"\cdot"}
PARTIAL = {"partial": r"\partial", "d": "d"}


@dataclass(frozen=True)
class RenderOptions:
    """How derivations are written.

    - ``times``: ``"times"`` (×, as in the reference exercise) or ``"cdot"``;
    - ``partial``: ``"partial"`` (∂) or ``"d"``;
    - ``notation``: how names are spelled (:class:`~rnnsym.notation.Notation`);
    - ``numbers``: show the line once more with numbers substituted;
    - ``recall``: restate the definitions a derivative runs through;
    - ``approx_digits``: significant digits of the ``\\approx`` shown after an
      irrational value (0 for none);
    - ``max_decimals``: a fraction whose decimal expansion ends within this
      many digits is written as a decimal;
    - ``window``: a recursion over more time steps than ``2 × window + 1`` is
      written for the last and the first ``window`` steps only, with a table
      of every step's values.

    >>> RenderOptions(times="star")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: options.times: got 'star', expected one of 'times', 'cdot'
    """

    times: str = "times"
    partial: str = "partial"
    notation: Notation = field(default=DEFAULT)
    numbers: bool = True
    recall: bool = True
    approx_digits: int = 6
    max_decimals: int = 6
    window: int = 2

    def __post_init__(self) -> None:
        for name, table in (("times", TIMES), ("partial", PARTIAL)):
            value = getattr(self, name)
            if value not in table:
                raise InputError(f"options.{name}", value, "one of " + ", ".join(repr(k) for k in table))
        for name in ("numbers", "recall"):
            if not isinstance(getattr(self, name), bool):
                raise InputTypeError(f"options.{name}", getattr(self, name), "true or false")
        for name, low in (("approx_digits", 0), ("max_decimals", 0), ("window", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 50:
                raise InputError(f"options.{name}", value, f"an integer from {low} to 50")
        if not isinstance(self.notation, Notation):
            raise InputTypeError("options.notation", self.notation, "a rnnsym.notation.Notation")


class Printer(LatexPrinter):
    """LaTeX for rnnsym's forms, in written order.

    ``numbers`` maps symbols and named partials to the LaTeX of the number
    that replaces them; ``None`` prints names.
    """

    printmethod = "_rnnsym_latex"

    def __init__(self, options: RenderOptions, numbers: Mapping[Expr, str] | None = None) -> None:
        super().__init__({"order": "none", "mul_symbol": options.times if options.times == "times" else "dot"})
        self.options = options
        self.numbers = numbers

    def _number(self, expr: Expr) -> str | None:
        if self.numbers is None or expr not in self.numbers:
            return None
        text = self.numbers[expr]
        if expr is self._bare:  # a function's whole argument: the function's brackets are enough
            return text
        # a negative number, or one in scientific form, is bracketed where it stands in a formula
        return rf"\left({text}\right)" if text.startswith("-") or r"\times 10^" in text else text

    def _print_Symbol(self, expr: Symbol, style: str = "plain") -> str:
        number = self._number(expr)
        return number if number is not None else self.options.notation.spell(expr.name)

    def _print_Partial(self, expr: Partial) -> str:
        number = self._number(expr)
        if number is not None:
            return number
        d = PARTIAL[self.options.partial]
        mark = "^{+}" if expr.local else ""
        return rf"\frac{{{d}{mark} {self._print(expr.of)}}}{{{d} {self._print(expr.wrt)}}}"

    def _factor_texts(self, expr: Expr) -> list[str]:
        parts = []
        for i, factor in enumerate(expr.args):
            text = self._print(factor)
            # a negative factor keeps its sign in brackets (a leading number stays a coefficient)
            negative = text.lstrip().startswith("-") and (i > 0 or len(expr.args) > 1 and not factor.is_Number)
            bracket = isinstance(factor, (Add, Times)) or negative
            parts.append(rf"\left({text}\right)" if bracket else text)
        return parts

    def _factors(self, expr: Expr, joiner: str) -> str:
        return joiner.join(self._factor_texts(expr))

    def pieces(self, expr: Expr) -> tuple[str, ...]:
        r"""``expr`` printed as the pieces a line may be broken between: for a sum,
        its first term, then each further term with its sign (``"+ b"``, ``"- c"``);
        for a product written with × (:class:`~rnnsym.forms.Times`), its first
        factor, then each further factor after its ``\times``.  Joined by spaces
        they are exactly :meth:`doprint` of ``expr``.

        >>> from rnnsym.forms import Times
        >>> from rnnsym.notation import symbol
        >>> a, b, c = symbol("a"), symbol("b"), symbol("c")
        >>> Printer(RenderOptions()).pieces(Times(2, a + b, c))
        ('2', '\\times \\left(a + b\\right)', '\\times c')
        """
        if isinstance(expr, Add) and self._number(expr) is None:
            return tuple(piece.strip() for piece in self._add_pieces(expr))
        if isinstance(expr, Times) and self._number(expr) is None:
            first, *rest = self._factor_texts(expr)
            times = TIMES[self.options.times]
            return (first, *(f"{times} {text}" for text in rest))
        return (self.doprint(expr),)

    def _add_pieces(self, expr: Add) -> list[str]:
        # sympy's LatexPrinter._print_Add, term by term
        pieces = []
        for i, term in enumerate(self._as_ordered_terms(expr, order=None)):
            sign = ""
            if i > 0 and term.could_extract_minus_sign():
                sign, term = "- ", -term
            elif i > 0:
                sign = "+ "
            text = self._print(term)
            if self._needs_add_brackets(term):
                text = rf"\left({text}\right)"
            pieces.append(sign + text)
        return pieces

    def _print_Add(self, expr: Add, order: str | None = None) -> str:
        pieces = self._add_pieces(expr)
        return pieces[0] + "".join(f" {p}" for p in pieces[1:])

    def _print_Rational(self, expr: Expr) -> str:
        if digits_of(int(expr.p), int(expr.q)) > 30:  # too long to read: scientific form
            return format_exact(expr)
        return super()._print_Rational(expr)

    def _print_Gradient(self, expr: Gradient) -> str:
        return rf"\nabla_{{{self._print(expr.args[1])}}} {self._print(expr.args[0])}"

    def _print_Transposed(self, expr: Transposed) -> str:
        return rf"{self._print(expr.args[0])}^{{\top}}"

    def _print_Diag(self, expr: Diag) -> str:
        return rf"\operatorname{{diag}}\left({self._print(expr.args[0])}\right)"

    def _print_Hadamard(self, expr: Hadamard) -> str:
        return self._factors(expr, r" \odot ")

    def _print_MatrixProduct(self, expr: MatrixProduct) -> str:
        return self._factors(expr, r" \, ")

    def _print_Times(self, expr: Times) -> str:
        return self._factors(expr, f" {TIMES[self.options.times]} ")

    def _print_Juxt(self, expr: Juxt) -> str:
        if self.numbers is not None:
            return self._factors(expr, f" {TIMES[self.options.times]} ")
        return self._factors(expr, r" \, ")

    _bare = None

    def _print_Function(self, expr: Expr, exp: str | None = None) -> str:
        """A registered function in its registered spelling (:mod:`rnnsym.rules`), else sympy's."""
        if self.numbers is not None and expr.args and expr.args[0] in self.numbers and self._bare is None:
            self._bare = expr.args[0]
            try:
                return self._print_Function(expr, exp)
            finally:
                self._bare = None
        rule = FUNCTIONS_BY_CLASS.get(type(expr))
        if rule is None or rule.latex is None:
            return super()._print_Function(expr, exp)
        argument = self._print(expr.args[0])
        if "{}" in rule.latex:
            return rule.latex.format(argument)
        head = f"{rule.latex}^{{{exp}}}" if exp else rule.latex
        return rf"{head}\left({argument}\right)"

    def _print_Heaviside(self, expr: Expr, exp: str | None = None) -> str:
        return self._print_Function(expr, exp)

    def _print_Norm(self, expr: Expr) -> str:
        """A :class:`~rnnsym.forms.Norm`: ``‖arg‖_index``."""
        return rf"\left\lVert {self._print(expr.arg)} \right\rVert_{{{self._print(expr.index)}}}"

    def _print_Maximum(self, expr: Expr) -> str:
        """A :class:`~rnnsym.forms.Maximum`: ``max_var expr`` (a sum in brackets)."""
        text = self._print(expr.expr)
        return rf"\max_{{{self._print(expr.var)}}} " + (rf"\left({text}\right)" if isinstance(expr.expr, Add) else text)
