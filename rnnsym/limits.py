"""The stated limits of rnnsym: how much work one exercise may ask for.

An exercise file may come from anyone, so the size of what it asks for is
checked before any work starts, and each refusal is a
:class:`~rnnsym.errors.LimitError` naming the key, the value and the limit.
The limits are far above what a worked exam answer needs (a 1,000-step tanh
sheet is well inside them); ``docs/exercise-files.md`` lists them.

>>> check_at_most("model.steps", 20_000, MAX_STEPS, "steps")
Traceback (most recent call last):
...
rnnsym.errors.LimitError: model.steps: got 20000, expected at most 10000 steps (a stated limit of rnnsym, see docs/exercise-files.md)
"""

from __future__ import annotations

from .errors import LimitError

__all__ = [
    "MAX_STEPS",
    "MAX_SIZE",
    "MAX_EDGES",
    "MAX_QUESTIONS",
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "MAX_RESULT_DIGITS",
    "MAX_TEXT",
    "MAX_FILE_BYTES",
    "TEX_TIMEOUT",
    "MAX_VARIANTS",
    "MAX_DRAWS",
    "MAX_POINTS",
    "MAX_DRAW_WORK",
    "check_at_most",
    "digits_of",
]

#: Time steps of an unrolled model.
MAX_STEPS = 10_000
#: Entries of a vector: ``hidden``, ``input`` and ``output``.
MAX_SIZE = 16
#: Local partial derivatives in an unrolled model (steps × the cell's edges per step):
#: the measure of how much work every derivation of the model costs.
MAX_EDGES = 1_000_000
#: Questions of one exercise.
MAX_QUESTIONS = 200
#: Significant digits of a number as written (``"3.14159…"``).
MAX_DIGITS = 1_000
#: Size of a written decimal exponent (``"1e-400"``).
MAX_EXPONENT = 1_000
#: Digits of an exact value rnnsym computes (numerator and denominator together);
#: below Python's own limit of 4,300 digits for turning an integer into text.
MAX_RESULT_DIGITS = 4_000
#: Characters of one text key of an exercise (``title``, ``intro``, a question's ``text`` …).
MAX_TEXT = 20_000
#: Bytes of an exercise file or answer key.
MAX_FILE_BYTES = 1_000_000
#: Seconds a PDF build may take before it is stopped (``--tex-timeout``).
TEX_TIMEOUT = 60.0
#: Variants drawn in one run (``--variants``).
MAX_VARIANTS = 1_000
#: Draws tried in one run before giving up (``[variants] draws``).
MAX_DRAWS = 100_000
#: Points of one draw spec (``{range = [0, 1], step = "0.001"}`` has 1,001).
MAX_POINTS = 1_000_000
#: Assignments evaluated over all draws of one run (draws × assignments of the
#: unrolled model), when a constraint needs the model's values.
MAX_DRAW_WORK = 5_000_000

_WHERE = "a stated limit of rnnsym, see docs/exercise-files.md"


def check_at_most(field: str, value: int, limit: int, unit: str, shown: object = None) -> None:
    """Raise :class:`~rnnsym.errors.LimitError` when ``value`` exceeds ``limit``.

    ``shown`` is what the message quotes as the value got (default ``value``).
    """
    if value > limit:
        raise LimitError(field, value if shown is None else shown, f"at most {limit} {unit} ({_WHERE})")


def digits_of(p: int, q: int = 1) -> int:
    """Decimal digits of ``p`` and ``q`` together (of ``p`` alone when ``q`` is 1):
    exact below 3,000 digits each, above that an estimate that may be one too
    high (so huge numbers are never turned into text).

    >>> digits_of(10**50), digits_of(-7, 3), digits_of(0)
    (51, 2, 1)
    """
    def count(n: int) -> int:
        n = abs(n)
        return len(str(n)) if n.bit_length() <= 10_000 else int(n.bit_length() * 0.30103) + 1

    return count(p) + (count(q) if q != 1 else 0)
