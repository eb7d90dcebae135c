"""Shared fixtures: where the real data is, and a small synthetic corpus built once per session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# librosa compiles numba functions with cache=True into its own __pycache__; two pytest workers
# (and their nbval kernels) compiling the same function at once is the suspected cause of kernel
# segfaults seen in fresh environments. Each worker gets its own numba cache (set before any import).
os.environ["NUMBA_CACHE_DIR"] = os.path.join(
    tempfile.gettempdir(), f"ser-notebooks-numba-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}")

REPO = Path(__file__).resolve().parents[1]
#: The shared data folder beside the checkout (CI has it; a user's clone usually does not).
SHARED_DATA = REPO.parent / "shared" / "data"
EMODB_WAV = SHARED_DATA / "emodb" / "wav"


def require_emodb() -> Path:
    """Skip (with the reason) unless the real EMO-DB copy is beside the checkout; return its root."""
    if not EMODB_WAV.is_dir():
        pytest.skip(f"real EMO-DB not found at {EMODB_WAV} (it is present in CI; see README 'Getting the corpora')")
    return EMODB_WAV.parent


@pytest.fixture(scope="session")
def emodb_root() -> Path:
    return require_emodb()


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """The default synthetic corpus, generated once for the whole test session."""
    from ser_common import make_synthetic

    return make_synthetic(tmp_path_factory.mktemp("data") / "synthetic")


@pytest.fixture(scope="module")
def torch_single_thread():
    """Run a module's PyTorch tests on one thread.

    The tensors in unit tests are tiny; a second OpenMP thread only adds waiting when other
    processes share the cores (several times slower on a busy 2-core machine).
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# --------------------------------------------------------------------------------------------------
# Experiment: parameter sets of the real paper packages, and a quick feature extraction
# --------------------------------------------------------------------------------------------------

#: Run-control parameters every notebook takes (none of them may change a result).
RUN_CONTROL = ("data_dir", "max_folds", "only_folds", "results_dir", "results_path", "resume", "overwrite", "threads", "bad_files",
               "progress")


def notebook_defaults(notebook: str) -> dict:
    """The values of a paper notebook's ``parameters`` cell (literals only, as papermill requires)."""
    import ast
    import json

    cells = json.loads((REPO / "notebooks" / f"{notebook}.ipynb").read_text())["cells"]
    cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return {target.id: ast.literal_eval(node.value)
            for node in tree.body if isinstance(node, ast.Assign) for target in node.targets}


def _test_parameters(notebook: str, root, results_dir, test_values: dict, overrides: dict) -> dict:
    # Start from the notebook's own cell, so a parameter added there reaches every test.
    values = {**notebook_defaults(notebook), "dataset": "synthetic", "data_dir": str(root),
              "protocol": "stratified_10fold", "folds": 3, "seed": 0, "epochs": 2, "batch_size": 16,
              "results_dir": str(results_dir), "progress": False, **test_values}
    values.update(overrides)
    return values


def tim_net_parameters(root, results_dir, **overrides) -> dict:
    """A complete, valid parameter namespace for ``Experiment("tim_net", ...)`` on ``root``."""
    return _test_parameters("01_tim_net", root, results_dir, {"selection": "last", "jit_compile": False}, overrides)


def cktim_net_parameters(root, results_dir, **overrides) -> dict:
    """A complete, valid parameter namespace for ``Experiment("cktim_net", ...)`` on ``root``."""
    return _test_parameters("02_cktim_net", root, results_dir, {"n_tabs": [1, 3]}, overrides)


QUICK_SPEC_FIELDS = dict(name="quick", kind="logmel", sample_rate=16_000, signal_length=4_000, n_fft=256,
                         hop_length=256, center=False, n_mels=8)


@pytest.fixture
def quick_features(monkeypatch, tmp_path_factory):
    """Make ``Experiment.load_features`` cheap: a tiny log-mel spec, one process, a session-wide cache.

    Only the computation changes: the paper's own spec still defines the run's identity,
    and every file is still read and checked (unusable files are still reported or skipped).
    """
    import ser_common.experiment as experiment
    from ser_common.features import FeatureSpec, extract_features

    cache = tmp_path_factory.getbasetemp() / "quick_feature_cache"
    quick = FeatureSpec(**QUICK_SPEC_FIELDS)

    def extract_quickly(manifest, spec, **kwargs):
        kwargs.update(cache_dir=cache, n_jobs=1)
        return extract_features(manifest, quick.replace(min_duration_s=spec.min_duration_s, min_peak=spec.min_peak),
                                **kwargs)

    monkeypatch.setattr(experiment, "extract_features", extract_quickly)
    return quick
