"""The classical baseline's pipeline settings, as plain data (no framework imports).

``benchmarks/classical_baseline.py`` reads these, and ``notebooks/05_leaderboard`` its rows
(:data:`LEADERBOARD`). There is no ``PARAMETERS``: the baseline is not run through
``ser_common.experiment.Experiment`` (it has no feature spec), see :mod:`papers.classical.runs`.
"""

from __future__ import annotations

#: Feature sets measured (keys of papers.classical.features.FEATURE_SETS).
FEATURE_SETS = ("egemaps", "compare", "librosa")

#: Classifier kinds (papers.classical.model.build_classifier).
MODELS = ("svm", "svm_rbf", "logreg")

#: "global": StandardScaler fitted on the training part only (inside the pipeline).
#: "speaker": every speaker z-scored with its own statistics first (test speaker included,
#: from its unlabeled utterances), then the same pipeline.
NORMALISATIONS = ("global", "speaker")

#: C of the untuned rows.
FIXED_C = {"svm": 1.0, "svm_rbf": 1.0, "logreg": 1.0}

#: C grids of the tuned rows; chosen by an inner speaker-grouped cross-validation over the
#: training speakers only (scoring: balanced accuracy = UA), then refitted on all of them.
C_GRIDS = {
    "svm": (1e-3, 1e-2, 1e-1, 1.0),
    "svm_rbf": (0.1, 1.0, 10.0, 100.0),
    "logreg": (1e-3, 1e-2, 1e-1, 1.0),
}

#: Inner folds: GroupKFold over the training speakers (3 folds of 3 speakers for EMO-DB LOSO).
#: None means inner leave-one-speaker-out (9 inner folds; about 3x the CPU time).
INNER_FOLDS = 3

#: Everything else build_classifier takes.
PIPELINE = {
    "imputer": "median",
    "scaler": "StandardScaler (fitted on the training rows)",
    "class_weight": "balanced",
    "gamma": "scale",
    "logreg_max_iter": 5000,
    # exact speed-up for the linear models when features outnumber training rows (ComParE)
    "span_projection_for": ("compare",),
}

#: The leaderboard's classical rows (notebooks/05_leaderboard): every (model, normalisation)
#: on every protocol, with C fixed (nothing selected on any data). ``folds`` and ``seed`` are
#: those of the committed deep runs (the notebooks' defaults), so the folds are the same:
#: the notebook checks that the folds fingerprints agree.
LEADERBOARD = {
    "feature_set": "compare",
    "models": ("svm", "logreg"),
    "normalisations": ("global", "speaker"),
    "C": 1.0,
    "protocols": {"stratified_10fold": {"folds": 10, "seed": 46}, "speaker_independent": {"folds": 10, "seed": 46}},
}
