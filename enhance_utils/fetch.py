"""The registry of remote files and their download.

Every file the book reads has one row in ``registry.csv`` (path in the official unpacked
layout, URL, sha256 and size where known, and the archive it comes in). Downloading goes
through :mod:`pooch`: progress bar, retries, a temporary file renamed into place only once the
checksum matches, nothing fetched twice, archives unpacked beside themselves.

With ``ENHANCE_DATA_DIR`` set nothing is downloaded or written: :func:`verify` checks the
files that are there against the registry instead.
"""
from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pooch

from . import config

REGISTRY_FILE = config.PACKAGE_DIR / "registry.csv"
RETRIES = 3


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


def fetch(paths: list[str] | None = None, progressbar: bool = True) -> Path:
    """Download (and unpack) the registry's files into :func:`config.download_dir`.

    Parameters
    ----------
    paths : list of str, optional
        Registry paths to fetch; all downloadable files by default.
    progressbar : bool
        Show a tqdm progress bar per file.

    Returns
    -------
    pathlib.Path
        The data root, ready for the loaders.
    """
    if config.is_external_data_dir():
        raise FetchError(
            "ENHANCE_DATA_DIR is set: that tree is read-only and nothing is downloaded into it. "
            "Use `enhance fetch --verify` to check it, or unset ENHANCE_DATA_DIR to download."
        )
    root = config.download_dir()
    entries = _select(paths)
    fetcher = pooch.create(
        path=root, base_url="", retry_if_failed=RETRIES,
        registry={e.path: e.known_hash for e in entries},
        urls={e.path: e.url for e in entries},
    )
    for entry in entries:
        try:
            fetcher.fetch(entry.path, processor=_processor(entry), progressbar=progressbar)
        except FetchError:
            raise
        except Exception as err:  # network, HTTP, checksum: all end the same way for a user
            raise FetchError(f"could not fetch {entry.path} from {entry.url}: {err}. "
                             f"Instead, {_manual_hint(entry, root)}.") from err
    return root


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
