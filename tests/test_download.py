"""Tests for ser_common.download.fetch_corpus and its safe extraction.

A real HTTP server on 127.0.0.1 (random port, in a thread) serves generated archives, so the whole
pooch download + checksum + unpack path runs without touching the network.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ser_common import download
from ser_common.corpora import CORPORA, CorpusNotFoundError, load_manifest
from ser_common.download import ARCHIVES, NoPublicArchiveError, UnsafeArchiveError, extract_archive, fetch_corpus

EMODB_MEMBERS = ["wav/03a01Wa.wav", "wav/08a02Fb.wav", "wav/16b10Tc.wav"]


@functools.lru_cache(maxsize=None)
def tiny_wav() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(1600, dtype=np.float32), 16_000, format="WAV")
    return buffer.getvalue()


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return path


def emodb_members() -> dict[str, bytes]:
    # Like the official zip: wav/ plus other folders that are not audio.
    return {**{name: tiny_wav() for name in EMODB_MEMBERS}, "lablaut/03a01Wa.lablaut": b"label text"}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Server:
    """Serves the files of ``directory`` over HTTP on 127.0.0.1 and counts the requests."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(directory), **kwargs)

            def do_GET(self):  # noqa: N802 (http.server naming)
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):  # keep test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval makes shutdown() quick at teardown.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"


@pytest.fixture
def server(tmp_path, monkeypatch):
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    served = tmp_path / "served"
    served.mkdir()
    running = _Server(served)
    running.thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


def leftovers(parent: Path) -> list[Path]:
    """Staging folders or files that a failed fetch could leave beside the target."""
    return sorted(p for p in parent.glob(".*partial*"))


def test_fetch_downloads_verifies_and_unpacks(server, tmp_path):
    archive = make_zip(server.directory / "emodb.zip", emodb_members())
    target = tmp_path / "data" / "emodb"

    returned = fetch_corpus("emodb", target, url=server.url("emodb.zip"), sha256=sha256_of(archive), progress=False)

    assert returned == target
    manifest = load_manifest("emodb", target)
    assert sorted(Path(p).name for p in manifest["path"]) == sorted(Path(m).name for m in EMODB_MEMBERS)
    assert (target / "lablaut" / "03a01Wa.lablaut").read_bytes() == b"label text"
    assert (tmp_path / "data" / ".downloads" / "emodb.zip").read_bytes() == archive.read_bytes()
    assert leftovers(tmp_path / "data") == []
    assert server.requests == ["/emodb.zip"]


def test_fetch_does_nothing_when_the_corpus_is_there(server, tmp_path):
    archive = make_zip(server.directory / "emodb.zip", emodb_members())
    target = tmp_path / "emodb"
    fetch_corpus("emodb", target, url=server.url("emodb.zip"), sha256=sha256_of(archive), progress=False)
    (target / "wav" / "08a02Fb.wav").unlink()

    # No hash needed and no request made: the corpus is already recognised.
    assert fetch_corpus("emodb", target, progress=False) == target
    assert not (target / "wav" / "08a02Fb.wav").exists()
    assert len(server.requests) == 1

    # force=True unpacks again from the verified cached archive (still no second download).
    fetch_corpus("emodb", target, url=server.url("emodb.zip"), sha256=sha256_of(archive), progress=False, force=True)
    assert (target / "wav" / "08a02Fb.wav").is_file()
    assert len(server.requests) == 1
    assert leftovers(tmp_path) == []


def test_fetch_unpacks_tar_gz_and_uses_cache_dir(server, tmp_path):
    archive = server.directory / "ravdess.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("Actor_01/03-01-05-02-01-01-01.wav", "Actor_02/03-01-03-01-01-01-02.wav"):
            info = tarfile.TarInfo(name)
            info.size = len(tiny_wav())
            tar.addfile(info, io.BytesIO(tiny_wav()))
    cache = tmp_path / "cache"

    target = fetch_corpus(
        "ravdess", tmp_path / "ravdess", url=server.url("ravdess.tar.gz"), sha256=sha256_of(archive),
        progress=False, cache_dir=cache,
    )  # fmt: skip

    assert load_manifest("ravdess", target)["label"].astype(str).tolist() == ["angry", "happy"]
    assert (cache / "ravdess.tar.gz").is_file()


def test_wrong_checksum_leaves_nothing_behind(server, tmp_path):
    make_zip(server.directory / "emodb.zip", emodb_members())
    target = tmp_path / "data" / "emodb"

    with pytest.raises(ValueError, match="(?i)hash"):
        fetch_corpus("emodb", target, url=server.url("emodb.zip"), sha256="0" * 64, progress=False)

    assert not target.exists()
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []
    assert leftovers(tmp_path / "data") == []
    assert server.requests == ["/emodb.zip"]  # the download did happen, and was rejected


@pytest.mark.parametrize("evil_name", ["../evil.wav", "/tmp/ser-notebooks-evil/abs_evil.wav"])
def test_malicious_zip_extracts_nothing(server, tmp_path, evil_name):
    archive = make_zip(server.directory / "evil.zip", {**emodb_members(), evil_name: tiny_wav()})
    with zipfile.ZipFile(archive) as check:  # the archive really carries the hostile name
        assert evil_name in check.namelist()
    target = tmp_path / "data" / "emodb"

    with pytest.raises(UnsafeArchiveError, match="outside the extraction folder"):
        fetch_corpus("emodb", target, url=server.url("evil.zip"), sha256=sha256_of(archive), progress=False)

    assert not target.exists()
    assert leftovers(tmp_path / "data") == []
    assert not (tmp_path / "data" / "evil.wav").exists()
    assert not Path("/tmp/ser-notebooks-evil").exists()


def test_tar_link_pointing_outside_is_rejected(tmp_path):
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tar:
        link = tarfile.TarInfo("wav/03a01Wa.wav")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../outside.wav"
        tar.addfile(link)
    destination = tmp_path / "out"
    destination.mkdir()

    with pytest.raises(UnsafeArchiveError, match="points outside"):
        extract_archive(archive, destination)
    assert list(destination.iterdir()) == []


def test_archive_without_the_corpus_layout_is_not_installed(server, tmp_path):
    archive = make_zip(server.directory / "other.zip", {"README.txt": b"not a corpus"})
    target = tmp_path / "emodb"
    with pytest.raises(CorpusNotFoundError, match="no recognisable emodb audio"):
        fetch_corpus("emodb", target, url=server.url("other.zip"), sha256=sha256_of(archive), progress=False)
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_refuses_to_overwrite_an_unrelated_directory(server, tmp_path):
    archive = make_zip(server.directory / "emodb.zip", emodb_members())
    target = tmp_path / "emodb"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")

    for force in (False, True):
        with pytest.raises(ValueError, match="Refusing to overwrite"):
            fetch_corpus("emodb", target, url=server.url("emodb.zip"), sha256=sha256_of(archive), progress=False,
                         force=force)  # fmt: skip
    assert (target / "thesis.tex").read_text() == "precious"
    assert server.requests == []


def test_empty_target_directory_is_filled(server, tmp_path):
    archive = make_zip(server.directory / "emodb.zip", emodb_members())
    target = tmp_path / "emodb"
    target.mkdir()
    fetch_corpus("emodb", target, url=server.url("emodb.zip"), sha256=sha256_of(archive), progress=False)
    assert len(load_manifest("emodb", target)) == 3


@pytest.fixture
def no_download(monkeypatch):
    """Fail the test if anything tries to download."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected download: {args} {kwargs}")

    monkeypatch.setattr(download.pooch, "retrieve", refuse)


@pytest.mark.parametrize("name", ["savee", "emovo", "casia", "iemocap"])
def test_corpora_without_public_archive_explain_how_to_get_them(tmp_path, no_download, name):
    with pytest.raises(NoPublicArchiveError) as caught:
        fetch_corpus(name, tmp_path / name)
    message = str(caught.value)
    assert CORPORA[name].url in message
    assert CORPORA[name].layout in message
    assert str(tmp_path / name) in message
    assert "no public archive" in message


def test_licensed_corpus_can_come_from_your_own_mirror(server, tmp_path):
    archive = make_zip(server.directory / "savee.zip", {"AudioData/DC/a01.wav": tiny_wav(),
                                                        "AudioData/KL/n02.wav": tiny_wav()})  # fmt: skip
    target = fetch_corpus("savee", tmp_path / "savee", url=server.url("savee.zip"), sha256=sha256_of(archive),
                          progress=False)  # fmt: skip
    assert load_manifest("savee", target)["speaker"].tolist() == ["DC", "KL"]
    with pytest.raises(ValueError, match="sha256="):  # a mirror of a licensed corpus has no registry hash
        fetch_corpus("savee", tmp_path / "other", url=server.url("savee.zip"), progress=False)


def test_synthetic_is_generated_not_downloaded(tmp_path, no_download):
    with pytest.raises(NoPublicArchiveError, match="make_synthetic"):
        fetch_corpus("synthetic", tmp_path / "synthetic")


def test_archive_without_known_hash_needs_sha256(tmp_path, no_download):
    assert ARCHIVES["emodb"].known_hash is None
    with pytest.raises(ValueError, match="sha256=") as caught:
        fetch_corpus("emodb", tmp_path / "emodb", progress=False)
    assert "sha256sum" in str(caught.value)
    assert not (tmp_path / "emodb").exists()


def test_malformed_sha256_is_rejected(tmp_path, no_download):
    with pytest.raises(ValueError, match="64 hexadecimal digits"):
        fetch_corpus("emodb", tmp_path / "emodb", sha256="abc123")


def test_registry_matches_the_corpus_notes():
    assert set(ARCHIVES) == {"emodb", "ravdess"}
    assert ARCHIVES["ravdess"].known_hash == "md5:bc696df654c87fed845eb13823edef8a"
    assert ARCHIVES["ravdess"].url.startswith("https://zenodo.org/records/1188976/")
    for name, info in CORPORA.items():
        # The "how to get it" text offers fetch_corpus exactly for the corpora it can fetch.
        assert ("fetch_corpus" in info.obtain) == (name in ARCHIVES)
