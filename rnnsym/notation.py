"""How quantities are named in exercise files and spelled in LaTeX.

Every symbol rnnsym creates is named the way an exercise file names it
(``h_2``, ``yhat_2``, ``W_h``, ``L``); this module is the one place that turns
such a name into LaTeX, so a course's conventions are one :class:`Notation`.

>>> spell("yhat_2")
'\\\\hat{y}_{2}'
>>> spell("W_h")
'W_{h}'
>>> spell("h_2[1]")
'h_{2,1}'
>>> spell("W_h[1,2]")
'W_{h,12}'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import sympy

__all__ = ["Notation", "DEFAULT", "spell", "symbol", "name_at", "split_name", "NAME_PATTERN"]

#: A name as exercise files write it: ``h_2``, ``yhat_2``, ``W_h``, ``L``,
#: optionally with 1-based component indices ``h_2[1]``, ``W_h[1,2]``.
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)?(?:\[\d+(?:,\s*\d+)?\])?")

#: Name suffixes of a cell's placeholders for the previous and the current step.
PREVIOUS, CURRENT = "__prev", "__now"

_BASES = {
    "yhat": r"\hat{y}",
    "htilde": r"\tilde{h}",
    "ctilde": r"\tilde{c}",
    "delta": r"\delta",
    "sigma": r"\sigma",
}


@dataclass(frozen=True)
class Notation:
    """LaTeX spellings of base names; anything not listed is written as is.

    >>> Notation(bases={"yhat": r"o"}).spell("yhat_3")
    'o_{3}'
    """

    bases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(dict(_BASES)))

    def spell(self, name: str) -> str:
        """LaTeX for one name (see the module docstring); a cell's placeholders
        ``h__prev`` and ``x__now`` are spelled h_{t-1} and x_{t}."""
        for suffix, step in ((PREVIOUS, "t-1"), (CURRENT, "t")):
            if name.endswith(suffix):
                head, bracket, index = name[: -len(suffix)].partition("[")
                return self.spell(f"{head}_{step}{bracket}{index}")
        base, sub, index = split_name(name)
        head = self.bases.get(base, base if len(base) == 1 else rf"\mathrm{{{base}}}")
        parts = [p for p in (sub, index.replace(",", "")) if p]
        if not parts:
            return head
        return f"{head}_{{{','.join(parts)}}}"


DEFAULT = Notation()


def split_name(name: str) -> tuple[str, str, str]:
    """Split ``"W_h[1,2]"`` into base ``"W"``, subscript ``"h"`` and index ``"1,2"``.

    >>> split_name("yhat_2")
    ('yhat', '2', '')
    """
    index = ""
    if name.endswith("]") and "[" in name:
        name, _, index = name[:-1].partition("[")
        index = index.replace(" ", "")
    base, _, sub = name.partition("_")
    return base, sub, index


def spell(name: str, notation: Notation = DEFAULT) -> str:
    """LaTeX for ``name`` under ``notation``."""
    return notation.spell(name)


def symbol(name: str) -> sympy.Symbol:
    """The sympy symbol rnnsym uses for ``name`` (real-valued)."""
    return sympy.Symbol(name, real=True)


def name_at(base: str, t: int) -> str:
    """The name of quantity ``base`` at time ``t``: ``name_at("yhat", 2) == "yhat_2"``."""
    return f"{base}_{t}"
