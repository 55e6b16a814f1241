"""rnnsym against two baselines: every weight gradient of a tanh RNN at 30 digits.

For a scalar tanh Elman RNN with biases unrolled for T steps, each method
computes ∂L/∂W for every weight (W_h, W_x, W_y, b_h, b_y) at one point, to 30
significant digits:

- **rnnsym**: ``rnnsym.elman(T, activation="tanh", bias=True)`` (timed on its
  own, "unroll"), then one 30-digit :func:`rnnsym.evaluate` and
  ``derive(graph, "L", w).value_at(evaluation)`` for each weight;
- **symengine**: a hand-written adjoint pipeline (``adjoint_baseline.py``):
  the cell's local partials derived once with symengine, then a forward and a
  reverse loop over the steps in symengine's MPFR reals, with the same
  working precision as rnnsym (30 digits and rnnsym's guard digits);
- **sympy.diff**: the loss expanded down to the leaves
  (``graph.expand(graph.loss)``), ``sympy.diff`` with respect to each weight,
  and ``sympy.N(derivative.xreplace(point), 30)`` at the exact point.

Each case (one method, one T) runs in a fresh process.  Seconds are CPU
seconds of the timed work (``time.process_time`` of the case's process, so
that other jobs on the machine do not count): everything after the model is
built, except that rnnsym builds its model inside the timed work and shows it
apart as "unroll".  µs/step is those seconds over T; MB is how far the case
raised its process's peak resident set size (``ru_maxrss``) above the peak
when the timed work started, imports done.  A case still running after its
time limit (wall-clock seconds: ``--budget`` for sympy.diff, ``--limit`` for
the others) is killed and shows ``>`` the CPU seconds it had used; the method
is then not run for larger T, and shows the same bound there.  The ratios are
rnnsym/symengine and sympy.diff/rnnsym of seconds measured in the same run
(rnnsym's unroll not included; ``>`` and ``<`` when one side was killed).
"agree" is the number of significant digits (at most 30) on which all
methods that finished agree, for every weight; the run fails (exit status 1)
when it is below 25.

Run from the repository root::

    python bench/run.py                 # T = 2 … 10000, about half an hour
    python bench/run.py --quick         # a smoke run of about 15 seconds
    python bench/run.py --markdown      # the table as Markdown
    python bench/run.py --steps 64 1000 --budget 120 --limit 600
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import random
import resource
import signal
import sys
import time
from dataclasses import dataclass

import mpmath
import sympy

import adjoint_baseline
import rnnsym
from rnnsym.evaluation import GUARD, bind

WEIGHTS = ("W_h", "W_x", "W_y", "b_h", "b_y")
DIGITS = 30
#: Fewer agreeing digits than this fails the run.
MIN_AGREE = 25
STEPS = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000, 5000, 10000]
BUDGET = 60.0
LIMIT = 900.0
QUICK_STEPS = [2, 4, 8, 64]
QUICK_BUDGET = 3.0
QUICK_LIMIT = 60.0


def inputs(steps: int) -> dict:
    """The point: fixed weights, and inputs and targets from a seeded sequence of
    tenths (|x_t| ≤ 0.5, |y_t| ≤ 1), so that tanh stays away from saturation."""
    rng = random.Random(9)
    return {
        "h_0": 0,
        "x": [f"{rng.randint(-5, 5)}/10" for _ in range(steps)],
        "y": [f"{rng.randint(-10, 10)}/10" for _ in range(steps)],
        "W_h": "0.9", "W_x": "0.5", "W_y": 1, "b_h": "0.1", "b_y": 0,
    }


# --- the methods: each calls start() when its timed work begins, and returns seconds and gradients ---

def _rnnsym(values: dict, start) -> tuple[dict, dict]:
    start()
    began = time.process_time()
    graph = rnnsym.elman(len(values["x"]), activation="tanh", bias=True)
    unrolled = time.process_time()
    evaluation = rnnsym.evaluate(graph, values, digits=DIGITS)
    grads = {w: rnnsym.derive(graph, "L", w).value_at(evaluation) for w in WEIGHTS}
    return {"unroll": unrolled - began, "seconds": time.process_time() - unrolled}, grads


def _symengine(values: dict, start) -> tuple[dict, dict]:
    start()
    began = time.process_time()
    grads = adjoint_baseline.gradients(values, digits=DIGITS + GUARD)
    return {"seconds": time.process_time() - began}, grads


def _sympy_diff(values: dict, start) -> tuple[dict, dict]:
    graph = rnnsym.elman(len(values["x"]), activation="tanh", bias=True)
    point = {s: n.exact for s, n in bind(graph, values).items()}
    start()
    began = time.process_time()
    loss = graph.expand(graph.loss)
    grads = {w: sympy.N(sympy.diff(loss, graph.symbol(w)).xreplace(point), DIGITS) for w in WEIGHTS}
    return {"seconds": time.process_time() - began}, grads


METHODS = {"rnnsym": _rnnsym, "symengine": _symengine, "sympy.diff": _sympy_diff}


# --- one case in a fresh process --------------------------------------------------------------------

@dataclass
class Result:
    """One case: seconds (``"seconds"``, and ``"unroll"`` for rnnsym), gradients
    as decimal strings, and the growth of peak RSS in MB; for a case killed at
    its time limit, only the CPU seconds it had used."""

    seconds: dict
    grads: dict | None = None
    mb: float | None = None

    @property
    def finished(self) -> bool:
        return self.grads is not None


def _peak_rss() -> int:
    """This process's peak resident set size in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _children_cpu() -> float:
    """CPU seconds used by this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _case(method: str, steps: int, limit: float, conn) -> None:
    """The child process: run ``method`` for ``steps`` steps, report through ``conn``."""

    def start() -> None:
        signal.alarm(math.ceil(limit) + 10)  # ends this process should the parent be gone
        conn.send((_peak_rss(), time.process_time()))

    seconds, grads = METHODS[method](inputs(steps), start)
    conn.send((seconds, {w: str(v) for w, v in grads.items()}, _peak_rss()))


def run_case(method: str, steps: int, limit: float) -> Result:
    """Run one case in a fresh process, killed when its timed work is still running
    after ``limit`` wall-clock seconds."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_case, args=(method, steps, limit, sender), daemon=True)
    cpu = _children_cpu()
    process.start()
    sender.close()
    try:
        rss, started = receiver.recv()
        finished = receiver.poll(limit)
        if finished:
            seconds, grads, peak = receiver.recv()
    except EOFError:
        raise SystemExit(f"bench: {method} failed at T = {steps} (its traceback is above)") from None
    finally:
        process.kill()
        process.join()
    if not finished:
        return Result({"seconds": _children_cpu() - cpu - started})
    return Result(seconds, grads, (peak - rss) / 2**20)


# --- the table --------------------------------------------------------------------------------------

def matching_digits(a: str, b: str) -> int:
    """The most significant digits (at most :data:`DIGITS`) to which ``a`` and ``b`` round alike.

    >>> matching_digits("1066.17560535777661695778860828", "1066.175605357776616957788608281934")
    30
    >>> matching_digits("0.125", "0.126")
    2
    """
    with mpmath.workdps(DIGITS + GUARD):
        x, y = mpmath.mpf(a), mpmath.mpf(b)
        return next((n for n in range(DIGITS, 0, -1) if mpmath.nstr(x, n) == mpmath.nstr(y, n)), 0)


def agreement(results: dict[str, Result]) -> int | None:
    """Digits on which every finished method agrees with the first, for every weight
    (None when fewer than two finished)."""
    grads = [r.grads for r in results.values() if r.finished]
    if len(grads) < 2:
        return None
    return min(matching_digits(grads[0][w], other[w]) for other in grads[1:] for w in WEIGHTS)


def number(x: float) -> str:
    """``x`` to three significant digits, without an exponent (``1,066``, ``0.0123``)."""
    if x == 0:
        return "0"
    return f"{x:,.{max(0, 2 - math.floor(math.log10(abs(x))))}f}"


def _ratio(num: Result, den: Result) -> str:
    """``num``'s seconds over ``den``'s: a bound when one was killed, "–" when both were."""
    if not num.finished and not den.finished:
        return "–"
    bound = "" if num.finished and den.finished else ">" if den.finished else "<"
    return bound + number(num.seconds["seconds"] / den.seconds["seconds"])


COLUMNS = [
    "T", "unroll s",
    *(f"{method} {unit}" for method in METHODS for unit in ("s", "µs/step", "MB")),
    "rnnsym/symengine", "sympy.diff/rnnsym", "agree",
]


def row(steps: int, results: dict[str, Result], agree: int | None) -> list[str]:
    """The table's cells for one T."""
    mine = results["rnnsym"]
    cells = [str(steps), number(mine.seconds["unroll"]) if mine.finished else "–"]
    for result in results.values():
        seconds = result.seconds["seconds"]
        if result.finished:
            cells += [number(seconds), number(seconds / steps * 1e6), number(result.mb)]
        else:
            cells += [">" + number(seconds), "–", "–"]
    cells.append(_ratio(mine, results["symengine"]))
    cells.append(_ratio(results["sympy.diff"], mine))
    cells.append("–" if agree is None else str(agree))
    return cells


def format_row(cells: list[str], markdown: bool, columns: list[str] = COLUMNS, width: int = 8) -> str:
    """One line of the table: Markdown, or cells right-aligned under ``columns`` (at least ``width`` wide)."""
    if markdown:
        return "| " + " | ".join(cells) + " |"
    return "  ".join(c.rjust(max(len(h), width)) for c, h in zip(cells, columns))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", help=f"the values of T (default {' '.join(map(str, STEPS))})")
    parser.add_argument("--budget", type=float, help=f"wall-clock seconds a sympy.diff case may take (default {BUDGET:g})")
    parser.add_argument("--limit", type=float, help=f"wall-clock seconds an rnnsym or symengine case may take (default {LIMIT:g})")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: T = {' '.join(map(str, QUICK_STEPS))}, budget {QUICK_BUDGET:g} s, limit {QUICK_LIMIT:g} s")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # so that a running case is killed too
    steps = args.steps or (QUICK_STEPS if args.quick else STEPS)
    budget = args.budget if args.budget is not None else QUICK_BUDGET if args.quick else BUDGET
    limit = args.limit if args.limit is not None else QUICK_LIMIT if args.quick else LIMIT
    limits = {"rnnsym": limit, "symengine": limit, "sympy.diff": budget}

    print(f"∂L/∂W for {', '.join(WEIGHTS)} of a scalar tanh Elman RNN with biases, {DIGITS} digits; "
          f"CPU seconds; cases killed after {budget:g} s (sympy.diff) or {limit:g} s (the others) of wall-clock time.")
    print()
    print(format_row(COLUMNS, args.markdown))
    if args.markdown:
        print("|" + "|".join("---:" for _ in COLUMNS) + "|")
    killed: dict[str, Result] = {}
    for t in steps:
        results = {}
        for method in METHODS:
            results[method] = killed.get(method) or run_case(method, t, limits[method])
            if not results[method].finished:
                killed[method] = results[method]
        agree = agreement(results)
        print(format_row(row(t, results, agree), args.markdown), flush=True)
        if agree is not None and agree < MIN_AGREE:
            raise SystemExit(f"bench: at T = {t} the methods agree on only {agree} digits (at least {MIN_AGREE} expected)")


if __name__ == "__main__":
    main()
