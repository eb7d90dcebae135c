"""TIM-Net's input: 39 MFCCs exactly as the official ``extract_feature.py`` computes them.

Resample to 22,050 Hz, keep the centre of a per-corpus window (shorter files are padded
on both sides), then librosa's default MFCC: 2048-point Hann frames every 512 samples,
128 Slaney mel bands, 39 coefficients, no deltas, no normalisation -> T x 39 (EMO-DB
188 x 39). The paper's "50 ms / 12.5 ms Hamming" is not what the code does.
"""

from __future__ import annotations

from collections.abc import Mapping

from ser_common.features import FeatureSpec

#: ``mean_signal_length`` per corpus in the official code (samples at 22,050 Hz). The
#: synthetic corpus imitates EMO-DB and gets its window.
SIGNAL_LENGTHS = {"casia": 88_000, "emodb": 96_000, "emovo": 96_000, "iemocap": 310_000, "ravdess": 110_000,
                  "savee": 130_000, "synthetic": 96_000}

PRESET = FeatureSpec(
    name="tim_net",
    kind="mfcc",
    sample_rate=22_050,
    signal_length=SIGNAL_LENGTHS,
    align="center",
    n_fft=2048,
    hop_length=512,
    window="hann",
    center=True,
    # The official features were made with librosa 0.8/0.9, whose centred frames were
    # padded by reflection; librosa >= 0.10 pads with zeros by default.
    pad_mode="reflect",
    n_mels=128,
    n_mfcc=39,
    layout="time_major",
    notes="Resampling uses soxr_hq (the official librosa <= 0.9 used kaiser_best).",
)


def feature_spec(params: Mapping) -> FeatureSpec:
    """The spec for a notebook's parameters (TIM-Net has no feature options)."""
    return PRESET
