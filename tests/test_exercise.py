"""Exercise files: loading valid TOML and rejecting every kind of bad input."""

from __future__ import annotations

import builtins
import importlib

import pytest
import sympy
import sympy.parsing.sympy_parser

import rnnsym
from rnnsym import Exercise, InputError, InputTypeError, RnnsymError, load, loads

from support import TEXT, variant  # noqa: E402


# --- valid files --------------------------------------------------------------

def test_reference_loads():
    ex = rnnsym.reference()
    assert isinstance(ex, Exercise)
    assert ex.title == "Recurrent neural networks: backpropagation through time"
    assert ex.graph.steps == 2
    assert [q.find for q in ex.questions if q.show is None] == ["yhat_2", "L", "dL/dh_1", "dL/dW_h"]
    assert [(q.label, q.show) for q in ex.questions if q.show] == [
        ("2.a", "recurrence"), ("2.b", "vanishing"), ("2.c", "gated"), ("2.d", "truncation")
    ]
    assert ex.intro.startswith("A very simple RNN")


def test_load_from_a_file_equals_loads(tmp_path):
    path = tmp_path / "ex.toml"
    path.write_text(TEXT, encoding="utf-8")
    ex, same = load(path), loads(TEXT)
    assert (ex.title, ex.intro, ex.values, ex.questions) == (same.title, same.intro, same.values, same.questions)
    assert repr(ex.graph) == repr(same.graph)
    assert [str(a) for a in ex.graph.assignments] == [str(a) for a in same.graph.assignments]
    assert ex.source == str(path)
    assert load(str(path)).questions == ex.questions


def test_answers_of_the_reference_match_the_seed():
    ex = rnnsym.reference()
    got = [ex.answer(q).evaluate(ex.values) for q in ex.questions if q.show is None]
    assert got == [6, 2, 0, 8]  # ŷ_2, L, ∂L/∂h_1, ∂L/∂W_h from the seed's answer key


def test_questions_parse_of_and_wrt():
    ex = rnnsym.reference()
    task1 = [q for q in ex.questions if q.show is None]
    assert [(q.of, q.wrt) for q in task1] == [("yhat_2", None), ("L", None), ("L", "h_1"), ("L", "W_h")]
    assert all(q.split == "auto" for q in ex.questions)  # the derivation chooses: the textbook form here
    assert [ex.answer(q).split for q in task1[2:]] == ["loss", "loss"]


def test_split_step_in_a_file():
    ex = loads(variant(('find = "dL/dW_h"', 'find = "dL/dW_h"\nsplit = "step"')))
    assert ex.questions[3].split == "step"
    assert ex.answer(ex.questions[3]).latex(ex.values)[-1] == r"\frac{\partial L}{\partial W_{h}} = 0 + 8 = 8"


def test_toml_float_value_is_exact():
    ex = loads(variant(('W_x = "0.1"', "W_x = 0.1")))
    assert ex.answer(ex.questions[3]).evaluate(ex.values) == 8


def test_other_models_load():
    text = variant(
        ('activation = "identity"', 'activation = "tanh"'),
        ('loss = "squared"', 'loss = "half_squared"'),
        ('loss_at = "all"', "loss_at = [2]"),
        ('find = "yhat_2"', 'find = "z_2"'),
    )
    ex = loads(text)
    assert ex.graph.loss_steps == (2,)
    assert [str(q) for q in ex.graph.quantities][-2:] == ["L_2", "L"]


def test_minimal_file_defaults():
    ex = loads('[model]\nsteps = 1\n[values]\nh_0 = 0\nx = [1]\ny = [1]\nW_h = 1\nW_x = 1\nW_y = 1\n')
    assert ex.title == "Exercise"
    assert ex.questions == ()


# --- bad input ------------------------------------------------------------------

BAD = {
    "unknown activation": (
        variant(('activation = "identity"', 'activation = "swish"')),
        InputError, "model.activation", "'swish'", "'identity', 'tanh'",
    ),
    "unknown loss": (
        variant(('loss = "squared"', 'loss = "hinge"')),
        InputError, "model.loss", "'hinge'", "'squared'",
    ),
    "unknown cell": (
        variant(('cell = "elman"', 'cell = "transformer"')),
        InputError, "model.cell", "'transformer'", "'elman'",
    ),
    "steps 0": (variant(("steps = 2", "steps = 0")), InputError, "model.steps", "got 0", "an integer >= 1"),
    "steps -1": (variant(("steps = 2", "steps = -1")), InputError, "model.steps", "got -1", "an integer >= 1"),
    "steps string": (variant(("steps = 2", 'steps = "2"')), InputTypeError, "model.steps", "'2'", "an integer >= 1"),
    "steps float": (variant(("steps = 2", "steps = 2.5")), InputTypeError, "model.steps", "2.5", "an integer >= 1"),
    "steps missing": (variant(("steps = 2\n", "")), InputError, "model.steps", "None", "required"),
    "bias string": (variant(("bias = false", 'bias = "no"')), InputTypeError, "model.bias", "'no'", "true or false"),
    "missing value": (variant(("W_y = 2\n", "")), InputError, "values.W_y", "got nothing", "a number"),
    "x too short": (variant(("x = [10, 10]", "x = [10]")), InputError, "values.x", "[10]", "a list of 2 numbers"),
    "x too long": (variant(("x = [10, 10]", "x = [10, 10, 10]")), InputError, "values.x", "[10, 10, 10]", "a list of 2 numbers"),
    "x not a list": (variant(("x = [10, 10]", 'x = "10"')), InputError, "values.x", "'10'", "a list of 2 numbers"),
    "x item abc": (variant(("x = [10, 10]", 'x = [10, "abc"]')), InputError, "values.x[2]", "'abc'", "a number"),
    "value abc": (variant(('W_x = "0.1"', 'W_x = "abc"')), InputError, "values.W_x", "'abc'", "a number"),
    "value 1e1001": (variant(('W_x = "0.1"', 'W_x = "1e1001"')), InputError, "values.W_x", "'1e1001'", "exponent"),
    "value import": (
        variant(('W_x = "0.1"', "W_x = \"__import__('os')\"")),
        InputError, "values.W_x", "__import__('os')", "a number",
    ),
    "value 1/0": (variant(('W_x = "0.1"', 'W_x = "1/0"')), InputError, "values.W_x", "'1/0'", "non-zero denominator"),
    "value bool": (variant(('W_x = "0.1"', "W_x = true")), InputTypeError, "values.W_x", "True", "a number"),
    "value list": (variant(('W_x = "0.1"', "W_x = [1]")), InputTypeError, "values.W_x", "[1]", "a number"),
    "value inf": (variant(('W_x = "0.1"', "W_x = inf")), InputError, "values.W_x", "inf", "finite"),
    "unknown value name": (variant(("W_y = 2\n", "W_y = 2\nW_z = 3\n")), InputError, "values", "'W_z'", "one of h_0, W_h"),
    "find unknown wrt": (
        variant(('find = "dL/dW_h"', 'find = "dL/dW_q"')),
        InputError, "questions[3].find", "W_q", "one of h_0",
    ),
    "find unknown quantity": (
        variant(('find = "yhat_2"', 'find = "yhat_9"')),
        InputError, "questions[0].find", "'yhat_9'", "a quantity",
    ),
    "find wrt after of": (
        variant(('find = "dL/dW_h"', 'find = "dh_1/dh_2"')),
        InputError, "questions[3].find", "'dh_1/dh_2'", "computed before h_1",
    ),
    "find of a leaf": (
        variant(('find = "dL/dW_h"', 'find = "dW_h/dL"')),
        InputError, "questions[3].find", "'dW_h/dL'", "not a leaf",
    ),
    "find not a string": (variant(('find = "yhat_2"', "find = 3")), InputTypeError, "questions[0].find", "3", "a string"),
    "find missing": (variant(('find = "yhat_2"\n', "")), InputError, "questions[0].find", "None", "required"),
    "unknown split": (
        variant(('find = "dL/dW_h"', 'find = "dL/dW_h"\nsplit = "time"')),
        InputError, "questions[3].split", "'time'", "'loss', 'step'",
    ),
    "typo in model key": (
        variant(('activation = "identity"', 'activaton = "identity"')),
        InputError, "model", "'activaton'", "activation",
    ),
    "typo in top key": (variant(("title = ", "titel = ")), InputError, "exercise", "'titel'", "title"),
    "typo in question key": (
        variant(('find = "L"', 'fnd = "L"')),
        InputError, "questions[1]", "'fnd'", "find",
    ),
    "loss_at out of range": (
        variant(('loss_at = "all"', "loss_at = [3]")),
        InputError, "model.loss_at", "[3]", "between 1 and 2",
    ),
    "loss_at zero": (variant(('loss_at = "all"', "loss_at = [0]")), InputError, "model.loss_at", "[0]", "between 1 and 2"),
    "loss_at empty": (variant(('loss_at = "all"', "loss_at = []")), InputError, "model.loss_at", "[]", "non-empty"),
    "malformed TOML": (TEXT + "\n[[questions]\n", InputError, "ex.toml", "malformed TOML", "valid TOML"),
    "unknown top-level table": (
        variant(("[[questions]]\nlabel = \"1.a\"", "[[questionz]]\nlabel = \"1.a\"")),
        InputError, "exercise", "'questionz'", "questions",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input(case):
    text, error, field, value, expected = BAD[case]
    with pytest.raises(error) as caught:
        loads(text, "ex.toml")
    message = str(caught.value)
    assert isinstance(caught.value, RnnsymError)
    assert message.startswith(f"{field}: got "), message
    assert value in message, message
    assert expected in message, message
    assert "\n" not in message


def test_malformed_toml_names_the_line():
    with pytest.raises(InputError) as caught:
        loads(TEXT + "\n[[questions]\n", "ex.toml")
    line = TEXT.count("\n") + 2
    assert f"line {line}" in str(caught.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(InputError) as caught:
        load(path)
    assert str(caught.value).startswith(f"exercise: got {str(path)!r}, expected a readable UTF-8 TOML file")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(TEXT.replace("simple", "simpl\xe9").encode("latin-1"))
    with pytest.raises(InputError) as caught:
        load(path)
    assert "UTF-8" in str(caught.value)


def test_a_directory_is_not_an_exercise(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    with pytest.raises(InputError) as caught:
        load("sub")
    assert str(caught.value).startswith("exercise: got 'sub', expected a readable UTF-8 TOML file")


def test_ask_validates_find():
    ex = rnnsym.reference()
    with pytest.raises(InputError) as caught:
        ex.ask("dL/dW_q")
    assert str(caught.value).startswith("find: got 'dL/dW_q'")
    with pytest.raises(InputError) as caught:
        ex.ask("dL/dW_h", split="time")
    assert str(caught.value).startswith("split: got 'time'")


# --- no user string reaches eval / sympify / parse_expr ------------------------------

PAYLOAD = "__import__('os').system('echo pwned')"

MALICIOUS = {
    "value": variant(('W_x = "0.1"', f'W_x = "{PAYLOAD}"')),
    "list item": variant(("x = [10, 10]", f'x = [10, "{PAYLOAD}"]')),
    "value name": variant(("W_y = 2\n", f'W_y = 2\n"{PAYLOAD}" = 1\n')),
    "find": variant(('find = "yhat_2"', f'find = "{PAYLOAD}"')),
    "find derivative": variant(('find = "dL/dW_h"', 'find = "dL/d__import__(\'os\')"')),
    "activation": variant(('activation = "identity"', f'activation = "{PAYLOAD}"')),
    "loss": variant(('loss = "squared"', f'loss = "{PAYLOAD}"')),
    "steps": variant(("steps = 2", f'steps = "{PAYLOAD}"')),
    "loss_at": variant(('loss_at = "all"', f'loss_at = "{PAYLOAD}"')),
    "split": variant(('find = "dL/dW_h"', f'find = "dL/dW_h"\nsplit = "{PAYLOAD}"')),
}


@pytest.fixture
def trapped(monkeypatch):
    """Make eval, sympify and parse_expr fail loudly on any string holding ``__import__``."""
    calls: list[str] = []

    def wrap(original, name):
        def guard(*args, **kwargs):
            if any(isinstance(a, str) and "__import__" in a for a in (*args, *kwargs.values())):
                calls.append(name)
                raise AssertionError(f"{name} called with a user string")
            return original(*args, **kwargs)

        return guard

    monkeypatch.setattr(builtins, "eval", wrap(builtins.eval, "eval"))
    monkeypatch.setattr(builtins, "exec", wrap(builtins.exec, "exec"))
    monkeypatch.setattr(sympy, "sympify", wrap(sympy.sympify, "sympy.sympify"))
    core = importlib.import_module("sympy.core.sympify")  # the module, not the function sympy.core exports
    monkeypatch.setattr(core, "sympify", wrap(core.sympify, "sympify"))
    monkeypatch.setattr(sympy, "parse_expr", wrap(sympy.parse_expr, "sympy.parse_expr"))
    monkeypatch.setattr(
        sympy.parsing.sympy_parser, "parse_expr", wrap(sympy.parsing.sympy_parser.parse_expr, "parse_expr")
    )
    return calls


def test_trap_works(trapped):
    with pytest.raises(AssertionError):
        sympy.sympify(PAYLOAD)
    with pytest.raises(AssertionError):
        eval(PAYLOAD)  # noqa: S307 - the trap refuses it
    assert sympy.sympify("1") == 1
    assert trapped == ["sympy.sympify", "eval"]


@pytest.mark.parametrize("where", list(MALICIOUS))
def test_no_user_string_is_evaluated(where, trapped, tmp_path):
    path = tmp_path / "evil.toml"
    path.write_text(MALICIOUS[where], encoding="utf-8")
    with pytest.raises(RnnsymError) as caught:
        load(path)
    assert isinstance(caught.value, (InputError, InputTypeError))
    assert trapped == []


def test_weight_shape_error_does_not_mention_steps():
    text = (
        '[model]\ncell = "elman"\nsteps = 2\nhidden = 2\n'
        "[values]\nh_0 = [0, 0]\nx = [1, 1]\ny = [1, 1]\n"
        "W_h = [[1, 0], [0, 1]]\nW_x = [[1], [1]]\nW_y = 5\n"
    )
    with pytest.raises(InputError) as caught:
        loads(text)
    message = str(caught.value)
    assert message.startswith("values.W_y: got 5, expected a list of 1 lists of 2 numbers")
    assert "one per step" not in message


@pytest.mark.parametrize("char", ["\x01", "\x0c", "\x7f", "\x85", "\ufffe"])
def test_text_keys_refuse_control_characters(char):
    import rnnsym

    escaped = f"\\u{ord(char):04X}"
    with pytest.raises(rnnsym.InputError) as caught:
        rnnsym.loads(f'title = "a{escaped}b"\n[model]\nsteps = 1')
    assert caught.value.field == "exercise.title" and f"U+{ord(char):04X}" in str(caught.value)


def test_answers_of_asked_questions_are_their_own():
    import rnnsym

    ex = rnnsym.reference()
    seen = {}
    for find in ["dL/dW_h", "dL/dW_x", "dL/dW_y", "yhat_1"] * 2:
        question = ex.ask(find)  # a temporary question: its id may be reused by the next one
        answer = ex.answer(question)
        seen.setdefault(find, answer.evaluate(ex.values))
        assert (str(answer.of), str(answer.wrt)) == (question.of, str(question.wrt)) and answer.evaluate(ex.values) == seen[find]
        del question, answer
    assert seen == {"dL/dW_h": 8, "dL/dW_x": 40, "dL/dW_y": 2, "yhat_1": 4}
