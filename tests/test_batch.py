"""The batch runner: grids expand into jobs, jobs run resumably, failures are reported, Dask runs them too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ser_common import batch
from ser_common.results import load_results

#: The cheapest real job: the CkTIM notebook's PyTorch TIM with one TAB for one epoch.
TINY = {"dataset": "synthetic", "models": "tim", "n_tabs": [1], "epochs": 1, "folds": 2, "progress": False}


def _grid(tmp_path: Path, jobs: list[dict], defaults: dict | None = None) -> Path:
    import yaml

    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "out"), "defaults": defaults or {}, "jobs": jobs}))
    return path


def test_grid_expands_into_named_jobs(tmp_path):
    path = _grid(tmp_path, [
        {"notebook": "03_glam", "name": "glam_{protocol}", "grid": {"protocol": ["stratified_10fold", "speaker_independent"]}},
        {"notebook": "01_tim_net", "grid": {"seed": [1, 2]}, "split_folds": 3},
    ], defaults={"dataset": "emodb"})
    jobs = batch.load_grid(path)
    names = [job.name for job in jobs]
    assert names[:2] == ["glam_stratified_10fold", "glam_speaker_independent"]
    assert jobs[0].parameters == {"dataset": "emodb", "protocol": "stratified_10fold"}
    folds = [job for job in jobs if job.notebook == "01_tim_net" and not job.render_only]
    renders = [job for job in jobs if job.render_only]
    assert len(folds) == 6 and len(renders) == 2
    assert folds[0].parameters["only_folds"] == [0] and "only_folds" not in renders[0].parameters
    assert renders[0].depends_on == ["01_tim_net_seed-1.fold0", "01_tim_net_seed-1.fold1", "01_tim_net_seed-1.fold2"]


def test_a_scratch_split_job_renders_into_logs_too(tmp_path):
    jobs = batch.load_grid(_grid(tmp_path, [{"notebook": "01_tim_net", "name": "draw", "split_folds": 2, "scratch": True},
                                            {"notebook": "01_tim_net", "name": "kept", "split_folds": 2}]))
    renders = {job.name: job for job in jobs if job.render_only}
    assert renders["draw"].output == tmp_path / "out" / "logs" / "draw.ipynb"
    assert renders["kept"].output == tmp_path / "out" / "kept.ipynb"


def test_grid_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="no_such_notebook"):
        batch.load_grid(_grid(tmp_path, [{"notebook": "no_such_notebook"}]))
    with pytest.raises(ValueError, match="same executed notebook"):
        batch.load_grid(_grid(tmp_path, [{"notebook": "03_glam", "name": "x"}, {"notebook": "01_tim_net", "name": "x"}]))
    with pytest.raises(FileNotFoundError):
        batch.load_grid(tmp_path / "missing.yaml")


@pytest.mark.notebook
def test_jobs_run_resume_and_report_failures(tmp_path, synthetic_root, monkeypatch):
    monkeypatch.setenv("SER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SER_RUNS_DIR", str(tmp_path / "runs"))
    results_dir = tmp_path / "results"
    path = _grid(tmp_path, [
        {"notebook": "02_cktim_net", "name": "good", "parameters": {"results_dir": str(results_dir)}},
        {"notebook": "02_cktim_net", "name": "bad", "parameters": {"epochs": "abc"}},
    ], defaults={**TINY, "data_dir": str(synthetic_root), "max_folds": 1})
    jobs = batch.load_grid(path)
    outcome = batch.run_jobs(jobs, workers=2)
    assert outcome == {"good": True, "bad": False}
    assert (tmp_path / "out" / "good.ipynb").is_file()
    assert "epochs" in (tmp_path / "out" / "logs" / "bad.log").read_text()  # the parameter error, in the log
    (results_file,) = results_dir.glob("*.json")
    assert len(load_results(results_file)["folds"]) == 1
    again = batch.run_jobs(jobs, workers=1)  # the finished job is skipped, the failed one tried again
    assert again == {"bad": False}


@pytest.mark.notebook
def test_folds_run_in_parallel_on_a_local_dask_cluster(tmp_path, synthetic_root, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setenv("SER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SER_RUNS_DIR", str(tmp_path / "runs"))
    results_dir = tmp_path / "results"
    path = _grid(tmp_path, [{"notebook": "02_cktim_net", "name": "split", "split_folds": 2,
                             "parameters": {"results_dir": str(results_dir)}}],
                 defaults={**TINY, "data_dir": str(synthetic_root)})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                  processes=True) as cluster:
        outcome = batch.run_jobs(batch.load_grid(path), workers=2, scheduler=cluster.scheduler_address)
    assert outcome == {"split.fold0": True, "split.fold1": True, "split": True}
    (results_file,) = results_dir.glob("*.json")
    data = load_results(results_file)
    assert sorted(data["folds"]) == ["0", "1"]  # both processes' folds kept in one file
    import nbformat

    fold_copy = nbformat.read(tmp_path / "out" / "logs" / "split.fold0.ipynb", as_version=4)
    render = nbformat.read(tmp_path / "out" / "split.ipynb", as_version=4)
    assert "train" in fold_copy.cells[-1].metadata.get("tags", [])  # the fold job stopped after training
    assert len(render.cells) > len(fold_copy.cells)
    assert json.loads((tmp_path / "out" / "logs" / "split.done").read_text())["epochs"] == 1


def test_after_runs_a_job_once_the_named_ones_are_done_and_scratch_keeps_no_executed_copy(tmp_path):
    path = _grid(tmp_path, [
        {"notebook": "02_cktim_net", "name": "trial", "parameters": {"omega_0": 24.0}, "scratch": True},
        {"notebook": "02_cktim_net", "name": "lesson", "after": ["trial"]},
    ])
    trial, lesson = batch.load_grid(path)
    assert trial.scratch and trial.output.parent.name == "logs" and trial.phase == 0
    assert not lesson.scratch and lesson.output.parent.name == "out"
    assert lesson.phase == 1 and lesson.depends_on == ["trial"]
    with pytest.raises(ValueError, match=r"'after' names jobs that the grid does not define: \['trail'\]"):
        batch.load_grid(_grid(tmp_path, [{"notebook": "02_cktim_net", "name": "lesson", "after": ["trail"]}]))

def test_the_committed_emodb_grid_loads_and_names_only_real_parameters():
    """`make reproduce` reads results/emodb/grid.yaml: every job must name parameters its notebook has."""
    jobs = batch.load_grid(Path(__file__).resolve().parents[1] / "results" / "emodb" / "grid.yaml")
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    for job in jobs:
        source = (notebooks / f"{job.notebook}.py").read_text(encoding="utf-8")
        for name in job.parameters:
            assert f"\n{name} = " in source, f"grid job {job.name}: {job.notebook} has no parameter {name!r}"
    leaderboard = next(job for job in jobs if job.notebook == "05_leaderboard")
    assert leaderboard.phase == 2 and len(leaderboard.depends_on) == len(jobs) - 1
    assert all(job.output.parent.name == "logs" for job in jobs if job.scratch)


def test_a_job_whose_dependency_failed_is_reported_not_silently_dropped(tmp_path, capsys):
    path = _grid(tmp_path, [{"notebook": "00_data_tour", "name": "broken", "parameters": {"dataset": "no_such_corpus"}},
                            {"notebook": "05_leaderboard", "name": "board", "after_all": True}])
    outcome = batch.run_jobs(batch.load_grid(path), workers=1)
    assert outcome == {"broken": False, "board": False}
    assert "NOT RUN board: it needs ['broken'], which failed" in capsys.readouterr().out


@pytest.mark.parametrize("notebook", ["01_tim_net", "02_cktim_net", "03_glam", "04_light_sernet"])
def test_fold_jobs_run_a_paper_notebook_up_to_its_training_cell(tmp_path, notebook):
    import nbformat

    source = Path(__file__).resolve().parents[1] / "notebooks" / f"{notebook}.ipynb"
    part = nbformat.read(batch.training_part(source, tmp_path / "part.ipynb"), as_version=4)
    whole = nbformat.read(source, as_version=4)
    assert "exp.run(" in part.cells[-1].source and len(part.cells) < len(whole.cells)
    assert part.cells == whole.cells[: len(part.cells)]
    (fold_job,) = [job for job in batch.load_grid(_grid(tmp_path, [{"notebook": notebook, "split_folds": 1}]))
                   if not job.render_only]
    assert fold_job.train_only


def test_a_notebook_without_a_training_cell_runs_whole(tmp_path):
    source = Path(__file__).resolve().parents[1] / "notebooks" / "05_leaderboard.ipynb"
    assert batch.training_part(source, tmp_path / "part.ipynb") == source


def test_only_selects_a_job_with_its_fold_jobs_and_names_a_pattern_that_matches_nothing(tmp_path, capsys):
    path = _grid(tmp_path, [{"notebook": "01_tim_net", "name": "draw_{init_seed}", "grid": {"init_seed": [48, 49]},
                             "split_folds": 2},
                            {"notebook": "05_leaderboard", "name": "board", "after_all": True}])
    assert batch.main([str(path), "--dry-run", "--only", "draw_49"]) == 0
    listed = [line.split()[2].rstrip(":") for line in capsys.readouterr().out.splitlines()]
    assert listed == ["draw_49.fold0", "draw_49.fold1", "draw_49"]
    with pytest.raises(SystemExit):
        batch.main([str(path), "--dry-run", "--only", "draw_50"])
    assert "--only 'draw_50' matches no job" in capsys.readouterr().err
