"""Operations a cell is written with: display products, activations and losses.

Two kinds of sympy expression flow through rnnsym.  A *form* keeps the
author's written order: products are :class:`Times` (shown with ×) or
:class:`Juxt` (shown side by side), sums are unevaluated ``Add``.  Its value is
``form.doit()``, an ordinary sympy expression.  :func:`partial_form` takes the
derivative of a form structurally, so that the derivative of
``(ŷ − y)²`` stays ``2 × (ŷ − y)`` instead of becoming ``2ŷ − 2y``.

Activations and losses are registrations: a name, the sympy function, and
the form of the derivative.

>>> from rnnsym.notation import symbol
>>> yhat, y = symbol("yhat_1"), symbol("y_1")
>>> loss = LOSSES["squared"].form(yhat, y)
>>> partial_form(loss, yhat)
Times(2, yhat_1 - y_1)
>>> partial_form(loss, y)
Times(-2, yhat_1 - y_1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy
from sympy import Add, Expr, Function, Heaviside, Integer, Pow, Rational, S, Symbol
from sympy.core.sympify import _sympify

__all__ = [
    "Times",
    "Juxt",
    "Partial",
    "sigmoid",
    "relu",
    "Activation",
    "Loss",
    "ACTIVATIONS",
    "LOSSES",
    "partial_form",
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


class sigmoid(Function):
    """The logistic function σ(x) = 1/(1 + e^(−x)), exact at rational points.

    >>> sigmoid(0)
    1/2
    >>> sigmoid(sympy.Symbol("x")).diff(sympy.Symbol("x"))
    (1 - sigmoid(x))*sigmoid(x)
    """

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            return 1 / (1 + sympy.exp(-arg))
        return None

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    def _eval_evalf(self, prec):
        return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sympy.exp(-arg))

    def _eval_is_real(self):
        return self.args[0].is_real


class relu(Function):
    """max(0, x), with derivative ``Heaviside(x, 0)``: relu′(0) is taken as 0.

    >>> relu(Rational(-1, 2)), relu(3)
    (0, 3)
    """

    @classmethod
    def eval(cls, arg):
        if arg.is_number:
            if arg.is_extended_positive:
                return arg
            if arg.is_extended_nonpositive:
                return S.Zero
        return None

    def fdiff(self, argindex=1):
        return Heaviside(self.args[0], 0)

    def _eval_evalf(self, prec):
        value = self.args[0]._eval_evalf(prec)
        return None if value is None else (value if value > 0 else sympy.Float(0, precision=prec))

    def _eval_is_real(self):
        return self.args[0].is_real


@dataclass(frozen=True)
class Activation:
    """An activation: how to apply it and the form of its derivative.

    ``derivative(z, out)`` gives f′(z) written, where possible, in the
    activation's own output ``out`` (``1 − h_t²`` for tanh).
    """

    name: str
    apply: Callable[[Expr], Expr]
    derivative: Callable[[Expr, Expr], Expr]
    note: str = ""


def _identity(z: Expr) -> Expr:
    return z


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", _identity, lambda z, out: S.One),
    "tanh": Activation(
        "tanh",
        sympy.tanh,
        lambda z, out: Add(S.One, -Pow(out, 2, evaluate=False), evaluate=False),
        "tanh′(z) = 1 − tanh(z)²",
    ),
    "sigmoid": Activation(
        "sigmoid",
        sigmoid,
        lambda z, out: Juxt(out, Add(S.One, -out, evaluate=False)),
        "σ′(z) = σ(z)(1 − σ(z))",
    ),
    "relu": Activation(
        "relu",
        relu,
        lambda z, out: Heaviside(z, 0),
        "relu′(z) = 1 for z > 0 and 0 for z ≤ 0 (relu′(0) = 0 by convention)",
    ),
}


@dataclass(frozen=True)
class Loss:
    """A per-step loss: ``form(yhat, y)`` is its written form."""

    name: str
    form: Callable[[Expr, Expr], Expr]
    note: str = ""


def _error(yhat: Expr, y: Expr) -> Expr:
    return Add(yhat, -y, evaluate=False)


LOSSES: dict[str, Loss] = {
    "squared": Loss("squared", lambda yhat, y: Pow(_error(yhat, y), 2, evaluate=False), "L_t = (ŷ_t − y_t)²"),
    "half_squared": Loss(
        "half_squared",
        lambda yhat, y: Times(Rational(1, 2), Pow(_error(yhat, y), 2, evaluate=False)),
        "L_t = ½(ŷ_t − y_t)²",
    ),
}

_FUNCTION_DERIVATIVES: dict[type, Callable[[Expr], Expr]] = {
    sympy.tanh: lambda z: Add(S.One, -Pow(sympy.tanh(z), 2, evaluate=False), evaluate=False),
    sigmoid: lambda z: Juxt(sigmoid(z), Add(S.One, -sigmoid(z), evaluate=False)),
    relu: lambda z: Heaviside(z, 0),
}


def product(factors: list[Expr], kind: type = Times) -> Expr:
    """A product of ``factors`` of ``kind``, tidied without reordering.

    Nested products of the same kind are flattened, numeric factors are
    multiplied into one leading coefficient, factors equal to 1 are dropped
    and a zero factor makes the whole product zero.

    >>> x = sympy.Symbol("x")
    >>> product([Rational(1, 2), Times(2, x)])
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


def partial_form(form: Expr, var: Symbol, out: Expr | None = None) -> Expr:
    """The derivative of ``form`` with respect to ``var``, as a form.

    ``out`` names the quantity ``form`` defines; an activation applied at the
    top of the form then has its derivative written in ``out``.

    >>> from rnnsym.notation import symbol
    >>> h0, Wh, x, Wx = map(symbol, ["h_0", "W_h", "x_1", "W_x"])
    >>> partial_form(Add(Times(h0, Wh), Times(x, Wx), evaluate=False), Wh)
    h_0
    """
    if out is not None and isinstance(form, Function) and type(form) in _FUNCTION_DERIVATIVES:
        inner = partial_form(form.args[0], var)
        for activation in ACTIVATIONS.values():
            if activation.apply is type(form):
                return product([activation.derivative(form.args[0], out), inner], Juxt)
    return _partial(form, var)


def _partial(form: Expr, var: Symbol) -> Expr:
    if form == var:
        return S.One
    if not form.has(var):
        return S.Zero
    if isinstance(form, Add):
        return total([_partial(a, var) for a in form.args])
    if isinstance(form, (_Product, sympy.Mul)):
        kind = type(form) if isinstance(form, _Product) else Times
        terms = []
        for i, factor in enumerate(form.args):
            d = _partial(factor, var)
            if d == 0:
                continue
            others = list(form.args[:i]) + list(form.args[i + 1 :])
            terms.append(product(others + [d], kind))
        return total(terms)
    if isinstance(form, Pow) and form.exp.is_Integer:
        n = form.exp
        base = form.base
        power = base if n == 2 else Pow(base, n - 1, evaluate=False)
        return product([Integer(n), power, _partial(base, var)])
    if isinstance(form, Function) and type(form) in _FUNCTION_DERIVATIVES:
        return product([_FUNCTION_DERIVATIVES[type(form)](form.args[0]), _partial(form.args[0], var)], Juxt)
    return sympy.diff(plain(form), var)


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
