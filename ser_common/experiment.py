"""One experiment: a paper, its notebook's parameters, a corpus, folds, a results file.

A paper notebook holds the lesson and one function, ``train_fold(fold) -> FoldOutcome``,
that builds a fresh model, trains it on ``fold.train`` (selecting on ``fold.val`` if it
wants) and predicts ``fold.test``. Everything else is here::

    exp = Experiment("tim_net", globals())   # checks every parameter before any work
    X, y = exp.load_features()                # the paper's feature spec, cached
    exp.run(train_fold, model_info={...})     # resumable, one results file per identity
    exp.compare_with_paper(); exp.all_runs()

The parameters a notebook takes are the paper's ``recipe.PARAMETERS`` plus the common
ones below (:func:`common_rules`); a test checks that the notebook's parameters cell
defines exactly those. Every parameter marked ``identity=True`` (all that can change a
result), the feature spec, the class names and a fingerprint of the folds make the run's
*identity*: a results file is resumed only by a run with the same identity, and the
default file name carries a hash of it, so runs with different settings never meet.
Fold weights are kept beside the results file, in ``<results file stem>_weights/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ser_common import results as results_module, splits
from ser_common.corpora import CORPORA, corpus_root, load_manifest
from ser_common.features import extract_features
from ser_common.metrics import evaluate
from ser_common.params import Bool, Choice, Int, IntList, Path as PathRule, Rule, check_parameters
from ser_common.splits import Fold
from ser_common.synthetic import make_synthetic
from ser_common.training import SELECTIONS, FitResult

__all__ = ["Experiment", "FoldOutcome", "common_rules", "repository_root"]


@dataclass
class FoldOutcome:
    """What ``train_fold`` returns for one fold.

    Attributes
    ----------
    y_pred : ndarray of int
        Predicted class of every test utterance, in the order of ``fold.test``.
    fit : FitResult or None
        The training helper's result (history, selected epoch).
    history_prefix_renames : dict
        Renaming of history keys before they are stored, e.g. ``{"val_": "test_"}`` when
        the test fold was passed as monitoring data.
    extra : dict
        Anything else worth keeping for this fold (JSON-serialisable).
    """

    y_pred: np.ndarray
    fit: FitResult | None = None
    history_prefix_renames: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def repository_root() -> Path:
    """The folder holding ``papers/``, ``notebooks/`` and the committed ``results/``."""
    return Path(importlib.import_module("papers").__file__).resolve().parents[1]


def common_rules(protocols: Mapping[str, splits.Protocol], selections: tuple[str, ...]) -> dict[str, Rule]:
    """The parameters every paper notebook takes, whatever the paper."""
    return {
        "dataset": Choice(*CORPORA),
        "data_dir": PathRule(),
        "protocol": Choice(*protocols),
        "folds": Int(min=2),
        "seed": Int(),
        "selection": Choice(*selections),
        "epochs": Int(min=1),
        "batch_size": Int(min=1),
        "max_folds": Int(min=1, none=True, identity=False),
        "only_folds": IntList(min=0, none=True, identity=False),
        "results_dir": PathRule(),
        "results_path": PathRule(),
        "resume": Bool(identity=False),
        "overwrite": Bool(identity=False),
        "threads": Int(min=1, none=True, identity=False),
        "bad_files": Choice("raise", "skip", identity=False),
        "progress": Bool(identity=False),
    }


def _set_threads(threads: int | None) -> None:
    """Make PyTorch and TensorFlow use ``threads`` CPU threads (before they start, where possible)."""
    if threads is None:
        return
    os.environ.update(OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS="1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _rename_history(history: Mapping[str, list], renames: Mapping[str, str]) -> dict:
    renamed = {}
    for key, values in history.items():
        old = next((prefix for prefix in renames if key.startswith(prefix)), None)
        renamed[renames[old] + key[len(old):] if old else key] = values
    return renamed


class Experiment:
    """A paper's notebook run: checked parameters, corpus, features, folds and results.

    Parameters
    ----------
    paper : str
        A package under ``papers/`` with ``__init__`` (``NOTEBOOK``), ``features``
        (``feature_spec(params)``) and ``recipe`` (``PARAMETERS``, ``SELECTIONS``,
        ``MONITOR``, optionally ``PROTOCOLS`` and ``resolve(params)``).
    namespace : mapping
        Where the parameters live: the notebook's ``globals()``.

    Raises
    ------
    ser_common.params.ParameterError
        Before anything else happens, if any parameter is missing or invalid.
    """

    def __init__(self, paper: str, namespace: Mapping) -> None:
        self.paper = paper
        self.package = importlib.import_module(f"papers.{paper}")
        self.recipe = importlib.import_module(f"papers.{paper}.recipe")
        self.protocols = {**splits.PROTOCOLS, **getattr(self.recipe, "PROTOCOLS", {})}
        self.rules = {**common_rules(self.protocols, tuple(self.recipe.SELECTIONS)), **self.recipe.PARAMETERS}
        self.params = check_parameters(namespace, self.rules)
        self.monitor = self.recipe.MONITOR
        self._check_combination()
        _set_threads(self.params["threads"])
        self.root = corpus_root(self.params["dataset"], self.params["data_dir"])
        if self.params["dataset"] == "synthetic":
            make_synthetic(self.root)
        self.manifest = load_manifest(self.params["dataset"], self.root)
        self.class_names = [str(name) for name in self.manifest["label"].cat.categories]
        self.X: np.ndarray | None = None
        self.y: np.ndarray | None = None
        self.results: results_module.RunResults | None = None

    def __getitem__(self, name: str):
        """A checked parameter value, e.g. ``exp["epochs"]``."""
        return self.params[name]

    def _check_combination(self) -> None:
        """Reject parameter combinations that cannot work, before any work."""
        p = self.params
        if p["selection"] == "best_val" and not self.protocols[p["protocol"]].validation:
            raise ValueError(f"selection='best_val' needs a validation part, and protocol={p['protocol']!r} has none; "
                             f"use selection='last' or another protocol ({sorted(self.protocols)})")
        if p["results_path"] is not None and not p["results_path"].endswith(".json"):
            raise ValueError(f"results_path={p['results_path']!r} must name a .json file (or use results_dir)")
        resolve = getattr(self.recipe, "resolve", None)
        if resolve is not None:  # the recipe's own combination checks and derived defaults
            resolve(p)

    # -- data -------------------------------------------------------------------------
    @cached_property
    def spec(self):
        """The paper's feature spec for these parameters (``papers/<paper>/features.py``)."""
        return importlib.import_module(f"papers.{self.paper}.features").feature_spec(self.params)

    def load_features(self) -> tuple[np.ndarray, np.ndarray]:
        """Extract (or load from the cache) the features of every utterance.

        Unusable files (unreadable, damaged, too short, silent) stop the run with one error
        listing all of them, or with ``bad_files="skip"`` are left out and listed in the
        results file. Sets ``exp.manifest`` to the utterances kept (one row each), and for
        segmented specs ``exp.utterance_of`` (the utterance of every example row of ``X``).
        """
        X, y, rows = extract_features(self.manifest, self.spec, errors=self.params["bad_files"],
                                      progress=self.params["progress"])
        self.skipped = rows.attrs.get("skipped", [])
        self.manifest, self.utterance_of = rows, None
        if "utterance" in rows:  # a segmented spec: one row per segment
            self.manifest = rows.drop_duplicates("utterance").drop(columns=["utterance", "segment"]).reset_index(drop=True)
            self.utterance_of = rows["utterance"].to_numpy()
        self.X, self.y = X, y
        self.__dict__.pop("folds", None)
        return X, y

    @property
    def y_utterance(self) -> np.ndarray:
        """Class index of every utterance (``exp.manifest`` order)."""
        return self.manifest["label"].cat.codes.to_numpy().astype(np.int64)

    @property
    def speakers(self) -> np.ndarray:
        return self.manifest["speaker"].astype(str).to_numpy()

    def rows(self, utterances: np.ndarray) -> np.ndarray:
        """Example rows of ``X`` for utterance indices (the segments of each, for segmented specs)."""
        return np.asarray(utterances) if self.utterance_of is None else np.flatnonzero(np.isin(self.utterance_of, utterances))

    @cached_property
    def folds(self) -> list[Fold]:
        """The protocol's folds over the utterances (after :meth:`load_features`)."""
        if self.X is None:
            raise RuntimeError("call exp.load_features() first: folds are made over the utterances kept")
        protocol = self.protocols[self.params["protocol"]]
        folds = protocol.build(self.y_utterance, self.speakers, self.params["folds"], self.params["seed"])
        splits.check_folds(folds, len(self.manifest), self.speakers if protocol.speaker_independent else None)
        return folds

    def describe_folds(self) -> pd.DataFrame:
        """One row per fold: sizes, speakers, per-class test counts."""
        return splits.describe_folds(self.folds, self.y_utterance, self.speakers, self.class_names)

    # -- the run ----------------------------------------------------------------------
    def identity(self, variant: Mapping | None = None) -> dict:
        """Everything that can change this run's results (stored as the file's ``params``)."""
        values = {name: value for name, value in self.params.items() if self.rules[name].identity}
        values.update(variant or {})
        spec = {f.name: getattr(self.spec, f.name) for f in dataclasses.fields(self.spec) if f.name != "notes"}
        return {**values, "monitor": self.monitor if isinstance(self.monitor, str) else self.monitor.__name__,
                "features": {"class": type(self.spec).__name__, **spec}, "n_utterances": len(self.manifest),
                "folds_fingerprint": splits.fingerprint(self.folds, self.manifest["path"].map(lambda p: Path(p).name)),
                "skipped_files": [Path(item["path"]).name for item in self.skipped]}

    def results_path(self, variant: Mapping | None = None) -> Path:
        """The results file: ``results_path``, or a name derived from the identity in ``results_dir``."""
        if self.params["results_path"] is not None:
            if variant:
                raise ValueError(f"results_path names one file, but a run with {dict(variant)} gets a results file of "
                                 "its own (one per variant, e.g. a seed trial); pass results_dir instead")
            return Path(self.params["results_path"])
        folder = Path(self.params["results_dir"] or Path(os.environ.get("SER_RUNS_DIR", "runs")) / self.params["dataset"])
        digest = hashlib.blake2b(json.dumps(results_module.to_jsonable(self.identity(variant)), sort_keys=True).encode(),
                                 digest_size=4).hexdigest()
        tags = "".join(f"_{key}-{value}" for key, value in (variant or {}).items())
        p = self.params
        return folder / f"{self.paper}_{p['protocol']}_{p['selection']}_e{p['epochs']}{tags}_{digest}.json"

    def weights_path(self, fold: Fold | int, suffix: str = ".weights.h5", variant: Mapping | None = None) -> Path:
        """Where ``train_fold`` saves a fold's weights: beside the results file."""
        path = self.results_path(variant)
        folder = path.with_name(path.stem + "_weights")
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"fold{fold if isinstance(fold, int) else fold.index}{suffix}"

    def run(self, train_fold: Callable[[Fold], FoldOutcome], *, model_info: Mapping, variant: Mapping | None = None,
            device: str = "cpu") -> results_module.RunResults:
        """Train and evaluate every fold not yet in the results file; record each as it finishes.

        ``model_info`` (name, param_count, framework, ...) is stored once per file; the
        ``device`` with every fold. ``variant`` adds settings that differ between the runs
        of one notebook (e.g. ``{"model": "tim", "n_tab": 3}``) to the identity and the
        file name. Returns the results (also kept as ``exp.results``).
        """
        p = self.params
        path = self.results_path(variant)
        run = results_module.RunResults.open(
            path, notebook=self.package.NOTEBOOK, paper=self.paper, dataset=p["dataset"], protocol=p["protocol"],
            params=self.identity(variant), seed=p["seed"], class_names=self.class_names, resume=p["resume"],
            overwrite=p["overwrite"])
        run.set_model_info(**model_info)
        self.results = run
        y = self.y_utterance
        selected = [fold for fold in self.folds[: p["max_folds"]] if p["only_folds"] is None or fold.index in p["only_folds"]]
        print(f"{len(selected)} fold(s) -> {path}")
        for fold in selected:
            if run.is_done(fold.index):
                print(f"{fold.name}: already in {path.name}, skipped (resume)")
                continue
            start = time.perf_counter()
            outcome = train_fold(fold)
            wall = time.perf_counter() - start
            y_pred = np.asarray(outcome.y_pred, dtype=np.int64)
            if y_pred.shape != fold.test.shape:
                raise ValueError(f"{fold.name}: train_fold returned {y_pred.shape} predictions for {fold.test.size} "
                                 "test utterances")
            scores = evaluate(y[fold.test], y_pred, len(self.class_names))
            fit = outcome.fit
            run.add_fold(
                fold.index, metrics=scores, wall_time_s=wall,
                history=_rename_history(fit.history, outcome.history_prefix_renames) if fit else None,
                selected_epoch=fit.selected_epoch if fit else None, selection=fit.selection if fit else None,
                extra={"name": fold.name, "test_index": fold.test.tolist(), "y_pred": y_pred.tolist(),
                       "n_train": int(fold.train.size), "n_val": int(fold.val.size), "device": device,
                       "framework": model_info.get("framework"), **outcome.extra})
            print(f"{fold.name}: UA {scores['ua']:.4f}  WA {scores['wa']:.4f}  macro-F1 {scores['macro_f1']:.4f}  "
                  f"({wall:.0f} s)")
        return run

    def shown_fold(self, run: results_module.RunResults, *, suffix: str = ".weights.h5",
                   variant: Mapping | None = None) -> int:
        """The recorded fold a lesson's figures use: one whose weights are saved here if any
        (nothing to retrain), else one this job was asked to run (``only_folds``), else the last."""
        done = run.completed_folds
        if not done:
            raise ValueError(f"{run.path} has no finished fold yet: run the training cell first")
        with_weights = [i for i in done if self.weights_path(i, suffix, variant).exists()]
        asked = [i for i in done if self.params.get("only_folds") and i in self.params["only_folds"]]
        return (with_weights or asked or done)[-1]

    def ensure_weights(self, fold_index: int, train_fold: Callable[[Fold], FoldOutcome], *,
                       suffix: str = ".weights.h5", variant: Mapping | None = None) -> Path:
        """The saved weights of a recorded fold; retrains that fold when they are missing.

        A results file committed to the repository comes without its weights; the
        retrained model is a new draw of the same recipe, so its predictions may differ
        from the recorded ones.
        """
        path = self.weights_path(fold_index, suffix, variant)
        if not path.exists():
            fold = self.folds[fold_index]
            print(f"no saved weights for {fold.name} in {path.parent} (results from another machine or a fresh "
                  f"clone); retraining that fold once for this section (not recorded) ...")
            train_fold(fold)
            if not path.exists():
                raise FileNotFoundError(f"train_fold did not save its weights to {path} (use exp.weights_path(fold))")
        return path

    # -- comparison -------------------------------------------------------------------
    def compare_with_paper(self, run: results_module.RunResults | None = None) -> pd.DataFrame:
        """A run (default: the last) next to the paper's numbers of the same corpus, protocol and selection."""
        table = results_module.compare_with_paper(run or self.results, self.paper)
        if "note" in table.attrs:
            print(table.attrs["note"])
        return table

    def all_runs(self, params: tuple[str, ...] = ()) -> pd.DataFrame:
        """Every results file of this paper on this corpus, committed ones and yours (``params``: extra columns)."""
        folders = [repository_root() / "results" / self.params["dataset"]]
        if self.results is not None:
            folders.append(self.results.path.parent)
        paths, skipped = results_module.find_results(*folders)
        for line in skipped:
            print(f"not a results file, left out: {line}")
        table = results_module.summary_table(paths, params=params)
        if len(table):
            table = table[table["paper"] == self.paper].reset_index(drop=True)
            table.attrs["paths"] = [p for p in paths if results_module.load_results(p)["paper"] == self.paper]
        return table

    def __repr__(self) -> str:
        p = self.params
        return (f"Experiment({self.paper}: {p['dataset']} from {self.root}, {len(self.manifest)} utterances, "
                f"protocol {p['protocol']}, selection {p['selection']} ({SELECTIONS[p['selection']]}), "
                f"{p['epochs']} epochs)")
