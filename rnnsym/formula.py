"""Formulas written by people, read safely into sympy expressions.

A hand-derived answer such as ``2*(yhat_1 - y_1)*W_y*h_0`` is parsed by a
small tokenizer and a recursive-descent parser, never by ``eval``,
``sympify`` or ``parse_expr``.  The language is deliberately small:

- numbers as exercise files write them (``2``, ``0.1``, ``1e-3``), read
  exactly by :func:`rnnsym.numbers.parse_number`;
- names of the model, leaves and quantities alike (``W_h``, ``h_0``,
  ``x_2``, ``h_1``, ``yhat_2``, ``L_1``): a quantity stands for its value;
- ``+ - * /``, powers ``^`` or ``**`` (right-associative, binding tighter
  than a leading minus: ``-h_1^2`` is −(h_1²)), parentheses, unary minus;
- a product may also be written by juxtaposition: ``2(yhat_1 - y_1) W_y``;
- the registered functions (``tanh``, ``sigmoid``, ``relu``, ``exp``, ``log``, ``Heaviside`` and any user registration) of one
  argument.

Anything else raises :class:`~rnnsym.errors.InputError` naming the token.

>>> from rnnsym.models import elman
>>> graph = elman(2)
>>> parse_formula("2*(yhat_1 - y_1)*W_y + 2*(yhat_2 - y_2)*W_h*W_y", graph)
W_h*W_y*(-2*y_2 + 2*yhat_2) + W_y*(-2*y_1 + 2*yhat_1)
>>> parse_formula("0.1 x_1 + h_0^2", graph)
h_0**2 + x_1/10
>>> parse_formula("W_z * h_0", graph)
Traceback (most recent call last):
...
rnnsym.errors.InputError: formula: got 'W_z', expected a name of the model (one of h_0, W_h, W_x, W_y, x_1, x_2, y_1, y_2, h_1, yhat_1, h_2, yhat_2, L_1, L_2, L) or a function (tanh, sigmoid, relu, exp, log, Heaviside)
>>> parse_formula("__import__('os')", graph)
Traceback (most recent call last):
...
rnnsym.errors.InputError: formula: got '_', expected a number, a name, an operator (+ - * / ^ **) or a parenthesis (at character 1 of "__import__('os')")
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from sympy import Expr

from .errors import InputError, InputTypeError
from .notation import CURRENT, NAME_PATTERN, PREVIOUS, symbol
from .rules import FUNCTIONS as RULES
from .numbers import parse_number


__all__ = ["functions", "PLACEHOLDERS", "parse_formula", "parse_template", "tokenize", "Token"]

def functions() -> dict[str, Callable[[Expr], Expr]]:
    """The functions a formula may call, by the name it is written with: every function
    of the registry (:mod:`rnnsym.rules`), user registrations included."""
    return {name: rule.function for name, rule in RULES.items() if rule.function is not None}

#: In a cell's template equations, ``prev(h)`` is h_{t-1} and ``now(x)`` is x_t.
PLACEHOLDERS = {"prev": PREVIOUS, "now": CURRENT}

#: Longest formula accepted, in characters, and deepest nesting of
#: parentheses, unary signs and powers: a formula is a line of an answer key.
MAX_LENGTH = 10_000
MAX_DEPTH = 100
#: Largest exponent of a number raised to a number (``2^100000`` is refused).
MAX_EXPONENT = 1000

_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATORS = ("**", "+", "-", "*", "/", "^", "(", ")")
_EXPECTED_TOKEN = "a number, a name, an operator (+ - * / ^ **) or a parenthesis"


@dataclass(frozen=True)
class Token:
    """One token of a formula: ``kind`` is ``number``, ``name``, ``op`` or ``end``;
    ``position`` is the index of its first character."""

    kind: str
    text: str
    position: int


def tokenize(text: str, field: str = "formula") -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token.

    >>> [t.text for t in tokenize("2(yhat_1 - y_1)**2")]
    ['2', '(', 'yhat_1', '-', 'y_1', ')', '**', '2', '']
    """
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        number = _NUMBER.match(text, i)
        if number:
            tokens.append(Token("number", number.group(), i))
            i = number.end()
            continue
        name = NAME_PATTERN.match(text, i)
        if name:
            tokens.append(Token("name", name.group(), i))
            i = name.end()
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(Token("op", op, i))
                i += len(op)
                break
        else:
            raise InputError(field, char, f"{_EXPECTED_TOKEN} (at character {i + 1} of {text!r})")
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent over the grammar::

        sum     := product (("+" | "-") product)*
        product := signed (("*" | "/")? signed)*       juxtaposition (before a name or "(") multiplies
        signed  := ("+" | "-") signed | power
        power   := primary (("^" | "**") signed)?
        primary := number | name | function "(" sum ")" | "(" sum ")"
    """

    def __init__(self, text: str, graph: Any, field: str) -> None:
        self.text = text
        self.field = field
        # a graph gives the names a formula may use; without one (a cell's template) any name is a symbol
        self.names = {name: graph.symbol(name) for name in graph.names} if graph is not None else None
        self.tokens = tokenize(text, field)
        self.index = 0
        self.depth = 0

    # -- helpers -----------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def fail(self, token: Token, expected: str) -> InputError:
        shown = token.text if token.kind != "end" else "the end of the formula"
        where = f"at character {token.position + 1} of {self.text!r}"
        return InputError(self.field, shown, f"{expected} ({where})")

    def juxtaposed(self) -> bool:
        """Whether the next token multiplies by juxtaposition (a name or '(', not a number)."""
        return self.token.kind == "name" or self.at("(")

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InputError(self.field, self.text[:40] + "...", f"a formula nested at most {MAX_DEPTH} deep")

    # -- grammar -----------------------------------------------------------
    def parse(self) -> Expr:
        expr = self.sum()
        if self.token.kind != "end":
            raise self.fail(self.token, "an operator or the end of the formula")
        return expr

    def sum(self) -> Expr:
        expr = self.product()
        while self.at("+", "-"):
            op = self.advance().text
            right = self.product()
            expr = expr + right if op == "+" else expr - right
        return expr

    def product(self) -> Expr:
        expr = self.signed()
        while self.at("*", "/") or self.juxtaposed():
            op = self.advance().text if self.at("*", "/") else "*"
            right = self.signed()
            if op == "/" and right == 0:
                raise InputError(self.field, self.text, "a formula without a division by zero")
            expr = expr * right if op == "*" else expr / right
        return expr

    def signed(self) -> Expr:
        if self.at("+", "-"):
            op = self.advance().text
            self.nested()
            operand = self.signed()
            self.depth -= 1
            return -operand if op == "-" else operand
        return self.power()

    def power(self) -> Expr:
        base = self.primary()
        if self.at("^", "**"):
            self.advance()
            self.nested()
            exponent = self.signed()
            self.depth -= 1
            if exponent.is_Number and (abs(exponent) > MAX_EXPONENT or base == 0 and exponent < 0):
                raise InputError(self.field, f"{base}^{exponent}", f"a power with an exponent of at most {MAX_EXPONENT} and no 0 to a negative power")
            return base**exponent
        return base

    def primary(self) -> Expr:
        token = self.token
        if token.kind == "number":
            self.advance()
            return parse_number(token.text, self.field).exact
        if token.kind == "name":
            self.advance()
            if token.text in functions():
                if not self.at("("):
                    raise self.fail(self.token, f"'(' after the function {token.text}")
                return functions()[token.text](self.group())
            if self.names is None and token.text in PLACEHOLDERS and self.at("("):
                return self.placeholder(token.text)
            if self.at("("):
                raise InputError(self.field, token.text, "a function (" + ", ".join(self.functions()) + ")")
            if self.names is None:
                return symbol(token.text)
            if token.text not in self.names:
                raise InputError(
                    self.field,
                    token.text,
                    "a name of the model (one of " + ", ".join(self.names) + ") or a function (" + ", ".join(functions()) + ")",
                )
            return self.names[token.text]
        if self.at("("):
            return self.group()
        raise self.fail(token, "a number, a name, a function or '('")

    def functions(self) -> list[str]:
        return list(functions()) + (list(PLACEHOLDERS) if self.names is None else [])

    def placeholder(self, which: str) -> Expr:
        """``prev(h)`` or ``now(x[2])``: a quantity of a cell at the previous or current step."""
        self.advance()  # "("
        name = self.token
        if name.kind != "name" or name.text in functions() or name.text in PLACEHOLDERS:
            raise self.fail(name, f"a quantity's name inside {which}()")
        self.advance()
        if not self.at(")"):
            raise self.fail(self.token, "')'")
        self.advance()
        return symbol(f"{name.text}{PLACEHOLDERS[which]}")

    def group(self) -> Expr:
        self.advance()  # "("
        self.nested()
        expr = self.sum()
        self.depth -= 1
        if not self.at(")"):
            raise self.fail(self.token, "')'")
        self.advance()
        return expr


def parse_formula(text: str, graph: Any, field: str = "formula") -> Expr:
    """The sympy expression ``text`` stands for, in ``graph``'s symbols.

    ``field`` names where the text came from in error messages (for example
    ``answers."1.c"``).  Nothing is evaluated but exact arithmetic on the
    numbers written.

    >>> from rnnsym.models import elman
    >>> parse_formula("-2^2 + tanh(h_0)", elman(1))
    tanh(h_0) - 4
    >>> parse_formula("cos(h_0)", elman(1))
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: formula: got 'cos', expected a function (tanh, sigmoid, relu, exp, log, Heaviside)
    """
    _check_text(text, field)
    return _Parser(text, graph, field).parse()


def parse_template(text: str, field: str = "equation") -> Expr:
    """A cell's template equation from text: the language of :func:`parse_formula`,
    where ``prev(h)`` stands for h_{t−1}, ``now(x)`` for x_t (or a quantity
    computed earlier in the step) and any other name for a parameter.

    >>> parse_template("tanh(a*prev(h) + now(x))")
    tanh(a*h__prev + x__now)
    >>> parse_template("__import__('os').system('ls')")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: equation: got '_', expected a number, a name, an operator (+ - * / ^ **) or a parenthesis (at character 1 of "__import__('os').system('ls')")
    """
    _check_text(text, field)
    return _Parser(text, None, field).parse()


def _check_text(text: object, field: str) -> None:
    if not isinstance(text, str):
        raise InputTypeError(field, text, "a formula as a string")
    if not text.strip():
        raise InputError(field, text, "a formula such as \"2*(yhat_1 - y_1)*W_y\"")
    if len(text) > MAX_LENGTH:
        raise InputError(field, text, f"a formula of at most {MAX_LENGTH} characters")
