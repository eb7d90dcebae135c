"""Shared fixtures: where the real data is, and a small synthetic corpus built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
