"""Is your back-propagation through time right?  :func:`check_bptt` compares it with rnnsym's.

A hand-written numpy BPTT (a forward loop, a backward loop, a gradient for
each weight) is called on values hypothesis draws for the graph's leaves, and
its loss and gradients are compared with :func:`rnnsym.compile`'s generated
code.  The first disagreement is shrunk to a small example and reported as
text: which gradient, which entry, both numbers, the example, and a hint when
one of a few plain slips explains it at several points.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from ..compiled import compile_gradient
from ..errors import InputError, InputTypeError
from ..binding import Missing
from ..graph import Graph
from .report import table as text_table
from .slips import hint as slip_hint
from .tables import bounds, leaf_shapes, random_tables, read_table, tables

__all__ = ["check_bptt", "assert_bptt", "BPTTMismatch", "BPTTReport"]


class BPTTMismatch(AssertionError):
    """A BPTT implementation differs from rnnsym's compiled gradient at ``values``.

    ``quantity`` is ``"L"`` or ``"dL/dW_h"`` (``"raised"`` when the function
    raised, the exception being ``got`` and the cause), ``entry`` the 1-based
    index of the first entry that differs (``()`` for a scalar), ``got`` and
    ``expected`` the two numbers there, ``values`` the example the function was
    called with, and ``hint`` a likely cause, or ``""``.
    """

    def __init__(self, message: str, quantity: str, entry: tuple[int, ...], got: Any, expected: Any,
                 values: Mapping[str, Any], hint: str = "") -> None:
        super().__init__(message)
        self.quantity, self.entry, self.got, self.expected = quantity, entry, got, expected
        self.values, self.hint = dict(values), hint


BPTTMismatch.__module__ = "rnnsym.testing"  # where users import it from


@dataclass
class BPTTReport:
    """What :func:`check_bptt` compared: the ``quantities`` checked (``"L"``,
    ``"dL/dW_h"``, …), on how many ``examples``, and the ``mismatch`` found
    (a :class:`BPTTMismatch`) or None; ``ok`` when there is none."""

    graph: Graph
    quantities: tuple[str, ...]
    examples: int
    mismatch: BPTTMismatch | None = None

    @property
    def ok(self) -> bool:
        return self.mismatch is None

    def __repr__(self) -> str:
        what = ", ".join(self.quantities) if len(self.quantities) <= 4 else f"{len(self.quantities)} quantities"
        verdict = f"{self.examples} examples agree" if self.ok else f"DISAGREE at {_entry_name(self.mismatch)}"
        return f"BPTTReport({self.graph.cell.name}, steps={self.graph.steps}, {what}: {verdict})"

    def __str__(self) -> str:
        if self.mismatch:
            return str(self.mismatch)
        return f"{self.examples} examples agree on {', '.join(self.quantities)}"

    def raise_for_mismatch(self) -> "BPTTReport":
        """Raise the :class:`BPTTMismatch` when there is one; else return the report."""
        if self.mismatch is not None:
            raise self.mismatch
        return self


def _entry_name(m: BPTTMismatch) -> str:
    return m.quantity + (f"[{','.join(map(str, m.entry))}]" if m.entry else "")


def _number(v: float, digits: int = 12) -> str:
    return format(float(v), f".{digits}g")


def _text(value: Any, digits: int = 12) -> str:
    """A float or nested lists of them, shortly (``[0.5, -1]``)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v, digits) for v in value) + "]"
    return _number(value, digits)


class _Raised(Exception):
    """The function under test raised ``error``."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


class _Check:
    """One graph, one function: the compiled truth, the calling convention, the comparison."""

    def __init__(self, function: Callable, graph: Graph, wrt: tuple[str, ...] | None, rtol: float, atol: float) -> None:
        self.function, self.graph, self.wrt, self.rtol, self.atol = function, graph, wrt, rtol, atol
        self.shapes = leaf_shapes(graph)
        self.differentiable = [n for n in self.shapes if n not in graph.sequences]
        self.compiled = compile_gradient(graph, self.differentiable)
        self.name = getattr(function, "__name__", "function")
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            parameters = {}
        required = [p.name for p in parameters.values() if p.default is p.empty
                    and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        self.keywords = len(required) >= 2 and set(required) <= set(self.shapes)
        self.passed = [n for n in self.shapes if n in parameters] if self.keywords else list(self.shapes)
        self.call = f"{self.name}({', '.join(self.passed)})" if self.keywords else f"{self.name}(values)"
        self.quantities: dict[str, None] = {}

    def arrays(self, table: Mapping[str, Any]) -> dict[str, Any]:
        import numpy as np

        return {n: float(v) if self.shapes[n] == () else np.array(v, dtype=np.float64) for n, v in table.items()}

    def run(self, table: Mapping[str, Any]) -> tuple[Any, dict, float, dict]:
        """(your loss or None, your gradients, the compiled loss, the compiled gradients) at ``table``."""
        mine = self.arrays(table)
        loss, truth = self.compiled(mine)  # read before the function runs, which may change its arguments
        try:
            result = self.function(**{n: mine[n] for n in self.passed}) if self.keywords else self.function(mine)
        except Exception as error:
            raise _Raised(error) from error
        return (*self.read(result), loss, truth)

    def differs(self, got: Any, expected: Any) -> Any:
        """Where ``got`` and ``expected`` differ by more than ``atol + rtol × |expected|`` (NaN differs)."""
        import numpy as np

        return ~(np.abs(got - expected) <= self.atol + self.rtol * np.abs(expected))

    def read(self, result: Any) -> tuple[Any, dict]:
        import numpy as np

        if isinstance(result, Mapping):
            loss, grads, at = None, result, self.call
        elif isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping):
            (loss, grads), at = result, self.call + "[1]"
            try:
                loss = float(np.asarray(loss, dtype=np.float64).reshape(()))
            except (TypeError, ValueError):
                raise InputTypeError(self.call + "[0]", loss, "the loss, one number") from None
        else:
            raise InputTypeError(self.call, result, "(loss, {name: gradient}) or {name: gradient}, "
                                 "named as the values: " + ", ".join(self.differentiable))
        if not grads:
            raise InputError(at, {}, "at least one gradient, named as the values: " + ", ".join(self.differentiable))
        for key in grads:
            if key not in self.differentiable:
                raise InputError(at, key, "gradients named after parameters or initial states: " + ", ".join(self.differentiable))
        out = {}
        for name in self.wrt or grads:
            if name not in grads:
                raise InputError(f"{at}[{name!r}]", Missing(), f"the gradient of {name} (wrt names it)")
            shape, g = self.shapes[name], grads[name]
            try:
                a = np.asarray(g, dtype=np.float64)
            except (TypeError, ValueError):
                raise InputTypeError(f"{at}[{name!r}]", g, f"numbers of shape {shape}") from None
            if a.shape != shape and a.squeeze().shape != tuple(d for d in shape if d != 1):
                raise InputError(f"{at}[{name!r}]", f"shape {a.shape}", f"shape {shape}, the shape of {name}")
            out[name] = a.reshape(shape)
        return loss, out

    def compare(self, table: Mapping[str, Any]) -> tuple | None:
        """The first disagreement at ``table`` as (quantity, entry, got, expected), or None."""
        import numpy as np

        try:
            loss, grads, true_loss, truth = self.run(table)
        except _Raised as raised:  # the function's own failure is a finding, shrunk like any other
            return ("raised", (), raised.error, None)
        if not np.isfinite(true_loss) or not all(np.isfinite(truth[n]).all() for n in grads):
            return None  # outside the model's domain: no truth to compare with
        pairs = ([("L", np.asarray(loss), np.asarray(true_loss))] if loss is not None else [])
        pairs += [(f"dL/d{n}", g, truth[n]) for n, g in grads.items()]
        self.quantities.update(dict.fromkeys(q for q, _, _ in pairs))
        for quantity, got, expected in pairs:
            bad = self.differs(got, expected)
            if bad.any():
                index = tuple(int(i) for i in np.argwhere(bad)[0])
                return quantity, tuple(i + 1 for i in index), float(got[index]), float(expected[index])
        return None


def check_bptt(
    function: Callable,
    graph: Graph,
    wrt: str | Iterable[str] | None = None,
    *,
    values: Mapping[str, Any] | None = None,
    examples: int = 100,
    rtol: float = 1e-9,
    atol: float = 1e-9,
    seed: int | None = None,
    min_value: Any = -2,
    max_value: Any = 2,
) -> BPTTReport:
    """Compare your BPTT ``function`` with rnnsym's compiled gradient of ``graph``; return a :class:`BPTTReport`.

    ``function`` takes the values of the graph's leaves, named as in exercise
    files, either as one dict (``def bptt(values)``) or as arguments named after
    them (``def bptt(W_h, W_x, W_y, h_0, x, y)``, called with keywords; leaves it
    does not name are left out).  Scalars are floats, tensors float64 arrays of
    the shapes :func:`rnnsym.compile` takes: a parameter or initial state its
    tensor's (``W_h`` (n, n), ``W_x`` (n, m), ``W_y`` (k, n), ``h_0`` (n,)),
    the inputs and targets (T,), or (T, m) for vectors of m > 1
    (:func:`rnnsym.testing.tables.leaf_shapes` lists them).  It returns ``(loss,
    {name: gradient})``, or the dict of gradients alone, each gradient of its
    tensor's shape (axes of length 1 may be added or left out).

    The gradients of ``wrt`` (default: every one the function returns; names
    of parameters or initial states) and the loss, when returned, are compared
    with :func:`rnnsym.compile`'s within ``atol + rtol × |rnnsym's|``: at
    ``values`` first when given, then on up to ``examples`` tables hypothesis
    draws (the graph's steps and sizes; every entry a multiple of 1/8 between
    ``min_value`` and ``max_value``, exact as a float; no relu on its kink).
    The first disagreement is shrunk to the smallest example hypothesis finds
    and kept as the report's ``mismatch``: which quantity and entry, both
    numbers, the example, every quantity there, and a hint when a plain slip
    (a constant factor, a transpose, two gradients swapped, nothing carried
    back through h_{t−1}, the last loss alone) explains it at that example and
    at two random ones.  A function that raises is reported the same way, its
    exception as the cause.  Examples are derandomized (the same each run),
    or drawn from ``seed``; inside a hypothesis test, which cannot nest a search,
    up to 20 seeded random tables are tried instead, without shrinking.

    Raises :class:`~rnnsym.errors.InputError` for a bad argument or when the
    function returns anything other than described (naming what and where),
    and :class:`ModuleNotFoundError` without hypothesis (``pip install
    'rnnsym[hypothesis]'``).  :func:`assert_bptt` raises the mismatch instead.

    >>> import numpy as np, rnnsym
    >>> def bptt(W_h, W_x, W_y, h_0, x, y):  # the scalar Elman cell: h_t = tanh(W_h h_{t-1} + W_x x_t), ŷ_t = W_y h_t
    ...     T = len(x)
    ...     h = np.zeros(T + 1)
    ...     h[0] = h_0
    ...     for t in range(1, T + 1):
    ...         h[t] = np.tanh(W_h * h[t - 1] + W_x * x[t - 1])   # x[t - 1] is x_t
    ...     yhat = W_y * h[1:]
    ...     loss = np.sum((yhat - y) ** 2)
    ...     dW_h = dW_x = dW_y = dh = 0.0                    # dh: ∂L/∂h_t from the steps after t
    ...     for t in range(T, 0, -1):
    ...         dyhat = 2 * (yhat[t - 1] - y[t - 1])
    ...         dW_y += dyhat * h[t]
    ...         dz = (dh + dyhat * W_y) * (1 - h[t] ** 2)     # ∂L/∂z_t
    ...         dW_h += dz * h[t - 1]
    ...         dW_x += dz * x[t - 1]
    ...         dh = dz * W_h
    ...     return loss, {"W_h": dW_h, "W_x": dW_x, "W_y": dW_y}
    ...
    >>> check_bptt(bptt, rnnsym.elman(3, activation="tanh"), examples=50)
    BPTTReport(elman, steps=3, L, dL/dW_h, dL/dW_x, dL/dW_y: 50 examples agree)
    """
    try:
        import hypothesis
    except ImportError:
        raise ModuleNotFoundError("check_bptt draws its examples with hypothesis, which is not installed: "
                                  "pip install 'rnnsym[hypothesis]'", name="hypothesis") from None
    if not callable(function):
        raise InputTypeError("function", function, "a function of the values returning (loss, {name: gradient})")
    if not isinstance(graph, Graph):
        raise InputTypeError("graph", graph, "a rnnsym.Graph (from rnnsym.elman or rnnsym.unroll)")
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise InputError("examples", examples, "an integer >= 1")
    for field, number in (("rtol", rtol), ("atol", atol)):
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not number >= 0:
            raise InputError(field, number, "a number >= 0")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InputTypeError("seed", seed, "an integer, or None for hypothesis' derandomized examples")
    bounds(min_value, max_value)  # checked before any work
    shapes = leaf_shapes(graph)
    names = [n for n in shapes if n not in graph.sequences]
    if wrt is not None:
        wrt = (wrt,) if isinstance(wrt, str) else tuple(wrt)
        for w in wrt or ("(none)",):
            if w not in names:
                raise InputError("wrt", w, "a parameter or initial state: " + ", ".join(names))
    check = _Check(function, graph, wrt, float(rtol), float(atol))
    found, how, count = None, "", 0
    if values is not None:
        table, how, count = read_table(graph, values), "at the values given", 1
        found = check.compare(table)
    nested = hypothesis.currently_in_test_context()
    if found is None and nested:
        how = "among seeded random examples: no nested search inside a hypothesis test"
        for table in random_tables(graph, min(examples, 20), seed or 0, min_value, max_value):
            count += 1
            found = check.compare(table)
            if found is not None:
                break
    elif found is None:
        how = "the smallest example hypothesis found"
        table, found, searched = _search(check, tables(graph, min_value, max_value), examples, seed)
        count += searched
    mismatch = None
    if found is not None:
        mismatch = _mismatch(check, table, found, how, random_tables(graph, 2, (seed or 0) + 1, min_value, max_value))
    return BPTTReport(graph, tuple(check.quantities), count, mismatch)


class _Found(Exception):
    """Raised inside the search to mark a mismatch, so hypothesis shrinks the example."""


def _search(check: _Check, tables: Any, examples: int, seed: int | None) -> tuple[Any, Any, int]:
    """The smallest table hypothesis finds where ``check`` disagrees, its disagreement and
    the number of examples run before the first one; or (None, None, examples run)."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as seeded

    found: list[tuple[Any, Any]] = []
    count = [0, 0]

    def disagree(table: dict) -> None:
        count[0] += 1
        outcome = check.compare(table)
        if outcome is not None:
            count[1] = count[1] or count[0]
            found.append((table, outcome))
            raise _Found

    chosen = settings(max_examples=examples, database=None, derandomize=seed is None, deadline=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink],
                      report_multiple_bugs=False, verbosity=Verbosity.quiet)
    run = chosen(given(tables)(disagree))
    if seed is not None:
        run = seeded(seed)(run)
    try:
        run()
    except _Found:
        return found[-1][0], found[-1][1], count[1]
    return None, None, count[0]


def _mismatch(check: _Check, table: dict, found: tuple, how: str, others: Iterable[dict]) -> BPTTMismatch:
    """The error for ``found`` at ``table``: the headline, the example, both sides of every
    quantity, and a hint when a slip explains it at ``table`` and at ``others`` too."""
    import numpy as np

    quantity, entry, got, expected = found
    example = ", ".join(f"{n} = {_text(v)}" for n, v in table.items())
    if quantity == "raised":
        message = f"{check.call} raised {type(got).__name__}: {got}\n  at {example}\n({how})"
        error = BPTTMismatch(message, quantity, entry, got, None, table)
        error.__cause__ = got
        return error
    where = quantity + (f"[{','.join(map(str, entry))}]" if entry else "")
    loss, grads, true_loss, truth = check.run(table)
    pairs = [("L", loss, true_loss)] if loss is not None else []
    pairs += [(f"dL/d{n}", g, truth[n]) for n, g in grads.items()]
    rows = [(q, _text(np.asarray(a).tolist(), 6), _text(np.asarray(b).tolist(), 6),
             "MISMATCH" if check.differs(a, b).any() else "") for q, a, b in pairs]
    hint = slip_hint(check, quantity, [table, *others])
    message = (f"{where}: {check.name} gives {_number(got)}, rnnsym.compile gives {_number(expected)}"
               f" (difference {_number(got - expected, 3)})\n  at {example}\n({how})\n"
               + text_table(rows, ("quantity", check.name, "rnnsym", "")) + (f"\nhint: {hint}" if hint else ""))
    return BPTTMismatch(message, quantity, entry, got, expected, table, hint)


def assert_bptt(
    function: Callable,
    graph: Graph,
    wrt: str | Iterable[str] | None = None,
    **options: Any,
) -> BPTTReport:
    """Raise :class:`BPTTMismatch` unless ``function`` computes the loss and gradients of ``graph``;
    return the :class:`BPTTReport` when it does.

    ``check_bptt(function, graph, wrt, **options).raise_for_mismatch()``: the
    conventions, options and errors are those of :func:`check_bptt`.  A
    BPTT that leaves out tanh's derivative (1 − h_t²) is caught:

    >>> import numpy as np, rnnsym
    >>> def bptt(values):
    ...     W_h, W_x, W_y, h, x, y = (values[k] for k in ("W_h", "W_x", "W_y", "h_0", "x", "y"))
    ...     hs, grads, dh = [h], {"W_h": 0.0, "W_x": 0.0, "W_y": 0.0}, 0.0
    ...     for x_t in x:
    ...         hs.append(np.tanh(W_h * hs[-1] + W_x * x_t))
    ...     for t in range(len(x), 0, -1):
    ...         dyhat = 2 * (W_y * hs[t] - y[t - 1])
    ...         grads["W_y"] += dyhat * hs[t]
    ...         dz = dh + dyhat * W_y                            # the slip: (1 - hs[t] ** 2) left out
    ...         grads["W_h"] += dz * hs[t - 1]
    ...         grads["W_x"] += dz * x[t - 1]
    ...         dh = dz * W_h
    ...     return grads
    ...
    >>> assert_bptt(bptt, rnnsym.elman(2, activation="tanh"), examples=50)
    Traceback (most recent call last):
    ...
    rnnsym.testing.BPTTMismatch: dL/dW_x: bptt gives 1.52318831191, rnnsym.compile gives 0.639700008449 (difference 0.883)
      at h_0 = 0, W_h = 0, W_x = 1, W_y = 1, x = [0, 1], y = [0, 0]
    (the smallest example hypothesis found)
    quantity  bptt     rnnsym
    dL/dW_h   0        0
    dL/dW_x   1.52319  0.6397   MISMATCH
    dL/dW_y   1.16005  1.16005
    """
    return check_bptt(function, graph, wrt, **options).raise_for_mismatch()
