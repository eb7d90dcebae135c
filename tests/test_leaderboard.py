"""The leaderboard: its table (also the README's), paired tests, and the cost of every committed model.

The README's results table must be exactly what ``ser_common.report`` makes from the
committed results files (regenerate it with ``make results-table``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from papers import leaderboard as lb
from ser_common import report
from ser_common.results import RunResults, load_results

REPO = Path(__file__).resolve().parents[1]
COMMITTED = sorted(REPO.glob("results/*/*.json"))


def _run(folder: Path, name: str, *, paper: str = "tim_net", protocol: str = "paper_10fold", selection: str = "last",
         fingerprint: str = "f1", uas=(0.8, 0.7, 0.9, 0.6, 0.75, 0.85), model: str = "TIM-Net", **params) -> Path:
    run = RunResults.open(folder / f"{name}.json", notebook="nb", paper=paper, dataset="emodb", protocol=protocol,
                          params={"selection": selection, "epochs": 5, "folds_fingerprint": fingerprint, **params},
                          seed=0, class_names=["a", "b"])
    run.set_model_info(name=model, param_count=1000)
    for index, ua in enumerate(uas):
        run.add_fold(index, metrics={"ua": ua, "wa": ua, "macro_f1": ua, "confusion": [[8, 2], [1, 9]]},
                     wall_time_s=1.0, epoch_times_s=[0.5] * 5, extra={"name": f"speaker {index}"})
    return run.path


# ----------------------------------------------------------------------------- the README table


def test_readme_table_is_generated_from_the_committed_results():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.count(report.START) == 1 and readme.count(report.END) == 1
    current = readme[readme.index(report.START): readme.index(report.END) + len(report.END)]
    if current != report.readme_block(COMMITTED):
        pytest.fail("README.md's results table differs from what the committed results/*/*.json give: "
                    "run `make results-table`", pytrace=False)


def test_readme_check_and_update(tmp_path):
    path = _run(tmp_path, "one")
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{report.START}\nstale\n{report.END}\n\nafter\n")
    assert report.main(["--readme", str(readme), "--check", str(path)]) == 1
    assert report.main(["--readme", str(readme), str(path)]) == 0
    text = readme.read_text()
    assert "stale" not in text and text.endswith(f"{report.END}\n\nafter\n") and "| TIM-Net |" in text
    assert report.main(["--readme", str(readme), "--check", str(path)]) == 0
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="no <!-- results-table -->"):
        report.update_readme(readme, [path])


# ----------------------------------------------------------------------------- the table


def test_leaderboard_groups_marks_and_compares(tmp_path):
    paths = [
        _run(tmp_path, "clean"),
        _run(tmp_path, "leaky", selection="best_test_leaky", uas=(0.95,) * 6),
        _run(tmp_path, "other_folds", fingerprint="f2", n_tab=4),
        _run(tmp_path, "loso", protocol="speaker_independent", fingerprint="f3"),
        _run(tmp_path, "loso_longer", protocol="speaker_independent", fingerprint="f3", epochs=10, uas=(0.5,)),
        _run(tmp_path, "empty", uas=()),
    ]
    table = report.leaderboard(paths)
    assert table.attrs["left_out"] == ["empty.json"]
    assert list(table["protocol"]) == ["paper_10fold"] * 3 + ["speaker_independent"] * 2
    assert table["ua_mean"].iloc[0] == pytest.approx(95.0)  # best first within a protocol
    assert list(table["same folds"]) == ["A", "A", "B", "C", "C"]
    leaky = table[table["leaky"]].iloc[0]
    assert leaky["selection"] == "best_test_leaky ⚠ LEAKY" and leaky["paper UA / WA"] == "95.17 / 95.70"
    clean = table[table["path"] == str(paths[0])].iloc[0]
    ours = 100 * np.mean([0.8, 0.7, 0.9, 0.6, 0.75, 0.85])
    assert clean["paper UA / WA"] == "89.19 / 90.28"
    assert clean["Δ UA / WA"] == f"{ours - 89.19:+.2f} / {ours - 90.28:+.2f}"
    assert table.loc[table["path"] == str(paths[3]), "paper UA / WA"].iloc[0] == ""  # no published LOSO number
    # runs of one model that differ in a setting are told apart by it, within a protocol (the
    # LOSO runs have no n_tab to tell apart: they differ in epochs only)
    assert list(table["model"]) == ["TIM-Net (n_tab=None)"] * 2 + ["TIM-Net (n_tab=4)", "TIM-Net (epochs=5)",
                                                                    "TIM-Net (epochs=10)"]
    assert list(table.columns[: len(report.COLUMNS)]) == list(report.COLUMNS)
    assert table["params"].iloc[0] == "1,000" and table["s/epoch"].iloc[0] == 0.5
    assert "| emodb | paper_10fold | A |" in report.markdown(table[list(report.COLUMNS)])


def test_readme_names_the_device_of_each_epoch_time_when_a_run_moved_machines(tmp_path):
    run = RunResults.open(tmp_path / "moved.json", notebook="nb", paper="glam", dataset="emodb",
                          protocol="speaker_independent", params={"selection": "best_val", "epochs": 3},
                          seed=0, class_names=["a", "b"])
    for index, (device, seconds) in enumerate([("cuda", 0.5), ("cuda", 0.7), ("cpu", 30.0), (None, 9.0)]):
        run.add_fold(index, metrics={"ua": 0.5, "wa": 0.5, "macro_f1": 0.5, "confusion": [[1, 1], [1, 1]]},
                     wall_time_s=1.0, epoch_times_s=[seconds] * 3,
                     extra={"name": f"speaker {index}", **({"device": device} if device else {})})
    cpu_only = _run(tmp_path, "cpu_only")  # no device recorded: the plain median
    block = report.readme_block([run.path, cpu_only])
    assert "| 0.6 (cuda), 9 (unrecorded), 30 (cpu) |" in block
    assert "| 0.5 | 89.19 / 90.28 |" in block


def test_paired_tests_pair_only_the_same_folds_and_correct_for_many_pairs(tmp_path):
    better = _run(tmp_path, "better", uas=(0.9, 0.81, 0.95, 0.72, 0.88, 0.94), model="big")
    worse = _run(tmp_path, "worse", model="small")
    third = _run(tmp_path, "third", uas=(0.8, 0.71, 0.88, 0.61, 0.76, 0.84), model="mid")
    elsewhere = _run(tmp_path, "elsewhere", fingerprint="f9", model="other")
    short = _run(tmp_path, "short", uas=(0.9, 0.9, 0.9), model="short")
    pairs = lb.paired_tests(report.leaderboard([better, worse, third, elsewhere, short]))
    assert "other" not in set(pairs["model A"]) | set(pairs["model B"])  # alone on its folds
    assert len(pairs) == 6  # 4 runs on folds f1: 6 pairs
    first = pairs[(pairs["model A"] == "big") & (pairs["model B"] == "small")].iloc[0]
    assert first["folds paired"] == 6 and first["A − B (UA, points)"] == pytest.approx(10.0)
    assert first["p"] == pytest.approx(0.03125) and first["p (Holm)"] >= first["p"]
    with_short = pairs[(pairs["model A"] == "short") | (pairs["model B"] == "short")]
    assert (with_short["folds paired"] == 3).all() and (with_short["verdict"] == "too few common folds (< 5)").all()
    tested = pairs.dropna(subset=["p"])
    assert (tested["p (Holm)"] >= tested["p"]).all() and (tested["p (Holm)"] <= 1).all()


# ----------------------------------------------------------------------------- pairing utterances across folds

LABELS = np.tile([0, 1], 20)  # 40 utterances, two classes
SPEAKERS = np.repeat(np.arange(4), 10)  # four speakers, ten utterances each


def _cv_run(folder: Path, name: str, predictions: np.ndarray, *, fingerprint: str, model: str = "m",
            folds: list[np.ndarray] | None = None, labels: np.ndarray = LABELS) -> Path:
    """A complete cross-validation run whose folds recorded ``predictions`` (in corpus order)."""
    if folds is None:
        order = np.random.default_rng(int(fingerprint[-1])).permutation(len(labels))
        folds = np.array_split(order, 5)
    run = RunResults.open(folder / f"{name}.json", notebook="nb", paper="tim_net", dataset="emodb",
                          protocol="stratified_10fold", seed=int(fingerprint[-1]), class_names=["a", "b"],
                          params={"selection": "last", "epochs": 5, "model": model, "folds_fingerprint": fingerprint,
                                  "n_utterances": len(labels)})
    run.set_model_info(name=model, param_count=10)
    for index, test in enumerate(folds):
        confusion = np.zeros((2, 2), int)
        np.add.at(confusion, (labels[test], predictions[test]), 1)
        ua = np.mean(np.diag(confusion) / confusion.sum(axis=1))
        run.add_fold(index, metrics={"ua": ua, "wa": ua, "confusion": confusion.tolist()}, wall_time_s=1.0,
                     extra={"test_index": test.tolist(), "y_pred": predictions[test].tolist()})
    return run.path


def test_out_of_fold_predictions_puts_every_prediction_back_and_checks_it(tmp_path):
    predictions = np.where(np.arange(40) % 3 == 0, 1 - LABELS, LABELS)
    data = load_results(_cv_run(tmp_path, "run", predictions, fingerprint="f1"))
    np.testing.assert_array_equal(lb.out_of_fold_predictions(data, LABELS), predictions)
    with pytest.raises(ValueError, match="another order"):
        lb.out_of_fold_predictions(data, np.roll(LABELS, 1))
    with pytest.raises(ValueError, match="40 utterances"):
        lb.out_of_fold_predictions(data, LABELS[:30])
    halves = [np.arange(20), np.arange(20, 40)]
    repeated = load_results(_cv_run(tmp_path, "repeated", predictions, fingerprint="f2",
                                    folds=[*halves, np.arange(10)]))
    with pytest.raises(ValueError, match="not a cross-validation"):
        lb.out_of_fold_predictions(repeated, LABELS)
    partial = load_results(_cv_run(tmp_path, "partial", predictions, fingerprint="f3", folds=halves[:1]))
    with pytest.raises(ValueError, match="20 of 40 utterances were never tested"):
        lb.out_of_fold_predictions(partial, LABELS)


def test_utterance_paired_test_pairs_runs_made_on_different_folds(tmp_path):
    right = LABELS.copy()
    wrong_on_some = np.where(np.arange(40) % 5 == 0, 1 - LABELS, LABELS)  # 8 errors, 2 per speaker
    a = load_results(_cv_run(tmp_path, "a", right, fingerprint="f1"))
    b = load_results(_cv_run(tmp_path, "b", wrong_on_some, fingerprint="f2"))
    result = lb.utterance_paired_test(a, b, LABELS, groups=SPEAKERS)
    assert result["units"] == 4 and result["ua_first"] == 1.0 and result["ua_second"] == pytest.approx(0.8)
    assert result["difference"] == pytest.approx(0.2) and (result["a_only"], result["b_only"]) == (8, 0)
    assert result["p_value"] == pytest.approx(2 / 2 ** 4)  # A better for every speaker: the smallest p there is
    # every speaker has the same gap, so every bootstrap sample over speakers gives it
    assert result["ci_low"] == pytest.approx(0.2) and result["ci_high"] == pytest.approx(0.2)
    by_utterance = lb.utterance_paired_test(a, b, LABELS)
    assert by_utterance["units"] == 40 and by_utterance["p_value"] < 0.05
    same = lb.utterance_paired_test(b, load_results(_cv_run(tmp_path, "c", wrong_on_some, fingerprint="f3")), LABELS)
    assert same["difference"] == 0 and same["p_value"] == 1 and same["a_only"] == same["b_only"] == 0


def test_utterance_paired_tests_leave_fold_paired_models_to_the_fold_test(tmp_path):
    rng = np.random.default_rng(0)
    guesses = [np.where(rng.random(40) < q, LABELS, 1 - LABELS) for q in (0.9, 0.8, 0.6)]
    paths = [_cv_run(tmp_path, "x1", guesses[0], fingerprint="f1", model="x"),
             _cv_run(tmp_path, "x2", guesses[0], fingerprint="f2", model="x"),
             _cv_run(tmp_path, "y1", guesses[1], fingerprint="f1", model="y"),
             _cv_run(tmp_path, "z2", guesses[2], fingerprint="f2", model="z"),
             _cv_run(tmp_path, "w2", guesses[2], fingerprint="f2", model="w", folds=[np.arange(20)])]
    pairs = lb.utterance_paired_tests(report.leaderboard(paths), LABELS, groups=SPEAKERS)
    named = {frozenset((row["model A"].split(" (")[0], row["model B"].split(" (")[0])): row
             for _, row in pairs.iterrows()}
    # x met y and z on their folds (x ran on both fold sets): only x against itself and y against z remain
    assert len(pairs) == 2 and set(named) == {frozenset(["x"]), frozenset(["y", "z"])}
    assert named[frozenset(["x"])]["same model"]
    assert named[frozenset(["x"])]["A − B (UA, points)"] == 0 and not named[frozenset(["y", "z"])]["same model"]
    assert (pairs["p (Holm)"] >= pairs["p"]).all()
    assert len(pairs.attrs["left_out"]) == 1 and "never tested" in pairs.attrs["left_out"][0]


def test_unique_runs_speaker_drop_and_per_class_recall(tmp_path):
    first = _run(tmp_path / "a", "run")
    copy = tmp_path / "b" / "run.json"
    copy.parent.mkdir()
    data = load_results(first)
    data["folds"] = {k: v for k, v in data["folds"].items() if int(k) < 3}
    copy.write_text(json.dumps(data))
    kept, dropped = lb.unique_runs([copy, first])
    assert kept == [first] and len(dropped) == 1 and "same run" in dropped[0]
    loso = _run(tmp_path / "a", "loso", protocol="speaker_independent", fingerprint="f3", uas=(0.5,) * 6)
    strat = _run(tmp_path / "a", "strat", protocol="stratified_10fold", fingerprint="f4", uas=(0.7,) * 6)
    drop = lb.speaker_drop(report.leaderboard([first, loso, strat]))
    assert drop.iloc[0]["speaker-dependent protocol"] == "stratified_10fold"  # preferred over paper_10fold
    assert drop.iloc[0]["drop (points)"] == pytest.approx(20.0)
    recall = lb.per_class_recall([first])
    assert list(recall.columns) == ["a", "b"] and recall.iloc[0].tolist() == pytest.approx([80.0, 90.0])


# ----------------------------------------------------------------------------- costs of the committed models


def test_tim_net_arithmetic_equals_the_flop_count_of_the_pytorch_build(torch_single_thread):
    from papers.cktim_net.model import build_tim
    from papers.tim_net.model import macs_per_utterance

    data = {"paper": "cktim_net", "class_names": list("abcdefg"), "params": {}}
    for n_tab in (1, 8):
        model = build_tim(7, n_tab=n_tab)
        counted = lb.mflops(data, model, "torch", (39, 188)) * 1e6
        # equal up to the fusion's weighted sum of the scale vectors (n_tab * 39 MACs), which the flop counter
        # misses when einsum lowers it to an element-wise product (n_tab = 1)
        assert abs(counted - 2 * macs_per_utterance(188, n_tab, 7)) <= 2 * n_tab * 39
    assert macs_per_utterance() == 18_873_153


def test_examples_per_utterance_counts_glam_segments():
    glam = {"paper": "glam", "dataset": "emodb", "params": {"short_policy": "pad"}}
    # 1.8 s windows every 0.2 s: 1.0 s -> 1 (padded), 1.8 s -> 1, 2.2 s -> 3
    assert lb.examples_per_utterance(glam, [1.0, 1.8, 2.2]) == pytest.approx(5 / 3)
    assert lb.examples_per_utterance({**glam, "params": {"short_policy": "drop"}}, [1.0, 1.8, 2.2]) == 2
    assert lb.examples_per_utterance(glam, None) is None
    assert lb.examples_per_utterance({"paper": "tim_net", "dataset": "emodb", "params": {}}, None) == 1


def test_every_committed_model_rebuilds_with_its_recorded_size(torch_single_thread):
    """Input shape from the run's feature spec, model from its settings: the parameter count must agree."""
    checked = set()
    for path in COMMITTED:
        data = load_results(path)
        if data["paper"] == "classical":
            assert data["model"]["param_count"] > 0 and data["model"]["mflops"] > 0
            continue
        shape = lb.input_shape(data)
        key = (data["paper"], shape, json.dumps(data["params"].get("n_tab")), data["params"].get("model"))
        if key in checked:
            continue
        checked.add(key)
        model, framework = lb.build_model(data, shape)
        assert lb.count_parameters(model, framework) == data["model"]["param_count"], path.name
        flops = lb.mflops(data, model, framework, shape)
        assert flops > 0
        if "mflops" in data["model"]:
            assert flops == pytest.approx(data["model"]["mflops"], abs=0.1), path.name
        assert lb.latency_ms(model, framework, shape, repeats=1, warmup=0) > 0
    assert {paper for paper, *_ in checked} >= {"tim_net", "cktim_net", "glam"}
