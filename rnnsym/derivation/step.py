"""One line of a derivation, as a structure: ``lhs = forms[0] = forms[1] = …``."""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Expr

__all__ = ["Step", "KINDS"]

#: How a step is shown (see :class:`Step`).
KINDS = ("definition", "chain", "split", "sum", "recall", "local", "total", "value")


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``lhs = forms[0] = forms[1] = …``.

    ``kind`` says how the line is shown with numbers:

    - ``"definition"``: a quantity's definition, then numbers, then value;
    - ``"chain"``: named partials and symbolic forms, then numbers, then value;
    - ``"split"``: a sum of named partials, no numbers (they follow below);
    - ``"sum"``: each term of ``forms[-1]`` replaced by its value, then the total;
    - ``"recall"``: a definition restated for reference, no numbers;
    - ``"local"``: a local partial written by name elsewhere, defined at a generic step t;
    - ``"total"``: a long sum written with Σ or ⋯, then its value;
    - ``"value"``: a long definition written with ⋯, then the quantity's value.
    """

    lhs: Expr
    forms: tuple[Expr, ...]
    kind: str = "chain"

    def __repr__(self) -> str:
        chain = " = ".join(sympy.sstr(f, order="none") for f in (self.lhs, *self.forms))
        return f"Step({self.kind}: {chain})"
