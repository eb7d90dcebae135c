"""CkTIM-Net's offline audio augmentation, as an option of the lesson.

The official project writes four extra copies of every *training* file (spec §2.3):
white noise at 10 dB SNR, a zero-filled shift by ±{5, 10, 15, 20, 30} % of the length,
``librosa.effects.time_stretch`` with a rate in {0.25, 0.5, 1.5, 2} (it changes the
duration, not the pitch), and time reversal.

Unlike the official augmented runs (different features at 48 kHz, and a different test
split), here the copies go through the *same* feature preset as the originals and only
the training part of each fold is augmented, so the with/without comparison is
controlled. Copies are drawn from a generator seeded by (seed, utterance), so they do not
depend on the fold or on the order of computation, and are cached like other features.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import librosa
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ser_common.audio import fix_length, load_audio
from ser_common.features import FeatureSpec, default_cache_dir

SHIFT_FRACTIONS = (0.05, 0.10, 0.15, 0.20, 0.30)
STRETCH_RATES = (0.25, 0.5, 1.5, 2.0)
NOISE_SNR_DB = 10.0
AUGMENTATIONS = ("noise", "shift", "stretch", "reverse")


def add_noise(signal: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise at ``snr_db`` dB signal-to-noise ratio."""
    power = float(np.mean(signal**2))
    noise = rng.standard_normal(signal.shape) * np.sqrt(power / 10 ** (snr_db / 10))
    return (signal + noise).astype(np.float32)


def shift(signal: np.ndarray, fraction: float) -> np.ndarray:
    """Shift by ``fraction`` of the length (positive: later), zero-filled, not circular."""
    steps = int(round(fraction * signal.shape[0]))
    shifted = np.zeros_like(signal)
    if steps >= 0:
        shifted[steps:] = signal[: signal.shape[0] - steps]
    else:
        shifted[:steps] = signal[-steps:]
    return shifted


def augmented_copies(signal: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """The four augmented versions of one waveform, in :data:`AUGMENTATIONS` order."""
    fraction = float(rng.choice(SHIFT_FRACTIONS)) * float(rng.choice([-1, 1]))
    rate = float(rng.choice(STRETCH_RATES))
    return [
        add_noise(signal, NOISE_SNR_DB, rng),
        shift(signal, fraction),
        librosa.effects.time_stretch(signal, rate=rate).astype(np.float32),
        signal[::-1].copy(),
    ]


def _features_of_copies(path: str, corpus: str, spec: FeatureSpec, seed: int, utterance: int) -> np.ndarray:
    rng = np.random.default_rng([seed, utterance])
    signal = load_audio(path, spec.sample_rate, res_type=spec.res_type)
    length = spec.length_for(corpus)
    copies = augmented_copies(signal, rng)
    return np.stack([spec.transform(fix_length(c, length, spec.align) if length else c) for c in copies])


def _compute_copies(paths: tuple, corpora: tuple, spec: FeatureSpec, seed: int, stamps: tuple, n_jobs: int,
                    progress: bool) -> np.ndarray:
    del stamps  # part of the cache key only: an edited file is recomputed
    jobs = (joblib.delayed(_features_of_copies)(p, c, spec, seed, i) for i, (p, c) in enumerate(zip(paths, corpora)))
    results = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    return np.stack(list(tqdm(results, total=len(paths), desc="augmented copies", disable=not progress)))


def augmented_features(
    manifest: pd.DataFrame,
    spec: FeatureSpec,
    *,
    seed: int = 0,
    cache_dir: str | Path | None | bool = None,
    n_jobs: int = -1,
    progress: bool = True,
) -> np.ndarray:
    """Features of the four augmented copies of every utterance: ``(N, 4, *example_shape)``.

    Compute them for the whole manifest once; each fold then uses the rows of its
    training part only (``aug[fold.train].reshape(-1, *shape)``).
    """
    if spec.segmented:
        raise ValueError("augmented_features supports fixed-length presets (tim_net, cktim_net), not segmented ones")
    compute = _compute_copies
    paths = tuple(str(p) for p in manifest["path"])
    stamps = tuple((Path(p).stat().st_size, Path(p).stat().st_mtime_ns) for p in paths)
    corpora = tuple(str(c) for c in manifest["corpus"])
    if cache_dir is not False:
        memory = joblib.Memory(default_cache_dir() if cache_dir in (None, True) else Path(cache_dir), verbose=0)
        compute = memory.cache(_compute_copies, ignore=["n_jobs", "progress"])
    return compute(paths, corpora, spec, seed, stamps, n_jobs=n_jobs, progress=progress)
