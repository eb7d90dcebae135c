"""Classical baseline: utterance-level functionals + SVM / logistic regression (scikit-learn).

The row every deep model on the leaderboard must beat. Not a single paper: the classic
paralinguistics recipe (openSMILE functionals, standardisation, linear SVM), run on exactly
the same folds as the deep models. ``notebooks/05_leaderboard`` runs its leaderboard rows
(:mod:`~papers.classical.runs`, one results file per row, like every deep run); the
script that measures the whole grid is ``benchmarks/classical_baseline.py`` (results in
``benchmarks/results/classical_baseline.txt``).

==================  ==============================================================
``features``        :func:`~papers.classical.features.functionals`: openSMILE
                    eGeMAPSv02 (88) or ComParE_2016 (6,373) functionals, or a
                    librosa fallback (322), cached with joblib
``model``           :func:`~papers.classical.model.build_classifier` (impute ->
                    standardise -> SVM / logistic regression) and per-speaker
                    z-scoring (:func:`~papers.classical.model.per_speaker_zscore`,
                    :class:`~papers.classical.model.SpeakerStandardizer`)
``recipe``          the pipeline settings and hyper-parameter grids, as plain dicts,
                    and the leaderboard's rows (:data:`~papers.classical.recipe.LEADERBOARD`)
``runs``            the rows on the deep models' folds (same protocol builders, same
                    folds fingerprint), written as ordinary results files
``reference.json``  outside anchors: openSMILE 1,582 + SVM on EMO-DB (Gjoreski et al.)
==================  ==============================================================

Per-speaker z-scoring standardises each speaker with that speaker's own statistics,
the test speaker included: it uses no labels, but it does need a batch of the test
speaker's unlabeled utterances, so numbers made with it are labelled as such.

Importing this package imports nothing heavy; ``features`` imports openSMILE only when an
openSMILE set is requested.
"""

TITLE = "Classical baseline: openSMILE / librosa functionals + SVM or logistic regression"
NOTEBOOK = "05_leaderboard"  # its rows are run there; the full grid: benchmarks/classical_baseline.py
FRAMEWORK = "scikit-learn"
