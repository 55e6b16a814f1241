"""Plain slips that explain a BPTT mismatch: :func:`hint` names one when it holds everywhere tried.

The slips: a constant factor (a sign flipped, a 2 from the square missing), a
matrix transposed, two gradients swapped, no gradient carried back through the
previous state (each step's loss differentiated with h_{t−1} held fixed), and
the last step's loss alone.  The last two are computed with
:func:`rnnsym.compile` on the same cell, unrolled for one step or with the
last loss only.

>>> import rnnsym
>>> from rnnsym.testing.bptt import check_bptt
>>> right = rnnsym.compile(rnnsym.elman(2))
>>> def backwards(values):  # every gradient with its sign flipped
...     loss, grads = right(values)
...     return {name: -g for name, g in grads.items()}
...
>>> print(check_bptt(backwards, rnnsym.elman(2), examples=10).mismatch.hint)
yours is −1 × rnnsym's at every example tried: a sign flipped?
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..compiled import compile_gradient
from ..evaluation import evaluate
from ..models import unroll

__all__ = ["hint"]


def hint(check: Any, quantity: str, tables: list[dict]) -> str:
    """A plain slip that explains ``quantity`` (``"L"``, ``"dL/dW_h"``) at every table of ``tables``, or ``""``.

    ``check`` runs both sides at a table (``check.run(table)`` gives your loss
    and gradients, then rnnsym's); a slip is named only when it holds at every
    table, so a coincidence at one small example is not taken for a cause.
    """
    import numpy as np

    name = quantity.removeprefix("dL/d")
    slips = _slips(check, name) if quantity != "L" else None
    seen: list[tuple[Any, Any, dict]] = []  # (yours, rnnsym's, what slips would give) at each table
    for t in tables:
        try:
            loss, grads, true_loss, truth = check.run(t)
        except Exception:
            return ""
        if quantity == "L":
            if loss is None:
                return ""
            seen.append((np.asarray(loss), np.asarray(true_loss), {}))
        elif name in grads:
            seen.append((grads[name], truth[name], {**{f"dL/d{n}": g for n, g in truth.items() if n != name},
                                                    **slips(t)}))
    if not seen:
        return ""

    def near(a: Any, b: Any) -> bool:
        return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=1e-7, atol=1e-10))

    ratios = [got[np.abs(want) > 1e-9] / want[np.abs(want) > 1e-9] for got, want, _ in seen]
    k = float(np.concatenate([np.ravel(r) for r in ratios])[0]) if any(np.size(r) for r in ratios) else None
    if k is not None and all(near(got, k * want) for got, want, _ in seen):
        if k == 0 or abs(k) < 1e-12:
            return "yours is 0 at every example tried: is nothing accumulated into it?"
        if abs(k + 1) < 1e-9:
            return "yours is −1 × rnnsym's at every example tried: a sign flipped?"
        return f"yours is {k:.6g} × rnnsym's at every example tried: a constant factor too many or missing?"
    if all(np.ndim(want) == 2 and near(got, want.T) for got, want, _ in seen):
        return "yours is rnnsym's transposed at every example tried: rows and columns swapped?"
    for other in seen[0][2]:
        if all(other in slipped and near(got, slipped[other]) for got, _, slipped in seen):
            return _SLIPS.get(other, f"yours is rnnsym's {other} at every example tried: the two swapped?")
    return ""


_SLIPS = {
    "one step": "yours is what each step's loss gives with the previous state held fixed, at every example "
                "tried: is the gradient carried back through h_{t-1} (∂L/∂h_t missing the term from step t+1)?",
    "last loss": "yours is the last step's loss term alone, at every example tried: are the other steps' "
                 "losses missing from the sum?",
}


def _slips(check: Any, name: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """What two classic slips give for ``dL/d name`` at a table: no gradient carried back
    through the state (``"one step"``), and the last step's loss alone (``"last loss"``);
    each compiled once."""
    import numpy as np

    graph = check.graph
    steps = list(graph.loss_steps)
    weight = 1 / len(steps) if graph.reduction == "mean" else 1
    parameters = set(graph.cell.parameter_tensors)
    last = compile_gradient(unroll(graph.cell, graph.steps, [steps[-1]]), [name]) if len(steps) > 1 else None
    one = compile_gradient(unroll(graph.cell, 1), [name]) if graph.steps > 1 and name in parameters else None

    def slips(table: Mapping[str, Any]) -> dict[str, Any]:
        arrays, out = check.arrays(table), {}
        if last is not None:
            out["last loss"] = weight * last(arrays)[1][name]
        if one is not None:
            env = evaluate(graph, table, digits=20).env
            total = 0
            for t in steps:
                at_t = {n: arrays[n] for n in check.differentiable if n in parameters}
                for s in check.differentiable:
                    if s not in parameters:  # an initial state: its value at step t - 1
                        entries = graph.tensors[f"{s[:-2]}_{t - 1}"]
                        at_t[s] = np.reshape([float(env[e]) for e in entries.values()], check.shapes[s])
                for s in graph.sequences:
                    at_t[s] = arrays[s][t - 1:t]
                total = total + one(at_t)[1][name]
            out["one step"] = weight * total
        return out

    return slips
