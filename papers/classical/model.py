"""Classical classifiers on utterance-level functionals, and per-speaker feature normalisation.

:func:`build_classifier` returns an unfitted scikit-learn :class:`~sklearn.pipeline.Pipeline`
``impute -> standardise -> classify``. Every step is fitted inside ``Pipeline.fit`` on the
training rows only, so a pipeline used with ``fit(X[train]) / predict(X[test])`` never
sees a test utterance before it predicts it ("global" normalisation).

:func:`per_speaker_zscore` and :class:`SpeakerStandardizer` implement **per-speaker
z-scoring**: every speaker's features are standardised with that speaker's *own* mean and
standard deviation. What it does and does not use, honestly:

* It uses **no labels**. The statistics of a speaker depend only on that speaker's
  features, never on another speaker's, so normalising the whole corpus at once gives
  exactly the same numbers as normalising inside each fold.
* At test time it needs a **batch of unlabeled utterances of the test speaker** (in the
  leave-one-speaker-out benchmark: all of them). This is transductive / speaker-adaptive
  evaluation, standard in the paralinguistics literature ("speaker normalisation"), but it
  is not the same setting as classifying one utterance of an unknown speaker in isolation:
  a deployed system would need enrolment speech of each user (or running statistics).
* The statistics also depend on the *mix of emotions* in that batch (a speaker recorded
  mostly angry has a higher mean pitch). On EMO-DB every speaker acted all seven emotions,
  so the mix is similar across speakers; on a corpus where it is not, the gain can shrink.

Numbers obtained with it must be labelled "per-speaker z-score (unlabeled test-speaker
statistics)" and are not directly comparable with models that see one utterance at a time.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

__all__ = ["CLASSIFIERS", "SpanProjection", "SpeakerStandardizer", "build_classifier", "per_speaker_zscore"]

#: The classifier kinds :func:`build_classifier` knows.
CLASSIFIERS = ("svm", "svm_rbf", "logreg")


def build_classifier(
    kind: str = "svm",
    C: float = 1.0,
    *,
    gamma: str | float = "scale",
    class_weight: str | dict | None = "balanced",
    max_iter: int = 5000,
    random_state: int = 0,
    project: bool = False,
) -> Pipeline:
    """An unfitted ``SimpleImputer(median) -> StandardScaler -> classifier`` pipeline.

    Parameters
    ----------
    kind : {"svm", "svm_rbf", "logreg"}
        ``"svm"``: ``SVC(kernel="linear")`` (libsvm, one-vs-one), the classic
        openSMILE + SVM baseline. ``"svm_rbf"``: ``SVC(kernel="rbf", gamma=gamma)``.
        ``"logreg"``: multinomial ``LogisticRegression`` (L2, lbfgs).
    C : float
        Inverse regularisation strength of the classifier. Its step name is ``"clf"``,
        so grid searches address it as ``"clf__C"``.
    gamma : "scale", "auto" or float
        RBF width (``svm_rbf`` only).
    class_weight : "balanced", dict or None
        ``"balanced"`` (default) weighs classes inversely to their training frequency,
        which targets UA (mean per-class recall) rather than accuracy.
    max_iter : int
        Iteration cap of the logistic regression (the SVMs run to convergence).
    random_state : int
        Seed (only used by libsvm's probability calibration, which is off, and kept for
        reproducibility of any future randomised solver).
    project : bool, default False
        Insert a :class:`SpanProjection` step (``"project"``) after the scaler: the
        standardised features are expressed in an orthonormal basis of the span of the
        training rows. For the L2-regularised *linear* models (``"svm"``, ``"logreg"``)
        this gives the same classifier (up to solver tolerance) at a fraction of the cost
        when there are more features than training rows (ComParE: 6,373 vs ~480).
        Not allowed with ``"svm_rbf"``, whose distances to test rows it would change.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``impute`` (median, fitted on training rows; only the librosa set can hold
        NaN), ``scale`` (zero mean / unit variance from the training rows), optionally
        ``project``, and ``clf``.
    """
    if kind == "svm":
        clf = SVC(kernel="linear", C=C, class_weight=class_weight, random_state=random_state)
    elif kind == "svm_rbf":
        clf = SVC(kernel="rbf", C=C, gamma=gamma, class_weight=class_weight, random_state=random_state)
    elif kind == "logreg":
        clf = LogisticRegression(C=C, class_weight=class_weight, max_iter=max_iter, random_state=random_state)
    else:
        raise ValueError(f"unknown classifier kind {kind!r}; choose one of {CLASSIFIERS}")
    if project and kind == "svm_rbf":
        raise ValueError("project=True is exact only for the linear models ('svm', 'logreg'), not for 'svm_rbf'")
    steps = [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    if project:
        steps.append(("project", SpanProjection()))
    return Pipeline([*steps, ("clf", clf)])


class SpanProjection(TransformerMixin, BaseEstimator):
    """Coordinates in an orthonormal basis of the span of the training rows (an exact speed-up).

    ``fit`` takes the SVD ``X = U S Vt`` of the training matrix and keeps the right
    singular vectors ``V`` with non-negligible singular values; ``transform`` returns
    ``X @ V``. For a linear model with an L2 penalty the optimal weight vector lies in the
    span of the training rows (representer theorem), and ``V`` is orthonormal, so the
    penalty ``||w||^2`` and every training score ``x . w`` are unchanged: fitting on the
    projected rows gives the same decision function on any test row. It only pays off when
    there are more features than training rows. Uses no labels; fitted on training rows only.

    Parameters
    ----------
    rtol : float
        Directions whose squared singular value is below ``rtol`` times the largest are
        treated as zero (dropped).
    """

    def __init__(self, rtol: float = 1e-10):
        self.rtol = rtol

    def fit(self, X, y=None):  # noqa: D102
        del y
        X = np.asarray(X, dtype=np.float64)
        if X.shape[0] < X.shape[1]:  # via the small Gram matrix X X^T = U S^2 U^T, then V = X^T U / S
            eigenvalues, u = np.linalg.eigh(X @ X.T)
            keep = eigenvalues > self.rtol * max(eigenvalues.max(), 0.0) if eigenvalues.size else eigenvalues > 0
            keep &= eigenvalues > 0
            self.components_ = (X.T @ u[:, keep]) / np.sqrt(eigenvalues[keep])  # (n_features, rank)
        else:
            _, singular, vt = np.linalg.svd(X, full_matrices=False)
            keep = singular > np.sqrt(self.rtol) * singular.max() if singular.size else singular > 0
            self.components_ = vt[keep].T
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):  # noqa: D102
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} columns, the projection was fitted on {self.n_features_in_}")
        return X @ self.components_


def _speaker_array(speakers: Sequence[Hashable] | np.ndarray, n_rows: int) -> np.ndarray:
    speakers = np.asarray(speakers)
    if speakers.ndim != 1 or speakers.size != n_rows:
        raise ValueError(f"speakers must hold one id per row: got shape {speakers.shape} for {n_rows} rows")
    return speakers


def _moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = np.nanmean(X, axis=0)
    std = np.nanstd(X, axis=0)
    mean = np.where(np.isnan(mean), 0.0, mean)  # a column that is NaN for the whole speaker
    std = np.where(np.isnan(std) | (std < 1e-12), 1.0, std)  # constant column: centre only
    return mean, std


def per_speaker_zscore(X: np.ndarray, speakers: Sequence[Hashable] | np.ndarray) -> np.ndarray:
    """Standardise each speaker's rows with that speaker's own mean and standard deviation.

    Parameters
    ----------
    X : array, shape (n_rows, n_features)
        Features; NaN is ignored in the statistics and stays NaN.
    speakers : array-like, shape (n_rows,)
        Speaker id of every row.

    Returns
    -------
    numpy.ndarray, float64, same shape as ``X``
        For every speaker ``s`` and column ``j``: ``(X[s, j] - mean_s[j]) / std_s[j]``
        (population std; a column that is constant for a speaker is only centred). Every
        speaker's rows then have zero mean per column. No labels are used, and a row's
        output depends only on rows of the same speaker.

    Notes
    -----
    See the module docstring for what this means at test time (it needs a batch of the
    test speaker's unlabeled utterances).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (rows, features), got shape {X.shape}")
    speakers = _speaker_array(speakers, X.shape[0])
    out = np.empty_like(X)
    for speaker in np.unique(speakers):
        rows = speakers == speaker
        mean, std = _moments(X[rows])
        out[rows] = (X[rows] - mean) / std
    return out


class SpeakerStandardizer(TransformerMixin, BaseEstimator):
    """Per-speaker z-scoring with stored statistics (see :func:`per_speaker_zscore`).

    ``fit(X, speakers=...)`` stores the mean / std of each speaker present;
    ``transform(X, speakers=...)`` standardises every row with its speaker's stored
    statistics. The statistics of a speaker come from that speaker's rows only and no
    labels are used, so one may legitimately ``fit`` on the *unlabeled* utterances of a
    test speaker before transforming them (speaker adaptation); whether that matches the
    deployment setting is a separate question (module docstring).

    Parameters
    ----------
    unseen : {"error", "self"}, default "error"
        What ``transform`` does with a speaker it was not fitted on: raise ``KeyError``,
        or standardise those rows with their own statistics (``per_speaker_zscore``).

    Attributes
    ----------
    means_, stds_ : dict
        Speaker id -> per-column mean / standard deviation.
    """

    def __init__(self, unseen: str = "error"):
        self.unseen = unseen

    def fit(self, X, y=None, *, speakers=None):  # noqa: D102 - documented on the class
        del y  # labels are never used
        if speakers is None:
            raise ValueError("SpeakerStandardizer.fit needs speakers=... (one id per row)")
        X = np.asarray(X, dtype=np.float64)
        speakers = _speaker_array(speakers, X.shape[0])
        self.means_, self.stds_ = {}, {}
        for speaker in np.unique(speakers):
            self.means_[speaker], self.stds_[speaker] = _moments(X[speakers == speaker])
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X, *, speakers=None):  # noqa: D102
        if speakers is None:
            raise ValueError("SpeakerStandardizer.transform needs speakers=... (one id per row)")
        if self.unseen not in ("error", "self"):
            raise ValueError(f"unseen must be 'error' or 'self', got {self.unseen!r}")
        X = np.asarray(X, dtype=np.float64)
        speakers = _speaker_array(speakers, X.shape[0])
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} columns, the standardizer was fitted on {self.n_features_in_}")
        out = np.empty_like(X)
        for speaker in np.unique(speakers):
            rows = speakers == speaker
            if speaker in self.means_:
                out[rows] = (X[rows] - self.means_[speaker]) / self.stds_[speaker]
            elif self.unseen == "self":
                out[rows] = per_speaker_zscore(X[rows], speakers[rows])
            else:
                raise KeyError(
                    f"speaker {speaker!r} was not seen in fit; fit on its (unlabeled) rows or use unseen='self'"
                )
        return out

    def fit_transform(self, X, y=None, *, speakers=None):  # noqa: D102
        return self.fit(X, y, speakers=speakers).transform(X, speakers=speakers)
