"""Run a grid of notebook jobs with papermill: resumable, in parallel, locally or on Dask.

    python -m ser_common.batch GRID.yaml                      # a local process pool
    python -m ser_common.batch GRID.yaml --scheduler tcp://host:8786   # an existing Dask cluster
    python -m ser_common.batch GRID.yaml --dry-run            # list the jobs
    python -m ser_common.batch GRID.yaml --only 'NAME*'       # only the jobs whose name matches

A grid file::

    output_dir: results/emodb            # executed notebooks; logs in <output_dir>/logs/
    defaults: {dataset: emodb, data_dir: ../shared/data/emodb, progress: false}
    jobs:
      - notebook: 03_glam                # notebooks/03_glam.ipynb
        name: 03_glam_{protocol}         # executed notebook name; {parameter} placeholders allowed
        grid: {protocol: [stratified_10fold, speaker_independent]}   # one job per combination
        parameters: {results_dir: results/emodb}
        split_folds: 10                  # optional: one job per fold (parameter only_folds), then a render
      - notebook: 02_cktim_net
        name: trial_omega_24
        parameters: {omega_0: 24.0}
        scratch: true                    # optional: keep only its results file (executed copy in logs/,
                                         # the render of a split_folds job too)
      - notebook: 02_cktim_net
        after: [trial_omega_24]          # optional: runs once these jobs have finished (with the renders)
      - notebook: 05_leaderboard
        after_all: true                  # optional: runs once every job above it has finished

Each job is one papermill run of a notebook, which records every fold in its results file
as it finishes; a job that finished is marked in ``<output_dir>/logs/<name>.done`` and
skipped next time (with the same parameters), and an interrupted one resumes its folds. A
failed job is reported with the end of its log and the others go on. ``split_folds`` runs
the folds of one results file in parallel (the file is locked and merged, see
:mod:`ser_common.results`; their executed copies go to ``logs/``) and then renders the
notebook once over all of them. A fold job runs its notebook only up to the cell tagged
``train`` (the figures and exercises after it belong to the render: TIM-Net's exercise 5
alone trains four models). ``after_all`` jobs (a leaderboard) run last.

Jobs share the machine: each gets ``threads = cores // workers`` unless its parameters
say otherwise. With ``--scheduler`` the jobs run on the workers of a Dask distributed
cluster, which must see this repository and the data at the same paths.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ser_common.experiment import repository_root

__all__ = ["Job", "load_grid", "main", "run_job", "run_jobs", "training_part"]


@dataclass
class Job:
    """One papermill run: a notebook, its parameters, where the executed copy goes."""

    notebook: str
    name: str
    parameters: dict
    output_dir: Path
    render_only: bool = False  # the final render of a split job (all folds done)
    depends_on: list[str] = field(default_factory=list)
    phase: int = 0  # 0: fold and plain jobs, 1: renders of split jobs, 2: after_all jobs
    scratch: bool = False  # a fold part: its executed copy goes to logs/, only the render is kept
    train_only: bool = False  # a fold part: run the notebook up to its cell tagged "train"

    @property
    def output(self) -> Path:
        return self.output_dir / ("logs" if self.scratch else "") / f"{self.name}.ipynb"

    @property
    def done_marker(self) -> Path:
        return self.output_dir / "logs" / f"{self.name}.done"

    def is_done(self) -> bool:
        return self.done_marker.exists() and json.loads(self.done_marker.read_text()) == self.parameters


def load_grid(path: str | os.PathLike) -> list[Job]:
    """Read a grid file (layout in the module docstring) into jobs; errors name the entry."""
    import yaml

    path = Path(path)
    grid = yaml.safe_load(path.read_text()) or {}  # a missing file: FileNotFoundError naming it
    output_dir = repository_root() / grid.get("output_dir", "runs/batch")  # relative paths: from the repository root
    available = {p.stem for p in (repository_root() / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    jobs: list[Job] = []
    for position, entry in enumerate(grid.get("jobs") or []):
        notebook = entry.get("notebook")
        if notebook not in available:
            raise ValueError(f"{path}: job {position + 1} names notebook {notebook!r}; available: {sorted(available)}")
        axes = entry.get("grid") or {}
        for values in itertools.product(*axes.values()):
            parameters = {**(grid.get("defaults") or {}), **(entry.get("parameters") or {}), **dict(zip(axes, values))}
            name = entry.get("name", notebook + "".join(f"_{k}-{v}" for k, v in zip(axes, values))).format(**parameters)
            if entry.get("split_folds"):
                parts = [Job(notebook, f"{name}.fold{i}", {**parameters, "only_folds": [i]}, output_dir, scratch=True,
                             train_only=True)
                         for i in range(int(entry["split_folds"]))]
                jobs += parts
                jobs.append(Job(notebook, name, parameters, output_dir, render_only=True, phase=1,
                                depends_on=[part.name for part in parts], scratch=bool(entry.get("scratch"))))
            elif entry.get("after_all"):
                jobs.append(Job(notebook, name, parameters, output_dir, phase=2, depends_on=[j.name for j in jobs]))
            else:  # "after": jobs it needs (e.g. trials that its tables gather); it runs with the renders
                after = list(entry.get("after") or [])
                jobs.append(Job(notebook, name, parameters, output_dir, phase=1 if after else 0, depends_on=after,
                                scratch=bool(entry.get("scratch"))))
    names = [job.name for job in jobs]
    unknown = sorted({name for job in jobs for name in job.depends_on} - set(names))
    if unknown:
        raise ValueError(f"{path}: 'after' names jobs that the grid does not define: {unknown}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{path}: several jobs would write the same executed notebook: {duplicates}; give them names")
    return jobs


def training_part(notebook: Path, destination: Path) -> Path:
    """The notebook cut after its last cell tagged ``train``, written to ``destination``
    (``notebook`` itself when no cell is tagged: then the whole notebook runs)."""
    import nbformat

    contents = nbformat.read(notebook, as_version=4)
    tagged = [i for i, cell in enumerate(contents.cells) if "train" in cell.metadata.get("tags", [])]
    if tagged:
        contents.cells = contents.cells[: tagged[-1] + 1]
        nbformat.write(contents, destination)
    return destination if tagged else notebook


def run_job(job: Job, threads: int) -> tuple[str, bool, float, str]:
    """Run one job in a papermill subprocess; returns (name, ok, seconds, end of the log)."""
    root = repository_root()
    source = root / "notebooks" / f"{job.notebook}.py"
    has_threads = source.is_file() and "\nthreads = " in source.read_text(encoding="utf-8")
    parameters = {**({"threads": threads} if has_threads else {}), **job.parameters}
    log = job.output_dir / "logs" / f"{job.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    scratch_dir = tempfile.TemporaryDirectory(prefix="ser-batch-")
    notebook = root / "notebooks" / f"{job.notebook}.ipynb"
    if job.train_only:
        notebook = training_part(notebook, Path(scratch_dir.name) / notebook.name)
    command = [sys.executable, "-m", "papermill", str(notebook),
               str(job.output), "--log-output", "--no-progress-bar", "-y", json.dumps(parameters)]
    start = time.perf_counter()
    with scratch_dir, open(log, "w") as handle:
        finished = subprocess.run(command, cwd=root, stdout=handle, stderr=subprocess.STDOUT,
                                  # its own numba cache: parallel kernels compiling librosa's functions into
                                  # one shared cache are the suspected cause of segfaults seen in tests
                                  env={**os.environ, "PYTHONUNBUFFERED": "1", "NUMBA_CACHE_DIR": os.path.join(
                                      tempfile.gettempdir(), "ser-notebooks-numba", job.name)})
    seconds = time.perf_counter() - start
    if finished.returncode == 0:
        job.done_marker.write_text(json.dumps(job.parameters))
    tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
    return job.name, finished.returncode == 0, seconds, tail


def run_jobs(jobs: list[Job], *, workers: int, scheduler: str | None = None) -> dict[str, bool]:
    """Run the jobs not done yet (fold jobs before the renders that need them); report each one."""
    todo = [job for job in jobs if not job.is_done()]
    skipped = len(jobs) - len(todo)
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    outcome: dict[str, bool] = {}
    with contextlib.ExitStack() as stack:  # on leaving: the bar closes, the executor shuts down, the client closes
        if scheduler:  # a Dask cluster, through the same concurrent.futures interface as the local pool
            from dask.distributed import Client

            executor = stack.enter_context(Client(scheduler)).get_executor(pure=False)
        else:
            executor = ProcessPoolExecutor(max_workers=workers)
        stack.enter_context(executor)
        bar = stack.enter_context(tqdm(total=len(todo), desc="jobs", unit="job"))
        if skipped:
            print(f"{skipped} job(s) already done (logs/*.done), skipped")
        for phase in (0, 1, 2):  # fold jobs and plain jobs first, then the renders, then after_all jobs
            batch = []
            for job in (job for job in todo if job.phase == phase):
                failed = [name for name in job.depends_on if not outcome.get(name, True)]
                if failed:
                    outcome[job.name] = False
                    bar.update()
                    bar.write(f"NOT RUN {job.name}: it needs {failed}, which failed")
                else:
                    batch.append(job)
            for future in as_completed([executor.submit(run_job, job, threads) for job in batch]):
                name, ok, seconds, tail = future.result()
                outcome[name] = ok
                bar.update()
                bar.write(f"{'done  ' if ok else 'FAILED'} {name} ({seconds:.0f} s)"
                          + ("" if ok else f"\n--- end of its log ---\n{tail}"))
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("grid", help="the grid file (YAML)")
    parser.add_argument("--workers", type=int, default=None, help="parallel jobs (default: the CPU cores)")
    parser.add_argument("--scheduler", default=None, help="address of a Dask distributed scheduler, e.g. tcp://host:8786")
    parser.add_argument("--dry-run", action="store_true", help="list the jobs and exit")
    parser.add_argument("--only", default=None, metavar="PATTERN",
                        help="run only the jobs whose name matches this shell pattern (a split job: its folds too)")
    args = parser.parse_args(argv)
    jobs = load_grid(args.grid)
    if args.only:
        jobs = [job for job in jobs if fnmatch.fnmatchcase(job.name.rsplit(".fold", 1)[0] if job.train_only
                                                           else job.name, args.only)]
        if not jobs:
            parser.error(f"--only {args.only!r} matches no job of {args.grid}; list them with --dry-run")
    if args.dry_run:
        for job in jobs:
            state = "done" if job.is_done() else "to do"
            print(f"{state:6s} {job.name}: {job.notebook} {json.dumps(job.parameters)}")
        return 0
    outcome = run_jobs(jobs, workers=args.workers or os.cpu_count() or 1, scheduler=args.scheduler)
    failed = sorted(name for name, ok in outcome.items() if not ok)
    print(f"{len(outcome) - len(failed)} job(s) finished, {len(failed)} failed" + (f": {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
