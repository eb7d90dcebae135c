"""Train / validation / test splits for the evaluation protocols the lessons compare.

Every function returns a list of :class:`Fold` objects: integer row indices into the
manifest (the table of utterances), one ``train`` / ``val`` / ``test`` triple per fold.
The same folds can then be fed to any framework.

Building blocks
---------------
:func:`kfold`
    k-fold cross-validation over utterances (stratified or not). The same speakers appear
    in training and test: numbers measure how well a model recognises emotions *of
    speakers it has heard*.
:func:`speaker_independent`
    Leave-one-speaker-out, or grouped k-fold over speakers. No speaker is in two parts of
    a fold; the validation part is made of whole speakers too.
:func:`random_holdout`
    Repeated random train / (validation) / test splits over utterances, one per seed.

:data:`PROTOCOLS` names the two clean protocols every paper notebook offers; a paper
adds the protocol of its own publication in ``papers/<paper>/recipe.py``.
:func:`check_folds` raises if any fold leaks rows or speakers between its parts,
:func:`describe_folds` gives a one-row-per-fold table and :func:`fingerprint` a short
hash that is equal for equal folds (the leaderboard pairs runs with it).

All index arrays are ``int64``, sorted ascending and read-only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold, train_test_split

__all__ = ["Fold", "PROTOCOLS", "Protocol", "check_folds", "describe_folds", "fingerprint", "kfold", "random_holdout",
           "speaker_independent"]

_PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class Fold:
    """One train / validation / test partition of the manifest rows.

    Parameters
    ----------
    index : int
        0-based position of the fold in its protocol (the key used in results files).
    train, val, test : array-like of int
        Row indices into the manifest. They are stored as sorted, read-only ``int64``
        arrays. ``val`` may be empty (no validation set).
    name : str
        Human-readable name, e.g. ``"fold 3/10"`` or ``"speaker 03"``.

    Notes
    -----
    Two folds are equal when their index, name and all three index arrays are equal.
    The arrays are made read-only so that a frozen fold really cannot change.
    """

    index: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    name: str

    def __post_init__(self) -> None:
        for part in _PARTS:
            array = np.asarray(getattr(self, part))
            if array.size == 0:
                array = np.empty(0, dtype=np.int64)
            if array.ndim != 1:
                raise ValueError(f"Fold.{part} must be a 1-D array of row indices, got shape {array.shape}")
            if not np.issubdtype(array.dtype, np.integer):
                raise ValueError(f"Fold.{part} must hold integer row indices, got dtype {array.dtype}")
            array = np.sort(array.astype(np.int64))
            array.flags.writeable = False
            object.__setattr__(self, part, array)

    def _key(self) -> tuple:
        # The parts are sorted int64 arrays, so equal bytes mean equal indices.
        return (self.index, self.name) + tuple(getattr(self, part).tobytes() for part in _PARTS)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, Fold) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Fold(index={self.index}, name={self.name!r}, "
                f"n_train={self.train.size}, n_val={self.val.size}, n_test={self.test.size})")


# ----------------------------------------------------------------------------- helpers


def _labels_array(y: object, name: str = "y") -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels (one per utterance), got shape {labels.shape}")
    if labels.size == 0:
        raise ValueError(f"{name} is empty: there are no utterances to split")
    return labels


def _check_count(name: str, value: int, minimum: int) -> None:
    # (for n_splits, scikit-learn itself refuses more splits than utterances, naming n_splits)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _fold_with_validation(index: int, name: str, train: np.ndarray, test: np.ndarray, y: np.ndarray,
                          val_fraction: float, seed: int) -> Fold:
    """The fold whose validation part is carved from ``train``, stratified on ``y``; test rows are never touched."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    if val_fraction == 0:
        return Fold(index, train, [], test, name)
    try:
        rest, val = train_test_split(train, test_size=val_fraction, random_state=seed, stratify=y[train])
    except ValueError as error:
        raise ValueError(f"could not carve a stratified validation set of val_fraction={val_fraction} from "
                         f"{train.size} training utterances ({error}). Use a larger val_fraction, fewer folds, "
                         "or val_fraction=0 for no validation set.") from error
    return Fold(index, rest, val, test, name)


# ----------------------------------------------------------------------------- protocols


def kfold(y: Sequence | np.ndarray, n_splits: int = 10, seed: int = 0, *, stratified: bool = True,
          val_fraction: float = 0.1) -> list[Fold]:
    """k-fold cross-validation over utterances (speakers are shared between parts).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class label of every manifest row.
    n_splits : int, default=10
        Number of folds; every row is in exactly one test part.
    seed : int, default=0
        Seeds the fold shuffle and the validation draw.
    stratified : bool, default=True
        True: ``StratifiedKFold(n_splits, shuffle=True, random_state=seed)``, so each
        test part has the class proportions of the whole corpus. False: plain
        ``KFold(n_splits, shuffle=True, random_state=seed)``, the unstratified protocol
        some papers' code uses (with its seed and row order it reproduces their folds).
    val_fraction : float, default=0.1
        Fraction of each fold's *training* part held out as validation set, drawn with
        a stratified ``train_test_split(random_state=seed)``. The test part is never
        used for validation. ``0`` gives an empty validation set.

    Returns
    -------
    list of Fold
        ``n_splits`` folds named ``"fold 1/10"`` … ``"fold 10/10"`` (``index`` is 0-based).

    Notes
    -----
    This protocol is speaker-dependent: numbers from it are not comparable with
    speaker-independent numbers and are usually much higher.
    """
    labels = _labels_array(y)
    _check_count("n_splits", n_splits, 2)
    splitter = (StratifiedKFold if stratified else KFold)(n_splits=n_splits, shuffle=True, random_state=seed)
    parts = splitter.split(np.zeros(labels.size), labels)
    return [_fold_with_validation(index, f"fold {index + 1}/{n_splits}", train, test, labels, val_fraction, seed)
            for index, (train, test) in enumerate(parts)]


def speaker_independent(y: Sequence | np.ndarray, speakers: Sequence | np.ndarray, *, n_splits: int | None = None,
                        seed: int = 0, val_speakers: int = 1) -> list[Fold]:
    """Speaker-independent folds: no speaker is in two parts of a fold.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class label of every manifest row.
    speakers : array-like of shape (n_samples,)
        Speaker id of every manifest row (strings or integers).
    n_splits : int or None, default=None
        None: leave-one-speaker-out, one fold per speaker, in sorted speaker order,
        named ``"speaker <id>"``. An int: grouped k-fold with
        ``StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)``, which keeps
        each speaker in one test part and balances the class counts across folds.
    seed : int, default=0
        Seeds the grouped k-fold and the draw of the validation speakers.
    val_speakers : int, default=1
        Number of whole speakers moved from each fold's training part to its validation
        part, drawn at random (seeded by ``seed`` and the fold index, so reproducible).
        Model selection on this set is speaker-independent too. ``0`` gives an empty
        validation set.

    Returns
    -------
    list of Fold

    Raises
    ------
    ValueError
        If ``y`` and ``speakers`` differ in length, there are fewer than 2 speakers, or a
        fold would be left with no training speaker after taking its test and validation
        speakers.

    Notes
    -----
    scikit-learn's ``StratifiedGroupKFold`` uses the shuffle only to break ties between
    speakers whose class counts have the same spread; when speakers differ (the usual
    case) different seeds can give the same test parts. The seed still changes which
    speakers are drawn for validation.
    """
    labels = _labels_array(y)
    speaker_ids = _labels_array(speakers, "speakers")
    if speaker_ids.size != labels.size:
        raise ValueError(f"y has {labels.size} entries but speakers has {speaker_ids.size}; give one speaker per utterance")
    unique_speakers = np.unique(speaker_ids)
    if unique_speakers.size < 2:
        raise ValueError(f"speaker-independent folds need at least 2 speakers, got {unique_speakers.size} "
                         f"({unique_speakers.tolist()}); use kfold for a single-speaker corpus")
    _check_count("val_speakers", val_speakers, 0)

    if n_splits is None:
        splitter = LeaveOneGroupOut()
        names = [f"speaker {speaker}" for speaker in unique_speakers]
    else:
        _check_count("n_splits", n_splits, 2)
        if n_splits > unique_speakers.size:
            raise ValueError(f"n_splits={n_splits} is larger than the number of speakers ({unique_speakers.size}); "
                             "use n_splits=None for leave-one-speaker-out or fewer splits")
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        names = [f"fold {i + 1}/{n_splits}" for i in range(n_splits)]

    folds = []
    for index, (train, test) in enumerate(splitter.split(np.zeros(labels.size), labels, groups=speaker_ids)):
        train_speakers = np.unique(speaker_ids[train])
        if train_speakers.size <= val_speakers:
            test_speakers = np.unique(speaker_ids[test])
            raise ValueError(f"{names[index]} tests on speakers {', '.join(map(str, test_speakers))} and leaves "
                             f"{train_speakers.size} speaker(s) for training, not enough for "
                             f"val_speakers={val_speakers} plus at least one training speaker: this fold needs at "
                             f"least {test_speakers.size + val_speakers + 1} speakers in all; lower val_speakers or "
                             "use more splits")
        # A per-fold seed sequence keeps each fold's draw reproducible on its own.
        chosen = np.random.default_rng([seed, index]).choice(train_speakers, size=val_speakers, replace=False)
        in_val = np.isin(speaker_ids[train], chosen)
        folds.append(Fold(index, train[~in_val], train[in_val], test, names[index]))
    return folds


def random_holdout(y: Sequence | np.ndarray, seeds: Sequence[int], *, test_fraction: float = 0.2,
                   val_fraction: float = 0.0, stratified: bool = False) -> list[Fold]:
    """One random train / (validation) / test split over utterances per seed.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class label of every manifest row.
    seeds : sequence of int
        One fold per seed; fold ``i`` draws its split with ``train_test_split(random_state=seeds[i])``.
    test_fraction : float, default=0.2
        Fraction of all rows in the test part.
    val_fraction : float, default=0.0
        Fraction of the remaining *training* rows held out for validation (stratified).
    stratified : bool, default=False
        Stratify the test draw by class.

    Returns
    -------
    list of Fold
        Named ``"split 1/n (seed s)"``. Test parts of different folds overlap: each is an
        independent draw, so their mean is a mean over resamplings, not a cross-validation.
    """
    labels = _labels_array(y)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    folds = []
    for index, seed in enumerate(seeds):
        train, test = train_test_split(np.arange(labels.size), test_size=test_fraction, random_state=seed,
                                       stratify=labels if stratified else None)
        name = f"split {index + 1}/{len(seeds)} (seed {seed})"
        folds.append(_fold_with_validation(index, name, train, test, labels, val_fraction, seed))
    return folds


# ----------------------------------------------------------------------------- checks and tables


def check_folds(folds: Sequence[Fold], n_samples: int, speakers: Sequence | np.ndarray | None = None) -> None:
    """Raise ``ValueError`` if any fold is malformed or leaks between its parts.

    Checks, for every fold: train and test are non-empty; every index is in
    ``[0, n_samples)``; no index is repeated within a part or shared by two parts; and,
    when ``speakers`` is given, no speaker appears in two parts.

    Parameters
    ----------
    folds : sequence of Fold
    n_samples : int
        Number of manifest rows the indices refer to.
    speakers : array-like of shape (n_samples,), optional
        Speaker id of every row, to check speaker independence.

    Returns
    -------
    None
        Returns silently when every check passes.
    """
    if len(folds) == 0:
        raise ValueError("folds is empty: there is nothing to check")
    speaker_ids = None
    if speakers is not None:
        speaker_ids = np.asarray(speakers)
        if speaker_ids.shape != (n_samples,):
            raise ValueError(f"speakers must have one entry per row (n_samples={n_samples}), got shape {speaker_ids.shape}")
    for fold in folds:
        for part in _PARTS:
            indices = getattr(fold, part)
            if indices.size == 0 and part != "val":
                raise ValueError(f"{fold.name}: the {part} part is empty")
            out_of_range = indices[(indices < 0) | (indices >= n_samples)]
            if out_of_range.size:
                raise ValueError(f"{fold.name}: {part} has {out_of_range.size} index(es) outside [0, {n_samples}), "
                                 f"e.g. {out_of_range[:5].tolist()}")
            repeated = np.unique(indices[1:][indices[1:] == indices[:-1]])  # parts are sorted
            if repeated.size:
                raise ValueError(f"{fold.name}: {part} repeats row(s) {repeated[:5].tolist()}")
        for first, second in (("train", "val"), ("train", "test"), ("val", "test")):
            shared = np.intersect1d(getattr(fold, first), getattr(fold, second))
            if shared.size:
                raise ValueError(f"{fold.name}: {shared.size} row(s) are in both {first} and {second}, "
                                 f"e.g. {shared[:5].tolist()}")
            if speaker_ids is not None:
                shared_speakers = np.intersect1d(speaker_ids[getattr(fold, first)], speaker_ids[getattr(fold, second)])
                if shared_speakers.size:
                    raise ValueError(f"{fold.name}: speaker(s) {shared_speakers[:5].tolist()} appear in both {first} "
                                     f"and {second}; the fold is not speaker-independent")


def describe_folds(folds: Sequence[Fold], y: Sequence | np.ndarray, speakers: Sequence | np.ndarray | None = None,
                   class_names: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per fold: part sizes, speaker counts and per-class test counts.

    Parameters
    ----------
    folds : sequence of Fold
    y : array-like of shape (n_samples,)
        Class label of every manifest row.
    speakers : array-like of shape (n_samples,), optional
        When given, adds the number of train / val / test speakers and the test speakers.
    class_names : sequence of str, optional
        Names for integer labels ``0 … len(class_names) - 1``. Without it the sorted
        distinct labels are used.

    Returns
    -------
    pandas.DataFrame
        Indexed by fold name, with columns ``n_train``, ``n_val``, ``n_test``, then
        (with speakers) ``train_speakers``, ``val_speakers``, ``test_speakers`` (counts)
        and ``test_speaker_ids``, then one ``test: <class>`` column per class.
    """
    labels = _labels_array(y)
    if class_names is None:
        columns = {value: str(value) for value in np.unique(labels).tolist()}
    elif not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= len(class_names):
        raise ValueError(f"y must hold class indices 0…{len(class_names) - 1}, as class_names has {len(class_names)} "
                         f"names (one per class index); it holds {np.unique(labels)[:10].tolist()}")
    else:
        columns = dict(enumerate(map(str, class_names)))

    speaker_ids = None if speakers is None else np.asarray(speakers)
    rows = []
    for fold in folds:
        row: dict[str, object] = {"fold": fold.name, "n_train": fold.train.size, "n_val": fold.val.size, "n_test": fold.test.size}
        if speaker_ids is not None:
            for part in _PARTS:
                row[f"{part}_speakers"] = np.unique(speaker_ids[getattr(fold, part)]).size
            row["test_speaker_ids"] = ", ".join(map(str, np.unique(speaker_ids[fold.test])))
        row |= {f"test: {name}": int(np.sum(labels[fold.test] == value)) for value, name in columns.items()}
        rows.append(row)
    return pd.DataFrame(rows).set_index("fold")


# ----------------------------------------------------------------------------- named protocols


@dataclass(frozen=True)
class Protocol:
    """A named way of making folds: ``build(y, speakers, n_splits, seed) -> list[Fold]``.

    ``validation`` says whether its folds carve a validation part from training (needed by
    ``selection="best_val"``); ``speaker_independent`` whether no speaker is in two parts.
    """

    description: str
    build: Callable[[np.ndarray, np.ndarray, int, int], list[Fold]]
    speaker_independent: bool = False
    validation: bool = True


def _speaker_folds(y: np.ndarray, speakers: np.ndarray, n_splits: int, seed: int) -> list[Fold]:
    n_speakers = np.unique(np.asarray(speakers)).size
    return speaker_independent(y, speakers, n_splits=None if n_splits >= n_speakers else n_splits, seed=seed)


#: The clean protocols every paper notebook offers (validation always carved from training).
PROTOCOLS: dict[str, Protocol] = {
    "stratified_10fold": Protocol(
        "stratified k-fold over utterances (speaker-dependent), 10 % of each training part held out for validation",
        lambda y, speakers, n_splits, seed: kfold(y, n_splits, seed, stratified=True, val_fraction=0.1)),
    "speaker_independent": Protocol(
        "leave-one-speaker-out (grouped k-fold when folds < speakers), one whole validation speaker per fold",
        _speaker_folds, speaker_independent=True),
}


def fingerprint(folds: Sequence[Fold], keys: Sequence[str] | None = None) -> str:
    """A short hash of the folds' test parts (and of the row ``keys``, e.g. file names).

    Two runs with the same fingerprint were tested on the same utterances fold by fold, so
    their per-fold scores can be compared pairwise.
    """
    digest = hashlib.blake2b(digest_size=8)
    for fold in folds:
        digest.update(fold.test.tobytes() + b"|")
    for key in ([] if keys is None else keys):
        digest.update(str(key).encode() + b"\n")
    return digest.hexdigest()
