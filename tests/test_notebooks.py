"""Every lesson notebook runs end to end: papermill injects small parameters, nbval executes.

This is the check that `make demo` and a student's "Run all" will work. Each notebook is
prepared with papermill (``prepare_only``: parameters injected, nothing executed) and then
executed cell by cell by nbval (``--nbval-lax``: errors fail, outputs are not compared) in
a separate pytest process, with its data, cache and run folders in a temporary directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ser_common.demo import notebooks, quick_parameters

NOTEBOOK_NAMES = [nb.stem for nb in notebooks()]


def test_every_notebook_has_test_and_demo_settings():
    """Each notebook keeps its quick settings in its metadata; the test ones must be a subset of its parameters."""
    nbformat = pytest.importorskip("nbformat")
    for notebook in notebooks():
        settings = nbformat.read(notebook, as_version=4).metadata.get("ser_notebooks", {})
        assert {"demo", "test"} <= set(settings), f"{notebook.name}: add ser_notebooks.demo and .test to its header"
        parameters_cell = next(c.source for c in nbformat.read(notebook, as_version=4).cells
                               if "parameters" in c.get("metadata", {}).get("tags", []))
        for purpose in ("demo", "test"):
            for name in settings[purpose]:
                assert f"{name} =" in parameters_cell, f"{notebook.name}: {purpose} setting {name!r} is not a parameter"


def test_every_notebook_has_a_parameters_cell():
    nbformat = pytest.importorskip("nbformat")
    for notebook in notebooks():
        cells = nbformat.read(notebook, as_version=4).cells
        tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{notebook.name} needs exactly one cell tagged 'parameters'"
        assert "dataset" in tagged[0].source and "data_dir" in tagged[0].source
        injected = [c for c in cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
        assert not injected, f"{notebook.name} is a source notebook: remove the papermill-injected cell"
        assert all(not c.get("outputs") for c in cells if c.cell_type == "code"), (
            f"{notebook.name}: source notebooks are kept without outputs (executed runs go to results/)"
        )


def test_papermill_sees_every_parameter():
    """A line papermill cannot parse (e.g. an ``=`` in its comment) silently drops out of `--help-notebook`."""
    papermill = pytest.importorskip("papermill")
    from conftest import notebook_defaults

    for notebook in notebooks():
        inferred = set(papermill.inspect_notebook(str(notebook)))
        assigned = set(notebook_defaults(notebook.stem))
        assert assigned == inferred, f"{notebook.name}: papermill does not see {sorted(assigned - inferred)}"


@pytest.mark.notebook
@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_runs_end_to_end_under_nbval(name, tmp_path, synthetic_root):
    papermill = pytest.importorskip("papermill")
    source = next(nb for nb in notebooks() if nb.stem == name)
    prepared = tmp_path / source.name
    parameters = {**quick_parameters(source, "test"), "data_dir": str(synthetic_root)}
    if "progress = " in source.with_suffix(".py").read_text(encoding="utf-8"):
        parameters["progress"] = False  # keep nbval logs short
    papermill.execute_notebook(str(source), str(prepared), parameters=parameters, prepare_only=True,
                               kernel_name="python3", progress_bar=False)
    env = {
        **os.environ,
        "SER_DATA_DIR": str(synthetic_root.parent),
        "SER_CACHE_DIR": str(tmp_path / "cache"),
        "SER_RUNS_DIR": str(tmp_path / "runs"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    command = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-cell-timeout=900", "-p", "no:cacheprovider",
               "-q", str(prepared)]
    finished = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    assert finished.returncode == 0, f"nbval failed on {name}:\n{finished.stdout[-6000:]}\n{finished.stderr[-2000:]}"
    assert " passed" in finished.stdout and "failed" not in finished.stdout.splitlines()[-1]
