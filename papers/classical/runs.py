"""The classical baseline on the deep models' folds, written as ordinary results files.

The deep notebooks go through :class:`ser_common.experiment.Experiment`, which needs a
``FeatureSpec``; the classical baseline has none (openSMILE functionals), so this module
does the same three things by hand, with the same pieces:

* the manifest in :func:`ser_common.corpora.load_manifest`'s order (:func:`corpus`);
* the folds from the same protocol builders, ``ser_common.splits.PROTOCOLS[...]`` with the
  same ``folds`` and ``seed`` (:func:`make_folds`), fingerprinted exactly as
  ``Experiment.identity`` does (:func:`folds_fingerprint`), so a classical row pairs with
  every deep run made on the same folds;
* one :class:`~ser_common.results.RunResults` file per row (:func:`run_row`), resumable,
  with the run's identity and each fold's predictions.

Nothing is selected on any data (C is fixed), so the validation part a fold carves for
the deep models goes back into training: the *test* parts are exactly theirs.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from papers.classical.model import build_classifier, per_speaker_zscore
from ser_common import splits
from ser_common.corpora import corpus_root, load_manifest
from ser_common.metrics import evaluate
from ser_common.results import RunResults, to_jsonable
from ser_common.synthetic import make_synthetic

__all__ = ["MODEL_NAMES", "NORMALISATION_NOTES", "corpus", "folds_fingerprint", "leaderboard_folds", "make_folds",
           "model_info", "row_identity", "run_row"]

NOTEBOOK = "05_leaderboard"

#: Readable names of the classifier kinds.
MODEL_NAMES = {"svm": "linear SVM", "svm_rbf": "RBF SVM", "logreg": "logistic regression"}
FEATURE_NAMES = {"compare": "ComParE", "egemaps": "eGeMAPS", "librosa": "librosa stats"}

#: What each normalisation uses; the per-speaker one is transductive and no paper's recipe.
NORMALISATION_NOTES = {
    "global": "StandardScaler fitted on the training part only",
    "speaker": ("per-speaker z-score: every speaker standardised with its own statistics, the TEST speaker's "
                "from its unlabeled test utterances (transductive); a deviation from every paper's recipe"),
}


def corpus(dataset: str, data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The manifest exactly as ``Experiment`` loads it (the synthetic corpus is generated if needed)."""
    root = corpus_root(dataset, data_dir)
    if dataset == "synthetic":
        make_synthetic(root)
    return load_manifest(dataset, root)


def _labels_and_speakers(manifest: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return manifest["label"].cat.codes.to_numpy().astype(np.int64), manifest["speaker"].astype(str).to_numpy()


def make_folds(manifest: pd.DataFrame, protocol: str, folds: int = 10, seed: int = 46) -> list[splits.Fold]:
    """The protocol's folds over the manifest, built and checked as ``Experiment.folds`` builds them."""
    if protocol not in splits.PROTOCOLS:
        raise ValueError(f"protocol {protocol!r}: the classical baseline runs the shared protocols "
                         f"{sorted(splits.PROTOCOLS)}")
    y, speakers = _labels_and_speakers(manifest)
    chosen = splits.PROTOCOLS[protocol]
    built = chosen.build(y, speakers, folds, seed)
    splits.check_folds(built, len(manifest), speakers if chosen.speaker_independent else None)
    return built


def folds_fingerprint(built: list[splits.Fold], manifest: pd.DataFrame) -> str:
    """``Experiment.identity``'s ``folds_fingerprint``: the test parts and the file names, in order."""
    return splits.fingerprint(built, manifest["path"].map(lambda p: Path(p).name))


def leaderboard_folds(manifest: pd.DataFrame, protocols: dict[str, dict],
                      deep_runs: list[dict] = ()) -> list[tuple[str, dict, str]]:
    """The folds the classical rows are computed on: ``(protocol, {"folds", "seed"}, fingerprint)``.

    ``protocols`` are the leaderboard's own settings (``recipe.LEADERBOARD["protocols"]``).
    Every deep run (a loaded results dict) of a shared protocol whose ``folds``/``seed`` give
    other test parts, e.g. Light-SERNet's official seed 42, adds its settings, so a paired
    test can join it with the classical rows; but only where these folds reproduce the
    fingerprint the run recorded (a run with files left out of its manifest does not match,
    and stays unpaired). Test parts already covered are not added twice (a leave-one-speaker-out
    split does not depend on the seed).
    """
    chosen = []
    for protocol, settings in protocols.items():
        setting = {"folds": int(settings["folds"]), "seed": int(settings["seed"])}
        chosen.append((protocol, setting, folds_fingerprint(make_folds(manifest, protocol, **setting), manifest)))
    for data in deep_runs:
        protocol, params = data["protocol"], data["params"]
        recorded = params.get("folds_fingerprint")
        if protocol not in splits.PROTOCOLS or recorded in {fp for _, _, fp in chosen}:
            continue
        setting = {"folds": int(params["folds"]), "seed": int(params["seed"])}
        try:
            built = make_folds(manifest, protocol, **setting)
        except ValueError:  # e.g. more folds than speakers: these folds are not the run's
            continue
        if folds_fingerprint(built, manifest) == recorded:
            chosen.append((protocol, setting, recorded))
    return chosen


def feature_identity(feature_set: str) -> dict:
    """What the features are, for the run's identity (a new openSMILE version is a new run)."""
    from papers.classical.features import FEATURE_SETS, SAMPLE_RATE, _OPENSMILE_SETS

    identity = {"class": "functionals", "set": feature_set, "n_features": FEATURE_SETS[feature_set],
                "sample_rate": SAMPLE_RATE}
    if feature_set in _OPENSMILE_SETS:
        import opensmile

        identity.update(opensmile_set=_OPENSMILE_SETS[feature_set], opensmile=opensmile.__version__)
    return identity


def row_identity(manifest: pd.DataFrame, built: list[splits.Fold], *, dataset: str, protocol: str, folds: int,
                 seed: int, model: str, normalisation: str, feature_set: str, C: float = 1.0) -> dict:
    """Everything that can change a classical row's results (the results file's ``params``)."""
    if normalisation not in NORMALISATION_NOTES:
        raise ValueError(f"normalisation {normalisation!r}: choose one of {sorted(NORMALISATION_NOTES)}")
    return {"dataset": dataset, "protocol": protocol, "folds": folds, "seed": seed, "selection": "last",
            "model": model, "C": C, "class_weight": "balanced", "normalisation": normalisation,
            "feature_set": feature_set, "features": feature_identity(feature_set), "train_on": "train+val",
            "n_utterances": len(manifest), "folds_fingerprint": folds_fingerprint(built, manifest),
            "skipped_files": []}


def model_info(model: str, normalisation: str, feature_set: str, n_features: int, n_classes: int) -> dict:
    """Name, size and cost of the classifier (the openSMILE extraction is not counted).

    ``param_count`` counts the linear classifier's weights and biases in the original
    feature space (the span projection is an exact reparametrisation): one weight vector
    per class for the logistic regression, one per pair of classes for libsvm's
    one-vs-one SVM. ``mflops`` = 2 × weights, one multiply-add each, per utterance.
    """
    outputs = {"logreg": n_classes, "svm": n_classes * (n_classes - 1) // 2}.get(model)
    name = f"{FEATURE_NAMES.get(feature_set, feature_set)} + {MODEL_NAMES[model]}"
    if normalisation == "speaker":
        name += " + per-speaker z-score (test speaker's stats)"
    info = {"name": name, "framework": "scikit-learn " + __import__("sklearn").__version__,
            "normalisation": NORMALISATION_NOTES[normalisation], "deviation": normalisation == "speaker"}
    if outputs is not None:
        info.update(param_count=outputs * (n_features + 1), mflops=round(2 * outputs * n_features / 1e6, 3))
    return info


def results_path(folder: str | os.PathLike, identity: dict) -> Path:
    """``classical_<protocol>_<features>_<model>_<normalisation>_<hash of the identity>.json`` in ``folder``."""
    digest = hashlib.blake2b(json.dumps(to_jsonable(identity), sort_keys=True).encode(), digest_size=4).hexdigest()
    return Path(folder) / (f"classical_{identity['protocol']}_{identity['feature_set']}_{identity['model']}_"
                           f"{identity['normalisation']}_{digest}.json")


def run_row(manifest: pd.DataFrame, X: np.ndarray, *, dataset: str, protocol: str, model: str, normalisation: str,
            feature_set: str, results_dir: str | os.PathLike, folds: int = 10, seed: int = 46, C: float = 1.0,
            resume: bool = True, resume_from: tuple[str | os.PathLike, ...] = ()) -> RunResults:
    """Fit and test one classical row on every fold of the protocol; one results file, resumable.

    ``X`` holds one row of functionals per manifest row (same order). Every fold trains on
    its training and validation parts (nothing is selected) and predicts its test part.
    The file goes to ``results_dir``, unless one of the folders ``resume_from`` (e.g. the
    committed ``results/<corpus>``) already holds this row's file: then that one is resumed.
    """
    if len(X) != len(manifest):
        raise ValueError(f"X has {len(X)} rows for {len(manifest)} manifest rows")
    y, speakers = _labels_and_speakers(manifest)
    class_names = [str(name) for name in manifest["label"].cat.categories]
    built = make_folds(manifest, protocol, folds, seed)
    identity = row_identity(manifest, built, dataset=dataset, protocol=protocol, folds=folds, seed=seed, model=model,
                            normalisation=normalisation, feature_set=feature_set, C=C)
    path = next((p for p in (results_path(folder, identity) for folder in resume_from) if p.is_file()),
                results_path(results_dir, identity))
    run = RunResults.open(path, notebook=NOTEBOOK, paper="classical", dataset=dataset,
                          protocol=protocol, params=identity, seed=seed, class_names=class_names, resume=resume)
    run.set_model_info(**model_info(model, normalisation, feature_set, X.shape[1], len(class_names)))
    # A speaker's statistics come from that speaker's rows only, so normalising the whole
    # corpus at once is the same as normalising inside each fold (no labels are used).
    data = per_speaker_zscore(X, speakers) if normalisation == "speaker" else X
    for fold in built:
        if run.is_done(fold.index):
            continue
        start = time.perf_counter()
        train = np.sort(np.concatenate([fold.train, fold.val]))
        classifier = build_classifier(model, C, project=X.shape[1] > train.size and model != "svm_rbf")
        y_pred = classifier.fit(data[train], y[train]).predict(data[fold.test])
        run.add_fold(fold.index, metrics=evaluate(y[fold.test], y_pred, len(class_names)),
                     wall_time_s=time.perf_counter() - start, selection=f"fixed C={C:g}",
                     extra={"name": fold.name, "test_index": fold.test.tolist(), "y_pred": y_pred.tolist(),
                            "n_train": int(train.size), "n_val": 0, "device": "cpu"})
    return run
