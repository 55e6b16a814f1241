r"""The vanishing topic's paragraphs on the conditions for vanishing and exploding gradients.

With the exercise's own numbers: the Elman bound |W_h| max|f′| and what it
implies (:func:`bound_text`); for a vector state σ_max(W_h) and ρ(W_h) and what
each guarantees (:func:`vector_bound`; Pascanu, Mikolov & Bengio 2013); for a
gated cell its one-step factors and why no simple bound applies
(:func:`gated_text`).  Each returns LaTeX paragraphs and blocks of lines, the
items of :mod:`rnnsym.analysis.topics`.
"""

from __future__ import annotations

from typing import Any

import sympy

from ..errors import InputError
from ..printing import Line, decimal
from .bound import bound
from .gated import gated_bound

__all__ = ["bound_text", "vector_bound", "gated_text"]

Item = str | list[Line]

#: A :class:`rnnsym.analysis.topics.Topic` (named by role: that module imports this one).
Topic = Any


def vector_bound(topic: Topic) -> list[Item]:
    """For a vector Elman cell: the bound by σ_max(W_h), the spectral radius ρ(W_h), and what each guarantees."""
    graph = topic.graph
    if graph.cell.name in ("gru", "lstm"):
        return gated_text(topic)
    if graph.cell.name != "elman":
        return []
    try:
        b = bound(graph, topic.evaluation.spelling)
    except InputError:  # an activation without a known bound on f'
        return []
    sigma, rho, fmax = topic.number(b.weight), topic.number(b.radius), topic.number(b.max_derivative)
    items: list[Item] = [r"In the spectral norm every factor $\operatorname{diag}(f'(z_t))\, W_h$ is at most:",
                         b.lines(options=topic.options)]
    text = (rf"Two numbers of $W_h$ describe the product. Its largest singular value "
            rf"$\sigma_{{\max}}(W_h) = \lVert W_h \rVert_2 = {sigma}$ bounds every factor: when "
            rf"$\sigma_{{\max}}(W_h) \max|f'| < 1$ the gradient vanishes for every input, "
            rf"$\lVert \partial h_T / \partial h_t \rVert_2 \le (\sigma_{{\max}}(W_h) \max|f'|)^{{T-t}}$ "
            rf"(a sufficient condition). The spectral radius $\rho(W_h) = {rho}$, the largest modulus of an "
            rf"eigenvalue, governs the long-run growth of the linear part: "
            rf"$\lVert W_h^k \rVert_2^{{1/k}} \to \rho(W_h)$ as $k$ grows (Gelfand's formula), so with a linear "
            rf"activation the gradient vanishes in the long run when $\rho(W_h)\,|f'| < 1$ and explodes when "
            rf"$\rho(W_h)\,|f'| > 1$. Always $\rho(W_h) \le \sigma_{{\max}}(W_h)$ "
            rf"(Pascanu, Mikolov \& Bengio, 2013). ")
    if b.normal:
        text += (r"Here $W_h$ is normal ($W_h^\top W_h = W_h W_h^\top$), so $\rho(W_h) = \sigma_{\max}(W_h)$ "
                 r"and the two conditions agree.")
    else:
        text += (rf"Here $W_h$ is not normal ($W_h^\top W_h \ne W_h W_h^\top$), so $\rho(W_h) = {rho} < "
                 rf"\sigma_{{\max}}(W_h) = {sigma}$, with $\max|f'| = {fmax}$. ")
        if b.regime == "vanishing":
            text += r"Both products with $\max|f'|$ are below 1: the gradient vanishes."
        elif b.regime == "vanishing in the long run" and b.peak is not None:
            where, best, below = b.peak
            text += (rf"The bound allows growth, but $\rho(W_h)\,|f'| < 1$: $\lVert (f' W_h)^k \rVert_2$ grows "
                     rf"over the first steps, largest at $k = {where}$ (about ${best:.4g}$), before it decays"
                     + (rf" and stays below 1 from $k = {below}$ on" if below is not None else "")
                     + r": a transient growth, then the gradient vanishes.")
        elif b.regime == "exploding":
            text += r"With a constant $f'$ and $\rho(W_h)\,|f'| > 1$ the gradient explodes."
        else:
            text += (r"The $\sigma_{\max}$ bound is above 1, so it does not rule out growth; since $f'(z_t)$ "
                     r"changes from step to step, the factors differ and $\rho(W_h)$ alone does not decide either: "
                     r"the $\sigma_{\max}$ bound is the one that holds for every input.")
    items.append(text)
    return items


def gated_text(topic: Topic) -> list[Item]:
    """For a GRU or LSTM: its one-step factors at the exercise's values, and why no simple bound applies."""
    b = gated_bound(topic.graph, topic.evaluation.spelling)
    gate, path = (("z_t", r"\frac{\partial^{+} h_t}{\partial h_{t-1}} = z_t") if b.cell == "gru"
                  else ("f_t", r"\frac{\partial^{+} c_t}{\partial c_{t-1}} = f_t"))
    worst = decimal(b.value, max(topic.options.approx_digits, 3))
    return [
        (rf"No bound of the Elman kind holds for this cell: its additive path ${path}$ has no weight matrix and "
         rf"${gate} \in (0, 1)$ comes as close to 1 as the gate's input makes it, while the other terms grow with the "
         rf"state, so no bound below 1 holds for every input. At the exercise's values the one-step factors are at most:"),
        b.lines(options=topic.options),
        (rf"so along this sequence the product over $T - t$ steps is at most ${worst}^{{T-t}}$"
         + (r": it vanishes here." if b.regime == "vanishing" else r": this allows growth; the factors themselves decide.")),
    ]


def bound_text(b, topic: Topic) -> str:
    value = b.value
    shown = topic.math(value) if isinstance(value, sympy.Rational) else decimal(value, 4)
    if not (isinstance(value, sympy.Integer) or shown.replace(".", "").isdigit()):
        shown = rf"\left({shown}\right)"
    if b.regime == "vanishing":
        return (rf"so $\left|\frac{{\partial h_T}}{{\partial h_t}}\right| \le {shown}^{{T-t}}$: below 1, the bound "
                r"forces the gradient to vanish exponentially with the distance.")
    if b.regime == "neutral":  # with a constant f' (identity) no factor can be below 1
        return (r"and since $f'$ is constant here every factor equals 1 in size: the gradient keeps its size over "
                r"any distance." if not b.slope.free_symbols and not b.matrix else r"equal to 1: the bound rules "
                r"out exponential growth, and a factor below 1 at some step makes the gradient shrink.")
    if b.regime == "exploding":
        return (rf"and since $f'$ is constant here every factor equals ${shown}$: "
                rf"$\left|\frac{{\partial h_T}}{{\partial h_t}}\right| = {shown}^{{T-t}}$ grows without bound, "
                r"the gradient explodes.")
    return (rf"above 1: the bound allows growth like ${shown}^{{T-t}}$, which happens while $f'(z_t)$ stays "
            r"near its largest value; where the state saturates the factors shrink it again.")
