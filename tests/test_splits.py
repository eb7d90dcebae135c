"""Tests for ser_common.splits: no leakage, full coverage, stratification, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from ser_common.splits import (
    PROTOCOLS,
    Fold,
    check_folds,
    describe_folds,
    fingerprint,
    kfold,
    random_holdout,
    speaker_independent,
)

SEEDS = [0, 1, 46]
N_SPEAKERS = 10
N_CLASSES = 7


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, np.ndarray]:
    """10 speakers x 7 classes with uneven counts per class and per speaker (like EMO-DB)."""
    rng = np.random.default_rng(123)
    labels, speakers = [], []
    for speaker in range(N_SPEAKERS):
        for label in range(N_CLASSES):
            count = 2 + label + rng.integers(0, 4)  # 2..12 per (speaker, class): uneven classes
            labels += [label] * count
            speakers += [f"s{speaker:02d}"] * count
    order = rng.permutation(len(labels))  # manifest rows are not grouped by speaker
    return np.asarray(labels)[order], np.asarray(speakers)[order]


def all_protocols(y: np.ndarray, speakers: np.ndarray, seed: int) -> dict[str, list[Fold]]:
    return {
        "kfold stratified": kfold(y, 10, seed),
        "kfold paper (unstratified)": kfold(y, 10, seed, stratified=False),
        "kfold no val": kfold(y, 5, seed, val_fraction=0),
        "loso": speaker_independent(y, speakers, seed=seed),
        "loso 2 val speakers": speaker_independent(y, speakers, seed=seed, val_speakers=2),
        "grouped 5-fold": speaker_independent(y, speakers, n_splits=5, seed=seed),
        "holdout 8:1:1": random_holdout(y, [seed], test_fraction=0.1, val_fraction=1 / 9, stratified=True),
        "holdout x3": random_holdout(y, [seed, seed + 1, seed + 2]),
    }


def assert_disjoint(folds: list[Fold]) -> None:
    for fold in folds:
        parts = [fold.train, fold.val, fold.test]
        combined = np.concatenate(parts)
        assert combined.size == np.unique(combined).size, f"{fold.name}: an index is in two parts"


@pytest.mark.parametrize("seed", SEEDS)
def test_no_index_in_two_parts_and_check_folds_passes(corpus, seed):
    y, speakers = corpus
    for name, folds in all_protocols(y, speakers, seed).items():
        assert_disjoint(folds)
        check_folds(folds, y.size)
        for fold in folds:
            assert fold.train.dtype == np.int64 and fold.test.size > 0 and fold.train.size > 0, name
            # train + val + test use every row exactly once in each fold
            assert fold.train.size + fold.val.size + fold.test.size == y.size, name


@pytest.mark.parametrize("seed", SEEDS)
def test_kfold_test_parts_cover_every_row_exactly_once(corpus, seed):
    y, speakers = corpus
    for folds in (
        kfold(y, 10, seed),
        kfold(y, 10, seed, stratified=False),
        speaker_independent(y, speakers, seed=seed),
        speaker_independent(y, speakers, n_splits=5, seed=seed),
    ):
        tests = np.concatenate([fold.test for fold in folds])
        assert np.array_equal(np.sort(tests), np.arange(y.size))


@pytest.mark.parametrize("seed", SEEDS)
def test_speaker_independent_folds_share_no_speaker(corpus, seed):
    y, speakers = corpus
    for folds in (
        speaker_independent(y, speakers, seed=seed),
        speaker_independent(y, speakers, seed=seed, val_speakers=3),
        speaker_independent(y, speakers, n_splits=5, seed=seed),
    ):
        check_folds(folds, y.size, speakers)
        for fold in folds:
            train, val, test = (set(speakers[part]) for part in (fold.train, fold.val, fold.test))
            assert not (train & val) and not (train & test) and not (val & test), fold.name


def test_loso_one_fold_per_speaker_in_sorted_order(corpus):
    y, speakers = corpus
    folds = speaker_independent(y, speakers, val_speakers=1)
    assert [fold.name for fold in folds] == [f"speaker s{i:02d}" for i in range(N_SPEAKERS)]
    for fold in folds:
        assert set(speakers[fold.test]) == {fold.name.split()[1]}
        assert len(set(speakers[fold.val])) == 1
        assert len(set(speakers[fold.train])) == N_SPEAKERS - 2


def test_val_speakers_zero_gives_empty_val(corpus):
    y, speakers = corpus
    for fold in speaker_independent(y, speakers, val_speakers=0):
        assert fold.val.size == 0
        assert len(set(speakers[fold.train])) == N_SPEAKERS - 1


def assert_stratified(y: np.ndarray, part: np.ndarray, tolerance: float = 1.0) -> None:
    """Per-class counts of ``part`` within ``tolerance`` utterances of the corpus proportions."""
    expected = np.bincount(y, minlength=N_CLASSES) * part.size / y.size
    observed = np.bincount(y[part], minlength=N_CLASSES)
    assert np.all(np.abs(observed - expected) <= tolerance), (observed, expected.round(2))


@pytest.mark.parametrize("seed", SEEDS)
def test_stratified_protocols_keep_class_proportions(corpus, seed):
    y, _ = corpus
    for fold in kfold(y, 10, seed):
        assert_stratified(y, fold.test)
        # val is drawn stratified from train: ±1 of the train part's proportions
        train_part = np.r_[fold.train, fold.val]
        expected = np.bincount(y[train_part], minlength=N_CLASSES) * fold.val.size / train_part.size
        assert np.all(np.abs(np.bincount(y[fold.val], minlength=N_CLASSES) - expected) <= 1)
    (fold,) = random_holdout(y, [seed], test_fraction=0.1, val_fraction=1 / 9, stratified=True)
    assert_stratified(y, fold.test)
    assert_stratified(y, fold.val)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_holdout_sizes_and_one_split_per_seed(corpus, seed):
    y, _ = corpus
    (fold,) = random_holdout(y, [seed], test_fraction=0.1, val_fraction=1 / 9)
    assert abs(fold.test.size - y.size / 10) <= 1
    assert abs(fold.val.size - y.size / 10) <= 1
    assert fold.name == f"split 1/1 (seed {seed})"
    folds = random_holdout(y, [seed, seed + 1])
    assert [f.index for f in folds] == [0, 1] and folds[0].val.size == 0
    assert not np.array_equal(folds[0].test, folds[1].test)  # independent draws
    assert np.array_equal(folds[0].test, random_holdout(y, [seed])[0].test)  # a split depends on its own seed only


def test_unstratified_kfold_equals_sklearn_kfold(corpus):
    # TIM-Net's official protocol: KFold(10, shuffle=True, random_state=46) over the rows.
    y, _ = corpus
    folds = kfold(y, 10, 46, stratified=False, val_fraction=0)
    reference = KFold(n_splits=10, shuffle=True, random_state=46).split(np.zeros((y.size, 1)))
    for fold, (train, test) in zip(folds, reference, strict=True):
        assert np.array_equal(fold.test, test)
        assert np.array_equal(fold.train, train)
    # with a validation part the test parts are unchanged and val comes out of train only
    with_val = kfold(y, 10, 46, stratified=False)
    for fold, (train, test) in zip(with_val, KFold(10, shuffle=True, random_state=46).split(y), strict=True):
        assert np.array_equal(fold.test, test)
        assert np.array_equal(np.sort(np.r_[fold.train, fold.val]), train)


def test_same_seed_same_folds_different_seed_different_folds(corpus):
    y, speakers = corpus
    first, again, other = (all_protocols(y, speakers, seed) for seed in (7, 7, 8))
    for name in first:
        assert first[name] == again[name], name
        assert first[name] != other[name], name


def test_fold_is_frozen_and_read_only():
    fold = Fold(0, [3, 1, 2], [], [0], "fold 1/1")
    assert fold.train.tolist() == [1, 2, 3] and fold.val.dtype == np.int64
    with pytest.raises(ValueError):
        fold.train[0] = 5
    with pytest.raises(AttributeError):
        fold.name = "other"  # type: ignore[misc]
    assert len({fold, Fold(0, [1, 2, 3], [], [0], "fold 1/1")}) == 1


def test_check_folds_reports_each_problem():
    speakers = np.array(["a", "a", "b", "b", "c", "c"])
    with pytest.raises(ValueError, match="outside"):
        check_folds([Fold(0, [0, 1], [], [6], "f")], 6)
    with pytest.raises(ValueError, match="both train and test"):
        check_folds([Fold(0, [0, 1, 2], [], [2, 3], "f")], 6)
    with pytest.raises(ValueError, match="both train and val"):
        check_folds([Fold(0, [0, 1], [1], [3], "f")], 6)
    with pytest.raises(ValueError, match=r"speaker\(s\) \['b'\] appear in both train and test"):
        check_folds([Fold(0, [0, 1, 2], [], [3], "f")], 6, speakers)
    with pytest.raises(ValueError, match="repeats"):
        check_folds([Fold(0, [0, 0, 1], [], [3], "f")], 6)
    with pytest.raises(ValueError, match="test part is empty"):
        check_folds([Fold(0, [0, 1], [], [], "f")], 6)
    check_folds([Fold(0, [0, 1], [2, 3], [4, 5], "f")], 6, speakers)  # a clean fold passes


def test_error_cases(corpus):
    y, speakers = corpus
    with pytest.raises(ValueError, match="at least 2 speakers"):
        speaker_independent(y, np.full(y.size, "only"))
    with pytest.raises(ValueError, match="needs at least 4 speakers"):
        speaker_independent(y[:20], np.repeat(["a", "b", "c"], [7, 7, 6]), val_speakers=2)
    with pytest.raises(ValueError, match="larger than the number of speakers"):
        speaker_independent(y, speakers, n_splits=11)
    with pytest.raises(ValueError, match="not enough for val_speakers"):
        speaker_independent(y, speakers, n_splits=2, val_speakers=5)
    with pytest.raises(ValueError, match="speakers has"):
        speaker_independent(y, speakers[:-1])
    with pytest.raises(ValueError, match="n_splits must be an integer >= 2"):
        kfold(y, 1)
    with pytest.raises(ValueError, match="val_fraction"):
        kfold(y, 10, val_fraction=1.0)
    with pytest.raises(ValueError, match="test_fraction"):
        random_holdout(y, [0], test_fraction=1.0)
    with pytest.raises(ValueError, match="1-D"):
        kfold(y.reshape(-1, 2))


def test_describe_folds_table(corpus):
    y, speakers = corpus
    names = [f"class{i}" for i in range(N_CLASSES)]
    folds = speaker_independent(y, speakers, seed=0)
    table = describe_folds(folds, y, speakers, class_names=names)
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == [fold.name for fold in folds]
    assert (table["n_train"] + table["n_val"] + table["n_test"] == y.size).all()
    assert (table["test_speakers"] == 1).all() and (table["val_speakers"] == 1).all()
    per_class = table[[f"test: {name}" for name in names]].sum(axis=0).to_numpy()
    assert np.array_equal(per_class, np.bincount(y))  # LOSO tests every row once
    with pytest.raises(ValueError, match="class_names has 3 names"):
        describe_folds(folds, y, class_names=names[:3])


# ----------------------------------------------------------------------------- named protocols


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_named_protocol_builds_clean_folds(name):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=120)
    speakers = np.repeat([f"s{i}" for i in range(6)], 20)
    protocol = PROTOCOLS[name]
    folds = protocol.build(y, speakers, 10, 1)
    check_folds(folds, len(y), speakers if protocol.speaker_independent else None)
    assert protocol.validation == all(fold.val.size > 0 for fold in folds)
    if name == "speaker_independent":
        assert protocol.speaker_independent
        assert len(folds) == 6  # leave-one-speaker-out when folds >= speakers
        assert len(protocol.build(y, speakers, 3, 1)) == 3  # grouped k-fold when folds < speakers
    else:
        assert len(folds) == 10 and not protocol.speaker_independent
    assert protocol.description


def test_tim_net_paper_protocol_is_the_official_unstratified_kfold(corpus):
    from papers.tim_net.recipe import PROTOCOLS as TIM_NET_PROTOCOLS

    y, speakers = corpus
    protocol = TIM_NET_PROTOCOLS["paper_10fold"]
    assert not protocol.validation and not protocol.speaker_independent
    folds = protocol.build(y, speakers, 10, 46)
    for fold, (train, test) in zip(folds, KFold(10, shuffle=True, random_state=46).split(y), strict=True):
        assert np.array_equal(fold.test, test) and np.array_equal(fold.train, train) and fold.val.size == 0


def test_fingerprint_is_equal_for_equal_folds_only(corpus):
    y, _ = corpus
    names = [f"f{i}.wav" for i in range(y.size)]
    same = fingerprint(kfold(y, 5, 0), names)
    assert same == fingerprint(kfold(y, 5, 0), names)
    assert same != fingerprint(kfold(y, 5, 1), names)  # other test parts
    assert same != fingerprint(kfold(y, 5, 0), names[::-1])  # same indices, other files
    # the validation draw does not change which utterances were tested
    assert fingerprint(kfold(y, 5, 0, val_fraction=0)) == fingerprint(kfold(y, 5, 0))
