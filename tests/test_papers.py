"""Every paper folder has the same shape, imports no framework, and matches its notebook.

A new paper is a folder ``papers/<paper>/`` (see README "Adding a paper"):

* ``__init__.py`` with ``TITLE``, ``NOTEBOOK`` and ``FRAMEWORK``, importing no framework;
* ``features.py``, ``model.py``, ``recipe.py`` and ``reference.json``;
* for a paper taught through :class:`ser_common.experiment.Experiment`: ``features.feature_spec``,
  ``recipe.PARAMETERS`` / ``SELECTIONS`` / ``MONITOR``, and a notebook whose parameters cell
  defines exactly the parameters the experiment checks;
* ``reference.json`` entries with machine-readable ``protocol`` and ``selection``.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ser_common import splits
from ser_common.experiment import common_rules
from ser_common.training import SELECTIONS

REPO = Path(__file__).resolve().parents[1]
PAPERS = sorted(p.name for p in (REPO / "papers").iterdir() if (p / "__init__.py").is_file())


def test_the_four_papers_and_the_baseline_are_here():
    assert {"tim_net", "cktim_net", "glam", "light_sernet", "classical"} <= set(PAPERS)


@pytest.mark.parametrize("paper", PAPERS)
def test_paper_folder_has_the_common_shape(paper):
    folder = REPO / "papers" / paper
    for name in ("__init__.py", "features.py", "model.py", "recipe.py", "reference.json"):
        assert (folder / name).is_file(), f"papers/{paper}/ lacks {name}"
    package = importlib.import_module(f"papers.{paper}")
    for constant in ("TITLE", "NOTEBOOK", "FRAMEWORK"):
        assert getattr(package, constant, "") is not None and hasattr(package, constant), f"papers/{paper}: {constant}"
    assert package.__doc__ and len(package.__doc__) > 100, f"papers/{paper}/__init__.py should say what the paper is"


@pytest.mark.parametrize("paper", PAPERS)
def test_importing_a_paper_starts_no_framework(paper):
    code = (f"import sys, papers.{paper}, papers.{paper}.recipe, papers.{paper}.features\n"
            "print([m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules])")
    found = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", f"papers.{paper} imports {found.stdout.strip()} (keep them inside functions)"


@pytest.mark.parametrize("paper", PAPERS)
def test_reference_entries_are_machine_readable(paper):
    reference = json.loads((REPO / "papers" / paper / "reference.json").read_text())
    for entry in reference["entries"]:
        assert entry["protocol"].replace("_", "").isalnum(), f"{paper}: protocol {entry['protocol']!r} is prose"
        assert entry["selection"] in SELECTIONS, f"{paper}: selection {entry['selection']!r} not in {sorted(SELECTIONS)}"


EXPERIMENT_PAPERS = [p for p in PAPERS if hasattr(importlib.import_module(f"papers.{p}.recipe"), "PARAMETERS")]


def _parameters_cell_names(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return [target.id for node in tree.body if isinstance(node, ast.Assign) for target in node.targets]


@pytest.mark.parametrize("paper", EXPERIMENT_PAPERS)
def test_notebook_parameters_are_exactly_the_checked_ones(paper):
    recipe = importlib.import_module(f"papers.{paper}.recipe")
    package = importlib.import_module(f"papers.{paper}")
    rules = {**common_rules({**splits.PROTOCOLS, **getattr(recipe, "PROTOCOLS", {})}, tuple(recipe.SELECTIONS)),
             **recipe.PARAMETERS}
    names = _parameters_cell_names(REPO / "notebooks" / f"{package.NOTEBOOK}.ipynb")
    assert sorted(names) == sorted(rules), (
        f"{package.NOTEBOOK}: the parameters cell and the checked parameters differ: "
        f"only in the cell {sorted(set(names) - set(rules))}, only checked {sorted(set(rules) - set(names))}")
    assert set(recipe.SELECTIONS) <= set(SELECTIONS)
    assert callable(importlib.import_module(f"papers.{paper}.features").feature_spec)
