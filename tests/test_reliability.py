"""Bad input the repository must survive: one test per row of the README's reliability table.

Each test names the bad input and what must happen instead of a crash, a silent mix-up or
a misleading message. Run on the code before the refactor (commit 57b7d22) every one of
them fails; the fuzz test at the end feeds damaged WAV files to the three feature specs.
"""

from __future__ import annotations

import http.server
import io
import multiprocessing
import os
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import tim_net_parameters

from ser_common import results
from ser_common.audio import AudioError, load_audio
from ser_common.corpora import corpus_root, load_manifest
from ser_common.features import extract_features
from ser_common.metrics import evaluate

EMODB_CLASSES = ["angry", "boredom", "disgust", "fear", "happy", "neutral", "sad"]


def _tone(seconds: float, sr: int = 16_000, seed: int = 0, amplitude: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    return (amplitude * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _wav_bytes(signal: np.ndarray, sr: int = 16_000, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, signal, sr, format="WAV", subtype=subtype)
    return buffer.getvalue()


def _manifest(paths) -> pd.DataFrame:
    return pd.DataFrame({"path": [str(p) for p in paths],
                         "label": pd.Categorical(["angry"] * len(paths), categories=EMODB_CLASSES, ordered=True),
                         "corpus": "emodb"})


@pytest.fixture
def experiment_env(tmp_path, monkeypatch, quick_features):
    """Default run and cache folders inside tmp_path; the quick feature computation."""
    monkeypatch.setenv("SER_RUNS_DIR", str(tmp_path / "default_runs"))
    monkeypatch.setenv("SER_CACHE_DIR", str(tmp_path / "default_cache"))


def _experiment(root, tmp_path, **overrides):
    from ser_common.experiment import Experiment

    exp = Experiment("tim_net", tim_net_parameters(root, tmp_path / "runs", **overrides))
    exp.load_features()
    return exp


def _perfect(exp):
    from ser_common.experiment import FoldOutcome

    return lambda fold: FoldOutcome(y_pred=exp.y_utterance[fold.test])


# ----------------------------------------------------------------------------- 1. other file names


def test_1_a_custom_results_file_name_and_other_json_files_do_not_break_the_all_runs_table(
        tmp_path, synthetic_root, experiment_env, capsys):
    folder = tmp_path / "my results"
    exp = _experiment(synthetic_root, tmp_path, results_path=str(folder / "my_run.json"), max_folds=1)
    folder.mkdir(parents=True)
    (folder / "notes.json").write_text('{"todo": "compare with GLAM"}')
    (folder / "broken.json").write_text("{not json")
    before = exp.all_runs()  # nothing recorded yet: an empty table, not a KeyError
    assert len(before) == 0
    exp.run(_perfect(exp), model_info={"name": "TIM-Net"})
    table = exp.all_runs()
    assert table["file"].tolist() == ["my_run.json"] and table.loc[0, "paper"] == "tim_net"
    out = capsys.readouterr().out
    assert "not a results file, left out:" in out and "notes.json" in out and "broken.json" in out
    found, skipped = results.find_results(folder)
    assert [p.name for p in found] == ["my_run.json"] and len(skipped) == 2


# ----------------------------------------------------------------------------- 2. weights beside results


def test_2_weights_of_runs_in_different_folders_do_not_collide(tmp_path, synthetic_root, experiment_env):
    first = _experiment(synthetic_root, tmp_path, results_path=str(tmp_path / "A" / "run.json"))
    second = _experiment(synthetic_root, tmp_path, results_path=str(tmp_path / "B" / "run.json"))
    a, b = first.weights_path(0), second.weights_path(0)
    assert a != b
    assert a.parent.parent == tmp_path / "A" and b.parent.parent == tmp_path / "B"


# ----------------------------------------------------------------------------- 3. concurrent writers


def _record_fold(path: str, index: int, barrier) -> None:
    """One writer process: open the shared results file, wait for the other, record one fold."""
    run = results.RunResults.open(path, notebook="t", paper="tim_net", dataset="synthetic", protocol="p",
                                  params={"epochs": 1}, seed=0, class_names=["a", "b"])
    barrier.wait(timeout=60)  # both have read the file before either writes
    run.add_fold(index, metrics=evaluate([0, 1], [0, 1], 2), wall_time_s=1.0)


def test_3_two_processes_recording_folds_of_one_file_keep_both(tmp_path):
    path = tmp_path / "run.json"
    results.RunResults.open(path, notebook="t", paper="tim_net", dataset="synthetic", protocol="p",
                            params={"epochs": 1}, seed=0, class_names=["a", "b"])
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold TF / torch threads
    barrier = context.Barrier(2)
    writers = [context.Process(target=_record_fold, args=(str(path), index, barrier)) for index in (0, 1)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [writer.exitcode for writer in writers] == [0, 0]
    data = results.load_results(path)
    assert sorted(data["folds"]) == ["0", "1"] and data["aggregate"]["ua"]["n"] == 2


# ----------------------------------------------------------------------------- 4. corpus copies


def test_4_a_copied_corpus_folder_is_refused_and_files_beside_wav_are_reported(tmp_path):
    wav = _wav_bytes(_tone(0.3))
    root = tmp_path / "emodb"
    for folder in ("download", "download_copy"):
        (root / folder).mkdir(parents=True)
        for name in ("03a01Wa.wav", "08a02Fb.wav"):
            (root / folder / name).write_bytes(wav)
    with pytest.raises(ValueError) as error:
        load_manifest("emodb", root)
    message = str(error.value)
    assert "2 utterance(s) appear twice" in message
    assert str(root / "download" / "03a01Wa.wav") in message and str(root / "download_copy" / "03a01Wa.wav") in message

    tidy = tmp_path / "tidy"
    (tidy / "wav").mkdir(parents=True)
    (tidy / "wav" / "03a01Wa.wav").write_bytes(wav)
    (tidy / "08a02Fb.wav").write_bytes(wav)  # unpacked beside wav/, not into it
    with pytest.warns(UserWarning, match=r"1 EMO-DB-named file\(s\) outside .*wav were ignored.*08a02Fb"):
        manifest = load_manifest("emodb", tidy)
    assert len(manifest) == 1


# ----------------------------------------------------------------------------- 5. unusable files


@pytest.fixture
def bad_files(tmp_path, synthetic_root):
    real = sorted((synthetic_root / "wav").glob("*.wav"))[0].read_bytes()
    files = {
        "truncated.wav": real[:100],
        "one_sample.wav": _wav_bytes(np.array([0.5], dtype=np.float32)),
        "fifty_ms.wav": _wav_bytes(_tone(0.05)),
        "silence.wav": _wav_bytes(np.zeros(16_000, dtype=np.float32)),
    }
    paths = []
    for name, data in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    good = tmp_path / "good.wav"
    sf.write(good, _tone(1.0), 16_000)
    return good, paths


def test_5_unusable_files_are_all_listed_at_once_or_skipped_and_listed(bad_files, capsys):
    from papers.tim_net.features import PRESET

    good, bad = bad_files
    manifest = _manifest([bad[0], good, *bad[1:]])
    with pytest.raises(AudioError) as error:
        extract_features(manifest, PRESET, cache_dir=False, errors="raise", n_jobs=1, progress=False)
    message = str(error.value)
    assert message.startswith("4 of 5 files cannot be used") and "errors='skip'" in message
    for path in bad:
        assert path.name in message, path.name
    assert "good.wav" not in message
    assert "shorter than the 0.25 s" in message and "silent" in message
    X, y, kept = extract_features(manifest, PRESET, cache_dir=False, errors="skip", n_jobs=1, progress=False)
    assert X.shape == (1, 188, 39) and kept["path"].tolist() == [str(good)]
    assert [Path(item["path"]).name for item in kept.attrs["skipped"]] == [p.name for p in bad]
    assert all(Path(item["path"]).name in item["reason"] for item in kept.attrs["skipped"])
    assert "skipped 4 unusable file(s)" in capsys.readouterr().err


# ----------------------------------------------------------------------------- 6. NaN samples


def test_6_nan_samples_are_an_audio_error_naming_the_file(tmp_path):
    from papers.tim_net.features import PRESET

    signal = _tone(1.0)
    signal[1000:1010] = np.nan
    path = tmp_path / "damaged.wav"
    sf.write(path, signal, 16_000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"damaged\.wav holds 10 NaN or infinite sample"):
        load_audio(path)
    with pytest.raises(AudioError, match="damaged.wav"):
        PRESET.features_of(path, "emodb")


# ----------------------------------------------------------------------------- 7. the feature cache


def test_7_a_corrupt_cache_entry_is_recomputed_with_one_line_and_edited_content_is_never_stale(tmp_path, capfd):
    from papers.tim_net.features import PRESET

    paths = []
    for index in range(2):
        paths.append(tmp_path / f"utt{index}.wav")
        sf.write(paths[-1], _tone(1.0, seed=index), 16_000)
    manifest = _manifest(paths)
    cache = tmp_path / "cache"
    kwargs = dict(cache_dir=cache, n_jobs=1, progress=False)
    first = extract_features(manifest, PRESET, **kwargs)[0]
    outputs = list(cache.rglob("output.pkl"))
    assert len(outputs) == 1
    outputs[0].write_bytes(b"\x80\x04 this is not a pickle")
    capfd.readouterr()
    again = extract_features(manifest, PRESET, **kwargs)[0]
    np.testing.assert_array_equal(again, first)
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "feature cache entry" in lines[0] and "recomputing" in lines[0], err
    assert "Traceback" not in err

    # Same size, same modification time, other samples: a stat-based key would return stale features.
    stat = paths[1].stat()
    sf.write(paths[1], _tone(1.0, seed=99), 16_000)
    os.utime(paths[1], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert paths[1].stat().st_size == stat.st_size and paths[1].stat().st_mtime_ns == stat.st_mtime_ns
    changed = extract_features(manifest, PRESET, **kwargs)[0]
    np.testing.assert_array_equal(changed[0], first[0])
    assert not np.allclose(changed[1], first[1])


# ----------------------------------------------------------------------------- 8. papermill strings


def test_8_papermill_strings_are_converted_or_refused_before_any_work(tmp_path):
    from ser_common.params import Bool, Int, ParameterError, check_parameters

    rules = {"epochs": Int(min=1)}
    assert check_parameters({"epochs": "12"}, rules) == {"epochs": 12}
    assert check_parameters({"progress": "false"}, {"progress": Bool()}) == {"progress": False}
    for value in ("abc", "1.5", "-1"):
        with pytest.raises(ParameterError, match=f"epochs = '{value}'"):
            check_parameters({"epochs": value}, rules)

    from ser_common.experiment import Experiment

    runs, data = tmp_path / "runs", tmp_path / "data" / "synthetic"
    with pytest.raises(ParameterError, match="epochs = 'abc'"):
        Experiment("tim_net", tim_net_parameters(data, runs, epochs="abc"))
    missing = tmp_path / "my recording.wav"
    with pytest.raises(ParameterError, match=r"predict_wav = .*my recording\.wav.*does not exist"):
        Experiment("tim_net", tim_net_parameters(data, runs, predict_wav=str(missing)))
    assert sorted(tmp_path.rglob("*")) == []  # no corpus, no results folder, no cache


# ----------------------------------------------------------------------------- 9. clear messages


def test_9a_a_settings_mismatch_advises_the_overwrite_parameter(tmp_path, synthetic_root, experiment_env):
    path = str(tmp_path / "run.json")
    exp = _experiment(synthetic_root, tmp_path, results_path=path, max_folds=1)
    exp.run(_perfect(exp), model_info={})
    other = _experiment(synthetic_root, tmp_path, results_path=path, learning_rate=0.01, max_folds=1)
    with pytest.raises(results.ResultsMismatchError) as error:
        other.run(_perfect(other), model_info={})
    message = str(error.value)
    assert "params.learning_rate: 0.001 (in file) vs 0.01 (now)" in message
    assert "set the parameter overwrite=True" in message


def test_9b_ser_data_dir_pointing_at_a_file_names_the_setting(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "data.zip"
    not_a_folder.write_bytes(b"PK")
    monkeypatch.setenv("SER_DATA_DIR", str(not_a_folder))
    with pytest.raises(NotADirectoryError, match=r"\$SER_DATA_DIR = .*data\.zip is a file, not a folder"):
        corpus_root("emodb")


def _open(path):
    return results.RunResults.open(path, notebook="t", paper="tim_net", dataset="synthetic", protocol="p",
                                   params={}, seed=0, class_names=["a", "b"])


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: file permissions do not stop root from writing "
                           "(test_9c_a_results_folder_under_a_file_names_the_folder covers the same message path)")
def test_9c_an_unwritable_results_folder_names_the_folder(tmp_path):
    folder = tmp_path / "read only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match=r"the folder .*read only is not writable"):
            _open(folder / "run.json")
    finally:
        folder.chmod(0o755)


def test_9c_a_results_folder_under_a_file_names_the_folder(tmp_path):
    (tmp_path / "runs").write_text("a file where a folder should be")
    with pytest.raises(NotADirectoryError, match=r"cannot create the results folder .*runs.*choose another"):
        _open(tmp_path / "runs" / "emodb" / "run.json")


class _Serve:
    """Serve one archive on 127.0.0.1; ``cut`` closes the connection after that many bytes."""

    def __init__(self, data: bytes, cut: int | None = None):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data if cut is None else data[:cut])
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def no_proxy(monkeypatch):
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_9d_an_interrupted_download_names_the_archive(tmp_path, no_proxy):
    import hashlib

    from ser_common.download import fetch_corpus

    archive = _zip({"wav/03a01Wa.wav": _wav_bytes(_tone(2.0)), "wav/08a02Fb.wav": _wav_bytes(_tone(2.0))})
    target = tmp_path / "data" / "emodb"
    with _Serve(archive, cut=len(archive) // 3) as url:
        with pytest.raises(OSError) as error:
            fetch_corpus("emodb", target, url=f"{url}/emodb.zip", sha256=hashlib.sha256(archive).hexdigest(),
                         progress=False)
    message = str(error.value)
    assert "emodb.zip" in message and "nothing was unpacked" in message and "again" in message
    assert ".partial" not in message
    assert not target.exists() and not list(target.parent.glob(".*partial*"))
    assert not (target.parent / ".downloads" / "emodb.zip").exists()  # no half archive to be mistaken later


def test_9e_an_archive_with_the_wrong_layout_names_the_archive_not_the_deleted_staging_folder(tmp_path, no_proxy):
    import hashlib

    from ser_common.corpora import CorpusNotFoundError
    from ser_common.download import fetch_corpus

    archive = _zip({"README.txt": b"not a corpus", "audio/hello.wav": _wav_bytes(_tone(0.3))})
    target = tmp_path / "data" / "emodb"
    with _Serve(archive) as url:
        with pytest.raises(CorpusNotFoundError) as error:
            fetch_corpus("emodb", target, url=f"{url}/other.zip", sha256=hashlib.sha256(archive).hexdigest(),
                         progress=False)
    message = str(error.value)
    assert "other.zip" in message and "expected layout" in message and str(target) in message
    assert ".partial" not in message  # the staging folder no longer exists: naming it would mislead
    assert not target.exists() and not list(target.parent.glob(".*partial*"))


# ----------------------------------------------------------------------------- fuzz: damaged WAV files


def _riff(fmt_tag: int, channels: int, rate: int, bits: int, data: bytes, declared: int | None = None) -> bytes:
    """A RIFF/WAVE header with the given fields (block align and byte rate follow from them)."""
    block = max(1, channels * max(bits, 8) // 8)
    fmt = (fmt_tag.to_bytes(2, "little") + channels.to_bytes(2, "little") + rate.to_bytes(4, "little")
           + (rate * block % 2**32).to_bytes(4, "little") + block.to_bytes(2, "little") + bits.to_bytes(2, "little"))
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + (size % 2**32).to_bytes(4, "little")
    return b"RIFF" + ((len(body) + len(data)) % 2**32).to_bytes(4, "little") + body + data


def _fuzz_cases(real: bytes, rng: np.random.Generator) -> list[bytes]:
    cases = [b"", b"RIFF", b"RIFF\x00\x00\x00\x00WAVE", real[:44], real[:45], real[:46]]
    cases += [bytes(rng.integers(0, 256, size=int(n), dtype=np.uint8)) for n in rng.integers(0, 3000, size=60)]
    cases += [b"RIFF" + bytes(rng.integers(0, 256, size=int(n), dtype=np.uint8)) for n in rng.integers(4, 400, 20)]
    cuts = np.unique(np.r_[rng.integers(0, len(real), size=60), rng.integers(0, 200, size=20)])
    cases += [real[:cut] for cut in cuts]
    for _ in range(40):  # a real file with a few bytes of its header or body flipped
        damaged = bytearray(real)
        for position in rng.integers(0, 60 if rng.random() < 0.7 else len(real), size=int(rng.integers(1, 4))):
            damaged[position] = int(rng.integers(0, 256))
        cases.append(bytes(damaged))
    rates = [1, 8, 100, 4000, 8000, 16000, 44100, 192000, 2**31 - 1]
    for _ in range(70):  # well-formed headers with odd fields over random or real payloads
        fmt_tag = int(rng.choice([1, 3, 6, 7, 2, 0x11, 0xFFFE, int(rng.integers(0, 2**16))]))
        bits = int(rng.choice([8, 16, 24, 32, 64, 0, 12]))
        channels = int(rng.choice([1, 2, 6, 0, 300]))
        payload = bytes(rng.integers(0, 256, size=int(rng.integers(0, 60_000)), dtype=np.uint8))
        if rng.random() < 0.3:
            payload = real[44 : 44 + int(rng.integers(0, len(real) - 44))]
        declared = None if rng.random() < 0.7 else int(rng.integers(0, 2**32))
        cases.append(_riff(fmt_tag, channels, int(rng.choice(rates)), bits, payload, declared))
    loud = _tone(1.0, amplitude=1e30)
    cases += [_wav_bytes(loud, subtype="FLOAT"), _wav_bytes(loud.astype(np.float64) * 1e10, subtype="DOUBLE"),
              _wav_bytes(np.full(16_000, np.inf, dtype=np.float32), subtype="FLOAT"),
              _wav_bytes(_tone(1.0, amplitude=1e-3), subtype="FLOAT")]
    return cases


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow warnings of the damaged inputs, reported as errors
def test_fuzz_damaged_wav_files_give_a_clear_audio_error_or_finite_features(tmp_path, synthetic_root):
    from papers.glam.features import PRESET as GLAM
    from papers.light_sernet.features import PRESET as LIGHT_SERNET
    from papers.tim_net.features import PRESET as TIM_NET

    real = sorted((synthetic_root / "wav").glob("*.wav"))[3].read_bytes()
    cases = _fuzz_cases(real, np.random.default_rng(20240611))
    assert len(cases) > 250
    specs = {"tim_net": (TIM_NET, lambda shape: shape == (188, 39)),
             "glam": (GLAM, lambda shape: len(shape) == 3 and shape[0] >= 1 and shape[1:] == (26, 57)),
             "light_sernet": (LIGHT_SERNET, lambda shape: shape == (184, 40))}
    outcomes = {"audio error": 0, "features": 0}
    for number, data in enumerate(cases):
        path = tmp_path / f"case{number:03d}.wav"
        path.write_bytes(data)
        try:
            signal = load_audio(path)
        except AudioError as error:
            assert path.name in str(error), (number, str(error))
        else:
            assert signal.dtype == np.float32 and signal.ndim == 1 and np.isfinite(signal).all(), number
        for name, (spec, expected_shape) in specs.items():
            try:
                features = spec.features_of(path, "emodb")
            except AudioError as error:
                assert path.name in str(error), (number, name, str(error))
                outcomes["audio error"] += 1
            else:
                assert expected_shape(features.shape), (number, name, features.shape)
                assert np.isfinite(features).all(), (number, name)
                outcomes["features"] += 1
    assert outcomes["audio error"] > 0 and outcomes["features"] > 0, outcomes


def test_fuzz_findings_a_tiny_declared_sample_rate_and_overflowing_samples_are_audio_errors(tmp_path, synthetic_root):
    """Two inputs the fuzz test found: both used to pass every check."""
    from papers.tim_net.features import PRESET as TIM_NET

    real = sorted((synthetic_root / "wav").glob("*.wav"))[3].read_bytes()
    tiny_rate = tmp_path / "rate_8_hz.wav"  # 64 kB at "8 Hz" became 2 hours of audio at 16 kHz
    tiny_rate.write_bytes(_riff(1, 1, 8, 16, real[44:]))
    with pytest.raises(AudioError, match=r"rate_8_hz\.wav declares a sample rate of 8 Hz"):
        load_audio(tiny_rate)
    loud = tmp_path / "loud.wav"  # finite float samples whose power spectrum overflows: NaN features
    sf.write(loud, _tone(1.0, amplitude=1e30), 16_000, subtype="FLOAT")
    with pytest.warns(RuntimeWarning):
        with pytest.raises(AudioError, match=r"loud\.wav: its features are not finite"):
            TIM_NET.features_of(loud, "emodb")
