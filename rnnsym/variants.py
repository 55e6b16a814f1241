"""Variants of an exercise: the same questions at other values.

A :class:`Variant` is one concrete exercise (every value fixed) with the
number it has in a run and the seed it was drawn from; the question sheet,
the solution sheet, the answer key and the LMS export of a run all take the
same sequence of variants.

>>> from rnnsym.exercise import reference
>>> [v] = single(reference())
>>> v
Variant(1, seed=None, 'Recurrent neural networks: backpropagation through time')

An exercise whose ``[values]`` hold *draw specs* — ``{choices = [...]}`` or
``{range = [lo, hi], step = s}`` in place of a number — is drawn by
:func:`draw`, under the constraints of its ``[variants]`` table
(``docs/variants.md``):

>>> text = '''
... [model]
... steps = 2
... activation = "identity"
... [values]
... h_0 = 1
... x = {choices = [1, 2, "0.5"]}
... y = [5, 5]
... W_h = {range = [-1, 1], step = "0.5"}
... W_x = 1
... W_y = 2
... [variants]
... forward = "integer"
... nonzero = true
... [[questions]]
... find = "dL/dW_h"
... '''
>>> run = draw_text(text, count=3, seed=7)
>>> run
Draw(3 variants, seed=7, 19 draws, 16 rejected: forward 14, duplicate 2)
>>> [(v.exercise.values["x"], v.exercise.values["W_h"]) for v in run.variants]
[([2, 1], 0), (['0.5', '0.5'], '0.5'), ([1, 2], 0)]
>>> again = draw_text(text, 1, run.variants[1].seed)
>>> again.variants[0].exercise.values == run.variants[1].exercise.values
True
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import mpmath
import sympy

from .errors import InputError, InputTypeError, NoVariantError
from .evaluation import Evaluation
from .exact import EXACT_BITS, mp_value
from .exercise import Exercise, _model, from_dict, parse_toml, read_text
from .limits import MAX_DRAW_WORK, MAX_DRAWS, MAX_VARIANTS, check_at_most
from .numbers import parse_number
from .specs import Spec, realize, template

__all__ = ["Variant", "single", "Constraints", "Draw", "draw", "draw_text", "draw_file", "DRAWS"]

#: Draws tried in a run when neither ``[variants] draws`` nor ``draws=`` says otherwise.
DRAWS = 1_000
#: How many decimal places ``forward = "decimal"`` allows by default.
DECIMALS = 2
_KEYS = ("forward", "decimals", "nonzero", "kink", "within", "draws")


@dataclass(frozen=True)
class Variant:
    """Variant number ``index`` (from 1) of a run: ``exercise`` with every value
    fixed, drawn with ``seed`` (None for an exercise given with fixed values)."""

    index: int
    seed: int | None
    exercise: Exercise

    def __repr__(self) -> str:
        return f"Variant({self.index}, seed={self.seed}, {self.exercise.title!r})"


def single(exercise: Exercise) -> list[Variant]:
    """An exercise with fixed values as the one variant of a run."""
    return [Variant(1, None, exercise)]


# -- constraints -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constraints:
    """The ``[variants]`` table of an exercise, validated against its questions.

    ``forward``: None, ``"integer"`` or ``"decimal"`` (every quantity of the model
    an integer, or a decimal of at most ``decimals`` places); ``nonzero``: labels
    of questions whose value must not be 0; ``kink``: False to refuse a relu
    exactly at 0; ``within``: label → (lo, hi), a closed range for the value;
    ``draws``: the bound on draws.  A vector or matrix value must satisfy a
    constraint in every entry.

    >>> from rnnsym.exercise import reference
    >>> Constraints.read({"nonzero": True, "within": {"1.d": [-100, 100]}}, reference())
    Constraints(nonzero=1.c 1.d, within=1.d [-100, 100], draws=1000)
    """

    forward: str | None = None
    decimals: int = DECIMALS
    nonzero: tuple[str, ...] = ()
    kink: bool = True
    within: tuple[tuple[str, sympy.Rational, sympy.Rational], ...] = ()
    draws: int = DRAWS

    @classmethod
    def read(cls, data: object, exercise: Exercise) -> "Constraints":
        """The constraints of ``data`` (a ``[variants]`` table) for ``exercise``'s questions."""
        if not isinstance(data, dict):
            raise InputTypeError("variants", data, "a table ([variants])")
        for key in data:
            if key not in _KEYS:
                raise InputError("variants", key, "a key among " + ", ".join(_KEYS))
        forward = data.get("forward")
        if forward not in (None, "integer", "decimal"):
            raise InputError("variants.forward", forward, '"integer" or "decimal"')
        if forward is not None and not exercise.graph.rational:
            raise InputError("variants.forward", forward, "no forward constraint for a model whose values are "
                             "irrational (tanh, sigmoid, …): only identity and relu cells keep values rational")
        decimals = data.get("decimals", DECIMALS)
        if "decimals" in data and forward != "decimal":
            raise InputError("variants.decimals", decimals, 'no decimals without forward = "decimal"')
        if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 30:
            raise InputError("variants.decimals", decimals, "an integer from 0 to 30")
        finds = {q.label: q for q in exercise.questions if q.show is None}

        def label(value: object, where: str) -> str:
            if value not in finds:
                raise InputError(where, value, "the label of a question with find (one of "
                                 + ", ".join(map(repr, finds)) + ")")
            return value

        nonzero = data.get("nonzero", False)
        if nonzero is True:
            nonzero = [q.label for q in finds.values() if q.wrt is not None]
        elif nonzero is False:
            nonzero = []
        elif not isinstance(nonzero, list):
            raise InputTypeError("variants.nonzero", nonzero, "true, false or a list of question labels")
        nonzero = tuple(label(v, f"variants.nonzero[{i}]") for i, v in enumerate(nonzero, start=1))
        kink = data.get("kink", True)
        if not isinstance(kink, bool):
            raise InputTypeError("variants.kink", kink, "true or false")
        within = data.get("within", {})
        if not isinstance(within, dict):
            raise InputTypeError("variants.within", within, 'a table of labels and ranges, such as {"1.d" = [-100, 100]}')
        ranges = []
        for key, bounds in within.items():
            where = f'variants.within."{key}"'
            label(key, where)
            if not isinstance(bounds, list) or len(bounds) != 2:
                raise InputError(where, bounds, "[lo, hi]: a list of two numbers")
            lo, hi = (parse_number(b, f"{where}[{i}]").exact for i, b in enumerate(bounds, start=1))
            if lo > hi:
                raise InputError(where, bounds, "[lo, hi] with lo <= hi")
            ranges.append((key, lo, hi))
        return cls(forward, decimals, nonzero, kink, tuple(ranges), _draws(data.get("draws", DRAWS), "variants.draws"))

    def __repr__(self) -> str:
        parts = [f"forward={self.forward}" + (f" ({self.decimals} places)" if self.forward == "decimal" else "")] if self.forward else []
        parts += [f"nonzero={' '.join(self.nonzero)}"] if self.nonzero else []
        parts += ["kink=false"] if not self.kink else []
        parts += ["within=" + ", ".join(f"{k} [{lo}, {hi}]" for k, lo, hi in self.within)] if self.within else []
        return f"Constraints({', '.join(parts + [f'draws={self.draws}'])})"

    def describe(self, reason: str) -> str:
        """A rejection reason of :meth:`rejects` (or of :func:`draw`) as the constraint is written."""
        kind, _, key = reason.partition(" ")
        if kind == "forward":
            return f'forward = "{self.forward}"' + (f" with decimals = {self.decimals}" if self.forward == "decimal" else "")
        if kind == "within":
            lo, hi = next((lo, hi) for k, lo, hi in self.within if k == key)
            return f'within "{key}" = [{lo}, {hi}]'
        return {"kink": "kink = false", "nonzero": f'nonzero (question "{key}")',
                "duplicate": "distinct values (a draw repeated an earlier one)",
                "unusable": "values the model can be evaluated at"}.get(kind, reason)

    @property
    def evaluates(self) -> bool:
        """Whether checking a draw needs the model's values."""
        return bool(self.forward or self.nonzero or not self.kink or self.within)

    def rejects(self, exercise: Exercise, ev: Evaluation) -> str | None:
        """The first constraint the point ``ev`` fails (``"forward"``, ``"kink"``,
        ``"nonzero 1.c"``, ``"within 1.d"``), or None when it satisfies them all."""
        if self.forward:
            scale = 1 if self.forward == "integer" else 10**self.decimals
            if any(not isinstance(v, sympy.Rational) or (v * scale).q != 1
                   for v in (ev.env[q] for q in exercise.graph.quantities)):
                return "forward"
        if not self.kink and exercise.graph.kinks(ev.env):
            return "kink"
        questions = {q.label: q for q in exercise.questions}
        for key in self.nonzero:
            if any(_real(v) == 0 for v in _entries(exercise.answer(questions[key]).value_at(ev))):
                return f"nonzero {key}"
        for key, lo, hi in self.within:
            if not all(_real(lo) <= _real(v) <= _real(hi) for v in _entries(exercise.answer(questions[key]).value_at(ev))):
                return f"within {key}"
        return None


def _entries(value: Any) -> list:
    if isinstance(value, dict):  # a training step's new parameters, by name
        return [e for v in value.values() for e in _entries(v)]
    return list(value) if isinstance(value, sympy.MatrixBase) else [value]


def _real(value: Any) -> Any:
    """An exact rational as it is, an irrational value as an mpmath number of :data:`EXACT_BITS` bits."""
    if isinstance(value, sympy.Rational):
        return value
    with mpmath.workprec(EXACT_BITS):
        return mp_value(value, {}, EXACT_BITS)


def _draws(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(field, value, "an integer >= 1")
    check_at_most(field, value, MAX_DRAWS, "draws")
    return value


# -- drawing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draw:
    """The variants of one run (``variants``, numbered from 1), the draws it took
    (``attempts``) and the draws rejected per constraint (``rejections``: ``"duplicate"``
    for values drawn before, ``"forward"``, ``"kink"``, ``"nonzero <label>"``,
    ``"within <label>"``, ``"unusable"`` for values the model cannot be evaluated at;
    each rejected draw counted once, under the first constraint it fails)."""

    variants: list[Variant]
    attempts: int
    rejections: dict[str, int]
    seed: int

    def __repr__(self) -> str:
        rejected = sum(self.rejections.values())
        shown = ", ".join(f"{k} {n}" for k, n in sorted(self.rejections.items(), key=lambda kv: -kv[1]))
        return (f"Draw({len(self.variants)} variants, seed={self.seed}, {self.attempts} draws, "
                f"{rejected} rejected" + (f": {shown}" if shown else "") + ")")


def _attempt_seeds(seed: int):
    """The seed of each draw of a run: ``seed`` itself first, then a stream from ``seed``
    (string seeding of :class:`random.Random` hashes with SHA-512: the same on every
    run, platform and Python version)."""
    yield seed
    stream = random.Random(f"rnnsym.variants:{seed}")
    while True:
        yield stream.getrandbits(32)


def draw(data: Mapping, count: int, seed: int, *, source: str = "<string>", draws: int | None = None) -> Draw:
    """``count`` distinct variants of the exercise ``data`` (parsed TOML,
    :func:`rnnsym.exercise.parse_toml`) with draw specs in ``[values]``, each
    satisfying the constraints of ``[variants]``.

    Each draw picks every spec's point with :class:`random.Random` seeded by the
    draw's own seed: the run's ``seed`` for the first draw, then seeds from a
    stream of ``seed``.  A variant's ``seed`` is the seed of the draw that made
    it, so ``draw(data, 1, variant.seed)`` gives that variant's values again
    (its first draw is the same, and satisfies the same constraints).  The same
    ``data``, ``count`` and ``seed`` always give the same variants.

    At most ``draws`` draws are tried (default: ``[variants] draws``, else
    :data:`DRAWS`; at most :data:`~rnnsym.limits.MAX_DRAWS`).  Raises
    :class:`~rnnsym.errors.InputError` for a bad spec, constraint, count or seed,
    and :class:`~rnnsym.errors.NoVariantError` when fewer than ``count``
    variants are found within the bound.

    >>> data = parse_toml('[model]\\nsteps = 1\\n[values]\\nh_0 = 0\\nx = [1]\\ny = [0]\\n'
    ...                   'W_h = 1\\nW_x = {choices = [1, 2, 3]}\\nW_y = {choices = ["0.5", 1]}', "<example>")
    >>> run = draw(data, 2, seed=1)
    >>> [(v.index, v.seed, v.exercise.values["W_x"], v.exercise.values["W_y"]) for v in run.variants]
    [(1, 1, 1, '0.5'), (2, 2237079020, 2, 1)]
    >>> [v.exercise.values["W_x"] for v in draw(data, 1, seed=2237079020).variants]
    [2]
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError("count", count, "an integer >= 1 (how many variants to draw)")
    check_at_most("count", count, MAX_VARIANTS, "variants")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError("seed", seed, "an integer >= 0")
    if not isinstance(data, Mapping):
        raise InputTypeError("exercise", data, "a table (parsed TOML)")
    values = data.get("values", {})
    if not isinstance(values, dict):
        raise InputTypeError("values", values, "a table of names and numbers")
    model = data.get("model", {})
    if not isinstance(model, dict):
        raise InputTypeError("model", model, "a table")
    drawable = template(values, _model(model))
    base = from_dict({**data, "values": realize(drawable, lambda spec: 0)}, source)
    rules = Constraints.read(data.get("variants", {}), base)
    bound = rules.draws if draws is None else _draws(draws, "draws")
    if rules.evaluates:
        work = bound * len(base.graph.assignments)
        check_at_most("variants.draws", work, MAX_DRAW_WORK, "assignments evaluated over all draws",
                      shown=f"{bound} draws of a model of {len(base.graph.assignments)} assignments")
    specs: list[Spec] = []
    realize(drawable, lambda spec: specs.append(spec) or 0)
    distinct = 1
    for spec in specs:
        distinct = min(distinct * spec.size, count)
    if distinct < count:
        raise NoVariantError(f"no {count} variants: the draw specs allow only {distinct} distinct set"
                             f"{'s' if distinct != 1 else ''} of values (no draws tried)", 0, count, 0, {})
    variants: list[Variant] = []
    seen: set[tuple] = set()
    rejections: dict[str, int] = {}
    attempts = 0
    for attempt_seed in itertools.islice(_attempt_seeds(seed), bound):
        attempts += 1
        rng = random.Random(attempt_seed)
        picks: list[sympy.Rational] = []

        def pick(spec: Spec) -> int:
            k = rng.randrange(spec.size)
            picks.append(spec.exact(k))
            return k

        drawn = realize(drawable, pick)
        key = tuple(picks)
        reason = "duplicate" if key in seen else None
        if reason is None and rules.evaluates:
            try:
                reason = rules.rejects(base, Evaluation(base.graph, drawn))
            except InputError:
                reason = "unusable"
        if reason is not None:
            rejections[reason] = rejections.get(reason, 0) + 1
            continue
        seen.add(key)
        variants.append(Variant(len(variants) + 1, attempt_seed, replace(base, values=drawn, _answers={})))
        if len(variants) == count:
            return Draw(variants, attempts, rejections, seed)
    if rejections:
        worst, most = max(rejections.items(), key=lambda kv: kv[1])
        why = (f"the constraint that rejected most draws is {rules.describe(worst)} ({most} of "
               f"{sum(rejections.values())} rejected draws); widen the draw specs, loosen [variants] or")
    else:
        why = "no draw was rejected, the bound is below the count:"
    raise NoVariantError(
        f"no {count} variants in {attempts} draws (seed {seed}): found {len(variants)} of {count}; "
        f"{why} raise variants.draws (at most {MAX_DRAWS})",
        len(variants), count, attempts, rejections)


def draw_text(text: str, count: int, seed: int, *, source: str = "<string>", draws: int | None = None) -> Draw:
    """:func:`draw` for the TOML ``text`` of an exercise (``source`` names it in errors).

    >>> draw_text('[model]\\nsteps = 1\\n[values]\\nh_0 = 0\\nx = {range = [-1, 1]}\\ny = [0]\\nW_h = 1\\nW_x = 1\\nW_y = 1', 3, 5)
    Draw(3 variants, seed=5, 19 draws, 16 rejected: duplicate 16)
    """
    return draw(parse_toml(text, source), count, seed, source=source, draws=draws)


def draw_file(path: str | Path, count: int, seed: int, *, draws: int | None = None) -> Draw:
    """:func:`draw` for the exercise file at ``path`` (UTF-8 TOML, as :func:`rnnsym.exercise.load` reads it).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "ex.toml"
    ...     _ = path.write_text('[model]\\nsteps = 1\\n[values]\\nh_0 = 0\\nx = [1]\\ny = [0]\\n'
    ...                         'W_h = {range = [0, 1], step = "0.5"}\\nW_x = 1\\nW_y = 1', encoding="utf-8")
    ...     draw_file(path, 2, 3)
    Draw(2 variants, seed=3, 2 draws, 0 rejected)
    """
    return draw_text(read_text(path, "exercise"), count, seed, source=str(path), draws=draws)
