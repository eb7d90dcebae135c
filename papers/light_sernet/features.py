"""Light-SERNet's inputs, computed the way TensorFlow's signal ops compute them (spec §2).

The official code reads 16 kHz audio, keeps the centre 3 s (IEMOCAP: 7 s), divides by the
99.9th percentile of the absolute amplitude, clips to [-1, 1], zero-pads to the window,
then, on the fly with ``tf.signal``: a *magnitude* STFT (1024-sample periodic Hann frames
every 256, no padding), a mel filterbank built like ``linear_to_mel_weight_matrix`` (HTK
mel scale, triangles linear in mel, 128 bands from 80 to 7,600 Hz), ``log(mel + 1e-6)``
and ``mfccs_from_log_mel_spectrograms`` (DCT-II scaled by 1 / sqrt(2 · n_mels)), 40
coefficients, clipped to ±10: 184 × 40 for 3 s. Those conventions differ from librosa's
(magnitude not power, natural log with an offset, another mel bank and DCT scaling), so
:class:`TFSignalSpec` reimplements them with numpy.

Input types (``input_type``): ``mfcc`` (the default), ``mel_spectrogram`` (the 128 log-mel
bands) or ``spectrogram`` (the 513-bin magnitude STFT).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import librosa
import numpy as np
import scipy.fft

from ser_common.features import FeatureSpec

#: Window length per corpus: 3 s, except IEMOCAP's best published results, which used 7 s.
SIGNAL_LENGTHS = {"default": 48_000, "iemocap": 112_000}
INPUT_KINDS = {"mfcc": "mfcc", "mel_spectrogram": "logmel", "spectrogram": "spectrogram"}


def _hz_to_htk_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def tf_mel_weight_matrix(n_mels: int, n_bins: int, sample_rate: int, fmin: float, fmax: float) -> np.ndarray:
    """Mel filterbank as ``tf.signal.linear_to_mel_weight_matrix`` builds it, shape ``(n_bins, n_mels)``.

    HTK mel scale; triangles are linear in *mel* (librosa's are linear in Hz); no area
    normalisation; the DC bin gets zero weight.
    """
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin={fmin}, fmax={fmax}, sample_rate={sample_rate}")
    bin_mels = _hz_to_htk_mel(np.linspace(0.0, sample_rate / 2, n_bins)[1:])[:, None]
    edges = np.linspace(_hz_to_htk_mel(fmin), _hz_to_htk_mel(fmax), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0.0, np.minimum((bin_mels - lower) / (centre - lower), (upper - bin_mels) / (upper - centre)))
    return np.pad(weights, [(1, 0), (0, 0)]).astype(np.float32)


@dataclass(frozen=True)
class TFSignalSpec(FeatureSpec):
    """A :class:`~ser_common.features.FeatureSpec` whose ``transform`` follows ``tf.signal``.

    ``kind="mfcc"``: MFCCs as above; ``"logmel"``: ``log(mel + log_offset)``;
    ``"spectrogram"``: the magnitude STFT. ``clip`` bounds the result.
    """

    log_offset: float = 1e-6
    clip: float | None = 10.0

    def transform(self, signal: np.ndarray) -> np.ndarray:
        frame = self.win_length or self.n_fft
        if signal.shape[-1] < frame:
            raise ValueError(f"signal of {signal.shape[-1]} samples is shorter than one frame ({frame})")
        magnitude = np.abs(librosa.stft(signal, n_fft=self.n_fft, hop_length=self.hop_length, win_length=frame,
                                        window="hann", center=False))
        if self.kind == "spectrogram":
            out = magnitude
        else:
            fmax = self.fmax if self.fmax is not None else self.sample_rate / 2
            weights = tf_mel_weight_matrix(self.n_mels, magnitude.shape[-2], self.sample_rate, self.fmin, fmax)
            out = np.log(np.einsum("...ft,fm->...mt", magnitude, weights) + self.log_offset)
            if self.kind == "mfcc":
                out = scipy.fft.dct(out, type=2, axis=-2)[..., : self.n_mfcc, :] / np.sqrt(2.0 * self.n_mels)
        if self.clip is not None:
            out = np.clip(out, -self.clip, self.clip)
        if self.layout == "time_major":
            out = np.swapaxes(out, -1, -2)
        return np.ascontiguousarray(out, dtype=np.float32)


PRESET = TFSignalSpec(
    name="light_sernet",
    kind="mfcc",
    sample_rate=16_000,
    signal_length=SIGNAL_LENGTHS,
    align="center",
    normalize_percentile=99.9,
    n_fft=1024,
    hop_length=256,
    win_length=1024,
    window="hann",
    center=False,
    n_mels=128,
    fmin=80.0,
    fmax=7_600.0,
    n_mfcc=40,
    layout="time_major",
    notes="The official code does not resample (its corpora are 16 kHz); we resample other rates to 16 kHz.",
)


def feature_spec(params: Mapping) -> TFSignalSpec:
    """The preset for the notebook's ``input_type`` and ``duration_s`` (None: 3 s, IEMOCAP 7 s)."""
    spec = PRESET.replace(kind=INPUT_KINDS[params.get("input_type", "mfcc")])
    duration = params.get("duration_s")
    return spec if duration is None else spec.replace(signal_length=int(round(duration * spec.sample_rate)))
