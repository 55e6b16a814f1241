"""rnnsym's exact path on vector and gated cells: every weight gradient at 30 digits, against symengine.

For an Elman RNN (tanh, biases), a GRU and an LSTM of hidden size 8 unrolled
for T = 100 steps, each method computes ∂L/∂w for every component of every
weight, to 30 significant digits, at one point (seeded hundredths, see
:func:`point`):

- **adjoints**: ``rnnsym.evaluate(graph, values, digits=30)`` and
  ``evaluation.adjoints(graph.loss)``, the one reverse pass;
- **derive**: the same evaluation, then
  ``[rnnsym.derive(graph, "L", w).value_at(evaluation) for w in weights]``,
  one (tensor) derivation per weight sharing that evaluation;
- **gradients**, when the installed rnnsym has it:
  ``rnnsym.gradients(graph, values, digits=30)``, every weight tensor's gradient;
- **symengine**: ``cell_adjoint.py``, a generic adjoint pipeline on the
  cell's template equations in symengine's MPFR reals, at rnnsym's working
  precision (30 digits and rnnsym's guard digits), its conversion of the
  equations included.

The rnnsym methods build the graph (``rnnsym.elman`` …) inside their case,
shown apart as "unroll" and not part of their seconds or ratios; every method
starts from the same cell, its local partials not yet derived.  Each case (one
method, one model) runs in a fresh process; seconds are CPU seconds of the
timed work, as in ``run.py``.  "agree" is the number of significant digits (at
most 30) on which all the methods agree for every weight component; below 25
the run fails (exit status 1).

Run from the repository root::

    python bench/exact.py               # hidden 8, T = 100: about 15 seconds
    python bench/exact.py --quick       # hidden 2, T = 5: a smoke run of about 7 seconds
    python bench/exact.py --markdown    # the table as Markdown
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import time

import cell_adjoint
import rnnsym
from rnnsym.evaluation import GUARD
from run import DIGITS, MIN_AGREE, format_row, matching_digits, number

MODELS = {
    "elman": lambda steps, hidden: rnnsym.elman(steps, activation="tanh", bias=True, hidden=hidden),
    "gru": lambda steps, hidden: rnnsym.gru(steps, hidden=hidden),
    "lstm": lambda steps, hidden: rnnsym.lstm(steps, hidden=hidden),
}
CELLS = {
    "elman": lambda hidden: rnnsym.cells.elman_cell("tanh", bias=True, hidden=hidden),
    "gru": lambda hidden: rnnsym.cells.gru_cell(hidden=hidden),
    "lstm": lambda hidden: rnnsym.cells.lstm_cell(hidden=hidden),
}
STEPS, HIDDEN = 100, 8
QUICK_STEPS, QUICK_HIDDEN = 5, 2
#: Targets: the Elman cell within this factor of symengine; the gated cells under this many seconds.
ELMAN_RATIO, GATED_SECONDS = 3.0, 2.0


def point(cell, steps: int, seed: int = 9) -> dict:
    """Values for every leaf, named as in exercise files: parameters in hundredths with
    |w| ≤ 0.3, h_0 (and c_0) zero, inputs |x_t| ≤ 0.5 and targets |y_t| ≤ 1 in tenths."""
    rng = random.Random(seed)
    shapes: dict[str, tuple[int, ...]] = {}
    for p in cell.parameters:
        head, _, rest = p.partition("[")
        index = tuple(int(i) for i in rest.rstrip("]").split(",")) if rest else ()
        shapes[head] = tuple(max(a, b) for a, b in zip(shapes.get(head, index), index))

    def draw(shape: tuple[int, ...], scale: int, denominator: int):
        if not shape:
            return f"{rng.randint(-scale, scale)}/{denominator}"
        return [draw(shape[1:], scale, denominator) for _ in range(shape[0])]

    def vector(base: str) -> tuple[int, ...]:
        return (cell.size(base),) if cell.size(base) > 1 else ()

    values = {head: draw(shape, 30, 100) for head, shape in shapes.items()}
    values.update({f"{b}_0": draw(vector(b), 0, 1) for b in cell.state})
    values.update({b: [draw(vector(b), 5, 10) for _ in range(steps)] for b in cell.inputs})
    values.update({b: [draw(vector(b), 10, 10) for _ in range(steps)] for b in cell.targets})
    return values


def _weights(cell) -> list[str]:
    return list(dict.fromkeys(p.partition("[")[0] for p in cell.parameters))


def _entries(cell, weight: str, value) -> dict[str, object]:
    """The components of one derivation's value (a matrix, or a number for a scalar weight)."""
    out = {}
    for p in cell.parameters:
        head, _, rest = p.partition("[")
        if head == weight:
            index = [int(i) - 1 for i in rest.rstrip("]").split(",")] if rest else []
            out[p] = value if not index else value[index[0], index[1]] if len(index) == 2 else value[index[0]]
    return out


def _rnnsym(model: str, steps: int, hidden: int, via: str) -> tuple[dict, dict]:
    cell = CELLS[model](hidden)
    values = point(cell, steps)
    began = time.process_time()
    graph = MODELS[model](steps, hidden)
    unrolled = time.process_time()
    grads = {}
    if via == "gradients":
        for w, value in rnnsym.gradients(graph, values, digits=DIGITS).items():
            grads.update(_entries(graph.cell, w, value))
        return {"unroll": unrolled - began, "seconds": time.process_time() - unrolled}, grads
    evaluation = rnnsym.evaluate(graph, values, digits=DIGITS)
    if via == "derive":
        for w in _weights(graph.cell):
            grads.update(_entries(graph.cell, w, rnnsym.derive(graph, "L", w).value_at(evaluation)))
    else:
        adjoints = evaluation.adjoints(graph.loss)
        grads = {p: adjoints.get(graph.symbol(p), 0) for p in graph.cell.parameters}
    return {"unroll": unrolled - began, "seconds": time.process_time() - unrolled}, grads


def _symengine(model: str, steps: int, hidden: int) -> tuple[dict, dict]:
    cell = CELLS[model](hidden)
    values = point(cell, steps)
    began = time.process_time()
    grads = cell_adjoint.gradients(cell, values, digits=DIGITS + GUARD)
    return {"seconds": time.process_time() - began}, grads


METHODS = {
    "adjoints": lambda *case: _rnnsym(*case, via="adjoints"),
    "derive": lambda *case: _rnnsym(*case, via="derive"),
    "gradients": lambda *case: _rnnsym(*case, via="gradients"),
    "symengine": _symengine,
}


def methods() -> list[str]:
    """The methods measured: ``gradients`` only when the installed rnnsym has ``rnnsym.gradients``."""
    return [m for m in METHODS if m != "gradients" or hasattr(rnnsym, "gradients")]


def _case(method: str, model: str, steps: int, hidden: int) -> tuple[dict, dict]:
    seconds, grads = METHODS[method](model, steps, hidden)
    return seconds, {p: str(v) for p, v in grads.items()}


def run_case(method: str, model: str, steps: int, hidden: int) -> tuple[dict, dict]:
    """One case in a fresh process: its seconds and its gradients as decimal strings."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_case, (method, model, steps, hidden))


def columns(measured: list[str]) -> list[str]:
    mine = [m for m in measured if m != "symengine"]
    return ["model", "T", "weights", "unroll s", *(f"{m} s" for m in measured), *(f"{m}/symengine" for m in mine), "agree"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"smoke run: hidden {QUICK_HIDDEN}, T = {QUICK_STEPS}")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    steps, hidden = (QUICK_STEPS, QUICK_HIDDEN) if args.quick else (STEPS, HIDDEN)
    print(f"∂L/∂w for every weight component, hidden size {hidden}, T = {steps}, {DIGITS} digits; CPU seconds.")
    print()
    measured = methods()
    mine = [m for m in measured if m != "symengine"]
    heads = columns(measured)
    print(format_row(heads, args.markdown, heads))
    if args.markdown:
        print("|" + "|".join("---:" for _ in heads) + "|")
    verdicts = []
    for model in MODELS:
        results = {method: run_case(method, model, steps, hidden) for method in measured}
        grads = [g for _, g in results.values()]
        agree = min(matching_digits(grads[0][p], other[p]) for other in grads[1:] for p in grads[0])
        seconds = {method: s for method, (s, _) in results.items()}
        sym = seconds["symengine"]["seconds"]
        cells = [model, str(steps), str(len(grads[0])), number(seconds["adjoints"]["unroll"]),
                 *(number(seconds[m]["seconds"]) for m in measured),
                 *(number(seconds[m]["seconds"] / sym) for m in mine), str(agree)]
        print(format_row(cells, args.markdown, heads), flush=True)
        if agree < MIN_AGREE:
            raise SystemExit(f"bench: the {model} methods agree on only {agree} digits (at least {MIN_AGREE} expected)")
        for m in mine:
            if model == "elman":
                ratio = seconds[m]["seconds"] / sym
                verdicts.append(f"elman, {m}: within {ELMAN_RATIO:g}× of symengine: "
                                f"{'met' if ratio <= ELMAN_RATIO else 'not met'} ({number(ratio)}×)")
            else:
                total = seconds[m]["seconds"] + seconds[m]["unroll"]
                verdicts.append(f"{model}, {m}: under {GATED_SECONDS:g} s with the unroll: "
                                f"{'met' if total < GATED_SECONDS else 'not met'} ({number(total)} s)")
    print()
    if args.quick:
        print(f"(--quick: the targets are set for hidden size {HIDDEN} and T = {STEPS}; judged here at the quick sizes, "
              "they say little)")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
