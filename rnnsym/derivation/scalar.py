"""Scalar derivatives through time, built from local partials and the chain rule.

:func:`derive_scalar` answers ∂A/∂B for a quantity A and a leaf or earlier
quantity B of a :class:`~rnnsym.graph.Graph`.  ∂A/∂B is the derivative along
every path from B to A, B treated as free (docs/architecture.md, "What ∂A/∂B
means").  Nothing here differentiates an expanded expression: each assignment
contributes its local partials, and a derivation is a structure whose lines
are written when first asked for, in time linear in the number of steps.

Two ways of writing the same derivative:

- ``split="loss"``, the textbook: ∂L/∂W = Σ_t ∂L_t/∂W, each term a chain-rule
  product whose last factor is a sum over paths (∂ŷ_2/∂W_h = h_0 W_h W_y + h_1 W_y);
  its size grows with the number of paths, so it is right for short horizons;
- ``split="step"``, the reverse-mode (adjoint) recursion: one line per
  quantity q, ∂L/∂q = Σ_v ∂L/∂v × ∂⁺v/∂q over the quantities v using q, then
  ∂L/∂W = Σ_v ∂L/∂v × ∂⁺v/∂W summed per time step; each line has a bounded
  size, and a local partial too long to read inline keeps its name and is
  defined once, at a generic step t.

``split="auto"`` (the default) writes the textbook form when it has at most
:data:`MAX_PATHS` path products and every line fits in :data:`MAX_WIDTH`
characters, else the recursion.

>>> from rnnsym.models import elman
>>> d = derive_scalar(elman(2), of="L", wrt="W_h")
>>> d
Derivation(dL/dW_h, split='loss', 4 lines)
>>> d.evaluate({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})
8
>>> derive_scalar(elman(300, "tanh"), "L", "W_h")
Derivation(dL/dW_h, split='step', 902 lines)
"""

from __future__ import annotations

import sympy
from sympy import Expr, S, Symbol

from sympy import Add

from ..cells import now, placeholder
from ..errors import InputError
from ..forms import Gradient, Juxt, Partial, Times, product, substitute, total
from ..partials import partial_form
from ..rules import LOSSES
from ..graph import Graph
from ..printing import Printer, RenderOptions, width
from .core import SPLITS, ChainDerivation
from .lines import Where
from .step import Step

__all__ = ["derive_scalar", "compute", "derivative", "path_form", "signed_product", "simplification", "MAX_PATHS", "MAX_WIDTH", "NAMED_WIDTH"]

#: The textbook (per loss term) form is chosen when it has at most this many path products …
MAX_PATHS = 8
#: … and each of its lines is at most this wide (estimated characters of typeset math).
MAX_WIDTH = 80
#: A local partial wider than this is written by its name in the recursion, and defined once.
NAMED_WIDTH = 24
#: A restated definition is also written with the definitions it uses inlined when that is at most this wide.
RECALL_WIDTH = 60

_PRINTER = Printer(RenderOptions())


def _check_split(split: object) -> str:
    if split not in SPLITS:
        raise InputError("split", split, "one of " + ", ".join(repr(s) for s in SPLITS))
    return split  # type: ignore[return-value]


def derivative(graph: Graph, of: Symbol, wrt: Symbol) -> Expr:
    """The compact derivative d of / d wrt in the graph's symbols (forward accumulation).

    Its size grows with the number of steps between ``wrt`` and ``of``; it is
    built only when asked for (:attr:`ChainDerivation.expr`), to check results.
    """
    tan: dict[Symbol, Expr] = {wrt: S.One}
    for a in graph.assignments[graph.position(wrt) + 1 : graph.position(of) + 1]:
        terms = [a.partial_exprs[d] * tan[d] for d in a.dependencies if d in tan]
        if terms:
            tan[a.target] = sympy.Add(*terms)
    return tan.get(of, S.Zero)


def _path_counts(graph: Graph, source: Symbol, targets: set[Symbol]) -> dict[Symbol, int]:
    """The number of paths from ``source`` to each quantity up to the last of ``targets``
    (counts above :data:`MAX_PATHS` are capped)."""
    counts: dict[Symbol, int] = {source: 1}
    last = max(graph.position(t) for t in targets)
    for a in graph.assignments[graph.position(source) + 1 : last + 1]:
        n = sum(counts.get(d, 0) for d in a.dependencies)
        if n:
            counts[a.target] = min(n, MAX_PATHS + 1)
    return counts


def path_form(graph: Graph, target: Symbol, source: Symbol) -> Expr:
    """∂target/∂source written as a sum over paths of products of local partials.

    Paths through earlier quantities come first, factors run from ``source``
    to ``target``: ∂ŷ_2/∂W_h = h_0 W_h W_y + h_1 W_y.  With more than
    :data:`MAX_PATHS` paths the nested (factored) form is written instead.
    """
    if target == source:
        return S.One
    relevant = set(graph.upstream(target))
    paths: dict[Symbol, list[list[Expr]]] | None = {source: [[]]}
    nested: dict[Symbol, Expr] = {source: S.One}
    for a in graph.assignments[graph.position(source) + 1 : graph.position(target) + 1]:
        if a.target not in relevant:
            continue
        deps = [d for d in a.dependencies if d in nested]
        if not deps:
            continue
        nested[a.target] = total([product([nested[d], a.partials[d]], Juxt) for d in deps])
        if paths is not None:
            found = [p + [a.partials[d]] for d in deps for p in paths[d]]
            paths = None if len(found) > MAX_PATHS else {**paths, a.target: found}
    if target not in nested:
        return S.Zero
    if paths is not None:
        return total([product(p, Juxt) for p in paths[target]])
    return nested[target]


def signed_product(factors: list[Expr]) -> Expr:
    """The product of a chain's ``factors``, each keeping its own sign: a negative
    factor stays a factor (printed in brackets) rather than being merged into one
    sign in front, so that each printed factor is the derivative it is named as.
    Factors equal to 1 are dropped; without a negative factor this is :func:`product`.

    >>> from rnnsym.notation import symbol
    >>> y, h = symbol("y_1"), symbol("h_1")
    >>> signed_product([sympy.Mul(-1, y, evaluate=False), sympy.Mul(-1, h, evaluate=False)])
    Times(-y_1, -h_1)
    """
    if any(f == 0 for f in factors):
        return S.Zero
    kept = [f for f in factors if f != 1]
    if len(kept) < 2 or not any(f.could_extract_minus_sign() and not f.is_Number for f in kept):
        return product(factors)
    return Times(*kept)


class _Builder:
    """What the lines of ∂A/∂B need to know of the graph."""

    def __init__(self, graph: Graph, A: Symbol, B: Symbol) -> None:
        self.graph = graph
        self.A = A
        self.wrt = B
        self.down = graph.downstream(B)

    def through(self, target: Symbol) -> list[Symbol]:
        """Dependencies of ``target`` that are ``wrt`` or depend on it, in written order."""
        a = self.graph.assignment(target)
        return [d for d in a.dependencies if d == self.wrt or d in self.down]

    def is_local(self, target: Symbol, dep: Symbol) -> bool:
        """Whether ∂target/∂dep must be marked as the immediate partial ∂⁺: ``dep``
        also reaches ``target`` through another of its dependencies."""
        others = [d for d in self.graph.assignment(target).dependencies if d != dep]
        return bool(others) and self.graph.reaches(dep, others, before=target)

    def chain(self, target: Symbol) -> Step:
        a = self.graph.assignment(target)
        named, symbolic = [], []
        for dep in self.through(target):
            if dep == self.wrt:
                named.append(Partial(target, dep, self.is_local(target, dep)))
                symbolic.append(a.partials[dep])
            else:
                named.append(Times(Partial(target, dep, self.is_local(target, dep)), Partial(dep, self.wrt)))
                symbolic.append(signed_product([a.partials[dep], path_form(self.graph, dep, self.wrt)]))
        forms = (total(named), total(symbolic))
        if forms[0] == forms[1] or all(isinstance(n, Partial) for n in named) and len(named) == 1:
            forms = forms[1:]
        return Step(Partial(target, self.wrt), forms)

    # -- the textbook form ---------------------------------------------------------------------------
    def per_loss(self) -> tuple[Step, ...]:
        A, B, graph = self.A, self.wrt, self.graph
        if A not in self.down:
            return (Step(Partial(A, B), (S.Zero,)),)
        if graph.assignment(A).role == "total" and B not in graph.assignment(A).dependencies:
            terms = [Partial(t, B) for t in self.through(A)]
            weight = graph.assignment(A).weight
            if weight == 1:
                return (
                    Step(Partial(A, B), (total(terms),), "split"),
                    *[self.chain(t.of) for t in terms],
                    Step(Partial(A, B), (total(terms),), "sum"),
                )
            # a mean over time: ∂L/∂L_t = 1/T, written once at a generic step, then factored out
            mean = Times(weight, total(terms))
            named = total([Times(Partial(A, t.of), t) for t in terms])
            return (
                Step(Partial(A, now("L")), (weight,), "local"),
                Step(Partial(A, B), (named, mean), "split"),
                *[self.chain(t.of) for t in terms],
                Step(Partial(A, B), (mean,), "sum"),
            )
        return (self.chain(A),)

    def small(self) -> bool:
        """Whether the textbook form is short: few path products, every line narrow."""
        A, graph = self.A, self.graph
        if A not in self.down:
            return True
        assignment = graph.assignment(A)
        ends = set(self.through(A)) - {self.wrt} if assignment.role == "total" else {A}
        if not ends:
            return True
        counts = _path_counts(graph, self.wrt, ends)
        if sum(counts.get(t, 0) for t in ends) > MAX_PATHS:
            return False
        return all(width(_PRINTER.doprint(f)) <= MAX_WIDTH for step in self.per_loss() for f in step.forms)

    # -- the reverse-mode recursion ------------------------------------------------------------------
    def per_step(self) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
        """The recursion's lines, and the definitions of the local partials written by name."""
        A, B, graph = self.A, self.wrt, self.graph
        if A not in self.down:
            return (Step(Partial(A, B), (S.Zero,)),), ()
        upstream = set(graph.upstream(A))
        nodes = [q for q in graph.quantities if q in upstream and q in self.down]
        in_nodes = set(nodes) | {B}
        consumers = {q: [v for v in graph.consumers(q) if v in upstream] for q in in_nodes}
        # A node whose only consumer is A, entering it with local partial 1 (L_t in L = Σ L_t),
        # has adjoint 1: its line is skipped and its own partials stand in for it.
        trivial = {q for q in nodes if q != A and consumers[q] == [A] and graph.local_partial(A, q) == 1}
        legend: dict[Expr, Step] = {}

        def local_form(v: Symbol, q: Symbol, mark: bool) -> Expr:
            form = graph.local_partial(v, q)
            if width(_PRINTER.doprint(form)) <= NAMED_WIDTH:
                return form
            name = Partial(v, q, mark)
            generic = graph.generic(graph.assignment(v).step or 0)
            key = substitute(name, generic)
            legend.setdefault(key, Step(key, (substitute(form, generic),), "local"))
            return name

        def terms(q: Symbol, final: bool) -> tuple[list[Expr], list[Expr], list[int | None]]:
            named, symbolic, when = [], [], []
            for v in consumers[q]:
                mark = final or self.is_local(v, q)
                local = local_form(v, q, mark)
                if v == A or v in trivial:
                    named.append(Partial(v, q, mark))
                    symbolic.append(local)
                else:
                    named.append(Times(Partial(A, v), Partial(v, q, mark)))
                    symbolic.append(signed_product([Partial(A, v), local]))
                when.append(graph.assignment(v).step)
            return named, symbolic, when

        steps = []
        for q in reversed(nodes):
            if q == A or q in trivial:
                continue
            named, symbolic, _ = terms(q, final=False)
            forms = (total(named), total(symbolic))
            forms = forms if forms[0] != forms[1] and forms[0] != Partial(A, q) else forms[1:]
            steps.append(Step(Partial(A, q), forms))
        named, symbolic, when = terms(B, final=True)
        final = (total(named), total(symbolic))
        steps.append(Step(Partial(A, B), final if final[0] != final[1] else final[1:]))
        by_step: dict[int | None, list[Expr]] = {}
        for term, t in zip(symbolic, when):
            by_step.setdefault(t, []).append(term)
        if len(by_step) > 1:
            steps.append(Step(Partial(A, B), (total([total(g) for g in by_step.values()]),), "sum"))
        return tuple(steps), tuple(legend.values())


def _recall(graph: Graph, of: Symbol, wrt: Symbol) -> tuple[Step, ...]:
    """The definitions a derivation runs through, each restated once (inlining the ones it uses)."""
    upstream, down = set(graph.upstream(of)), graph.downstream(wrt)
    nodes = [q for q in graph.quantities if q in upstream and q in down]
    in_nodes = set(nodes)
    covered: set[Symbol] = set()
    shown = []
    for q in reversed(nodes):
        if q in covered:
            continue
        a = graph.assignment(q)
        inline = {d: graph.assignment(d).form for d in a.dependencies if d in in_nodes}
        inlined = substitute(a.form, inline) if inline else None
        if inlined is not None and width(_PRINTER.doprint(inlined)) <= RECALL_WIDTH:
            covered.update(inline)
            forms = (a.form, inlined)
        else:
            forms = (a.form,)
        shown.append(Step(q, forms, "recall"))
    found = _logits(graph)
    paired = found is not None and any(graph.assignment(q).template is not None
                                       and graph.assignment(q).template.base.partition("[")[0] == found[0]
                                       and q != of for q in nodes)
    return tuple(reversed(shown)) + (simplification(graph) if paired else ())


def _logits(graph: Graph) -> tuple[str, str] | None:
    """(the readout base before the loss's own output, the output's kind), when the
    cell's loss brings a softmax or sigmoid with it (cross-entropy, binary cross-entropy)."""
    loss = LOSSES.get(graph.cell.options.get("loss", ""))
    if loss is None or loss.simplified is None:
        return None
    for e in graph.cell.equations:
        if e.role == "output":
            for s in e.partials:
                ph = placeholder(s)
                if ph is not None and ph[0] != e.base:
                    return ph[0].partition("[")[0], loss.output
    return None


def simplification(graph: Graph) -> tuple[Step, ...]:
    """The textbook simplification of a loss paired with its output, at a generic step t:
    ∂L_t/∂o_t = ∂L_t/∂ŷ_t × ∂ŷ_t/∂o_t = ŷ_t − y_t for binary cross-entropy after a
    sigmoid, and ∂L_t/∂o_{t,k} = Σ_j ∂L_t/∂ŷ_{t,j} × ∂ŷ_{t,j}/∂o_{t,k} = ŷ_{t,k} Σ_j y_{t,j} − y_{t,k}
    = ŷ_{t,k} − y_{t,k} for cross-entropy after a softmax (targets summing to 1), each
    also in matrix form, ∇_{o_t} L_t = ŷ_t − y_t (Goodfellow et al., 2016, §6.2.2).
    None for other losses.

    >>> from rnnsym.models import elman
    >>> for step in simplification(elman(2, loss="binary_cross_entropy")):
    ...     print(step)
    Step(recall: ∂L__now/∂o__now = ∂L__now/∂yhat__now × ∂yhat__now/∂o__now = (-y__now × 1/yhat__now + (1 - y__now) × 1/(1 - yhat__now)) × yhat__now (1 - yhat__now) = yhat__now - y__now)
    """
    found = _logits(graph)
    if found is None:
        return ()
    base, kind = found
    loss = LOSSES[graph.cell.options["loss"]]
    k = graph.cell.sizes.get("y", 1) if graph.cell.sizes else 1
    L = now("L")
    if kind == "sigmoid":
        unit = (lambda name: now(name)) if k == 1 else (lambda name: now(f"{name}[k]"))
        yhat, y, o = unit("yhat"), unit("y"), unit(base)
        named = Times(Partial(L, yhat), Partial(yhat, o))
        written = signed_product([partial_form(loss.form(yhat, y), yhat), Juxt(yhat, Add(1, -yhat, evaluate=False))])
        steps = [Step(Partial(L, o), (named, written, loss.simplified(yhat, y)), "recall")]
        if k > 1:
            steps.append(Step(Gradient(L, now(base)), (loss.simplified(now("yhat"), now("y")),), "recall"))
        return tuple(steps)
    j = Symbol("j", integer=True)
    yhat_j, y_j, o_k = now("yhat[j]"), now("y[j]"), now(f"{base}[k]")
    yhat_k, y_k = now("yhat[k]"), now("y[k]")
    targets = sympy.Sum(y_j, (j, 1, k))
    one_hot = sympy.Eq(targets, 1, evaluate=False)
    return (
        Step(Partial(L, o_k), (sympy.Sum(Times(Partial(L, yhat_j), Partial(yhat_j, o_k)), (j, 1, k)),
                               Add(Juxt(yhat_k, targets), -y_k, evaluate=False),
                               Where(loss.simplified(yhat_k, y_k), one_hot)), "recall"),
        Step(Gradient(L, now(base)), (Where(loss.simplified(now("yhat"), now("y")), one_hot),), "recall"),
    )


def derive_scalar(graph: Graph, of: str = "L", wrt: str = "W_h", split: str = "auto") -> ChainDerivation:
    """Derive ∂of/∂wrt over ``graph`` for scalar ``of`` and ``wrt``, written as ``split``
    (``"auto"``, ``"loss"`` or ``"step"``; see the module docstring).

    Returns at once; lines, context and the compact expression are built when
    first asked for.

    >>> from rnnsym.models import elman
    >>> for step in derive_scalar(elman(2), "L", "h_1").steps:
    ...     print(step)
    Step(split: ∂L/∂h_1 = ∂L_1/∂h_1 + ∂L_2/∂h_1)
    Step(chain: ∂L_1/∂h_1 = ∂L_1/∂yhat_1 × ∂yhat_1/∂h_1 = 2 × (yhat_1 - y_1) × W_y)
    Step(chain: ∂L_2/∂h_1 = ∂L_2/∂yhat_2 × ∂yhat_2/∂h_1 = 2 × (yhat_2 - y_2) × W_h W_y)
    Step(sum: ∂L/∂h_1 = ∂L_1/∂h_1 + ∂L_2/∂h_1)
    """
    split = _check_split(split)
    A = graph.symbol(of, "of")
    B = graph.symbol(wrt, "wrt")
    if graph.is_leaf(A):
        raise InputError("of", of, "a computed quantity, not a leaf (one of " + ", ".join(map(str, graph.quantities)) + ")")
    if not graph.is_leaf(B) and graph.position(B) >= graph.position(A):
        raise InputError("wrt", wrt, f"a leaf or a quantity computed before {of}")
    builder = _Builder(graph, A, B)

    def written() -> tuple[tuple[Step, ...], tuple[Step, ...], str]:
        chosen = split if split != "auto" else "loss" if builder.small() else "step"
        steps, legend = (builder.per_loss(), ()) if chosen == "loss" else builder.per_step()
        return steps, legend, chosen

    return ChainDerivation(graph, A, B, written, lambda: derivative(graph, A, B), split, lambda: _recall(graph, A, B))


def compute(graph: Graph, of: str) -> ChainDerivation:
    """The forward computation of quantity ``of``: each quantity it needs, in order.

    >>> from rnnsym.models import elman
    >>> [str(s.lhs) for s in compute(elman(2), "yhat_2").steps]
    ['h_1', 'h_2', 'yhat_2']
    """
    if isinstance(of, str) and of.replace(" ", "") not in graph.names and of.replace(" ", "") in graph.tensors:
        components = list(graph.tensor(of, "find"))
        needed = {q for c in components if not graph.is_leaf(c) for q in graph.upstream(c)}
        steps = tuple(Step(q, (graph.assignment(q).form,), "definition") for q in graph.quantities if q in needed)
        steps += tuple(Step(c, (), "definition") for c in components if graph.is_leaf(c))
        return ChainDerivation(graph, components[0], None, steps, sympy.Matrix(components))
    A = graph.symbol(of, "find")
    if graph.is_leaf(A):
        return ChainDerivation(graph, A, None, (Step(A, (), "definition"),), A)
    steps = tuple(Step(q, (graph.assignment(q).form,), "definition") for q in graph.upstream(A))
    return ChainDerivation(graph, A, None, steps, A)
