"""Run every lesson notebook on the synthetic corpus with quick settings (``make demo``).

Each notebook keeps its own quick settings in its metadata (``ser_notebooks.demo`` for
the demo, the smaller ``ser_notebooks.test`` for the test suite; in the paired ``.py``
file they are in the header). The executed copies go to ``$SER_RUNS_DIR/demo/``
(``./runs/demo`` by default); the source notebooks are never modified.

    python -m ser_common.demo                 # all notebooks
    python -m ser_common.demo 01_tim_net      # only some
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from ser_common.experiment import repository_root

NOTEBOOK_DIR = repository_root() / "notebooks"


def notebooks() -> list[Path]:
    """The lesson notebooks, in order (``notebooks/NN_name.ipynb``)."""
    if not NOTEBOOK_DIR.is_dir():
        raise FileNotFoundError(f"{NOTEBOOK_DIR} not found: run the demo from a clone of the repository (pip install -e .)")
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def quick_parameters(notebook: Path, purpose: str = "demo") -> dict:
    """The notebook's own quick settings (``"demo"`` or ``"test"``), on the synthetic corpus."""
    metadata = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    return {"dataset": "synthetic", **metadata.get("ser_notebooks", {}).get(purpose, {})}


def main(argv: list[str] | None = None) -> int:
    import papermill

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="notebook names to run (default: all)")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: $SER_RUNS_DIR/demo or ./runs/demo")
    args = parser.parse_args(argv)
    available = {nb.stem: nb for nb in notebooks()}
    unknown = sorted(set(args.only) - set(available))
    if unknown:
        parser.error(f"unknown notebook(s) {unknown}; available: {sorted(available)}")
    output_dir = args.output_dir or Path(os.environ.get("SER_RUNS_DIR", "runs")) / "demo"
    selected = [available[name] for name in (args.only or sorted(available))]
    print(f"running {len(selected)} notebook(s) on the synthetic corpus; executed copies in {output_dir}/")
    output_dir.mkdir(parents=True, exist_ok=True)
    finished = []
    for notebook in selected:
        parameters = quick_parameters(notebook)
        print(f"\n== {notebook.name}  {parameters}", flush=True)
        start = time.perf_counter()
        papermill.execute_notebook(str(notebook), str(output_dir / notebook.name), parameters=parameters,
                                   cwd=str(repository_root()), kernel_name="python3", progress_bar=False,
                                   log_output=True)
        finished.append(f"  {notebook.name:28s} {time.perf_counter() - start:6.0f} s  -> {output_dir / notebook.name}")
    print("\nfinished:", *finished, sep="\n")
    print("Open them with `make lab`, or run a notebook on a real corpus as the README shows.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
