"""Written-order forms: the expressions rnnsym shows, built so that sympy keeps them as written.

Two kinds of sympy expression flow through rnnsym.  A *form* keeps the
author's written order: products are :class:`Times` (shown with ×) or
:class:`Juxt` (shown side by side), sums are unevaluated ``Add``, and a named
partial derivative is a :class:`Partial`; a bound is written with a
:class:`Norm` and a :class:`Maximum`.  Its value is :func:`plain`, an
ordinary sympy expression.  The structural derivative of a form is
:func:`rnnsym.partials.partial_form`, which reads the registry of rules.

>>> from rnnsym.notation import symbol
>>> yhat, y = symbol("yhat_1"), symbol("y_1")
>>> form = Times(2, total([yhat, -y]))
>>> form, sympy.sstr(plain(form), order="none")
(Times(2, yhat_1 - y_1), '-2*y_1 + 2*yhat_1')
"""

from __future__ import annotations

import sympy
from sympy import Add, Expr, Pow, S, Symbol
from sympy.core.sympify import _sympify

__all__ = [
    "Times",
    "Juxt",
    "Partial",
    "Gradient",
    "Transposed",
    "Diag",
    "Hadamard",
    "MatrixProduct",
    "Norm",
    "Maximum",
    "product",
    "total",
    "plain",
    "symbols_in_order",
    "substitute",
]


class _Product(Expr):
    """A product kept in written order; ``doit`` gives the sympy ``Mul``."""

    is_commutative = True

    def __new__(cls, *factors: Expr) -> "_Product":
        # strict: numbers and sympy objects only, never text (sympify would parse it)
        return Expr.__new__(cls, *[_sympify(f) for f in factors])

    def doit(self, **hints) -> Expr:
        return sympy.Mul(*[a.doit(**hints) if isinstance(a, sympy.Basic) else a for a in self.args])

    joiner = " "

    def __repr__(self) -> str:
        inner = ", ".join(sympy.sstr(a, order="none") for a in self.args)
        return f"{type(self).__name__}({inner})"

    def _sympystr(self, printer) -> str:
        parts = []
        for a in self.args:
            text = printer._print(a)
            parts.append(f"({text})" if isinstance(a, (Add, Times)) or a.could_extract_minus_sign() and parts else text)
        return self.joiner.join(parts)


class Times(_Product):
    """A product shown with an explicit multiplication sign (``2 × (ŷ_1 − y_1)``)."""

    joiner = " × "


class Juxt(_Product):
    """A product shown by juxtaposition (``h_0 W_h W_y``)."""


class Partial(Expr):
    """The named partial derivative ∂of/∂wrt, as it appears in a chain.

    ``local=True`` marks the immediate partial of one assignment (written
    ∂⁺), as opposed to the derivative along every path.
    """

    is_commutative = True

    def __new__(cls, of: Symbol, wrt: Symbol, local: bool = False) -> "Partial":
        return Expr.__new__(cls, of, wrt, sympy.true if local else sympy.false)

    @property
    def of(self) -> Symbol:
        return self.args[0]

    @property
    def wrt(self) -> Symbol:
        return self.args[1]

    @property
    def local(self) -> bool:
        return bool(self.args[2])

    def __repr__(self) -> str:
        mark = "∂⁺" if self.local else "∂"
        return f"{mark}{self.of}/∂{self.wrt}"

    def _sympystr(self, printer) -> str:
        return repr(self)


class Norm(Expr):
    """The norm ‖arg‖ with subscript ``index``, as written: ``Norm(W, 2)`` is the
    spectral norm of a matrix (its largest singular value).  Shown only: it has no value.

    >>> from rnnsym.printing import Printer, RenderOptions
    >>> print(Printer(RenderOptions()).doprint(Norm(Symbol("W_h"), 2)))
    \\left\\lVert W_{h} \\right\\rVert_{2}
    """

    is_commutative = True

    def __new__(cls, arg: Expr, index: Expr = 2) -> "Norm":
        return Expr.__new__(cls, _sympify(arg), _sympify(index))

    @property
    def arg(self) -> Expr:
        return self.args[0]

    @property
    def index(self) -> Expr:
        return self.args[1]


class Maximum(Expr):
    """The largest value of ``expr`` over ``var``, as written (``max_z |f′(z)|``).
    Shown only: it has no value.

    >>> from rnnsym.printing import Printer, RenderOptions
    >>> z = Symbol("z")
    >>> print(Printer(RenderOptions()).doprint(Maximum(sympy.Abs(sympy.tanh(z)), z)))
    \\max_{z} \\left|{\\tanh{\\left(z \\right)}}\\right|
    """

    is_commutative = True

    def __new__(cls, expr: Expr, var: Symbol) -> "Maximum":
        return Expr.__new__(cls, _sympify(expr), _sympify(var))

    @property
    def expr(self) -> Expr:
        return self.args[0]

    @property
    def var(self) -> Symbol:
        return self.args[1]


class Gradient(Expr):
    """∇_wrt of, the gradient of a scalar with respect to a vector or matrix, as written."""

    is_commutative = False

    def __new__(cls, of: Expr, wrt: Expr) -> "Gradient":
        return Expr.__new__(cls, _sympify(of), _sympify(wrt))


class Transposed(Expr):
    """The transpose of a vector or matrix named by a symbol, as written (W_hᵀ)."""

    is_commutative = False

    def __new__(cls, arg: Expr) -> "Transposed":
        return Expr.__new__(cls, _sympify(arg))


class Diag(Expr):
    """diag(v): the diagonal matrix with the entries of the vector ``v``, as written."""

    is_commutative = False

    def __new__(cls, arg: Expr) -> "Diag":
        return Expr.__new__(cls, _sympify(arg))


class Hadamard(_Product):
    """An entry-wise product of vectors, shown with ⊙."""

    joiner = " ⊙ "


class MatrixProduct(_Product):
    """A product of vectors and matrices in written order, shown side by side (not commutative)."""

    is_commutative = False


def product(factors: list[Expr], kind: type = Times) -> Expr:
    """A product of ``factors`` of ``kind``, tidied without reordering.

    Nested products of the same kind are flattened, numeric factors are
    multiplied into one leading coefficient, factors equal to 1 are dropped
    and a zero factor makes the whole product zero.

    >>> x = sympy.Symbol("x")
    >>> product([sympy.Rational(1, 2), Times(2, x)])
    x
    """
    coefficient = S.One
    rest: list[Expr] = []
    pending = list(factors)
    while pending:
        f = pending.pop(0)
        if isinstance(f, kind):
            pending[:0] = f.args
        elif _is_negation(f):
            coefficient = -coefficient
            pending.insert(0, f.args[1])
        elif f.is_Number:
            coefficient *= f
        else:
            rest.append(f)
    if coefficient == 0:
        return S.Zero
    body = S.One if not rest else rest[0] if len(rest) == 1 else kind(*rest)
    if coefficient == 1:
        return body
    if coefficient == -1 and rest:
        return sympy.Mul(S.NegativeOne, body, evaluate=False)
    return kind(coefficient, *rest) if rest else coefficient


def _is_negation(f: Expr) -> bool:
    """Whether ``f`` is the written negation ``Mul(-1, x)`` of one factor."""
    return isinstance(f, sympy.Mul) and len(f.args) == 2 and f.args[0] == -1


def total(terms: list[Expr]) -> Expr:
    """An unevaluated sum of the non-zero ``terms``, in order."""
    terms = [t for t in terms if t != 0]
    if not terms:
        return S.Zero
    if len(terms) == 1:
        return terms[0]
    return Add(*terms, evaluate=False)


def plain(form: Expr) -> Expr:
    """The ordinary sympy value of a form (products multiplied, sums added).

    >>> x = sympy.Symbol("x")
    >>> plain(Times(2, Add(x, 1, evaluate=False)))
    2*x + 2
    """
    if not isinstance(form, sympy.Basic) or not form.args or isinstance(form, Partial):
        return form
    args = [plain(a) for a in form.args]
    if isinstance(form, _Product):
        return sympy.Mul(*args)
    return form.func(*args)


def substitute(form: Expr, mapping: dict) -> Expr:
    """``form`` with symbols replaced per ``mapping``, keeping written order.

    Unlike ``xreplace``, sums and powers are rebuilt unevaluated.

    >>> a, b, c = sympy.symbols("a b c")
    >>> substitute(Add(b, a, evaluate=False), {a: c}).args
    (b, c)
    """
    if form in mapping:
        return mapping[form]
    if isinstance(form, Partial):
        return Partial(mapping.get(form.of, form.of), mapping.get(form.wrt, form.wrt), form.local)
    if not isinstance(form, sympy.Basic) or not form.args:
        return form
    args = [substitute(a, mapping) for a in form.args]
    if isinstance(form, (Add, sympy.Mul, Pow)):
        return form.func(*args, evaluate=False)
    return form.func(*args)


def symbols_in_order(form: Expr) -> list[Symbol]:
    """The symbols of ``form`` in the order they are written, each once."""
    seen: dict[Symbol, None] = {}
    for node in sympy.preorder_traversal(form):
        if isinstance(node, Symbol):
            seen.setdefault(node, None)
    return list(seen)
