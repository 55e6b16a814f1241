"""A hand-written adjoint (BPTT) pipeline on symengine: a baseline of bench/run.py.

This is what one would write by hand for one model, the scalar tanh Elman
cell with biases::

    z = h_prev W_h + x W_x + b_h,   h = tanh(z),   ŷ = h W_y + b_y,   L_t = (ŷ − y)²

Its local partials are derived once, symbolically, with symengine; a forward
loop over the steps then evaluates the cell and a reverse (adjoint) loop
accumulates ∂L/∂p for every parameter p, L = Σ_t L_t.  Numbers are symengine's
arbitrary-precision reals (``RealMPFR``, backed by MPFR, which the PyPI wheel
includes): each local partial is evaluated by substituting the step's values.

>>> values = {"h_0": 0, "x": ["1/2", "-3/10"], "y": [1, 0],
...           "W_h": "0.9", "W_x": "0.5", "W_y": 1, "b_h": "0.1", "b_y": 0}
>>> grads = gradients(values, digits=30)
>>> str(grads["b_y"])[:22]
'-0.8322675465604577253'

"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Mapping

import symengine as se

__all__ = ["PARAMETERS", "CELL", "gradients"]

h_prev, z, h, x, y, yhat, loss = se.symbols("h_prev z h x y yhat L_t")
W_h, W_x, W_y, b_h, b_y = se.symbols("W_h W_x W_y b_h b_y")

#: The parameters the gradient is taken with respect to.
PARAMETERS = (W_h, W_x, W_y, b_h, b_y)

#: One step of the cell: (target, right-hand side), in computation order.
CELL = (
    (z, h_prev * W_h + x * W_x + b_h),
    (h, se.tanh(z)),
    (yhat, h * W_y + b_y),
    (loss, (yhat - y) ** 2),
)

# What the reverse loop carries an adjoint for: the cell's quantities, the
# parameters and the previous state (not the inputs x and targets y).
_TRACKED = {target for target, _ in CELL} | set(PARAMETERS) | {h_prev}



def _compile(expr: se.Basic):
    """``expr`` as a function of a step's values (a table of symbols and numbers):
    a lookup for a symbol, the constant for a number, else substitution of
    just the symbols ``expr`` has (substituting a whole table costs more)."""
    if expr.is_Symbol:
        return lambda env: env[expr]
    if expr.is_Number:
        return lambda env: expr
    symbols = tuple(expr.free_symbols)
    return lambda env: expr.subs({s: env[s] for s in symbols})


#: Each equation of the cell: its target and right-hand side, compiled.
_FORWARD = tuple((target, _compile(rhs)) for target, rhs in CELL)

#: ∂target/∂s for each equation of the cell and each tracked symbol s of its
#: right-hand side, in reverse computation order: derived once, here, and compiled.
_PARTIALS = tuple(
    (target, tuple((s, _compile(rhs.diff(s))) for s in rhs.free_symbols if s in _TRACKED))
    for target, rhs in reversed(CELL)
)


def gradients(values: Mapping, digits: int) -> dict[str, se.RealMPFR]:
    """∂L/∂p for every parameter p, computed with ``digits`` significant digits.

    ``values`` names ``h_0``, the parameters, and the lists ``x`` and ``y`` (one
    number a step); numbers are ints or strings such as ``"0.9"`` or ``"3/10"``.
    """
    if not se.have_mpfr:
        raise RuntimeError("this symengine was built without MPFR (no arbitrary-precision reals)")
    bits = math.ceil(digits * math.log2(10)) + 1

    def number(value) -> se.RealMPFR:
        exact = Fraction(str(value))
        return se.RealMPFR(str(exact.numerator), bits) / exact.denominator

    zero = number(0)
    parameters = {p: number(values[str(p)]) for p in PARAMETERS}
    state = number(values["h_0"])
    tape = []
    for x_t, y_t in zip(values["x"], values["y"], strict=True):
        env = {**parameters, h_prev: state, x: number(x_t), y: number(y_t)}
        for target, rhs in _FORWARD:
            env[target] = rhs(env)
        tape.append(env)
        state = env[h]

    grads = dict.fromkeys(PARAMETERS, zero)
    carried = zero  # ∂L/∂h_t through the steps after t
    for env in reversed(tape):
        adjoint = {loss: number(1), h: carried}
        for target, partials in _PARTIALS:
            g = adjoint[target]
            for s, partial in partials:
                adjoint[s] = adjoint.get(s, zero) + g * partial(env)
        for p in PARAMETERS:
            grads[p] += adjoint[p]
        carried = adjoint[h_prev]
    return {str(p): g for p, g in grads.items()}
