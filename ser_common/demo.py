"""Run every lesson notebook on the synthetic corpus with quick settings (``make demo``).

The executed copies go to ``$SER_RUNS_DIR/demo/`` (``./runs/demo`` by default); the
source notebooks in ``notebooks/`` are never modified. The same parameter table, made
smaller still, is what the test suite injects before nbval executes the notebooks.

    python -m ser_common.demo                 # all notebooks
    python -m ser_common.demo 01_tim_net      # only some
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"

#: Quick settings per notebook: enough epochs to see learning on the synthetic corpus,
#: few enough folds to finish in minutes on 2 cores.
DEMO_PARAMETERS: dict[str, dict] = {
    "00_data_tour": {"dataset": "synthetic"},
    "01_tim_net": {"dataset": "synthetic", "epochs": 60, "folds": 5, "max_folds": 2, "jit_compile": False},
    "02_cktim_net": {"dataset": "synthetic", "epochs": 20, "folds": 5, "max_folds": 1, "n_tabs": [1, 3]},
}


def notebooks() -> list[Path]:
    """The lesson notebooks, in order (``notebooks/NN_name.ipynb``)."""
    if not NOTEBOOK_DIR.is_dir():
        raise FileNotFoundError(
            f"{NOTEBOOK_DIR} not found: run the demo from a clone of the repository (pip install -e .)"
        )
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def execute(notebook: Path, output: Path, parameters: dict, *, cwd: Path = REPO, log_output: bool = False) -> Path:
    """Execute ``notebook`` with papermill, injecting ``parameters``; write it to ``output``."""
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(notebook), str(output), parameters=parameters, cwd=str(cwd), kernel_name="python3",
        progress_bar=False, log_output=log_output,
    )
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="notebook names to run (default: all)")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: $SER_RUNS_DIR/demo or ./runs/demo")
    args = parser.parse_args(argv)

    output_dir = args.output_dir or Path(os.environ.get("SER_RUNS_DIR", "runs")) / "demo"
    selected = [nb for nb in notebooks() if not args.only or nb.stem in args.only]
    unknown = set(args.only) - {nb.stem for nb in notebooks()}
    if unknown:
        parser.error(f"unknown notebook(s) {sorted(unknown)}; available: {[nb.stem for nb in notebooks()]}")
    print(f"running {len(selected)} notebook(s) on the synthetic corpus; executed copies in {output_dir}/")
    timings = []
    for notebook in selected:
        parameters = DEMO_PARAMETERS.get(notebook.stem, {"dataset": "synthetic"})
        print(f"\n== {notebook.name}  {parameters}", flush=True)
        start = time.perf_counter()
        execute(notebook, output_dir / notebook.name, parameters, log_output=True)
        timings.append((notebook.name, time.perf_counter() - start))
    print("\nfinished:")
    for name, seconds in timings:
        print(f"  {name:28s} {seconds:6.0f} s  -> {output_dir / name}")
    print("Open them with `make lab`, or run a notebook on a real corpus as the README shows.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
