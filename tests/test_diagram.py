"""The unrolled network as a TikZ figure: its structure read back from the TikZ, and TeX builds of it."""

import itertools
import math
import re

import pytest
import sympy
from hypothesis import given, settings, strategies as st

import rnnsym
from rnnsym import InputError, InputTypeError, Notation, RenderOptions, TeXError, define_cell, now, prev
from rnnsym.cells.wiring import wiring
from rnnsym.diagram import MAX_COLUMNS, network_figure, network_tikz
from rnnsym.notation import spell, symbol
from rnnsym.strategies import graphs
from rnnsym.tex import compile_pdf

from support import needs_tex

_NODE = re.compile(r"^\\node\[(?P<style>[^\]]*)\](?: \((?P<name>[^)]+)\))? at \((?P<x>[-\d.]+),(?P<y>[-\d.]+)\) "
                   r"\{(?P<text>.*)\};$")
_EDGE = re.compile(r"^\\draw\[edge\] \((?P<start>[^()]+)\) --(?: node\[weight, [^\]]*\] \{(?P<label>.*)\})? "
                   r"\((?P<end>[^()]+)\);$")


def nodes(tikz: str) -> dict[str, dict]:
    """The named nodes of a picture: name → style, x, y, text."""
    out = {}
    for line in tikz.splitlines():
        match = _NODE.match(line.strip())
        if match and match["name"]:
            assert match["name"] not in out, match["name"]  # a name is drawn once
            out[match["name"]] = {"style": match["style"], "x": float(match["x"]), "y": float(match["y"]),
                                  "text": match["text"]}
    return out


def edges(tikz: str) -> list[tuple[str, str, str | None]]:
    """The arrows of a picture: (start, end, weight label or None)."""
    found = [_EDGE.match(line.strip()) for line in tikz.splitlines() if line.strip().startswith(r"\draw[edge]")]
    assert all(found), tikz
    return [(m["start"], m["end"], m["label"]) for m in found]


def shown_steps(steps: int) -> list[int]:
    """The steps drawn at the default max_steps=5: all, or the first and last two."""
    return list(range(1, steps + 1)) if steps <= 5 else [1, 2, steps - 1, steps]


def state_heads(graph) -> list[str]:
    return list(dict.fromkeys(s.partition("[")[0] for s in graph.cell.state))


def math_of(*names: str) -> str:
    return "$" + ", ".join(spell(n) for n in names) + "$"


a, b = symbol("a"), symbol("b")
CELLS = {
    "elman identity": lambda T, **k: rnnsym.elman(T, **k),
    "elman tanh": lambda T, **k: rnnsym.elman(T, activation="tanh", bias=True, **k),
    "elman hidden 2": lambda T, **k: rnnsym.elman(T, hidden=2, **k),
    "gru": lambda T, **k: rnnsym.gru(T, **k),
    "lstm": lambda T, **k: rnnsym.lstm(T, **k),
    "custom": lambda T, **k: rnnsym.unroll(
        define_cell([("h", sympy.tanh(a * prev("h") + b * now("x")))], name="my_cell & more"), T, **k),
}
STEPS = (1, 2, 5, 50)


# --- structure ---------------------------------------------------------------------------

@pytest.mark.parametrize("steps", (1, 2, 5, 6, 50))
@pytest.mark.parametrize("cell", list(CELLS))
def test_one_node_per_state_shown_labelled_with_its_name(cell, steps):
    graph = CELLS[cell](steps)
    tikz = network_tikz(graph)
    found = nodes(tikz)
    shown = shown_steps(steps)
    for head in state_heads(graph):
        expected = {f"s-{head}-{t}" for t in [0, *shown]}
        assert {n for n in found if n.startswith(f"s-{head}-")} == expected
        for t in [0, *shown]:
            assert found[f"s-{head}-{t}"]["text"] == f"${spell(f'{head}_{t}')}$"
        xs = [found[f"s-{head}-{t}"]["x"] for t in [0, *shown]]
        assert xs == sorted(xs) and len(set(xs)) == len(xs)  # left to right in time
    for head in ("x", "yhat"):
        assert {n for n in found if n.startswith(f"{'in' if head == 'x' else 'out'}-{head}-")} == \
               {f"{'in' if head == 'x' else 'out'}-{head}-{t}" for t in shown}
    hidden = sorted(set(range(1, steps + 1)) - set(shown))
    assert ("dots-h" in found) == bool(hidden)
    for t in hidden:
        assert f"-{t})" not in tikz and f"_{{{t}}}" not in tikz
    if hidden:
        assert rf"$t = {hidden[0]}, \ldots, {hidden[-1]}$" in tikz or f"$t = {', '.join(map(str, hidden))}$" in tikz


@pytest.mark.parametrize("cell", list(CELLS))
def test_losses_only_at_the_steps_that_carry_one(cell):
    for steps, loss_at in ((2, [2]), (5, [1, 3]), (50, [1, 49]), (50, [25]), (50, "all")):
        graph = CELLS[cell](steps, loss_at=loss_at)
        found = nodes(network_tikz(graph))
        expected = [t for t in graph.loss_steps if t in shown_steps(steps)]
        assert sorted(int(n.split("-")[1]) for n in found if n.startswith("loss-")) == expected
        for t in expected:
            assert found[f"loss-{t}"]["text"] == f"${spell(f'L_{t}')}$"
            assert found[f"loss-{t}"]["y"] > found[f"out-yhat-{t}"]["y"] > found[f"s-h-{t}"]["y"]
            assert (f"out-yhat-{t}", f"loss-{t}", None) in edges(network_tikz(graph))


@pytest.mark.parametrize("cell", ["elman identity", "elman tanh", "elman hidden 2"])
@pytest.mark.parametrize("steps", STEPS)
def test_elman_edges_carry_the_shared_weights(cell, steps):
    graph = CELLS[cell](steps)
    tikz = network_tikz(graph)
    shown = shown_steps(steps)
    chain = [f"s-h-{t}" for t in [0, *shown]]
    if steps > 5:
        chain.insert(3, "dots-h")
    recurrent = [(u, v) for u, v in itertools.pairwise(chain)]
    drawn = edges(tikz)
    assert [(u, v) for u, v, _ in drawn if u in chain and v in chain] == recurrent
    assert all(label == math_of("W_h") for u, v, label in drawn if (u, v) in recurrent)
    assert sorted((u, v, label) for u, v, label in drawn if u.startswith("in-")) == \
           sorted((f"in-x-{t}", f"s-h-{t}", math_of("W_x")) for t in shown)
    assert sorted((u, v, label) for u, v, label in drawn if v.startswith("out-")) == \
           sorted((f"s-h-{t}", f"out-yhat-{t}", math_of("W_y")) for t in shown)
    assert "b_" not in tikz and "{b}" not in tikz  # biases are not drawn


def test_vector_models_say_the_sizes():
    tikz = network_tikz(rnnsym.elman(3, hidden=2, input=3))
    assert "Vector sizes: $h_{t}$: 2, $x_{t}$: 3, $\\hat{y}_{t}$: 1." in tikz
    assert "Vector sizes" not in network_tikz(rnnsym.elman(3))
    assert "W_{h}" in tikz and "W_{h,12}" not in tikz  # a matrix by its name


def test_wiring_of_the_built_in_cells():
    """The weights on each source, as the cells' docstrings define them."""
    gru = wiring(rnnsym.gru_cell())
    assert (gru.states, gru.inputs, gru.outputs, gru.gates) == (("h",), ("x",), ("yhat",), ("r", "z", "htilde"))
    assert (gru.recurrent, gru.entering, gru.leaving) == (
        {"h": ("W_hr", "W_hz", "W_hh")}, {"x": ("W_xr", "W_xz", "W_xh")}, {"h": ("W_y",)})
    assert wiring(rnnsym.gru_cell(reset="after", hidden=2)).recurrent == {"h": ("W_hr", "W_hz", "W_hh")}
    lstm = wiring(rnnsym.lstm_cell())
    assert (lstm.states, lstm.gates) == (("h", "c"), ("i", "f", "g", "o"))
    assert lstm.recurrent == {"h": ("W_hi", "W_hf", "W_hg", "W_ho"), "c": ()}  # f_t c_{t-1}: no weight
    assert lstm.entering == {"x": ("W_xi", "W_xf", "W_xg", "W_xo")} and lstm.leaving == {"h": ("W_y",)}
    elman = wiring(rnnsym.elman_cell("tanh", bias=True, loss="cross_entropy", output=3))
    assert (elman.recurrent, elman.entering, elman.leaving) == ({"h": ("W_h",)}, {"x": ("W_x",)}, {"h": ("W_y",)})
    custom = wiring(define_cell([("h", a * (prev("h") + 1) + now("x"))], output=[("yhat", b * now("h") + a)]))
    assert (custom.recurrent, custom.entering, custom.leaving) == ({"h": ("a",)}, {"x": ()}, {"h": ("b",)})


@pytest.mark.parametrize("cell, gates", [("gru", ("r", "z", "htilde")), ("lstm", ("i", "f", "g", "o"))])
@pytest.mark.parametrize("steps", STEPS)
def test_gated_cells_are_boxes_listing_their_gates(cell, gates, steps):
    graph = CELLS[cell](steps)
    tikz = network_tikz(graph)
    found = nodes(tikz)
    shown = shown_steps(steps)
    assert sorted(n for n in found if n.startswith("cell-")) == sorted(f"cell-{t}" for t in shown)
    for t in shown:
        assert found[f"gates-{t}"]["text"] == r" \\ ".join(f"${spell(f'{g}_{t}')}$" for g in gates)
        box = found[f"cell-{t}"]
        assert box["x"] < found[f"s-h-{t}"]["x"]  # states on the box's right, gates on its left
    heads = state_heads(graph)
    drawn = edges(tikz)
    for head in heads:  # each state, c_t too, is a recurrent line into the next box
        into = sorted(int(end.split("cell-")[1].split(".")[0]) for start, end, _ in drawn
                      if "cell-" in end and start.startswith((f"s-{head}-", f"dots-{head}")))
        assert into == shown
    recurrent = {"gru": "W_{hr}, W_{hz}, W_{hh}", "lstm": "W_{hi}, W_{hf}, W_{hg}, W_{ho}"}[cell]
    assert rf"$h_{{t-1}}$ into the cell: ${recurrent}$" in tikz
    assert sorted((u, label) for u, v, label in drawn if v.startswith("out-")) == \
           sorted((f"s-h-{t}", math_of("W_y")) for t in shown)
    assert "b_" not in tikz


def test_a_defined_cell_gets_the_generic_box():
    graph = CELLS["custom"](3)
    tikz = network_tikz(graph)
    found = nodes(tikz)
    assert {n for n in found if n.startswith("cell-")} == {"cell-1", "cell-2", "cell-3"}
    assert r"$h_{t-1}$ into the cell: $a$" in tikz and r"$x_{t}$ into the cell: $b$" in tikz
    two = rnnsym.unroll(define_cell([("h", a * prev("h") + prev("c") + now("x")), ("c", now("h") * now("u"))],
                                    inputs=("x", "u"), output=[("yhat", now("h") + now("c"))]), 2)
    found = nodes(network_tikz(two))
    assert {"s-c-0", "s-c-2", "in-u-2", "in-x-2", "out-yhat-2"} <= set(found)


def test_names_follow_the_notation():
    options = RenderOptions(notation=Notation(bases={"yhat": "o", "h": r"\mathbf{h}"}))
    found = nodes(network_tikz(rnnsym.elman(2), options=options))
    assert found["out-yhat-2"]["text"] == "$o_{2}$" and found["s-h-1"]["text"] == r"$\mathbf{h}_{1}$"


@settings(max_examples=40, deadline=None)
@given(graphs(min_steps=1, max_steps=40), st.integers(3, MAX_COLUMNS))
def test_columns_never_exceed_max_steps_and_nodes_never_overlap(graph, max_steps):
    tikz = network_tikz(graph, max_steps=max_steps)
    found = nodes(tikz)
    head = state_heads(graph)[0]
    steps = sorted(int(n.rsplit("-", 1)[1]) for n in found if n.startswith(f"s-{head}-"))
    dots = f"dots-{head}" in found
    assert len(steps) + dots <= max_steps + 1
    assert steps[0] == 0 and steps[-1] == graph.steps
    assert dots == (graph.steps > max_steps)
    if not dots:
        assert steps == list(range(graph.steps + 1))
    else:  # the first and the last steps, consecutive, around the dots
        first = [t for t in steps if found[f"s-{head}-{t}"]["x"] < found[f"dots-{head}"]["x"]]
        last = steps[len(first):]
        assert first == list(range(len(first))) and last == list(range(last[0], graph.steps + 1))
        assert len(first) - 1 == (max_steps - 1) // 2 and len(last) == max_steps // 2
    # every circle or box label stands apart from the others (boxes hold their gates and states)
    placed = [(n, v["x"], v["y"]) for n, v in found.items() if not n.startswith("cell-")]
    for (n1, x1, y1), (n2, x2, y2) in itertools.combinations(placed, 2):
        assert math.hypot(x1 - x2, y1 - y2) >= 0.9, (n1, n2)


def test_bad_arguments_are_named():
    graph = rnnsym.elman(2)
    with pytest.raises(InputTypeError, match="graph: got 'elman' of type str, expected a rnnsym.Graph"):
        network_tikz("elman")
    for bad in (2, MAX_COLUMNS + 1, True, "5", 4.0):
        with pytest.raises(InputError, match=f"max_steps: got {re.escape(repr(bad))}, expected an integer from 3 to"):
            network_tikz(graph, max_steps=bad)
    with pytest.raises(InputTypeError, match="options"):
        network_tikz(graph, options={"times": "cdot"})
    with pytest.raises(InputTypeError, match="caption: got 3 of type int, expected text or None"):
        network_figure(graph, caption=3)


def test_the_figure_is_centred_in_place_and_its_caption_escaped():
    figure = network_figure(rnnsym.elman(2), caption=r"100% of h_t \input{x}")
    assert figure.startswith("\\begin{center}\n") and figure.endswith("\\end{center}")
    assert network_tikz(rnnsym.elman(2)).rstrip() in figure
    assert r"{\small 100\% of h\_t \textbackslash{}input\{x\}}" in figure
    assert "figure}" not in figure  # no float that moves away from the exercise
    assert "\\small" not in network_figure(rnnsym.elman(2)).split("tikzpicture")[-1]  # no caption, no line


# --- TeX builds --------------------------------------------------------------------------

def _document(*bodies: str) -> str:
    """A document with the solution sheet's own preamble (and its page width)."""
    tex = rnnsym.Sheet([rnnsym.reference()]).tex()
    preamble = tex[: tex.index(r"\begin{document}")]
    return preamble + "\\begin{document}\nText before.\n\n" + "\n\n".join(bodies) + "\n\nText after.\n\\end{document}\n"


@pytest.mark.slow
@needs_tex
@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize("cell", list(CELLS))
def test_the_figure_compiles_within_the_page(cell, steps, tmp_path):
    graph = CELLS[cell](steps)
    # the bare picture in its natural size must fit the text width: an overfull line is a TeXError
    bare = "\\begin{center}\n" + network_tikz(graph) + "\\end{center}"
    pdf = compile_pdf(_document(network_figure(graph, caption=f"The {cell} network, {steps} steps"), bare))
    assert pdf.startswith(b"%PDF")


@pytest.mark.slow
@needs_tex
def test_a_wide_figure_is_shrunk_to_the_page():
    graph = rnnsym.lstm(50)
    wide = "\\begin{center}\n" + network_tikz(graph, max_steps=MAX_COLUMNS) + "\\end{center}"
    with pytest.raises(TeXError, match="wider than the page"):
        compile_pdf(_document(wide))
    assert compile_pdf(_document(network_figure(graph, max_steps=MAX_COLUMNS))).startswith(b"%PDF")
