"""Bits lost to cancellation, measured while decimals are computed.

A sum whose parts nearly cancel (1 − σ(40), 1 − tanh(40)²) and the log of a
number near 1 return fewer correct bits than they are computed with: the
rounding error of their arguments, relative to the largest argument, becomes
the error of a much smaller result.  The operations here compute as mpmath
does and read the loss from the exponents and bit counts of the numbers
(integer arithmetic, no extra mpmath work): for a sum, the magnitude of its
largest part less the magnitude of the result; for a log, the number of bits
by which the result is smaller than 1.  A sum that absorbs a part whole
(1 + e^-80 = 1 at 66 bits) records the bits between its parts.  A number
shorter than a rounded one is taken as exact (1, 1/2, an integer); a function
that rounds to such a number from a non-zero argument is saturated (σ(1000) =
1 at 66 bits) and records the bits more with which it is not; a sum of rounded
parts that comes to exactly 0 is noted (``Tracker.zero``), to be computed again
once.  :data:`TOTAL` stands for every bit.

A pass of decimal arithmetic runs inside a :class:`Tracker` (a context
manager, set for the current context only), which keeps the largest loss of
any one operation; whoever runs the pass compares it with the guard bits it
has and computes again with more precision when the loss is larger.  Losses of
at most :data:`NOISE` bits are not recorded.

>>> import mpmath
>>> with mpmath.workprec(100), Tracker() as tracker:
...     difference = add(mpmath.mpf(1), -1 / (1 + mpmath.exp(-20)))
>>> tracker.lost  # 1 − σ(20) ≈ e^-20 ≈ 2^-28.9: 29 bits lost
29
"""

from __future__ import annotations

from contextvars import ContextVar

import mpmath

from .errors import LimitError

__all__ = ["NOISE", "TOTAL", "MARGIN", "MAX_EXTRA_BITS", "Tracker", "add", "fsum", "log", "apply", "lost_in_sum",
           "recompute"]

#: Losses of at most this many bits are not recorded.
NOISE = 4
#: The loss that stands for every bit (a saturation beyond ``MAX_EXTRA_BITS``, a division by 0).
TOTAL = 1 << 40
_NONE = -(1 << 62)  # the magnitude of 0
#: A decimal pass that loses more bits to cancellation than its guard bits less ``MARGIN``
#: is computed again with more bits, up to ``MAX_EXTRA_BITS`` more (:func:`recompute`).
MARGIN, MAX_EXTRA_BITS = 8, 4096

_TRACKER: ContextVar["Tracker | None"] = ContextVar("rnnsym_precision_tracker", default=None)


class Tracker:
    """The largest number of bits (``lost``) any one operation of the
    arithmetic of this module lost to cancellation while the tracker was
    entered (in this context; an inner tracker hides the outer one)."""

    __slots__ = ("lost", "zero", "_token")

    def __init__(self) -> None:
        self.lost, self.zero = 0, False  # zero: a sum of rounded parts came to exactly 0
        self._token = None

    def __enter__(self) -> "Tracker":
        self._token = _TRACKER.set(self)
        return self

    def __exit__(self, *exc) -> None:
        _TRACKER.reset(self._token)

    def __repr__(self) -> str:
        return f"Tracker(lost={'all' if self.lost >= TOTAL else self.lost})"


def _zero() -> None:
    tracker = _TRACKER.get()
    if tracker is not None:
        tracker.zero = True


def _record(bits: int) -> None:
    tracker = _TRACKER.get()
    if tracker is not None and bits > tracker.lost:
        tracker.lost = bits


def _short(bc: int) -> bool:
    """Whether a number of ``bc`` bits is shorter than a rounded one (so, until shown
    otherwise, exact)."""
    return bc < 64 and bc + 2 * NOISE < mpmath.mp.prec


def lost_in_sum(parts, total) -> int:
    """The bits lost when ``parts`` (mpmath numbers) added up to ``total``: the
    magnitude of the largest part less that of the total, or, when a part is
    too small to count at this precision (1 + e^-80 = 1 at 66 bits), the bits
    between the largest part and it; :data:`TOTAL` when rounded parts add up
    to exactly 0."""
    try:
        mpfs = [p._mpf_ for p in parts]
        _, man, exp, bc = total._mpf_
    except AttributeError:  # a complex number: not measured
        return 0
    sizes = [m[2] + m[3] for m in mpfs if m[1]]
    if len(sizes) < 2:
        return 0
    if not man:
        if any(m[1] and not _short(m[3]) for m in mpfs):
            _zero()
        return 0
    largest, smallest = max(sizes), min(sizes)
    if largest - smallest > mpmath.mp.prec:
        return largest - smallest
    return largest - exp - bc


def add(x, y):
    """``x + y``, recording the bits lost to cancellation (and to absorption)."""
    total = x + y
    try:
        _, man, exp, bc = total._mpf_
        _, xm, xe, xb = x._mpf_
        _, ym, ye, yb = y._mpf_
    except AttributeError:
        return total
    if xm and ym:
        if man:
            xs, ys = xe + xb, ye + yb
            lost = (xs if xs > ys else ys) - exp - bc
            if lost > NOISE:
                _record(lost)
            elif (xs - ys > 32 or ys - xs > 32) and abs(xs - ys) > mpmath.mp.prec:
                _record(abs(xs - ys))  # the smaller part is absorbed
        elif not (_short(xb) and _short(yb)):
            _zero()
    return total


def fsum(parts):
    """``mpmath.fsum(parts)``, recording the bits lost to cancellation."""
    parts = list(parts)
    total = mpmath.fsum(parts)
    lost = lost_in_sum(parts, total)
    if lost > NOISE:
        _record(lost)
    return total


def log(x):
    """``mpmath.log(x)``, recording the bits lost when ``x`` is near 1."""
    value = mpmath.log(x)
    try:
        _, man, exp, bc = value._mpf_
    except AttributeError:
        return value
    if man and exp + bc < -NOISE:
        _record(-(exp + bc))
    return value


def apply(function, x):
    """``function(x)`` for a function that is not rational.  A non-zero ``x`` that
    gives a value that looks exact is a saturation (σ(1000) and tanh(1000) round
    to 1 at 66 bits, hiding the distance to 1 that 1 − σ and 1 − tanh² need): the
    bits more with which the value shows that distance are recorded as lost
    (every bit beyond :data:`MAX_EXTRA_BITS` more)."""
    value = function(x)
    try:
        saturated = value._mpf_[1] and x._mpf_[1] and _short(value._mpf_[3])
    except AttributeError:
        return value
    if saturated:
        extra = mpmath.mp.prec
        while extra <= MAX_EXTRA_BITS:
            with mpmath.extraprec(extra):
                if function(x)._mpf_[3] + 2 * NOISE >= mpmath.mp.prec:
                    _record(extra)
                    return value
            extra *= 2
        _record(TOTAL)
    return value


def recompute(evaluation, compute, what: object):
    """``compute()``, a decimal pass of ``evaluation`` (an
    :class:`~rnnsym.evaluation.Evaluation`), with the precision it needs.

    The pass runs inside a :class:`Tracker`.  When it lost more bits than
    ``evaluation.prec`` has beyond the ``evaluation._bits`` its digits need
    (less :data:`MARGIN`), or divided by a difference that came to 0, the
    evaluation forgets its values (``_clear``) and the pass runs again with
    the bits lost more (twice the bits after a total loss), up to
    ``evaluation._cap``.  There, values of the last two passes that still
    differ are 0 when both are below 2^-(cap − MAX_EXTRA_BITS/2) (a difference
    of equal values: 0.3 − 3 × 0.1), else recorded as unsure (``evaluation._unsure``; the evaluation
    raises :class:`~rnnsym.errors.LimitError` when one is asked for), and a
    division by 0 raises it at once, naming ``what`` (its ``str``) or the quantity.
    """
    previous, zero = None, False
    while True:
        with Tracker() as tracker:
            try:
                result = compute()
            except ZeroDivisionError as error:
                what, result, tracker.lost = getattr(error, "quantity", what), None, TOTAL
        if tracker.lost <= evaluation.prec - evaluation._bits - MARGIN:
            if not tracker.zero or zero:  # a difference that is 0 at two precisions is 0
                return result
            zero, tracker.lost = True, evaluation.prec - evaluation._bits - MARGIN + 64
        if evaluation.prec >= evaluation._cap:
            return _settle(evaluation, result, previous, str(what))
        previous = result
        wanted = evaluation._bits + MARGIN + 32 + tracker.lost if tracker.lost < TOTAL else 2 * evaluation.prec
        evaluation.prec = min(max(wanted, evaluation.prec + 32), evaluation._cap)
        evaluation._clear()


def _settle(evaluation, result, previous, what: str):
    """The result of the last pass at the cap: values that are not finite, or that
    differ from ``previous`` (the pass before), are unsure; both below 2^-(cap −
    MAX_EXTRA_BITS/2) they are 0 (a difference of equal values: 0.3 − 3 × 0.1)."""
    if result is None:
        raise LimitError(what, f"a division by a difference that is 0 to the last of {evaluation.prec} bits",
                         f"values computable within {evaluation._cap} bits")
    pairs = list(result.items()) if isinstance(result, dict) else [(what, result)]
    before = previous if isinstance(previous, dict) else {what: previous}
    tolerance = mpmath.ldexp(1, -evaluation._bits - 4)
    tiny = mpmath.ldexp(1, -(evaluation._cap - MAX_EXTRA_BITS // 2))
    for name, value in pairs:
        old = before.get(name)
        values = value if isinstance(value, list) else [value]  # local partials come as a list
        if any(isinstance(v, mpmath.mpf) and not mpmath.isfinite(v) for v in values):
            evaluation._unsure[id(value)] = (str(name), value)
            continue
        if previous is None or isinstance(value, list) or value == old:
            continue
        if abs(value - old) <= abs(value) * tolerance:
            continue
        if abs(value) < tiny and abs(old) < tiny:
            if not isinstance(result, dict):
                return mpmath.mpf(0)
            result[name] = mpmath.mpf(0)
            continue
        evaluation._unsure[id(value)] = (str(name), value)
    return result
