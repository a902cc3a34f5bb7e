"""Downloading the files of the registry (:mod:`enhance_utils.data.registry`).

Downloading goes through :mod:`pooch`: progress bar, retries, a temporary file renamed into place only once the
checksum matches, nothing fetched twice, archives unpacked beside themselves. Files are
written with the user's umask. One fetch writes into the download folder at a time (a lock,
where :mod:`fcntl` exists); it first removes the temporary files that a killed download left.

Single files of the ISIC zip archives (a few hundred images instead of the 6 GB archive) are
read out of the remote archive with HTTP range requests (:func:`fetch_members`, built on
:mod:`remotezip`); the archive's own CRC-32 checks every member, and the registry's sha256
where it has one.

With ``ENHANCE_DATA_DIR`` set nothing is downloaded or written:
:func:`enhance_utils.data.registry.verify` checks the files that are there against the
registry instead.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path

import pooch
import requests
from requests.adapters import HTTPAdapter
from tqdm.auto import tqdm
from urllib3.util.retry import Retry

from . import paths as config, registry
from .registry import RemoteFile

try:
    import fcntl
except ImportError:  # Windows: no lock, no removal of leftovers
    fcntl = None

RETRIES = 3
#: bytes above which a file gets a download progress bar of its own
LARGE_FILE = 10 * 2**20
#: files a failed download names one by one (offline, all of them fail: the rest are counted)
LISTED_FAILURES = 3
#: the lock file of the download folder, held by the fetch that writes there
LOCK_FILE = ".fetch.lock"
#: temporary files of a download: pooch's (:mod:`tempfile`'s ``tmpXXXXXXXX``), a member's
#: ``NAME.part``
TEMPORARY = re.compile(r"tmp[a-z0-9_]{8}|.+\.part")


class FetchError(RuntimeError):
    """A file could not be downloaded; the message says how to provide it by hand."""


def confined(root, relative: str) -> Path:
    """``root / relative``, resolved; :class:`FetchError` if that lies outside ``root``.

    Every path the download writes (registry paths, members of archives) goes through this,
    so that ``..`` or an absolute path can never write outside the download folder.
    """
    base = Path(root).resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise FetchError(f"{relative!r} would be written outside {base}; refused")
    return target


def _manual_hint(entry: RemoteFile, root: Path) -> str:
    where = root / entry.path
    text = f"download {entry.url} by hand and put it at {where}"
    if entry.unpack_to:
        text += f" (it is unpacked into {root / entry.unpack_to})"
    return text + ", or set ENHANCE_DATA_DIR to a tree in the official layout that has it"


def _check_members(fname, names, extract_dir) -> None:
    """FetchError naming the first member of an archive that would land outside its folder."""
    for name in names:
        try:
            confined(extract_dir, name)
        except FetchError:
            raise FetchError(f"{fname} holds {name!r}, which would be unpacked outside "
                             f"{extract_dir}; refused (delete {fname})") from None


def _damaged(fname, extract_dir, tool: str, message: str) -> FetchError:
    return FetchError(f"could not unpack {fname} with {tool}: {message.strip()}. The archive is "
                      f"damaged or incomplete: delete {fname} and run `enhance fetch` again, "
                      f"or unpack a good copy by hand into {extract_dir}")


class _Unzip(pooch.Unzip):
    """:class:`pooch.Unzip` that refuses members outside its folder and names a damaged zip."""

    def _all_members(self, fname):
        try:
            return super()._all_members(fname)
        except zipfile.BadZipFile as err:
            raise _damaged(fname, self.extract_dir, "zipfile", str(err)) from None

    def _extract_file(self, fname, extract_dir):
        _check_members(fname, self._all_members(fname), extract_dir)
        try:
            super()._extract_file(fname, extract_dir)
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            raise _damaged(fname, extract_dir, "zipfile", str(err)) from None


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

    def _run(self, cmd, fname, extract_dir) -> str:
        """Output of the unpacker; its own message in a :class:`FetchError` when it fails."""
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise _damaged(fname, extract_dir, cmd[0], done.stderr or done.stdout)
        return done.stdout

    def _all_members(self, fname):
        """File names in the archive, so that a half-unpacked archive is unpacked again."""
        tool = self._tool(fname, self.extract_dir)
        cmd = ["bsdtar", "-tf", fname] if tool == "bsdtar" else ["unrar", "lb", fname]
        listing = self._run(cmd, fname, self.extract_dir)
        return [line for line in listing.splitlines() if line and not line.endswith("/")]

    def _extract_file(self, fname, extract_dir):
        _check_members(fname, self._all_members(fname), extract_dir)
        if self._tool(fname, extract_dir) == "bsdtar":
            cmd = ["bsdtar", "-xf", fname, "-C", extract_dir]
        else:
            cmd = ["unrar", "x", "-o+", fname, extract_dir + "/"]
        self._run(cmd, fname, extract_dir)


@contextlib.contextmanager
def _downloading(root: Path, reg: dict[str, RemoteFile]):
    """Hold the download folder's lock in this block (another fetch waits; a killed one
    releases it), having removed the temporary files that killed downloads left there: with
    the lock held, no other fetch is writing them. Without :mod:`fcntl` neither happens, nor
    in a folder this user cannot write (nothing was left there, and every file there is used
    as it is)."""
    lock = _open_lock(root)
    with lock or contextlib.nullcontext():
        if lock is not None and fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
            _remove_temporaries(root, reg)
        yield


def _open_lock(root: Path):
    """The download folder's :data:`LOCK_FILE`, opened; None where it cannot be written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        return open(root / LOCK_FILE, "a")
    except OSError:
        return None


def _remove_temporaries(root: Path, reg: dict[str, RemoteFile]) -> None:
    """Remove the :data:`TEMPORARY` files from the folders the registry's files go into."""
    known = {root / e.path for e in reg.values()}
    for folder in {path.parent for path in known}:
        left = folder.iterdir() if folder.is_dir() else ()
        for path in left:
            if TEMPORARY.fullmatch(path.name) and path not in known and path.is_file():
                path.unlink(missing_ok=True)


class _Downloader:
    """pooch's downloader for ``url``, whose file gets the user's umask: pooch downloads into
    a :mod:`tempfile` file, created with mode 0600, and renames it into place."""

    def __init__(self, url: str, progressbar: bool):
        self._download = pooch.downloaders.choose_downloader(url, progressbar=progressbar)

    def __call__(self, url, output_file, fetcher, check_only=False):
        if not check_only:  # the downloader creates it again, as open() does: with the umask
            Path(output_file).unlink(missing_ok=True)
        return self._download(url, output_file, fetcher, check_only=check_only)


def _processor(entry: RemoteFile):
    if not entry.unpack_to:
        return None
    if entry.path.endswith(".zip"):
        return _Unzip(extract_dir=".")
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

    Raises
    ------
    FetchError
        After trying every file (no more once the network is found down): one line per file
        that is still missing, with its URL and where to put it by hand.

    Notes
    -----
    An archive whose folder was unpacked by hand is not downloaded when the registry's
    checksummed files inside it verify (:func:`unpacked_by_hand`).
    """
    root = _download_root()
    reg = registry.entries()
    entries = [e for e in _select(paths, reg) if not unpacked_by_hand(e, root, reg)]
    for entry in entries:
        confined(root, entry.path)
    fetcher = pooch.create(
        path=root, base_url="", retry_if_failed=RETRIES,
        registry={e.path: e.known_hash for e in entries},
        urls={e.path: e.url for e in entries},
    )
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # one progress bar over the files instead of a line for each
    try:
        with _downloading(root, reg):
            failures = _fetch_each(fetcher, entries, root, progressbar)
    finally:
        logger.setLevel(level)
    if failures:
        raise FetchError(_failure_message(failures, len(entries), root))
    return root


def _failure_message(failures: list[str], tried: int, root: Path) -> str:
    """What could not be fetched: the first few files with their remedy, the rest counted."""
    shown = failures[:LISTED_FAILURES]
    text = f"{len(failures)} of {tried} file(s) could not be fetched into {root}:\n  "
    text += "\n  ".join(shown)
    if len(failures) > len(shown):
        text += (f"\n  and {len(failures) - len(shown)} more, the same way (their URLs are in "
                 f"{registry.REGISTRY_FILE})")
    return text


def _fetch_each(fetcher, entries: list[RemoteFile], root: Path, progressbar: bool) -> list[str]:
    """Fetch every entry; one line per file still missing: why, and how to get it by hand.

    Once a failure shows that the network is down, the remaining files are not tried.
    """
    failures, offline = [], False
    for entry in tqdm(entries, desc="data files", unit="file", disable=not progressbar):
        if offline:
            if not (root / entry.path).is_file():
                failures.append(f"{entry.path}: not tried (no network). Instead, "
                                f"{_manual_hint(entry, root)}")
            continue
        try:
            _fetch_one(fetcher, entry, root, progressbar and _is_large(entry))
        except FetchError as err:
            failures.append(f"{entry.path}: {err}")
            offline = isinstance(err.__cause__, (requests.ConnectionError, requests.Timeout))
    return failures


def unpacked_by_hand(entry: RemoteFile, root: Path, reg: dict[str, RemoteFile]) -> bool:
    """Whether an archive need not be fetched: it is not there, but its folder is, and every
    file of the registry that comes in it (with a checksum) is there and verifies."""
    if not entry.unpack_to or (root / entry.path).is_file():
        return False
    inside = [e for e in reg.values() if e.archive == entry.path and e.sha256]
    return (bool(inside) and (root / registry.members_folder(entry)).is_dir()
            and all(_is_present(root / e.path, e) for e in inside))


def _is_large(entry: RemoteFile) -> bool:
    """Files that get a download bar of their own: the archives, whose size is not recorded."""
    return entry.size is None or entry.size > LARGE_FILE


def _fetch_one(fetcher, entry: RemoteFile, root: Path, progressbar: bool) -> None:
    try:
        fetcher.fetch(entry.path, processor=_processor(entry),
                      downloader=_Downloader(entry.url, progressbar))
    except FetchError:
        raise
    except Exception as err:  # network, HTTP, checksum: all end the same way for a user
        raise FetchError(f"could not fetch {entry.path} from {entry.url}: {err}. "
                         f"Instead, {_manual_hint(entry, root)}.") from err


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
    return entry is None or not entry.sha256 or registry.file_sha256(path) == entry.sha256


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
    reg = registry.entries()
    archive = reg.get(archive_path)
    if archive is None or not archive.path.endswith(".zip") or not archive.url:
        raise ValueError(f"{archive_path} is not a downloadable zip archive of the registry")
    folder = registry.members_folder(archive)
    outside = [p for p in paths if not p.startswith(folder + "/")]
    if outside:
        raise ValueError(f"not in {archive_path} (its files lie under {folder}/): {outside[:3]}")
    for path in paths:
        confined(root / folder, path[len(folder) + 1:])
    with _downloading(root, reg):
        todo = [p for p in paths if not _is_present(root / p, reg.get(p))]
        if todo:
            _extract_members(archive, todo, reg, root, progressbar)
    return [root / p for p in paths]


def _extract_members(archive: RemoteFile, todo: list[str], reg: dict[str, RemoteFile],
                     root: Path, progressbar: bool) -> None:
    """The files ``todo`` out of ``archive``, local or remote; any failure a FetchError."""
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
    target = confined(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with config.replacing(target) as partial:
        partial.write_bytes(data)


def _select(paths: list[str] | None, reg: dict[str, RemoteFile]) -> list[RemoteFile]:
    """The registry rows to download: all downloadable ones, or ``paths`` (each checked)."""
    for entry in reg.values():
        registry.check_source(entry, reg)
    if paths is None:
        return [e for e in reg.values() if e.downloadable]
    unknown = sorted(set(paths) - set(reg))
    if unknown:
        raise ValueError(f"not in the registry: {', '.join(unknown)}")
    inside = [p for p in paths if not reg[p].downloadable]
    if inside:
        raise ValueError(f"no URL for {', '.join(inside)}: fetch the archive that holds it "
                         f"({', '.join(sorted({reg[p].archive for p in inside}))})")
    return [reg[p] for p in dict.fromkeys(paths)]


