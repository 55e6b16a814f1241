"""The two sizes of a matrix that gradient flow depends on: σ_max and ρ.

σ_max(W) = ‖W‖₂, the largest singular value, bounds ‖Wv‖ for every v; the
spectral radius ρ(W), the largest |eigenvalue|, is the limit of
‖W^k‖^(1/k) (Gelfand's formula).  ρ(W) ≤ σ_max(W), with equality for a
normal W.  Both are exact when sympy finds the eigenvalues, else 30-digit
decimals from mpmath.
"""

from __future__ import annotations

import mpmath
import sympy
from sympy import Expr

__all__ = ["spectral_norm", "spectral_radius"]


def _exact_or_none(compute):
    try:
        return compute()
    except (NotImplementedError, ValueError, TypeError, ArithmeticError):
        return None


def spectral_norm(W: sympy.Matrix, digits: int = 30) -> Expr:
    """σ_max(W) = ‖W‖₂, the largest singular value: exact when sympy finds the eigenvalues
    of WᵀW and W holds no decimals, else a decimal of ``digits`` digits.

    >>> spectral_norm(sympy.Matrix([[sympy.Rational(9, 10), sympy.Rational(3, 4)], [0, sympy.Rational(9, 10)]]))
    27/20
    >>> spectral_norm(sympy.Matrix([[sympy.Float("0.9", 40), 0], [0, 2]]), 40)
    2.000000000000000000000000000000000000000
    """
    def exact():
        eigen = list((W.T * W).eigenvals())
        if any(e.has(sympy.CRootOf) for e in eigen):
            raise NotImplementedError
        return sympy.sqrtdenest(sympy.simplify(sympy.sqrt(max(eigen, key=lambda e: sympy.N(e, 30)))))

    found = None if W.has(sympy.Float) else _exact_or_none(exact)
    if found is not None:
        return found
    with mpmath.workdps(digits + 10):
        values = mpmath.svd_r(mpmath.matrix([[mpmath.mpf(str(sympy.N(e, digits + 15))) for e in row] for row in W.tolist()]),
                              compute_uv=False)
        return sympy.Float(str(max(values)), digits)


def spectral_radius(W: sympy.Matrix) -> Expr:
    """ρ(W), the largest modulus of an eigenvalue: exact when sympy finds the eigenvalues, else a
    30-digit decimal.  ρ(W) ≤ ‖W‖₂, with equality for a normal W (WᵀW = WWᵀ).

    >>> spectral_radius(sympy.Matrix([[sympy.Rational(9, 10), sympy.Rational(3, 4)], [0, sympy.Rational(9, 10)]]))
    9/10
    >>> spectral_radius(sympy.Matrix([[0, -1], [1, 0]]))
    1
    """
    def exact():
        eigen = list(W.eigenvals())
        if any(e.has(sympy.CRootOf) for e in eigen):
            raise NotImplementedError
        moduli = [sympy.sqrtdenest(sympy.simplify(sympy.Abs(e))) for e in eigen]
        return max(moduli, key=lambda e: sympy.N(e, 30))

    found = None if W.has(sympy.Float) else _exact_or_none(exact)
    if found is not None:
        return found
    with mpmath.workdps(40):
        eigen = mpmath.eig(mpmath.matrix([[mpmath.mpf(str(sympy.N(e, 45))) for e in row] for row in W.tolist()]),
                           left=False, right=False)
        return sympy.Float(str(max(abs(e) for e in eigen)), 30)
