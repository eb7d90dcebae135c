"""Corpus registry and manifests: which speech-emotion corpora exist, where they live, what is in them.

Every lesson starts from a *manifest*: one row per utterance, with its absolute path, its label as an
ordered categorical in the corpus's fixed class order, its speaker and gender, its duration and a few
corpus-specific columns. The manifest is built from the file names and folders of the corpus *as its
authors distribute it* (no re-sorting into class folders needed), so every notebook sees the same
rows in the same order.

Where the data lives
--------------------
:func:`corpus_root` decides: an explicit ``root`` argument wins, then ``$SER_DATA_DIR/<name>``, then
``./data/<name>`` relative to the current working directory.

Class order and row order
-------------------------
The class order of each corpus is the order of the TIM-Net code (§6 of the TIM-Net specification,
``../shared/papers/tim_net.md``), which is the alphabetical order of the English class names.
Rows are sorted by class (in that order), then by file name, which is the order TIM-Net's feature
files use (one class folder after the other, files sorted inside each folder). Keeping one order
everywhere makes fold assignments reproducible.

Examples
--------
>>> from ser_common.corpora import load_manifest, label_codes
>>> manifest = load_manifest("emodb")                         # doctest: +SKIP
>>> manifest.groupby("label", observed=True).size()          # doctest: +SKIP
>>> y = label_codes(manifest)                                 # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

__all__ = [
    "CORPORA",
    "LABELS",
    "CorpusInfo",
    "CorpusNotFoundError",
    "class_names",
    "corpus_info",
    "corpus_present",
    "corpus_root",
    "label_codes",
    "load_manifest",
]

#: The canonical English label vocabulary shared by all corpora.
LABELS: tuple[str, ...] = ("angry", "boredom", "calm", "disgust", "fear", "happy", "neutral", "sad", "surprise")

#: Environment variable naming the folder that holds one sub-folder per corpus.
DATA_DIR_ENV = "SER_DATA_DIR"

IEMOCAP_SUBSETS = ("all", "improvised", "scripted")

# Only this many offending file names are quoted in a warning or error, to keep messages readable.
_MAX_EXAMPLES = 5


@dataclass(frozen=True)
class CorpusInfo:
    """What the lessons need to know about one corpus.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"emodb"``; also the folder name under the data directory.
    title : str
        Full name and a citation-like one-liner.
    classes : tuple of str
        The fixed class order (labels from :data:`LABELS`); class index ``i`` is ``classes[i]``.
    url : str
        Where to get the corpus (official page).
    licence : str
        Short licence / access note.
    layout : str
        One-line description of the expected directory layout (quoted in error messages).
    native_sample_rate : int
        Sample rate of the distributed audio files, in Hz.
    obtain : str
        How to get the corpus onto disk, one or two sentences (quoted in error messages).
    """

    name: str
    title: str
    classes: tuple[str, ...]
    url: str
    licence: str
    layout: str
    native_sample_rate: int
    obtain: str = field(default="")

    def __post_init__(self) -> None:
        # A typo in the registry would silently create a tenth class; catch it at import time.
        unknown = [label for label in self.classes if label not in LABELS]
        if unknown or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"CorpusInfo {self.name!r}: classes {self.classes} must be distinct labels from {LABELS}")


_EMODB_CLASSES = ("angry", "boredom", "disgust", "fear", "happy", "neutral", "sad")

CORPORA: dict[str, CorpusInfo] = {info.name: info for info in (
    CorpusInfo(
        name="emodb",
        title="Berlin Database of Emotional Speech (EMO-DB; Burkhardt, Paeschke, Rolfes, Sendlmeier & Weiss, "
        "Interspeech 2005): 535 German utterances, 10 actors, 7 emotions",
        classes=_EMODB_CLASSES,
        url="http://emodb.bilderbar.info/",
        licence="freely available for research from its authors; cite Burkhardt et al. (2005)",
        layout="<root>/wav/SSTTTEV.wav (the wav/ folder of the official download.zip), "
        "or the .wav files directly in <root>",
        native_sample_rate=16_000,
        obtain="Run ser_common.fetch_corpus('emodb', root) to download and unpack the official zip "
        "(http://emodb.bilderbar.info/download/download.zip), or unpack it there yourself.",
    ),
    CorpusInfo(
        name="ravdess",
        title="Ryerson Audio-Visual Database of Emotional Speech and Song, speech audio only (RAVDESS; "
        "Livingstone & Russo, PLoS ONE 2018): 1,440 English utterances, 24 actors, 8 emotions",
        classes=("angry", "calm", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
        url="https://zenodo.org/records/1188976",
        licence="CC BY-NC-SA 4.0 (non-commercial use; commercial licences from the authors)",
        layout="<root>/Actor_01 ... Actor_24/03-01-EE-II-SS-RR-AA.wav "
        "(Audio_Speech_Actors_01-24.zip unpacked)",
        native_sample_rate=48_000,
        obtain="Run ser_common.fetch_corpus('ravdess', root) to download and unpack "
        "Audio_Speech_Actors_01-24.zip from Zenodo, or unpack it there yourself.",
    ),
    CorpusInfo(
        name="savee",
        title="Surrey Audio-Visual Expressed Emotion database (SAVEE; Haq & Jackson, 2009): 480 British "
        "English utterances, 4 male speakers, 7 emotions",
        classes=("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
        url="http://kahlan.eps.surrey.ac.uk/savee/",
        licence="free for research after registering on the SAVEE site; cite Haq & Jackson (2009)",
        layout="<root>/AudioData/<DC|JE|JK|KL>/<a|d|f|h|n|sa|su>NN.wav, "
        "or flat <SPK>_<code>NN.wav files (e.g. DC_a01.wav) anywhere under <root>",
        native_sample_rate=44_100,
        obtain="There is no public archive: register on the SAVEE site, download AudioData "
        "and unpack it there.",
    ),
    CorpusInfo(
        name="emovo",
        title="EMOVO Corpus of Italian emotional speech (Costantini, Iaderola, Paoloni & Todisco, "
        "LREC 2014): 588 utterances, 6 actors, 7 emotions",
        classes=("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
        url="http://voice.fub.it/activities/corpora/emovo/index.html",
        licence="free for research use from Fondazione Ugo Bordoni; cite Costantini et al. (2014)",
        layout="<root>/[EMOVO/]<f1|f2|f3|m1|m2|m3>/<dis|gio|neu|pau|rab|sor|tri>-<speaker>-<sentence>.wav",
        native_sample_rate=48_000,
        obtain="There is no public archive in our registry: request/download it from the EMOVO page "
        "and unpack it there.",
    ),
    CorpusInfo(
        name="casia",
        title="CASIA Chinese Emotional Speech Corpus, public 1,200-utterance subset (Institute of "
        "Automation, Chinese Academy of Sciences; Tao et al., 2008): 4 speakers, 6 emotions",
        classes=("angry", "fear", "happy", "neutral", "sad", "surprise"),
        url="http://www.chineseldc.org/",
        licence="licensed through the Chinese LDC; the 1,200-utterance subset used in papers circulates "
        "informally, so use a copy you are entitled to",
        layout="<root>/.../<liuchanhg|wangzhe|zhaoquanyin|ZhaoZuoxiang>/"
        "<angry|fear|happy|neutral|sad|surprise>/<id>.wav",
        native_sample_rate=16_000,
        obtain="There is no public archive: obtain the corpus under a licence and unpack it there.",
    ),
    CorpusInfo(
        name="iemocap",
        title="Interactive Emotional Dyadic Motion Capture database (IEMOCAP; Busso et al., Language "
        "Resources and Evaluation 2008): 5 sessions, 10 actors; 4 classes with excited merged into happy",
        classes=("angry", "happy", "neutral", "sad"),
        url="https://sail.usc.edu/iemocap/",
        licence="research licence: submit the release form on the SAIL (USC) site; no redistribution",
        layout="<root>/Session1 ... Session5/sentences/wav/<dialog>/<utterance>.wav, labels in "
        "<root>/Session1 ... Session5/dialog/EmoEvaluation/<dialog>.txt (IEMOCAP_full_release)",
        native_sample_rate=16_000,
        obtain="There is no public archive: request IEMOCAP through the release form on the SAIL site "
        "and unpack IEMOCAP_full_release there.",
    ),
    CorpusInfo(
        name="synthetic",
        title="Synthetic EMO-DB-like corpus generated by ser_common.make_synthetic (no real speech; "
        "for smoke tests and CI)",
        classes=_EMODB_CLASSES,
        url="(generated locally by ser_common.make_synthetic)",
        licence="generated locally; no restrictions",
        layout="<root>/wav/SSTTTEV.wav in EMO-DB naming plus <root>/synthetic.json",
        native_sample_rate=16_000,
        obtain="Generate it with ser_common.make_synthetic(root).",
    ),
)}


class CorpusNotFoundError(FileNotFoundError):
    """The corpus directory is missing or holds no recognisable audio.

    The message names the directory that was searched, the expected layout and how to get the corpus.
    """


# --------------------------------------------------------------------------------------------------
# Registry look-ups and locations
# --------------------------------------------------------------------------------------------------


def corpus_info(name: str) -> CorpusInfo:
    """Return the registry entry of a corpus.

    Parameters
    ----------
    name : str
        A key of :data:`CORPORA`.

    Returns
    -------
    CorpusInfo

    Raises
    ------
    ValueError
        If ``name`` is not a known corpus; the message lists the known names.
    """
    try:
        return CORPORA[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown corpus {name!r}; known corpora: {', '.join(sorted(CORPORA))}") from None


def corpus_root(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory where corpus ``name`` is (or should be) stored.

    Parameters
    ----------
    name : str
        A key of :data:`CORPORA`.
    root : str or path-like, optional
        The corpus directory itself. When omitted, ``$SER_DATA_DIR/<name>`` is used if the
        environment variable is set and non-empty, else ``./data/<name>`` relative to the current
        working directory.

    Returns
    -------
    pathlib.Path
        An absolute path; it is not required to exist.

    Raises
    ------
    ValueError
        If ``name`` is not a known corpus.
    """
    corpus_info(name)
    if root is not None:
        return Path(root).expanduser().absolute()
    data_dir = os.environ.get(DATA_DIR_ENV, "")
    base = Path(data_dir).expanduser() if data_dir else Path("data")
    if base.exists() and not base.is_dir():
        setting = f"${DATA_DIR_ENV}" if data_dir else "the default data folder ./data"
        raise NotADirectoryError(f"{setting} = {base.absolute()} is a file, not a folder; point it at the folder "
                                 f"that holds '{name}/' (or pass data_dir / root)")
    return (base / name).absolute()


def _not_found(info: CorpusInfo, directory: Path, problem: str) -> CorpusNotFoundError:
    """Build the one helpful error for every "corpus is not there" situation."""
    return CorpusNotFoundError(
        f"{info.name}: {problem}\n"
        f"  Looked in: {directory}\n"
        f"  Expected layout: {info.layout}\n"
        f"  Corpus: {info.title}\n"
        f"  Get it from {info.url} (licence: {info.licence}). {info.obtain}\n"
        f"  Then either put it at {directory}, set ${DATA_DIR_ENV} to the folder that holds "
        f"'{info.name}/', or pass root=<corpus folder>."
    )


# --------------------------------------------------------------------------------------------------
# Parsers: one per distributed layout. Each returns a _Scan; none reads audio.
# --------------------------------------------------------------------------------------------------


@dataclass
class _Scan:
    """What a parser found under a corpus directory.

    ``records`` are the utterances in scope (dicts with at least path, label, speaker, gender);
    ``unrecognised`` are audio files whose name/location the parser does not understand (reported);
    ``excluded`` counts files understood but out of scope by design (e.g. RAVDESS song files).
    """

    records: list[dict] = field(default_factory=list)
    unrecognised: list[Path] = field(default_factory=list)
    excluded: int = 0


def _wav_files(directory: Path) -> list[Path]:
    """All ``.wav`` files below ``directory`` (any case of the suffix), sorted for determinism."""
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())


_EMODB_NAME = re.compile(r"^(?P<speaker>\d\d)(?P<text>[ab]\d\d)(?P<emotion>[A-Z])(?P<version>[a-z])$")
_EMODB_EMOTIONS = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}
_EMODB_GENDERS = {
    "03": "m", "10": "m", "11": "m", "12": "m", "15": "m",
    "08": "f", "09": "f", "13": "f", "14": "f", "16": "f",
}  # fmt: skip


def _parse_emodb(root: Path, subset: str | None = None) -> _Scan:
    """Parse EMO-DB (and the synthetic corpus, which copies its naming).

    Layout: the official ``download.zip`` (http://emodb.bilderbar.info/download/download.zip)
    unpacks to ``wav/`` beside label folders; files are ``<root>/wav/SSTTTEV.wav`` with SS the
    speaker (03, 08-16), TTT the text code (a01 ... b10), E the emotion letter (W angry, L boredom,
    E disgust, A fear, F happy, T sad, N neutral; German initials) and V the version letter.
    ``root`` may also be the folder holding the ``.wav`` files. Genders follow the corpus
    documentation: speakers 03, 10, 11, 12, 15 are male; 08, 09, 13, 14, 16 female.
    Every emotion of EMO-DB is in scope, so nothing is excluded.
    """
    audio_dir = root / "wav" if (root / "wav").is_dir() else root
    scan = _Scan()
    if audio_dir != root:
        outside = [p for p in _wav_files(root) if not p.is_relative_to(audio_dir) and _EMODB_NAME.match(p.stem)]
        if outside:
            warnings.warn(f"{len(outside)} EMO-DB-named file(s) outside {audio_dir} were ignored (only wav/ is read): "
                          + _format_examples(outside, root), UserWarning, stacklevel=3)
    for path in _wav_files(audio_dir):
        match = _EMODB_NAME.match(path.stem)
        if match is None or match["emotion"] not in _EMODB_EMOTIONS or match["speaker"] not in _EMODB_GENDERS:
            scan.unrecognised.append(path)
            continue
        scan.records.append({"path": path, "label": _EMODB_EMOTIONS[match["emotion"]], "speaker": match["speaker"],
                             "gender": _EMODB_GENDERS[match["speaker"]], "text": match["text"],
                             "version": match["version"]})
    return scan


_RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_RAVDESS_EMOTIONS = {
    "01": "neutral", "02": "calm", "03": "happy", "04": "sad",
    "05": "angry", "06": "fear", "07": "disgust", "08": "surprise",
}  # fmt: skip
_RAVDESS_INTENSITIES = {"01": "normal", "02": "strong"}


def _parse_ravdess(root: Path, subset: str | None = None) -> _Scan:
    """Parse the RAVDESS speech audio (Zenodo record 1188976, ``Audio_Speech_Actors_01-24.zip``).

    Layout: ``<root>/Actor_NN/MM-VV-EE-II-SS-RR-AA.wav`` with MM modality (03 audio-only),
    VV vocal channel (01 speech, 02 song), EE emotion (01 neutral, 02 calm, 03 happy, 04 sad,
    05 angry, 06 fearful -> fear, 07 disgust, 08 surprised -> surprise), II intensity (01 normal,
    02 strong), SS statement (01 "Kids are talking by the door", 02 "Dogs are sitting by the door"),
    RR repetition (01, 02) and AA actor (01-24; odd male, even female). Source:
    https://zenodo.org/records/1188976 (1,440 speech files).

    By design only audio-only speech (``03-01-...``) is in scope: song files (vocal channel 02, from
    ``Audio_Song_Actors_01-24.zip``) and ``.wav`` files of other modalities are counted in
    ``manifest.attrs["excluded"]`` and left out without a warning. Video (``.mp4``) is never read.
    """
    scan = _Scan()
    for path in _wav_files(root):
        match = _RAVDESS_NAME.match(path.stem)
        if match is None:
            scan.unrecognised.append(path)
            continue
        modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
        if modality in ("01", "02", "03") and channel in ("01", "02") and (modality, channel) != ("03", "01"):
            scan.excluded += 1
            continue
        if ((modality, channel) != ("03", "01") or emotion not in _RAVDESS_EMOTIONS
                or intensity not in _RAVDESS_INTENSITIES or statement not in ("01", "02")
                or repetition not in ("01", "02") or not 1 <= int(actor) <= 24):
            scan.unrecognised.append(path)
            continue
        scan.records.append({"path": path, "label": _RAVDESS_EMOTIONS[emotion], "speaker": actor,
                             "gender": "m" if int(actor) % 2 == 1 else "f", "intensity": _RAVDESS_INTENSITIES[intensity],
                             "statement": int(statement), "repetition": int(repetition), "actor": int(actor)})
    return scan


_SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
_SAVEE_EMOTIONS = {
    "a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprise",
}  # fmt: skip
_SAVEE_CODE = r"(?P<code>sa|su|a|d|f|h|n)(?P<number>\d\d)"
_SAVEE_ORIGINAL_NAME = re.compile(rf"^{_SAVEE_CODE}$")
_SAVEE_FLAT_NAME = re.compile(rf"^(?P<speaker>{'|'.join(_SAVEE_SPEAKERS)})_{_SAVEE_CODE}$")


def _parse_savee(root: Path, subset: str | None = None) -> _Scan:
    """Parse SAVEE (http://kahlan.eps.surrey.ac.uk/savee/, free for research after registration).

    Layouts: the original ``AudioData/<SPK>/<code><NN>.wav`` with speakers DC, JE, JK, KL (all
    male) and codes a (angry), d (disgust), f (fear), h (happy), n (neutral), sa (sad),
    su (surprise); or the widespread flat variant ``<SPK>_<code><NN>.wav`` (e.g. ``DC_a01.wav``)
    anywhere under ``root``. The ``sentence`` column holds ``<code><NN>`` (e.g. ``sa03``), which
    identifies the sentence within a speaker's recordings. 480 files: neutral 120, others 60.
    """
    scan = _Scan()
    for path in _wav_files(root):
        flat = _SAVEE_FLAT_NAME.match(path.stem)
        original = _SAVEE_ORIGINAL_NAME.match(path.stem) if path.parent.name in _SAVEE_SPEAKERS else None
        match = flat or original
        if match is None:
            scan.unrecognised.append(path)
            continue
        scan.records.append({"path": path, "label": _SAVEE_EMOTIONS[match["code"]], "gender": "m",
                             "speaker": flat["speaker"] if flat else path.parent.name,
                             "sentence": f"{match['code']}{match['number']}"})
    return scan


_EMOVO_EMOTIONS = {
    "dis": "disgust", "gio": "happy", "neu": "neutral", "pau": "fear",
    "rab": "angry", "sor": "surprise", "tri": "sad",
}  # fmt: skip
_EMOVO_SENTENCES = ("b1", "b2", "b3", "l1", "l2", "l3", "l4", "n1", "n2", "n3", "n4", "n5", "d1", "d2")
_EMOVO_NAME = re.compile(r"^(?P<emotion>[a-z]{3})-(?P<speaker>[fm][123])-(?P<sentence>[a-z]\d)$")


def _parse_emovo(root: Path, subset: str | None = None) -> _Scan:
    """Parse EMOVO (http://voice.fub.it/activities/corpora/emovo/index.html).

    Layout: ``<root>/[EMOVO/]<spk>/<emo>-<spk>-<sentence>.wav``, searched recursively because the
    zip usually has an ``EMOVO/`` top folder. Speakers f1 f2 f3 m1 m2 m3 (gender from the letter);
    emotion codes (Italian) dis disgust, gio happy (gioia), neu neutral, pau fear (paura), rab angry
    (rabbia), sor surprise (sorpresa), tri sad (tristezza); sentences b1-b3, l1-l4, n1-n5, d1-d2.
    588 files (84 per class).
    """
    scan = _Scan()
    for path in _wav_files(root):
        match = _EMOVO_NAME.match(path.stem)
        if match is None or match["emotion"] not in _EMOVO_EMOTIONS or match["sentence"] not in _EMOVO_SENTENCES:
            scan.unrecognised.append(path)
            continue
        scan.records.append({"path": path, "label": _EMOVO_EMOTIONS[match["emotion"]], "speaker": match["speaker"],
                             "gender": match["speaker"][0], "sentence": match["sentence"]})
    return scan


# Keys are lower-case because copies of the corpus differ in the capitalisation of the folders.
_CASIA_SPEAKERS = {"liuchanhg": ("liuchanhg", "f"), "wangzhe": ("wangzhe", "m"),
                   "zhaoquanyin": ("zhaoquanyin", "f"), "zhaozuoxiang": ("ZhaoZuoxiang", "m")}  # fmt: skip
_CASIA_EMOTIONS = ("angry", "fear", "happy", "neutral", "sad", "surprise")


def _parse_casia(root: Path, subset: str | None = None) -> _Scan:
    """Parse the public 1,200-utterance CASIA subset (Chinese LDC, http://www.chineseldc.org/).

    Layout: ``<root>/.../<speaker>/<emotion>/<id>.wav``, searched recursively; speakers liuchanhg (f),
    wangzhe (m), zhaoquanyin (f), ZhaoZuoxiang (m) (folder case is ignored); emotion folders angry,
    fear, happy, neutral, sad, surprise; 50 utterances per speaker and emotion. The ``utterance``
    column is the file stem (the same ids recur across speakers and emotions).
    """
    scan = _Scan()
    for path in _wav_files(root):
        emotion = path.parent.name.lower()
        speaker = _CASIA_SPEAKERS.get(path.parent.parent.name.lower())
        if emotion not in _CASIA_EMOTIONS or speaker is None:
            scan.unrecognised.append(path)
            continue
        scan.records.append({"path": path, "label": emotion, "speaker": speaker[0], "gender": speaker[1],
                             "utterance": path.stem})
    return scan


_IEMOCAP_EMOTIONS = {"ang": "angry", "hap": "happy", "exc": "happy", "neu": "neutral", "sad": "sad"}
_IEMOCAP_OUT_OF_SCOPE = {"fru", "sur", "fea", "dis", "oth", "xxx"}
# e.g. "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]"
_IEMOCAP_LABEL_LINE = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(?P<utterance>\S+)\s+(?P<code>\w+)\s+\[")
_IEMOCAP_UTTERANCE = re.compile(r"^Ses(?P<session>0[1-5])[FM]_(?P<rest>.+)_(?P<gender>[FM])\d{3}$")


def _iemocap_labels(session_dir: Path) -> dict[str, str]:
    """Map utterance id -> 3-letter emotion code from ``dialog/EmoEvaluation/*.txt`` of one session.

    Only the summary lines (``[start - end]<TAB>utterance<TAB>code<TAB>[v, a, d]``) carry the consensus
    label; the header and the per-annotator lines (``C-E1:``, ``A-E2:`` ...) are skipped.
    """
    labels = {}
    for txt in sorted((session_dir / "dialog" / "EmoEvaluation").glob("*.txt")):
        for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
            match = _IEMOCAP_LABEL_LINE.match(line)
            if match:
                labels[match["utterance"]] = match["code"]
    return labels


def _parse_iemocap(root: Path, subset: str | None = None) -> _Scan:
    """Parse IEMOCAP (``IEMOCAP_full_release``, https://sail.usc.edu/iemocap/, licence by release form).

    Layout: audio in ``<root>/Session{1..5}/sentences/wav/<dialog>/<utterance>.wav`` (e.g.
    ``Ses01F_impro01/Ses01F_impro01_F000.wav``), labels in
    ``<root>/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt``. ``root`` may also be the folder that
    contains ``IEMOCAP_full_release``.

    Labels: ang -> angry, hap and exc -> happy (excited merged into happy, as TIM-Net does; 5,531
    utterances in all), neu -> neutral, sad -> sad. Utterances labelled fru, sur, fea, dis, oth or
    xxx, and with ``subset`` other than ``"all"`` those of the other recording mode, are excluded
    by design (counted in ``manifest.attrs["excluded"]``). A wav without a label line is reported
    as unrecognised.

    The speaker is the session plus the gender letter of the *utterance suffix*
    (``Ses01F_impro01_M003`` -> ``Ses01M``, gender m). The ``Ses01F`` prefix names the dialog
    recording, in which both actors speak (see pitfall 3 in ``../shared/papers/light_sernet.md`` §8).
    """
    subset = subset or "all"
    nested = root / "IEMOCAP_full_release"  # Session1..5 are in root itself or in this folder
    data_dir = nested if not any(root.glob("Session[1-5]")) and any(nested.glob("Session[1-5]")) else root
    scan = _Scan()
    for session_dir in sorted(p for p in data_dir.glob("Session[1-5]") if p.is_dir()):
        labels = _iemocap_labels(session_dir)
        for path in _wav_files(session_dir / "sentences" / "wav"):
            match = _IEMOCAP_UTTERANCE.match(path.stem)
            code = labels.get(path.stem)
            dialog = path.parent.name
            mode = "improvised" if "_impro" in dialog else "scripted" if "_script" in dialog else None
            known_code = code in _IEMOCAP_EMOTIONS or code in _IEMOCAP_OUT_OF_SCOPE
            if match is None or mode is None or not known_code or not path.stem.startswith(dialog + "_"):
                scan.unrecognised.append(path)
                continue
            if code in _IEMOCAP_OUT_OF_SCOPE or subset not in ("all", mode):
                scan.excluded += 1
                continue
            scan.records.append({"path": path, "label": _IEMOCAP_EMOTIONS[code],
                                 "speaker": f"Ses{match['session']}{match['gender']}", "gender": match["gender"].lower(),
                                 "session": int(match["session"]), "dialog": dialog, "mode": mode,
                                 "emotion_code": code, "utterance": path.stem})
    return scan


_PARSERS: dict[str, Callable[[Path, str | None], _Scan]] = {
    "emodb": _parse_emodb,
    "synthetic": _parse_emodb,
    "ravdess": _parse_ravdess,
    "savee": _parse_savee,
    "emovo": _parse_emovo,
    "casia": _parse_casia,
    "iemocap": _parse_iemocap,
}


# --------------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------------


def _audio_header(path: Path) -> tuple[float, int]:
    """Duration (s) and sample rate from a file's header, without decoding the audio."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as error:
        raise ValueError(
            f"Cannot read the audio header of {path} ({error}). The file is empty or damaged: "
            "re-download or re-extract the corpus."
        ) from None
    if info.frames == 0 or info.samplerate <= 0:
        raise ValueError(f"{path} holds no audio samples. Re-download or re-extract the corpus.")
    return info.frames / info.samplerate, info.samplerate


def _format_examples(paths: list[Path], root: Path) -> str:
    shown = [str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in paths[:_MAX_EXAMPLES]]
    more = f" and {len(paths) - _MAX_EXAMPLES} more" if len(paths) > _MAX_EXAMPLES else ""
    return ", ".join(shown) + more


def _records_to_frame(info: CorpusInfo, records: list[dict]) -> pd.DataFrame:
    """Turn parser records into the ordered manifest, reading each file's header for its duration."""
    frame = pd.DataFrame.from_records(records)
    stray = set(frame["label"]) - set(info.classes)
    if stray:  # a parser bug; pandas would otherwise turn these labels into NaN without a word
        raise RuntimeError(f"The {info.name} parser produced labels outside {info.classes}: {sorted(stray)}")
    headers = [_audio_header(path) for path in frame["path"]]
    file_names = frame["path"].map(lambda p: p.name)
    frame["path"] = frame["path"].map(str)
    frame["corpus"] = info.name
    frame["label"] = pd.Categorical(frame["label"], categories=list(info.classes), ordered=True)
    frame["duration_s"] = np.array([duration for duration, _ in headers], dtype=np.float64)
    frame["sample_rate"] = np.array([rate for _, rate in headers], dtype=np.int64)
    # Class by class, then by file name (path breaks ties, e.g. CASIA ids recur across speakers).
    frame = frame.assign(_file_name=file_names).sort_values(["label", "_file_name", "path"], kind="stable")
    leading = ["path", "corpus", "label", "speaker", "gender", "duration_s", "sample_rate"]
    extras = [c for c in frame.columns if c not in leading and c != "_file_name"]
    return frame[leading + extras].reset_index(drop=True)


def _refuse_duplicates(records: list[dict], root: Path) -> None:
    """Two files of the same speaker with the same name are one utterance twice (e.g. a copied folder),
    which would put the same audio in training and test."""
    seen: dict[tuple, Path] = {}
    clashes = []
    for record in records:
        key = (str(record["speaker"]), str(record["label"]), Path(record["path"]).stem)
        if key in seen:
            clashes.append(f"{seen[key]} and {record['path']}")
        seen.setdefault(key, record["path"])
    if clashes:
        shown = "\n  ".join(clashes[:_MAX_EXAMPLES]) + (f"\n  ... and {len(clashes) - _MAX_EXAMPLES} more"
                                                        if len(clashes) > _MAX_EXAMPLES else "")
        raise ValueError(f"{len(clashes)} utterance(s) appear twice under {root} (a copied folder?); the same audio "
                         f"would land in training and test. Remove one copy of each:\n  {shown}")


def load_manifest(name: str, root: str | os.PathLike[str] | None = None, *, subset: str | None = None,
                  strict: bool = False) -> pd.DataFrame:
    """List the utterances of a corpus, one row each, in a fixed order.

    Parameters
    ----------
    name : str
        A key of :data:`CORPORA`: ``emodb``, ``ravdess``, ``savee``, ``emovo``, ``casia``,
        ``iemocap`` or ``synthetic``.
    root : str or path-like, optional
        The corpus directory; see :func:`corpus_root` for the default.
    subset : {"all", "improvised", "scripted"}, optional
        IEMOCAP only: which recording mode to keep (default ``"all"``). Passing it for another
        corpus is an error.
    strict : bool, default False
        If True, audio files whose names the parser does not recognise raise ``ValueError``
        instead of a ``UserWarning``.

    Returns
    -------
    pandas.DataFrame
        Columns ``path`` (absolute, str), ``corpus``, ``label`` (ordered categorical whose
        categories are the corpus class order), ``speaker`` (str), ``gender`` ('f' or 'm'),
        ``duration_s`` and ``sample_rate`` (from the file headers), then the corpus extras:
        emodb / synthetic ``text``, ``version``; ravdess ``intensity``, ``statement``,
        ``repetition``, ``actor``; savee ``sentence``; emovo ``sentence``; casia ``utterance``;
        iemocap ``session``, ``dialog``, ``mode``, ``emotion_code``, ``utterance``.
        Rows are sorted by class, then by file name; the index is 0..N-1.
        ``attrs`` holds ``corpus``, ``classes`` (list), ``root`` (str) and ``excluded`` (the number
        of files left out by design).

    Raises
    ------
    ValueError
        Unknown corpus or subset; unreadable/empty audio header (the message names the file);
        unrecognised file names with ``strict=True``.
    CorpusNotFoundError
        The directory does not exist or holds no recognisable audio of this corpus.

    Warns
    -----
    UserWarning
        When audio files with unrecognised names are present (count and up to 5 examples);
        they are not in the manifest.

    Notes
    -----
    Files whose emotion is outside the corpus label set are excluded by design and only counted
    in ``attrs["excluded"]``: RAVDESS song files and non-audio-only modalities, IEMOCAP
    frustration / surprise / fear / disgust / other / xxx (and the other mode when ``subset`` is
    given). EMO-DB, SAVEE, EMOVO and CASIA have no out-of-scope emotions.
    """
    info = corpus_info(name)
    if name != "iemocap" and subset is not None:
        raise ValueError(f"subset={subset!r} is only meaningful for 'iemocap'; leave it as None for {name!r}.")
    if subset is not None and subset not in IEMOCAP_SUBSETS:
        raise ValueError(f"subset must be one of {IEMOCAP_SUBSETS}, got {subset!r}.")

    directory = corpus_root(name, root)
    if not directory.is_dir():
        problem = "the path is a file, not a directory" if directory.exists() else "the corpus directory does not exist"
        raise _not_found(info, directory, problem)

    scan = _PARSERS[name](directory, subset)
    if not scan.records:
        problem = f"no recognisable {name} audio files in the directory"
        if scan.unrecognised:
            problem += (f"; it holds {len(scan.unrecognised)} .wav file(s) with unexpected names, e.g. "
                        + _format_examples(scan.unrecognised, directory))
        if scan.excluded:
            problem += f" ({scan.excluded} file(s) left out by design: emotions outside the label set or subset)"
        raise _not_found(info, directory, problem)
    if scan.unrecognised:
        message = (f"{len(scan.unrecognised)} .wav file(s) under {directory} do not follow the {name} naming "
                   f"({info.layout}) and were left out of the manifest: "
                   f"{_format_examples(scan.unrecognised, directory)}. "
                   "Rename or remove them, or pass strict=True to make this an error.")
        if strict:
            raise ValueError(message)
        warnings.warn(message, UserWarning, stacklevel=2)

    _refuse_duplicates(scan.records, directory)
    manifest = _records_to_frame(info, scan.records)
    manifest.attrs.update(corpus=name, classes=list(info.classes), root=str(directory), excluded=scan.excluded)
    return manifest


def corpus_present(name: str, root: str | os.PathLike[str] | None = None) -> bool:
    """Tell whether a corpus directory holds at least one recognisable file of the corpus.

    Only file names are checked; no audio is read, so this is cheap and does not fail on a damaged
    file (:func:`load_manifest` reports those).

    Parameters
    ----------
    name : str
        A key of :data:`CORPORA`.
    root : str or path-like, optional
        The corpus directory; see :func:`corpus_root` for the default.

    Returns
    -------
    bool
    """
    directory = corpus_root(name, root)  # (raises for an unknown corpus)
    return directory.is_dir() and bool(_PARSERS[name](directory, None).records)


def _label_column(manifest: pd.DataFrame) -> pd.Series:
    if "label" not in manifest.columns or not isinstance(manifest["label"].dtype, pd.CategoricalDtype):
        raise ValueError("manifest must have a categorical 'label' column, as returned by load_manifest().")
    return manifest["label"]


def label_codes(manifest: pd.DataFrame) -> np.ndarray:
    """Integer class indices of a manifest's rows (index into the corpus class order).

    Parameters
    ----------
    manifest : pandas.DataFrame
        As returned by :func:`load_manifest` (or a row subset of it).

    Returns
    -------
    numpy.ndarray of int64, shape (n_rows,)

    Raises
    ------
    ValueError
        If the ``label`` column is missing, not categorical, or holds missing values.
    """
    codes = _label_column(manifest).cat.codes.to_numpy(dtype=np.int64)
    if (codes < 0).any():
        raise ValueError("manifest 'label' column has missing values; every row needs a class.")
    return codes


def class_names(manifest: pd.DataFrame) -> list[str]:
    """The class names of a manifest, in class-index order (the categories of ``label``).

    Parameters
    ----------
    manifest : pandas.DataFrame
        As returned by :func:`load_manifest`.

    Returns
    -------
    list of str
    """
    return [str(label) for label in _label_column(manifest).cat.categories]
