"""The registry of rules: what each activation, elementary function and loss *is*.

One registration says everything rnnsym needs to know about a function — its
sympy function, the written form of its derivative, its numeric value in
mpmath, its LaTeX, whether it keeps rational numbers rational, and the
largest size of its derivative (for gradient-flow bounds) — and every stage
reads it from here: derivatives (:func:`rnnsym.partials.partial_form`),
evaluation, printing, exercise files, strategies, the gradient checker and
the bounds of :mod:`rnnsym.analysis.bound`.  A function rnnsym does not know is
an error, never a silent fallback.

A user activation is one call (the softplus of Dugas et al., 2001):

>>> import sympy
>>> softplus = register_activation(
...     "softplus", lambda z: sympy.log(1 + sympy.exp(z)),
...     derivative=lambda z, out: sigmoid(z), max_derivative=1,
...     note="softplus′(z) = σ(z) < 1")
>>> softplus.apply(sympy.Integer(0))
log(2)
>>> round(float(softplus.numeric(mpmath.mpf(1))), 12)  # log(1 + e), in decimals
1.313261687518
>>> "softplus" in ACTIVATIONS
True
>>> unregister("softplus")

Losses are registrations too: ``form(yhat, y)`` writes one output component's
term, summed over the components, and ``output = "softmax"`` puts a softmax
between the readout o_t and ŷ_t.

>>> from rnnsym.notation import symbol
>>> sympy.sstr(LOSSES["squared"].form(symbol("yhat_1"), symbol("y_1")), order="none")
'(yhat_1 - y_1)**2'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import mpmath
import sympy
from sympy import Add, Expr, Function, Heaviside, Pow, Rational, S

from .errors import InputError, InputTypeError
from .forms import Juxt, Times

__all__ = [
    "Rule",
    "Loss",
    "FUNCTIONS",
    "FUNCTIONS_BY_CLASS",
    "ACTIVATIONS",
    "LOSSES",
    "LOSS_OUTPUTS",
    "rule_for",
    "register_function",
    "register_activation",
    "register_loss",
    "unregister",
    "sigmoid",
    "relu",
]


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
class Rule:
    """What one function of one argument means.

    - ``name``: how exercise files and formulas call it (``"tanh"``);
    - ``function``: the sympy function class (``None`` for the identity);
    - ``derivative(z, out)``: f′(z) as a written form, in the argument ``z``
      and, where that reads better, the function's own value ``out``
      (``1 − h_t²`` for tanh, written in h_t);
    - ``numeric``: the function on mpmath numbers;
    - ``latex``: its LaTeX name (``\\sigma``), a template with ``{}`` for the
      argument, or ``None`` for sympy's own spelling;
    - ``rational``: whether rational arguments give rational values (then a
      model built from it is computed exactly in rational arithmetic);
    - ``max_derivative``: max over z of |f′(z)| (``None`` when unbounded),
      used by gradient-flow bounds; ``note`` says why, in words;
    - ``activation``: whether a cell may use it as its activation.
    """

    name: str
    function: type | None
    derivative: Callable[[Expr, Expr], Expr]
    numeric: Callable[[mpmath.mpf], mpmath.mpf]
    latex: str | None = None
    rational: bool = False
    max_derivative: Expr | None = None
    note: str = ""
    activation: bool = True
    definition: Callable[[Expr], Expr] | None = field(default=None, repr=False, compare=False)

    def apply(self, z: Expr) -> Expr:
        """The function applied to ``z`` (``z`` itself for the identity)."""
        return z if self.function is None else self.function(z)

    def __repr__(self) -> str:
        return f"Rule({self.name!r})"


#: The outputs a loss may put between the readout o_t and ŷ_t.
LOSS_OUTPUTS = ("identity", "softmax", "sigmoid")


@dataclass(frozen=True)
class Loss:
    """A per-step loss: ``form(yhat, y)`` writes one output component's term;
    the terms of all components are added.  ``output`` is ``"identity"`` (ŷ_t
    is the readout, through the output activation), ``"softmax"`` (ŷ_t =
    softmax(o_t), at least two outputs) or ``"sigmoid"`` (ŷ_t = σ(o_t), each
    output on its own); ``note`` is the loss in words.  ``simplified``: for a
    loss paired with its output (cross-entropy after a softmax, binary
    cross-entropy after a sigmoid) the textbook result ∂L_t/∂o_t = ŷ_t − y_t,
    as ``simplified(yhat, y)`` for one output unit (``None`` for other losses).
    """

    name: str
    form: Callable[[Expr, Expr], Expr]
    output: str = "identity"
    note: str = ""
    simplified: Callable[[Expr, Expr], Expr] | None = field(default=None, repr=False, compare=False)

    def check(self, output_activation: str = "identity", outputs: int = 1) -> None:
        """Refuse a model this loss cannot score: a softmax over fewer than two outputs
        (it is always 1, every gradient 0), or another output activation after the
        loss's own softmax or sigmoid.

        >>> LOSSES["cross_entropy"].check(outputs=1)
        Traceback (most recent call last):
        ...
        rnnsym.errors.InputError: model.loss: got 'cross_entropy', expected a loss for one output: 'binary_cross_entropy' (a sigmoid output; a softmax over one output is always 1, so every gradient would be 0), or output >= 2
        """
        if self.output == "softmax" and outputs < 2:
            raise InputError("model.loss", self.name, "a loss for one output: 'binary_cross_entropy' (a sigmoid output; "
                             "a softmax over one output is always 1, so every gradient would be 0), or output >= 2")
        if self.output != "identity" and output_activation not in ("identity", self.output):
            raise InputError("model.output_activation", output_activation,
                             f"'identity' with loss = {self.name!r} (it puts a {self.output} on the outputs itself)")

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"


#: Every function a form may use, by name.
FUNCTIONS: dict[str, Rule] = {}
#: The functions a cell may use as its activation, by name (``identity`` first).
ACTIVATIONS: dict[str, Rule] = {}
#: The per-step losses, by name.
LOSSES: dict[str, Loss] = {}
#: Every function's rule, by its sympy function class.
FUNCTIONS_BY_CLASS: dict[type, Rule] = {}
_BUILT_IN: set[str] = set()


def rule_for(function: type | Expr) -> Rule:
    """The rule of a sympy function class (or of an applied function).

    >>> rule_for(sympy.tanh).max_derivative
    1
    >>> rule_for(sympy.cos)
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: function: got 'cos', expected a registered function (tanh, sigmoid, relu, exp, log, Heaviside); see rnnsym.rules.register_function
    """
    cls = function if isinstance(function, type) else type(function)
    rule = FUNCTIONS_BY_CLASS.get(cls)
    if rule is None:
        names = ", ".join(r.name for r in FUNCTIONS.values() if r.function is not None)
        raise InputError("function", getattr(cls, "__name__", str(cls)),
                         f"a registered function ({names}); see rnnsym.rules.register_function")
    return rule


def _check_name(name: object, table: dict, what: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise InputError(f"{what}.name", name, "a name of letters, digits and underscores, such as 'softplus'")
    if name in _BUILT_IN:
        raise InputError(f"{what}.name", name, f"a name other than a built-in one ({', '.join(sorted(_BUILT_IN))})")
    return name


def register_function(rule: Rule) -> Rule:
    """Register ``rule`` (replacing a user rule of the same name); returns it."""
    if not isinstance(rule, Rule):
        raise InputTypeError("rule", rule, "a rnnsym.rules.Rule")
    FUNCTIONS[rule.name] = rule
    if rule.function is not None:
        FUNCTIONS_BY_CLASS[rule.function] = rule
    if rule.activation:
        ACTIVATIONS[rule.name] = rule
    return rule


def _evalf_numeric(function: type) -> Callable[[mpmath.mpf], mpmath.mpf]:
    def value(x: mpmath.mpf) -> mpmath.mpf:
        prec = mpmath.mp.prec + 10
        value = function(sympy.Float(x, precision=prec)).evalf(mpmath.libmp.prec_to_dps(prec))
        return sympy.Float(value, precision=prec)._to_mpmath(prec)

    return value


def register_activation(
    name: str,
    definition: Callable[[Expr], Expr],
    derivative: Callable[[Expr, Expr], Expr] | None = None,
    *,
    numeric: Callable[[mpmath.mpf], mpmath.mpf] | None = None,
    latex: str | None = None,
    max_derivative: object = None,
    note: str = "",
    rational: bool = False,
) -> Rule:
    """Register an activation ``name`` defined by ``definition(z)``, a sympy
    expression in ``z`` built from registered functions (``log(1 + exp(z))``).

    A new sympy function ``name`` is made for it: it evaluates exactly at
    rational points where sympy can (softplus(0) = log 2), and numerically
    through ``numeric`` (an mpmath function; default: sympy's evaluation of
    the definition).  ``derivative(z, out)`` writes f′ (default: sympy's
    derivative of the definition); ``max_derivative`` bounds |f′| for
    gradient-flow bounds; ``latex`` defaults to ``\\operatorname{name}``.
    After this call the name works everywhere an activation does: cells,
    exercise files, derivations, sheets, strategies and ``check_gradients``.
    Returns the :class:`Rule`.
    """
    _check_name(name, ACTIVATIONS, "activation")
    if not callable(definition):
        raise InputTypeError("definition", definition, "a function of one sympy symbol returning its expression")
    z = sympy.Dummy("z", real=True)
    body = definition(z)
    if not isinstance(body, Expr) or body.free_symbols - {z}:
        raise InputError("definition", body, "a sympy expression in its one argument")
    for node in sympy.preorder_traversal(body):
        if isinstance(node, Function):
            rule_for(node)  # every function inside must be known
    slope = sympy.diff(body, z) if derivative is None else None

    def eval_(cls, arg):
        if arg.is_Number and not arg.is_Float:
            return body.xreplace({z: arg})
        return None

    def fdiff(self, argindex=1):
        arg = self.args[0]
        return slope.xreplace({z: arg}) if derivative is None else sympy.sympify(derivative(arg, self)).doit()

    def _eval_evalf(self, prec):
        return body.xreplace({z: self.args[0]})._eval_evalf(prec)

    cls = type(name, (Function,), {
        "eval": classmethod(eval_), "fdiff": fdiff, "_eval_evalf": _eval_evalf,
        "_eval_is_real": lambda self: self.args[0].is_real, "__module__": __name__,
    })
    written = derivative or (lambda arg, out: slope.xreplace({z: arg}))
    bound = None if max_derivative is None else sympy.Rational(max_derivative) if not isinstance(max_derivative, Expr) else max_derivative
    rule = Rule(name, cls, written, numeric or _evalf_numeric(cls), latex or rf"\operatorname{{{name}}}", rational,
                bound, note, True, definition)
    return register_function(rule)


def register_loss(name: str, form: Callable[[Expr, Expr], Expr], *, output: str = "identity", note: str = "") -> Loss:
    """Register the per-step loss ``name``: ``form(yhat, y)`` is one output
    component's term (``(ŷ − y)⁴`` …), written with registered functions;
    ``output="softmax"`` puts a softmax before it, ``output="sigmoid"`` a
    sigmoid on each output.  Returns the :class:`Loss`."""
    _check_name(name, LOSSES, "loss")
    if not callable(form):
        raise InputTypeError("form", form, "a function of (yhat, y) returning a sympy expression")
    if output not in LOSS_OUTPUTS:
        raise InputError("output", output, "one of " + ", ".join(repr(o) for o in LOSS_OUTPUTS))
    loss = Loss(name, form, output, note)
    LOSSES[name] = loss
    return loss


def unregister(name: str) -> None:
    """Remove the user activation, function or loss ``name``."""
    if name in _BUILT_IN:
        raise InputError("name", name, "a user registration, not a built-in one")
    rule = FUNCTIONS.pop(name, None)
    ACTIVATIONS.pop(name, None)
    if rule is not None and rule.function is not None:
        FUNCTIONS_BY_CLASS.pop(rule.function, None)
    LOSSES.pop(name, None)


# --- the built-in rules ---------------------------------------------------------------------------


def _heaviside(x: mpmath.mpf) -> mpmath.mpf:
    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0)


def _one_minus_square(z: Expr, out: Expr) -> Expr:
    return Add(S.One, -Pow(out, 2, evaluate=False), evaluate=False)


def _sigmoid_slope(z: Expr, out: Expr) -> Expr:
    return Juxt(out, Add(S.One, -out, evaluate=False))


for _rule in (
    Rule("identity", None, lambda z, out: S.One, lambda x: x, None, True, S.One, "the identity has f′ = 1"),
    Rule("tanh", sympy.tanh, _one_minus_square, mpmath.tanh, None, False, S.One,
         "tanh′(z) = 1 − tanh(z)² ≤ 1, with equality only at z = 0"),
    Rule("sigmoid", sigmoid, _sigmoid_slope, lambda x: 1 / (1 + mpmath.exp(-x)), r"\sigma", False, Rational(1, 4),
         "σ′(z) = σ(z)(1 − σ(z)) ≤ 1/4, with equality only at z = 0"),
    Rule("relu", relu, lambda z, out: Heaviside(z, 0), lambda x: x if x > 0 else mpmath.mpf(0),
         r"\operatorname{relu}", True, S.One,
         "relu′(z) is 1 for z > 0 and 0 otherwise (relu′(0) = 0 by convention)"),
    Rule("exp", sympy.exp, lambda z, out: out, mpmath.exp, None, False, None, "exp′ = exp", False),
    Rule("log", sympy.log, lambda z, out: Pow(z, -1), mpmath.log, None, False, None, "log′(z) = 1/z", False),
    Rule("Heaviside", Heaviside, lambda z, out: S.Zero, _heaviside, r"\mathbf{{1}}\left[{} > 0\right]", True, S.Zero,
         "the step function: 1 for z > 0, else 0", False),
):
    register_function(_rule)
    _BUILT_IN.add(_rule.name)


def _error(yhat: Expr, y: Expr) -> Expr:
    return Add(yhat, -y, evaluate=False)


def _negated(term: Expr) -> Expr:
    """−term, written as a negation (printed ``− y log ŷ``, never ``+ −1 × …``)."""
    return sympy.Mul(S.NegativeOne, term, evaluate=False)


def _binary_cross_entropy(yhat: Expr, y: Expr) -> Expr:
    return Add(_negated(Times(y, sympy.log(yhat))),
               _negated(Times(Add(S.One, -y, evaluate=False), sympy.log(Add(S.One, -yhat, evaluate=False)))),
               evaluate=False)


# Cross-entropy and binary cross-entropy as in Goodfellow, Bengio & Courville (2016), §6.2.2.2–3, and
# PyTorch's CrossEntropyLoss and BCEWithLogitsLoss: with their softmax or sigmoid, ∂L_t/∂o_t = ŷ_t − y_t.
for _loss in (
    Loss("squared", lambda yhat, y: Pow(_error(yhat, y), 2, evaluate=False), "identity", "L_t = (ŷ_t − y_t)²"),
    Loss("half_squared", lambda yhat, y: Times(Rational(1, 2), Pow(_error(yhat, y), 2, evaluate=False)), "identity",
         "L_t = ½(ŷ_t − y_t)²"),
    Loss("cross_entropy", lambda yhat, y: _negated(Times(y, sympy.log(yhat))), "softmax",
         "L_t = −Σ_k y_{t,k} log ŷ_{t,k}, ŷ_t = softmax(o_t)", _error),
    Loss("binary_cross_entropy", _binary_cross_entropy, "sigmoid",
         "L_t = −(y_t log ŷ_t + (1 − y_t) log(1 − ŷ_t)), ŷ_t = σ(o_t)", _error),
):
    LOSSES[_loss.name] = _loss
    _BUILT_IN.add(_loss.name)
