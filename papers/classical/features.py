"""Utterance-level functionals for the classical baseline: one fixed-length vector per file.

Three feature sets, all computed from 16 kHz mono audio:

``"egemaps"``
    openSMILE eGeMAPSv02 functionals (88 features; Eyben et al. 2016, the Geneva
    Minimalistic Acoustic Parameter Set): F0, jitter, shimmer, loudness, formants,
    spectral slopes, MFCC 1-4, ... with mean / coefficient of variation / percentiles.
``"compare"``
    openSMILE ComParE_2016 functionals (6,373 features): 65 low-level descriptors and
    their deltas under ~50 functionals (the INTERSPEECH ComParE challenge set).
``"librosa"``
    A small openSMILE-free fallback (:data:`LIBROSA_N_FEATURES` features): librosa
    low-level descriptors (13 MFCC + 13 delta-MFCC, log RMS energy, zero-crossing
    rate, spectral centroid / bandwidth / roll-off / flatness, 7 spectral-contrast
    bands) summarised by 8 statistics (mean, std, skewness, 5/25/50/75/95th
    percentiles), plus F0 statistics from ``librosa.yin`` over a crude energy-based
    voicing mask, the voiced fraction and the duration. It is *not* a reimplementation
    of any published set.

:func:`functionals` extracts a set for a list of files and caches the matrix with
``joblib.Memory``; :func:`feature_names` gives the column names. openSMILE comes from
the ``opensmile`` PyPI package (it ships the SMILExtract library in its wheel); it is
imported only when an openSMILE set is requested.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np

__all__ = [
    "FEATURE_SETS",
    "LIBROSA_N_FEATURES",
    "SAMPLE_RATE",
    "default_cache_dir",
    "feature_names",
    "functionals",
]

#: The feature sets :func:`functionals` knows, with their dimensionality.
FEATURE_SETS: dict[str, int] = {"egemaps": 88, "compare": 6373, "librosa": 0}  # librosa filled in below

#: Every file is read (and if needed resampled) at this rate before extraction.
SAMPLE_RATE = 16_000

#: Bumped whenever the extraction code changes its output; part of the cache key.
_CODE_VERSION = "1"

_OPENSMILE_SETS = {"egemaps": "eGeMAPSv02", "compare": "ComParE_2016"}

# ----------------------------------------------------------------------------- librosa fallback

_N_FFT = 512  # 32 ms at 16 kHz
_HOP = 160  # 10 ms
_STATS = ("mean", "std", "skew", "p05", "p25", "p50", "p75", "p95")
_LLD_NAMES = (
    [f"mfcc{i}" for i in range(13)]
    + [f"dmfcc{i}" for i in range(13)]
    + ["log_rms", "zcr", "centroid", "bandwidth", "rolloff", "flatness"]
    + [f"contrast{i}" for i in range(7)]
)
_F0_NAMES = ["f0st_mean", "f0st_std", "f0st_p05", "f0st_p25", "f0st_p50", "f0st_p75", "f0st_p95", "f0st_range"]
_EXTRA_NAMES = ["voiced_fraction", "duration_s"]
_LIBROSA_NAMES = [f"{lld}_{stat}" for lld in _LLD_NAMES for stat in _STATS] + _F0_NAMES + _EXTRA_NAMES
LIBROSA_N_FEATURES = len(_LIBROSA_NAMES)
FEATURE_SETS["librosa"] = LIBROSA_N_FEATURES


def _statistics(values: np.ndarray) -> np.ndarray:
    """The 8 statistics of ``_STATS`` along the last axis of a (n_llds, n_frames) array."""
    mean = values.mean(axis=1)
    std = values.std(axis=1)
    centred = values - mean[:, None]
    skew = (centred**3).mean(axis=1) / np.maximum(std, 1e-12) ** 3
    percentiles = np.percentile(values, [5, 25, 50, 75, 95], axis=1)
    return np.column_stack([mean, std, skew, *percentiles])


def _librosa_functionals(path: str) -> np.ndarray:
    import librosa

    from ser_common.audio import load_audio

    y = load_audio(path, sr=SAMPLE_RATE).astype(np.float32)
    sr = SAMPLE_RATE
    stft = np.abs(librosa.stft(y, n_fft=_N_FFT, hop_length=_HOP))
    power = stft**2
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=40, fmin=20, fmax=sr // 2)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=13)
    dmfcc = librosa.feature.delta(mfcc, width=9, mode="nearest")
    rms = librosa.feature.rms(S=stft, frame_length=_N_FFT)[0]
    log_rms = np.log(rms + 1e-6)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=_N_FFT, hop_length=_HOP)[0]
    n = min(stft.shape[1], zcr.size)
    llds = np.vstack(
        [
            mfcc[:, :n],
            dmfcc[:, :n],
            log_rms[None, :n],
            zcr[None, :n],
            librosa.feature.spectral_centroid(S=stft, sr=sr)[:, :n],
            librosa.feature.spectral_bandwidth(S=stft, sr=sr)[:, :n],
            librosa.feature.spectral_rolloff(S=stft, sr=sr)[:, :n],
            librosa.feature.spectral_flatness(S=stft)[:, :n],
            librosa.feature.spectral_contrast(S=stft, sr=sr, fmin=100.0, n_bands=6)[:, :n],
        ]
    )
    stats = _statistics(llds.astype(np.float64)).ravel()

    # F0: YIN gives a value for every frame; keep the frames that are loud (within 25 dB
    # of the loudest frame) and not noise-like (low ZCR). Crude, but fast and label-free.
    f0 = librosa.yin(y, fmin=60.0, fmax=500.0, sr=sr, frame_length=1024, hop_length=_HOP)
    m = min(f0.size, n)
    rms_db = 20 * np.log10(rms[:m] + 1e-6)
    voiced = (rms_db > rms_db.max() - 25.0) & (zcr[:m] < 0.2) & (f0[:m] > 61.0) & (f0[:m] < 499.0)
    if voiced.sum() >= 2:
        semitones = 12 * np.log2(f0[:m][voiced] / 27.5)
        p = np.percentile(semitones, [5, 25, 50, 75, 95])
        f0_stats = np.array([semitones.mean(), semitones.std(), *p, p[4] - p[0]])
    else:
        f0_stats = np.full(len(_F0_NAMES), np.nan)  # imputed later by the model pipeline
    extra = np.array([voiced.mean() if m else 0.0, y.size / sr])
    return np.concatenate([stats, f0_stats, extra])


# ----------------------------------------------------------------------------- openSMILE


def _smile(feature_set: str, n_jobs: int = 1):
    try:
        import opensmile
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"feature_set={feature_set!r} needs the openSMILE Python package: pip install opensmile "
            "(its wheel ships the SMILExtract library). feature_set='librosa' works without it."
        ) from error
    return opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, _OPENSMILE_SETS[feature_set]),
        feature_level=opensmile.FeatureLevel.Functionals,
        sampling_rate=SAMPLE_RATE,
        resample=True,
        num_workers=max(1, n_jobs),
        multiprocessing=False,
    )


def _library_versions(feature_set: str) -> tuple[str, ...]:
    import librosa

    versions = [f"numpy {np.__version__}", f"librosa {librosa.__version__}", f"code {_CODE_VERSION}"]
    if feature_set in _OPENSMILE_SETS:
        import opensmile

        versions.append(f"opensmile {opensmile.__version__}")
    return tuple(versions)


# ----------------------------------------------------------------------------- public API


def feature_names(feature_set: str = "egemaps") -> list[str]:
    """Column names of :func:`functionals`' output for ``feature_set`` (in column order)."""
    _check_set(feature_set)
    if feature_set == "librosa":
        return list(_LIBROSA_NAMES)
    return list(_smile(feature_set).feature_names)


def default_cache_dir() -> Path:
    """``$SER_CACHE_DIR`` if set, else ``./cache`` (the same rule as ``ser_common.features``)."""
    return Path(os.environ.get("SER_CACHE_DIR", "cache"))


def _check_set(feature_set: str) -> None:
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature_set {feature_set!r}; choose one of {sorted(FEATURE_SETS)}")


def _file_stamps(paths: Sequence[str | os.PathLike[str]]) -> tuple[tuple[str, int, int], ...]:
    stamps = []
    for path in paths:
        path = str(Path(path).resolve())
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"audio file does not exist: {path}") from None
        stamps.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


def _extract(
    file_stamps: tuple[tuple[str, int, int], ...],
    feature_set: str,
    library_versions: tuple[str, ...],
    n_jobs: int,
) -> np.ndarray:
    """The cached unit of work: the (N, D) matrix for these exact files (stamps = cache key)."""
    del library_versions  # part of the cache key only
    paths = [path for path, _, _ in file_stamps]
    if feature_set == "librosa":
        rows = joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(_librosa_functionals)(p) for p in paths)
        return np.vstack(rows).astype(np.float64)
    if "tensorflow" in sys.modules:
        # openSMILE's library corrupts the heap in a process that has loaded TensorFlow
        # ("malloc(): invalid size", then a crash): extract in a fresh process instead.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return pool.submit(_opensmile_rows, paths, feature_set, n_jobs).result()
    return _opensmile_rows(paths, feature_set, n_jobs)


def _opensmile_rows(paths: list[str], feature_set: str, n_jobs: int) -> np.ndarray:
    return _smile(feature_set, n_jobs).process_files(paths).to_numpy(dtype=np.float64)


def functionals(
    paths: Sequence[str | os.PathLike[str]],
    feature_set: str = "egemaps",
    n_jobs: int = 1,
    cache_dir: str | os.PathLike[str] | None | bool = None,
) -> np.ndarray:
    """One row of utterance-level functionals per file.

    Parameters
    ----------
    paths : sequence of path-like
        Audio files (any rate; read as mono and resampled to 16 kHz).
    feature_set : {"egemaps", "compare", "librosa"}
        See the module docstring; :func:`feature_names` gives the column names.
    n_jobs : int, default 1
        Worker threads (openSMILE) or processes (librosa) for the extraction.
    cache_dir : path, None or False
        ``joblib.Memory`` folder (None: :func:`default_cache_dir`; False: no caching).
        The cache key is every file's resolved path, size and modification time, the
        feature set and the numpy / librosa / opensmile versions, so an edited file or
        a new library version is recomputed rather than served stale.

    Returns
    -------
    numpy.ndarray, float64, shape (len(paths), FEATURE_SETS[feature_set])
        Rows in the order of ``paths``. The librosa set can hold NaN in its F0 columns
        for a file without a single voiced frame; the classifiers of
        :mod:`papers.classical.model` impute it.
    """
    _check_set(feature_set)
    if len(paths) == 0:
        raise ValueError("no files given: nothing to extract")
    stamps = _file_stamps(paths)
    compute = _extract
    if cache_dir is not False:
        location = default_cache_dir() if cache_dir in (None, True) else Path(cache_dir)
        compute = joblib.Memory(location, verbose=0).cache(_extract, ignore=["n_jobs"])
    X = compute(stamps, feature_set, _library_versions(feature_set), n_jobs=n_jobs)
    expected = (len(stamps), FEATURE_SETS[feature_set])
    if X.shape != expected:
        raise RuntimeError(f"{feature_set} extraction returned shape {X.shape}, expected {expected}")
    return X
