"""The repository's promises about itself: environment files agree, notebooks are paired, commands match the README."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_name(name)] = version.strip()
    return pins


def test_environment_yml_names_the_same_packages_as_pyproject():
    yaml = pytest.importorskip("yaml")
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_python = [d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert conda_python == ["python=3.11"]
    in_yml = {_name(r) for r in pip_section if not r.startswith("-e")}
    project = _pyproject()["project"]
    in_pyproject = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    assert in_yml == in_pyproject


def test_environment_yml_versions_are_the_locked_ones():
    yaml = pytest.importorskip("yaml")
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = _pins()
    for requirement in pip_section:
        if requirement.startswith("-e"):
            continue
        name, version = requirement.split("==")
        assert pins[_name(name)].split("+")[0] == version, f"{name}: environment.yml {version} vs constraints.txt"


def test_torch_is_pinned_to_the_cpu_wheel_version():
    dependencies = _pyproject()["project"]["dependencies"]
    assert "torch==2.13.0" in dependencies
    assert _pins()["torch"].startswith("2.13.0")


def test_every_runtime_dependency_is_locked():
    project = _pyproject()["project"]
    pins = _pins()
    missing = [r for r in project["dependencies"] + project["optional-dependencies"]["dev"] if _name(r) not in pins]
    assert not missing, f"run `make lock`: {missing} are not in constraints.txt"


def test_readme_commands_are_what_ci_and_the_makefile_run():
    readme = (REPO / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S).group(1)
    assert [line.strip() for line in first_block.splitlines() if line.strip() and not line.startswith("#")] == [
        "make demo",
        "make test",
    ]
    ci = (REPO / ".ci" / "run").read_text()
    assert [line for line in ci.splitlines() if line and not line.startswith("#")][-1] == "make test"
    makefile = (REPO / "Makefile").read_text()
    for target in ("demo:", "test:", "lab:"):
        assert re.search(rf"^{target} venv", makefile, re.M), f"make {target[:-1]} must create the venv first"


def test_notebooks_are_paired_and_in_sync():
    jupytext = pytest.importorskip("jupytext")
    notebook_dir = REPO / "notebooks"
    ipynbs = sorted(notebook_dir.glob("*.ipynb"))
    pys = sorted(p for p in notebook_dir.glob("*.py") if "jupytext" in p.read_text()[:400])
    assert ipynbs, "no notebooks found"
    assert {p.stem for p in ipynbs} == {p.stem for p in pys}, "every notebooks/*.ipynb needs its py:percent twin"
    for notebook in ipynbs:
        a = jupytext.read(notebook)
        b = jupytext.read(notebook.with_suffix(".py"))
        cells = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
        assert cells(a) == cells(b), f"{notebook.name} and its .py differ: run `make sync` (jupytext --sync)"


def test_executed_runs_are_papermill_outputs_with_their_results():
    nbformat = pytest.importorskip("nbformat")
    for executed in (REPO / "results").rglob("*.ipynb"):
        if "logs" in executed.relative_to(REPO / "results").parts:
            continue  # the batch runner's scratch copies (git-ignored), not committed runs
        cells = nbformat.read(executed, as_version=4).cells
        assert any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells), (
            f"{executed} should be a papermill run (with its injected parameters), not a copy of a source notebook"
        )
        assert list(executed.parent.glob("*.json")), f"{executed} has no results JSON beside it"
