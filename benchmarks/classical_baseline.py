"""Classical baseline on EMO-DB: functionals x classifier x normalisation, on the deep models' folds.

For every feature set (openSMILE eGeMAPS 88 / ComParE 6,373, librosa statistics), classifier
(linear SVM, RBF SVM, logistic regression) and normalisation, prints UA / WA / macro-F1 as
mean ± std over the folds (UA = mean per-class recall, the headline):

* ``loso``: the repository's ``speaker_independent`` protocol (leave-one-speaker-out, 10
  folds, every speaker tested once). The deep models' validation speaker is put back into
  training (nothing here needs early stopping), so the *test* parts are the same.
  Two rows per setting: ``C`` fixed (recipe.FIXED_C) and ``C`` tuned by an inner
  speaker-grouped cross-validation over the **training speakers only** (nested).
* ``stratified``: ``StratifiedKFold(10, shuffle=True, random_state=46)`` over utterances
  (the repository's ``stratified_10fold`` test parts, speaker-dependent), fixed ``C`` only.

Normalisations: ``global`` = StandardScaler fitted on the training part only;
``speaker`` = every speaker z-scored with its own statistics first (the test speaker too,
from its unlabeled utterances: no labels, but transductive; see papers/classical/model.py).

    .venv/bin/python benchmarks/classical_baseline.py                    # everything (~15 min CPU)
    .venv/bin/python benchmarks/classical_baseline.py --features egemaps --protocols loso --no-tune
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import sys
import time
from pathlib import Path

# One BLAS thread: the machine is shared, and threads only add waiting for these sizes.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, GroupKFold, LeaveOneGroupOut  # noqa: E402

from papers.classical import recipe  # noqa: E402
from papers.classical.features import FEATURE_SETS, functionals  # noqa: E402
from papers.classical.model import build_classifier, per_speaker_zscore  # noqa: E402
from ser_common import load_manifest, metrics, splits  # noqa: E402
from ser_common.corpora import label_codes  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "emodb"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "classical_baseline.txt"


def make_folds(protocol: str, y: np.ndarray, speakers: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, train rows, test rows) per fold; train = the repository fold's train + val parts."""
    if protocol == "loso":
        folds = splits.PROTOCOLS["speaker_independent"].build(y, speakers, 10, 0)
    elif protocol == "stratified":
        folds = splits.PROTOCOLS["stratified_10fold"].build(y, speakers, 10, 46)
    else:
        raise ValueError(protocol)
    out = [(f.name, np.sort(np.concatenate([f.train, f.val])), f.test) for f in folds]
    for _, train, test in out:
        assert not np.intersect1d(train, test).size and train.size + test.size == y.size
        if protocol == "loso":
            assert not np.intersect1d(speakers[train], speakers[test]).size
    return out


def fit_predict(X, y, speakers, train, test, kind, C, tune, project, inner_folds):
    """Predictions for the test rows and the C used; tuning sees the training rows only."""
    model = build_classifier(kind, C, project=project)
    if not tune:
        return model.fit(X[train], y[train]).predict(X[test]), C
    groups = speakers[train]
    cv = LeaveOneGroupOut() if inner_folds is None else GroupKFold(n_splits=inner_folds)
    search = GridSearchCV(model, {"clf__C": list(recipe.C_GRIDS[kind])}, scoring="balanced_accuracy", cv=cv,
                          n_jobs=1, refit=True)
    search.fit(X[train], y[train], groups=groups)
    return search.predict(X[test]), search.best_params_["clf__C"]


def run_row(X, y, speakers, folds, kind, tune, project, inner_folds):
    start = time.process_time()
    per_fold, chosen = [], []
    for _, train, test in folds:
        predicted, C = fit_predict(X, y, speakers, train, test, kind, recipe.FIXED_C[kind], tune, project,
                                   inner_folds)
        per_fold.append(metrics.evaluate(y[test], predicted, int(y.max()) + 1))
        chosen.append(C)
    return metrics.summarize(per_fold, ("ua", "wa", "macro_f1")), chosen, time.process_time() - start


def c_label(chosen: list[float], tune: bool) -> str:
    if not tune:
        return f"{chosen[0]:g}"
    values, counts = np.unique(chosen, return_counts=True)
    return "nested: " + ",".join(f"{v:g}x{c}" for v, c in zip(values, counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--features", nargs="+", default=list(recipe.FEATURE_SETS), choices=list(FEATURE_SETS))
    parser.add_argument("--models", nargs="+", default=list(recipe.MODELS), choices=list(recipe.MODELS))
    parser.add_argument("--norms", nargs="+", default=list(recipe.NORMALISATIONS), choices=list(recipe.NORMALISATIONS))
    parser.add_argument("--protocols", nargs="+", default=["loso", "stratified"], choices=["loso", "stratified"])
    parser.add_argument("--no-tune", action="store_true", help="skip the nested-tuned LOSO rows")
    parser.add_argument("--inner-folds", type=int, default=recipe.INNER_FOLDS,
                        help="GroupKFold folds over the training speakers for tuning; 0 = inner leave-one-speaker-out")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="feature cache (default $SER_CACHE_DIR or ./cache)")
    parser.add_argument("--n-jobs", type=int, default=1, help="feature extraction workers")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    inner_folds = None if args.inner_folds == 0 else args.inner_folds
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    manifest = load_manifest("emodb", args.data_dir)
    y = label_codes(manifest)
    speakers = manifest["speaker"].to_numpy()
    paths = manifest["path"].tolist()
    try:
        import opensmile

        smile_version = opensmile.__version__
    except ImportError:
        smile_version = "not installed"

    command = "$ .venv/bin/python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, REPO), *sys.argv[1:]])
    lines = [
        command,
        f"# classical baseline, {datetime.date.today()}, EMO-DB {len(manifest)} utterances, "
        f"{len(np.unique(speakers))} speakers, {len(np.unique(y))} classes; scikit-learn {sklearn.__version__}, "
        f"opensmile {smile_version}, numpy {np.__version__}, {os.cpu_count()} CPUs ({platform.machine()}), "
        "1 BLAS thread",
        "# UA = mean per-class recall, WA = accuracy, macro-F1; percent, mean ± std (population) over the folds.",
        "# loso = leave-one-speaker-out (10 folds, the repo's speaker_independent test parts); stratified = "
        "StratifiedKFold(10, shuffle=True, random_state=46) over utterances (speaker-dependent).",
        "# norm global = StandardScaler fitted on the training part only; norm speaker = each speaker z-scored "
        "with its OWN statistics (test speaker included, from its unlabeled utterances), then the same pipeline.",
        f"# C nested = chosen per outer fold from {recipe.C_GRIDS} by "
        + ("inner leave-one-speaker-out" if inner_folds is None else f"inner GroupKFold({inner_folds}) over speakers")
        + " on the training speakers only (scoring UA); 'C' column lists value x number of folds.",
        "# cpu = process CPU seconds for the row (all folds, incl. tuning).",
        "",
    ]
    header = (f"{'protocol':10s} {'features':8s} {'dim':>5s} {'model':8s} {'norm':8s} {'C':28s}"
              f"{'UA':>14s} {'WA':>14s} {'macro-F1':>14s} {'cpu s':>7s}")
    print("\n".join(lines), flush=True)
    print(header, flush=True)
    rows = []
    for feature_set in args.features:
        start = time.perf_counter()
        X_raw = functionals(paths, feature_set, n_jobs=args.n_jobs, cache_dir=args.cache_dir)
        print(f"# {feature_set}: {X_raw.shape} loaded/extracted in {time.perf_counter() - start:.1f} s wall",
              flush=True)
        project = feature_set in recipe.PIPELINE["span_projection_for"]
        for norm in args.norms:
            X = X_raw if norm == "global" else per_speaker_zscore(X_raw, speakers)
            for protocol in args.protocols:
                folds = make_folds(protocol, y, speakers)
                for kind in args.models:
                    for tune in ([False] if (protocol != "loso" or args.no_tune) else [False, True]):
                        summary, chosen, cpu = run_row(X, y, speakers, folds, kind, tune,
                                                       project and kind != "svm_rbf", inner_folds)
                        row = (f"{protocol:10s} {feature_set:8s} {X.shape[1]:5d} {kind:8s} {norm:8s} "
                               f"{c_label(chosen, tune):28s} "
                               + " ".join(f"{metrics.format_mean_std(summary, k):>14s}"
                                          for k in ("ua", "wa", "macro_f1"))
                               + f" {cpu:7.1f}")
                        rows.append((protocol, summary["ua"]["mean"], row,
                                     f"{feature_set} + {kind} + {norm} norm, C {c_label(chosen, tune)}"))
                        print(row, flush=True)

    table = [header, *(r[2] for r in sorted(rows, key=lambda r: (r[0], -r[1])))]
    best = {p: max((r for r in rows if r[0] == p), key=lambda r: r[1]) for p in args.protocols}
    footer = [""] + [f"# best {p} UA: {100 * best[p][1]:.2f} % ({best[p][3]})" for p in args.protocols]
    footer.append("# NOTE: the 'best' row is the maximum over the rows above, i.e. chosen by looking at the outer "
                  "test folds; only C inside a 'nested' row was selected without them.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join([*lines, "# rows sorted by protocol, then UA", *table, *footer]) + "\n")
    print("\n".join(footer))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
