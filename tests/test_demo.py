"""ser_common.demo: each notebook's quick settings live in its metadata and are valid parameters."""

from __future__ import annotations

import importlib
import json

import pytest

from ser_common import demo
from ser_common.experiment import common_rules
from ser_common.params import check_parameters
from ser_common.splits import PROTOCOLS


def test_quick_parameters_read_the_notebook_metadata(tmp_path):
    notebook = tmp_path / "09_x.ipynb"
    notebook.write_text(json.dumps({"metadata": {"ser_notebooks": {"demo": {"epochs": 5}, "test": {"epochs": 1}}},
                                    "cells": [], "nbformat": 4, "nbformat_minor": 5}))
    assert demo.quick_parameters(notebook) == {"dataset": "synthetic", "epochs": 5}
    assert demo.quick_parameters(notebook, "test") == {"dataset": "synthetic", "epochs": 1}
    bare = tmp_path / "10_y.ipynb"
    bare.write_text(json.dumps({"metadata": {}, "cells": [], "nbformat": 4, "nbformat_minor": 5}))
    assert demo.quick_parameters(bare, "test") == {"dataset": "synthetic"}


def _paper_notebooks():
    papers = []
    for notebook in demo.notebooks():
        for paper in ("tim_net", "cktim_net", "glam", "light_sernet"):
            if importlib.import_module(f"papers.{paper}").NOTEBOOK == notebook.stem:
                papers.append(pytest.param(notebook, paper, id=notebook.stem))
    return papers


@pytest.mark.parametrize("notebook, paper", _paper_notebooks())
@pytest.mark.parametrize("purpose", ["demo", "test"])
def test_every_quick_setting_is_a_valid_parameter_of_its_notebook(notebook, paper, purpose):
    recipe = importlib.import_module(f"papers.{paper}.recipe")
    protocols = {**PROTOCOLS, **getattr(recipe, "PROTOCOLS", {})}
    rules = {**common_rules(protocols, tuple(recipe.SELECTIONS)), **recipe.PARAMETERS}
    settings = demo.quick_parameters(notebook, purpose)
    unknown = sorted(set(settings) - set(rules))
    assert not unknown, f"{notebook.name}: metadata ser_notebooks.{purpose} sets unknown parameters {unknown}"
    check_parameters(settings, {name: rules[name] for name in settings})  # raises with the reason
    assert settings["dataset"] == "synthetic"
