"""ser_common.experiment: parameters checked first, one results file per identity, resumable folds, weights beside.

The real paper packages (``papers/tim_net``, ``papers/cktim_net``) on the synthetic corpus; the
``quick_features`` fixture only makes the feature computation cheap (the paper's spec still
defines the identity), and the ``train_fold`` functions are trivial, so no model is trained.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import RUN_CONTROL, cktim_net_parameters, tim_net_parameters

from ser_common import results
from ser_common.experiment import Experiment, FoldOutcome, common_rules
from ser_common.params import ParameterError
from ser_common.training import FitResult


@pytest.fixture(autouse=True)
def _no_files_outside_tmp(tmp_path, monkeypatch):
    """Default folders point into tmp_path, so a test that forgets one cannot write into the checkout."""
    monkeypatch.setenv("SER_RUNS_DIR", str(tmp_path / "default_runs"))
    monkeypatch.setenv("SER_CACHE_DIR", str(tmp_path / "default_cache"))


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def tim_net(synthetic_root, tmp_path, **overrides) -> Experiment:
    return Experiment("tim_net", tim_net_parameters(synthetic_root, tmp_path / "runs", **overrides))


def perfect(exp: Experiment, history: bool = False):
    """A train_fold that predicts every test utterance correctly (and records the folds it saw)."""
    seen = []

    def train_fold(fold):
        seen.append(fold.index)
        fit = None
        if history:
            fit = FitResult(history={"loss": [1.0, 0.5], "val_accuracy": [0.2, 0.4], "time_s": [0.1, 0.1]},
                            selected_epoch=2, selection="best:val_accuracy")
        return FoldOutcome(y_pred=exp.y_utterance[fold.test], fit=fit, history_prefix_renames={"val_": "test_"},
                           extra={"note": "perfect"})

    train_fold.seen = seen
    return train_fold


# ----------------------------------------------------------------------------- parameters first


def test_bad_parameters_fail_before_any_file_is_created(tmp_path, synthetic_root):
    runs, data = tmp_path / "runs", tmp_path / "data" / "synthetic"
    bad = tim_net_parameters(data, runs, epochs="abc", progress="maybe", protocol="paper", learning_rate=2.0)
    del bad["seed"]
    with pytest.raises(ParameterError) as error:
        Experiment("tim_net", bad)
    message = str(error.value)
    for expected in ("epochs = 'abc'", "progress = 'maybe'", "protocol = 'paper'", "learning_rate = 2.0",
                     "seed: missing", "'paper_10fold'"):
        assert expected in message, expected
    # combinations that cannot work are refused just as early
    with pytest.raises(ValueError, match="best_val.*needs a validation part"):
        Experiment("tim_net", tim_net_parameters(data, runs, protocol="paper_10fold", selection="best_val"))
    with pytest.raises(ValueError, match="must name a .json file"):
        Experiment("tim_net", tim_net_parameters(data, runs, results_path=str(tmp_path / "run.txt")))
    assert files_under(tmp_path) == []  # no corpus generated, no results folder, no cache


def test_papermill_strings_are_converted_and_derived_defaults_filled(tmp_path, synthetic_root):
    exp = tim_net(synthetic_root, tmp_path, epochs="3", progress="false", jit_compile="True", n_tab="None",
                  learning_rate="0.002", max_folds="2")
    assert (exp["epochs"], exp["progress"], exp["jit_compile"], exp["learning_rate"], exp["max_folds"]) == (
        3, False, True, 0.002, 2)
    assert exp["n_tab"] == 8  # None: the recipe's default for the corpus
    assert "synthetic" in repr(exp) and "stratified_10fold" in repr(exp)


def test_the_rules_are_the_common_ones_plus_the_recipe(tmp_path, synthetic_root):
    from papers.tim_net import recipe

    exp = tim_net(synthetic_root, tmp_path)
    assert set(exp.rules) == set(common_rules(exp.protocols, recipe.SELECTIONS)) | set(recipe.PARAMETERS)
    assert set(tim_net_parameters(synthetic_root, tmp_path)) == set(exp.rules)  # the test's namespace is complete
    assert {"paper_10fold", "stratified_10fold", "speaker_independent"} == set(exp.protocols)


# ----------------------------------------------------------------------------- identity and files


def test_identity_has_every_identity_parameter_and_no_run_control(tmp_path, synthetic_root, quick_features):
    exp = tim_net(synthetic_root, tmp_path)
    exp.load_features()
    identity = exp.identity()
    identity_rules = [name for name, rule in exp.rules.items() if rule.identity]
    assert set(identity_rules) <= set(identity)
    for name in RUN_CONTROL + ("predict_wav",):
        assert not exp.rules[name].identity and name not in identity, name
    assert identity["features"]["class"] == "FeatureSpec" and identity["features"]["n_mfcc"] == 39  # the paper's
    assert identity["monitor"] == "val_accuracy" and identity["n_utterances"] == 252
    assert identity["skipped_files"] == [] and len(identity["folds_fingerprint"]) == 16
    json.dumps(results.to_jsonable(identity))  # storable as the results file's params


def test_results_file_name_derives_from_the_identity(tmp_path, synthetic_root, quick_features):
    def path_of(**overrides):
        exp = tim_net(synthetic_root, tmp_path, **overrides)
        exp.load_features()
        return exp.results_path()

    default = path_of()
    assert default.parent == tmp_path / "runs"
    assert default.name.startswith("tim_net_stratified_10fold_last_e2_") and default.suffix == ".json"
    assert path_of() == default  # same parameters: same file, so a second run resumes it
    assert path_of(n_tab=8) == default  # the derived default is part of the identity, not the spelling
    assert path_of(learning_rate=2e-3) != default  # a different learning rate never shares the file
    assert path_of(seed=1) != default
    assert path_of(resume=False, progress=True, max_folds=1, threads=1) == default  # run control changes nothing
    exact = tmp_path / "elsewhere" / "mine.json"
    assert path_of(results_path=str(exact)) == exact


def test_a_tim_net_seed_trial_gets_a_file_of_its_own_and_leaves_the_default_identity_alone(
        tmp_path, synthetic_root, quick_features):
    default, trial = tim_net(synthetic_root, tmp_path), tim_net(synthetic_root, tmp_path, init_seed="47")
    for exp in (default, trial):
        exp.load_features()
    assert trial["init_seed"] == 47 and default["init_seed"] is None
    # the parameter itself is not identity (the committed runs, made before it existed, resume);
    # the notebook passes it as the run's variant, which names and identifies the trial's file
    assert trial.identity() == default.identity() and trial.results_path({}) == default.results_path()
    path = trial.results_path({"init_seed": 47})
    assert "_init_seed-47_" in path.name and path != default.results_path()
    assert trial.identity({"init_seed": 47}) == {**default.identity(), "init_seed": 47}
    with pytest.raises(ValueError, match="init_seed.*pass results_dir"):
        tim_net(synthetic_root, tmp_path, init_seed=47, results_path=str(tmp_path / "one.json")).results_path(
            {"init_seed": 47})


def test_runs_with_different_learning_rates_get_different_files_and_same_parameters_resume(
        tmp_path, synthetic_root, quick_features):
    first = tim_net(synthetic_root, tmp_path, max_folds=1)
    first.load_features()
    first.run(perfect(first), model_info={"name": "TIM-Net"})
    other = tim_net(synthetic_root, tmp_path, learning_rate=2e-3, max_folds=1)
    other.load_features()
    other.run(perfect(other), model_info={"name": "TIM-Net"})
    assert first.results.path != other.results.path
    assert sorted(p.name for p in (tmp_path / "runs").glob("*.json")) == sorted(
        [first.results.path.name, other.results.path.name])
    again = tim_net(synthetic_root, tmp_path)  # the same parameters, all folds this time
    again.load_features()
    train_fold = perfect(again)
    run = again.run(train_fold, model_info={"name": "TIM-Net"})
    assert train_fold.seen == [1, 2] and run.completed_folds == [0, 1, 2]
    assert run.path == first.results.path


def test_run_records_every_fold_with_metrics_history_and_predictions(tmp_path, synthetic_root, quick_features):
    exp = tim_net(synthetic_root, tmp_path)
    exp.load_features()
    train_fold = perfect(exp, history=True)
    run = exp.run(train_fold, model_info={"name": "TIM-Net", "param_count": 10}, device="cpu")
    assert train_fold.seen == [0, 1, 2] and run.completed_folds == [0, 1, 2]
    data = results.load_results(run.path)
    assert data["notebook"] == "01_tim_net" and data["paper"] == "tim_net" and data["protocol"] == "stratified_10fold"
    assert data["params"] == results.to_jsonable(exp.identity()) and data["model"]["param_count"] == 10
    stored = data["folds"]["2"]
    assert stored["metrics"]["ua"] == 1.0
    assert stored["history"]["test_accuracy"] == [0.2, 0.4] and "val_accuracy" not in stored["history"]
    assert stored["history"]["loss"] == [1.0, 0.5]  # only the named prefix is renamed
    assert stored["extra"]["test_index"] == exp.folds[2].test.tolist()
    assert stored["extra"]["y_pred"] == exp.y_utterance[exp.folds[2].test].tolist()
    assert stored["extra"]["name"] == "fold 3/3" and stored["extra"]["note"] == "perfect"
    assert stored["extra"]["n_val"] == exp.folds[2].val.size > 0
    assert stored["selected_epoch"] == 2 and stored["selection"] == "best:val_accuracy"
    assert list(run.to_frame().index) == ["fold 1/3", "fold 2/3", "fold 3/3"]


def test_max_folds_and_resume_skip_finished_folds(tmp_path, synthetic_root, quick_features):
    exp = tim_net(synthetic_root, tmp_path, max_folds=2)
    exp.load_features()
    first = perfect(exp)
    assert exp.run(first, model_info={"name": "TIM-Net"}).completed_folds == [0, 1] and first.seen == [0, 1]
    exp = tim_net(synthetic_root, tmp_path)
    exp.load_features()
    rest = perfect(exp)
    assert exp.run(rest, model_info={"name": "TIM-Net"}).completed_folds == [0, 1, 2] and rest.seen == [2]
    with pytest.raises(ValueError, match="one results file holds one model"):
        exp.run(perfect(exp), model_info={"name": "another model"})


def test_resume_false_refuses_an_existing_file(tmp_path, synthetic_root, quick_features):
    exp = tim_net(synthetic_root, tmp_path, max_folds=1)
    exp.load_features()
    exp.run(perfect(exp), model_info={})
    again = tim_net(synthetic_root, tmp_path, resume=False)
    again.load_features()
    with pytest.raises(FileExistsError, match="resume=True"):
        again.run(perfect(again), model_info={})
    fresh = tim_net(synthetic_root, tmp_path, resume=False, overwrite=True, max_folds=1)
    fresh.load_features()
    seen = perfect(fresh)
    fresh.run(seen, model_info={})
    assert seen.seen == [0]  # started over


def test_wrong_number_of_predictions_is_an_error(tmp_path, synthetic_root, quick_features):
    exp = tim_net(synthetic_root, tmp_path)
    exp.load_features()
    with pytest.raises(ValueError, match="predictions for"):
        exp.run(lambda fold: FoldOutcome(y_pred=np.zeros(3)), model_info={})
    assert exp.results.completed_folds == []


def test_folds_need_the_features_first_and_follow_the_protocol(tmp_path, synthetic_root, quick_features):
    exp = tim_net(synthetic_root, tmp_path, protocol="speaker_independent", folds=10)
    with pytest.raises(RuntimeError, match="load_features"):
        exp.folds
    X, y = exp.load_features()
    assert X.shape[0] == y.shape[0] == len(exp.manifest) == 252
    assert len(exp.folds) == 6  # leave-one-speaker-out: 6 synthetic speakers
    table = exp.describe_folds()
    assert (table["test_speakers"] == 1).all() and (table["val_speakers"] == 1).all()
    paper = tim_net(synthetic_root, tmp_path, protocol="paper_10fold", folds=10)
    paper.load_features()
    assert len(paper.folds) == 10 and all(fold.val.size == 0 for fold in paper.folds)


def test_unusable_files_stop_the_run_or_are_skipped_and_recorded(tmp_path, synthetic_root, quick_features):
    import shutil

    from ser_common.audio import AudioError

    corpus = tmp_path / "copy" / "synthetic"
    shutil.copytree(synthetic_root, corpus)
    broken = sorted((corpus / "wav").glob("*.wav"))[5]
    broken.write_bytes(broken.read_bytes()[:100])
    exp = Experiment("tim_net", tim_net_parameters(corpus, tmp_path / "runs"))
    with pytest.raises(AudioError, match=broken.name):
        exp.load_features()
    exp = Experiment("tim_net", tim_net_parameters(corpus, tmp_path / "runs", bad_files="skip", max_folds=1))
    exp.load_features()
    assert len(exp.manifest) == 251 and [Path(s["path"]).name for s in exp.skipped] == [broken.name]
    run = exp.run(perfect(exp), model_info={})
    assert results.load_results(run.path)["params"]["skipped_files"] == [broken.name]


# ----------------------------------------------------------------------------- weights and variants


def test_weights_go_beside_the_results_file(tmp_path, synthetic_root, quick_features):
    exp = tim_net(synthetic_root, tmp_path, results_path=str(tmp_path / "A" / "run.json"))
    exp.load_features()
    weights = exp.weights_path(exp.folds[1])
    assert weights == tmp_path / "A" / "run_weights" / "fold1.weights.h5"
    assert weights.parent.is_dir()
    assert exp.weights_path(2, ".pt") == tmp_path / "A" / "run_weights" / "fold2.pt"


def test_ensure_weights_retrains_a_fold_when_its_weights_are_missing(tmp_path, synthetic_root, quick_features):
    exp = tim_net(synthetic_root, tmp_path)
    exp.load_features()
    trained = []

    def train_fold(fold):
        trained.append(fold.index)
        exp.weights_path(fold).write_bytes(b"weights")
        return FoldOutcome(y_pred=exp.y_utterance[fold.test])

    path = exp.ensure_weights(1, train_fold)
    assert trained == [1] and path.read_bytes() == b"weights"
    assert exp.ensure_weights(1, train_fold) == path and trained == [1]  # present: not retrained
    with pytest.raises(FileNotFoundError, match="did not save its weights"):
        exp.ensure_weights(2, lambda fold: FoldOutcome(y_pred=exp.y_utterance[fold.test]))


def test_shown_fold_prefers_saved_weights_then_the_folds_asked_for(tmp_path, synthetic_root, quick_features):
    exp = tim_net(synthetic_root, tmp_path, folds=3, only_folds=[0, 1])
    exp.load_features()
    run = exp.run(perfect(exp), model_info={"name": "perfect"})
    assert run.completed_folds == [0, 1]
    assert exp.shown_fold(run) == 1  # no weights anywhere: the last fold this job ran
    exp.weights_path(0).write_bytes(b"weights")
    assert exp.shown_fold(run) == 0  # fold 0's weights are here: nothing to retrain


def test_variants_get_their_own_named_files(tmp_path, synthetic_root, quick_features):
    exp = Experiment("cktim_net", cktim_net_parameters(synthetic_root, tmp_path / "runs", max_folds=1))
    exp.load_features()
    paths = {}
    for model in ("tim", "cktim"):
        for n_tab in exp["n_tabs"]:
            variant = {"model": model, "n_tab": n_tab}
            paths[model, n_tab] = exp.results_path(variant)
            assert f"_model-{model}_n_tab-{n_tab}_" in paths[model, n_tab].name
            assert exp.identity(variant)["model"] == model and exp.identity(variant)["n_tab"] == n_tab
    assert len(set(paths.values())) == 4
    weights = exp.weights_path(0, ".pt", {"model": "tim", "n_tab": 1})
    assert weights.parent == paths["tim", 1].with_name(paths["tim", 1].stem + "_weights")
    run = exp.run(perfect(exp), model_info={"name": "tim"}, variant={"model": "tim", "n_tab": 1})
    assert run.path == paths["tim", 1]
    with pytest.raises(ValueError, match="results_dir"):
        Experiment("cktim_net", cktim_net_parameters(synthetic_root, tmp_path / "runs",
                                                     results_path=str(tmp_path / "one.json"))).results_path(
            {"model": "tim", "n_tab": 1})


def test_cktim_net_parameters(tmp_path, synthetic_root, quick_features):
    exp = Experiment("cktim_net", cktim_net_parameters(synthetic_root, tmp_path / "runs", n_tabs="[1, 3]",
                                                       augment="false", models="cktim"))
    assert exp["n_tabs"] == [1, 3] and exp["augment"] is False and exp["models"] == "cktim"
    exp.load_features()
    identity = exp.identity()
    assert "n_tabs" not in identity and "models" not in identity  # which runs to make, not how
    assert identity["kernel_generator"] == "conv" and identity["monitor"] == "val_loss"
    assert identity["features"]["layout"] == "channels_first"
    with pytest.raises(ParameterError, match="protocol = 'paper_10fold'"):  # TIM-Net's own protocol only
        Experiment("cktim_net", cktim_net_parameters(synthetic_root, tmp_path / "runs", protocol="paper_10fold"))
    with pytest.raises(ParameterError, match="n_tabs = '\\[0, 3\\]'"):
        Experiment("cktim_net", cktim_net_parameters(synthetic_root, tmp_path / "runs", n_tabs="[0, 3]"))


def test_compare_with_paper_and_all_runs(tmp_path, synthetic_root, quick_features, capsys):
    exp = tim_net(synthetic_root, tmp_path, max_folds=1)
    exp.load_features()
    exp.run(perfect(exp), model_info={"name": "TIM-Net"})
    table = exp.compare_with_paper()
    assert table.shape[1] == 1  # no published numbers on the synthetic corpus
    assert "published no numbers for synthetic" in capsys.readouterr().out
    runs = exp.all_runs()
    assert runs["file"].tolist() == [exp.results.path.name] and runs.loc[0, "UA"] == "100.00"  # one fold: no spread
