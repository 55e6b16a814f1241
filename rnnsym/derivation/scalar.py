"""Scalar derivatives through time, built from local partials and the chain rule.

:func:`derive_scalar` answers ∂A/∂B for a quantity A and a leaf or earlier
quantity B of a :class:`~rnnsym.graph.Graph`.  ∂A/∂B is the derivative along
every path from B to A, B treated as free (docs/architecture.md, "What ∂A/∂B
means").  Nothing here differentiates an expanded expression: each assignment
contributes its local partials and the paths are accumulated over the graph.

>>> from rnnsym.graph import elman
>>> d = derive_scalar(elman(2), of="L", wrt="W_h")
>>> d
Derivation(dL/dW_h, split='loss', 4 lines)
>>> d.evaluate({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": "0.1", "W_y": 2})
8
"""

from __future__ import annotations

import sympy
from sympy import Expr, S, Symbol

from ..errors import InputError
from ..forms import Juxt, Partial, Times, product, substitute, total
from ..graph import Graph
from .core import SPLITS, ChainDerivation, Step

__all__ = ["derive_scalar", "compute", "derivative", "path_form", "MAX_PATHS"]

#: Above this many paths a path sum is written in nested (factored) form.
MAX_PATHS = 8


def _check_split(split: object) -> str:
    if split not in SPLITS:
        raise InputError("split", split, "one of " + ", ".join(repr(s) for s in SPLITS))
    return split  # type: ignore[return-value]


def derivative(graph: Graph, of: Symbol, wrt: Symbol) -> Expr:
    """The compact derivative d of / d wrt in the graph's symbols (forward accumulation)."""
    tan: dict[Symbol, Expr] = {wrt: S.One}
    for a in graph.assignments[graph.position(wrt) + 1 : graph.position(of) + 1]:
        terms = [a.partial_exprs[d] * tan[d] for d in a.dependencies if d in tan]
        if terms:
            tan[a.target] = sympy.Add(*terms)
    return tan.get(of, S.Zero)


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


class _Builder:
    def __init__(self, graph: Graph, wrt: Symbol) -> None:
        self.graph = graph
        self.wrt = wrt
        self.down = graph.downstream(wrt)

    def through(self, target: Symbol) -> list[Symbol]:
        """Dependencies of ``target`` that are ``wrt`` or depend on it, in written order."""
        a = self.graph.assignment(target)
        return [d for d in a.dependencies if d == self.wrt or d in self.down]

    def is_local(self, target: Symbol, dep: Symbol) -> bool:
        """Whether ∂target/∂dep must be marked as the immediate partial."""
        others = self.graph.downstream(dep)
        return any(d in others for d in self.graph.assignment(target).dependencies)

    def chain(self, target: Symbol) -> Step:
        a = self.graph.assignment(target)
        named, symbolic = [], []
        for dep in self.through(target):
            if dep == self.wrt:
                named.append(Partial(target, dep, self.is_local(target, dep)))
                symbolic.append(a.partials[dep])
            else:
                named.append(Times(Partial(target, dep, self.is_local(target, dep)), Partial(dep, self.wrt)))
                symbolic.append(product([a.partials[dep], path_form(self.graph, dep, self.wrt)]))
        forms = (total(named), total(symbolic))
        if forms[0] == forms[1] or all(isinstance(n, Partial) for n in named) and len(named) == 1:
            forms = forms[1:]
        return Step(Partial(target, self.wrt), forms)


def _recall(graph: Graph, of: Symbol, wrt: Symbol) -> tuple[Step, ...]:
    nodes = [q for q in graph.upstream(of) if q in graph.downstream(wrt)]
    covered: set[Symbol] = set()
    shown = []
    for q in reversed(nodes):
        if q in covered:
            continue
        a = graph.assignment(q)
        inline = {d: graph.assignment(d).form for d in a.dependencies if d in nodes}
        covered.update(inline)
        forms = (a.form, substitute(a.form, inline)) if inline else (a.form,)
        shown.append(Step(q, forms, "recall"))
    return tuple(reversed(shown))


def derive_scalar(graph: Graph, of: str = "L", wrt: str = "W_h", split: str = "auto") -> ChainDerivation:
    """Derive ∂of/∂wrt over ``graph`` for scalar ``of`` and ``wrt``, written as ``split``.

    ``split="loss"`` writes the derivative of the total loss as a sum per loss
    term (∂L/∂W_h = ∂L_1/∂W_h + ∂L_2/∂W_h), each by the chain rule;
    ``split="step"`` writes the reverse-mode recursion of ∂L/∂h_t and sums the
    contributions per time step; ``"auto"`` chooses.

    >>> from rnnsym.graph import elman
    >>> for step in derive_scalar(elman(2), "L", "h_1").steps:
    ...     print(step)
    Step(split: ∂L/∂h_1 = ∂L_1/∂h_1 + ∂L_2/∂h_1)
    Step(chain: ∂L_1/∂h_1 = ∂L_1/∂yhat_1 × ∂yhat_1/∂h_1 = 2 × (yhat_1 - y_1) × W_y)
    Step(chain: ∂L_2/∂h_1 = ∂L_2/∂yhat_2 × ∂yhat_2/∂h_1 = 2 × (yhat_2 - y_2) × W_h W_y)
    Step(sum: ∂L/∂h_1 = ∂L_1/∂h_1 + ∂L_2/∂h_1)
    """
    split = _check_split(split)
    if split == "auto":
        split = "loss"
    A = graph.symbol(of, "of")
    B = graph.symbol(wrt, "wrt")
    if graph.is_leaf(A):
        raise InputError("of", of, "a computed quantity, not a leaf (one of " + ", ".join(map(str, graph.quantities)) + ")")
    if not graph.is_leaf(B) and graph.position(B) >= graph.position(A):
        raise InputError("wrt", wrt, f"a leaf or a quantity computed before {of}")
    builder = _Builder(graph, B)
    expr = derivative(graph, A, B)
    context = _recall(graph, A, B)
    if A not in builder.down:
        steps = (Step(Partial(A, B), (S.Zero,)),)
    elif split == "step":
        steps = _adjoint_steps(graph, A, B, builder)
    elif graph.assignment(A).role == "total" and B not in graph.assignment(A).dependencies:
        terms = [Partial(t, B) for t in builder.through(A)]
        steps = (
            Step(Partial(A, B), (total(terms),), "split"),
            *[builder.chain(t.of) for t in terms],
            Step(Partial(A, B), (total(terms),), "sum"),
        )
    else:
        steps = (builder.chain(A),)
    return ChainDerivation(graph, A, B, tuple(steps), expr, split, context)


def _adjoint_steps(graph: Graph, A: Symbol, B: Symbol, builder: _Builder) -> tuple[Step, ...]:
    nodes = [q for q in graph.upstream(A) if q in builder.down]
    consumers: dict[Symbol, list[Symbol]] = {q: [] for q in nodes + [B]}
    for q in nodes:
        for d in graph.assignment(q).dependencies:
            if d in consumers:
                consumers[d].append(q)
    # A node whose only consumer is A, entering it with local partial 1 (L_t in L = Σ L_t),
    # has adjoint 1: its line is skipped and its own partials stand in for it.
    trivial = {q for q in nodes if q != A and consumers[q] == [A] and graph.local_partial(A, q) == 1}

    def terms(q: Symbol, final: bool) -> tuple[list[Expr], list[Expr], list[int | None]]:
        named, symbolic, when = [], [], []
        for v in consumers[q]:
            local = graph.local_partial(v, q)
            if v == A or v in trivial:
                named.append(Partial(v, q, final or builder.is_local(v, q)))
                symbolic.append(local)
            else:
                named.append(Times(Partial(A, v), Partial(v, q, final or builder.is_local(v, q))))
                symbolic.append(product([Partial(A, v), local]))
            when.append(graph.assignment(v).step)
        return named, symbolic, when

    steps = []
    for q in reversed(nodes):
        if q == A or q in trivial:
            continue
        named, symbolic, _ = terms(q, final=False)
        forms = (total(named), total(symbolic))
        steps.append(Step(Partial(A, q), forms if forms[0] != forms[1] else forms[1:]))
    named, symbolic, when = terms(B, final=True)
    steps.append(Step(Partial(A, B), (total(named), total(symbolic))))
    by_step: dict[int | None, list[Expr]] = {}
    for term, t in zip(symbolic, when):
        by_step.setdefault(t, []).append(term)
    if len(by_step) > 1:
        steps.append(Step(Partial(A, B), (total([total(g) for g in by_step.values()]),), "sum"))
    return tuple(steps)


def compute(graph: Graph, of: str) -> ChainDerivation:
    """The forward computation of quantity ``of``: each quantity it needs, in order.

    >>> from rnnsym.graph import elman
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
