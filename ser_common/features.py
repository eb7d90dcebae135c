"""Acoustic features: one :class:`FeatureSpec` says everything, :func:`extract_features` runs it.

A :class:`FeatureSpec` bundles every choice that turns a recording into a feature matrix:
sample rate, fixed length and crop/pad alignment, amplitude normalisation, framing, mel
bank, the feature kind (librosa MFCC, log-mel or linear spectrogram), layout and
segmentation, plus the quality checks a file must pass. Each paper keeps its own spec in
``papers/<paper>/features.py``; a paper whose features follow other DSP conventions
subclasses ``FeatureSpec`` and overrides :meth:`FeatureSpec.transform`.

:func:`extract_features` runs a spec over a whole manifest in parallel (joblib, with a
tqdm bar), checks every file first (too short, silent, unreadable, NaN samples: all
offending files are reported at once), and caches the result on disk keyed by the
*content* of every file, every spec field and the library versions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import joblib
import librosa
import numpy as np
import pandas as pd
import scipy
from tqdm.auto import tqdm

from ser_common.audio import AudioError, fix_length, load_audio

__all__ = ["FeatureSpec", "default_cache_dir", "extract_features", "file_digest"]


@dataclass(frozen=True)
class FeatureSpec:
    """Every choice that turns a recording into a feature matrix.

    Change a field with :meth:`replace`; every field takes part in the cache key, so a
    changed field never returns stale features.

    Attributes
    ----------
    name : str
        Label shown in tables.
    kind : {"mfcc", "logmel", "spectrogram"}
        librosa MFCC (power mel -> dB -> orthonormal DCT-II), mel spectrogram in dB, or
        STFT power in dB (``power_to_db`` with ref 1.0, amin 1e-10, ``top_db``).
    sample_rate : int
        Audio is resampled to this rate first.
    signal_length : int, mapping or None
        Fixed length in samples after resampling, or a mapping corpus -> length (key
        ``"default"`` for the others), or None to keep the full signal.
    align : {"center", "left", "right"}
        Crop/pad policy for ``signal_length`` (see :func:`ser_common.audio.fix_length`).
    normalize_percentile : float or None
        Divide the (cropped) signal by this percentile of its absolute amplitude and clip
        to [-1, 1] *before* padding.
    n_fft, hop_length, win_length, window, center, pad_mode : framing (librosa STFT)
    n_mels, fmin, fmax, htk, mel_norm : mel filterbank
    n_mfcc : int
    top_db : float or None
        Dynamic-range floor of ``power_to_db``.
    layout : {"time_major", "channels_first"}
        ``(T, F)`` or ``(F, T)`` per example.
    segment_length, segment_hop : int or None
        Cut each recording into windows of ``segment_length`` samples every
        ``segment_hop``; every window is one example (a tail shorter than a window is
        dropped).
    short_policy : {"tile", "pad", "drop", "error"}
        With segmentation, recordings shorter than one window are repeated until they
        fill it, zero-padded (centred), dropped (listed in a warning) or refused.
    min_duration_s : float
        Files shorter than this (seconds, before any padding) fail the quality check.
    min_peak : float
        Files whose peak absolute amplitude is below this (full scale = 1) fail the
        silence check; 1e-4 is -80 dBFS.
    res_type : str
        Resampler for ``librosa.resample``.
    """

    name: str
    kind: Literal["mfcc", "logmel", "spectrogram"]
    sample_rate: int
    signal_length: int | Mapping[str, int] | None
    align: str = "center"
    normalize_percentile: float | None = None
    n_fft: int = 2048
    hop_length: int = 512
    win_length: int | None = None
    window: str = "hann"
    center: bool = True
    pad_mode: str = "constant"
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    htk: bool = False
    mel_norm: str | None = "slaney"
    n_mfcc: int = 20
    top_db: float | None = 80.0
    layout: Literal["time_major", "channels_first"] = "time_major"
    segment_length: int | None = None
    segment_hop: int | None = None
    short_policy: Literal["tile", "pad", "drop", "error"] = "tile"
    min_duration_s: float = 0.25
    min_peak: float = 1e-4
    res_type: str = "soxr_hq"
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        allowed = {"kind": ("mfcc", "logmel", "spectrogram"), "layout": ("time_major", "channels_first"),
                   "short_policy": ("tile", "pad", "drop", "error"), "align": ("center", "left", "right")}
        for name, choices in allowed.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{type(self).__name__}.{name}={getattr(self, name)!r} is not one of {choices}")
        if (self.segment_length is None) != (self.segment_hop is None):
            raise ValueError("segment_length and segment_hop must be given together")
        if isinstance(self.signal_length, Mapping):
            # Frozen as sorted pairs so the spec stays hashable and cache keys are stable.
            object.__setattr__(self, "signal_length", tuple(sorted(self.signal_length.items())))

    def replace(self, **changes: Any) -> FeatureSpec:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # a frozen length mapping stays the tuple of pairs it was

    @property
    def segmented(self) -> bool:
        return self.segment_length is not None

    def length_for(self, corpus: str | None) -> int | None:
        """Fixed signal length (samples) for a corpus, or None for full length."""
        if self.signal_length is None or isinstance(self.signal_length, int):
            return self.signal_length
        lengths = dict(self.signal_length)
        if corpus in lengths or "default" in lengths:
            return lengths.get(corpus, lengths.get("default"))
        raise ValueError(f"feature spec {self.name!r} has no signal length for corpus {corpus!r} (known: {sorted(lengths)})")

    def describe(self) -> pd.Series:
        """The spec as a readable one-column table (for notebooks)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "notes"}
        return pd.Series({key: str(value) for key, value in values.items()}, name=self.name)

    # -- the computation ----------------------------------------------------------------
    def transform(self, signal: np.ndarray) -> np.ndarray:
        """Features of one prepared signal (or a ``(n_segments, n_samples)`` stack), in ``layout``."""
        power = np.abs(librosa.stft(signal, n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                                    window=self.window, center=self.center, pad_mode=self.pad_mode)) ** 2
        if self.kind != "spectrogram":  # mel and MFCC features start from the power mel spectrogram
            power = librosa.feature.melspectrogram(S=power, sr=self.sample_rate, n_fft=self.n_fft, n_mels=self.n_mels,
                                                   fmin=self.fmin, fmax=self.fmax, htk=self.htk, norm=self.mel_norm)
        out = librosa.power_to_db(power, top_db=self.top_db)
        if self.kind == "mfcc":
            out = librosa.feature.mfcc(S=out, n_mfcc=self.n_mfcc, dct_type=2, norm="ortho")
        if self.layout == "time_major":
            out = np.swapaxes(out, -1, -2)
        return np.ascontiguousarray(out, dtype=np.float32)

    def prepare_signal(self, path: str | Path, corpus: str | None = None) -> np.ndarray:
        """Load a file, check it, and bring it to this spec's rate, length and amplitude.

        Returns a 1-D signal, or ``(n_segments, segment_length)`` when segmented.
        """
        signal = load_audio(path, self.sample_rate, min_duration=self.min_duration_s, res_type=self.res_type)
        peak = float(np.max(np.abs(signal)))
        if peak < self.min_peak:
            raise AudioError(f"{path}: silent (peak amplitude {peak:.2g} < {self.min_peak:g} of full scale)")
        length = None if self.segmented else self.length_for(corpus)
        if length is not None and signal.shape[0] > length:
            signal = fix_length(signal, length, self.align)
        if self.normalize_percentile is not None:
            # Normalised before padding, so the padding's zeros do not move the percentile.
            scale = float(np.percentile(np.abs(signal), self.normalize_percentile))
            if scale <= 0.0:
                raise AudioError(f"{path} is silent (its {self.normalize_percentile}th amplitude percentile is 0); "
                                 "cannot normalise it")
            signal = np.clip(signal / scale, -1.0, 1.0).astype(np.float32)
        if length is not None:
            signal = fix_length(signal, length, self.align)
        return self.segment(signal, source=str(path)) if self.segmented else signal

    def segment(self, signal: np.ndarray, *, source: str = "signal") -> np.ndarray:
        """Cut a signal into ``(n_segments, segment_length)`` windows."""
        window, hop = self.segment_length, self.segment_hop
        if signal.shape[0] < window:
            if self.short_policy == "error":
                raise AudioError(f"{source} lasts {signal.shape[0] / self.sample_rate:.2f} s, shorter than one "
                                 f"{window / self.sample_rate:.2f} s segment; choose short_policy 'tile', 'pad' or 'drop'")
            if self.short_policy == "drop":
                return np.zeros((0, window), dtype=np.float32)
            # "tile" repeats the signal until it fills the window; "pad" centres it in zeros
            signal = np.resize(signal, window) if self.short_policy == "tile" else fix_length(signal, window, "center")
        # one window every hop samples; a tail shorter than a window is dropped
        frames = librosa.util.frame(signal, frame_length=window, hop_length=hop, axis=0)
        return np.ascontiguousarray(frames, dtype=np.float32)

    def features_of(self, path: str | Path, corpus: str | None = None) -> np.ndarray:
        """Load one file and compute its features (one example, or a stack of segments)."""
        prepared = self.prepare_signal(path, corpus)
        if prepared.ndim == 2 and prepared.shape[0] == 0:  # dropped by short_policy="drop"
            return np.zeros((0,), dtype=np.float32)
        features = self.transform(prepared)
        if not np.all(np.isfinite(features)):  # e.g. a float WAV whose samples overflow the power spectrum
            raise AudioError(f"{path}: its features are not finite (peak sample amplitude "
                             f"{float(np.max(np.abs(prepared))):.3g}, full scale is 1); the samples are out of range: "
                             "re-export or remove the file")
        return features


# ----------------------------------------------------------------------------- whole manifests


def default_cache_dir() -> Path:
    """``$SER_CACHE_DIR`` if set, else ``./cache``."""
    return Path(os.environ.get("SER_CACHE_DIR", "cache"))


def file_digest(path: str | Path) -> str:
    """BLAKE2b digest of a file's bytes (the cache key of its content)."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "blake2b").hexdigest()[:32]
    except FileNotFoundError:
        raise AudioError(f"audio file listed in the manifest does not exist: {path}") from None


def _features_or_problem(spec: FeatureSpec, path: str, corpus: str) -> np.ndarray | str:
    try:
        return spec.features_of(path, corpus)
    except AudioError as error:
        return str(error)


def _extract_all(digests: tuple, spec: FeatureSpec, corpora: tuple, versions: tuple, paths: list, n_jobs: int,
                 progress: bool) -> list:
    """Features (or the reason it failed) for every file: the cached unit of work."""
    jobs = (joblib.delayed(_features_or_problem)(spec, path, corpus) for path, corpus in zip(paths, corpora))
    results = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    return list(tqdm(results, total=len(paths), desc=f"features ({spec.name})", disable=not progress, unit="file"))


def _cached_extract(cache_dir: str | Path | None | bool, *args: Any, **kwargs: Any) -> list:
    """Run :func:`_extract_all`, through a joblib cache unless ``cache_dir`` is False.

    ``cache_dir`` is as in :func:`extract_features`. A corrupt cache entry costs one line, not a traceback.
    """
    if cache_dir is False:
        return _extract_all(*args, **kwargs)
    cache_dir = default_cache_dir() if cache_dir in (None, True) else Path(cache_dir)
    compute = joblib.Memory(cache_dir, verbose=0).cache(_extract_all, ignore=["paths", "n_jobs", "progress"])
    if compute.check_call_in_cache(*args, **kwargs):
        stored = compute.call_and_shelve(*args, **kwargs)
        try:
            return stored.get()
        except Exception as error:  # any unpickling failure means the entry is unusable
            print(f"feature cache entry in {cache_dir} was unreadable ({type(error).__name__}); recomputing it",
                  file=sys.stderr)
            stored.clear()
    return compute(*args, **kwargs)


def extract_features(manifest: pd.DataFrame, spec: FeatureSpec, *, cache_dir: str | Path | None | bool = None,
                     errors: Literal["raise", "skip"] = "raise", n_jobs: int = -1,
                     progress: bool = True) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Compute a feature spec for every file of a manifest.

    Parameters
    ----------
    manifest : DataFrame
        From :func:`ser_common.load_manifest`: needs ``path``, ``label`` (categorical in
        the corpus class order) and ``corpus``.
    spec : FeatureSpec
    cache_dir : path, None or False
        Where joblib caches the features (None: :func:`default_cache_dir`; False: no
        cache). The key covers the content of every file (:func:`file_digest`), every
        spec field and the librosa / numpy / scipy versions.
    errors : {"raise", "skip"}
        Files that fail the checks (unreadable, NaN samples, too short, silent) are all
        listed in one :class:`AudioError` (``"raise"``), or left out with a warning
        (``"skip"``); the returned manifest's ``attrs["skipped"]`` lists them either way.
    n_jobs : int
        joblib worker processes (-1: all cores).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    X : ndarray, float32
        ``(N, T, F)`` or ``(N, F, T)``; for segmented specs one row per segment.
    y : ndarray, int64
        Class index of each row.
    manifest : DataFrame
        The rows ``X`` describes, index reset. For segmented specs one row per segment,
        with columns ``utterance`` (0, 1, ... over the utterances kept) and ``segment``
        (position within the utterance); every other column is the utterance's.
    """
    if not isinstance(spec, FeatureSpec):
        raise TypeError(f"spec must be a FeatureSpec (a paper's papers/<paper>/features.py has one), got {spec!r}")
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors={errors!r}: choose 'raise' or 'skip'")
    missing = [column for column in ("path", "label", "corpus") if column not in manifest.columns]
    if missing or not len(manifest) or not isinstance(manifest["label"].dtype, pd.CategoricalDtype):
        raise ValueError("manifest must be a non-empty ser_common.load_manifest table (path, categorical label, corpus)")
    manifest = manifest.reset_index(drop=True)
    paths = [str(p) for p in manifest["path"]]
    args = (tuple(file_digest(p) for p in paths), spec, tuple(str(c) for c in manifest["corpus"]),
            (librosa.__version__, np.__version__, scipy.__version__))
    per_file = _cached_extract(cache_dir, *args, paths=paths, n_jobs=n_jobs, progress=progress)

    problems = [(path, result) for path, result in zip(paths, per_file) if isinstance(result, str)]
    if problems and errors == "raise":
        listing = "\n".join(f"  {message}" for _, message in problems)
        raise AudioError(f"{len(problems)} of {len(paths)} files cannot be used:\n{listing}\n"
                         "Fix or remove them, or pass errors='skip' to leave them out (they are listed in the results).")
    keep = np.array([not isinstance(result, str) for result in per_file])
    if problems:
        print(f"skipped {len(problems)} unusable file(s): " + "; ".join(message for _, message in problems),
              file=sys.stderr)
    utterances = manifest[keep].reset_index(drop=True)
    utterances.attrs["skipped"] = [{"path": path, "reason": message} for path, message in problems]
    per_file = [result for result in per_file if not isinstance(result, str)]
    y_utt = utterances["label"].cat.codes.to_numpy().astype(np.int64)
    if not spec.segmented:
        shapes = {f.shape for f in per_file}
        if len(shapes) > 1:
            raise ValueError(f"feature spec {spec.name!r} gives examples of different shapes {sorted(shapes)[:3]}; "
                             "set signal_length (fixed-length crop/pad) so they can be stacked")
        return np.stack(per_file), y_utt, utterances

    counts = np.array([f.shape[0] if f.ndim > 1 else 0 for f in per_file])
    if np.any(counts == 0):
        dropped = utterances["path"][counts == 0].map(lambda p: Path(p).name).tolist()
        print(f"{len(dropped)} of {len(counts)} utterances are shorter than one segment and were dropped "
              f"(short_policy='drop'), e.g. {dropped[:5]}", file=sys.stderr)
    rows = np.repeat(np.arange(counts.size), counts)  # the utterance row of every segment
    segments = utterances.iloc[rows].reset_index(drop=True)
    segments.insert(0, "utterance", np.cumsum(counts > 0)[rows] - 1)  # numbered over the utterances kept
    segments.insert(1, "segment", np.concatenate([np.arange(count) for count in counts]))
    segments.attrs["skipped"] = utterances.attrs["skipped"]
    return np.concatenate([f for f, count in zip(per_file, counts) if count], axis=0), y_utt[rows], segments
