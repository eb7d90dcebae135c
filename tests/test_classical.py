"""papers/classical: functionals, classifier pipelines and per-speaker z-scoring."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import LeaveOneGroupOut

from papers.classical import features as classical_features
from papers.classical.model import (
    CLASSIFIERS,
    SpanProjection,
    SpeakerStandardizer,
    build_classifier,
    per_speaker_zscore,
)


def _speaker_data(seed: int = 0, n_speakers: int = 4, per_speaker: int = 30, n_features: int = 6):
    """Features with a large per-speaker offset and scale, and a class signal on top."""
    rng = np.random.default_rng(seed)
    speakers = np.repeat([f"s{i}" for i in range(n_speakers)], per_speaker)
    y = np.tile(np.arange(3), n_speakers * per_speaker // 3)
    offsets = rng.normal(0, 10, (n_speakers, n_features))
    scales = rng.uniform(0.5, 5, (n_speakers, n_features))
    index = np.repeat(np.arange(n_speakers), per_speaker)
    X = offsets[index] + scales[index] * (rng.normal(size=(speakers.size, n_features)) + y[:, None])
    return X, y, speakers


# ----------------------------------------------------------------------------- per-speaker z-scoring


def test_per_speaker_zscore_gives_zero_mean_unit_std_per_speaker():
    X, _, speakers = _speaker_data()
    Z = per_speaker_zscore(X, speakers)
    assert Z.shape == X.shape
    for speaker in np.unique(speakers):
        rows = speakers == speaker
        np.testing.assert_allclose(Z[rows].mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(Z[rows].std(axis=0), 1, atol=1e-12)


def test_per_speaker_zscore_uses_only_the_speakers_own_rows():
    X, _, speakers = _speaker_data()
    Z = per_speaker_zscore(X, speakers)
    changed = X.copy()
    changed[speakers != "s0"] *= 100  # other speakers change completely
    np.testing.assert_allclose(per_speaker_zscore(changed, speakers)[speakers == "s0"], Z[speakers == "s0"])
    only_s0 = per_speaker_zscore(X[speakers == "s0"], speakers[speakers == "s0"])
    np.testing.assert_allclose(only_s0, Z[speakers == "s0"])  # same whether normalised alone or with the corpus


def test_per_speaker_zscore_handles_constant_and_nan_columns():
    X = np.array([[1.0, 5.0, np.nan], [3.0, 5.0, 2.0], [5.0, 5.0, 4.0]])
    Z = per_speaker_zscore(X, ["a", "a", "a"])
    np.testing.assert_allclose(Z[:, 1], 0)  # constant column: centred, not divided by 0
    assert np.isnan(Z[0, 2]) and np.isfinite(Z[1:, 2]).all()
    with pytest.raises(ValueError, match="one id per row"):
        per_speaker_zscore(X, ["a", "a"])


def test_speaker_standardizer_matches_the_function_and_refuses_unseen_speakers():
    X, _, speakers = _speaker_data()
    scaler = SpeakerStandardizer().fit(X, speakers=speakers)
    np.testing.assert_allclose(scaler.transform(X, speakers=speakers), per_speaker_zscore(X, speakers))
    train = speakers != "s3"
    fitted_on_train = SpeakerStandardizer().fit(X[train], speakers=speakers[train])
    with pytest.raises(KeyError, match="s3"):
        fitted_on_train.transform(X[~train], speakers=speakers[~train])
    self_normalised = SpeakerStandardizer(unseen="self").fit(X[train], speakers=speakers[train])
    np.testing.assert_allclose(self_normalised.transform(X[~train], speakers=speakers[~train]),
                               per_speaker_zscore(X[~train], speakers[~train]))
    with pytest.raises(ValueError, match="speakers"):
        SpeakerStandardizer().fit(X)


def test_per_speaker_zscore_helps_when_speakers_differ_in_offset():
    """The point of the normalisation: unseen speakers' offsets stop hiding the classes."""
    X, y, speakers = _speaker_data(seed=1, n_speakers=6, n_features=4)
    scores = {}
    for name, data in (("global", X), ("speaker", per_speaker_zscore(X, speakers))):
        correct = 0
        for train, test in LeaveOneGroupOut().split(data, y, speakers):
            correct += (build_classifier("logreg").fit(data[train], y[train]).predict(data[test]) == y[test]).sum()
        scores[name] = correct / y.size
    assert scores["speaker"] > scores["global"] + 0.1, scores


# ----------------------------------------------------------------------------- pipelines


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_build_classifier_learns_and_has_the_documented_steps(kind):
    X, y, _ = _speaker_data(seed=2, n_speakers=1, per_speaker=90)
    pipeline = build_classifier(kind, C=1.0)
    assert [name for name, _ in pipeline.steps] == ["impute", "scale", "clf"]
    X[0, 0] = np.nan  # imputed, not an error
    assert (pipeline.fit(X[:60], y[:60]).predict(X[60:]) == y[60:]).mean() > 0.6
    assert pipeline.get_params()["clf__C"] == 1.0
    with pytest.raises(ValueError, match="unknown classifier"):
        build_classifier("forest")


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_pipeline_never_sees_test_rows_in_fit(kind):
    """Changing the test rows arbitrarily changes nothing that was fitted."""
    X, y, _ = _speaker_data(seed=3, n_speakers=1, per_speaker=90)
    train, test = np.arange(60), np.arange(60, 90)
    reference = build_classifier(kind).fit(X[train], y[train])
    poisoned = X.copy()
    poisoned[test] = 1e6 * np.random.default_rng(0).normal(size=poisoned[test].shape)
    again = build_classifier(kind).fit(poisoned[train], y[train])
    np.testing.assert_array_equal(reference.named_steps["scale"].mean_, again.named_steps["scale"].mean_)
    np.testing.assert_array_equal(reference.named_steps["scale"].mean_, X[train].mean(axis=0))
    np.testing.assert_array_equal(reference.predict(X[test]), again.predict(X[test]))


def test_span_projection_is_exact_for_the_linear_svm_and_refused_for_rbf():
    """More features than rows (as ComParE): projecting onto the training span changes nothing."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 400))
    y = np.repeat(np.arange(3), 20)
    X[:, :5] += y[:, None]
    train, test = np.arange(0, 60, 2), np.arange(1, 60, 2)
    plain = build_classifier("svm", C=0.1).fit(X[train], y[train])
    projected = build_classifier("svm", C=0.1, project=True).fit(X[train], y[train])
    assert projected.named_steps["project"].components_.shape == (400, 29)  # rank of 30 centred rows
    np.testing.assert_allclose(projected.decision_function(X[test]), plain.decision_function(X[test]), atol=1e-8)
    basis = SpanProjection().fit(X[train]).components_
    np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-8)  # orthonormal
    with pytest.raises(ValueError, match="linear"):
        build_classifier("svm_rbf", project=True)


# ----------------------------------------------------------------------------- features


def test_feature_sets_and_names_agree():
    assert classical_features.FEATURE_SETS["librosa"] == classical_features.LIBROSA_N_FEATURES
    names = classical_features.feature_names("librosa")
    assert len(names) == classical_features.LIBROSA_N_FEATURES == len(set(names))
    with pytest.raises(ValueError, match="unknown feature_set"):
        classical_features.functionals(["x.wav"], "mfcc")
    with pytest.raises(FileNotFoundError):
        classical_features.functionals(["/nonexistent/file.wav"], "librosa", cache_dir=False)


def test_librosa_functionals_shape_determinism_and_cache(tmp_path):
    import soundfile

    rng = np.random.default_rng(0)
    sr = classical_features.SAMPLE_RATE
    t = np.arange(int(1.2 * sr)) / sr
    paths = []
    for i, f0 in enumerate((120.0, 220.0)):
        signal = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.normal(size=t.size)
        paths.append(tmp_path / f"tone{i}.wav")
        soundfile.write(paths[-1], signal.astype(np.float32), sr)
    cache = tmp_path / "cache"
    X = classical_features.functionals(paths, "librosa", cache_dir=cache)
    assert X.shape == (2, classical_features.LIBROSA_N_FEATURES) and X.dtype == np.float64
    assert np.isfinite(X).all()
    names = classical_features.feature_names("librosa")
    f0 = X[:, names.index("f0st_p50")]
    np.testing.assert_allclose(f0, 12 * np.log2(np.array([120.0, 220.0]) / 27.5), atol=0.3)  # YIN finds the tones
    np.testing.assert_array_equal(classical_features.functionals(paths, "librosa", cache_dir=False), X)
    assert any(cache.rglob("output.pkl"))  # cached ...
    np.testing.assert_array_equal(classical_features.functionals(paths, "librosa", cache_dir=cache), X)
    soundfile.write(paths[0], np.zeros(t.size, np.float32) + 0.001, sr)  # ... and an edited file is recomputed
    assert not np.array_equal(classical_features.functionals(paths, "librosa", cache_dir=cache)[0], X[0])


@pytest.mark.real_data
def test_opensmile_functionals_on_real_emodb(emodb_root, tmp_path):
    """Skips (with the reason) without the real EMO-DB copy (conftest's ``require_emodb``) or openSMILE."""
    root = emodb_root
    opensmile = pytest.importorskip("opensmile", reason="the openSMILE sets need `pip install opensmile`")
    from ser_common import load_manifest

    manifest = load_manifest("emodb", root)
    paths = manifest["path"].iloc[:: len(manifest) // 3][:3].tolist()
    X = classical_features.functionals(paths, "egemaps", cache_dir=tmp_path)
    assert X.shape == (3, 88) and np.isfinite(X).all()
    assert classical_features.feature_names("egemaps")[0].startswith("F0semitoneFrom27.5Hz")
    np.testing.assert_array_equal(classical_features.functionals(paths, "egemaps", cache_dir=False), X)
    assert len(opensmile.__version__) > 0


# ----------------------------------------------------------------------------- leaderboard rows (runs.py)


@pytest.mark.parametrize("protocol", ["stratified_10fold", "speaker_independent"])
def test_classical_folds_are_the_experiment_folds(protocol, tmp_path, synthetic_root, quick_features):
    """Same protocol builder, manifest order and fingerprint as a deep paper's Experiment."""
    from conftest import tim_net_parameters

    from papers.classical import runs
    from ser_common.experiment import Experiment

    exp = Experiment("tim_net", tim_net_parameters(synthetic_root, tmp_path, protocol=protocol, folds=10, seed=46))
    exp.load_features()
    manifest = runs.corpus("synthetic", synthetic_root)
    built = runs.make_folds(manifest, protocol, folds=10, seed=46)
    assert runs.folds_fingerprint(built, manifest) == exp.identity()["folds_fingerprint"]
    for ours, theirs in zip(built, exp.folds):
        np.testing.assert_array_equal(ours.test, theirs.test)
    other_seed = runs.make_folds(manifest, "stratified_10fold", folds=10, seed=42)
    assert runs.folds_fingerprint(other_seed, manifest) != runs.folds_fingerprint(
        runs.make_folds(manifest, "stratified_10fold", folds=10, seed=46), manifest)


def test_leaderboard_folds_add_the_folds_of_deep_runs_with_other_settings(synthetic_root):
    """Classical rows follow every deep run's folds (Light-SERNet's seed 42), never twice, never unmatched."""
    from papers.classical import runs

    manifest = runs.corpus("synthetic", synthetic_root)

    def fingerprint(protocol, folds, seed):
        return runs.folds_fingerprint(runs.make_folds(manifest, protocol, folds=folds, seed=seed), manifest)

    def deep(protocol, folds, seed, fingerprint_):
        return {"protocol": protocol, "params": {"folds": folds, "seed": seed, "folds_fingerprint": fingerprint_}}

    base = {"stratified_10fold": {"folds": 10, "seed": 46}, "speaker_independent": {"folds": 10, "seed": 46}}
    assert [(p, s) for p, s, _ in runs.leaderboard_folds(manifest, base)] == list(base.items())
    seed_42 = fingerprint("stratified_10fold", 10, 42)
    grid = runs.leaderboard_folds(manifest, base, [
        deep("stratified_10fold", 10, 42, seed_42),
        deep("stratified_10fold", 10, 42, seed_42),  # a second run on the same folds adds nothing
        deep("speaker_independent", 10, 42, fingerprint("speaker_independent", 10, 42)),  # same test parts as seed 46
        deep("stratified_10fold", 5, 0, "not-these-files"),  # its manifest differs: no classical folds match
        deep("paper_10fold", 10, 46, "whatever"),  # a paper's own protocol: not a shared one
    ])
    assert grid[2:] == [("stratified_10fold", {"folds": 10, "seed": 42}, seed_42)]
    assert len({fp for _, _, fp in grid}) == len(grid) == 3


def test_run_row_writes_a_labelled_resumable_results_file(tmp_path, synthetic_root):
    from papers.classical import runs
    from ser_common.results import load_results

    manifest = runs.corpus("synthetic", synthetic_root)
    X, _, _ = _speaker_data(seed=5, n_speakers=1, per_speaker=len(manifest), n_features=88)
    X += 5 * manifest["label"].cat.codes.to_numpy()[:, None]  # a class signal
    run = runs.run_row(manifest, X, dataset="synthetic", protocol="speaker_independent", model="logreg",
                       normalisation="speaker", feature_set="egemaps", results_dir=tmp_path / "a", folds=10, seed=46)
    data = load_results(run.path)
    speakers = manifest["speaker"].nunique()
    assert run.completed_folds == list(range(speakers)) and data["notebook"] == "05_leaderboard"
    assert data["paper"] == "classical" and data["params"]["selection"] == "last"
    assert data["params"]["normalisation"] == "speaker" and data["model"]["deviation"] is True
    assert "test speaker" in data["model"]["name"] and "TEST speaker" in data["model"]["normalisation"]
    assert data["model"]["param_count"] == 7 * (88 + 1) and data["model"]["mflops"] == round(2 * 7 * 88 / 1e6, 3)
    for key, fold in data["folds"].items():  # the validation speaker went back into training
        assert fold["extra"]["n_train"] + len(fold["extra"]["test_index"]) == len(manifest)
        assert fold["extra"]["name"].startswith("speaker ")
    assert data["aggregate"]["ua"]["mean"] > 0.5
    updated = data["updated"]
    again = runs.run_row(manifest, X, dataset="synthetic", protocol="speaker_independent", model="logreg",
                         normalisation="speaker", feature_set="egemaps", results_dir=tmp_path / "b", folds=10,
                         seed=46, resume_from=(tmp_path / "a",))
    assert again.path == run.path and load_results(run.path)["updated"] == updated  # found, resumed, not rewritten
    assert not (tmp_path / "b").exists()
    with pytest.raises(ValueError, match="shared protocols"):
        runs.make_folds(manifest, "paper_10fold")


@pytest.mark.real_data
def test_classical_folds_match_the_committed_deep_runs_on_emodb(emodb_root):
    """The leaderboard pairs the classical rows with the deep runs: their fingerprints must agree."""
    import json
    from pathlib import Path

    from papers.classical import recipe, runs

    manifest = runs.corpus("emodb", emodb_root)
    committed = {}
    for path in sorted((Path(__file__).resolve().parents[1] / "results" / "emodb").glob("*.json")):
        data = json.loads(path.read_text())
        if data["paper"] != "classical" and data["params"]["seed"] == 46 and data["params"]["folds"] == 10:
            committed.setdefault(data["protocol"], set()).add(data["params"]["folds_fingerprint"])
    for protocol, settings in recipe.LEADERBOARD["protocols"].items():
        ours = runs.folds_fingerprint(runs.make_folds(manifest, protocol, **settings), manifest)
        assert committed[protocol] == {ours}, (protocol, committed[protocol], ours)


def test_opensmile_works_after_tensorflow_is_imported(tmp_path):
    """openSMILE crashes a process that has loaded TensorFlow; ``functionals`` must extract elsewhere."""
    pytest.importorskip("opensmile", reason="the openSMILE sets need `pip install opensmile`")
    pytest.importorskip("tensorflow")
    import soundfile

    wav = tmp_path / "tone.wav"
    t = np.arange(16_000) / 16_000
    soundfile.write(wav, 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t)), 16_000)
    script = tmp_path / "extract.py"
    script.write_text(
        "import sys\n"
        "if __name__ == '__main__':\n"
        "    import tensorflow  # noqa: F401 -- the crash needs it loaded first\n"
        "    from papers.classical import features\n"
        f"    print(features.functionals([{str(wav)!r}], 'egemaps', cache_dir=False).shape)\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(script)], cwd=Path(__file__).resolve().parents[1],
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
                               "TF_CPP_MIN_LOG_LEVEL": "2"},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "(1, 88)"
