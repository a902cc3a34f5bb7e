"""The registry of remote files and their download.

Every file the book reads has one row in ``registry.csv`` (path in the official unpacked
layout, URL, sha256 and size where known, and the archive it comes in). Downloading goes
through :mod:`pooch`: progress bar, retries, a temporary file renamed into place only once the
checksum matches, nothing fetched twice, archives unpacked beside themselves.

Single files of the ISIC zip archives (a few hundred images instead of the 6 GB archive) are
read out of the remote archive with HTTP range requests (:func:`fetch_members`, built on
:mod:`remotezip`); the archive's own CRC-32 checks every member, and the registry's sha256 where it
has one.

With ``ENHANCE_DATA_DIR`` set nothing is downloaded or written: :func:`verify` checks the
files that are there against the registry instead.
"""
from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pooch
import requests
from requests.adapters import HTTPAdapter
from tqdm.auto import tqdm
from urllib3.util.retry import Retry

from . import config

REGISTRY_FILE = config.PACKAGE_DIR / "registry.csv"
RETRIES = 3
#: bytes above which a file gets a download progress bar of its own
LARGE_FILE = 10 * 2**20


@dataclass(frozen=True)
class RemoteFile:
    """One row of the registry."""

    path: str
    url: str = ""
    sha256: str = ""
    size: int | None = None
    archive: str = ""
    unpack_to: str = ""
    note: str = ""

    @property
    def downloadable(self) -> bool:
        return bool(self.url)

    @property
    def known_hash(self) -> str | None:
        return f"sha256:{self.sha256}" if self.sha256 else None


class FetchError(RuntimeError):
    """A file could not be downloaded; the message says how to provide it by hand."""


def registry() -> dict[str, RemoteFile]:
    """All registry rows, keyed by their path in the official layout."""
    with open(REGISTRY_FILE, newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = {}
    for row in rows:
        size = row.pop("size")
        out[row["path"]] = RemoteFile(size=int(size) if size else None, **row)
    return out


def _manual_hint(entry: RemoteFile, root: Path) -> str:
    where = root / entry.path
    text = f"download {entry.url} by hand and put it at {where}"
    if entry.unpack_to:
        text += f" (it is unpacked into {root / entry.unpack_to})"
    return text + ", or set ENHANCE_DATA_DIR to a tree in the official layout that has it"


class _Unrar(pooch.processors.ExtractorProcessor):
    """Unpack a RAR archive (the PH2 database) with ``bsdtar`` or ``unrar``."""

    @property
    def suffix(self):
        return ".unrar"

    def _tool(self, fname, extract_dir) -> str:
        for tool in ("bsdtar", "unrar"):
            if shutil.which(tool):
                return tool
        raise FetchError(f"{fname} is a RAR archive: install bsdtar (Debian: libarchive-tools) "
                         f"or unrar to unpack it, or unpack it by hand into {extract_dir}")

    def _all_members(self, fname):
        """File names in the archive, so that a half-unpacked archive is unpacked again."""
        tool = self._tool(fname, self.extract_dir)
        cmd = ["bsdtar", "-tf", fname] if tool == "bsdtar" else ["unrar", "lb", fname]
        listing = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return [line for line in listing.splitlines() if line and not line.endswith("/")]

    def _extract_file(self, fname, extract_dir):
        if self._tool(fname, extract_dir) == "bsdtar":
            cmd = ["bsdtar", "-xf", fname, "-C", extract_dir]
        else:
            cmd = ["unrar", "x", "-o+", fname, extract_dir + "/"]
        subprocess.run(cmd, check=True)


def _processor(entry: RemoteFile):
    if not entry.unpack_to:
        return None
    if entry.path.endswith(".zip"):
        return pooch.Unzip(extract_dir=".")
    if entry.path.endswith(".rar"):
        return _Unrar(extract_dir=".")
    raise ValueError(f"do not know how to unpack {entry.path}")


def _download_root() -> Path:
    """The download folder; an error while ENHANCE_DATA_DIR (read-only) is the data."""
    if config.is_external_data_dir():
        raise FetchError(
            "ENHANCE_DATA_DIR is set: that tree is read-only and nothing is downloaded into it. "
            "Use `enhance fetch --verify` to check it, or unset ENHANCE_DATA_DIR to download."
        )
    return config.download_dir()


def fetch(paths: list[str] | None = None, progressbar: bool = True) -> Path:
    """Download (and unpack) the registry's files into :func:`config.download_dir`.

    Parameters
    ----------
    paths : list of str, optional
        Registry paths to fetch; all downloadable files by default.
    progressbar : bool
        Show a tqdm progress bar over the files, and one per large file (the archives).

    Returns
    -------
    pathlib.Path
        The data root, ready for the loaders.
    """
    root = _download_root()
    entries = _select(paths)
    fetcher = pooch.create(
        path=root, base_url="", retry_if_failed=RETRIES,
        registry={e.path: e.known_hash for e in entries},
        urls={e.path: e.url for e in entries},
    )
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # one progress bar over the files instead of a line for each
    try:
        for entry in tqdm(entries, desc="data files", unit="file", disable=not progressbar):
            _fetch_one(fetcher, entry, root, progressbar and _is_large(entry))
    finally:
        logger.setLevel(level)
    return root


def _is_large(entry: RemoteFile) -> bool:
    """Files that get a download bar of their own: the archives, whose size is not recorded."""
    return entry.size is None or entry.size > LARGE_FILE


def _fetch_one(fetcher, entry: RemoteFile, root: Path, progressbar: bool) -> None:
    try:
        fetcher.fetch(entry.path, processor=_processor(entry), progressbar=progressbar)
    except FetchError:
        raise
    except Exception as err:  # network, HTTP, checksum: all end the same way for a user
        raise FetchError(f"could not fetch {entry.path} from {entry.url}: {err}. "
                         f"Instead, {_manual_hint(entry, root)}.") from err


def archive_of(path: str, reg: dict[str, RemoteFile] | None = None) -> RemoteFile | None:
    """The registry archive a path of the unpacked layout comes from, or ``None``.

    An archive ``U/NAME.zip`` (or ``.rar``) unpacked into ``U`` holds the files under
    ``U/NAME/``: ``isic2017/ISIC-2017_Training_Data/ISIC_0000000.jpg`` comes from
    ``isic2017/ISIC-2017_Training_Data.zip``.
    """
    reg = registry() if reg is None else reg
    for entry in reg.values():
        if entry.unpack_to and path.startswith(_members_folder(entry) + "/"):
            return entry
    return None


def _members_folder(archive: RemoteFile) -> str:
    return f"{archive.unpack_to}/{Path(archive.path).stem}"


def _session() -> requests.Session:
    session = requests.Session()
    retry = Retry(total=RETRIES, backoff_factor=1.0, status_forcelist=(429, 500, 502, 503, 504))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def _open_archive(archive: RemoteFile, root: Path) -> zipfile.ZipFile:
    """The archive itself when it was downloaded whole, otherwise a range-request view of it."""
    from remotezip import RemoteZip

    local = root / archive.path
    if local.is_file():
        return zipfile.ZipFile(local)
    return RemoteZip(archive.url, session=_session(), timeout=60)


def _is_present(path: Path, entry: RemoteFile | None) -> bool:
    if not path.is_file():
        return False
    return entry is None or not entry.sha256 or file_sha256(path) == entry.sha256


def fetch_members(archive_path: str, paths: list[str], progressbar: bool = True) -> list[Path]:
    """Download single files of a zip archive of the registry, without the whole archive.

    Parameters
    ----------
    archive_path : str
        Registry path of the archive, e.g. ``isic2017/ISIC-2017_Training_Data.zip``.
    paths : list of str
        Paths of its files in the unpacked layout (``isic2017/ISIC-2017_Training_Data/...``).
    progressbar : bool
        Show a tqdm progress bar over the files still to download.

    Returns
    -------
    list of pathlib.Path
        Where the files are, under :func:`config.download_dir`. Files already there (with
        the right checksum, where the registry has one) are not downloaded again.
    """
    root = _download_root()
    reg = registry()
    archive = reg.get(archive_path)
    if archive is None or not archive.path.endswith(".zip") or not archive.url:
        raise ValueError(f"{archive_path} is not a downloadable zip archive of the registry")
    folder = _members_folder(archive)
    outside = [p for p in paths if not p.startswith(folder + "/")]
    if outside:
        raise ValueError(f"not in {archive_path} (its files lie under {folder}/): {outside[:3]}")
    todo = [p for p in paths if not _is_present(root / p, reg.get(p))]
    if todo:
        try:
            with _open_archive(archive, root) as handle:
                for path in tqdm(todo, desc=Path(archive.path).name, unit="file",
                                 disable=not progressbar):
                    _extract_member(handle, path, archive, reg.get(path), root)
        except FetchError:
            raise
        except Exception as err:  # network, HTTP, a corrupt member: all end the same way
            raise FetchError(f"could not read files of {archive.path} from {archive.url}: {err}. "
                             f"Instead, {_manual_hint(archive, root)}.") from err
    return [root / p for p in paths]


def _extract_member(handle: zipfile.ZipFile, path: str, archive: RemoteFile,
                    entry: RemoteFile | None, root: Path) -> None:
    """One member to ``root/path``, written under a temporary name and renamed when checked."""
    name = path[len(archive.unpack_to) + 1:]
    try:
        data = handle.read(name)  # zipfile checks the member's CRC-32
    except KeyError:
        raise FetchError(f"{archive.path} has no file {name}") from None
    if entry is not None and entry.sha256 and hashlib.sha256(data).hexdigest() != entry.sha256:
        raise FetchError(f"{path} from {archive.path} does not match the registry's sha256")
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, target)


def _select(paths: list[str] | None) -> list[RemoteFile]:
    reg = registry()
    if paths is None:
        return [e for e in reg.values() if e.downloadable]
    unknown = sorted(set(paths) - set(reg))
    if unknown:
        raise KeyError(f"not in the registry: {', '.join(unknown)}")
    return [reg[p] for p in paths if reg[p].downloadable]


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(root: Path | None = None) -> list[dict]:
    """Check the files under ``root`` that the registry has checksums for.

    Returns one record per registry file with a checksum: ``path``, ``status`` (``ok``,
    ``missing`` or ``mismatch``) and a ``detail``. Nothing is written.
    """
    root = Path(root) if root else config.data_dir()
    report = []
    for entry in registry().values():
        if not entry.sha256:
            continue
        path = root / entry.path
        if not path.is_file():
            status, detail = "missing", f"expected at {path}"
        elif file_sha256(path) != entry.sha256:
            status, detail = "mismatch", f"sha256 differs from the registry ({entry.sha256[:12]}…)"
        else:
            status, detail = "ok", ""
        report.append({"path": entry.path, "status": status, "detail": detail})
    return report
