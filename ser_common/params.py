"""Check a notebook's parameters before any work starts.

Papermill passes ``-p epochs abc`` as the string ``"abc"`` and ``-p progress false`` as
the string ``"false"`` (which Python counts as true). A notebook declares one rule per
parameter and :func:`check_parameters` converts and checks every value at once, so a bad
value fails in a second with a message that names the parameter, the value and what is
allowed, and before any feature extraction, results file or weights folder exists::

    rules = {"epochs": Int(min=1), "protocol": Choice("paper_10fold", "speaker_independent"),
             "progress": Bool(identity=False), "data_dir": Path(none=True, exists=True, identity=False)}
    values = check_parameters(globals(), rules)

A rule's ``identity`` flag says whether the parameter can change the results: every
parameter that can is part of a run's identity (:mod:`ser_common.experiment`), so runs
that differ in any of them never share a results file.
"""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Bool", "Choice", "ChoiceList", "Float", "Int", "IntList", "ParameterError", "Path", "Rule", "Str",
           "check_parameters"]

_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


class ParameterError(ValueError):
    """One or more notebook parameters have values that cannot be used."""


@dataclass(frozen=True)
class Rule:
    """How to read and check one parameter (build it with :func:`Int`, :func:`Bool`, ...)."""

    kind: str
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    none: bool = False
    exists: bool = False
    identity: bool = True
    help: str = field(default="", compare=False)

    def allowed(self) -> str:
        """The allowed values, in words."""
        if self.kind in ("choice", "choice_list"):
            text = " | ".join(repr(choice) for choice in self.choices)
            text = text if self.kind == "choice" else f"a list of {text}"
        elif self.kind in ("int", "float", "int_list"):
            low = "-inf" if self.min is None else self.min
            high = "inf" if self.max is None else self.max
            text = {"int": "an integer", "float": "a number", "int_list": "a list of integers"}[self.kind]
            text += f" in [{low}, {high}]" if (self.min, self.max) != (None, None) else ""
        elif self.kind == "bool":
            text = "True or False (also 'true'/'false', 'yes'/'no', 1/0)"
        elif self.kind == "path":
            text = "a path" + (" that exists" if self.exists else "")
        else:
            text = "a string"
        return text + (" or None" if self.none else "")

    def convert(self, value: Any) -> Any:
        """The checked value; raises ``ValueError`` with the reason."""
        if value is None or (isinstance(value, str) and value.strip() == "None" and self.kind != "str"):
            if self.none:
                return None
            raise ValueError("None is not allowed")
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError("not a boolean")
        if self.kind == "int":
            return self._in_range(_as_int(value))
        if self.kind == "float":
            if isinstance(value, bool):
                raise ValueError("a boolean is not a number")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError("not a number") from None
            if number != number:
                raise ValueError("NaN is not allowed")
            return self._in_range(number)
        if self.kind in ("int_list", "choice_list"):
            items = value
            if isinstance(value, str):  # "[1, 3]", "glam, no_fusion" or a single item from the command line
                text = value.strip()
                try:
                    items = ast.literal_eval(text) if text[:1] in "[(" else [item.strip() for item in text.split(",")]
                except (ValueError, SyntaxError):  # unquoted names, as typed on a command line: "[glam, no_fusion]"
                    items = [item.strip().strip("'\"") for item in text.strip("[]()").split(",") if item.strip()]
            items = [items] if isinstance(items, (int, str)) else items
            if not isinstance(items, (list, tuple)) or not items:
                raise ValueError("not a non-empty list")
            if self.kind == "choice_list":
                unknown = [item for item in items if item not in self.choices]
                if unknown:
                    raise ValueError(f"{unknown} not among the choices")
                return list(items)
            return [self._in_range(_as_int(item)) for item in items]
        if self.kind == "choice":
            if value in self.choices:
                return value
            raise ValueError("not one of the choices")
        if self.kind == "path":
            path = pathlib.Path(str(value)).expanduser()
            if self.exists and not path.exists():
                raise ValueError(f"{path.resolve()} does not exist")
            return str(path)
        return str(value)

    def _in_range(self, number: float) -> float:
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise ValueError("out of range")
        return number


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    raise ValueError("not an integer")


def Int(min: int | None = None, max: int | None = None, *, none: bool = False, identity: bool = True) -> Rule:  # noqa: N802
    """An integer (``"12"`` from the command line is accepted), optionally bounded."""
    return Rule("int", min=min, max=max, none=none, identity=identity)


def Float(min: float | None = None, max: float | None = None, *, none: bool = False, identity: bool = True) -> Rule:  # noqa: N802
    """A finite number, optionally bounded."""
    return Rule("float", min=min, max=max, none=none, identity=identity)


def Bool(*, identity: bool = True) -> Rule:  # noqa: N802
    """True / False, also written ``"true"``, ``"False"``, ``"yes"``, ``"no"``, ``1``, ``0``."""
    return Rule("bool", identity=identity)


def Choice(*choices: Any, none: bool = False, identity: bool = True) -> Rule:  # noqa: N802
    """One of ``choices``."""
    return Rule("choice", choices=tuple(choices), none=none, identity=identity)


def IntList(min: int | None = None, max: int | None = None, *, none: bool = False, identity: bool = True) -> Rule:  # noqa: N802
    """A non-empty list of integers; ``"[1, 3]"`` and a single ``3`` are accepted too."""
    return Rule("int_list", min=min, max=max, none=none, identity=identity)


def ChoiceList(*choices: Any, identity: bool = True) -> Rule:  # noqa: N802
    """A non-empty list of ``choices``; ``"a, b"`` and ``"[a, b]"`` are accepted too."""
    return Rule("choice_list", choices=tuple(choices), identity=identity)


def Path(*, exists: bool = False, none: bool = True, identity: bool = False) -> Rule:  # noqa: N802
    """A file-system path (returned as a string); ``exists=True`` requires it to exist."""
    return Rule("path", exists=exists, none=none, identity=identity)


def Str(*, none: bool = False, identity: bool = True) -> Rule:  # noqa: N802
    """Any string."""
    return Rule("str", none=none, identity=identity)


def check_parameters(values: Mapping[str, Any], rules: Mapping[str, Rule], *, where: str = "the parameters cell") -> dict:
    """Convert and check every parameter named in ``rules``; report all problems at once.

    Parameters
    ----------
    values : mapping
        Where the parameters live, typically the notebook's ``globals()``; only the names
        in ``rules`` are read.
    rules : mapping of name to Rule
    where : str
        Named in the error when a parameter is missing.

    Returns
    -------
    dict
        Parameter name -> checked value, in the order of ``rules``.

    Raises
    ------
    ParameterError
        Listing every missing or invalid parameter with its value and the allowed values.
    """
    checked, problems = {}, []
    for name, rule in rules.items():
        if name not in values:
            problems.append(f"  {name}: missing from {where}")
            continue
        try:
            checked[name] = rule.convert(values[name])
        except (ValueError, SyntaxError) as error:
            problems.append(f"  {name} = {values[name]!r}: {error}; allowed: {rule.allowed()}")
    if problems:
        raise ParameterError("invalid notebook parameter(s), nothing was run:\n" + "\n".join(problems))
    return checked


def identity_names(rules: Mapping[str, Rule]) -> list[str]:
    """The parameters that can change results (``identity=True``), in rule order."""
    return [name for name, rule in rules.items() if rule.identity]
