"""One JSON results file per run: written atomically after every fold, resumable, never mixed.

A run (one notebook, one paper's model, one dataset, one protocol, one set of
parameters, one seed) writes one file. Its layout::

    {
      "format": "ser-notebooks run results", "format_version": 1,
      "notebook": ..., "paper": ..., "dataset": ..., "protocol": ...,
      "params": {...}, "seed": ..., "class_names": [...],      # the run's identity
      "created": "2025-01-01T12:00:00+00:00", "updated": ...,
      "git_commit": "…" or null, "git_dirty": true / false / null,
      "versions": {"python": ..., "numpy": ..., "torch": ... or null, ...},
      "model": {"param_count": ...},                            # set_model_info(...)
      "folds": {
        "0": {"index": 0, "metrics": {...}, "confusion": [[...]], "history": {...},
              "wall_time_s": ..., "epoch_times_s": [...], "selected_epoch": ...,
              "selection": ..., "extra": {...}, "recorded": ..., "git_commit": ..., "git_dirty": ...},
        ...
      },
      "aggregate": {"ua": {"mean": ..., "std": ..., "min": ..., "max": ..., "n": ...}, ...}
    }

``metrics`` is :func:`ser_common.metrics.evaluate`'s dict without its ``confusion``,
which is stored next to it. Non-finite floats (e.g. the ``nan`` recall of a class absent
from a test fold) are stored as ``null`` so that the file is strict JSON.

Notebooks do not open this file themselves: :class:`ser_common.experiment.Experiment`
derives the run's identity from its parameters and calls :meth:`RunResults.open` and
:meth:`RunResults.add_fold`. Several processes may record folds of one file at the same
time (the batch runner does): every write happens under a lock and merges what is on disk.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import importlib.metadata
import importlib.resources
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ser_common.metrics import DEFAULT_SUMMARY_KEYS, summarize

__all__ = ["IDENTITY_KEYS", "ResultsMismatchError", "RunResults", "compare_with_paper", "load_reference",
           "find_results", "load_results", "paired_test", "run_selection", "summary_table"]

FORMAT_NAME = "ser-notebooks run results"
FORMAT_VERSION = 1

#: The keys that identify a run; a file is resumed only if all of them are identical.
IDENTITY_KEYS = ("notebook", "paper", "dataset", "protocol", "params", "seed", "class_names")

#: Fields every entry of a ``papers/<paper>/reference.json`` must have.
REFERENCE_ENTRY_FIELDS = ("dataset", "label", "protocol", "selection", "leaky", "source")

# Distribution name -> module name. Versions come from package metadata unless the module
# is already imported, so recording them never imports TensorFlow or PyTorch.
_LIBRARIES = {"numpy": "numpy", "scipy": "scipy", "scikit-learn": "sklearn", "pandas": "pandas",
              "librosa": "librosa", "tensorflow": "tensorflow", "keras": "keras", "torch": "torch"}


class ResultsMismatchError(ValueError):
    """An existing results file was written with different run settings."""


# ----------------------------------------------------------------------------- JSON helpers


def to_jsonable(value: object, where: str = "value") -> object:
    """Convert numpy scalars / arrays, tuples and paths to plain JSON types.

    Non-finite floats become ``None``. Dict keys must be strings or integers (integers
    become strings, as JSON requires). Any other type raises ``TypeError`` naming
    ``where``, so nothing is silently stringified.
    """
    if isinstance(value, (np.generic, np.ndarray)):
        value = value.tolist()  # numpy scalars become Python numbers, arrays nested lists
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        for key in value:
            if isinstance(key, (bool, np.bool_)) or not isinstance(key, (str, int, np.integer)):
                raise TypeError(f"{where}: dict key {key!r} ({type(key).__name__}) cannot be a JSON key; use strings")
        return {str(key): to_jsonable(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item, f"{where}[{position}]") for position, item in enumerate(value)]
    raise TypeError(f"{where}: cannot store a {type(value).__name__} ({value!r}) in a results file; "
                    "pass numbers, strings, booleans, None, lists or dicts of those")


def _round_trip(value: object, where: str) -> object:
    return json.loads(json.dumps(to_jsonable(value, where), allow_nan=False))


_MISSING = "<missing>"


def _differences(old: object, new: object, path: str = "value") -> list[tuple[str, object, object]]:
    """Dotted paths where two JSON values differ, descending into dicts (an empty list: they are the same).

    Unlike ``==``, this does not treat ``True`` as ``1``; but ``1`` and ``1.0`` are the same parameter value.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        return [found for key in sorted(set(old) | set(new))
                for found in _differences(old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}")]
    if isinstance(old, list) and isinstance(new, list):
        same = len(old) == len(new) and not any(_differences(a, b, path) for a, b in zip(old, new))
    elif type(old) in (int, float) and type(new) in (int, float):  # not bool: True is not 1
        same = old == new
    else:
        same = type(old) is type(new) and old == new
    return [] if same else [(path, old, new)]


def _write_json_atomically(path: Path, data: Mapping) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file.

    Called under :func:`_locked`, which has already named an unwritable folder clearly and
    keeps other writers out, so one fixed temporary name beside the file is enough (a
    leftover of a crash is simply overwritten by the next write).
    """
    text = json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    with contextlib.suppress(OSError):  # persist the rename itself (not every platform opens folders)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


@contextlib.contextmanager
def _locked(path: Path):
    """Hold an exclusive lock on ``.<name>.lock`` beside ``path`` (other processes wait)."""
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        handle = open(lock_path, "a")
    except PermissionError:
        raise PermissionError(f"cannot lock {path}: the folder {path.parent} is not writable; choose another "
                              "results_path / results_dir (or $SER_RUNS_DIR)") from None
    with handle:  # closing the file releases the lock, whatever happened meanwhile
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git_state(*directories: Path) -> tuple[str | None, bool | None]:
    """(HEAD commit, dirty flag) of the first directory inside a git work tree with a commit.

    One ``git status --porcelain=v2 --branch`` tells both: its ``# branch.oid`` header
    is the commit (``(initial)`` before the first one), and every other line is a
    modified tracked file (untracked files, such as new results, do not make it dirty).
    ``--no-optional-locks`` keeps it from touching the index. Returns ``(None, None)``
    when git or a commit is unavailable.
    """
    for directory in directories:
        try:
            done = subprocess.run(["git", "--no-optional-locks", "-C", str(directory), "status", "--porcelain=v2",
                                   "--branch", "--untracked-files=no"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        lines = done.stdout.splitlines()
        head = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), "(initial)")
        if done.returncode == 0 and head != "(initial)":
            return head, any(not line.startswith("#") for line in lines)
    return None, None


def library_versions() -> dict[str, str | None]:
    """Versions of Python and the numeric / deep-learning libraries (``None`` = not installed).

    A library that is not imported yet is looked up in its package metadata instead of
    being imported, so this is cheap and never starts TensorFlow or PyTorch.
    """
    versions: dict[str, str | None] = {"python": platform.python_version(), "platform": platform.platform()}
    for distribution, module_name in _LIBRARIES.items():
        version = getattr(sys.modules.get(module_name), "__version__", None)
        for candidate in (distribution, f"{distribution}-cpu"):  # e.g. tensorflow-cpu
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                version = version or importlib.metadata.version(candidate)
        versions[distribution] = None if version is None else str(version)
    return versions


# ----------------------------------------------------------------------------- the results file


def load_results(path: str | os.PathLike) -> dict:
    """Read a results file written by :class:`RunResults`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict
        The file's content (layout in the module docstring).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results file {path} does not exist; run the notebook that writes it first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"results file {path} is not valid JSON ({error}); it was not written by RunResults") from error
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not a ser-notebooks results file (its 'format' field is missing or different)")
    return data


class RunResults:
    """The results file of one run; create it with :meth:`RunResults.open`.

    Every :meth:`add_fold` rewrites the file atomically (temporary file in the same
    directory, fsync, ``os.replace``), so an interrupted run keeps every finished fold,
    and :meth:`is_done` lets the notebook skip those folds when it runs again.
    """

    def __init__(self, path: Path, data: dict) -> None:
        # Use RunResults.open(...); this constructor does no checking.
        self._path = path
        self._data = data
        self._git_commit, self._git_dirty = _git_state(path.parent, Path(__file__).resolve().parent)

    # -- creation ---------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, *, notebook: str, paper: str, dataset: str, protocol: str,
             params: Mapping, seed: int, class_names: Sequence[str], resume: bool = True,
             overwrite: bool = False) -> RunResults:
        """Start a results file, or resume an existing one with identical settings.

        Parameters
        ----------
        path : str or path-like
            The JSON file; missing parent directories are created.
        notebook, paper, dataset, protocol : str
            What produced the run, e.g. ``"01_tim_net"``, ``"tim_net"``, ``"emodb"``,
            ``"leave-one-speaker-out"``.
        params : dict
            Every parameter of the run (features, model, training). Compared after a
            JSON round trip, so tuples vs lists or numpy vs Python numbers do not count
            as differences.
        seed : int
        class_names : sequence of str
            Names of the class indices used in the metrics.
        resume : bool, default=True
            If the file exists with identical ``notebook``, ``paper``, ``dataset``,
            ``protocol``, ``params``, ``seed`` and ``class_names``, keep its finished
            folds. If any of them differs, raise :class:`ResultsMismatchError`.
        overwrite : bool, default=False
            Discard an existing file and start fresh (it is replaced immediately).

        Returns
        -------
        RunResults

        Raises
        ------
        ResultsMismatchError
            ``resume=True`` and the existing file has different settings; the message
            lists each differing key with the old and new value.
        FileExistsError
            ``resume=False``, ``overwrite=False`` and the file exists.
        """
        path = Path(path)
        if path.suffix.lower() != ".json":
            raise ValueError(f"results path {path} should end in .json")
        identity = dict(notebook=notebook, paper=paper, dataset=dataset, protocol=protocol, params=params, seed=seed,
                        class_names=class_names)
        for key in ("notebook", "paper", "dataset", "protocol"):
            if not isinstance(identity[key], str) or not identity[key]:
                raise ValueError(f"{key} must be a non-empty string, got {identity[key]!r}")
        if not isinstance(params, Mapping):
            raise TypeError(f"params must be a dict of all run parameters, got {type(params).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        if isinstance(class_names, str) or len(class_names) < 2:
            raise ValueError(f"class_names must be a list of at least 2 class names, got {class_names!r}")
        identity = {key: _round_trip(value, key) for key, value in identity.items()}

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise NotADirectoryError(f"cannot create the results folder {path.parent}: a file with that name (or a "
                                     "parent's) exists; choose another results_path / results_dir") from None
        with _locked(path):
            if path.exists() and not overwrite:
                if not resume:
                    raise FileExistsError(f"results file {path} already exists. Resume it (parameter resume=True), "
                                          "replace it (parameter overwrite=True), or choose another results_path.")
                data = load_results(path)
                differences = [found for key in IDENTITY_KEYS
                               for found in _differences(data.get(key, _MISSING), identity[key], key)]
                if differences:
                    lines = "\n".join(f"  {key}: {old!r} (in file) vs {new!r} (now)" for key, old, new in differences)
                    raise ResultsMismatchError(f"results file {path} was written with different settings:\n{lines}\n"
                                               "Results of different settings are never mixed. Choose another "
                                               "results_path for this run, or set the parameter overwrite=True to "
                                               f"discard the file's {len(data.get('folds', {}))} finished fold(s).")
                return cls(path, data)
            results = cls(path, {})
            results._data = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **identity, "created": _now(),
                             "git_commit": results._git_commit, "git_dirty": results._git_dirty,
                             "versions": library_versions(), "model": {}, "folds": {}, "aggregate": {}}
            results._save()
        return results

    # -- reading ----------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """Location of the results file."""
        return self._path

    @property
    def data(self) -> dict:
        """A deep copy of the whole file content."""
        return copy.deepcopy(self._data)

    @property
    def completed_folds(self) -> list[int]:
        """Indices of the recorded folds, ascending."""
        return sorted(int(key) for key in self._data["folds"])

    @property
    def aggregate(self) -> dict:
        """:func:`ser_common.metrics.summarize` over the recorded folds (empty before the first)."""
        return copy.deepcopy(self._data["aggregate"])

    def is_done(self, index: int) -> bool:
        """True if fold ``index`` is already recorded (skip it when resuming)."""
        return _fold_key(index) in self._data["folds"]

    def fold(self, index: int) -> dict:
        """A copy of the record of fold ``index`` (layout in the module docstring)."""
        key = _fold_key(index)
        if key not in self._data["folds"]:
            raise KeyError(f"fold {index} is not recorded in {self._path}; recorded folds: {self.completed_folds}")
        return copy.deepcopy(self._data["folds"][key])

    def to_frame(self) -> pd.DataFrame:
        """One row per recorded fold, indexed by the fold's name (e.g. ``"speaker 03"``).

        Columns: ``index``, ``ua``, ``wa``, ``macro_f1`` (fractions), ``wall_time_s``,
        ``mean_epoch_time_s``, ``epochs`` (epoch times recorded) and ``selected_epoch``.
        """
        rows = []
        for index in self.completed_folds:
            record = self._data["folds"][str(index)]
            epoch_times = record.get("epoch_times_s") or []
            rows.append({"fold": record.get("extra", {}).get("name", str(index)), "index": index,
                         **{key: record["metrics"].get(key) for key in ("ua", "wa", "macro_f1")},
                         "wall_time_s": record["wall_time_s"],
                         "mean_epoch_time_s": float(np.mean(epoch_times)) if epoch_times else float("nan"),
                         "epochs": len(epoch_times), "selected_epoch": record.get("selected_epoch")})
        return pd.DataFrame(rows, columns=["fold", "index", "ua", "wa", "macro_f1", "wall_time_s", "mean_epoch_time_s",
                                           "epochs", "selected_epoch"]).set_index("fold")

    def __repr__(self) -> str:
        return (f"RunResults({str(self._path)!r}, paper={self._data['paper']!r}, dataset={self._data['dataset']!r}, "
                f"protocol={self._data['protocol']!r}, folds done={self.completed_folds})")

    # -- writing ----------------------------------------------------------------------

    def add_fold(self, index: int, *, metrics: Mapping, history: Mapping | None = None, wall_time_s: float,
                 epoch_times_s: Sequence[float] | None = None, selected_epoch: int | None = None,
                 selection: str | None = None, extra: Mapping | None = None) -> None:
        """Record one finished fold, recompute the aggregate and rewrite the file atomically.

        Parameters
        ----------
        index : int
            The fold's index (``Fold.index``).
        metrics : dict
            :func:`ser_common.metrics.evaluate` on the fold's test set. Must hold at
            least ``ua`` and ``wa``; its ``confusion`` is stored as the fold's
            ``confusion``.
        history : dict, optional
            The shared per-epoch history (see :mod:`ser_common.training`).
        wall_time_s : float
            Wall time of the whole fold (training + evaluation), seconds.
        epoch_times_s : sequence of float, optional
            Per-epoch wall times; defaults to ``history["time_s"]`` when present.
        selected_epoch : int, optional
            1-based epoch whose weights were evaluated.
        selection : str, optional
            How that epoch was chosen, e.g. ``"last"`` or ``"best:val_ua"``
            (``FitResult.selection``); shown by :func:`compare_with_paper`.
        extra : dict, optional
            Anything else worth keeping (JSON-serialisable).

        Raises
        ------
        ValueError
            If the fold is already recorded (a finished fold is never overwritten), or
            ``metrics`` lacks ``ua`` / ``wa``.
        """
        key = _fold_key(index)
        if not isinstance(metrics, Mapping) or not {"ua", "wa"} <= set(metrics):
            raise ValueError("metrics must be the dict returned by ser_common.metrics.evaluate (with 'ua' and 'wa')")
        if isinstance(wall_time_s, bool) or not isinstance(wall_time_s, (int, float, np.integer, np.floating)):
            raise TypeError(f"wall_time_s must be a number of seconds, got {wall_time_s!r}")
        if history is not None and not isinstance(history, Mapping):
            raise TypeError(f"history must be a dict of per-epoch lists (FitResult.history), got {type(history).__name__}")
        if epoch_times_s is None and history is not None and "time_s" in history:
            epoch_times_s = history["time_s"]
        record = _round_trip({
            "index": int(key), "metrics": {name: value for name, value in metrics.items() if name != "confusion"},
            "confusion": metrics.get("confusion"), "history": history, "wall_time_s": wall_time_s, "selection": selection,
            "epoch_times_s": None if epoch_times_s is None else list(epoch_times_s), "selected_epoch": selected_epoch,
            "extra": extra or {}, "recorded": _now(), "git_commit": self._git_commit, "git_dirty": self._git_dirty,
        }, f"fold {index}")
        with _locked(self._path):
            self._reload()  # the fold may have been recorded by another process meanwhile
            if key in self._data["folds"]:
                raise ValueError(f"fold {index} is already recorded in {self._path}, so this result is not stored; "
                                 f"skip it with is_done({index}), or start a fresh file (parameter overwrite=True)")
            folds = {**self._data["folds"], key: record}
            self._data = {**self._data, "folds": folds, "aggregate": _aggregate(folds)}
            self._save()

    def set_model_info(self, **info: object) -> None:
        """Record properties of the model, e.g. ``set_model_info(param_count=104_496)``.

        Setting a key again with the same value is fine (e.g. once per fold); a
        different value raises ``ValueError``, because one run must use one model.
        Run-environment details that may change on resume (device, hostname) belong in
        a fold's ``extra`` instead; ``framework`` (``"torch 2.13.0+cpu"``) only has to name
        the same library (the experiment records each fold's own version).
        """
        converted = _round_trip(info, "model info")
        with _locked(self._path):
            self._reload()
            model = self._data["model"]
            # A resumed run may use another build of the same framework (a GPU machine's torch for
            # some folds): the library must match, its version is recorded with each fold instead.
            changed = [name for name, value in converted.items() if name in model and _differences(model[name], value)
                       and not (name == "framework" and str(model[name]).split()[:1] == str(value).split()[:1])]
            if changed:
                details = ", ".join(f"{name}: {model[name]!r} (in file) vs {converted[name]!r} (now)" for name in changed)
                raise ValueError(f"model info in {self._path} differs from what this run sets ({details}); one results "
                                 "file holds one model. Choose another results_path, or set the parameter overwrite=True.")
            if not converted.keys() <= model.keys():  # else nothing new: the file (and "updated") stays untouched
                self._data["model"] = {**model, **converted}
                self._save()

    def _reload(self) -> None:
        """Take in what other processes recorded since this object last read the file."""
        if self._path.exists():
            on_disk = load_results(self._path)
            self._data = {**self._data, "folds": on_disk["folds"], "model": on_disk.get("model", {}),
                          "aggregate": _aggregate(on_disk["folds"])}

    def _save(self) -> None:
        self._data["updated"] = _now()
        _write_json_atomically(self._path, self._data)


def _fold_key(index: int) -> str:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f"fold index must be a non-negative integer, got {index!r}")
    return str(int(index))


def _aggregate(folds: Mapping[str, Mapping]) -> dict:
    """Summarise the metrics every fold has (``DEFAULT_SUMMARY_KEYS`` order)."""
    fold_metrics = [record["metrics"] for record in folds.values()]
    keys = [key for key in DEFAULT_SUMMARY_KEYS if all(metrics.get(key) is not None for metrics in fold_metrics)]
    return summarize(fold_metrics, keys) if fold_metrics and keys else {}


# ----------------------------------------------------------------------------- published numbers


def load_reference(paper: str) -> dict:
    """Read the published numbers of one paper from ``papers/<paper>/reference.json``.

    Parameters
    ----------
    paper : str
        Package name of the paper: ``"tim_net"``, ``"cktim_net"``, ``"glam"`` or
        ``"light_sernet"``.

    Returns
    -------
    dict
        ``{"paper": ..., "citation": ..., "entries": [...]}``; every entry has the
        fields ``dataset``, ``label``, ``protocol``, ``selection``, ``leaky``,
        ``source`` and metric values in percent (``ua``, ``wa``, optionally
        ``macro_f1``, ``weighted_f1`` and ``<metric>_std``).
    """
    papers = importlib.resources.files("papers")
    path = papers / paper / "reference.json"
    if not path.is_file():
        available = sorted(item.name for item in papers.iterdir() if (item / "reference.json").is_file())
        raise FileNotFoundError(f"no published numbers for paper {paper!r} (looked for {path}); available: {available}")
    try:
        reference = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    entries = reference.get("entries")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path} has no 'entries' list")
    for position, entry in enumerate(entries):
        missing = [field for field in REFERENCE_ENTRY_FIELDS if field not in entry]
        if missing:
            raise ValueError(f"{path}: entry {position} ({entry.get('label', '?')!r}) lacks {missing}")
    return reference


def _normalised_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _format_percent(value: object, std: object = None) -> str:
    if value is None:
        return "–"
    text = f"{float(value):.2f}"
    return text if std is None else f"{text} ± {float(std):.2f}"


def _ours(aggregate: Mapping, key: str) -> str:
    """A fold-averaged metric of ours as ``"mean ± std"`` in percent (``"–"`` if not recorded)."""
    if key not in aggregate:
        return "–"
    one_fold = aggregate[key].get("n", 2) < 2  # a spread needs two folds: show no "± 0.00"
    return _format_percent(aggregate[key]["mean"] * 100, None if one_fold else aggregate[key]["std"] * 100)


def run_selection(data: Mapping) -> str:
    """How a run selected its epochs, e.g. ``"last"`` or ``"best_val (val_loss)"``."""
    params = data.get("params", {})
    selection = params.get("selection")
    if selection is None:
        recorded = sorted({record.get("selection") for record in data["folds"].values()} - {None})
        return ", ".join(recorded) or "not recorded"
    monitor = params.get("monitor")
    return f"{selection} ({monitor})" if monitor and selection != "last" else selection


def compare_with_paper(results: RunResults | Mapping, paper: str,
                       keys: Sequence[str] = ("ua", "wa", "macro_f1")) -> pd.DataFrame:
    """Our fold-averaged metrics next to the published numbers of the same protocol.

    Only published entries of the same corpus, the same protocol and the same selection
    (``reference.json``'s machine-readable ``protocol`` and ``selection`` keys) are put
    beside ours: numbers made another way are not comparable. The table's ``attrs["note"]``
    names the published entries for this corpus that were left out, and why.

    Returns
    -------
    pandas.DataFrame
        Rows = metrics (percent, 2 decimals, ``"–"`` where not published), then rows
        ``protocol``, ``selection``, ``leaky`` and ``source``; the first column is ours.
    """
    data = results.data if isinstance(results, RunResults) else results
    aggregate = data.get("aggregate") or {}
    if not aggregate:
        raise ValueError("the results have no finished folds yet, so there is nothing to compare")
    selection = data.get("params", {}).get("selection")
    n_folds = next(iter(aggregate.values()))["n"]
    ours = f"ours ({n_folds} folds, mean ± std)"
    table = {ours: [_ours(aggregate, key) for key in keys] + [
        data["protocol"], run_selection(data), str(selection == "best_test_leaky").lower(),
        f"this run ({Path(str(data.get('notebook', '?'))).name})"]}
    same_corpus = [entry for entry in load_reference(paper)["entries"]
                   if _normalised_name(entry["dataset"]) == _normalised_name(data["dataset"])]
    left_out = []
    for entry in same_corpus:
        if entry["protocol"] != data["protocol"] or entry["selection"] != selection:
            left_out.append(f"{entry['label']} ({entry['protocol']}, {entry['selection']})")
            continue
        table[entry["label"]] = [_format_percent(entry.get(k), entry.get(f"{k}_std")) for k in keys] + [
            entry["protocol"], entry["selection"], str(entry["leaky"]).lower(), entry["source"]]
    frame = pd.DataFrame(table, index=pd.Index([*keys, "protocol", "selection", "leaky", "source"], name="metric"))
    if not same_corpus:
        frame.attrs["note"] = f"{paper} published no numbers for {data['dataset']}"
    elif left_out:
        frame.attrs["note"] = "not comparable (other protocol or selection), left out: " + "; ".join(left_out)
    return frame


# ----------------------------------------------------------------------------- many runs at once


def find_results(*folders: str | os.PathLike) -> tuple[list[Path], list[str]]:
    """Every results file under ``folders`` (recursively), and one line per other JSON file skipped."""
    found, skipped = set(), []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.json")) if Path(folder).is_dir() else []:
            try:
                load_results(path)
                found.add(path.resolve())
            except (ValueError, OSError) as error:
                skipped.append(f"{path}: {error}")
    return sorted(found), skipped


def paired_test(first: RunResults | Mapping, second: RunResults | Mapping, metric: str = "ua") -> dict:
    """Compare two runs fold by fold on the folds both recorded (Wilcoxon signed-rank test).

    Only runs made on the same folds (equal ``folds_fingerprint``) can be paired; otherwise
    ``ValueError``. Returns ``n`` (folds paired), ``mean_difference`` (first − second, in
    metric units), the per-fold ``differences`` and the two-sided ``p_value`` (``None`` with
    fewer than 5 folds or when every difference is zero).
    """
    from scipy.stats import wilcoxon

    a, b = (run.data if isinstance(run, RunResults) else run for run in (first, second))
    fingerprints = a["params"].get("folds_fingerprint"), b["params"].get("folds_fingerprint")
    if None in fingerprints or fingerprints[0] != fingerprints[1]:
        raise ValueError(f"the two runs were not made on the same folds (fingerprints {fingerprints}); "
                         "a paired comparison needs the same test utterances in every fold")
    common = sorted(set(a["folds"]) & set(b["folds"]), key=int)
    differences = np.array([a["folds"][k]["metrics"][metric] - b["folds"][k]["metrics"][metric] for k in common])
    p_value = float(wilcoxon(differences).pvalue) if len(common) >= 5 and np.any(differences != 0) else None
    return {"n": len(common), "mean_difference": float(differences.mean()) if len(common) else float("nan"),
            "differences": differences.tolist(), "p_value": p_value}


def summary_table(paths: Sequence[str | os.PathLike], keys: Sequence[str] = ("ua", "wa", "macro_f1"),
                  params: Sequence[str] = ()) -> pd.DataFrame:
    """One row per results file: what was run and its mean ± std metrics (in percent).

    Used for the README's results table, the notebooks' "all runs" tables and the
    leaderboard. ``params`` adds columns with those identity parameters (e.g.
    ``("n_tab", "omega_0")``), and the ``folds`` column holds the folds fingerprint.
    ``median s/epoch by device`` maps each fold's recorded device (``extra["device"]``,
    else ``"unrecorded"``) to the median over its folds: a run resumed on another machine
    has one median per machine.
    """
    rows = []
    for path in paths:
        data = load_results(path)
        identity, model = data.get("params", {}), data.get("model", {})
        aggregate = data.get("aggregate") or {}
        epoch_times = [t for fold in data["folds"].values() for t in (fold.get("epoch_times_s") or [])]
        # folds resumed on another machine (GPU folds then CPU folds) take their own medians
        by_device: dict[str, list[float]] = {}
        for fold in data["folds"].values():
            device = (fold.get("extra") or {}).get("device") or "unrecorded"
            by_device.setdefault(device, []).extend(fold.get("epoch_times_s") or [])
        rows.append({"file": Path(path).name, "paper": data["paper"], "model": model.get("name", data["paper"]),
                     "dataset": data["dataset"], "protocol": data["protocol"], "selection": run_selection(data),
                     "epochs": identity.get("epochs"), "folds run": len(data["folds"]),
                     "params": model.get("param_count"), **{name: identity.get(name) for name in params},
                     **{key.upper() if key in ("ua", "wa") else key: _ours(aggregate, key) for key in keys},
                     "median s/epoch": round(float(np.median(epoch_times)), 2) if epoch_times else None,
                     "median s/epoch by device": {device: round(float(np.median(times)), 2)
                                                  for device, times in by_device.items() if times},
                     "folds": identity.get("folds_fingerprint")})
    return pd.DataFrame(rows)
