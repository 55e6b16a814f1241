"""An independent numeric reference for GRU and LSTM cells (forward and BPTT).

Written separately from rnnsym's engine: plain Python lists and mpmath at
:data:`DPS` significant digits, in a private mpmath context (so nothing that
changes ``mpmath.mp.dps`` elsewhere affects it).  The backward pass is the
chain rule written out by hand, gate by gate, through time; nothing here
differentiates anything automatically and nothing uses sympy.

Shapes (hidden size n, input size m, output size k):

- a matrix is a list of rows, ``W[i][j]`` multiplies ``v[j]`` into row ``i``:
  ``W_x*`` are n×m, ``W_h*`` are n×n, ``W_y`` is k×n;
- a vector is a list: biases ``b_*`` and states ``h_0``, ``c_0`` have n
  entries, ``b_y`` has k;
- ``xs`` is one input vector (m entries) per step, ``ys`` one target vector
  (k entries) per step.

Numbers may be ``int``, ``fractions.Fraction``, decimal strings, or anything
with integer ``p``/``q`` or ``numerator``/``denominator`` (sympy rationals).

The model, for t = 1..T:

GRU (Cho et al. 2014), gates r, z, h̃::

    r_t = σ(W_xr x_t + W_hr h_{t−1} + b_r)
    z_t = σ(W_xz x_t + W_hz h_{t−1} + b_z)
    h̃_t = tanh(W_xh x_t + W_hh (r_t ⊙ h_{t−1}) + b_h)      reset="before"
    h̃_t = tanh(W_xh x_t + r_t ⊙ (W_hh h_{t−1} + b_hn) + b_h)   reset="after"
    h_t = z_t ⊙ h_{t−1} + (1 − z_t) ⊙ h̃_t

(reset="after" is PyTorch's GRUCell; b_hn, its hidden-side candidate bias, is
a parameter with ``hidden_bias=True`` and 0 otherwise.)

LSTM, gates i, f, g, o::

    i_t = σ(W_xi x_t + W_hi h_{t−1} + b_i)    f_t = σ(W_xf x_t + W_hf h_{t−1} + b_f)
    g_t = tanh(W_xg x_t + W_hg h_{t−1} + b_g) o_t = σ(W_xo x_t + W_ho h_{t−1} + b_o)
    c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t           h_t = o_t ⊙ tanh(c_t)

Both: ŷ_t = W_y h_t + b_y and L = Σ_t Σ_k (ŷ_t[k] − y_t[k])².
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import mpmath

__all__ = ["DPS", "ctx", "num", "Result", "gru", "lstm", "GRU_PARAMETERS", "GRU_HIDDEN_BIAS_PARAMETERS",
           "LSTM_PARAMETERS", "loss_only"]

DPS = 50
ctx = mpmath.MPContext()
ctx.dps = DPS
_MPF = type(ctx.mpf(0))

GRU_PARAMETERS = ("W_xr", "W_hr", "W_xz", "W_hz", "W_xh", "W_hh", "b_r", "b_z", "b_h", "W_y", "b_y")
GRU_HIDDEN_BIAS_PARAMETERS = GRU_PARAMETERS + ("b_hn",)
LSTM_PARAMETERS = (
    "W_xi", "W_hi", "W_xf", "W_hf", "W_xg", "W_hg", "W_xo", "W_ho",
    "b_i", "b_f", "b_g", "b_o", "W_y", "b_y",
)


def num(value) -> mpmath.mpf:
    """``value`` as an mpf of the reference context (exact for rationals up to rounding)."""
    if isinstance(value, bool):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, int):
        return ctx.mpf(value)
    if isinstance(value, _MPF):
        return ctx.mpf(value)
    if isinstance(value, Fraction):
        return ctx.mpf(value.numerator) / value.denominator
    if isinstance(value, str):
        return num(Fraction(value))
    if hasattr(value, "p") and hasattr(value, "q"):  # sympy Rational / Integer
        return ctx.mpf(int(value.p)) / int(value.q)
    if hasattr(value, "numerator") and hasattr(value, "denominator"):
        return ctx.mpf(int(value.numerator)) / int(value.denominator)
    raise TypeError(f"not an exact number: {value!r}")


# --- small linear algebra on lists ---------------------------------------------------------------


def _vec(v) -> list:
    return [num(a) for a in v]


def _mat(W) -> list[list]:
    return [[num(a) for a in row] for row in W]


def _mv(W, v):
    """W v."""
    return [ctx.fsum(w * a for w, a in zip(row, v)) for row in W]


def _tmv(W, v):
    """Wᵀ v."""
    cols = len(W[0])
    return [ctx.fsum(W[i][j] * v[i] for i in range(len(W))) for j in range(cols)]


def _add(*vs):
    return [ctx.fsum(parts) for parts in zip(*vs)]


def _mul(a, b):
    return [p * q for p, q in zip(a, b)]


def _outer_into(G, u, v) -> None:
    """G += u vᵀ."""
    for i in range(len(u)):
        for j in range(len(v)):
            G[i][j] += u[i] * v[j]


def _into(g, v) -> None:
    for i in range(len(v)):
        g[i] += v[i]


def _zeros_like(x):
    if isinstance(x, list):
        return [_zeros_like(a) for a in x]
    return ctx.mpf(0)


def _sigmoid(a):
    return 1 / (1 + ctx.exp(-a))


def _affine(Wx, x, Wh, h, b):
    return _add(_mv(Wx, x), _mv(Wh, h), b)


@dataclass
class Result:
    """Loss, forward values and gradients from one reference pass.

    ``h[t]`` (and ``c[t]`` for the LSTM) is the state after step t, ``h[0]``
    the initial state; ``yhat[t-1]`` the output of step t; ``gates[t-1]`` a
    dict of the step's gate vectors.  ``grads`` maps each parameter name and
    ``h_0`` (and ``c_0``) to dL/d(that), in the same shape as the value.
    """

    loss: mpmath.mpf
    h: list
    yhat: list
    grads: dict
    c: list = field(default_factory=list)
    gates: list = field(default_factory=list)


def _readout(params, h, y, grads, loss_parts):
    """ŷ = W_y h + b_y, loss term Σ(ŷ − y)²; accumulates dW_y, db_y; returns (ŷ, dL_t/dh)."""
    W_y, b_y = params["W_y"], params["b_y"]
    yhat = _add(_mv(W_y, h), b_y)
    err = [a - b for a, b in zip(yhat, y)]
    loss_parts.extend(e * e for e in err)
    e2 = [2 * e for e in err]  # dL/dŷ for the squared loss
    _outer_into(grads["W_y"], e2, h)
    _into(grads["b_y"], e2)
    return yhat, _tmv(W_y, e2)


def _prepare(params, names, xs, ys):
    p = {}
    for name in names:
        value = params[name]
        p[name] = _mat(value) if name.startswith("W_") else _vec(value)
    xs = [_vec(x) for x in xs]
    ys = [_vec(y) for y in ys]
    if len(xs) != len(ys) or not xs:
        raise ValueError("xs and ys need one entry per step, at least one step")
    return p, xs, ys


def gru(params: dict, h0, xs, ys, reset: str = "before", hidden_bias: bool = False) -> Result:
    """Forward pass and BPTT of the GRU; see the module docstring.  With
    ``hidden_bias`` (reset="after" only) ``params`` also holds ``b_hn``."""
    if reset not in ("before", "after"):
        raise ValueError(f"reset must be 'before' or 'after', not {reset!r}")
    if hidden_bias and reset != "after":
        raise ValueError("b_hn exists only with reset='after'")
    names = GRU_HIDDEN_BIAS_PARAMETERS if hidden_bias else GRU_PARAMETERS
    with ctx.workdps(DPS):
        p, xs, ys = _prepare(params, names, xs, ys)
        hs = [_vec(h0)]
        cache, yhats, loss_parts = [], [], []
        grads = {name: _zeros_like(p[name]) for name in names}
        dh_out = []  # dL_t/dh_t from each step's own readout
        for x, y in zip(xs, ys):
            h = hs[-1]
            r = [_sigmoid(a) for a in _affine(p["W_xr"], x, p["W_hr"], h, p["b_r"])]
            z = [_sigmoid(a) for a in _affine(p["W_xz"], x, p["W_hz"], h, p["b_z"])]
            if reset == "before":
                s = _mul(r, h)  # r ⊙ h_{t−1}
                u = None
                a_h = _add(_mv(p["W_xh"], x), _mv(p["W_hh"], s), p["b_h"])
            else:
                s = None
                u = _mv(p["W_hh"], h)  # W_hh h_{t−1} (+ b_hn)
                if hidden_bias:
                    u = _add(u, p["b_hn"])
                a_h = _add(_mv(p["W_xh"], x), _mul(r, u), p["b_h"])
            ht = [ctx.tanh(a) for a in a_h]
            h_new = [zi * hi + (1 - zi) * hti for zi, hi, hti in zip(z, h, ht)]
            hs.append(h_new)
            yhat, dh = _readout(p, h_new, y, grads, loss_parts)
            yhats.append(yhat)
            dh_out.append(dh)
            cache.append({"x": x, "h": h, "r": r, "z": z, "s": s, "u": u, "htilde": ht})

        # Backward through time: dh holds dL/dh_t (all paths), carried to dL/dh_{t−1}.
        n = len(hs[0])
        dh_next = [ctx.mpf(0)] * n
        for t in reversed(range(len(xs))):
            st = cache[t]
            x, h, r, z, ht = st["x"], st["h"], st["r"], st["z"], st["htilde"]
            dh = _add(dh_next, dh_out[t])
            # h_t = z ⊙ h + (1 − z) ⊙ h̃
            dz = [d * (hi - hti) for d, hi, hti in zip(dh, h, ht)]
            dht = [d * (1 - zi) for d, zi in zip(dh, z)]
            dprev = [d * zi for d, zi in zip(dh, z)]
            # h̃ = tanh(a_h)
            da_h = [d * (1 - v * v) for d, v in zip(dht, ht)]
            _outer_into(grads["W_xh"], da_h, x)
            _into(grads["b_h"], da_h)
            if reset == "before":
                # a_h ∋ W_hh s, s = r ⊙ h
                _outer_into(grads["W_hh"], da_h, st["s"])
                ds = _tmv(p["W_hh"], da_h)
                dr = _mul(ds, h)
                _into(dprev, _mul(ds, r))
            else:
                # a_h ∋ r ⊙ u, u = W_hh h (+ b_hn)
                du = _mul(da_h, r)
                dr = _mul(da_h, st["u"])
                _outer_into(grads["W_hh"], du, h)
                if hidden_bias:
                    _into(grads["b_hn"], du)
                _into(dprev, _tmv(p["W_hh"], du))
            # z = σ(a_z), r = σ(a_r)
            da_z = [d * zi * (1 - zi) for d, zi in zip(dz, z)]
            da_r = [d * ri * (1 - ri) for d, ri in zip(dr, r)]
            for da, Wx, Wh, b in ((da_z, "W_xz", "W_hz", "b_z"), (da_r, "W_xr", "W_hr", "b_r")):
                _outer_into(grads[Wx], da, x)
                _outer_into(grads[Wh], da, h)
                _into(grads[b], da)
                _into(dprev, _tmv(p[Wh], da))
            dh_next = dprev
        grads["h_0"] = dh_next
        return Result(ctx.fsum(loss_parts), hs, yhats, grads, gates=[
            {"r": s["r"], "z": s["z"], "htilde": s["htilde"]} for s in cache
        ])


def lstm(params: dict, h0, c0, xs, ys) -> Result:
    """Forward pass and BPTT of the LSTM; see the module docstring."""
    with ctx.workdps(DPS):
        p, xs, ys = _prepare(params, LSTM_PARAMETERS, xs, ys)
        hs, cs = [_vec(h0)], [_vec(c0)]
        cache, yhats, loss_parts, dh_out = [], [], [], []
        grads = {name: _zeros_like(p[name]) for name in LSTM_PARAMETERS}
        for x, y in zip(xs, ys):
            h, c = hs[-1], cs[-1]
            i = [_sigmoid(a) for a in _affine(p["W_xi"], x, p["W_hi"], h, p["b_i"])]
            f = [_sigmoid(a) for a in _affine(p["W_xf"], x, p["W_hf"], h, p["b_f"])]
            g = [ctx.tanh(a) for a in _affine(p["W_xg"], x, p["W_hg"], h, p["b_g"])]
            o = [_sigmoid(a) for a in _affine(p["W_xo"], x, p["W_ho"], h, p["b_o"])]
            c_new = [fj * cj + ij * gj for fj, cj, ij, gj in zip(f, c, i, g)]
            tc = [ctx.tanh(v) for v in c_new]
            h_new = _mul(o, tc)
            hs.append(h_new)
            cs.append(c_new)
            yhat, dh = _readout(p, h_new, y, grads, loss_parts)
            yhats.append(yhat)
            dh_out.append(dh)
            cache.append({"x": x, "h": h, "c": c, "i": i, "f": f, "g": g, "o": o, "tanh_c": tc})

        n = len(hs[0])
        dh_next = [ctx.mpf(0)] * n
        dc_next = [ctx.mpf(0)] * n
        for t in reversed(range(len(xs))):
            st = cache[t]
            x, h, c = st["x"], st["h"], st["c"]
            i, f, g, o, tc = st["i"], st["f"], st["g"], st["o"], st["tanh_c"]
            dh = _add(dh_next, dh_out[t])
            # h_t = o ⊙ tanh(c_t); c_t also reaches L through c_{t+1}
            do = _mul(dh, tc)
            dc = [dn + d * oj * (1 - v * v) for dn, d, oj, v in zip(dc_next, dh, o, tc)]
            # c_t = f ⊙ c_{t−1} + i ⊙ g
            df = _mul(dc, c)
            di = _mul(dc, g)
            dg = _mul(dc, i)
            dc_prev = _mul(dc, f)
            da = {
                "i": [d * v * (1 - v) for d, v in zip(di, i)],
                "f": [d * v * (1 - v) for d, v in zip(df, f)],
                "g": [d * (1 - v * v) for d, v in zip(dg, g)],
                "o": [d * v * (1 - v) for d, v in zip(do, o)],
            }
            dprev = [ctx.mpf(0)] * n
            for gate, d in da.items():
                _outer_into(grads[f"W_x{gate}"], d, x)
                _outer_into(grads[f"W_h{gate}"], d, h)
                _into(grads[f"b_{gate}"], d)
                _into(dprev, _tmv(p[f"W_h{gate}"], d))
            dh_next, dc_next = dprev, dc_prev
        grads["h_0"] = dh_next
        grads["c_0"] = dc_next
        return Result(ctx.fsum(loss_parts), hs, yhats, grads, c=cs, gates=[
            {k: s[k] for k in "ifgo"} for s in cache
        ])


def loss_only(cell: str, params: dict, state: dict, xs, ys, **options) -> mpmath.mpf:
    """The loss alone (for finite-difference checks of the backward pass).

    ``cell`` is ``"gru"`` or ``"lstm"``; ``state`` holds ``h_0`` (and ``c_0``).
    """
    if cell == "gru":
        return gru(params, state["h_0"], xs, ys, **options).loss
    return lstm(params, state["h_0"], state["c_0"], xs, ys).loss
