"""Tests for ser_common.corpora: the registry, corpus_root, and one manifest parser per corpus.

Each corpus gets a small fake tree in tmp_path that mirrors its distributed layout, with tiny real
WAV files (so durations come from real headers). A last test reads the real EMO-DB copy in
../shared/data when it is there.
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_common.corpora import (
    CORPORA,
    LABELS,
    CorpusNotFoundError,
    class_names,
    corpus_present,
    corpus_root,
    label_codes,
    load_manifest,
)

SAMPLE_RATE = 16_000
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@lru_cache(maxsize=None)
def _wav_bytes(seconds: float) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32), SAMPLE_RATE, format="WAV")
    return buffer.getvalue()


def write_wav(path: Path, seconds: float = 0.1) -> Path:
    """Write a tiny silent 16 kHz WAV (bytes generated once per duration)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_wav_bytes(seconds))
    return path


def write_tree(root: Path, relative_paths: list[str]) -> Path:
    for relative in relative_paths:
        write_wav(root / relative)
    return root


def assert_canonical_order(manifest: pd.DataFrame) -> None:
    """Rows sorted by class index, then by file name; index 0..N-1."""
    keys = list(zip(label_codes(manifest), manifest["path"].map(lambda p: Path(p).name)))
    assert keys == sorted(keys)
    assert manifest.index.tolist() == list(range(len(manifest)))


def load_quietly(*args, **kwargs) -> pd.DataFrame:
    """load_manifest that fails the test on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_manifest(*args, **kwargs)


# --------------------------------------------------------------------------------------------------
# Registry and locations
# --------------------------------------------------------------------------------------------------

EXPECTED_CLASSES = {
    "emodb": ("angry", "boredom", "disgust", "fear", "happy", "neutral", "sad"),
    "ravdess": ("angry", "calm", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "savee": ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "emovo": ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "casia": ("angry", "fear", "happy", "neutral", "sad", "surprise"),
    "iemocap": ("angry", "happy", "neutral", "sad"),
    "synthetic": ("angry", "boredom", "disgust", "fear", "happy", "neutral", "sad"),
}


def test_registry_class_orders_match_the_papers():
    assert {name: info.classes for name, info in CORPORA.items()} == EXPECTED_CLASSES
    assert set(LABELS) == {label for classes in EXPECTED_CLASSES.values() for label in classes}


def test_registry_entries_are_complete_and_frozen():
    for name, info in CORPORA.items():
        assert info.name == name
        assert info.title and info.licence and info.layout and info.obtain
        assert info.native_sample_rate in (16_000, 44_100, 48_000)
    with pytest.raises(AttributeError):
        CORPORA["emodb"].classes = ("angry",)


def test_corpus_root_prefers_explicit_root(tmp_path, monkeypatch):
    monkeypatch.setenv("SER_DATA_DIR", str(tmp_path / "env"))
    assert corpus_root("emodb", tmp_path / "mine") == tmp_path / "mine"


def test_corpus_root_uses_ser_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SER_DATA_DIR", str(tmp_path))
    assert corpus_root("ravdess") == tmp_path / "ravdess"


def test_corpus_root_falls_back_to_data_in_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("SER_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert corpus_root("savee") == tmp_path / "data" / "savee"
    monkeypatch.setenv("SER_DATA_DIR", "")  # an empty variable counts as unset
    assert corpus_root("savee") == tmp_path / "data" / "savee"


def test_load_manifest_finds_corpus_through_env_and_cwd(tmp_path, monkeypatch):
    write_tree(tmp_path / "env" / "emodb", ["wav/03a01Wa.wav"])
    write_tree(tmp_path / "data" / "emodb", ["wav/03a01Wa.wav", "wav/08a01Na.wav"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SER_DATA_DIR", str(tmp_path / "env"))
    assert len(load_quietly("emodb")) == 1
    monkeypatch.delenv("SER_DATA_DIR")
    assert len(load_quietly("emodb")) == 2


def test_unknown_corpus_lists_known_names():
    with pytest.raises(ValueError, match="emodb.*iemocap.*synthetic"):
        corpus_root("berlin")
    with pytest.raises(ValueError, match="known corpora"):
        load_manifest("EMODB")


# --------------------------------------------------------------------------------------------------
# Missing or unusable data
# --------------------------------------------------------------------------------------------------


def test_missing_directory_error_names_path_url_and_fetch(tmp_path):
    missing = tmp_path / "nowhere" / "emodb"
    with pytest.raises(CorpusNotFoundError) as caught:
        load_manifest("emodb", missing)
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert str(missing) in message
    assert "http://emodb.bilderbar.info/" in message
    assert "fetch_corpus('emodb'" in message
    assert "wav/SSTTTEV.wav" in message  # the expected layout


def test_missing_licensed_corpus_explains_how_to_get_it(tmp_path):
    with pytest.raises(CorpusNotFoundError) as caught:
        load_manifest("iemocap", tmp_path / "iemocap")
    message = str(caught.value)
    assert str(tmp_path / "iemocap") in message
    assert "https://sail.usc.edu/iemocap/" in message
    assert "release form" in message
    assert "fetch_corpus" not in message


def test_directory_without_corpus_audio_is_not_found(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(CorpusNotFoundError, match="no recognisable ravdess audio"):
        load_manifest("ravdess", tmp_path)
    write_wav(tmp_path / "take1.wav")
    with pytest.raises(CorpusNotFoundError, match="take1.wav"):
        load_manifest("ravdess", tmp_path)


def test_corpus_present_checks_names_only(tmp_path):
    assert not corpus_present("emodb", tmp_path / "missing")
    (tmp_path / "wav").mkdir()
    assert not corpus_present("emodb", tmp_path)
    (tmp_path / "wav" / "03a01Wa.wav").write_bytes(b"")  # damaged, but named like EMO-DB
    assert corpus_present("emodb", tmp_path)
    assert not corpus_present("ravdess", tmp_path)


def test_unreadable_header_names_the_file(tmp_path):
    write_tree(tmp_path, ["wav/03a01Wa.wav"])
    empty = tmp_path / "wav" / "08a01Na.wav"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="08a01Na.wav"):
        load_manifest("emodb", tmp_path)


# --------------------------------------------------------------------------------------------------
# EMO-DB and synthetic
# --------------------------------------------------------------------------------------------------

EMODB_FILES = ["16b10Tc.wav", "03a01Wa.wav", "08a02Fb.wav", "10a05Lb.wav", "09a01Ea.wav", "11a07Ab.wav",
               "13a01Nc.wav", "03a02Wb.wav"]  # fmt: skip


def test_emodb_labels_speakers_genders_and_extras(tmp_path):
    write_tree(tmp_path / "wav", EMODB_FILES)
    write_wav(tmp_path / "wav" / "12b01Ta.wav", seconds=0.25)
    (tmp_path / "lablaut").mkdir()  # other folders of the official zip are ignored

    manifest = load_quietly("emodb", tmp_path)

    by_name = manifest.set_index(manifest["path"].map(lambda p: Path(p).name))
    assert by_name.loc["03a01Wa.wav", ["label", "speaker", "gender", "text", "version"]].tolist() == [
        "angry", "03", "m", "a01", "a"]  # fmt: skip
    assert by_name.loc["16b10Tc.wav", ["label", "speaker", "gender", "text", "version"]].tolist() == [
        "sad", "16", "f", "b10", "c"]  # fmt: skip
    assert dict(zip(by_name.index, by_name["label"])) == {
        "03a01Wa.wav": "angry", "03a02Wb.wav": "angry", "10a05Lb.wav": "boredom", "09a01Ea.wav": "disgust",
        "11a07Ab.wav": "fear", "08a02Fb.wav": "happy", "13a01Nc.wav": "neutral", "12b01Ta.wav": "sad",
        "16b10Tc.wav": "sad"}  # fmt: skip
    assert by_name.loc["12b01Ta.wav", "duration_s"] == pytest.approx(0.25)
    assert by_name.loc["03a01Wa.wav", "duration_s"] == pytest.approx(0.1)
    assert (manifest["sample_rate"] == SAMPLE_RATE).all()
    assert (manifest["corpus"] == "emodb").all()
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in manifest["path"])
    assert manifest.attrs["corpus"] == "emodb"
    assert manifest.attrs["classes"] == list(EXPECTED_CLASSES["emodb"])


def test_emodb_row_order_is_class_then_file_name(tmp_path):
    write_tree(tmp_path / "wav", EMODB_FILES + ["12b01Ta.wav"])
    manifest = load_quietly("emodb", tmp_path)
    assert [Path(p).name for p in manifest["path"]] == [
        "03a01Wa.wav", "03a02Wb.wav", "10a05Lb.wav", "09a01Ea.wav", "11a07Ab.wav", "08a02Fb.wav",
        "13a01Nc.wav", "12b01Ta.wav", "16b10Tc.wav"]  # fmt: skip
    assert_canonical_order(manifest)


def test_emodb_label_is_an_ordered_categorical_in_class_order(tmp_path):
    write_tree(tmp_path / "wav", ["16b10Tc.wav", "03a01Wa.wav"])  # only two classes present
    manifest = load_quietly("emodb", tmp_path)
    assert isinstance(manifest["label"].dtype, pd.CategoricalDtype)
    assert manifest["label"].cat.ordered
    assert class_names(manifest) == list(EXPECTED_CLASSES["emodb"])
    codes = label_codes(manifest)
    assert codes.dtype == np.int64
    assert codes.tolist() == [0, 6]


def test_emodb_root_may_be_the_wav_folder(tmp_path):
    write_tree(tmp_path / "wav", EMODB_FILES)
    assert load_quietly("emodb", tmp_path / "wav")["path"].tolist() == load_quietly("emodb", tmp_path)["path"].tolist()


def test_unrecognised_names_warn_with_count_and_examples(tmp_path):
    write_tree(tmp_path / "wav", ["03a01Wa.wav", "03a01Xa.wav", "README.wav", "99a01Wa.wav"])
    with pytest.warns(UserWarning, match=r"3 \.wav file\(s\)") as caught:
        manifest = load_manifest("emodb", tmp_path)
    message = str(caught[0].message)
    assert "03a01Xa.wav" in message and "README.wav" in message and "99a01Wa.wav" in message
    assert "strict=True" in message
    assert len(manifest) == 1


def test_unrecognised_examples_are_capped_at_five(tmp_path):
    write_tree(tmp_path / "wav", ["03a01Wa.wav"] + [f"noise{i}.wav" for i in range(7)])
    with pytest.warns(UserWarning, match="7 .wav file") as caught:
        load_manifest("emodb", tmp_path)
    message = str(caught[0].message)
    assert "and 2 more" in message
    assert "noise4.wav" in message and "noise5.wav" not in message


def test_strict_turns_unrecognised_names_into_an_error(tmp_path):
    write_tree(tmp_path / "wav", ["03a01Wa.wav", "README.wav"])
    with pytest.raises(ValueError, match="README.wav"):
        load_manifest("emodb", tmp_path, strict=True)


def test_synthetic_uses_the_emodb_naming(tmp_path):
    write_tree(tmp_path / "wav", ["08a01Wa.wav", "03a02Ta.wav", "15b01Na.wav"])
    (tmp_path / "synthetic.json").write_text("{}")
    manifest = load_quietly("synthetic", tmp_path)
    assert (manifest["corpus"] == "synthetic").all()
    assert manifest.attrs["corpus"] == "synthetic"
    assert manifest[["label", "speaker", "gender"]].astype(str).values.tolist() == [
        ["angry", "08", "f"], ["neutral", "15", "m"], ["sad", "03", "m"]]  # fmt: skip


def test_subset_is_only_for_iemocap(tmp_path):
    write_tree(tmp_path / "wav", ["03a01Wa.wav"])
    with pytest.raises(ValueError, match="only meaningful for 'iemocap'"):
        load_manifest("emodb", tmp_path, subset="all")


def test_label_helpers_reject_non_manifests():
    with pytest.raises(ValueError, match="categorical 'label'"):
        label_codes(pd.DataFrame({"label": ["angry"]}))
    with pytest.raises(ValueError, match="categorical 'label'"):
        class_names(pd.DataFrame({"path": ["x.wav"]}))


# --------------------------------------------------------------------------------------------------
# RAVDESS
# --------------------------------------------------------------------------------------------------


def test_ravdess_speech_files_are_parsed(tmp_path):
    write_tree(tmp_path, [
        "Actor_01/03-01-05-02-01-01-01.wav",  # angry, strong, kids, rep 1, actor 1 (male)
        "Actor_01/03-01-02-01-02-02-01.wav",  # calm
        "Actor_12/03-01-06-01-02-01-12.wav",  # fearful -> fear, actor 12 (female)
        "Actor_12/03-01-08-02-01-02-12.wav",  # surprised -> surprise
        "Actor_24/03-01-01-01-01-01-24.wav",  # neutral
        "Actor_24/03-01-07-01-01-01-24.wav",  # disgust
        "Actor_03/03-01-03-01-01-01-03.wav",  # happy
        "Actor_03/03-01-04-01-01-01-03.wav",  # sad
    ])  # fmt: skip
    manifest = load_quietly("ravdess", tmp_path)

    assert manifest["label"].astype(str).tolist() == list(EXPECTED_CLASSES["ravdess"])
    first = manifest.iloc[0]
    assert (first["speaker"], first["gender"], first["actor"]) == ("01", "m", 1)
    assert (first["intensity"], first["statement"], first["repetition"]) == ("strong", 1, 1)
    fear = manifest[manifest["label"] == "fear"].iloc[0]
    assert (fear["speaker"], fear["gender"], fear["intensity"], fear["statement"]) == ("12", "f", "normal", 2)
    assert manifest.set_index("label", drop=False).loc["surprise", "repetition"] == 2
    assert_canonical_order(manifest)


def test_ravdess_song_files_are_excluded_without_warning(tmp_path):
    write_tree(tmp_path, [
        "Actor_01/03-01-05-02-01-01-01.wav",
        "Actor_01/03-02-05-02-01-01-01.wav",  # song (vocal channel 02): out of scope
        "Actor_02/03-02-03-01-01-01-02.wav",
    ])  # fmt: skip
    manifest = load_quietly("ravdess", tmp_path)
    assert [Path(p).name for p in manifest["path"]] == ["03-01-05-02-01-01-01.wav"]
    assert manifest.attrs["excluded"] == 2


def test_ravdess_malformed_codes_are_reported(tmp_path):
    write_tree(tmp_path, ["Actor_01/03-01-05-02-01-01-01.wav", "Actor_01/03-01-09-01-01-01-01.wav",
                          "Actor_01/03-01-01-01-01-01-25.wav"])  # fmt: skip
    with pytest.warns(UserWarning, match="2 .wav file"):
        assert len(load_manifest("ravdess", tmp_path)) == 1


# --------------------------------------------------------------------------------------------------
# SAVEE
# --------------------------------------------------------------------------------------------------


def test_savee_original_and_flat_layouts(tmp_path):
    write_tree(tmp_path, [
        "AudioData/DC/a01.wav", "AudioData/DC/sa02.wav", "AudioData/JK/su15.wav", "AudioData/KL/n30.wav",
        "AudioData/JE/d03.wav", "AudioData/JE/f04.wav",
        "flat/ALL/JE_h01.wav",
    ])  # fmt: skip
    manifest = load_quietly("savee", tmp_path)
    rows = manifest[["label", "speaker", "gender", "sentence"]].astype(str).values.tolist()
    assert rows == [
        ["angry", "DC", "m", "a01"], ["disgust", "JE", "m", "d03"], ["fear", "JE", "m", "f04"],
        ["happy", "JE", "m", "h01"], ["neutral", "KL", "m", "n30"], ["sad", "DC", "m", "sa02"],
        ["surprise", "JK", "m", "su15"]]  # fmt: skip
    assert_canonical_order(manifest)


def test_savee_code_outside_a_speaker_folder_is_reported(tmp_path):
    write_tree(tmp_path, ["AudioData/DC/a01.wav", "AudioData/XX/a01.wav", "AudioData/DC/x01.wav"])
    with pytest.warns(UserWarning, match="2 .wav file"):
        assert len(load_manifest("savee", tmp_path)) == 1


# --------------------------------------------------------------------------------------------------
# EMOVO
# --------------------------------------------------------------------------------------------------


def test_emovo_nested_layout(tmp_path):
    write_tree(tmp_path, [
        "EMOVO/f1/dis-f1-b1.wav", "EMOVO/m2/gio-m2-l3.wav", "EMOVO/f3/neu-f3-n5.wav",
        "EMOVO/m1/pau-m1-d2.wav", "EMOVO/m3/rab-m3-b2.wav", "EMOVO/f2/sor-f2-l4.wav",
        "EMOVO/m1/tri-m1-n1.wav",
    ])  # fmt: skip
    manifest = load_quietly("emovo", tmp_path)
    rows = manifest[["label", "speaker", "gender", "sentence"]].astype(str).values.tolist()
    assert rows == [
        ["angry", "m3", "m", "b2"], ["disgust", "f1", "f", "b1"], ["fear", "m1", "m", "d2"],
        ["happy", "m2", "m", "l3"], ["neutral", "f3", "f", "n5"], ["sad", "m1", "m", "n1"],
        ["surprise", "f2", "f", "l4"]]  # fmt: skip


def test_emovo_unknown_emotion_or_sentence_is_reported(tmp_path):
    write_tree(tmp_path, ["f1/dis-f1-b1.wav", "f1/xyz-f1-b1.wav", "f1/dis-f1-z9.wav"])
    with pytest.warns(UserWarning, match="2 .wav file"):
        assert len(load_manifest("emovo", tmp_path)) == 1


# --------------------------------------------------------------------------------------------------
# CASIA
# --------------------------------------------------------------------------------------------------


def test_casia_speaker_emotion_folders(tmp_path):
    write_tree(tmp_path, [
        "CASIA/wangzhe/angry/201.wav", "CASIA/liuchanhg/angry/201.wav", "CASIA/liuchanhg/angry/202.wav",
        "CASIA/ZhaoZuoxiang/surprise/250.wav", "CASIA/zhaoquanyin/fear/215.wav",
        "CASIA/wangzhe/neutral/230.wav", "CASIA/zhaoquanyin/sad/240.wav", "CASIA/wangzhe/happy/205.wav",
    ])  # fmt: skip
    manifest = load_quietly("casia", tmp_path)
    rows = manifest[["label", "speaker", "gender", "utterance"]].astype(str).values.tolist()
    assert rows == [
        # Same file name in one class: the path breaks the tie, so liuchanhg comes before wangzhe.
        ["angry", "liuchanhg", "f", "201"], ["angry", "wangzhe", "m", "201"], ["angry", "liuchanhg", "f", "202"],
        ["fear", "zhaoquanyin", "f", "215"], ["happy", "wangzhe", "m", "205"], ["neutral", "wangzhe", "m", "230"],
        ["sad", "zhaoquanyin", "f", "240"], ["surprise", "ZhaoZuoxiang", "m", "250"]]  # fmt: skip


def test_casia_unknown_folders_are_reported(tmp_path):
    write_tree(tmp_path, ["wangzhe/angry/201.wav", "wangzhe/bored/201.wav", "someone/angry/201.wav"])
    with pytest.warns(UserWarning, match="2 .wav file"):
        assert len(load_manifest("casia", tmp_path)) == 1


# --------------------------------------------------------------------------------------------------
# IEMOCAP
# --------------------------------------------------------------------------------------------------

IEMOCAP_LABELS = {
    # utterance: emotion code
    "Ses01F_impro01_F000": "neu",
    "Ses01F_impro01_M000": "exc",
    "Ses01F_impro01_F001": "fru",
    "Ses01F_impro01_M001": "hap",
    "Ses01M_script01_1_F000": "ang",
    "Ses01M_script01_1_M000": "sad",
    "Ses01M_script01_1_F001": "xxx",
    "Ses02F_impro02_M000": "sad",
}


def _evaluation_text(utterances: dict[str, str]) -> str:
    """An EmoEvaluation file: header, summary lines and annotator lines, as distributed."""
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    for i, (utterance, code) in enumerate(utterances.items()):
        lines += [
            f"[{i * 3 + 0.25:.4f} - {i * 3 + 2.5:.4f}]\t{utterance}\t{code}\t[2.5000, 2.5000, 2.5000]",
            "C-E1:\tNeutral;\t()",
            "C-E2:\tExcited;\t(some comment)",
            "A-E3:\tval 3; act 2; dom  2;\t()",
            "",
        ]
    return "\n".join(lines)


def make_iemocap(root: Path, unlabelled: tuple[str, ...] = ()) -> Path:
    for utterance in list(IEMOCAP_LABELS) + list(unlabelled):
        dialog = utterance.rsplit("_", 1)[0]
        write_wav(root / f"Session{int(utterance[3:5])}" / "sentences" / "wav" / dialog / f"{utterance}.wav")
    by_dialog: dict[str, dict[str, str]] = {}
    for utterance, code in IEMOCAP_LABELS.items():
        by_dialog.setdefault(utterance.rsplit("_", 1)[0], {})[utterance] = code
    for dialog, utterances in by_dialog.items():
        evaluation = root / f"Session{int(dialog[3:5])}" / "dialog" / "EmoEvaluation"
        (evaluation / "Categorical").mkdir(parents=True, exist_ok=True)
        (evaluation / f"{dialog}.txt").write_text(_evaluation_text(utterances))
    return root


def test_iemocap_labels_merge_excited_into_happy(tmp_path):
    manifest = load_quietly("iemocap", make_iemocap(tmp_path))
    assert manifest["utterance"].tolist() == [
        "Ses01M_script01_1_F000",  # angry
        "Ses01F_impro01_M000", "Ses01F_impro01_M001",  # happy: exc and hap
        "Ses01F_impro01_F000",  # neutral
        "Ses01M_script01_1_M000", "Ses02F_impro02_M000",  # sad
    ]  # fmt: skip
    assert manifest["emotion_code"].tolist() == ["ang", "exc", "hap", "neu", "sad", "sad"]
    assert manifest.attrs["excluded"] == 2  # fru and xxx
    assert class_names(manifest) == ["angry", "happy", "neutral", "sad"]
    assert_canonical_order(manifest)


def test_iemocap_speaker_comes_from_the_utterance_suffix(tmp_path):
    manifest = load_quietly("iemocap", make_iemocap(tmp_path)).set_index("utterance")
    # Dialog recorded as Ses01F, but the M000 turn is spoken by the session's male actor.
    assert manifest.loc["Ses01F_impro01_M000", ["speaker", "gender"]].tolist() == ["Ses01M", "m"]
    assert manifest.loc["Ses01M_script01_1_F000", ["speaker", "gender"]].tolist() == ["Ses01F", "f"]
    assert manifest.loc["Ses02F_impro02_M000", ["speaker", "session", "dialog", "mode"]].tolist() == [
        "Ses02M", 2, "Ses02F_impro02", "improvised"]  # fmt: skip
    assert manifest.loc["Ses01M_script01_1_M000", ["dialog", "mode"]].tolist() == ["Ses01M_script01_1", "scripted"]


def test_iemocap_subsets(tmp_path):
    make_iemocap(tmp_path)
    improvised = load_quietly("iemocap", tmp_path, subset="improvised")
    scripted = load_quietly("iemocap", tmp_path, subset="scripted")
    assert set(improvised["mode"]) == {"improvised"} and len(improvised) == 4
    assert set(scripted["mode"]) == {"scripted"} and len(scripted) == 2
    assert len(load_quietly("iemocap", tmp_path, subset="all")) == 6
    with pytest.raises(ValueError, match="subset must be one of"):
        load_manifest("iemocap", tmp_path, subset="impro")


def test_iemocap_wav_without_label_line_is_reported(tmp_path):
    make_iemocap(tmp_path, unlabelled=("Ses01F_impro01_F002",))
    with pytest.warns(UserWarning, match="1 .wav file.*Ses01F_impro01_F002.wav"):
        assert len(load_manifest("iemocap", tmp_path)) == 6
    with pytest.raises(ValueError, match="Ses01F_impro01_F002"):
        load_manifest("iemocap", tmp_path, strict=True)


def test_iemocap_root_may_contain_the_release_folder(tmp_path):
    make_iemocap(tmp_path / "IEMOCAP_full_release")
    assert len(load_quietly("iemocap", tmp_path)) == 6


# --------------------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_real_emodb_counts(monkeypatch):
    if not (SHARED_DATA / "emodb" / "wav").is_dir():
        pytest.skip(f"real EMO-DB not found at {SHARED_DATA / 'emodb' / 'wav'} (checkout without ../shared/data)")
    monkeypatch.setenv("SER_DATA_DIR", str(SHARED_DATA))

    manifest = load_quietly("emodb")

    assert len(manifest) == 535
    assert manifest["label"].value_counts(sort=False).to_dict() == {
        "angry": 127, "boredom": 81, "disgust": 46, "fear": 69, "happy": 71, "neutral": 79, "sad": 62}  # fmt: skip
    assert manifest["speaker"].value_counts().sort_index().to_dict() == {
        "03": 49, "08": 58, "09": 43, "10": 38, "11": 55, "12": 35, "13": 61, "14": 69, "15": 56, "16": 71}  # fmt: skip
    assert manifest["speaker"].nunique() == 10
    assert manifest.groupby("gender")["speaker"].nunique().to_dict() == {"f": 5, "m": 5}
    assert (manifest["sample_rate"] == 16_000).all()
    assert manifest["duration_s"].between(1.2, 9.0).all()
    assert_canonical_order(manifest)
