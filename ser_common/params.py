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

import pathlib
from collections.abc import Mapping
from dataclasses import dataclass
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
    words: str  # the allowed values in words, before the bounds and "or None"
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    none: bool = False
    exists: bool = False
    identity: bool = True

    def allowed(self) -> str:
        """The allowed values, in words."""
        text = self.words
        if (self.min, self.max) != (None, None):
            text += f" in [{'-inf' if self.min is None else self.min}, {'inf' if self.max is None else self.max}]"
        return text + (" or None" if self.none else "")

    def convert(self, value: Any) -> Any:
        """The checked value; raises ``ValueError`` with the reason."""
        if value is None or (isinstance(value, str) and value.strip() == "None" and self.kind != "str"):
            if self.none:
                return None
            raise ValueError("None is not allowed")
        if self.kind == "bool":
            text = str(value).strip().lower()  # True -> "true", 1 -> "1"
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
            items = [value] if isinstance(value, int) else value
            if isinstance(value, str):  # from the command line: "[1, 3]", "glam, no_fusion", "[glam, 'mhsa']", "3"
                items = [item.strip().strip("'\"") for item in value.strip().strip("[]()").split(",") if item.strip()]
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
    return Rule("int", "an integer", min=min, max=max, none=none, identity=identity)


def Float(min: float | None = None, max: float | None = None, *, none: bool = False, identity: bool = True) -> Rule:  # noqa: N802
    """A finite number, optionally bounded."""
    return Rule("float", "a number", min=min, max=max, none=none, identity=identity)


def Bool(*, identity: bool = True) -> Rule:  # noqa: N802
    """True / False, also written ``"true"``, ``"False"``, ``"yes"``, ``"no"``, ``1``, ``0``."""
    return Rule("bool", "True or False (also 'true'/'false', 'yes'/'no', 1/0)", identity=identity)


def Choice(*choices: Any, none: bool = False, identity: bool = True) -> Rule:  # noqa: N802
    """One of ``choices``."""
    return Rule("choice", " | ".join(map(repr, choices)), choices=tuple(choices), none=none, identity=identity)


def IntList(min: int | None = None, max: int | None = None, *, none: bool = False, identity: bool = True) -> Rule:  # noqa: N802
    """A non-empty list of integers; ``"[1, 3]"`` and a single ``3`` are accepted too."""
    return Rule("int_list", "a list of integers", min=min, max=max, none=none, identity=identity)


def ChoiceList(*choices: Any, identity: bool = True) -> Rule:  # noqa: N802
    """A non-empty list of ``choices``; ``"a, b"`` and ``"[a, b]"`` are accepted too."""
    return Rule("choice_list", "a list of " + " | ".join(map(repr, choices)), choices=tuple(choices), identity=identity)


def Path(*, exists: bool = False, none: bool = True, identity: bool = False) -> Rule:  # noqa: N802
    """A file-system path (returned as a string); ``exists=True`` requires it to exist."""
    return Rule("path", "a path that exists" if exists else "a path", exists=exists, none=none, identity=identity)


def Str(*, none: bool = False, identity: bool = True) -> Rule:  # noqa: N802
    """Any string."""
    return Rule("str", "a string", none=none, identity=identity)


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
        except ValueError as error:
            problems.append(f"  {name} = {values[name]!r}: {error}; allowed: {rule.allowed()}")
    if problems:
        raise ParameterError("invalid notebook parameter(s), nothing was run:\n" + "\n".join(problems))
    return checked
