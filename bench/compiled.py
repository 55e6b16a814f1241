"""rnnsym's compiled gradients: set-up time, and a batch against hand-written BPTT in JAX, PyTorch and Python.

Two tables, every case in a fresh process:

- **set-up**: building the graph (``rnnsym.elman(T, activation="tanh",
  bias=True)``, ``rnnsym.gru(T, hidden=8)``, ``rnnsym.lstm(T, hidden=8)``) and
  generating its code (``rnnsym.compile(graph)``, every weight), in CPU seconds
  of the thread doing it (``time.thread_time``: the threads JAX and PyTorch
  keep running do not count), cold: the case's process has imported rnnsym (and
  imported the backend's library, JAX or PyTorch, and run one operation with it)
  and nothing more, its objects frozen out of garbage collection (``gc.freeze``);
- **batch**: ∂L/∂w of every sequence for every weight of the scalar tanh Elman
  RNN with biases, on a batch of B = 1,000 sequences of T = 1,000 steps
  (inputs |x_t| ≤ 0.5 and targets |y_t| ≤ 1 drawn from a seeded generator,
  h_0 = 0, the weights of ``run.py``), in float64: rnnsym's compiled code, and
  the hand-written baselines of ``by_hand.py`` (``jax.jit(jax.vmap(jax.grad(loss)))``
  over ``jax.lax.scan``; a torch forward pass and ``.backward()``; a pure-Python
  loop, timed on the first 20 sequences), the objects made before the timed
  calls frozen out of garbage collection as above.  Seconds are wall-clock
  (``time.perf_counter``, since JAX and PyTorch may use several threads):
  "first" is the first call (JAX traces and compiles there), "best" the best of
  ten calls after it (five for the Python loop); µs/sequence is "best" over the sequences timed.  "diff"
  is the largest relative difference from the Python loop of any gradient of
  the first 20 sequences; above 1e-9 the run fails (exit status 1).

When the installed rnnsym's ``compile`` takes ``backend=``, each table has a
row for each of its backends ``"jax"`` and ``"torch"`` whose library is
installed; rows needing JAX or PyTorch are left out when it is not installed.

Run from the repository root::

    python bench/compiled.py              # about a minute
    python bench/compiled.py --quick      # a smoke run of about 15 seconds
    python bench/compiled.py --markdown   # the tables as Markdown
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import inspect
import multiprocessing
import time

import numpy as np

import by_hand
import rnnsym
from run import format_row, number

SETUP = [("elman", 10), ("elman", 100), ("elman", 1000), ("gru", 100), ("lstm", 100)]
QUICK_SETUP = [("elman", 100)]
#: (sequences in the batch, steps, sequences the Python loop is timed on)
BATCH = (1000, 1000, 20)
QUICK_BATCH = (50, 100, 5)
REPEATS = 10
#: Targets: set-up seconds at T = 1,000; rnnsym's time over JAX's; the Python loop's time over rnnsym's.
SETUP_SECONDS, JAX_RATIO, LOOP_RATIO = 0.5, 2.0, 10.0
#: A larger relative difference from the Python loop fails the run.
MAX_DIFF = 1e-9
WEIGHTS = {"W_h": 0.9, "W_x": 0.5, "W_y": 1.0, "b_h": 0.1, "b_y": 0.0}


def backends() -> list[str]:
    """``"numpy"``, and ``"jax"`` and ``"torch"`` when ``rnnsym.compile`` takes ``backend=`` and the library is installed."""
    if "backend" not in inspect.signature(rnnsym.compile).parameters:
        return ["numpy"]
    return ["numpy"] + [b for b in ("jax", "torch") if importlib.util.find_spec(b) is not None]


def compile_with(graph, backend: str):
    """``rnnsym.compile(graph)``, with ``backend=`` when the installed rnnsym takes it."""
    if "backend" in inspect.signature(rnnsym.compile).parameters:
        return rnnsym.compile(graph, backend=backend)
    return rnnsym.compile(graph)


def model(name: str, steps: int):
    if name == "elman":
        return rnnsym.elman(steps, activation="tanh", bias=True)
    return rnnsym.gru(steps, hidden=8) if name == "gru" else rnnsym.lstm(steps, hidden=8)


def _settle() -> None:
    """Collect garbage and freeze what is left, so that a collection in the timed work
    does not walk the objects of the imports (JAX's and PyTorch's are many)."""
    gc.collect()
    gc.freeze()


def _setup(name: str, steps: int, backend: str) -> dict:
    if backend != "numpy":  # the library's import and start-up are not rnnsym's set-up
        library = importlib.import_module(backend)
        (library.numpy.zeros(1).block_until_ready() if backend == "jax" else library.zeros(1).tanh())
    _settle()
    began = time.thread_time()
    graph = model(name, steps)
    built = time.thread_time()
    compile_with(graph, backend)
    return {"graph": built - began, "compile": time.thread_time() - built}


def data(batch: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of shape (batch, steps)."""
    rng = np.random.default_rng(9)
    return rng.uniform(-0.5, 0.5, (batch, steps)), rng.uniform(-1, 1, (batch, steps))


def _prepare_rnnsym(backend: str, x: np.ndarray, y: np.ndarray):
    f = compile_with(rnnsym.elman(x.shape[1], activation="tanh", bias=True), backend)
    values = {**WEIGHTS, "h_0": 0.0, "x": x, "y": y}
    return lambda: {w: np.asarray(g) for w, g in f(values)[1].items()}


PREPARE = {"python loop": by_hand.prepare_python, "jax.grad": by_hand.prepare_jax, "torch autograd": by_hand.prepare_torch}
NEEDS = {"jax.grad": "jax", "torch autograd": "torch"}


def _gradients(method: str, batch: int, steps: int, checked: int) -> dict:
    x, y = data(batch, steps)
    if method == "python loop":
        x, y = x[:checked], y[:checked]
    if method.startswith("rnnsym"):
        run = _prepare_rnnsym(method.split()[1], x, y)
    else:
        run = PREPARE[method](WEIGHTS, x, y)
    _settle()
    began = time.perf_counter()
    grads = run()
    first = time.perf_counter() - began
    best = float("inf")
    for _ in range(REPEATS if method != "python loop" else 5):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return {"first": first, "best": best, "sequences": len(x),
            "grads": {w: np.asarray(g, dtype=np.float64)[:checked].tolist() for w, g in grads.items()}}


def fresh(function, *args):
    """``function(*args)`` in a fresh process."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


SETUP_COLUMNS = ["model", "T", "backend", "graph s", "compile s", "total s"]
BATCH_COLUMNS = ["method", "sequences", "first s", "best s", "µs/sequence", "/ rnnsym numpy", "diff"]


def _table(columns: list[str], markdown: bool, width: int = 8) -> None:
    print(format_row(columns, markdown, columns, width))
    if markdown:
        print("|" + "|".join("---:" for _ in columns) + "|")


def setup_table(cases: list[tuple[str, int]], markdown: bool) -> list[str]:
    """Print the set-up rows; return the verdicts."""
    _table(SETUP_COLUMNS, markdown)
    compile_seconds: dict[tuple[str, str], list[float]] = {}
    verdicts = []
    for name, steps in cases:
        for backend in backends():
            s = fresh(_setup, name, steps, backend)
            total = s["graph"] + s["compile"]
            print(format_row([name, str(steps), backend, number(s["graph"]), number(s["compile"]), number(total)],
                             markdown, SETUP_COLUMNS), flush=True)
            if name == "elman":
                compile_seconds.setdefault((name, backend), []).append(s["compile"])
                if steps == 1000:
                    verdicts.append(f"set-up at T = 1,000 ({backend}) ≤ {SETUP_SECONDS:g} s: "
                                    f"{'met' if total <= SETUP_SECONDS else 'not met'} ({number(total)} s)")
    for (name, backend), seconds in compile_seconds.items():
        if len(seconds) > 1:
            verdicts.append(f"{name} code generation ({backend}), largest over smallest across T: "
                            f"{number(max(seconds) / min(seconds))}")
    return verdicts


def batch_table(batch: int, steps: int, checked: int, markdown: bool) -> list[str]:
    """Print the batch rows; return the verdicts."""
    methods = [f"rnnsym {b}" for b in backends()]
    methods += [m for m in ("jax.grad", "torch autograd") if m not in NEEDS or importlib.util.find_spec(NEEDS[m])]
    methods.append("python loop")
    _table(BATCH_COLUMNS, markdown, width=14)
    per_sequence, results = {}, {}
    for method in methods:
        results[method] = r = fresh(_gradients, method, batch, steps, checked)
        per_sequence[method] = r["best"] / r["sequences"]
    reference = results["python loop"]["grads"]
    mine = per_sequence["rnnsym numpy"]
    for method in methods:
        r = results[method]
        diff = max(abs(a - b) / max(abs(b), 1e-300) for w, column in reference.items()
                   for a, b in zip(r["grads"][w], column))
        print(format_row([method, str(r["sequences"]), number(r["first"]), number(r["best"]),
                          number(per_sequence[method] * 1e6), number(per_sequence[method] / mine), f"{diff:.1e}"],
                         markdown, BATCH_COLUMNS, width=14), flush=True)
        if diff > MAX_DIFF:
            raise SystemExit(f"bench: {method} differs from the Python loop by {diff:.1e} (at most {MAX_DIFF:g} expected)")
    verdicts = []
    for method in methods:
        if method.startswith("rnnsym") and "jax.grad" in per_sequence:
            ratio = per_sequence[method] / per_sequence["jax.grad"]
            verdicts.append(f"{method} within {JAX_RATIO:g}× of jax.grad: {'met' if ratio <= JAX_RATIO else 'not met'} ({number(ratio)}×)")
    for method in methods:
        if method.startswith("rnnsym"):
            ratio = per_sequence["python loop"] / per_sequence[method]
            verdicts.append(f"{method} ≥ {LOOP_RATIO:g}× faster than the Python loop: "
                            f"{'met' if ratio >= LOOP_RATIO else 'not met'} ({number(ratio)}×)")
    return verdicts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: set-up at T = 100, a batch of {QUICK_BATCH[0]} sequences of {QUICK_BATCH[1]} steps")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    batch, steps, checked = QUICK_BATCH if args.quick else BATCH
    print("Set-up: building the graph and generating its code (every weight); CPU seconds of that thread, each case in a fresh process.")
    print()
    verdicts = setup_table(QUICK_SETUP if args.quick else SETUP, args.markdown)
    print()
    print(f"∂L/∂w for every weight of each of {batch:,} sequences of {steps:,} steps, scalar tanh Elman with biases, "
          f"float64; wall-clock seconds, each method in a fresh process (the Python loop on {checked} sequences).")
    print()
    verdicts += batch_table(batch, steps, checked, args.markdown)
    print()
    if args.quick:
        print(f"(--quick: the targets are set for T = 1,000 and a batch of {BATCH[0]:,} sequences of {BATCH[1]:,} steps; "
              "judged here at the quick sizes, they say little)")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
