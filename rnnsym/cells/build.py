"""Building cells: the Elman, GRU and LSTM cells, and your own recurrence.

A cell is a list of template equations over placeholders — ``prev("h")`` for
h_{t−1}, ``now("x")`` for x_t, ``now("z")`` for a quantity computed earlier in
the same step — and named parameters.  :func:`define_cell` builds one from
sympy expressions or formulas; the built-in Elman, GRU and LSTM cells are
defined the same way.  Vector quantities are written component by component:
``now("h[2]")`` is h_t[2] and ``W_h[1,2]`` multiplies h_{t−1}[2] into h_t[1].

>>> import sympy
>>> from rnnsym.notation import symbol
>>> a = symbol("a")
>>> cell = define_cell([("h", sympy.tanh(a * prev("h") + now("x")))], output=[("yhat", now("h"))])
>>> cell
Cell(custom: h, yhat; loss=squared)
>>> cell.parameters
('a',)
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

import sympy
from sympy import Add, Expr, Symbol

from ..errors import InputError, InputTypeError
from ..forms import Juxt, Times, symbols_in_order, total
from ..formula import parse_template
from ..limits import MAX_SIZE, check_at_most
from ..notation import NAME_PATTERN, split_name, symbol
from ..numbers import parse_number
from ..rules import ACTIVATIONS, LOSSES, sigmoid
from .cell import Cell, Equation, now, placeholder, prev

__all__ = ["define_cell", "elman_cell", "gru_cell", "lstm_cell", "CELLS"]


# --- building blocks -----------------------------------------------------------------------------


def _vector(base: str, n: int, which=now, indexed: bool = False) -> list[Symbol]:
    if n == 1 and not indexed:
        return [which(base)]
    return [which(f"{base}[{i}]") for i in range(1, n + 1)]


def _matrix(name: str, rows: int, cols: int, indexed: bool = False) -> list[list[Symbol]]:
    if rows == cols == 1 and not indexed:
        return [[symbol(name)]]
    return [[symbol(f"{name}[{i},{j}]") for j in range(1, cols + 1)] for i in range(1, rows + 1)]


def _bias(name: str, n: int, indexed: bool = False) -> list[Symbol]:
    if n == 1 and not indexed:
        return [symbol(name)]
    return [symbol(f"{name}[{i}]") for i in range(1, n + 1)]


def _affine(terms: Sequence[tuple[list[list[Symbol]], list[Expr]]], bias: list[Symbol] | None) -> list[Expr]:
    """Rows of Σ W v (+ b), written ``v × W`` for scalars as the textbook does."""
    rows = len(terms[0][0])
    out = []
    for i in range(rows):
        parts: list[Expr] = []
        for W, v in terms:
            if len(W) == 1 and len(W[0]) == 1 and len(v) == 1:
                parts.append(Times(v[0], W[0][0]))
            else:
                parts += [Juxt(W[i][j], v[j]) for j in range(len(v))]
        if bias is not None:
            parts.append(bias[i])
        out.append(total(parts))
    return out


def _names(*groups) -> tuple[str, ...]:
    out = []
    for g in groups:
        for row in g:
            for s in row if isinstance(row, list) else [row]:
                out.append(s.name)
    return tuple(out)


def _choice(field_: str, value: object, options: Mapping[str, object]) -> str:
    if not isinstance(value, str) or value not in options:
        raise InputError(field_, value, "one of " + ", ".join(repr(k) for k in options))
    return value


def _size(field_: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(field_, value, "an integer >= 1")
    check_at_most(field_, value, MAX_SIZE, "entries")
    return value


def _check_bool(field_: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InputTypeError(field_, value, "true or false")
    return value


def _loss_equations(loss: str, outputs: list[Symbol], targets: list[Symbol], logits: list[Symbol] | None) -> list[Equation]:
    pieces = [LOSSES[loss].form(o, y) for o, y in zip(outputs, targets)]
    return [Equation("L", total(pieces), "loss")]


def _outputs(
    readout: list[Expr], k: int, output_activation: str, loss: str, indexed: bool, logits: str = "o"
) -> tuple[list[Equation], list[Symbol], list[Symbol] | None]:
    """Equations for ŷ_t (through the readout ``logits``, o_t, before an activation, softmax or σ)."""
    yhat = _vector("yhat", k, indexed=indexed)
    names = [placeholder(s)[0] for s in yhat]
    if LOSSES[loss].output == "softmax":
        o = _vector(logits, k, indexed=indexed)
        onames = [placeholder(s)[0] for s in o]
        eqs = [Equation(n, r) for n, r in zip(onames, readout)]
        denominator = Add(*[sympy.exp(s) for s in o], evaluate=False)
        for j, name in enumerate(names):
            given = {o[i]: (Juxt(yhat[j], Add(1, -yhat[j], evaluate=False)) if i == j
                            else sympy.Mul(-1, Juxt(yhat[j], yhat[i]), evaluate=False)) for i in range(k)}
            eqs.append(Equation(name, sympy.exp(o[j]) / denominator, "output", given))
        return eqs, yhat, o
    if LOSSES[loss].output == "sigmoid":
        output_activation = "sigmoid"  # binary cross-entropy: ŷ_t = σ(o_t), each output on its own
    if output_activation == "identity":
        return [Equation(n, r, "output") for n, r in zip(names, readout)], yhat, None
    o = _vector(logits, k, indexed=indexed)
    onames = [placeholder(s)[0] for s in o]
    eqs = [Equation(n, r) for n, r in zip(onames, readout)]
    eqs += [Equation(n, ACTIVATIONS[output_activation].apply(s), "output") for n, s in zip(names, o)]
    return eqs, yhat, o


def _readout(h: list[Symbol], k: int, bias: bool, loss: str, output_activation: str,
             logits: str = "o") -> tuple[list[Equation], tuple[str, ...]]:
    """The output and loss equations of a gated cell, ŷ_t = W_y h_t [+ b_y], and their parameters."""
    W_y, b_y = _matrix("W_y", k, len(h)), _bias("b_y", k)
    outputs, yhat, logits = _outputs(_affine([(W_y, h)], b_y if bias else None), k, output_activation, loss, False,
                                     logits)
    equations = outputs + _loss_equations(loss, yhat, _vector("y", k), logits)
    return equations, _names(W_y) + (_names(b_y) if bias else ())


def _common(loss, output_activation, bias, n, m, k):
    _choice("model.loss", loss, LOSSES)
    _choice("model.output_activation", output_activation, ACTIVATIONS)
    _check_bool("model.bias", bias)
    sizes = _size("model.hidden", n), _size("model.input", m), _size("model.output", k)
    return LOSSES[loss].check(output_activation, sizes[2]) or sizes


def elman_cell(
    activation: str = "identity",
    bias: bool = False,
    loss: str = "squared",
    output_activation: str = "identity",
    hidden: int = 1,
    input: int = 1,
    output: int = 1,
) -> Cell:
    """The Elman cell.

    z_t = W_h h_{t−1} + W_x x_t [+ b_h] and h_t = act(z_t) (no z_t for the
    identity), ŷ_t = W_y h_t [+ b_y] (through ``output_activation`` via o_t,
    softmax with ``loss="cross_entropy"``, σ with ``"binary_cross_entropy"``),
    L_t by ``loss``.  Scalars are written h_{t−1} × W_h as in the reference exercise.

    >>> elman_cell("tanh", hidden=2)
    Cell(elman: z, h, yhat; loss=squared)
    """
    _choice("model.activation", activation, ACTIVATIONS)
    n, m, k = _common(loss, output_activation, bias, hidden, input, output)
    W_h, W_x, W_y = _matrix("W_h", n, n), _matrix("W_x", n, m), _matrix("W_y", k, n)
    b_h, b_y = _bias("b_h", n), _bias("b_y", k)
    h_prev, x, h = _vector("h", n, prev), _vector("x", m), _vector("h", n)
    pre = _affine([(W_h, h_prev), (W_x, x)], b_h if bias else None)
    equations: list[Equation] = []
    names = [placeholder(s)[0] for s in h]
    if activation == "identity":
        equations += [Equation(name, form, "state") for name, form in zip(names, pre)]
    else:
        z = _vector("z", n)
        equations += [Equation(placeholder(s)[0], form) for s, form in zip(z, pre)]
        equations += [Equation(name, ACTIVATIONS[activation].apply(s), "state") for name, s in zip(names, z)]
    readout = _affine([(W_y, h)], b_y if bias else None)
    out_eqs, yhat, logits = _outputs(readout, k, output_activation, loss, False)
    equations += out_eqs
    equations += _loss_equations(loss, yhat, _vector("y", k), logits)
    parameters = _names(W_h, W_x, W_y) + (_names(b_h, b_y) if bias else ())
    options = {"activation": activation, "bias": bias, "loss": loss, "output_activation": output_activation,
               "hidden": n, "input": m, "output": k}
    return Cell("elman", tuple(equations), parameters=parameters, sizes={"h": n, "x": m, "y": k}, options=options)


def gru_cell(
    reset: str = "before",
    bias: bool = True,
    loss: str = "squared",
    output_activation: str = "identity",
    hidden: int = 1,
    input: int = 1,
    output: int = 1,
    hidden_bias: bool = False,
) -> Cell:
    """The GRU of Cho et al. (2014), gates in the order r, z, h̃:

    - r_t = σ(W_xr x_t + W_hr h_{t−1} + b_r)  (reset gate)
    - z_t = σ(W_xz x_t + W_hz h_{t−1} + b_z)  (update gate)
    - h̃_t = tanh(W_xh x_t + W_hh (r_t ⊙ h_{t−1}) + b_h)  with ``reset="before"``,
      or tanh(W_xh x_t + r_t ⊙ (W_hh h_{t−1}) + b_h) with ``reset="after"``;
    - h_t = z_t ⊙ h_{t−1} + (1 − z_t) ⊙ h̃_t;  ŷ_t = W_y h_t [+ b_y].

    ``hidden_bias=True`` (with ``reset="after"`` and ``bias=True``) adds the
    hidden-side candidate bias b_hn inside the reset product,
    h̃_t = tanh(W_xh x_t + b_h + r_t ⊙ (W_hh h_{t−1} + b_hn)): this is
    ``torch.nn.GRUCell`` (https://pytorch.org/docs/stable/generated/torch.nn.GRUCell.html)
    and Keras ``GRU(reset_after=True)`` exactly, with PyTorch's names W_x· = W_i·,
    W_h· = W_h·, b_h = b_in and b_hn = b_hn (Keras stores the same matrices
    transposed, gates in the order z, r, h, and its two bias rows as b_i·, b_h·).  The gate biases stay one parameter each:
    PyTorch's b_ir + b_hr only ever appear as their sum, so b_r = b_ir + b_hr
    (and b_z = b_iz + b_hz), and dL/db_ir = dL/db_hr = dL/db_r.  b_hn cannot be
    merged into b_h, since r_t multiplies it.  Without ``hidden_bias``,
    ``reset="after"`` is PyTorch's GRUCell with b_hn = 0.

    Raises :class:`~rnnsym.errors.InputError` (``model.hidden_bias``) when
    ``hidden_bias`` is true with ``reset="before"`` or ``bias=False``.

    >>> gru_cell()
    Cell(gru: r, z, htilde, h, yhat; loss=squared)
    >>> gru_cell(reset="after", hidden_bias=True).parameters[-4:]
    ('b_h', 'b_hn', 'W_y', 'b_y')
    """
    _choice("model.reset", reset, {"before": 0, "after": 0})
    n, m, k = _common(loss, output_activation, bias, hidden, input, output)
    if _check_bool("model.hidden_bias", hidden_bias) and (reset != "after" or not bias):
        raise InputError("model.hidden_bias", hidden_bias,
                         "false unless reset = 'after' and bias = true (b_hn is the bias inside r_t ⊙ (W_hh h_{t−1} + b_hn))")
    x, h_prev = _vector("x", m), _vector("h", n, prev)
    W = {name: _matrix(name, n, m if name.startswith("W_x") else n) for name in
         ("W_xr", "W_hr", "W_xz", "W_hz", "W_xh", "W_hh")}
    b = {name: _bias(name, n) for name in ("b_r", "b_z", "b_h") + (("b_hn",) if hidden_bias else ())}
    r, z, ht, h = _vector("r", n), _vector("z", n), _vector("htilde", n), _vector("h", n)
    equations: list[Equation] = []
    for gate, (Wx, Wh, bb) in (("r", ("W_xr", "W_hr", "b_r")), ("z", ("W_xz", "W_hz", "b_z"))):
        pre = _affine([(W[Wx], x), (W[Wh], h_prev)], b[bb] if bias else None)
        equations += [Equation(placeholder(s)[0], sigmoid(p)) for s, p in zip(_vector(gate, n), pre)]
    if reset == "before":
        gated = [Times(r[i], h_prev[i]) for i in range(n)]
        pre = _affine([(W["W_xh"], x), (W["W_hh"], gated)], b["b_h"] if bias else None)
    else:
        inner = _affine([(W["W_hh"], h_prev)], b.get("b_hn"))
        outer = _affine([(W["W_xh"], x)], None)
        pre = [total([outer[i], Times(r[i], inner[i])] + ([b["b_h"][i]] if bias else [])) for i in range(n)]
    equations += [Equation(placeholder(s)[0], sympy.tanh(p)) for s, p in zip(ht, pre)]
    for i in range(n):
        form = Add(Times(z[i], h_prev[i]), Times(Add(1, -z[i], evaluate=False), ht[i]), evaluate=False)
        equations.append(Equation(placeholder(h[i])[0], form, "state"))
    readout, readout_parameters = _readout(h, k, bias, loss, output_activation)
    equations += readout
    parameters = _names(*W.values()) + (_names(*b.values()) if bias else ()) + readout_parameters
    options = {"reset": reset, "bias": bias, "loss": loss, "output_activation": output_activation,
               "hidden": n, "input": m, "output": k}
    if hidden_bias:
        options["hidden_bias"] = True
    return Cell("gru", tuple(equations), parameters=parameters, sizes={"h": n, "x": m, "y": k}, options=options)


def lstm_cell(
    bias: bool = True,
    loss: str = "squared",
    output_activation: str = "identity",
    hidden: int = 1,
    input: int = 1,
    output: int = 1,
) -> Cell:
    """The LSTM with a forget gate, gates in PyTorch's order i, f, g, o:

    - i_t = σ(W_xi x_t + W_hi h_{t−1} + b_i), f_t = σ(W_xf x_t + W_hf h_{t−1} + b_f)
    - g_t = tanh(W_xg x_t + W_hg h_{t−1} + b_g), o_t = σ(W_xo x_t + W_ho h_{t−1} + b_o)
    - c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t,  h_t = o_t ⊙ tanh(c_t);  ŷ_t = W_y h_t [+ b_y], or
      softmax(a_t) or σ(a_t), a_t = W_y h_t [+ b_y], with a loss that brings its output.

    This is ``torch.nn.LSTMCell``
    (https://pytorch.org/docs/stable/generated/torch.nn.LSTMCell.html) with
    W_x· = W_i· (the rows of ``weight_ih`` in the order i, f, g, o), W_h· = W_h·
    (``weight_hh``) and one bias per gate, b_· = b_i· + b_h·: PyTorch's two
    biases of a gate only ever appear as their sum, so both have the gradient
    dL/db_·.

    >>> lstm_cell()
    Cell(lstm: i, f, g, o, c, h, yhat; loss=squared)
    """
    n, m, k = _common(loss, output_activation, bias, hidden, input, output)
    if output_activation != "identity":
        raise InputError("model.output_activation", output_activation, "'identity' for the LSTM")
    x, h_prev, c_prev = _vector("x", m), _vector("h", n, prev), _vector("c", n, prev)
    gates = {"i": (sigmoid, "W_xi", "W_hi", "b_i"), "f": (sigmoid, "W_xf", "W_hf", "b_f"),
             "g": (sympy.tanh, "W_xg", "W_hg", "b_g"), "o": (sigmoid, "W_xo", "W_ho", "b_o")}
    W, b, equations = {}, {}, []
    for gate, (fn, Wx, Wh, bb) in gates.items():
        W[Wx], W[Wh], b[bb] = _matrix(Wx, n, m), _matrix(Wh, n, n), _bias(bb, n)
        pre = _affine([(W[Wx], x), (W[Wh], h_prev)], b[bb] if bias else None)
        equations += [Equation(placeholder(s)[0], fn(p)) for s, p in zip(_vector(gate, n), pre)]
    i_, f_, g_, o_ = (_vector(g, n) for g in "ifgo")
    c, h = _vector("c", n), _vector("h", n)
    for j in range(n):
        form = Add(Times(f_[j], c_prev[j]), Times(i_[j], g_[j]), evaluate=False)
        equations.append(Equation(placeholder(c[j])[0], form, "state"))
    for j in range(n):
        equations.append(Equation(placeholder(h[j])[0], Times(o_[j], sympy.tanh(c[j])), "state"))
    # o_t is the output gate: the readout before a softmax or sigmoid is a_t
    readout, readout_parameters = _readout(h, k, bias, loss, "identity", logits="a")
    equations += readout
    parameters = _names(*W.values()) + (_names(*b.values()) if bias else ()) + readout_parameters
    options = {"bias": bias, "loss": loss, "hidden": n, "input": m, "output": k}
    return Cell("lstm", tuple(equations), state=("h", "c"), parameters=parameters,
                sizes={"h": n, "c": n, "x": m, "y": k}, options=options)


def define_cell(
    equations: Iterable[tuple[str, Expr]],
    output: Iterable[tuple[str, Expr]] = (),
    loss: str = "squared",
    name: str = "custom",
    inputs: Sequence[str] = ("x",),
    targets: Sequence[str] = ("y",),
) -> Cell:
    """A cell from sympy expressions.

    ``equations`` are ``(base, expression)`` pairs in computation order, using
    ``prev(base)`` for the previous step's value of a state, ``now(name)``
    for an input or a quantity computed earlier in the step, and any other
    symbol as a parameter.  An expression may also be text, read by
    :func:`rnnsym.formula.parse_template` (never by ``sympify``):
    ``"tanh(a*prev(h) + now(x))"``.  A base used through ``prev`` is a state (its
    step-0 value a leaf).  ``output`` gives the output equations (default
    ``yhat = h``); the loss compares each output ``yhat…`` with ``y…``.

    A quantity computed by two equations, and a parameter named like a leaf or a
    quantity of the unrolled model (``x_1``, ``h_0``, ``yhat_2``, ``L``, ``L_1``),
    raise :class:`~rnnsym.errors.InputError`: the two would be one symbol.

    >>> define_cell([("h", "tanh(a*prev(h) + x_1)")])
    Traceback (most recent call last):
    ...
    rnnsym.errors.InputError: equations: got 'x_1', expected a parameter name that is not the name of a leaf or quantity of the unrolled model (x_t, y_t, h_t and yhat_t for a step t, L and L_t are taken); write now(x) for the input
    """
    eqs = [(_base(b, "equations"), _template(e, f"equations[{i}]")) for i, (b, e) in enumerate(equations)]
    outs = [(_base(b, "output"), _template(e, f"output[{i}]")) for i, (b, e) in enumerate(output)] or [("yhat", now("h"))]
    bases = [b for b, _ in eqs + outs]
    for i, b in enumerate(bases):
        if b in bases[:i]:
            raise InputError("equations", b, "a quantity computed by one equation only")
    _choice("loss", loss, LOSSES)
    state: list[str] = []
    params: list[str] = []
    computed = {b for b, _ in eqs + outs}
    for _, e in eqs + outs:
        for s in symbols_in_order(e):
            ph = placeholder(s)
            if ph is None:
                if s.name not in params:
                    params.append(s.name)
            elif ph[1] == -1:
                if ph[0] not in computed:
                    raise InputError("equations", str(s), f"prev() of a quantity the cell computes ({', '.join(sorted(computed))})")
                if ph[0] not in state:
                    state.append(ph[0])
            elif ph[0] not in computed and split_name(ph[0])[0] not in inputs:
                raise InputError("equations", str(s), "now() of an input or of a quantity computed earlier")
    if not state:
        raise InputError("equations", [b for b, _ in eqs], "at least one state used through prev()")
    _check_parameters(params, [b for b, _ in eqs + outs], inputs, targets)
    cell_eqs = [Equation(b, e, "state" if b in state else "intermediate") for b, e in eqs]
    cell_eqs += [Equation(b, e, "output") for b, e in outs]
    outputs = [now(b) for b, _ in outs]
    target_syms = [now(b.replace("yhat", targets[0], 1)) for b, _ in outs]
    cell_eqs += _loss_equations(loss, outputs, target_syms, None)
    return Cell(name, tuple(cell_eqs), state=tuple(state), inputs=tuple(inputs), targets=tuple(targets),
                parameters=tuple(params), options={"loss": loss})


_STEP_NAME = re.compile(r"(?P<base>[A-Za-z][A-Za-z0-9]*)_(?P<t>\d+)(?:\[[\d,]+\])?")


def _check_parameters(params: Sequence[str], computed: Iterable[str], inputs: Sequence[str], targets: Sequence[str]) -> None:
    """Refuse a parameter spelt like a per-step leaf or quantity (``x_1``, ``h_0``, ``L_2``) or the total loss ``L``."""
    bases = list(dict.fromkeys([*inputs, *targets, *(b.partition("[")[0] for b in computed)]))
    for name in params:
        match = _STEP_NAME.fullmatch(name)
        if name == "L" or match and match["base"] in (*bases, "L"):
            taken = [f"{b}_t" for b in bases]
            listed = ", ".join(taken[:-1]) + " and " + taken[-1] if len(taken) > 1 else taken[0]
            hint = f"; write now({match['base']}) for the input" if match and match["base"] in inputs else ""
            raise InputError("equations", name, "a parameter name that is not the name of a leaf or quantity of the "
                             f"unrolled model ({listed} for a step t, L and L_t are taken){hint}")


def _base(name: object, field: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or "_" in name.partition("[")[0]:
        raise InputError(field, name, "a quantity's base name such as 'h', 'c' or 'h[2]'")
    return name


def _template(expr: object, field: str) -> Expr:
    """A template equation's right-hand side: a sympy expression, a number, or text read safely."""
    if isinstance(expr, sympy.Basic):
        return expr
    if isinstance(expr, str):
        return parse_template(expr, field)
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):
        return parse_number(expr, field).exact
    raise InputTypeError(field, expr, "a sympy expression, a number or a formula as text")


CELLS = {"elman": elman_cell, "gru": gru_cell, "lstm": lstm_cell}
