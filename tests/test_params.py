"""ser_common.params: every rule kind, papermill's strings, and all problems reported at once."""

from __future__ import annotations

import pytest

from ser_common.params import (
    Bool,
    Choice,
    ChoiceList,
    Float,
    Int,
    IntList,
    ParameterError,
    Path,
    Str,
    check_parameters,
)


def check(value, rule):
    return check_parameters({"x": value}, {"x": rule})["x"]


def problem(value, rule) -> str:
    with pytest.raises(ParameterError) as error:
        check(value, rule)
    return str(error.value)


@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), (1, True), (0, False),
    ("true", True), ("True", True), ("false", False), ("False", False), (" yes ", True), ("no", False),
    ("on", True), ("off", False), ("1", True), ("0", False),
])
def test_bool_accepts_papermill_spellings(value, expected):
    assert check(value, Bool()) is expected


@pytest.mark.parametrize("value", ["maybe", 2, 0.5, "", None, "None"])
def test_bool_refuses_anything_else(value):
    assert "not a boolean" in problem(value, Bool()) or "None is not allowed" in problem(value, Bool())


def test_int():
    assert check(12, Int()) == 12 and check("12", Int()) == 12 and check(" -3 ", Int()) == -3
    assert check(3.0, Int()) == 3 and check("+4", Int(min=1)) == 4
    assert check(None, Int(none=True)) is None and check("None", Int(none=True)) is None
    assert "not an integer" in problem("1.5", Int())
    assert "not an integer" in problem(1.5, Int())
    assert "not an integer" in problem("abc", Int())
    assert "a boolean is not an integer" in problem(True, Int())
    assert "None is not allowed" in problem(None, Int())
    message = problem("-1", Int(min=1))
    assert "x = '-1': out of range; allowed: an integer in [1, inf]" in message
    assert "out of range" in problem(17, Int(min=1, max=16))


def test_float():
    assert check("1.5", Float()) == 1.5 and check(2, Float()) == 2.0 and check("1e-3", Float(min=0)) == 0.001
    assert "not a number" in problem("abc", Float())
    assert "NaN is not allowed" in problem("nan", Float())
    assert "a boolean is not a number" in problem(False, Float())
    assert "out of range" in problem(1.5, Float(min=0, max=1))
    assert "allowed: a number in [0, 1]" in problem(-0.1, Float(min=0, max=1))


def test_int_list():
    assert check("[1, 3]", IntList()) == [1, 3]
    assert check("(1, 3, 6)", IntList()) == [1, 3, 6]
    assert check([1, 3], IntList()) == [1, 3] and check(3, IntList()) == [3] and check("6", IntList()) == [6]
    assert "not a non-empty list" in problem("[]", IntList())
    assert "not an integer" in problem("[1, 2.5]", IntList())
    assert "out of range" in problem("[0, 3]", IntList(min=1))
    assert "x = '[1, oops]': not an integer; allowed: a list of integers" in problem("[1, oops]", IntList())
    assert "not a non-empty list" in problem({"a": 1}, IntList())


def test_choice():
    rule = Choice("paper_10fold", "speaker_independent")
    assert check("speaker_independent", rule) == "speaker_independent"
    message = problem("paper", rule)
    assert "x = 'paper': not one of the choices; allowed: 'paper_10fold' | 'speaker_independent'" in message
    assert check(None, Choice("a", none=True)) is None
    assert "None is not allowed" in problem("None", rule)


def test_choice_list():
    rule = ChoiceList("glam", "no_fusion", "no_mixup")
    assert check("glam", rule) == ["glam"]
    assert check("glam, no_fusion", rule) == ["glam", "no_fusion"]
    assert check("['glam', 'no_mixup']", rule) == ["glam", "no_mixup"]
    assert check("[glam, no_fusion]", rule) == ["glam", "no_fusion"]  # unquoted, as typed on a command line
    assert check(("no_mixup",), rule) == ["no_mixup"]
    message = problem("glam, attention", rule)
    assert "['attention'] not among the choices" in message
    assert "allowed: a list of 'glam' | 'no_fusion' | 'no_mixup'" in message
    assert "not a non-empty list" in problem([], rule)


def test_path(tmp_path):
    assert check(None, Path()) is None  # None allowed by default
    assert check(tmp_path, Path(exists=True)) == str(tmp_path)
    assert check("~/x.wav", Path()).startswith(str(pytest.importorskip("pathlib").Path.home()))
    message = problem(str(tmp_path / "missing.wav"), Path(exists=True))
    assert "missing.wav" in message and "does not exist" in message and "a path that exists" in message


def test_str():
    assert check("None", Str()) == "None"  # a string rule keeps the word
    assert check(5, Str()) == "5"
    assert "None is not allowed" in problem(None, Str())


def test_every_problem_is_reported_at_once_with_name_value_and_allowed_values():
    rules = {"epochs": Int(min=1), "progress": Bool(identity=False), "protocol": Choice("a", "b"),
             "lr": Float(min=0), "n_tabs": IntList(min=1), "seed": Int()}
    with pytest.raises(ParameterError) as error:
        check_parameters({"epochs": "abc", "progress": "perhaps", "protocol": "c", "lr": "-1", "n_tabs": "[0]"},
                         rules, where="the notebook's parameters cell")
    lines = str(error.value).splitlines()
    assert lines[0] == "invalid notebook parameter(s), nothing was run:"
    assert lines[1:] == [
        "  epochs = 'abc': not an integer; allowed: an integer in [1, inf]",
        "  progress = 'perhaps': not a boolean; allowed: True or False (also 'true'/'false', 'yes'/'no', 1/0)",
        "  protocol = 'c': not one of the choices; allowed: 'a' | 'b'",
        "  lr = '-1': out of range; allowed: a number in [0, inf]",
        "  n_tabs = '[0]': out of range; allowed: a list of integers in [1, inf]",
        "  seed: missing from the notebook's parameters cell",
    ]
    assert isinstance(error.value, ValueError)  # callers catching ValueError still catch it


def test_result_is_in_rule_order_and_reads_only_the_named_values():
    values = {"b": "2", "a": "true", "unrelated": object()}
    checked = check_parameters(values, {"a": Bool(), "b": Int()})
    assert list(checked) == ["a", "b"] and checked == {"a": True, "b": 2}


def test_identity_flags():
    rules = {"epochs": Int(), "progress": Bool(identity=False), "data_dir": Path(), "model": Choice("x", identity=True)}
    assert [name for name, rule in rules.items() if rule.identity] == ["epochs", "model"]  # paths are not, by default
    assert not Path(identity=True).exists and Path(identity=True).identity
