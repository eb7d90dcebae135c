"""Download and unpack the corpora that have a public archive (EMO-DB and RAVDESS).

:func:`fetch_corpus` downloads with :mod:`pooch`, which checks the archive's checksum before
anything is unpacked, then extracts the archive safely: every member name is checked first
(no absolute paths, no ``..``, no links leaving the archive), extraction happens in a temporary
folder beside the target, and the result is moved into place only once it unpacked completely and
:func:`~ser_common.corpora.load_manifest` recognises it. A failure at any step leaves the target
untouched.

The downloaded archive is kept in a cache folder, by default ``<target>/../.downloads`` (for the
default location that is ``./data/.downloads``), so a second unpack does not download again.

The other corpora need a licence or a request (SAVEE, EMOVO, CASIA, IEMOCAP) or are generated
(``synthetic``, see :func:`ser_common.make_synthetic`); :func:`fetch_corpus` explains how to get them.
"""

from __future__ import annotations

import os
import re
import tarfile
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import pooch

from ser_common.corpora import (DATA_DIR_ENV, CorpusNotFoundError, corpus_info, corpus_present, corpus_root,
                                load_manifest)

__all__ = ["ARCHIVES", "Archive", "NoPublicArchiveError", "UnsafeArchiveError", "extract_archive", "fetch_corpus"]


@dataclass(frozen=True)
class Archive:
    """A public archive of a corpus.

    Attributes
    ----------
    url : str
        Download address.
    known_hash : str or None
        Checksum in pooch's ``"<algorithm>:<hex>"`` form, or None when no trustworthy published value
        is known (then the caller must supply ``sha256=``).
    filename : str
        Name of the archive in the download cache.
    """

    url: str
    known_hash: str | None
    filename: str


ARCHIVES: dict[str, Archive] = {
    # The official EMO-DB site publishes no checksum for its zip, and we found no trustworthy published
    # one, so the caller has to supply it (see _missing_hash_message).
    "emodb": Archive(url="http://emodb.bilderbar.info/download/download.zip", known_hash=None,
                     filename="emodb-download.zip"),
    # MD5 as published by Zenodo on the file list of record 1188976 (208,468,073 bytes); the same value
    # is quoted by several independent public download scripts that verify it.
    "ravdess": Archive(url="https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip",
                       known_hash="md5:bc696df654c87fed845eb13823edef8a", filename="Audio_Speech_Actors_01-24.zip"),
}


class NoPublicArchiveError(ValueError):
    """The corpus has no public archive to download; the message says how to get it."""


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the extraction folder (or is not a plain file/dir)."""


def fetch_corpus(name: str, root: str | os.PathLike[str] | None = None, *, url: str | None = None,
                 sha256: str | None = None, progress: bool = True, force: bool = False,
                 cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Download and unpack a corpus's public archive into its corpus directory.

    Parameters
    ----------
    name : str
        Corpus name; only ``"emodb"`` and ``"ravdess"`` have public archives.
    root : str or path-like, optional
        Target corpus directory; see :func:`ser_common.corpora.corpus_root` for the default.
    url : str, optional
        Download from here instead of the registry address (e.g. a local mirror). With a URL,
        corpora without a public archive can be fetched from your own licensed copy; pass
        ``sha256=`` as well unless it is a mirror of the registry archive.
    sha256 : str, optional
        Expected SHA-256 of the archive (64 hex digits). Required when the registry knows no hash
        (EMO-DB); overrides the registry hash otherwise.
    progress : bool, default True
        Show a download progress bar.
    force : bool, default False
        Unpack again even if the target already holds the corpus (the old copy is replaced once the
        new one unpacked). The archive is downloaded again only if the cached copy is missing or
        fails the checksum. A directory that holds something else is never overwritten.
    cache_dir : str or path-like, optional
        Where the archive is kept; default ``<target>/../.downloads``.

    Returns
    -------
    pathlib.Path
        The corpus directory, ready for :func:`ser_common.corpora.load_manifest`. If it already held
        the corpus (and ``force`` is False), nothing is downloaded and no hash is needed.

    Raises
    ------
    ValueError
        Unknown corpus; malformed ``sha256``; no known hash and none given; checksum mismatch
        (from pooch); the target is a non-empty directory that does not hold the corpus; an
        unpacked audio file has an unreadable header.
    NoPublicArchiveError
        The corpus has no public archive (and no ``url`` was given).
    UnsafeArchiveError
        An archive member has an absolute path, a ``..`` component or a link leaving the archive.
    CorpusNotFoundError
        The archive unpacked but does not contain the corpus in the expected layout.
    """
    target = corpus_root(name, root)
    archive = _archive_for(name, url, target)
    if sha256 is not None and not re.match(r"^[0-9a-fA-F]{64}$", sha256):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}.")

    if corpus_present(name, target):
        if not force:
            return target
    elif target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValueError(f"{target} already exists and is not an empty folder, but it does not hold the {name} corpus "
                         f"in the expected layout ({corpus_info(name).layout}). Refusing to overwrite it: move or "
                         "delete it, or pass another root=.")

    cache = Path(cache_dir).expanduser().absolute() if cache_dir is not None else target.parent / ".downloads"
    known_hash = f"sha256:{sha256.lower()}" if sha256 is not None else archive.known_hash
    if known_hash is None:  # never unpack an unverified download
        raise ValueError(_missing_hash_message(name, archive, cache))
    try:
        archive_path = pooch.retrieve(url=archive.url, known_hash=known_hash, fname=archive.filename, path=cache,
                                      progressbar=progress)
    except OSError as error:  # connection refused or dropped, a truncated transfer, a full disk
        raise OSError(f"downloading {archive.url} to {cache / archive.filename} failed ({type(error).__name__}: "
                      f"{error}); nothing was unpacked. Run fetch_corpus again to retry.") from error
    _install(name, archive_path, target)
    return target


def _archive_for(name: str, url: str | None, target: Path) -> Archive:
    """The registry archive, with ``url`` overriding its address, or a helpful refusal."""
    info = corpus_info(name)
    if name == "synthetic":
        raise NoPublicArchiveError(f"'synthetic' is generated, not downloaded: {info.obtain} "
                                   f"Expected layout: {info.layout}.")
    registered = ARCHIVES.get(name)
    if registered is None and url is None:
        raise NoPublicArchiveError(
            f"{name} has no public archive to download ({info.title}).\n"
            f"  Get it from {info.url} (licence: {info.licence}). {info.obtain}\n"
            f"  Put it at {target} (or set ${DATA_DIR_ENV}, or pass root=) in this layout: {info.layout}.\n"
            f"  If you host your own licensed copy as an archive, fetch_corpus({name!r}, root, url=..., "
            "sha256=...) unpacks it.")
    if url is None:
        return registered
    filename = PurePosixPath(urlparse(url).path).name
    if not filename:
        raise ValueError(f"Cannot tell the archive's file name from url={url!r}; give a URL ending in the file name.")
    return Archive(url=url, known_hash=None if registered is None else registered.known_hash, filename=filename)


def _missing_hash_message(name: str, archive: Archive, cache: Path) -> str:
    plain_http = " (and this address is plain HTTP, so nothing else protects the transfer)"
    return (f"No checksum is known for the {name} archive ({archive.url}), and fetch_corpus does not unpack "
            "unverified downloads: a truncated or altered archive would silently change the data every "
            f"result depends on{plain_http if archive.url.startswith('http://') else ''}.\n"
            "  Download the archive once yourself, check it (e.g. against a colleague's copy), compute its hash:\n"
            "      sha256sum <archive>    or    python -c \"import pooch; print(pooch.file_hash('<archive>'))\"\n"
            f"  and call fetch_corpus({name!r}, root, sha256='<the 64 hex digits>'). If you put the file at "
            f"{cache / archive.filename}, it is not downloaded again.")


def _install(name: str, archive_path: str, target: Path) -> None:
    """Unpack into a staging folder beside ``target``, check it, then move it into place.

    The staging folder lives in the same parent as ``target`` so that the final move is a rename on
    the same file system; it is removed whatever happens.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.partial-", dir=target.parent,
                                     ignore_cleanup_errors=True) as staging:
        # A plain mkdir (not mkdtemp's private 0700 folder) gives the corpus the usual permissions.
        unpacked = Path(staging) / "corpus"
        unpacked.mkdir()
        extract_archive(archive_path, unpacked)
        # Stray files are reported when the corpus is used; here we only check it is complete.
        with warnings.catch_warnings(action="ignore", category=UserWarning):
            try:
                load_manifest(name, unpacked)
            except (CorpusNotFoundError, ValueError) as error:
                # The staging folder is about to be deleted: name the archive, not the folder.
                raise CorpusNotFoundError(f"the archive {archive_path} does not hold the {name} corpus in the "
                                          f"expected layout ({corpus_info(name).layout}); nothing was installed "
                                          f"at {target}. What was found: {str(error).splitlines()[0]}") from None
        # An existing target is either an empty folder or (force=True) a previous copy of the corpus:
        # keep it aside until the new one is in place, and put it back if that fails.
        previous = Path(staging) / "previous"
        if target.exists():
            target.rename(previous)
        try:
            unpacked.rename(target)
        except BaseException:
            if previous.exists():
                previous.rename(target)
            raise


# --------------------------------------------------------------------------------------------------
# Safe extraction
# --------------------------------------------------------------------------------------------------


def _unsafe(archive_path: Path, name: str, problem: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(f"{archive_path} contains the member {name!r}, which {problem}. Nothing was extracted; "
                              "the archive is not trustworthy.")


def extract_archive(archive_path: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
    """Extract a ``.zip``, ``.tar``, ``.tar.gz`` / ``.tgz`` archive after checking every member.

    Parameters
    ----------
    archive_path : str or path-like
        The archive.
    destination : str or path-like
        Existing folder to extract into.

    Raises
    ------
    UnsafeArchiveError
        A member has an absolute path or would land outside ``destination`` (``..``), or, in a tar
        archive, breaks the rules of tarfile's ``"data"`` filter (a link pointing outside, a device or
        FIFO). All members are checked before anything is written.
    ValueError
        The file is neither a zip nor a tar archive.
    """
    archive_path, root = Path(archive_path), Path(destination).resolve()
    is_zip = zipfile.is_zipfile(archive_path)
    if not is_zip and not tarfile.is_tarfile(archive_path):
        raise ValueError(f"{archive_path} is neither a zip nor a tar archive; cannot unpack it.")
    with zipfile.ZipFile(archive_path) if is_zip else tarfile.open(archive_path) as archive:
        for name in archive.namelist() if is_zip else archive.getnames():
            if PurePosixPath(name).is_absolute() or not (root / name).resolve().is_relative_to(root):
                raise _unsafe(archive_path, name, "would be written outside the extraction folder (absolute path "
                              "or '..')")
        if is_zip:
            archive.extractall(root)  # zipfile writes symlink entries as small text files: no link can escape
            return
        for member in archive.getmembers():
            try:  # the rules of extractall(filter="data"), applied to every member before any is written
                tarfile.data_filter(member, str(root))
            except tarfile.FilterError as error:
                raise _unsafe(archive_path, member.name, "points outside the extraction folder or is not a plain "
                              f"file, folder or link ({error})") from None
        archive.extractall(root, filter="data")
