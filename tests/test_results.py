"""Tests for ser_common.results: atomic, resumable, never-mixed results files and paper references."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from ser_common.metrics import evaluate
from ser_common.results import (
    ResultsMismatchError,
    RunResults,
    compare_with_paper,
    find_results,
    library_versions,
    load_reference,
    load_results,
    run_selection,
    summary_table,
)

CLASS_NAMES = ["angry", "happy", "neutral", "sad"]
PARAMS = {"epochs": 5, "batch_size": 64, "betas": (0.93, 0.98), "lr": np.float64(1e-3), "n_tabs": np.int64(8)}


def open_run(path, **overrides):
    settings = dict(
        notebook="02_tim_net",
        paper="tim_net",
        dataset="emodb",
        protocol="leave-one-speaker-out",
        params=PARAMS,
        seed=0,
        class_names=CLASS_NAMES,
    )
    settings.update(overrides)
    return RunResults.open(path, **settings)


def fold_metrics(correct: int) -> dict:
    y_true = np.array([0, 1, 2, 3] * 2)
    y_pred = y_true.copy()
    y_pred[correct:] = (y_pred[correct:] + 1) % 4
    return evaluate(y_true, y_pred, 4)


def add(run, index, correct=6, **kwargs):
    history = {"loss": [1.0, 0.5], "accuracy": [0.4, 0.7], "time_s": [1.5, 2.5]}
    run.add_fold(index, metrics=fold_metrics(correct), history=history, wall_time_s=4.0, selected_epoch=2, **kwargs)


def test_new_file_has_identity_environment_and_no_temp_files(tmp_path):
    path = tmp_path / "runs" / "emodb" / "tim.json"
    run = open_run(path)
    add(run, 0)
    data = load_results(path)
    assert data["params"] == {"epochs": 5, "batch_size": 64, "betas": [0.93, 0.98], "lr": 1e-3, "n_tabs": 8}
    assert data["class_names"] == CLASS_NAMES and data["seed"] == 0 and data["protocol"] == "leave-one-speaker-out"
    assert data["created"] and data["updated"] >= data["created"]
    assert "git_commit" in data and "git_dirty" in data
    assert data["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", data["git_commit"])
    assert data["versions"]["numpy"] == np.__version__ and "torch" in data["versions"]
    # the atomic write left no temp file (the hidden lock file of concurrent writers may stay)
    assert [p.name for p in path.parent.iterdir() if p.name != ".tim.json.lock"] == ["tim.json"]


def test_library_versions_does_not_import_heavy_frameworks():
    import sys

    before = {"torch", "tensorflow", "keras"} & set(sys.modules)
    versions = library_versions()
    assert {"torch", "tensorflow", "keras"} & set(sys.modules) == before
    assert versions["scikit-learn"] and versions["python"]


def test_fold_record_and_numpy_types_are_serialised(tmp_path):
    run = open_run(tmp_path / "r.json")
    add(run, 3, extra={"device": "cpu", "embedding_mean": np.float32(0.25), "sizes": np.array([1, 2])})
    record = load_results(run.path)["folds"]["3"]
    assert record["metrics"]["wa"] == pytest.approx(6 / 8)
    assert record["confusion"] == fold_metrics(6)["confusion"] and "confusion" not in record["metrics"]
    assert record["epoch_times_s"] == [1.5, 2.5]  # taken from history["time_s"]
    assert record["extra"] == {"device": "cpu", "embedding_mean": 0.25, "sizes": [1, 2]}
    assert run.fold(3)["selected_epoch"] == 2
    # a NaN recall (class absent from the test fold) is stored as null: the file is strict JSON
    run.add_fold(4, metrics=evaluate([0, 1], [0, 1], 4), wall_time_s=np.float64(1.0))
    text = run.path.read_text()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))
    assert load_results(run.path)["folds"]["4"]["metrics"]["per_class_recall"][2:] == [None, None]
    with pytest.raises(TypeError, match=r"extra.*'model'.*object"):
        run.add_fold(5, metrics=fold_metrics(8), wall_time_s=1.0, extra={"model": object()})


def test_aggregate_recomputed_after_each_fold(tmp_path):
    run = open_run(tmp_path / "r.json")
    add(run, 0, correct=8)
    assert run.aggregate["wa"]["mean"] == pytest.approx(1.0) and run.aggregate["wa"]["n"] == 1
    add(run, 1, correct=4)
    assert run.aggregate["wa"]["mean"] == pytest.approx(0.75)
    assert run.aggregate["wa"]["std"] == pytest.approx(0.25)  # population std of 1.0 and 0.5
    assert load_results(run.path)["aggregate"] == run.aggregate
    assert set(run.aggregate) == {"ua", "wa", "macro_f1", "micro_f1", "weighted_f1"}


def test_resume_keeps_finished_folds(tmp_path):
    path = tmp_path / "r.json"
    run = open_run(path)
    add(run, 0)
    add(run, 2)
    # a new session with equal settings, params given as a list and Python numbers this time
    resumed = open_run(path, params={**PARAMS, "betas": [0.93, 0.98], "lr": 0.001, "n_tabs": 8})
    assert resumed.completed_folds == [0, 2]
    assert resumed.is_done(0) and resumed.is_done(2) and not resumed.is_done(1)
    add(resumed, 1)
    assert load_results(path)["folds"].keys() == {"0", "1", "2"}
    assert resumed.aggregate["ua"]["n"] == 3
    with pytest.raises(ValueError, match="fold 1 is already recorded"):
        add(resumed, 1)


def test_parameter_mismatch_names_the_key_and_values(tmp_path):
    path = tmp_path / "r.json"
    add(open_run(path), 0)
    with pytest.raises(ResultsMismatchError) as error:
        open_run(path, params={**PARAMS, "epochs": 500}, seed=46)
    message = str(error.value)
    assert "params.epochs: 5 (in file) vs 500 (now)" in message
    assert "seed: 0 (in file) vs 46 (now)" in message
    assert str(path) in message and "overwrite=True" in message
    with pytest.raises(ResultsMismatchError, match="params.augment"):
        open_run(path, params={**PARAMS, "augment": True})
    with pytest.raises(ResultsMismatchError, match="class_names"):
        open_run(path, class_names=["a", "b", "c", "d"])
    with pytest.raises(ResultsMismatchError, match=r"params.epochs: 5 \(in file\) vs True"):
        open_run(path, params={**PARAMS, "epochs": True})  # True is not 5, and not 1 either
    assert load_results(path)["folds"].keys() == {"0"}  # the file was not touched


def test_resume_false_refuses_to_overwrite_and_overwrite_starts_fresh(tmp_path):
    path = tmp_path / "r.json"
    add(open_run(path), 0)
    with pytest.raises(FileExistsError, match="already exists"):
        open_run(path, resume=False)
    fresh = open_run(path, resume=False, overwrite=True, params={"epochs": 1})
    assert fresh.completed_folds == [] and fresh.aggregate == {}
    assert load_results(path)["params"] == {"epochs": 1} and load_results(path)["folds"] == {}


def test_unfinished_run_survives_an_error_between_folds(tmp_path):
    path = tmp_path / "r.json"
    run = open_run(path)
    add(run, 0)
    with pytest.raises(TypeError):
        run.add_fold(1, metrics=fold_metrics(5), wall_time_s="slow")
    assert open_run(path).completed_folds == [0]


def test_model_info_and_to_frame(tmp_path):
    run = open_run(tmp_path / "r.json")
    run.set_model_info(param_count=np.int64(104_496), architecture="TIM-Net")
    run.set_model_info(param_count=104_496)  # same value again is fine
    with pytest.raises(ValueError, match="param_count: 104496 \\(in file\\) vs 1 \\(now\\)"):
        run.set_model_info(param_count=1)
    add(run, 1, correct=8)
    add(run, 0, correct=4)
    assert load_results(run.path)["model"] == {"param_count": 104_496, "architecture": "TIM-Net"}
    add(run, 2, correct=6, extra={"name": "speaker 03"})
    frame = run.to_frame()
    assert list(frame.index) == ["0", "1", "speaker 03"]  # the fold's name when it has one
    assert frame["index"].tolist() == [0, 1, 2]
    assert frame.loc["1", "wa"] == pytest.approx(1.0) and frame.loc["0", "wa"] == pytest.approx(0.5)
    assert frame.loc["0", "mean_epoch_time_s"] == pytest.approx(2.0)
    assert frame.loc["0", "wall_time_s"] == pytest.approx(4.0)
    assert {"ua", "macro_f1", "selected_epoch", "epochs"} <= set(frame.columns)


def test_a_run_resumed_under_another_build_of_its_framework_is_accepted(tmp_path):
    """GLAM folds trained on a GPU machine (torch 2.11 CUDA) are rendered here (torch 2.13 CPU)."""
    run = open_run(tmp_path / "r.json")
    run.set_model_info(framework="torch 2.11.0+cu130", param_count=10)
    resumed = open_run(tmp_path / "r.json")
    resumed.set_model_info(framework="torch 2.13.0+cpu", param_count=10)  # same library: fine
    assert load_results(resumed.path)["model"]["framework"] == "torch 2.11.0+cu130"
    with pytest.raises(ValueError, match="framework"):
        resumed.set_model_info(framework="keras 3.15.1")  # another library: another model


def test_resume_with_same_model_info_leaves_file_untouched(tmp_path):
    path = tmp_path / "r.json"
    run = open_run(path)
    run.set_model_info(param_count=10)
    add(run, 0)
    data = json.loads(path.read_text())
    data["updated"] = "2000-01-01T00:00:00+00:00"  # so a rewrite within the same second shows
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    resumed = open_run(path)
    resumed.set_model_info(param_count=10)  # what every resumed notebook run does
    assert path.read_bytes() == before  # no new "updated" stamp for a render that adds nothing
    resumed.set_model_info(name="TIM-Net")  # a new key is recorded
    assert load_results(path)["model"] == {"param_count": 10, "name": "TIM-Net"}


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"\.json"):
        open_run(tmp_path / "r.txt")
    with pytest.raises(TypeError, match="params must be a dict"):
        open_run(tmp_path / "r.json", params=[1, 2])
    run = open_run(tmp_path / "r.json")
    with pytest.raises(ValueError, match="non-negative integer"):
        add(run, -1)
    with pytest.raises(ValueError, match="metrics must be the dict"):
        run.add_fold(0, metrics={"accuracy": 1.0}, wall_time_s=1.0)
    with pytest.raises(KeyError, match="fold 7 is not recorded"):
        run.fold(7)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="broken.json is not valid JSON"):
        open_run(tmp_path / "broken.json")


@pytest.mark.parametrize("paper", ["tim_net", "cktim_net", "glam", "light_sernet"])
def test_every_reference_file_loads_with_required_fields(paper):
    reference = load_reference(paper)
    assert reference["paper"] == paper and reference["citation"]
    labels_per_dataset: dict[str, list[str]] = {}
    for entry in reference["entries"]:
        assert isinstance(entry["leaky"], bool) and entry["source"] and entry["protocol"] and entry["selection"]
        assert 0 < entry["ua"] <= 100 and 0 < entry["wa"] <= 100
        labels_per_dataset.setdefault(entry["dataset"], []).append(entry["label"])
    for dataset, labels in labels_per_dataset.items():
        assert len(labels) == len(set(labels)), f"duplicate labels for {dataset}"


def test_reference_headline_numbers():
    entries = {(e["dataset"], e["label"]): e for e in load_reference("tim_net")["entries"]}
    clean = entries[("emodb", "paper / official repo update (*)")]
    leaky = entries[("emodb", "paper (leaky **)")]
    assert (clean["ua"], clean["wa"], clean["leaky"]) == (89.19, 90.28, False)
    assert (leaky["ua"], leaky["wa"], leaky["leaky"]) == (95.17, 95.70, True)
    assert {d for d, _ in entries} == {"casia", "emodb", "emovo", "iemocap", "ravdess", "savee"}
    cktim = load_reference("cktim_net")["entries"]
    assert len(cktim) == 9 and not any(e["reliable"] for e in cktim)
    assert any(e["wa"] == 86.61 and e["macro_f1"] == 86.59 for e in cktim)
    glam = {e["label"]: e for e in load_reference("glam")["entries"]}
    assert glam["README main table, improvised (leaky)"]["wa"] == 81.18
    assert glam["README 8:1:1 table, full"]["ua"] == 72.56
    assert sum("mixup" in label for label in glam) == 7
    light = [e for e in load_reference("light_sernet")["entries"] if e["dataset"] == "emodb"]
    assert any((e["ua"], e["wa"], e["macro_f1"]) == (94.15, 94.21, 94.16) for e in light)
    with pytest.raises(FileNotFoundError, match="available: .*tim_net"):
        load_reference("no_such_paper")


FAKE_REFERENCE = {
    "paper": "tim_net",
    "citation": "a fake paper",
    "entries": [
        {"dataset": "emodb", "label": "clean", "protocol": "paper_10fold", "selection": "last", "leaky": False,
         "source": "Table 1", "ua": 89.19, "wa": 90.28},
        {"dataset": "EMO-DB", "label": "leaky", "protocol": "paper_10fold", "selection": "best_test_leaky",
         "leaky": True, "source": "Table 1 (**)", "ua": 95.17, "wa": 95.70, "wa_std": 1.5},
        {"dataset": "emodb", "label": "loso", "protocol": "speaker_independent", "selection": "last", "leaky": False,
         "source": "Table 3", "ua": 70.0, "wa": 71.0},
        {"dataset": "iemocap", "label": "other corpus", "protocol": "paper_10fold", "selection": "last",
         "leaky": False, "source": "Table 1", "ua": 60.0, "wa": 61.0},
    ],
}


@pytest.fixture
def fake_reference(monkeypatch):
    """reference.json entries with machine-readable protocol / selection values."""
    import ser_common.results as results_module

    monkeypatch.setattr(results_module, "load_reference", lambda paper: FAKE_REFERENCE)


def _paper_run(path, selection="last", **overrides):
    settings = dict(protocol="paper_10fold", params={**PARAMS, "selection": selection, "monitor": "val_accuracy"})
    return open_run(path, **{**settings, **overrides})


def test_compare_with_paper_pairs_only_the_same_protocol_and_selection(tmp_path, fake_reference):
    run = _paper_run(tmp_path / "r.json")
    add(run, 0, correct=8, selection="last")
    add(run, 1, correct=6, selection="last")
    table = compare_with_paper(run, "tim_net")
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == ["ua", "wa", "macro_f1", "protocol", "selection", "leaky", "source"]
    assert list(table.columns) == ["ours (2 folds, mean ± std)", "clean"]  # not the leaky, LOSO or IEMOCAP rows
    ours = table.columns[0]
    assert table.loc["wa", ours] == "87.50 ± 12.50"
    assert table.loc["ua", "clean"] == "89.19" and table.loc["macro_f1", "clean"] == "–"  # not published
    assert table.loc["protocol", ours] == "paper_10fold" and table.loc["selection", ours] == "last"
    assert table.loc["leaky", ours] == "false" and table.loc["source", ours] == "this run (02_tim_net)"
    assert "leaky (paper_10fold, best_test_leaky)" in table.attrs["note"]
    assert "loso (speaker_independent, last)" in table.attrs["note"]
    assert "other corpus" not in table.attrs["note"]
    # the dict from load_results works as well
    assert compare_with_paper(load_results(run.path), "tim_net").equals(table)


def test_compare_with_paper_leaky_selection_and_guards(tmp_path, fake_reference):
    run = _paper_run(tmp_path / "r.json", selection="best_test_leaky")
    with pytest.raises(ValueError, match="no finished folds"):
        compare_with_paper(run, "tim_net")
    add(run, 0)
    table = compare_with_paper(run, "tim_net", keys=("wa",))
    assert list(table.columns)[1:] == ["leaky"]  # paired by name across spellings of the corpus (EMO-DB)
    assert table.loc["wa", "leaky"] == "95.70 ± 1.50"
    assert table.loc["leaky", table.columns[0]] == "true"  # our run is labelled leaky too
    assert table.loc["selection", table.columns[0]] == "best_test_leaky (val_accuracy)"
    no_numbers = _paper_run(tmp_path / "s.json", dataset="savee")
    add(no_numbers, 0)
    only_ours = compare_with_paper(no_numbers, "tim_net")
    assert only_ours.shape == (7, 1) and only_ours.attrs["note"] == "tim_net published no numbers for savee"


def test_compare_with_paper_reads_the_real_reference_files(tmp_path):
    run = _paper_run(tmp_path / "r.json")
    add(run, 0)
    table = compare_with_paper(run, "tim_net")  # whatever the file holds, only equal protocols are paired
    for column in table.columns[1:]:
        assert table.loc["protocol", column] == "paper_10fold" and table.loc["selection", column] == "last"


def test_summary_table_and_markdown_report(tmp_path, capsys):
    from ser_common.report import main

    run = RunResults.open(tmp_path / "a.json", notebook="01_tim_net", paper="tim_net", dataset="emodb",
                          protocol="paper_10fold", params={"epochs": 5, "selection": "last"}, seed=0,
                          class_names=["x", "y"])
    run.set_model_info(name="TIM-Net", param_count=10)
    run.add_fold(0, metrics=evaluate([0, 1, 1], [0, 1, 0], 2), wall_time_s=1.0, epoch_times_s=[0.5, 0.7])
    table = summary_table([run.path])
    assert table.loc[0, "UA"] == "75.00" and table.loc[0, "folds run"] == 1  # one fold: no spread shown
    assert table.loc[0, "median s/epoch"] == 0.6 and table.loc[0, "model"] == "TIM-Net"
    assert main([str(run.path), "--columns", "model", "UA"]) == 0
    assert capsys.readouterr().out.splitlines() == ["| model | UA |", "|---|---|", "| TIM-Net | 75.00 |"]


def test_two_writers_of_one_file_merge_their_folds_and_model_info(tmp_path):
    path = tmp_path / "r.json"
    first, second = open_run(path), open_run(path)  # e.g. two batch jobs on the folds of one run
    add(first, 0)
    add(second, 1)  # second never saw fold 0 in memory; it is kept anyway
    second.set_model_info(param_count=7)
    add(first, 2)
    data = load_results(path)
    assert sorted(data["folds"]) == ["0", "1", "2"] and data["aggregate"]["ua"]["n"] == 3
    assert data["model"] == {"param_count": 7} and first.completed_folds == [0, 1, 2]
    with pytest.raises(ValueError, match="fold 1 is already recorded"):
        add(first, 1)


def test_find_results_lists_other_json_files_instead_of_failing(tmp_path):
    add(open_run(tmp_path / "a" / "one.json"), 0)
    add(open_run(tmp_path / "b" / "nested" / "two.json"), 0)
    (tmp_path / "a" / "notes.json").write_text("[1, 2]")
    (tmp_path / "b" / "broken.json").write_text("{")
    found, skipped = find_results(tmp_path / "a", tmp_path / "b", tmp_path / "a", tmp_path / "missing")
    assert [p.name for p in found] == ["one.json", "two.json"]  # each once, though a folder was given twice
    assert len(skipped) == 3 and all(line.split(":")[0].endswith(("notes.json", "broken.json")) for line in skipped)


def test_run_selection_names_the_selection_and_its_monitor(tmp_path):
    run = open_run(tmp_path / "r.json", params={"selection": "best_val", "monitor": "val_loss"})
    assert run_selection(run.data) == "best_val (val_loss)"
    assert run_selection({"params": {"selection": "last", "monitor": "val_loss"}, "folds": {}}) == "last"
    older = open_run(tmp_path / "s.json")  # no selection parameter: what the folds recorded
    assert run_selection(older.data) == "not recorded"
    add(older, 0, selection="best:val_ua")
    assert run_selection(older.data) == "best:val_ua"
    table = summary_table([run.path, older.path])
    assert table["selection"].tolist() == ["best_val (val_loss)", "best:val_ua"]
