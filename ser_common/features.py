"""Acoustic features, one named preset per paper, extracted in parallel and cached.

Three building blocks, every parameter explicit (numpy in, numpy out, shape ``(F, T)``):

* :func:`mfcc` – librosa MFCCs (power mel spectrogram -> dB -> orthonormal DCT-II);
* :func:`log_mel_spectrogram` – librosa mel spectrogram in dB;
* :func:`linear_spectrogram` – librosa STFT power in dB.

Light-SERNet computes its MFCCs with TensorFlow's signal ops, whose conventions
differ from librosa's (magnitude not power, HTK mel triangles built in the mel
domain, natural log with an offset, DCT scaled by 1/sqrt(2N), clipping).
:func:`tf_style_log_mel` and :func:`tf_style_mfcc` reproduce them with numpy.

A :class:`FeatureSpec` bundles every choice (sample rate, fixed length, crop/pad
alignment, framing, mel bank, layout, segmentation). :data:`FEATURE_PRESETS` holds
one spec per paper, reproducing what its official code computes (see
``../shared/papers/*.md`` §2):

=============  ===================================================================
``tim_net``    22,050 Hz, centre crop/pad to a per-corpus length (EMO-DB 96,000),
               39 MFCC with librosa's defaults (n_fft 2048, hop 512, Hann, 128
               mels); T x 39 (EMO-DB 188 x 39)
``cktim_net``  the same features, channels first: 39 x T
``glam``       16 kHz, 1.8 s segments every 0.2 s, 26 MFCC (librosa defaults)
               per segment: 26 x 57 per segment
``light_sernet`` 16 kHz, centre crop/pad to 3 s (IEMOCAP 7 s), 99.9th-percentile
               amplitude normalisation, 40 TF-style MFCC from a 1024/256 magnitude
               STFT, 128 HTK mels 80-7,600 Hz, clipped to +-10: 184 x 40
=============  ===================================================================

:func:`extract_features` runs a spec over a whole manifest in parallel (joblib, with
a tqdm bar) and caches the result on disk keyed by the file list, each file's size
and modification time, every spec field and the librosa/numpy versions.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import joblib
import librosa
import numpy as np
import pandas as pd
import scipy.fft
from tqdm.auto import tqdm

from ser_common.audio import AudioError, fix_length, load_audio

Kind = Literal["mfcc", "logmel", "spectrogram"]
Recipe = Literal["librosa", "tensorflow"]
Layout = Literal["time_major", "channels_first"]
ShortPolicy = Literal["tile", "pad", "drop", "error"]


# --------------------------------------------------------------------------- #
# Building blocks (librosa conventions)
# --------------------------------------------------------------------------- #
def linear_spectrogram(
    signal: np.ndarray,
    *,
    n_fft: int,
    hop_length: int,
    win_length: int | None,
    window: str,
    center: bool,
    pad_mode: str,
    top_db: float | None,
) -> np.ndarray:
    """STFT power spectrogram in dB, shape ``(1 + n_fft // 2, n_frames)``.

    ``power_to_db`` uses ``ref=1.0``, ``amin=1e-10`` and the given ``top_db``.
    """
    stft = librosa.stft(
        signal, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window, center=center, pad_mode=pad_mode
    )
    return librosa.power_to_db(np.abs(stft) ** 2, top_db=top_db).astype(np.float32)


def log_mel_spectrogram(
    signal: np.ndarray,
    *,
    sample_rate: int,
    n_fft: int,
    hop_length: int,
    win_length: int | None,
    window: str,
    center: bool,
    pad_mode: str,
    power: float,
    n_mels: int,
    fmin: float,
    fmax: float | None,
    htk: bool,
    mel_norm: str | None,
    top_db: float | None,
) -> np.ndarray:
    """Mel spectrogram in dB (``power_to_db``, ref 1.0), shape ``(n_mels, n_frames)``."""
    mel = librosa.feature.melspectrogram(
        y=signal,
        sr=sample_rate,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=center,
        pad_mode=pad_mode,
        power=power,
        n_mels=n_mels,
        fmin=fmin,
        fmax=fmax,
        htk=htk,
        norm=mel_norm,
    )
    return librosa.power_to_db(mel, top_db=top_db).astype(np.float32)


def mfcc(
    signal: np.ndarray,
    *,
    sample_rate: int,
    n_mfcc: int,
    n_fft: int,
    hop_length: int,
    win_length: int | None,
    window: str,
    center: bool,
    pad_mode: str,
    n_mels: int,
    fmin: float,
    fmax: float | None,
    htk: bool,
    mel_norm: str | None,
    top_db: float | None,
) -> np.ndarray:
    """MFCCs as ``librosa.feature.mfcc`` computes them, shape ``(n_mfcc, n_frames)``.

    Power mel spectrogram -> dB (ref 1.0, amin 1e-10, ``top_db``) -> orthonormal
    DCT-II, first ``n_mfcc`` coefficients. No deltas, no normalisation.
    """
    log_mel = log_mel_spectrogram(
        signal,
        sample_rate=sample_rate,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=center,
        pad_mode=pad_mode,
        power=2.0,
        n_mels=n_mels,
        fmin=fmin,
        fmax=fmax,
        htk=htk,
        mel_norm=mel_norm,
        top_db=top_db,
    )
    return librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc, dct_type=2, norm="ortho").astype(np.float32)


# --------------------------------------------------------------------------- #
# Building blocks (TensorFlow signal-op conventions, used by Light-SERNet)
# --------------------------------------------------------------------------- #
def _hz_to_htk_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def tf_mel_weight_matrix(
    n_mels: int, n_spectrogram_bins: int, sample_rate: int, fmin: float, fmax: float
) -> np.ndarray:
    """Mel filterbank as ``tf.signal.linear_to_mel_weight_matrix`` builds it.

    HTK mel scale; triangles are linear in *mel* (librosa's are linear in Hz); no
    area normalisation; the DC bin gets zero weight. Shape ``(n_spectrogram_bins, n_mels)``.
    """
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin={fmin}, fmax={fmax}, sample_rate={sample_rate}")
    bin_mels = _hz_to_htk_mel(np.linspace(0.0, sample_rate / 2, n_spectrogram_bins)[1:])[:, None]
    edges = np.linspace(_hz_to_htk_mel(fmin), _hz_to_htk_mel(fmax), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mels - lower) / (centre - lower)
    falling = (upper - bin_mels) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, [(1, 0), (0, 0)]).astype(np.float32)


def tf_style_log_mel(
    signal: np.ndarray,
    *,
    sample_rate: int,
    frame_length: int,
    frame_step: int,
    fft_length: int,
    n_mels: int,
    fmin: float,
    fmax: float,
    log_offset: float,
) -> np.ndarray:
    """``log(mel(|STFT|) + log_offset)`` as Light-SERNet computes it with tf.signal.

    Frames without padding (``pad_end=False``), periodic Hann window, *magnitude*
    spectrogram, :func:`tf_mel_weight_matrix`, natural log. Shape ``(n_mels, n_frames)``.
    """
    if signal.shape[-1] < frame_length:
        raise ValueError(f"signal of {signal.shape[-1]} samples is shorter than one frame ({frame_length})")
    magnitude = np.abs(
        librosa.stft(signal, n_fft=fft_length, hop_length=frame_step, win_length=frame_length, window="hann", center=False)
    )
    weights = tf_mel_weight_matrix(n_mels, magnitude.shape[-2], sample_rate, fmin, fmax)
    mel = np.einsum("...ft,fm->...mt", magnitude, weights)
    return np.log(mel + log_offset).astype(np.float32)


def tf_style_mfcc(
    signal: np.ndarray,
    *,
    sample_rate: int,
    n_mfcc: int,
    frame_length: int,
    frame_step: int,
    fft_length: int,
    n_mels: int,
    fmin: float,
    fmax: float,
    log_offset: float,
    clip: float | None,
) -> np.ndarray:
    """MFCCs as ``tf.signal.mfccs_from_log_mel_spectrograms`` computes them.

    Unnormalised DCT-II of :func:`tf_style_log_mel` times ``1 / sqrt(2 * n_mels)``
    (the HTK-style scaling TF uses), first ``n_mfcc`` coefficients, optionally
    clipped to ``[-clip, clip]``. Shape ``(n_mfcc, n_frames)``.
    """
    log_mel = tf_style_log_mel(
        signal,
        sample_rate=sample_rate,
        frame_length=frame_length,
        frame_step=frame_step,
        fft_length=fft_length,
        n_mels=n_mels,
        fmin=fmin,
        fmax=fmax,
        log_offset=log_offset,
    )
    coefficients = scipy.fft.dct(log_mel, type=2, axis=-2)[..., :n_mfcc, :] / np.sqrt(2.0 * n_mels)
    if clip is not None:
        coefficients = np.clip(coefficients, -clip, clip)
    return coefficients.astype(np.float32)


def percentile_normalize(signal: np.ndarray, percentile: float, *, source: str = "signal") -> np.ndarray:
    """Divide by the ``percentile`` of ``|signal|`` and clip to [-1, 1] (Light-SERNet)."""
    scale = float(np.percentile(np.abs(signal), percentile))
    if scale <= 0.0:
        raise AudioError(f"{source} is silent (its {percentile}th amplitude percentile is 0); cannot normalise it")
    return np.clip(signal / scale, -1.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------- #
# Feature specifications and the per-paper presets
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class FeatureSpec:
    """Every choice that turns a recording into a feature matrix.

    Change a field with :func:`dataclasses.replace` (or :meth:`replace`); every
    field takes part in the cache key, so a changed field never returns stale
    features.

    Attributes
    ----------
    name : str
        Label shown in tables (e.g. the preset name).
    kind : {"mfcc", "logmel", "spectrogram"}
    recipe : {"librosa", "tensorflow"}
        Whose DSP conventions to follow (see the module docstring).
    sample_rate : int
        Audio is resampled to this rate first.
    signal_length : int, mapping or None
        Fixed length in samples after resampling, or a mapping corpus -> length
        (key ``"default"`` for the others), or None to keep the full signal.
    align : {"center", "left", "right"}
        Crop/pad policy for ``signal_length`` (see :func:`ser_common.audio.fix_length`).
    normalize_percentile : float or None
        If set, divide the (cropped) signal by this percentile of its absolute
        amplitude and clip to [-1, 1] *before* padding (Light-SERNet: 99.9).
    n_fft, hop_length, win_length, window, center, pad_mode
        Framing. For the ``tensorflow`` recipe ``center`` must be False and the
        window Hann (``tf.signal.stft`` with ``pad_end=False``).
    n_mels, fmin, fmax, htk, mel_norm
        Mel filterbank (``htk``/``mel_norm`` only for the librosa recipe).
    n_mfcc : int
        Number of cepstral coefficients (``kind="mfcc"``).
    top_db : float or None
        Dynamic-range floor of ``power_to_db`` (librosa recipe).
    log_offset : float
        Offset inside the natural log (tensorflow recipe).
    clip : float or None
        Clip features to ``[-clip, clip]`` (tensorflow recipe; Light-SERNet: 10).
    layout : {"time_major", "channels_first"}
        ``(T, F)`` or ``(F, T)`` per example.
    segment_length, segment_hop : int or None
        If set (samples), each recording is cut into windows of ``segment_length``
        every ``segment_hop`` samples (GLAM) and every window is one example.
        A tail shorter than a window is dropped, as in GLAM's code.
    short_policy : {"tile", "pad", "drop", "error"}
        With segmentation, what to do with recordings shorter than one window:
        repeat them until they fill it (GLAM's ``--padding`` option), zero-pad
        them (centre), drop them (GLAM's default; reported with a warning), or raise.
    res_type : str
        Resampler for ``librosa.resample``.
    """

    name: str
    kind: Kind
    recipe: Recipe
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
    log_offset: float = 1e-6
    clip: float | None = None
    layout: Layout = "time_major"
    segment_length: int | None = None
    segment_hop: int | None = None
    short_policy: ShortPolicy = "tile"
    res_type: str = "soxr_hq"
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        checks = {
            "kind": (self.kind, ("mfcc", "logmel", "spectrogram")),
            "recipe": (self.recipe, ("librosa", "tensorflow")),
            "layout": (self.layout, ("time_major", "channels_first")),
            "short_policy": (self.short_policy, ("tile", "pad", "drop", "error")),
            "align": (self.align, ("center", "left", "right")),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"FeatureSpec.{name}={value!r} is not one of {allowed}")
        if (self.segment_length is None) != (self.segment_hop is None):
            raise ValueError("FeatureSpec.segment_length and segment_hop must be given together")
        if self.recipe == "tensorflow" and (self.center or self.window != "hann"):
            raise ValueError("the tensorflow recipe frames like tf.signal.stft: use center=False and window='hann'")
        if isinstance(self.signal_length, Mapping):
            # Freeze the mapping so the spec stays hashable and cache keys are stable.
            object.__setattr__(self, "signal_length", tuple(sorted(self.signal_length.items())))

    def replace(self, **changes: Any) -> FeatureSpec:
        """A copy with some fields changed (``dataclasses.replace``)."""
        if isinstance(changes.get("signal_length"), tuple):
            changes["signal_length"] = dict(changes["signal_length"])
        current = dataclasses.asdict(self)
        if isinstance(current["signal_length"], tuple):
            current["signal_length"] = dict(current["signal_length"])
        current.update(changes)
        return FeatureSpec(**current)

    @property
    def segmented(self) -> bool:
        return self.segment_length is not None

    def length_for(self, corpus: str | None) -> int | None:
        """Fixed signal length (samples) for a corpus, or None for full length."""
        if self.signal_length is None or isinstance(self.signal_length, int):
            return self.signal_length
        lengths = dict(self.signal_length)
        if corpus in lengths:
            return lengths[corpus]
        if "default" in lengths:
            return lengths["default"]
        raise ValueError(
            f"feature spec {self.name!r} has no signal length for corpus {corpus!r} "
            f"(known: {sorted(lengths)}); use spec.replace(signal_length=...)"
        )

    def n_frames(self, n_samples: int) -> int:
        """Frames produced from ``n_samples`` samples."""
        if self.center:
            return 1 + n_samples // self.hop_length
        frame = self.win_length or self.n_fft
        return 1 + (n_samples - frame) // self.hop_length

    def output_shape(self, corpus: str | None = None) -> tuple[int, int]:
        """Shape of one example, e.g. ``(188, 39)`` for TIM-Net on EMO-DB."""
        n_samples = self.segment_length if self.segmented else self.length_for(corpus)
        if n_samples is None:
            raise ValueError(f"spec {self.name!r} keeps full-length signals: the frame count varies per file")
        n_features = {"mfcc": self.n_mfcc, "logmel": self.n_mels, "spectrogram": 1 + self.n_fft // 2}[self.kind]
        frames = self.n_frames(n_samples)
        return (frames, n_features) if self.layout == "time_major" else (n_features, frames)

    def describe(self) -> pd.Series:
        """The spec as a readable one-column table (for notebooks)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "notes"}
        if isinstance(values["signal_length"], tuple):
            values["signal_length"] = ", ".join(f"{k}: {v}" for k, v in values["signal_length"])
        return pd.Series({k: str(v) for k, v in values.items()}, name=self.name)

    # -- the computation --------------------------------------------------- #
    def transform(self, signal: np.ndarray) -> np.ndarray:
        """Features of one prepared (resampled, cropped/padded) signal, in ``layout``.

        ``signal`` may also be 2-D ``(n_segments, n_samples)``; the result then has
        a leading segment axis.
        """
        if self.recipe == "tensorflow":
            tf_args = dict(
                sample_rate=self.sample_rate,
                frame_length=self.win_length or self.n_fft,
                frame_step=self.hop_length,
                fft_length=self.n_fft,
                n_mels=self.n_mels,
                fmin=self.fmin,
                fmax=self.fmax if self.fmax is not None else self.sample_rate / 2,
                log_offset=self.log_offset,
            )
            if self.kind == "mfcc":
                out = tf_style_mfcc(signal, n_mfcc=self.n_mfcc, clip=self.clip, **tf_args)
            elif self.kind == "logmel":
                out = tf_style_log_mel(signal, **tf_args)
            else:  # Light-SERNet's "spectrogram" input: the plain STFT magnitude
                out = np.abs(
                    librosa.stft(signal, n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                                 window="hann", center=False)
                ).astype(np.float32)
            if self.clip is not None and self.kind != "mfcc":
                out = np.clip(out, -self.clip, self.clip)
        else:
            framing = dict(
                n_fft=self.n_fft,
                hop_length=self.hop_length,
                win_length=self.win_length,
                window=self.window,
                center=self.center,
                pad_mode=self.pad_mode,
            )
            mel = dict(
                sample_rate=self.sample_rate, n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax, htk=self.htk,
                mel_norm=self.mel_norm,
            )
            if self.kind == "mfcc":
                out = mfcc(signal, n_mfcc=self.n_mfcc, top_db=self.top_db, **framing, **mel)
            elif self.kind == "logmel":
                out = log_mel_spectrogram(signal, power=2.0, top_db=self.top_db, **framing, **mel)
            else:
                out = linear_spectrogram(signal, top_db=self.top_db, **framing)
        if self.layout == "time_major":
            out = np.swapaxes(out, -1, -2)
        return np.ascontiguousarray(out, dtype=np.float32)

    def prepare_signal(self, path: str | Path, corpus: str | None = None) -> np.ndarray:
        """Load a file and bring it to this spec's rate, length and amplitude.

        Returns a 1-D signal, or ``(n_segments, segment_length)`` when segmented.
        Raises :class:`~ser_common.audio.AudioError` naming the file on bad audio.
        """
        signal = load_audio(path, self.sample_rate, res_type=self.res_type)
        length = self.length_for(corpus) if not self.segmented else None
        if length is not None:
            # Light-SERNet normalises the cropped signal before padding, so the
            # zeros of the padding do not change the percentile.
            if signal.shape[0] > length:
                signal = fix_length(signal, length, self.align)
            if self.normalize_percentile is not None:
                signal = percentile_normalize(signal, self.normalize_percentile, source=str(path))
            signal = fix_length(signal, length, self.align)
        elif self.normalize_percentile is not None:
            signal = percentile_normalize(signal, self.normalize_percentile, source=str(path))
        if self.segmented:
            return self.segment(signal, source=str(path))
        return signal

    def segment(self, signal: np.ndarray, *, source: str = "signal") -> np.ndarray:
        """Cut a signal into ``(n_segments, segment_length)`` windows (GLAM)."""
        assert self.segment_length is not None and self.segment_hop is not None
        window, hop = self.segment_length, self.segment_hop
        if signal.shape[0] < window:
            if self.short_policy == "error":
                raise AudioError(
                    f"{source} lasts {signal.shape[0] / self.sample_rate:.2f} s, shorter than one "
                    f"{window / self.sample_rate:.2f} s segment; choose short_policy 'tile', 'pad' or 'drop'"
                )
            if self.short_policy == "drop":
                return np.zeros((0, window), dtype=np.float32)
            if self.short_policy == "tile":
                signal = np.tile(signal, int(np.ceil(window / signal.shape[0])))[:window]
            else:
                signal = fix_length(signal, window, "center")
        n_segments = 1 + (signal.shape[0] - window) // hop
        starts = np.arange(n_segments) * hop
        return np.stack([signal[s : s + window] for s in starts]).astype(np.float32)

    def features_of(self, path: str | Path, corpus: str | None = None) -> np.ndarray:
        """Load one file and compute its features (one example, or a stack of segments)."""
        prepared = self.prepare_signal(path, corpus)
        if prepared.ndim == 2 and prepared.shape[0] == 0:  # a short utterance dropped by short_policy="drop"
            return np.zeros((0, *self.output_shape(corpus)), dtype=np.float32)
        return self.transform(prepared)


_TIM_NET_LENGTHS = {
    # mean_signal_length per corpus in TIM-Net's extract_feature.py (22,050 Hz samples).
    "casia": 88_000,
    "emodb": 96_000,
    "emovo": 96_000,
    "iemocap": 310_000,
    "ravdess": 110_000,
    "savee": 130_000,
    # not in TIM-Net; the synthetic corpus imitates EMO-DB, so it gets EMO-DB's window.
    "synthetic": 96_000,
}

_TIM_NET = FeatureSpec(
    name="tim_net",
    kind="mfcc",
    recipe="librosa",
    sample_rate=22_050,
    signal_length=_TIM_NET_LENGTHS,
    align="center",
    n_fft=2048,
    hop_length=512,
    window="hann",
    center=True,
    # The official features were made with librosa 0.8/0.9, whose STFT padded
    # centred frames by reflection; librosa >= 0.10 pads with zeros by default.
    pad_mode="reflect",
    n_mels=128,
    n_mfcc=39,
    layout="time_major",
    notes=(
        "TIM-Net's extract_feature.py: librosa defaults (n_fft 2048 / hop 512 Hann, 128 Slaney mels), "
        "39 MFCC, centre crop/pad per corpus. The paper's '50 ms / 12.5 ms Hamming' is not what the code does. "
        "Resampling uses soxr_hq (the official librosa <= 0.9 used kaiser_best)."
    ),
)

FEATURE_PRESETS: dict[str, FeatureSpec] = {
    "tim_net": _TIM_NET,
    "cktim_net": _TIM_NET.replace(
        name="cktim_net",
        layout="channels_first",
        notes="CkTIM-Net reuses TIM-Net's MFCC files, transposed to channels-first 39 x T.",
    ),
    "glam": FeatureSpec(
        name="glam",
        kind="mfcc",
        recipe="librosa",
        sample_rate=16_000,
        signal_length=None,
        n_fft=2048,
        hop_length=512,
        window="hann",
        center=True,
        pad_mode="reflect",  # GLAM's code targets librosa < 0.10 (positional mfcc call)
        n_mels=128,
        n_mfcc=26,
        layout="channels_first",
        segment_length=28_800,  # 1.8 s
        segment_hop=3_200,  # 0.2 s (1.6 s overlap), train and test alike
        short_policy="tile",
        notes=(
            "GLAM's process.py: 1.8 s segments every 0.2 s, 26 MFCC (librosa defaults) per segment -> 26 x 57. "
            "GLAM drops utterances shorter than 1.8 s by default (77 of EMO-DB's 535); this preset tiles them "
            "instead, GLAM's own --padding option. Use short_policy='drop' to reproduce the default."
        ),
    ),
    "light_sernet": FeatureSpec(
        name="light_sernet",
        kind="mfcc",
        recipe="tensorflow",
        sample_rate=16_000,
        signal_length={"default": 48_000, "iemocap": 112_000},  # 3 s; IEMOCAP's best results used 7 s
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
        log_offset=1e-6,
        clip=10.0,
        layout="time_major",
        notes=(
            "Light-SERNet's dataio.py: centre crop/pad to 3 s (IEMOCAP 7 s), 99.9th-percentile normalisation, "
            "tf.signal MFCC (magnitude STFT 1024/256 Hann, 128 HTK mels 80-7600 Hz, log(+1e-6), 40 coefficients, "
            "clip +-10) -> 184 x 40. The official code does not resample; we resample to 16 kHz."
        ),
    ),
}


def get_spec(preset: str | FeatureSpec) -> FeatureSpec:
    """Resolve a preset name (or pass a spec through)."""
    if isinstance(preset, FeatureSpec):
        return preset
    try:
        return FEATURE_PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown feature preset {preset!r}; choose one of {sorted(FEATURE_PRESETS)} or pass a FeatureSpec") from None


# --------------------------------------------------------------------------- #
# Whole-manifest extraction with caching
# --------------------------------------------------------------------------- #
def _file_stamps(paths: list[str]) -> tuple[tuple[str, int, int], ...]:
    stamps = []
    for path in paths:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise AudioError(f"audio file listed in the manifest does not exist: {path}") from None
        stamps.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


def _extract_all(
    file_stamps: tuple[tuple[str, int, int], ...],
    spec: FeatureSpec,
    corpora: tuple[str, ...],
    library_versions: tuple[str, ...],
    n_jobs: int,
    progress: bool,
) -> list[np.ndarray]:
    """Features for every file (the cached unit of work)."""
    del library_versions  # part of the cache key only
    jobs = (joblib.delayed(spec.features_of)(path, corpus) for (path, _, _), corpus in zip(file_stamps, corpora))
    results = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    return list(
        tqdm(results, total=len(file_stamps), desc=f"features ({spec.name})", disable=not progress, unit="file")
    )


def default_cache_dir() -> Path:
    """``$SER_CACHE_DIR`` if set, else ``./cache``."""
    return Path(os.environ.get("SER_CACHE_DIR", "cache"))


def extract_features(
    manifest: pd.DataFrame,
    preset: str | FeatureSpec = "tim_net",
    *,
    cache_dir: str | Path | None | bool = None,
    n_jobs: int = -1,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Compute one feature preset for every file of a manifest.

    Parameters
    ----------
    manifest : DataFrame
        From :func:`ser_common.load_manifest`: needs ``path``, ``label`` (categorical
        in the corpus class order) and ``corpus``.
    preset : str or FeatureSpec
        A key of :data:`FEATURE_PRESETS` or a custom spec.
    cache_dir : path, None or False
        Where joblib caches the features (None: :func:`default_cache_dir`; False:
        no cache). The key covers each file's path, size and modification time,
        every spec field and the librosa/numpy versions, so an edited file or a
        changed parameter is recomputed, never served stale.
    n_jobs : int
        joblib worker processes (-1: all cores).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    X : ndarray, float32
        ``(N, T, F)`` or ``(N, F, T)`` per the spec's layout; for segmented specs
        one row per segment.
    y : ndarray, int64
        Class index of each row (the manifest's label categories).
    manifest : DataFrame
        The rows ``X`` describes, index reset. For segmented specs one row per
        segment, with columns ``utterance`` (row number in the input manifest) and
        ``segment`` (position within the utterance); utterances dropped by
        ``short_policy="drop"`` are listed in a warning.
    """
    spec = get_spec(preset)
    for column in ("path", "label", "corpus"):
        if column not in manifest.columns:
            raise ValueError(f"manifest has no {column!r} column; build it with ser_common.load_manifest")
    if len(manifest) == 0:
        raise ValueError("manifest is empty: nothing to extract")
    if not isinstance(manifest["label"].dtype, pd.CategoricalDtype):
        raise ValueError("manifest['label'] must be categorical in the corpus class order (as load_manifest returns it)")
    manifest = manifest.reset_index(drop=True)
    paths = [str(p) for p in manifest["path"]]
    stamps = _file_stamps(paths)
    versions = (f"librosa {librosa.__version__}", f"numpy {np.__version__}", f"scipy {scipy.__version__}")
    corpora = tuple(str(c) for c in manifest["corpus"])

    compute = _extract_all
    if cache_dir is not False:
        memory = joblib.Memory(default_cache_dir() if cache_dir in (None, True) else Path(cache_dir), verbose=0)
        compute = memory.cache(_extract_all, ignore=["n_jobs", "progress"])
    per_file = compute(stamps, spec, corpora, versions, n_jobs=n_jobs, progress=progress)
    y_utt = manifest["label"].cat.codes.to_numpy().astype(np.int64)

    if not spec.segmented:
        shapes = {f.shape for f in per_file}
        if len(shapes) > 1:
            raise ValueError(
                f"feature spec {spec.name!r} gives examples of different shapes {sorted(shapes)[:3]}...; "
                "set signal_length (fixed-length crop/pad) so they can be stacked"
            )
        return np.stack(per_file), y_utt, manifest

    counts = np.array([f.shape[0] for f in per_file])
    dropped = np.flatnonzero(counts == 0)
    if dropped.size:
        names = [Path(paths[i]).name for i in dropped[:5]]
        warnings.warn(
            f"{dropped.size} of {len(paths)} utterances are shorter than one {spec.segment_length / spec.sample_rate:.2f} s "
            f"segment and were dropped (short_policy='drop'), e.g. {names}",
            stacklevel=2,
        )
    utterance = np.repeat(np.arange(len(manifest)), counts)
    segments = manifest.iloc[utterance].reset_index(drop=True)
    segments.insert(0, "utterance", utterance)
    segments.insert(1, "segment", np.concatenate([np.arange(c) for c in counts]))
    X = np.concatenate([f for f in per_file if f.shape[0]], axis=0)
    return X, y_utt[utterance], segments
