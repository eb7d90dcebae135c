"""GLAM's input: 26 MFCCs of every 1.8 s window, one window every 0.2 s (spec §2).

16 kHz audio, windows of 28,800 samples every 3,200 (1.6 s overlap, train and test alike),
librosa's default MFCC per window (n_fft 2048, hop 512, Hann, centred, 128 Slaney mels,
dB with top_db 80, orthonormal DCT-II): 26 × 57 per segment. Each segment remembers its
utterance; an utterance is scored by the mean of its segments' logits.

Utterances shorter than one window: the official code drops them (77 of EMO-DB's 535
files). ``short_policy="pad"`` (the default here) zero-pads them to one window so that
every utterance is scored; ``"drop"`` reproduces the official behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping

from ser_common.features import FeatureSpec

PRESET = FeatureSpec(
    name="glam",
    kind="mfcc",
    sample_rate=16_000,
    signal_length=None,
    n_fft=2048,
    hop_length=512,
    window="hann",
    center=True,
    pad_mode="reflect",  # GLAM's code targets librosa < 0.10, whose centred frames were reflect-padded
    n_mels=128,
    n_mfcc=26,
    layout="channels_first",
    segment_length=28_800,  # 1.8 s
    segment_hop=3_200,  # 0.2 s
    short_policy="pad",
)


def feature_spec(params: Mapping) -> FeatureSpec:
    """The preset with the notebook's ``short_policy`` (``"pad"`` or ``"drop"``)."""
    return PRESET.replace(short_policy=params.get("short_policy", "pad"))
