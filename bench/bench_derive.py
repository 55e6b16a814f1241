"""Speed of derive() against the expanded-expression baseline, in one run.

For a scalar tanh Elman RNN of T steps, times

- ours: ``rnnsym.derive(graph, "L", "W_h")`` (local partials accumulated over the
  graph) plus its exact value at a rational point;
- baseline: ``sympy.diff`` of the fully expanded loss, plus substituting the
  same point (what a direct sympy user would write);

and prints a table of seconds and the ratio baseline / ours. A baseline that
would exceed the budget is not run (shown as ">budget"). Run:

    python bench/bench_derive.py [--steps 2 4 8 16 32] [--budget 20]
"""

from __future__ import annotations

import argparse
import signal
import time

import sympy

import rnnsym


class _Timeout(Exception):
    pass


def _timed(fn, budget: float):
    def stop(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, budget)
    start = time.perf_counter()
    try:
        fn()
        return time.perf_counter() - start
    except _Timeout:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _values(steps: int) -> dict:
    return {"h_0": 0, "x": ["1/2"] * steps, "y": [1] * steps, "W_h": "1/2", "W_x": 1, "W_y": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    parser.add_argument("--budget", type=float, default=20.0, help="seconds allowed per baseline run")
    args = parser.parse_args()
    print(f"{'T':>4} {'ours (s)':>10} {'baseline (s)':>13} {'baseline/ours':>14}")
    for steps in args.steps:
        graph = rnnsym.elman(steps, activation="tanh")
        values = _values(steps)

        def ours():
            rnnsym.derive(graph, "L", "W_h").evaluate(values)

        point = {s: n.exact for s, n in rnnsym.values.bind(graph, values).items()}

        def baseline():
            derivative = sympy.diff(graph.expand(graph.loss), graph.symbol("W_h"))
            derivative.xreplace(point)

        mine = _timed(ours, 600)
        base = _timed(baseline, args.budget)
        ratio = f"{base / mine:14.1f}" if base is not None else f"{'>' + format(args.budget / mine, '.1f'):>14}"
        shown = f"{base:13.3f}" if base is not None else f"{'>budget':>13}"
        print(f"{steps:>4} {mine:10.3f} {shown} {ratio}", flush=True)


if __name__ == "__main__":
    main()
