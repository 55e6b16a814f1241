"""The JAX backend: the plan as two ``jax.lax.scan``\\ s, jit-compiled in float64.

The forward pass is one step of the recursion scanned over t = 1..T with the
states as the carry; the backward pass is one step of the adjoint recursion
scanned with ``reverse=True``, the carry holding ∂L/∂(state at t − 1) from the
step after.  Neither is unrolled, so tracing and XLA compilation take the same
time at T = 100 and T = 1,000.  The code is printed by sympy's ``JaxPrinter``
(the printer behind ``sympy.lambdify(..., "jax")``) with rnnsym's activations.

Float64 without touching the user's configuration: the function is traced,
compiled and called inside ``jax.enable_x64(True)``, a context manager that
sets JAX's x64 flag for the enclosed code only (``jax.experimental.enable_x64()``
on versions without it); ``jax.jit`` caches one compilation per input shape
(batch size) and per x64 setting.  JAX is imported when a function is
compiled, never at ``import rnnsym``.
"""

from __future__ import annotations

import builtins

from sympy.printing.numpy import JaxPrinter

from ..errors import InputError
from .codegen import Functions, Plan, assign, loss_lines

__all__ = ["JaxCode", "scan_code", "build"]

_J = "jax.numpy"


class JaxCode(Functions, JaxPrinter):
    """sympy's JAX printer, with rnnsym's activations and an elementwise maximum.

    >>> from rnnsym.rules import relu
    >>> from sympy import Symbol, tanh
    >>> JaxCode().doprint(relu(tanh(Symbol("a"))))
    'jax.numpy.maximum(jax.numpy.tanh(a), 0.0)'
    """

    SPELLING = {
        "sigmoid": f"(1/(1 + {_J}.exp(-({{x}}))))",
        "relu": f"{_J}.maximum({{x}}, 0.0)",
        "log_sigmoid": "jax.nn.log_sigmoid({x})",
        "heaviside": f"{_J}.heaviside({{x}}, {{at_zero}})",
        "maximum": f"{_J}.maximum({{a}}, {{b}})",
    }

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True})


def _tuple(names) -> str:
    names = list(names)
    return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"


def _check_names(p: Plan, idents: set[str]) -> None:
    """Refuse a cell whose names meet the per-step names of the scans (``h_t``, ``h_prev``)."""
    own = {f"{q}_t" for q in p.quantities + p.sequences} | {f"{b}_prev" for b in p.state0}
    clash = sorted(own & idents)
    if clash:
        raise InputError("cell", ", ".join(clash), "names other than a quantity's name followed by _t or _prev "
                         "(the JAX code's names for a step's values)")


def scan_code(p: Plan, printer=None) -> str:
    """The source of ``p`` as a forward and a reverse ``jax.lax.scan`` (printing it needs no JAX).

    >>> import rnnsym
    >>> from rnnsym.compiled.codegen import plan
    >>> from rnnsym.compiled.layout import layout_of
    >>> graph = rnnsym.elman(3, activation="tanh")
    >>> source = scan_code(plan(graph, ("W_h",), layout_of(graph), "W_h, W_x, W_y, h_0, x, y"))
    >>> for line in source.splitlines()[7:14]:
    ...     print(line)
        def forward(carry, row):
            (h_prev,) = carry
            (x_t, y_t) = row
            z_t = W_h*h_prev + W_x*x_t
            h_t = jax.numpy.tanh(z_t)
            yhat_t = W_y*h_t
            return (h_t,), (z_t, h_t, yhat_t)
    """
    printer = printer or JaxCode()
    step = {"[t-1]": "_prev", "[t]": "_t"}
    states, quantities, deltas = list(p.state0), p.quantities, p.deltas
    L = [f"def loss_and_gradients({p.header}):",
         f'    """L and ∂L/∂w for w in {", ".join(p.wrt)}; every array has the batch as its last axis."""',
         f"    T = {p.T}", f"    B = {p.sequences[0]}.shape[1]", f"    zero = {_J}.zeros((1, B))", "",
         "    # forward pass: step t of the recursion, scanned over t = 1..T with the states as the carry",
         "    def forward(carry, row):",
         f"        {_tuple(b + '_prev' for b in states)} = carry",
         f"        {_tuple(s + '_t' for s in p.sequences)} = row"]
    for group in p.forward:
        assign(printer, L, [f"{q}_t" for q, _ in group], [e for _, e in group], "=", " " * 8, step)
    L.append(f"        return {_tuple(b + '_t' for b in states)}, {_tuple(q + '_t' for q in quantities)}")
    L.append(f"    _, {_tuple(quantities)} = jax.lax.scan(forward, {_tuple(p.state0.values())}, "
             f"{_tuple(s + '[1:]' for s in p.sequences)})")
    L.append("    # the value of each quantity at each step (row t; row 0 holds the initial state)")
    for q in quantities:
        L.append(f"    {q} = {_J}.concatenate([{p.state0[q] + '[None]' if q in p.state0 else 'zero'}, {q}])")
    steps = "slice(1, T + 1)" if p.every_step else f"{_J}.array({p.loss_steps!r})"
    loss_lines(printer, L, p, steps, f"{_J}.sum({{}}, axis=0)")
    L += ["", "    # backward pass: delta_q[t] is ∂L/∂q_t (q_t free), accumulated from the quantities that use q_t"]
    seeded = [q for q in deltas if any(q == target for _, contributions in p.seeds for target, _ in contributions)]
    L += [f"    delta_{q} = {_J}.zeros((T + 1, B))" for q in seeded]
    for base, contributions in p.seeds:
        L.append(f"    # ∂L/∂{base}_t = {printer.doprint(p.weight)} at the steps with a loss")
        assign(printer, L, [f"delta_{q}" for q, _ in contributions], [e for _, e in contributions], "=", " " * 4,
               {"[t]": "[S]"}, [f"delta_{q}.at[S].add({{}})" for q, _ in contributions])
    grads = [g for g, _ in p.gradients]
    L += ["    # step t of the adjoint recursion, scanned over t = T..1; the carry is ∂L/∂(state at t) from step t + 1",
          "    # and each parameter's gradient so far, the sum over the steps after t of ∂⁺q_t/∂w × delta_q[t]",
          "    def backward(carry, row):",
          f"        {_tuple(f'delta_{b}_later' for b in states)}, {_tuple(grads)} = carry",
          f"        {_tuple(q + '_t' for q in quantities)}, {_tuple(b + '_prev' for b in states)}, "
          f"{_tuple(s + '_t' for s in p.sequences)}, {_tuple(f'delta_{q}_t' for q in seeded)} = row"]
    L += [f"        delta_{q}_t = {_J}.zeros(B)" for q in deltas if q not in seeded]
    for b in states:
        L.append(f"        delta_{b}_t += delta_{b}_later")
        L.append(f"        delta_{b}_prev = {_J}.zeros(B)")
    for group in p.backward:
        assign(printer, L, [f"delta_{q}_{'prev' if o == -1 else 't'}" for q, o, _ in group], [e for *_, e in group],
               "+=", " " * 8, step)
    assign(printer, L, grads, [e for _, e in p.gradients], "+=", " " * 8, step)
    L.append(f"        return ({_tuple(f'delta_{b}_prev' for b in states)}, {_tuple(grads)}), None")
    L.append(f"    ({_tuple(f'delta_{b}_prev' for b in states)}, {_tuple(grads)}), _ = jax.lax.scan(")
    L.append(f"        backward, ({_tuple(f'{_J}.zeros(B)' for _ in states)}, {_tuple(f'{_J}.zeros(B)' for _ in grads)}), "
             f"({_tuple(q + '[1:]' for q in quantities)}, {_tuple(b + '[:-1]' for b in states)}, "
             f"{_tuple(s + '[1:]' for s in p.sequences)}, {_tuple(f'delta_{q}[1:]' for q in seeded)}), reverse=True)")
    L.append("")
    results = [f"{ident!r}: " + (f"delta_{p.state_of(ident)}_prev" if g is None else g) for ident, g in p.results]
    L.append("    return L, {" + ", ".join(results) + "}")
    return "\n".join(L) + "\n"


def x64(jax):
    """A context manager enabling float64 in JAX for the code it encloses, ``jax.enable_x64(True)``
    (``jax.experimental.enable_x64()`` on versions before it); the setting outside is untouched.

    >>> import pytest
    >>> jax = pytest.importorskip("jax")
    >>> before = jax.config.jax_enable_x64
    >>> with x64(jax):
    ...     print(jax.numpy.zeros(1).dtype)
    float64
    >>> jax.config.jax_enable_x64 == before
    True
    """
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # JAX before the top-level context manager

    return enable_x64()


def build(p: Plan, name: str) -> tuple[str, object]:
    """The source of ``p`` for JAX and a function of numpy arguments that runs it, jit-compiled
    in float64 (once per input shape), and returns numpy results; the generated function is
    its attribute ``function``, the jitted one ``jitted``.  Imports jax.

    Raises :class:`~rnnsym.errors.InputError` (field ``cell``) for a cell whose names meet
    the scans' own (a quantity ``h`` and a parameter ``h_t``).

    >>> import pytest, rnnsym
    >>> jax = pytest.importorskip("jax")
    >>> f = rnnsym.compile(rnnsym.elman(2), backend="jax")
    >>> f({"h_0": 1, "x": [10, 10], "y": [5, 5], "W_h": 1, "W_x": 0.1, "W_y": 2})[0]
    2.0
    """
    _check_names(p, p.idents)
    import jax
    import jax.nn  # noqa: F401  (the code calls jax.numpy.* and jax.nn.*)
    import jax.numpy  # noqa: F401
    import numpy

    source = scan_code(p)
    namespace: dict[str, object] = {"jax": jax}
    exec(builtins.compile(source, name, "exec"), namespace)  # code printed from sympy forms, no user text
    function = namespace["loss_and_gradients"]
    jitted = jax.jit(function)

    def run(**args):
        with x64(jax):
            loss, grads = jitted(**args)
            return numpy.asarray(loss), {k: numpy.asarray(g) for k, g in grads.items()}

    run.function, run.jitted = function, jitted
    return source, run
