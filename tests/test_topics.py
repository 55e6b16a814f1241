"""Task 2 topics: answers computed on the exercise's own model, values and steps."""

from __future__ import annotations

import re

import pytest

import rnnsym
from rnnsym.analysis.topics import TOPICS, Topic

from support import TEXT, variant


def sheet(text: str) -> str:
    return rnnsym.Sheet([rnnsym.loads(text)]).tex()


def answer(tex: str, label: str) -> str:
    """The LaTeX of one question's answer in a sheet."""
    start = tex.index(rf"\subsection*{{{label}}}")
    end = tex.find(r"\subsection*", start + 1)
    return tex[start : end if end > 0 else None]


def only_topic(show: str, model: str, values: str, extra: str = "") -> str:
    return f"""
title = "A model"
[model]
{model}
[values]
{values}
[[questions]]
label = "q"
show = "{show}"
{extra}
"""


def test_an_exploding_identity_model_is_said_to_explode_with_its_own_numbers():
    tex = sheet(variant(("\nW_h = 1\n", '\nW_h = "6/5"\n')))
    text = answer(tex, "2.b")
    assert "explodes" in text and "vanishes" not in text.replace("vanishes nor", "")
    assert r"\frac{6}{5}" in text or "1.2" in text  # the model's own W_h, in the bound and the table
    assert r"\left|{W_{h}}\right| &= \frac{6}{5}" in text
    assert "$t$ & $" in text and "2 & $1.2$ & $1$" in text.replace(r"\frac{6}{5}", "1.2")


def test_an_identity_model_with_unit_weight_keeps_its_gradient():
    text = answer(sheet(variant()), "2.b")  # the reference: identity activation, W_h = 1
    assert "keeps its size" in text and "a factor below 1 at some step" not in text


def test_a_vanishing_tanh_model_is_said_to_vanish():
    model = 'cell = "elman"\nactivation = "tanh"\nsteps = 6'
    values = 'h_0 = 0\nx = [1, 1, 1, 1, 1, 1]\ny = [0, 0, 0, 0, 0, 0]\nW_h = "0.5"\nW_x = 1\nW_y = 1'
    text = answer(sheet(only_topic("vanishing", model, values)), "q")
    assert "vanishes" in text and "it explodes" not in text
    assert r"\frac{\partial h_{6}}{\partial h_0}" in text
    assert "h_{7}" not in text and r"\left|{W_{h}}\right| \," in text
    assert r"= \frac{1}{2} \times 1 = \frac{1}{2}" in text and r"\left(\frac{1}{2}\right)^{T-t}" in text


def test_topics_mention_only_the_models_own_parameters_and_steps():
    tex = sheet(variant(("steps = 2", "steps = 3"), ("x = [10, 10]", "x = [10, 10, 10]"), ("y = [5, 5]", "y = [5, 5, 5]")))
    topics = "".join(answer(tex, label) for label in ("2.a", "2.b", "2.d"))
    assert "b_{h}" not in tex and "b_h" not in topics  # the model has no bias
    assert "h_{4}" not in tex and r"\partial h_{3}" in topics  # three steps: nothing about a fourth
    assert "t = 1, 2, 3" in topics


def test_no_tool_name_in_student_facing_text():
    assert "rnnsym" not in rnnsym.Sheet([rnnsym.reference()]).tex().lower()


def test_the_gru_convention_is_named_with_the_models_own_gates():
    model = 'cell = "gru"\nsteps = 3\nreset = "after"'
    names = ["W_xr", "W_hr", "W_xz", "W_hz", "W_xh", "W_hh", "b_r", "b_z", "b_h", "W_y", "b_y"]
    values = "h_0 = 0\nx = [1, 1, 1]\ny = [0, 0, 0]\n" + "\n".join(f'{n} = "0.5"' for n in names)
    tex = sheet(only_topic("gated", model, values))
    text = answer(tex, "q")
    assert "update gate" in text and "keeps the old state" in text and r"after $W_{hh}$" in text
    assert "$z_t$ &" in text and re.search(r"\n3 & \$0\.\d+\$", text)  # the gate's value at every step
    assert r"\paragraph{Notation}" in tex and "In a GRU, $z_t$ is the update gate" in tex


def test_truncation_names_its_convention_and_shows_a_sign_flip():
    model = "steps = 3"
    values = 'h_0 = 0\nx = [1, 2, 0]\ny = [0, -1, -1]\nW_h = -2\nW_x = -1\nW_y = 1'
    text = answer(sheet(only_topic("truncation", model, values)), "q")
    assert "Williams" in text and "BPTT$(h; h')$" in text and "held fixed" in text and "biased" in text
    assert "for $k = 1$, it even points the other way" in text
    assert re.search(r"\n1 & \$-2\$ & \$4\$ & \$2\$", text)  # truncated, dropped, full at k = 1


def test_a_demonstration_only_when_asked_with_its_values():
    base = TEXT.replace('show = "vanishing"', 'show = "vanishing"\ndemo = true')
    tex = sheet(base)
    assert "A demonstration" in answer(tex, "2.b") and "begin{picture}" in answer(tex, "2.b")
    assert r"$W_{h} = 0.5$" in answer(tex, "2.b")  # every value of the demonstration is printed
    assert "A demonstration" not in rnnsym.Sheet([rnnsym.reference()]).tex()


def test_demo_without_show_is_refused():
    with pytest.raises(rnnsym.InputError, match="demo"):
        rnnsym.loads(variant(('find = "yhat_2"', 'find = "yhat_2"\ndemo = true')))


@pytest.mark.parametrize("show", list(TOPICS))
@pytest.mark.parametrize("cell", ["elman", "gru", "lstm"])
def test_every_topic_answers_on_every_cell(show, cell):
    graph = rnnsym.build(cell, 2)
    values = {str(s): "1/2" for s in graph.leaves}
    items = TOPICS[show](Topic(graph, rnnsym.evaluate(graph, values)))
    assert items and all(isinstance(i, (str, list)) for i in items)
