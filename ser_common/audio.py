"""Loading speech files the way the papers do: mono, resampled, fixed length.

The four papers feed fixed-length inputs to their networks. How a recording is
brought to that length matters (TIM-Net and Light-SERNet keep the *centre* of long
files and pad short ones on both sides), so the policy is an explicit parameter here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import librosa
import numpy as np
import soundfile as sf

Align = Literal["center", "left", "right"]
ALIGNMENTS: tuple[str, ...] = ("center", "left", "right")
#: Lower bound on a file's declared sample rate; lower values mean a damaged header.
MIN_SAMPLE_RATE = 1_000


class AudioError(ValueError):
    """A speech file could not be used: missing, unreadable, empty, damaged, too short or silent.

    The message always names the file and says what to do about it.
    """


def fix_length(signal: np.ndarray, length: int, align: Align = "center") -> np.ndarray:
    """Crop or zero-pad a 1-D signal to exactly ``length`` samples.

    Parameters
    ----------
    signal : ndarray of shape (n_samples,)
    length : int
        Target number of samples (> 0).
    align : {"center", "left", "right"}
        Which part of the signal is kept. ``"center"`` is what TIM-Net's and
        Light-SERNet's feature code do: a long signal keeps its centre window
        (start at ``(n - length) // 2``), a short one is padded on both sides with
        the odd sample on the right. ``"left"`` keeps the beginning and pads at the
        end; ``"right"`` keeps the end and pads at the beginning.

    Returns
    -------
    ndarray of shape (length,), same dtype as ``signal``.
    """
    if align not in ALIGNMENTS:
        raise ValueError(f"align={align!r} is not one of {ALIGNMENTS}")
    if int(length) != length or length <= 0:
        raise ValueError(f"length must be a positive number of samples, got {length!r}")
    length = int(length)
    signal = np.asarray(signal)
    if signal.ndim != 1:
        raise ValueError(f"fix_length expects a 1-D signal, got shape {signal.shape}")
    difference = abs(signal.shape[0] - length)  # samples to drop, or to add
    offset = {"center": difference // 2, "left": 0, "right": difference}[align]
    if signal.shape[0] >= length:
        return signal[offset : offset + length]
    return np.pad(signal, (offset, difference - offset))


def load_audio(path: str | Path, sr: int | None = 16000, *, length: int | None = None, align: Align = "center",
               min_duration: float = 0.0, res_type: str = "soxr_hq") -> np.ndarray:
    """Read a speech file as a mono float32 signal.

    Parameters
    ----------
    path : str or Path
        Any format soundfile reads (WAV, FLAC, OGG ...).
    sr : int or None
        Target sample rate; the file is resampled if needed (librosa, ``res_type``).
        ``None`` keeps the file's own rate.
    length : int or None
        If given, crop/pad the (resampled) signal to this many samples with
        :func:`fix_length` and ``align``.
    min_duration : float
        Files shorter than this many seconds (before cropping/padding) raise
        :class:`AudioError`. 0 accepts anything that is not empty.
    res_type : str
        Resampler passed to ``librosa.resample``. ``"soxr_hq"`` is librosa >= 0.10's
        default; TIM-Net's features were made with the older ``"kaiser_best"``.

    Returns
    -------
    ndarray of shape (n_samples,) or (length,), float32.

    Raises
    ------
    AudioError
        If the file is missing, unreadable/corrupt, empty, or shorter than
        ``min_duration``.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}. Check the corpus directory (see load_manifest).")
    try:
        signal, native_sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types for broken files
        raise AudioError(f"cannot decode audio file {path}: {err}. The file is corrupt or not audio; "
                         "re-download or remove it from the corpus.") from err
    if signal.shape[0] == 0:
        raise AudioError(f"audio file {path} is empty (0 samples); re-download or remove it from the corpus.")
    if native_sr < MIN_SAMPLE_RATE:
        # A damaged header: resampling 1 "Hz" audio to 16 kHz would multiply its length by 16,000.
        raise AudioError(f"audio file {path} declares a sample rate of {native_sr} Hz, below the {MIN_SAMPLE_RATE} Hz "
                         "of any speech recording: its header is damaged; re-export or remove it from the corpus.")
    signal = signal.mean(axis=1)
    if not np.all(np.isfinite(signal)):
        raise AudioError(f"audio file {path} holds {int(np.sum(~np.isfinite(signal)))} NaN or infinite sample(s); "
                         "it is damaged: re-export or remove it from the corpus.")
    duration = signal.shape[0] / native_sr
    if duration < min_duration:
        raise AudioError(f"audio file {path} lasts {duration:.3f} s, shorter than the {min_duration:g} s required; "
                         "truncated or not speech? Remove it, or lower min_duration (a FeatureSpec's min_duration_s).")
    if sr is not None and sr != native_sr:
        try:
            signal = librosa.resample(signal, orig_sr=native_sr, target_sr=sr, res_type=res_type)
        except Exception as err:  # librosa / soxr refuse some rates and lengths with several error types
            raise AudioError(f"cannot resample audio file {path} from {native_sr} Hz to {sr} Hz: {err}") from err
    if length is not None:
        signal = fix_length(signal, length, align)
    return np.ascontiguousarray(signal, dtype=np.float32)
