r"""One step of gradient descent on a model's parameters, optionally with the gradient clipped by its global norm.

:func:`sgd_step` answers "what is W_h after one step of gradient descent with
learning rate η?": each parameter's gradient is derived as
:func:`rnnsym.derive` writes it, then updated, W' = W − η ∂L/∂W.  With a
clipping threshold c the gradients of the updated parameters are first scaled
together by s = min(1, c/‖g‖), ‖g‖ = sqrt(Σ_W ‖∂L/∂W‖²) the 2-norm of all of
them as one vector (the Frobenius norm for a matrix), so that the step is
W' = W − η s ∂L/∂W.  This is the convention of PyTorch's
``torch.nn.utils.clip_grad_norm_`` (norm_type 2, the gradients of the
parameters passed viewed as a single vector), except that PyTorch divides by
‖g‖ + 10⁻⁶ to guard against a zero norm; rnnsym keeps the step exact and
divides by ‖g‖ itself (a zero gradient is not scaled at all), which differs
from PyTorch's scale by a relative 10⁻⁶/‖g‖ at most.

On the reference exercise (IN5400: W_h = 1, ∂L/∂W_h = 8):

>>> import rnnsym
>>> ex = rnnsym.reference()
>>> step = sgd_step(ex.graph, "W_h", lr="0.1")
>>> step
TrainingStep(W_h, lr=0.1)
>>> step.evaluate(ex.values)
1/5
>>> print(step.latex(ex.values)[-1])
W_{h}' = W_{h} - \eta \times \frac{\partial L}{\partial W_{h}} = 1 - 0.1 \times 8 = 0.2
>>> clipped = sgd_step(ex.graph, "W_h", lr="0.1", clip=5)
>>> clipped.evaluate(ex.values)
1/2
>>> print(clipped.latex(ex.values)[-2])
s = \min\left(1, \frac{c}{\lVert g \rVert}\right) = \min\left(1, \frac{5}{8}\right) = 0.625

In an exercise file, a question with a ``step`` table (see docs/training.md):
``find = "dL/dW_h"`` and ``step = { lr = "0.1", clip = 5 }`` for one parameter,
``find = "step"`` and ``step = { lr = "0.1", wrt = ["W_h", "W_x"] }`` for several
(every parameter of the model when ``wrt`` is left out).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import mpmath
import sympy
from sympy import Expr

from .derivation import derive
from .derivation.core import SPLITS, Derivation
from .errors import InputError, InputTypeError
from .evaluation import Evaluation
from .exact import Exact, mp_value
from .forms import Partial
from .graph import Graph
from .notation import symbol
from .numbers import Number, format_exact, parse_number
from .printing import Line, Printer, RenderOptions, TIMES, decimal, format_value

__all__ = ["StepSpec", "TrainingStep", "sgd_step", "parameters", "read_step", "STEP_KEYS", "FIND_STEP"]

#: The keys of a question's ``step`` table.
STEP_KEYS = ("lr", "clip", "wrt")
#: ``find`` of a question that updates several parameters (named by ``step.wrt``).
FIND_STEP = "step"
#: Digits of the comparison ‖g‖ > c when the norm is irrational.
_COMPARE_DIGITS = 60


def parameters(graph: Graph) -> tuple[str, ...]:
    """The names of ``graph``'s parameters, whole vectors and matrices by their own name.

    >>> import rnnsym
    >>> parameters(rnnsym.elman(2, hidden=2))
    ('W_h', 'W_x', 'W_y')
    """
    return graph.cell.parameter_tensors


@dataclass(frozen=True)
class StepSpec:
    """A question's training step: learning rate ``lr``, clipping threshold ``clip``
    (None: no clipping) and the parameters ``wrt`` it updates.

    >>> StepSpec(parse_number("0.1", "lr"), None, ("W_h",))
    StepSpec(lr=0.1, wrt=('W_h',))
    """

    lr: Number
    clip: Number | None
    wrt: tuple[str, ...]

    def __repr__(self) -> str:
        clip = f", clip={self.clip.spelling}" if self.clip is not None else ""
        return f"StepSpec(lr={self.lr.spelling}{clip}, wrt={self.wrt!r})"

    def answer(self, graph: Graph, of: str = "L", split: str = "auto") -> "TrainingStep":
        """The :class:`TrainingStep` this spec asks for on ``graph``."""
        return sgd_step(graph, self.wrt, self.lr, self.clip, of=of, split=split)

    def prompt(self, options: RenderOptions | None = None) -> str:
        r"""What the step asks, as a LaTeX sentence for a question sheet.

        >>> StepSpec(parse_number("0.1", "lr"), parse_number(5, "clip"), ("W_h", "W_x")).prompt()
        'Compute $W_{h}$ and $W_{x}$ after one step of gradient descent on $L$ with learning rate $\\eta = 0.1$, the gradient clipped to global norm $c = 5$.'
        """
        notation = (options or RenderOptions()).notation
        names = [f"${notation.spell(name)}$" for name in self.wrt]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        clip = f", the gradient clipped to global norm $c = {self.clip.latex}$" if self.clip is not None else ""
        return (f"Compute {listed} after one step of gradient descent on $L$ with learning rate "
                f"$\\eta = {self.lr.latex}${clip}.")


def _positive(value: object, field: str) -> Number:
    number = parse_number(value, field)
    if number.exact <= 0:
        raise InputError(field, value, "a number > 0")
    return number


def _names(graph: Graph, wrt: object, field: str) -> tuple[str, ...]:
    available = parameters(graph)
    if wrt is None:
        return available
    names = [wrt] if isinstance(wrt, str) else wrt
    if not isinstance(names, (list, tuple)) or not names:
        raise InputTypeError(field, wrt, "a parameter's name or a non-empty list of them (" + ", ".join(available) + ")")
    out: list[str] = []
    for i, name in enumerate(names):
        at = field if isinstance(wrt, str) else f"{field}[{i}]"
        if not isinstance(name, str):
            raise InputTypeError(at, name, "a parameter's name (one of " + ", ".join(available) + ")")
        name = name.replace(" ", "")
        if name not in available:
            raise InputError(at, name, "a parameter of the model (one of " + ", ".join(available) + ")")
        if name in out:
            raise InputError(at, name, "each parameter once")
        out.append(name)
    return tuple(out)


def read_step(data: object, field: str, graph: Graph, wrt: str | None = None) -> StepSpec:
    """A question's ``step`` table (``{ lr = "0.1", clip = 5, wrt = ["W_h"] }``) read and
    checked against ``graph``; ``wrt`` is the parameter the question's ``find``
    names (``"dL/dW_h"``), None for ``find = "step"``.  Errors name ``field``.

    >>> import rnnsym
    >>> read_step({"lr": "0.1"}, "step", rnnsym.elman(2), "W_h")
    StepSpec(lr=0.1, wrt=('W_h',))
    >>> read_step({"lr": 0}, "questions[0].step", rnnsym.elman(2), "W_h")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: questions[0].step.lr: got 0, expected a number > 0
    """
    if not isinstance(data, dict):
        raise InputTypeError(field, data, 'a table such as { lr = "0.1" } or { lr = "0.1", clip = 5 }')
    for key in data:
        if key not in STEP_KEYS:
            raise InputError(field, key, "a key among " + ", ".join(STEP_KEYS))
    if "lr" not in data:
        raise InputError(f"{field}.lr", None, "the learning rate, a number > 0 (this key is required)")
    lr = _positive(data["lr"], f"{field}.lr")
    clip = _positive(data["clip"], f"{field}.clip") if "clip" in data else None
    if wrt is not None:
        if "wrt" in data:
            raise InputError(f"{field}.wrt", data["wrt"], f'no wrt when find names the parameter (use find = "{FIND_STEP}" '
                             "to update several)")
        names = _names(graph, wrt, "find")
    else:
        names = _names(graph, data.get("wrt"), f"{field}.wrt")
    return StepSpec(lr, clip, names)


@dataclass(frozen=True)
class _Point:
    """Every number of a step at one point: parameters, gradients, norm, scale, new parameters."""

    weights: dict[str, Any]
    gradients: dict[str, Any]
    squares: dict[str, Any]
    norm: Any
    scale: Any
    new: dict[str, Any]


class TrainingStep(Derivation):
    """One step of gradient descent on the parameters ``wrt`` of ``graph``, descending ``of``
    (the loss L) with learning rate ``lr``; with ``clip``, the gradients are first
    clipped by their global norm (see the module docstring).

    ``gradients`` holds each parameter's derivation (:func:`rnnsym.derive`).
    :meth:`evaluate` gives the new value of the parameter (a number, or a
    :class:`sympy.Matrix` for a matrix), or for several parameters a dict from
    name to new value; :meth:`entries` the new values entry by entry (an answer
    key's rows).  Build one with :func:`sgd_step`.
    """

    def __init__(self, graph: Graph, wrt: tuple[str, ...], lr: Number, clip: Number | None = None,
                 of: str = "L", split: str = "auto") -> None:
        self.graph = graph
        self.wrt = wrt
        self.of = of
        self.lr = lr
        self.clip = clip
        self.split = split
        self.gradients = {name: derive(graph, of, name, split=split) for name in wrt}

    @property
    def title(self) -> str:
        return "step " + ", ".join(self.wrt)

    def __repr__(self) -> str:
        clip = f", clip={self.clip.spelling}" if self.clip is not None else ""
        return f"TrainingStep({', '.join(self.wrt)}, lr={self.lr.spelling}{clip})"

    # -- values ------------------------------------------------------------------------------------------------
    def _weight(self, evaluation: Evaluation, name: str) -> Any:
        if name in self.graph.names:
            return evaluation.value(name)
        return self.graph.tensor(name).applyfunc(lambda s: evaluation.number(evaluation.env[s]))

    def point(self, evaluation: Evaluation) -> _Point:
        """Every number of the step at a point already evaluated (exact, or decimals for a decimal evaluation)."""
        weights = {name: self._weight(evaluation, name) for name in self.wrt}
        gradients = {name: d.value_at(evaluation) for name, d in self.gradients.items()}
        squares = {name: sum((e**2 for e in g), sympy.S.Zero) if isinstance(g, sympy.MatrixBase) else g**2
                   for name, g in gradients.items()}
        total = sum(squares.values(), sympy.S.Zero)
        norm = sympy.sqrt(total)
        scale = sympy.S.One
        if self.clip is not None and _exceeds(total, self.clip.exact**2):
            scale = self.clip.exact / norm
            if not evaluation.exact:
                scale = sympy.Float(scale, evaluation.digits)
        lr = self.lr.exact if evaluation.exact else sympy.Float(self.lr.exact, evaluation.digits)
        new = {name: weights[name] - lr * scale * gradients[name] for name in self.wrt}
        return _Point(weights, gradients, squares, norm, scale, new)

    def value_at(self, evaluation: Evaluation) -> Any:
        """The new value of the parameter (one parameter) or a dict from name to new value."""
        new = self.point(evaluation).new
        return new[self.wrt[0]] if len(self.wrt) == 1 else new

    def entries(self, evaluation: Evaluation) -> list[tuple[str, Any]]:
        """``(name, new value)`` for each updated parameter, a matrix entry by entry
        (``"W_h[1,2]"``), as an answer key lists them.

        >>> import rnnsym
        >>> ex = rnnsym.reference()
        >>> sgd_step(ex.graph, ["W_h", "W_y"], "0.1").entries(ex.evaluation)
        [('W_h', 1/5), ('W_y', 9/5)]
        """
        out = []
        for name, value in self.point(evaluation).new.items():
            if isinstance(value, sympy.MatrixBase):
                symbols = self.graph.tensor(name)
                out += [(str(symbols[i, j]), value[i, j]) for i in range(value.rows) for j in range(value.cols)]
            else:
                out.append((name, value))
        return out

    # -- written -----------------------------------------------------------------------------------------------
    def _rnnsym_lines(self, values: Mapping | None, options: RenderOptions) -> list[Line]:
        times = f" {TIMES[options.times]} "
        spell = options.notation.spell
        printer = Printer(options)
        grad = {name: printer.doprint(Partial(symbol(self.of), symbol(name))) for name in self.wrt}
        out = [Line((r"\eta", self.lr.latex))]
        if self.clip is not None:
            out.append(Line(("c", self.clip.latex)))
        for i, d in enumerate(self.gradients.values()):  # a line two gradients share is written once
            written = {str(line) for line in out}
            out += [line for line in d.lines(values, options if i == 0 else replace(options, recall=False))
                    if str(line) not in written]
        exact = approx = None
        if values is not None:
            evaluation = self.evaluation(values)
            exact = self.point(evaluation)
            approx = self.point(evaluation.decimal(max(options.approx_digits, 3) + 4))
        if self.clip is not None:
            terms = [rf"\left({grad[n]}\right)^{{2}}" if n in self.graph.names else rf"\lVert {grad[n]} \rVert^{{2}}"
                     for n in self.wrt]
            norm = [r"\lVert g \rVert", r"\sqrt{" + " + ".join(terms) + "}"]
            scale = ["s", r"\min\left(1, \frac{c}{\lVert g \rVert}\right)"]
            if exact is not None:
                if all(isinstance(v, sympy.Rational) for v in exact.squares.values()):
                    squares = [rf"{_inline(exact.gradients[n], None, options, True)[0]}^{{2}}" if n in self.graph.names
                               else format_exact(exact.squares[n], options.max_decimals) for n in self.wrt]
                    norm.append(r"\sqrt{" + " + ".join(squares) + "}")
                    total = sum(exact.squares.values(), sympy.S.Zero)
                    if len(squares) > 1:
                        norm.append(r"\sqrt{" + format_exact(total, options.max_decimals) + "}")
                shown = format_value(exact.norm, options, approx.norm)
                if shown != norm[-1]:
                    norm.append(shown)
                inline, approximate = _inline(exact.norm, approx.norm, options)
                scale.append((r"\approx " if approximate else "")
                             + rf"\min\left(1, \frac{{{self.clip.latex}}}{{{inline}}}\right)")
                scale.append(format_value(exact.scale, options, approx.scale))
            out += [Line(tuple(norm)), Line(tuple(scale))]
        factor = rf"\eta{times}s{times}" if self.clip is not None else rf"\eta{times}"
        for name in self.wrt:
            lhs = spell(name) + "'"
            parts = [lhs, f"{spell(name)} - {factor}{grad[name]}"]
            if exact is not None:
                scalar = not isinstance(exact.new[name], sympy.MatrixBase)
                pieces = [exact.weights[name], exact.gradients[name]]
                shown = [_inline(v, a, options, wrap=True) if scalar else _matrix(v, a, options)
                         for v, a in zip(pieces, [approx.weights[name], approx.gradients[name]])]
                scale_shown = ""
                if self.clip is not None:
                    text, approximate = _inline(exact.scale, approx.scale, options, wrap=True)
                    scale_shown, shown = text + times, shown + [("", approximate)]
                numbers = f"{shown[0][0]} - {self.lr.latex}{times}{scale_shown}{shown[1][0]}"
                parts.append((r"\approx " if any(a for _, a in shown) else "") + numbers)
                if scalar:
                    parts.append(format_value(exact.new[name], options, approx.new[name]))
                else:
                    parts.append(_matrix(exact.new[name], approx.new[name], options, prefixed=True)[0])
            out.append(Line(tuple(parts)))
        return out

    def tables(self, values: Mapping, options: RenderOptions | None = None) -> list[str]:
        """The tables of the gradients' derivations (a recursion over many steps, step by step)."""
        return [t for d in self.gradients.values() for t in d.tables(values, options)]

    def notes(self, values: Mapping, options: RenderOptions | None = None) -> list[str]:
        """The gradients' notes (a relu at its kink) and, when clipping, the convention it follows."""
        out = list(dict.fromkeys(n for d in self.gradients.values() for n in d.notes(values, options)))
        if self.clip is not None:
            out.append(
                r"The gradients are clipped together by their global norm, as the function "
                r"\texttt{clip\_grad\_norm\_} of PyTorch's \texttt{torch.nn.utils} does: $\lVert g \rVert$ is the 2-norm of every "
                r"updated parameter's gradient viewed as one vector, and each gradient is multiplied by "
                r"$s = \min(1, c / \lVert g \rVert)$. PyTorch divides by $\lVert g \rVert + 10^{-6}$; "
                r"the step here is exact, which changes $s$ by a relative $10^{-6}/\lVert g \rVert$ at most."
            )
        return out


def _exceeds(total: Expr, bound: sympy.Rational) -> bool:
    """Whether ``total`` > ``bound`` (exactly for a rational ``total``, else in 60-digit arithmetic)."""
    if isinstance(total, (sympy.Rational, sympy.Float)):
        return bool(total > bound)
    prec = mpmath.libmp.dps_to_prec(_COMPARE_DIGITS)
    with mpmath.workprec(prec):
        return bool(mp_value(sympy.sympify(total), {}, prec) > mp_value(bound, {}, prec))


def _inline(value: Expr, approx: Expr, options: RenderOptions, wrap: bool = False) -> tuple[str, bool]:
    """``value`` written inside a formula: exactly when rational or short, else its decimal;
    and whether it was approximated.  ``wrap`` puts a negative number or a sum in brackets."""
    if isinstance(value, sympy.Rational):
        text, approximate = format_exact(value, options.max_decimals), False
        if text.startswith(r"\approx"):
            text, approximate = text.removeprefix(r"\approx").strip(), True
    elif not value.has(Exact) and sympy.count_ops(value) <= 4 and not isinstance(value, sympy.Float):
        text, approximate = Printer(options).doprint(value), False
    else:
        text, approximate = decimal(approx, max(options.approx_digits, 3)), True
    if wrap and (text.startswith("-") or (isinstance(value, sympy.Add) and not approximate)):
        text = rf"\left({text}\right)"
    return text, approximate


def _matrix(value: sympy.MatrixBase, approx: sympy.MatrixBase, options: RenderOptions,
            prefixed: bool = False) -> tuple[str, bool]:
    """A matrix as a ``bmatrix``: exact entries when all are rational, else decimals
    (``prefixed``: with ``\\approx`` in front)."""
    if all(isinstance(v, sympy.Rational) and not format_exact(v, options.max_decimals).startswith(r"\approx")
           for v in value):
        shown, approximate = value, False
        cell = lambda i, j: format_exact(value[i, j], options.max_decimals)  # noqa: E731
    else:
        shown, approximate = approx, True
        cell = lambda i, j: (format_exact(value[i, j], options.max_decimals)  # noqa: E731
                             if isinstance(value[i, j], sympy.Rational) else decimal(approx[i, j], max(options.approx_digits, 3)))
    rows = [" & ".join(cell(i, j) for j in range(shown.cols)) for i in range(shown.rows)]
    text = r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"
    return (r"\approx " + text if prefixed and approximate else text), approximate


def sgd_step(graph: Graph, wrt: str | Sequence[str] | None, lr: object, clip: object = None, *,
             of: str = "L", split: str = "auto") -> TrainingStep:
    """One step of gradient descent on ``graph``'s parameters ``wrt`` (a name such as
    ``"W_h"``, a list of names, or None for every parameter), learning rate ``lr``,
    the gradients clipped to global norm ``clip`` when given (see the module docstring).

    ``lr`` and ``clip`` are numbers > 0, read exactly as exercise values are
    (``"0.1"`` is 1/10); ``of`` is the loss descended, ``split`` how each gradient
    is written (:data:`rnnsym.derivation.SPLITS`).  A name that is not a parameter,
    a name given twice, or a learning rate or threshold that is not a positive
    number raises :class:`~rnnsym.errors.InputError` naming ``wrt``, ``lr`` or ``clip``.

    >>> import rnnsym
    >>> ex = rnnsym.reference()
    >>> sgd_step(ex.graph, None, "0.1").evaluate(ex.values)
    {'W_h': 1/5, 'W_x': -39/10, 'W_y': 9/5}
    >>> sgd_step(ex.graph, None, "0.1", clip=5).evaluate(ex.values)["W_h"]
    1 - 2*sqrt(417)/417
    >>> sgd_step(ex.graph, "h_1", "0.1")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: wrt: got 'h_1', expected a parameter of the model (one of W_h, W_x, W_y)
    """
    if split not in SPLITS:
        raise InputError("split", split, "one of " + ", ".join(repr(s) for s in SPLITS))
    if not isinstance(of, str) or of.replace(" ", "") != str(graph.loss):
        raise InputError("of", of, f"the model's loss {str(graph.loss)!r} (a step descends the loss)")
    names = _names(graph, wrt, "wrt")
    lr_n = _positive(lr, "lr")
    clip_n = _positive(clip, "clip") if clip is not None else None
    return TrainingStep(graph, names, lr_n, clip_n, str(graph.loss), split)
