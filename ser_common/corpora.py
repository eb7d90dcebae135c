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

import importlib.resources
import os
import re
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

__all__ = ["CORPORA", "LABELS", "CorpusInfo", "CorpusNotFoundError", "class_names", "corpus_info", "corpus_present",
           "corpus_root", "label_codes", "load_manifest"]

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
    obtain: str = ""


def _read_registry() -> dict[str, CorpusInfo]:
    """The registry kept as data in ``corpora.toml`` beside this module (one table per corpus)."""
    text = importlib.resources.files("ser_common").joinpath("corpora.toml").read_text(encoding="utf-8")
    return {name: CorpusInfo(name=name, **{**fields, "classes": tuple(fields["classes"])})
            for name, fields in tomllib.loads(text).items()}


#: Every corpus the lessons can read, by registry key (``corpora.toml``).
CORPORA: dict[str, CorpusInfo] = _read_registry()


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
    if not isinstance(name, str) or name not in CORPORA:
        raise ValueError(f"Unknown corpus {name!r}; known corpora: {', '.join(sorted(CORPORA))}")
    return CORPORA[name]


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
    return CorpusNotFoundError(f"{info.name}: {problem}\n"
                               f"  Looked in: {directory}\n"
                               f"  Expected layout: {info.layout}\n"
                               f"  Corpus: {info.title}\n"
                               f"  Get it from {info.url} (licence: {info.licence}). {info.obtain}\n"
                               f"  Then either put it at {directory}, set ${DATA_DIR_ENV} to the folder that holds "
                               f"'{info.name}/', or pass root=<corpus folder>.")


# --------------------------------------------------------------------------------------------------
# Parsers: one per distributed layout. Each turns one file into a record; none reads audio.
# --------------------------------------------------------------------------------------------------


def _wav_files(directory: Path) -> list[Path]:
    """All ``.wav`` files below ``directory`` (any case of the suffix), sorted for determinism."""
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())


_EMODB_NAME = re.compile(r"^(?P<speaker>\d\d)(?P<text>[ab]\d\d)(?P<emotion>[A-Z])(?P<version>[a-z])$")
_EMODB_EMOTIONS = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}
_EMODB_GENDERS = dict.fromkeys(("03", "10", "11", "12", "15"), "m") | dict.fromkeys(("08", "09", "13", "14", "16"), "f")


def _emodb_record(path: Path) -> dict | None:
    """Parse EMO-DB (and the synthetic corpus, which copies its naming).

    Layout: the official ``download.zip`` (http://emodb.bilderbar.info/download/download.zip)
    unpacks to ``wav/`` beside label folders; files are ``<root>/wav/SSTTTEV.wav`` with SS the
    speaker (03, 08-16), TTT the text code (a01 ... b10), E the emotion letter (W angry, L boredom,
    E disgust, A fear, F happy, T sad, N neutral; German initials) and V the version letter.
    ``root`` may also be the folder holding the ``.wav`` files (see :func:`_emodb_files`). Genders
    follow the corpus documentation: speakers 03, 10, 11, 12, 15 are male; 08, 09, 13, 14, 16 female.
    Every emotion of EMO-DB is in scope, so nothing is excluded.
    """
    match = _EMODB_NAME.match(path.stem)
    if match is None or match["emotion"] not in _EMODB_EMOTIONS or match["speaker"] not in _EMODB_GENDERS:
        return None
    return {"label": _EMODB_EMOTIONS[match["emotion"]], "speaker": match["speaker"],
            "gender": _EMODB_GENDERS[match["speaker"]], "text": match["text"], "version": match["version"]}


def _emodb_files(root: Path) -> list[Path]:
    """The ``.wav`` files of ``<root>/wav``, or of ``root`` when it has no ``wav/`` folder.

    EMO-DB-named files outside ``wav/`` (e.g. unpacked beside it) are ignored with a warning.
    """
    audio_dir = root / "wav" if (root / "wav").is_dir() else root
    if audio_dir != root:
        outside = [p for p in _wav_files(root) if not p.is_relative_to(audio_dir) and _EMODB_NAME.match(p.stem)]
        if outside:
            warnings.warn(f"{len(outside)} EMO-DB-named file(s) outside {audio_dir} were ignored (only wav/ is read): "
                          + _format_examples([p.relative_to(root) for p in outside]), UserWarning, stacklevel=4)
    return _wav_files(audio_dir)


# Audio-only (modality 03) speech (vocal channel 01): emotion, intensity, statement, repetition, actor.
_RAVDESS_SPEECH = re.compile(r"^03-01-(?P<emotion>0[1-8])-(?P<intensity>0[12])-(?P<statement>0[12])"
                             r"-(?P<repetition>0[12])-(?P<actor>0[1-9]|1\d|2[0-4])$")
# Song (vocal channel 02) and the video modalities (01 audio-video, 02 video-only) of the same corpus.
_RAVDESS_OUT_OF_SCOPE = re.compile(r"^(0[12]-0[12]|03-02)(-\d\d){5}$")
_RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
                     "05": "angry", "06": "fear", "07": "disgust", "08": "surprise"}  # fmt: skip
_RAVDESS_INTENSITIES = {"01": "normal", "02": "strong"}


def _ravdess_record(path: Path) -> dict | None:
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
    if _RAVDESS_OUT_OF_SCOPE.match(path.stem):
        return {"label": None}
    if (match := _RAVDESS_SPEECH.match(path.stem)) is None:
        return None
    actor = int(match["actor"])
    return {"label": _RAVDESS_EMOTIONS[match["emotion"]], "speaker": match["actor"],
            "gender": "m" if actor % 2 == 1 else "f", "intensity": _RAVDESS_INTENSITIES[match["intensity"]],
            "statement": int(match["statement"]), "repetition": int(match["repetition"]), "actor": actor}


_SAVEE_EMOTIONS = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral",
                   "sa": "sad", "su": "surprise"}  # fmt: skip
# Matched against "<folder>/<stem>": the original "DC/a01" or the flat "DC_a01" (in any folder).
_SAVEE_NAME = re.compile(r"(?:^|/)(?P<speaker>DC|JE|JK|KL)[/_](?P<code>sa|su|a|d|f|h|n)(?P<number>\d\d)$")


def _savee_record(path: Path) -> dict | None:
    """Parse SAVEE (http://kahlan.eps.surrey.ac.uk/savee/, free for research after registration).

    Layouts: the original ``AudioData/<SPK>/<code><NN>.wav`` with speakers DC, JE, JK, KL (all
    male) and codes a (angry), d (disgust), f (fear), h (happy), n (neutral), sa (sad),
    su (surprise); or the widespread flat variant ``<SPK>_<code><NN>.wav`` (e.g. ``DC_a01.wav``)
    anywhere under ``root``. The ``sentence`` column holds ``<code><NN>`` (e.g. ``sa03``), which
    identifies the sentence within a speaker's recordings. 480 files: neutral 120, others 60.
    """
    if (match := _SAVEE_NAME.search(f"{path.parent.name}/{path.stem}")) is None:
        return None
    return {"label": _SAVEE_EMOTIONS[match["code"]], "gender": "m", "speaker": match["speaker"],
            "sentence": f"{match['code']}{match['number']}"}


_EMOVO_EMOTIONS = {"dis": "disgust", "gio": "happy", "neu": "neutral", "pau": "fear",
                   "rab": "angry", "sor": "surprise", "tri": "sad"}  # fmt: skip
_EMOVO_NAME = re.compile(r"^(?P<emotion>dis|gio|neu|pau|rab|sor|tri)-(?P<speaker>[fm][123])"
                         r"-(?P<sentence>b[1-3]|l[1-4]|n[1-5]|d[12])$")


def _emovo_record(path: Path) -> dict | None:
    """Parse EMOVO (http://voice.fub.it/activities/corpora/emovo/index.html).

    Layout: ``<root>/[EMOVO/]<spk>/<emo>-<spk>-<sentence>.wav``, searched recursively because the
    zip usually has an ``EMOVO/`` top folder. Speakers f1 f2 f3 m1 m2 m3 (gender from the letter);
    emotion codes (Italian) dis disgust, gio happy (gioia), neu neutral, pau fear (paura), rab angry
    (rabbia), sor surprise (sorpresa), tri sad (tristezza); sentences b1-b3, l1-l4, n1-n5, d1-d2.
    588 files (84 per class).
    """
    if (match := _EMOVO_NAME.match(path.stem)) is None:
        return None
    return {"label": _EMOVO_EMOTIONS[match["emotion"]], "speaker": match["speaker"],
            "gender": match["speaker"][0], "sentence": match["sentence"]}


# Keys are lower-case because copies of the corpus differ in the capitalisation of the folders.
_CASIA_SPEAKERS = {"liuchanhg": ("liuchanhg", "f"), "wangzhe": ("wangzhe", "m"),
                   "zhaoquanyin": ("zhaoquanyin", "f"), "zhaozuoxiang": ("ZhaoZuoxiang", "m")}  # fmt: skip


def _casia_record(path: Path) -> dict | None:
    """Parse the public 1,200-utterance CASIA subset (Chinese LDC, http://www.chineseldc.org/).

    Layout: ``<root>/.../<speaker>/<emotion>/<id>.wav``, searched recursively; speakers liuchanhg (f),
    wangzhe (m), zhaoquanyin (f), ZhaoZuoxiang (m) (folder case is ignored); emotion folders angry,
    fear, happy, neutral, sad, surprise; 50 utterances per speaker and emotion. The ``utterance``
    column is the file stem (the same ids recur across speakers and emotions).
    """
    emotion = path.parent.name.lower()
    speaker = _CASIA_SPEAKERS.get(path.parent.parent.name.lower())
    if emotion not in CORPORA["casia"].classes or speaker is None:
        return None
    return {"label": emotion, "speaker": speaker[0], "gender": speaker[1], "utterance": path.stem}


# None marks the emotions outside the four classes, left out by design.
_IEMOCAP_EMOTIONS = {"ang": "angry", "hap": "happy", "exc": "happy", "neu": "neutral", "sad": "sad",
                     "fru": None, "sur": None, "fea": None, "dis": None, "oth": None, "xxx": None}  # fmt: skip
# e.g. "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]"
_IEMOCAP_LABEL_LINE = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(?P<utterance>\S+)\s+(?P<code>\w+)\s+\[")
_IEMOCAP_UTTERANCE = re.compile(r"^Ses(?P<session>0[1-5])[FM]_(?P<rest>.+)_(?P<gender>[FM])\d{3}$")


def _iemocap_labels(data_dir: Path) -> dict[str, str]:
    """Map utterance id -> 3-letter emotion code from ``Session*/dialog/EmoEvaluation/*.txt``.

    Only the summary lines (``[start - end]<TAB>utterance<TAB>code<TAB>[v, a, d]``) carry the consensus
    label; the header and the per-annotator lines (``C-E1:``, ``A-E2:`` ...) are skipped.
    """
    files = sorted(data_dir.glob("Session[1-5]/dialog/EmoEvaluation/*.txt"))
    lines = (line for txt in files for line in txt.read_text(encoding="utf-8", errors="replace").splitlines())
    return {match["utterance"]: match["code"] for match in map(_IEMOCAP_LABEL_LINE.match, lines) if match}


def _parse_iemocap(root: Path, subset: str) -> dict[Path, dict | None]:
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
    nested = root / "IEMOCAP_full_release"  # Session1..5 are in root itself or in this folder
    data_dir = nested if not any(root.glob("Session[1-5]")) and any(nested.glob("Session[1-5]")) else root
    labels = _iemocap_labels(data_dir)
    files = [path for folder in sorted(data_dir.glob("Session[1-5]/sentences/wav")) for path in _wav_files(folder)]
    return {path: _iemocap_record(path, labels.get(path.stem), subset) for path in files}


def _iemocap_record(path: Path, code: str | None, subset: str) -> dict | None:
    """One IEMOCAP utterance with its emotion ``code`` (None without a label line); see :func:`_parse_iemocap`."""
    match = _IEMOCAP_UTTERANCE.match(path.stem)
    dialog = path.parent.name
    mode = "improvised" if "_impro" in dialog else "scripted" if "_script" in dialog else None
    if match is None or mode is None or code not in _IEMOCAP_EMOTIONS or not path.stem.startswith(dialog + "_"):
        return None
    return {"label": _IEMOCAP_EMOTIONS[code] if subset in ("all", mode) else None,
            "speaker": f"Ses{match['session']}{match['gender']}", "gender": match["gender"].lower(),
            "session": int(match["session"]), "dialog": dialog, "mode": mode, "emotion_code": code,
            "utterance": path.stem}


def _parse(name: str, root: Path, subset: str | None) -> dict[Path, dict | None]:
    """Parse every audio file of corpus ``name`` under ``root``: its record, or None if its name is not understood.

    A record whose label is None is a file understood but left out by design (e.g. a RAVDESS song file).
    """
    if name == "iemocap":
        return _parse_iemocap(root, subset or "all")
    files = _emodb_files(root) if name in ("emodb", "synthetic") else _wav_files(root)
    record_of = {"emodb": _emodb_record, "synthetic": _emodb_record, "ravdess": _ravdess_record,
                 "savee": _savee_record, "emovo": _emovo_record, "casia": _casia_record}[name]
    return {path: record_of(path) for path in files}


# --------------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------------


def _audio_header(path: Path) -> tuple[float, int]:
    """Duration (s) and sample rate from a file's header, without decoding the audio."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as error:
        raise ValueError(f"Cannot read the audio header of {path} ({error}). The file is empty or damaged: "
                         "re-download or re-extract the corpus.") from None
    if info.frames == 0 or info.samplerate <= 0:
        raise ValueError(f"{path} holds no audio samples. Re-download or re-extract the corpus.")
    return info.frames / info.samplerate, info.samplerate


def _format_examples(items: list, separator: str = ", ") -> str:
    """The first few items (paths, messages) joined by ``separator``, and how many more there are."""
    more = f"{separator}... and {len(items) - _MAX_EXAMPLES} more" if len(items) > _MAX_EXAMPLES else ""
    return separator.join(str(item) for item in items[:_MAX_EXAMPLES]) + more


def _records_to_frame(info: CorpusInfo, records: list[dict]) -> pd.DataFrame:
    """Turn parser records into the ordered manifest, reading each file's header for its duration.

    Rows go class by class, then by file name; the path breaks ties (CASIA ids recur across speakers).
    """
    records = sorted(records, key=lambda r: (info.classes.index(r["label"]), r["path"].name, str(r["path"])))
    headers = pd.DataFrame([_audio_header(record["path"]) for record in records], columns=["duration_s", "sample_rate"])
    frame = pd.DataFrame.from_records(records).join(headers)  # float64 seconds, int64 Hz
    frame["path"] = frame["path"].map(str)
    frame["corpus"] = info.name
    frame["label"] = pd.Categorical(frame["label"], categories=list(info.classes), ordered=True)
    leading = ["path", "corpus", "label", "speaker", "gender", "duration_s", "sample_rate"]
    return frame[leading + [column for column in frame.columns if column not in leading]]


def _refuse_duplicates(records: list[dict], root: Path) -> None:
    """Two files of the same speaker with the same name are one utterance twice (e.g. a copied folder),
    which would put the same audio in training and test."""
    copies: dict[tuple, list[Path]] = {}
    for record in records:
        copies.setdefault((record["speaker"], record["label"], record["path"].stem), []).append(record["path"])
    clashes = [" and ".join(map(str, paths)) for paths in copies.values() if len(paths) > 1]
    if clashes:
        raise ValueError(f"{len(clashes)} utterance(s) appear twice under {root} (a copied folder?); the same audio "
                         "would land in training and test. Remove one copy of each:\n  "
                         + _format_examples(clashes, "\n  "))


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

    found = _parse(name, directory, subset)
    records = [{"path": path, **record} for path, record in found.items() if record and record["label"]]
    unrecognised = [path.relative_to(directory) for path, record in found.items() if record is None]
    excluded = len(found) - len(records) - len(unrecognised)
    examples = _format_examples(unrecognised)
    if not records:
        problem = f"no recognisable {name} audio files in the directory"
        if unrecognised:
            problem += f"; it holds {len(unrecognised)} .wav file(s) with unexpected names, e.g. {examples}"
        if excluded:
            problem += f" ({excluded} file(s) left out by design: emotions outside the label set or subset)"
        raise _not_found(info, directory, problem)
    if unrecognised:
        message = (f"{len(unrecognised)} .wav file(s) under {directory} do not follow the {name} naming "
                   f"({info.layout}) and were left out of the manifest: {examples}. "
                   "Rename or remove them, or pass strict=True to make this an error.")
        if strict:
            raise ValueError(message)
        warnings.warn(message, UserWarning, stacklevel=2)

    _refuse_duplicates(records, directory)
    manifest = _records_to_frame(info, records)
    manifest.attrs.update(corpus=name, classes=list(info.classes), root=str(directory), excluded=excluded)
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
    return directory.is_dir() and any(record and record["label"] for record in _parse(name, directory, None).values())


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
