"""Draw specs: the points a value of an exercise is drawn from, for variants (:mod:`rnnsym.variants`).

In an exercise's ``[values]``, a number may be replaced by a draw spec:
``{choices = [...]}`` (the numbers listed, as written) or ``{range = [lo, hi],
step = s}`` (lo, lo + s, … up to hi inclusive; ``step`` defaults to 1).  A spec
may stand for a scalar leaf, an entry of a vector or matrix (in a nested list or
as ``"W_h[1,2]"``), one step of a sequence (``x = [{choices = [1, 2]}, 10]``), or
a whole vector, matrix or sequence, whose entries are then drawn one by one.
Numbers are read by :func:`rnnsym.numbers.parse_number`, exactly.

>>> from rnnsym.models import elman
>>> t = template({"x": {"choices": [1, "0.5"]}, "W_h": {"range": [0, 1], "step": "0.5"}}, elman(2))
>>> t
{'x': [Spec(1, 0.5), Spec(1, 0.5)], 'W_h': Spec(0, 0.5, 1)}
>>> realize(t, lambda spec: spec.size - 1)
{'x': ['0.5', '0.5'], 'W_h': 1}
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy

from .errors import InputError
from .limits import MAX_POINTS, check_at_most
from .numbers import parse_number

__all__ = ["Spec", "template", "realize"]

_SPEC_KEYS = ("choices", "range", "step")


@dataclass(frozen=True)
class Spec:
    """The points one value is drawn from, each an exact number with the value
    written into the exercise for it: ``choices`` as written, or ``lo, lo + step,
    … ≤ hi`` of a range (each point drawn with equal chance).

    >>> s = Spec.read({"range": [0, 1], "step": "0.25"}, "values.W_h")
    >>> s, s.point(1)
    (Spec(0, 0.25, 0.5, 0.75, 1), '0.25')
    >>> Spec.read({"range": [1, 0]}, "values.W_h")
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: values.W_h.range: got [1, 0], expected [lo, hi] with lo <= hi
    """

    field: str
    choices: tuple = ()
    exacts: tuple = ()
    start: sympy.Rational = sympy.S.Zero
    step: sympy.Rational = sympy.S.One
    size: int = 0
    fractions: bool = False

    @classmethod
    def read(cls, data: dict, field: str) -> "Spec":
        """A spec from its TOML table; :class:`InputError` names ``field`` and the key at fault."""
        for key in data:
            if key not in _SPEC_KEYS:
                raise InputError(field, key, "a key of a draw spec: choices, or range with an optional step")
        if ("choices" in data) == ("range" in data):
            raise InputError(field, data, "a draw spec with one of choices = [...] or range = [lo, hi]")
        if "choices" in data:
            choices = data["choices"]
            if "step" in data:
                raise InputError(f"{field}.step", data["step"], "no step with choices (a step belongs to a range)")
            if not isinstance(choices, list) or not choices:
                raise InputError(f"{field}.choices", choices, "a non-empty list of numbers")
            check_at_most(f"{field}.choices", len(choices), MAX_POINTS, "points", shown=f"{len(choices)} choices")
            exacts = tuple(parse_number(c, f"{field}.choices[{i}]").exact for i, c in enumerate(choices, start=1))
            return cls(field, tuple(choices), exacts, size=len(choices))
        bounds = data["range"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise InputError(f"{field}.range", bounds, "[lo, hi]: a list of two numbers")
        lo, hi = (parse_number(b, f"{field}.range[{i}]") for i, b in enumerate(bounds, start=1))
        if lo.exact > hi.exact:
            raise InputError(f"{field}.range", bounds, "[lo, hi] with lo <= hi")
        step = parse_number(data.get("step", 1), f"{field}.step")
        if step.exact <= 0:
            raise InputError(f"{field}.step", data.get("step"), "a number > 0")
        size = int((hi.exact - lo.exact) / step.exact) + 1
        check_at_most(f"{field}.range", size, MAX_POINTS, "points", shown=f"{bounds} in steps of {step.spelling} ({size} points)")
        fractions = any("frac" in n.latex for n in (lo, hi, step))
        return cls(field, (), (), lo.exact, step.exact, size, fractions)

    def point(self, k: int) -> object:
        """Point ``k`` (from 0) as written into the exercise: a choice as written, a
        range point as an integer, else as a decimal or (when the range is written
        with fractions) a fraction string."""
        if self.choices:
            return self.choices[k]
        value = self.start + k * self.step
        if value.q == 1:
            return int(value)
        if self.fractions:
            return f"{value.p}/{value.q}"
        places = 0
        while (value * 10**places).q != 1:
            places += 1
        whole, rest = divmod(abs(int(value * 10**places)), 10**places)
        return f"{'-' if value < 0 else ''}{whole}.{rest:0{places}d}"

    def exact(self, k: int) -> sympy.Rational:
        """Point ``k`` as an exact number."""
        return self.exacts[k] if self.choices else self.start + k * self.step

    def __repr__(self) -> str:
        shown = [str(self.point(k)) for k in range(min(self.size, 6))]
        return f"Spec({', '.join(shown)}{', ...' if self.size > 6 else ''})"


def template(values: dict, graph) -> dict:
    """``values`` with every draw spec read into a :class:`Spec`; a spec given for a whole
    vector, matrix or sequence is repeated for every entry (each entry drawn apart)."""
    leaves = {str(s) for s in graph.leaves}
    out: dict = {}
    for key, value in values.items():
        name = str(key).replace(" ", "")
        entries = graph.tensors.get(name)
        if isinstance(value, dict) and name not in leaves and entries and all(graph.is_leaf(s) for s in entries.values()):
            spec = Spec.read(value, f"values.{name}")
            shape = [max(index[d] for index in entries) for d in range(len(next(iter(entries))))]
            if name in graph.sequences:
                shape[0] = graph.steps
            indices = itertools.product(*(range(1, n + 1) for n in shape))
            flat = [spec if i in entries else spec.point(0) for i in indices]
            out[key] = _nest(flat, shape)
        else:
            out[key] = _specs(value, f"values.{name}")
    return out


def _nest(flat: list, shape: list[int]) -> list:
    if len(shape) == 1:
        return flat
    size = len(flat) // shape[0]
    return [_nest(flat[i * size:(i + 1) * size], shape[1:]) for i in range(shape[0])]


def _specs(value: object, field: str) -> object:
    if isinstance(value, dict):
        return Spec.read(value, field)
    if isinstance(value, list):
        return [_specs(item, f"{field}[{i}]") for i, item in enumerate(value, start=1)]
    return value


def realize(template: object, pick) -> object:
    """``template`` with every :class:`Spec` replaced by the point ``pick(spec)`` chooses, in order."""
    if isinstance(template, Spec):
        return template.point(pick(template))
    if isinstance(template, dict):
        return {k: realize(v, pick) for k, v in template.items()}
    if isinstance(template, list):
        return [realize(v, pick) for v in template]
    return template
