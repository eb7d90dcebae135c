"""The batch runner's wall time on a small synthetic grid: serial vs local pool vs a 2-worker Dask LocalCluster.

    .venv/bin/python benchmarks/bench_batch.py [--jobs 8] [--output benchmarks/results/bench_batch.txt]

Each job is one tiny run of the CkTIM notebook (PyTorch TIM, 1 TAB, a few epochs, one fold)
on the synthetic corpus, each with its own results file. The same grid runs three times
from scratch: one job at a time (1 worker, 2 threads each), on the local process pool (2
workers, 1 thread each), and on a Dask LocalCluster on 127.0.0.1 (2 workers, 1 thread each).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ser_common import batch, make_synthetic  # noqa: E402


def grid(folder: Path, data: Path, n_jobs: int) -> Path:
    jobs = [{"notebook": "02_cktim_net", "name": f"job{i}", "parameters": {"seed": i}} for i in range(n_jobs)]
    defaults = {"dataset": "synthetic", "data_dir": str(data), "models": "tim", "n_tabs": [1], "epochs": 5, "folds": 3,
                "max_folds": 1, "progress": False, "results_dir": str(folder / "results")}
    path = folder / "grid.yaml"
    path.write_text(yaml.safe_dump({"output_dir": str(folder / "out"), "defaults": defaults, "jobs": jobs}))
    return path


def timed(label: str, n_jobs: int, data: Path, workers: int, scheduler: str | None = None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        jobs = batch.load_grid(grid(Path(tmp), data, n_jobs))
        start = time.perf_counter()
        outcome = batch.run_jobs(jobs, workers=workers, scheduler=scheduler)
        seconds = time.perf_counter() - start
    assert all(outcome.values()), f"{label}: failed jobs {outcome}"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    from dask.distributed import LocalCluster

    with tempfile.TemporaryDirectory() as data_tmp:
        os.environ["SER_CACHE_DIR"] = str(Path(data_tmp) / "cache")
        data = make_synthetic(Path(data_tmp) / "synthetic")
        timed("warm-up (feature cache)", 1, data, 1)
        serial = timed("serial", args.jobs, data, 1)
        pool = timed("local pool", args.jobs, data, 2)
        with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
            dask = timed("dask", args.jobs, data, 2, cluster.scheduler_address)
    lines = [f"$ .venv/bin/python benchmarks/bench_batch.py --jobs {args.jobs}",
             f"# {args.jobs} tiny CkTIM-notebook jobs on the synthetic corpus, {os.cpu_count()} CPUs, "
             f"load average at the end {os.getloadavg()[0]:.1f}",
             f"serial (1 worker x 2 threads):       {serial:7.1f} s",
             f"local pool (2 workers x 1 thread):   {pool:7.1f} s   ({serial / pool:.2f}x)",
             f"Dask LocalCluster (2 x 1 thread):    {dask:7.1f} s   ({serial / dask:.2f}x)"]
    print("\n".join(lines))
    if args.output:
        args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
