"""A small synthetic emotional-speech corpus, laid out like EMO-DB, made without any download.

:func:`make_synthetic` writes real 16-bit mono WAV files named exactly like the Berlin
Emotional Speech Database (EMO-DB), ``<root>/wav/SSTTTEV.wav``, so the very same parser
reads both corpora:

* ``SS``  speaker code, taken from EMO-DB's ten speakers (see :data:`SYNTHETIC_SPEAKERS`),
* ``TTT`` text code, one of EMO-DB's ten sentence codes (one per utterance index),
* ``E``   emotion letter (German initials: W angry, L boredom, E disgust, A fear,
  F happy, T sad, N neutral),
* ``V``   version letter, always ``a``.

The files are *not* speech: nobody says any words. They are buzzes shaped like speech by
the **source-filter model**, the usual textbook account of the voice:

1. **Source.** The vocal folds close F0 times a second: one pulse per glottal cycle along
   a pitch contour, smoothed by a low-pass whose corner frequency sets the *spectral
   tilt* (a tense voice is bright, a lax one dark), plus aspiration noise (breathiness).
2. **Filter.** Each syllable's vowel (a, e, i, o, u) resonates at its formant
   frequencies; a shorter (typically female) vocal tract raises them all.
3. **Prosody.** Syllables have a loudness envelope and a pitch accent; pauses may follow
   them; a little background noise is added, as in any recording.

**Speakers** differ in pitch (male about 100-130 Hz, female about 190-230 Hz), formants
(female 12-22 % higher), speaking rate, recording level and noise floor.

**Emotions** differ as in :data:`EMOTION_PROFILES` (compared with neutral): angry is the
loudest (+9 dB), brightest and fast with high, wide-ranging pitch; happy is loud, bright,
with the widest pitch range; fear has the highest pitch, is fast and breathy; sad is the
quietest (-6 dB), darkest, slowest, low and flat; boredom is quiet, dark, slow, with the
lowest, flattest pitch; disgust is dark and slowish with a low, falling pitch. Levels are
set on the RMS, so the files really differ in loudness (they are not peak-normalised).
As in acted speech the classes overlap (angry/happy, sad/boredom), and every utterance
draws its own variation around its emotion's profile.

With the defaults, a speaker-independent baseline (mean of 20 MFCCs, standardised,
logistic regression, leave-one-speaker-out) reaches about 49 % accuracy (measured: 48.8,
50.4 and 48.8 % for seeds 0, 1 and 2; chance is 14 %): learnable, far from trivial.
``tests/test_synthetic.py`` measures it for seed 0.

Everything is deterministic: each file's random numbers come from
``numpy.random.default_rng`` seeded with ``(seed, speaker, emotion, utterance)``, so a file
does not depend on which other files were generated or in what order.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import soundfile as sf
from scipy import signal

__all__ = ["EMOTION_LETTERS", "EMOTION_PROFILES", "FORMAT_VERSION", "MANIFEST_NAME", "SYNTHETIC_SPEAKERS", "TEXT_CODES",
           "EmotionProfile", "make_synthetic"]

#: Bumped whenever a change to this module changes the generated audio, so that an old
#: corpus on disk is recognised as different instead of being silently reused.
FORMAT_VERSION = 2

#: Name of the file, directly under the corpus root, that records the generator parameters.
MANIFEST_NAME = "synthetic.json"

#: EMO-DB speaker codes and genders ("m"/"f", as EMO-DB documents them), in the order
#: ``make_synthetic`` uses them: genders alternate, so the default 6 speakers are 3 + 3.
SYNTHETIC_SPEAKERS: Mapping[str, str] = MappingProxyType({"03": "m", "08": "f", "10": "m", "09": "f", "11": "m",
                                                          "13": "f", "12": "m", "14": "f", "15": "m", "16": "f"})

#: EMO-DB text codes; utterance index ``i`` uses ``TEXT_CODES[i]``.
TEXT_CODES: tuple[str, ...] = ("a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10")

#: EMO-DB emotion letters and the English class names (those of ``ser_common.corpora``).
EMOTION_LETTERS: Mapping[str, str] = MappingProxyType({"W": "angry", "L": "boredom", "E": "disgust", "A": "fear",
                                                       "F": "happy", "T": "sad", "N": "neutral"})


class EmotionProfile(NamedTuple):
    """How one emotion shapes the voice: the mean of each generator parameter."""

    f0_shift_st: float  # mean pitch relative to the speaker's own, in semitones
    f0_range_st: float  # height of the pitch accents, in semitones
    f0_slope_st: float  # pitch trend over the utterance, in semitones (negative = falling)
    syllable_rate: float  # syllables per second
    pause_prob: float  # probability of a pause after a syllable
    level_db: float  # RMS level relative to neutral, in dB
    corner_hz: float  # glottal low-pass corner: higher = brighter ("pressed") voice
    breathiness: float  # aspiration noise relative to the voiced source


#: Mean generator parameters of each emotion, keyed by EMO-DB letter (read-only).
EMOTION_PROFILES: Mapping[str, EmotionProfile] = MappingProxyType({
    "W": EmotionProfile(4.5, 5.0, -1.5, 5.3, 0.15, 9.0, 520.0, 0.04),
    "L": EmotionProfile(-2.5, 1.2, -4.0, 3.8, 0.30, -3.5, 200.0, 0.09),
    "E": EmotionProfile(-1.0, 3.5, -3.0, 4.0, 0.35, 0.0, 240.0, 0.08),
    "A": EmotionProfile(6.5, 4.0, 1.0, 5.7, 0.30, 2.0, 300.0, 0.25),
    "F": EmotionProfile(5.5, 6.5, 2.5, 5.1, 0.15, 5.0, 350.0, 0.05),
    "T": EmotionProfile(-2.0, 1.6, -2.5, 3.5, 0.45, -6.0, 170.0, 0.16),
    "N": EmotionProfile(0.0, 3.0, -2.0, 4.6, 0.25, 0.0, 260.0, 0.06),
})  # fmt: skip

#: Spread of each parameter from utterance to utterance: a normal spread for semitones and
#: dB, a log-normal one (std of the natural log) for rates and frequencies. Tuned so that
#: neighbouring emotions overlap and the MFCC baseline stays far from perfect.
_SPREAD = EmotionProfile(1.2, 0.25, 1.2, 0.09, 0.0, 2.0, 0.2, 0.3)
_LOG_NORMAL = ("f0_range_st", "syllable_rate", "corner_hz", "breathiness")

#: Formants F1-F3 (Hz) of an adult male vocal tract, and their bandwidths.
_VOWELS = {"a": (730, 1250, 2550), "e": (450, 1950, 2550), "i": (290, 2250, 2950),
           "o": (450, 850, 2450), "u": (320, 800, 2300)}  # fmt: skip
_BANDWIDTHS_HZ = (80.0, 100.0, 140.0)
_SYLLABLES = dict(zip(TEXT_CODES, (6, 7, 6, 8, 5, 7, 8, 8, 7, 6)))  # sentence length of each text code
_DURATION_S = (1.25, 2.95)  # every file lasts between these (within EMO-DB's 1.2-3.0 s)
_LIMITS = {"n_speakers": (2, len(SYNTHETIC_SPEAKERS)), "utterances_per_class": (1, len(TEXT_CODES)),
           "sample_rate": (8000, 48000), "seed": (0, None)}  # fmt: skip


def make_synthetic(root: str | os.PathLike[str], *, n_speakers: int = 6, utterances_per_class: int = 6,
                   sample_rate: int = 16000, seed: int = 0, overwrite: bool = False) -> Path:
    """Write a small deterministic synthetic emotional-speech corpus in EMO-DB layout.

    The corpus has ``n_speakers * 7 * utterances_per_class`` files
    ``<root>/wav/SSTTTEV.wav`` (16-bit PCM, mono, 1.2-3.0 s each) plus
    ``<root>/synthetic.json`` recording the parameters and :data:`FORMAT_VERSION`.
    See the module docstring for the generative model.

    Parameters
    ----------
    root : str or os.PathLike
        Corpus folder. It may be missing, empty, or hold a corpus from an earlier call.
    n_speakers : int, default 6
        Number of speakers, 2-10, taken in the order of :data:`SYNTHETIC_SPEAKERS`.
    utterances_per_class : int, default 6
        Utterances per speaker and emotion, 1-10; utterance ``i`` uses ``TEXT_CODES[i]``.
    sample_rate : int, default 16000
        Sample rate in Hz, 8000-48000.
    seed : int, default 0
        Non-negative seed. The same arguments always give byte-identical files.
    overwrite : bool, default False
        Replace a corpus that was made with different parameters, or write beside other
        content in ``root``. Only ``wav/`` and ``synthetic.json`` are ever removed, and a
        ``wav/`` folder is only removed when ``synthetic.json`` shows this function made it.

    Returns
    -------
    pathlib.Path
        ``root``, the corpus folder.

    Raises
    ------
    ValueError, TypeError
        For out-of-range or wrongly typed arguments.
    FileExistsError
        When ``root`` holds a corpus made with other parameters, or other content, and
        ``overwrite`` is False; or when it holds a ``wav/`` folder not made here.
    NotADirectoryError
        When ``root`` exists but is a file.

    Notes
    -----
    When ``root`` already holds a complete corpus made with the same parameters the
    function returns at once and rewrites nothing. Files are generated in a temporary
    folder beside ``root`` (``.<name>.partial-*``, removed afterwards even on errors) and
    moved into place at the end, so an interrupted run never leaves a partial corpus that
    looks complete. Only a process killed outright can leave that temporary folder behind.
    """
    parameters = {"n_speakers": n_speakers, "utterances_per_class": utterances_per_class,
                  "sample_rate": sample_rate, "seed": seed}
    for name, value in parameters.items():
        low, high = _LIMITS[name]
        # bool is an int subclass, but n_speakers=True is surely a mistake
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
        if value < low or (high is not None and value > high):
            allowed = f"between {low} and {high}" if high is not None else f"{low} or more"
            raise ValueError(f"{name} must be {allowed}, got {value}")
        parameters[name] = int(value)
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
    root = Path(root)
    if _holds_requested_corpus(root, parameters, overwrite):
        return root

    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{root.name}.partial-", dir=root.parent,
                                     ignore_cleanup_errors=True) as staging:
        _write_corpus(Path(staging), **parameters)
        _move_into_place(Path(staging), root)
    return root


def _file_names(n_speakers: int, utterances_per_class: int, **_: int) -> list[str]:
    """The EMO-DB style file names that make up a corpus of this size, in generation order."""
    return [f"{speaker}{text}{emotion}a.wav" for speaker in list(SYNTHETIC_SPEAKERS)[:n_speakers]
            for emotion in EMOTION_LETTERS for text in TEXT_CODES[:utterances_per_class]]


def _holds_requested_corpus(root: Path, parameters: dict[str, int], overwrite: bool) -> bool:
    """True when ``root`` already holds the complete requested corpus.

    False when a new corpus may be written there; raises when that would replace something
    it should not. Nothing is deleted here: old files go only once the new corpus is ready.
    """
    if not root.exists():
        return False
    if not root.is_dir():
        raise NotADirectoryError(f"make_synthetic root {root} is a file; pass a folder path")
    if (root / MANIFEST_NAME).is_file():
        try:
            recorded = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
            recorded = {"format_version": recorded.get("format_version"), **recorded.get("parameters", {})}
        except (OSError, ValueError, AttributeError, TypeError) as error:  # UnicodeDecodeError is a ValueError
            differences = [f"{MANIFEST_NAME} is unreadable ({error})"]
        else:
            wanted = {"format_version": FORMAT_VERSION, **parameters}
            differences = [f"{name}: on disk {recorded.get(name)!r}, requested {value!r}"
                           for name, value in wanted.items() if recorded.get(name) != value]
        if not differences:
            expected = _file_names(**parameters)
            missing = [name for name in expected if not (root / "wav" / name).is_file()]
            if not missing:
                return True
            differences = [f"{len(missing)} of its {len(expected)} files are missing, e.g. wav/{missing[0]}"]
        refusal = (f"{root} already holds a synthetic corpus that differs from the request: " + "; ".join(differences)
                   + ". Pass overwrite=True to replace it (only its wav/ and synthetic.json are removed), "
                   "or choose another root.")
    elif not any(root.iterdir()):
        return False
    elif (root / "wav").exists():
        # Without a manifest nothing shows that make_synthetic wrote this wav/ folder: it
        # may be a real corpus, so it is never deleted, not even with overwrite=True.
        raise FileExistsError(f"{root} has a wav/ folder but no {MANIFEST_NAME}, so it was not made by make_synthetic "
                              "(it may be a real corpus, or a generation that was interrupted) and will not be "
                              "replaced. Choose another root, or delete that wav/ folder yourself.")
    else:
        refusal = (f"{root} is not empty and holds no synthetic corpus. Choose a new or empty folder, or pass "
                   "overwrite=True to add wav/ and synthetic.json beside the files already there.")
    if overwrite:
        return False
    raise FileExistsError(refusal)


def _write_corpus(folder: Path, n_speakers: int, utterances_per_class: int, sample_rate: int, seed: int) -> None:
    """Render every file of the corpus into ``folder`` (wav/ first, manifest last)."""
    (folder / "wav").mkdir()
    for name in _file_names(n_speakers, utterances_per_class):
        speaker, text, emotion = name[:2], name[2:5], name[5]
        # one random stream per file: (seed, speaker, emotion, utterance), never the generation order
        rng = np.random.default_rng([seed, int(speaker), "WLEAFTN".index(emotion), TEXT_CODES.index(text)])
        audio = _render_utterance(_speaker_voice(seed, speaker), EMOTION_PROFILES[emotion],
                                  _vowels(seed, text), rng, sample_rate)
        sf.write(folder / "wav" / name, audio, sample_rate, subtype="PCM_16")
    manifest = {"generator": "ser_common.synthetic.make_synthetic",
                "format_version": FORMAT_VERSION,
                "parameters": {"n_speakers": n_speakers, "utterances_per_class": utterances_per_class,
                               "sample_rate": sample_rate, "seed": seed},
                "speakers": {code: SYNTHETIC_SPEAKERS[code] for code in list(SYNTHETIC_SPEAKERS)[:n_speakers]},
                "emotions": dict(EMOTION_LETTERS),
                "n_files": len(_file_names(n_speakers, utterances_per_class)),
                "layout": "wav/SSTTTEV.wav as in EMO-DB: speaker, text code, emotion letter, version"}
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _move_into_place(staging: Path, root: Path) -> None:
    """Move a finished corpus from ``staging`` to ``root``, replacing an old one there.

    A missing or empty ``root`` is replaced by the staging folder in one rename. Otherwise
    the old manifest goes first and the new one comes last, so that a run stopped in
    between leaves no manifest and is never taken for a complete corpus.
    """
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
    if not root.exists():
        staging.rename(root)
        return
    if (root / MANIFEST_NAME).is_file():
        (root / MANIFEST_NAME).unlink()
        # only a wav/ folder recorded by a manifest is ours to delete (checked before
        # generating); without one the rename below fails instead of replacing data
        shutil.rmtree(root / "wav", ignore_errors=True)
    (staging / "wav").rename(root / "wav")
    (staging / MANIFEST_NAME).rename(root / MANIFEST_NAME)


def _speaker_voice(seed: int, speaker: str) -> dict[str, float]:
    """The fixed characteristics of one speaker's voice and recording."""
    rng = np.random.default_rng([seed, 1000 + int(speaker)])
    male = SYNTHETIC_SPEAKERS[speaker] == "m"
    return {"f0_hz": rng.uniform(100, 130) if male else rng.uniform(190, 230),
            "formant_scale": rng.uniform(0.95, 1.04) if male else rng.uniform(1.12, 1.22),
            "rate_scale": np.exp(rng.normal(0, 0.08)), "gain_db": rng.normal(0, 1.5),
            "noise_dbfs": rng.uniform(-62, -50)}  # fmt: skip


def _vowels(seed: int, text: str) -> list[str]:
    """What a text code "says": the same vowels for every speaker and emotion."""
    rng = np.random.default_rng([seed, 2000 + TEXT_CODES.index(text)])
    return list(rng.choice(list(_VOWELS), size=_SYLLABLES[text]))


def _render_utterance(voice: dict, profile: EmotionProfile, vowels: list[str], rng: np.random.Generator,
                      sample_rate: int) -> np.ndarray:
    """Synthesize one utterance as float samples in [-1, 1]."""
    # this utterance's parameters, drawn around the emotion's means in field order
    p = profile._make(value * np.exp(rng.normal(0, spread)) if name in _LOG_NORMAL else value + rng.normal(0, spread)
                      for name, value, spread in zip(EmotionProfile._fields, profile, _SPREAD))
    n = len(vowels)
    lengths = np.exp(rng.normal(0, 0.2, n)) / (p.syllable_rate * voice["rate_scale"])
    gaps = np.where(rng.random(n) < p.pause_prob, rng.uniform(0.08, 0.3, n), 0.03)
    starts = rng.uniform(0.08, 0.2) + np.concatenate(([0.0], np.cumsum(lengths + gaps)[:-1]))
    total = starts[-1] + lengths[-1] + rng.uniform(0.1, 0.25)
    stretch = np.clip(total, *_DURATION_S) / total  # keep every file within the promised durations
    speech = np.zeros(int(round(total * stretch * sample_rate)))
    for i, vowel in enumerate(vowels):
        start, size = int(starts[i] * stretch * sample_rate), int(lengths[i] * stretch * sample_rate)
        accent = p.f0_range_st * (rng.uniform(0.6, 1.0) if rng.random() < 0.4 else rng.uniform(-0.2, 0.3))
        trend = p.f0_shift_st + p.f0_slope_st * (i / max(n - 1, 1) - 0.5)
        formants = np.array(_VOWELS[vowel]) * voice["formant_scale"]
        speech[start:start + size] += _syllable(size, voice["f0_hz"], trend, accent, formants, p, rng, sample_rate)
    level_db = -30.0 + p.level_db + voice["gain_db"]  # neutral speech sits at -30 dBFS RMS
    speech *= 10 ** (level_db / 20) / np.sqrt(np.mean(speech**2))
    noise = signal.lfilter([1.0], [1.0, -0.7], rng.normal(0, 1, speech.size))
    speech += noise * 10 ** (voice["noise_dbfs"] / 20) / np.std(noise)
    return speech * min(1.0, 0.95 / np.abs(speech).max())  # like an engineer turning the gain down


def _syllable(size: int, f0_hz: float, trend_st: float, accent_st: float, formants: np.ndarray, p: EmotionProfile,
              rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """One voiced syllable: glottal pulses along a pitch accent, tilted, breathy, through formants."""
    shape = np.sin(np.pi * np.arange(size) / size)  # 0 -> 1 -> 0 over the syllable
    f0 = f0_hz * 2 ** ((trend_st + accent_st * shape) / 12)
    pulses = np.diff(np.floor(np.cumsum(f0) / sample_rate), prepend=0.0)  # 1 at each glottal closure
    pole = np.exp(-2 * np.pi * min(p.corner_hz, 0.4 * sample_rate) / sample_rate)
    source = np.diff(signal.lfilter([(1 - pole) ** 2], [1, -2 * pole, pole**2], pulses), prepend=0.0)
    source = source / (np.std(source) + 1e-12) + 2 * p.breathiness * np.diff(rng.normal(0, 1, size), prepend=0.0)
    for frequency, bandwidth in zip(formants, _BANDWIDTHS_HZ):
        if frequency < 0.42 * sample_rate:  # a formant near Nyquist would alias: leave it out
            radius, angle = np.exp(-np.pi * bandwidth / sample_rate), 2 * np.pi * frequency / sample_rate
            a = [1.0, -2 * radius * np.cos(angle), radius**2]
            source = signal.lfilter([sum(a)], a, source)  # a resonator with unit gain at 0 Hz
    return source * np.sqrt(shape)
