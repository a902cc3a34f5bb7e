"""Where the data lives and where derived files go.

Two environment variables steer the package:

``ENHANCE_DATA_DIR``
    An existing tree in the official unpacked layout (``enhance/``, ``isic2017/``, ``ph2/``),
    for instance the read-only mirror ``../shared/data``. It is only ever read.
``ENHANCE_CACHE_DIR``
    Where derived files (tables, figures, checksums) are written. Defaults to
    ``data/cache`` inside a source checkout, otherwise the user's cache folder.

Without ``ENHANCE_DATA_DIR`` the official files are downloaded (see
:mod:`enhance_utils.data.fetch`) into ``data/downloads`` of a checkout, or the user's cache folder.
``ENHANCE_DOWNLOAD_DIR`` and ``ENHANCE_RESULTS_DIR`` (the experiment store) move those folders.

The folders are resolved once into a :class:`Workspace` (:func:`resolve`): the book build
resolves one and hands its data folder to every chapter as the papermill parameter
``data_dir``; a chapter's setup (:func:`enhance_utils.setup_chapter`) resolves its own from that
parameter and makes it the process's workspace (:func:`use`), which the functions below then
return instead of reading the environment. Nothing here writes the environment.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: the environment variables that name folders; a relative value is read from the current folder
#: (``dev.py`` makes them absolute for the processes it starts in another folder)
PATH_VARIABLES = ("ENHANCE_DATA_DIR", "ENHANCE_DOWNLOAD_DIR", "ENHANCE_CACHE_DIR",
                  "ENHANCE_RESULTS_DIR")
_CHECKOUT_DIR = PACKAGE_DIR.parent


def _in_checkout() -> bool:
    return (_CHECKOUT_DIR / "pyproject.toml").is_file() and (_CHECKOUT_DIR / "data").is_dir()


def project_dir() -> Path | None:
    """The source checkout the package runs from, or ``None`` for an installed package."""
    return _CHECKOUT_DIR if _in_checkout() else None


def _user_cache() -> Path:
    """The user's cache folder for this package (pooch imported here only: ``dev.py`` reads
    this module before the environment exists)."""
    import pooch

    return Path(pooch.os_cache("enhance"))


def _default_root(sub: str) -> Path:
    if _in_checkout():
        return _CHECKOUT_DIR / "data" / sub
    return _user_cache() / sub


@dataclass(frozen=True)
class Workspace:
    """The folders the package reads and writes, resolved once (:func:`resolve`)."""

    #: root of the data tree in the official unpacked layout (read by the loaders)
    data: Path
    #: where the official files are downloaded and unpacked
    downloads: Path
    #: derived files (tables, figures, checksums, chapter 09's side store)
    cache: Path
    #: root of the experiment store
    store: Path
    #: whether ``data`` was named (``data_dir``, ``ENHANCE_DATA_DIR``): a read-only tree that
    #: is checked, never downloaded into
    external: bool


#: the workspace :func:`use` made current in this process (a chapter's kernel); None: the
#: functions below read the environment at each call
_CURRENT: Workspace | None = None


def _env_path(name: str) -> Path | None:
    return _path(os.environ.get(name))


def _named_data(path, name: str) -> Path:
    """A data folder named by ``name`` (a parameter or a variable), which must exist."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_dir():
        raise FileNotFoundError(
            f"{name}={str(path)!r} is not a folder. Point it at a tree in the official "
            "unpacked layout (enhance/, isic2017/, ph2/) or unset it to download the data."
        )
    return resolved


def _path(value) -> Path | None:
    return Path(value).expanduser().resolve() if value else None


def resolve(data=None, downloads=None, cache=None, store=None) -> Workspace:
    """The workspace from arguments, else the ``ENHANCE_*`` variables, else the defaults.

    Parameters
    ----------
    data : path, optional
        A data tree in the official unpacked layout (read-only; it must exist); default
        ``ENHANCE_DATA_DIR``, else the download folder.
    downloads, cache, store : path, optional
        Default ``ENHANCE_DOWNLOAD_DIR``, ``ENHANCE_CACHE_DIR`` and ``ENHANCE_RESULTS_DIR``,
        else ``data/downloads``, ``data/cache`` and ``results`` of a checkout (or the user's
        cache folder). A cache or a store inside a named data tree is refused where it is used
        (:func:`cache_dir`, :func:`results_dir`).
    """
    downloads = _path(downloads) or _download_path()
    name = "data_dir" if data else "ENHANCE_DATA_DIR"
    named = data or os.environ.get("ENHANCE_DATA_DIR")
    data = _named_data(named, name) if named else downloads
    cache, store = _path(cache) or _cache_path(), _path(store) or _store_path()
    return Workspace(data, downloads, cache, store, external=bool(named))


def use(workspace: Workspace | None) -> Workspace | None:
    """Make ``workspace`` this process's (None: read the environment again); returns the one
    it replaces. Called by entry points only (a chapter's setup); see :func:`using`."""
    global _CURRENT
    previous, _CURRENT = _CURRENT, workspace
    return previous


@contextlib.contextmanager
def using(workspace: Workspace):
    """:func:`use` ``workspace`` inside a ``with`` block, then the previous one again."""
    previous = use(workspace)
    try:
        yield workspace
    finally:
        use(previous)


def current() -> Workspace:
    """The workspace :func:`use` made current, else the one of the environment
    (:func:`resolve`)."""
    return _CURRENT if _CURRENT is not None else resolve()


def data_dir() -> Path:
    """Root of the data tree: the current workspace's, ``ENHANCE_DATA_DIR`` or the download
    folder."""
    if _CURRENT is not None:
        return _CURRENT.data
    env = os.environ.get("ENHANCE_DATA_DIR")
    return _named_data(env, "ENHANCE_DATA_DIR") if env else download_dir()


def download_dir() -> Path:
    """Folder the official files are downloaded and unpacked into."""
    return _CURRENT.downloads if _CURRENT is not None else _download_path()


def _download_path() -> Path:
    """The download folder of the environment: ``ENHANCE_DOWNLOAD_DIR`` or the default."""
    return _env_path("ENHANCE_DOWNLOAD_DIR") or _default_root("downloads")


def is_external_data_dir() -> bool:
    """True when the data is a named tree (``ENHANCE_DATA_DIR``, or the current workspace's
    ``data_dir``), never written to."""
    if _CURRENT is not None:
        return _CURRENT.external
    return bool(os.environ.get("ENHANCE_DATA_DIR"))


def _cache_path() -> Path:
    return _env_path("ENHANCE_CACHE_DIR") or _default_root("cache")


def cache_dir() -> Path:
    """Folder for derived files; created on first use, never inside ``ENHANCE_DATA_DIR``."""
    path = refuse_inside_data(_CURRENT.cache if _CURRENT is not None else _cache_path(),
                              "cache folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _refuse(path: Path, what: str, data: Path) -> Path:
    if _is_relative_to(path, data):
        raise ValueError(f"{what} {path} lies inside ENHANCE_DATA_DIR (or the data_dir given, "
                         f"{data}), which is read-only")
    return path


def refuse_inside_data(path: Path, what: str) -> Path:
    """``path``, or a ValueError when it lies inside ``ENHANCE_DATA_DIR`` (read-only)."""
    return _refuse(path, what, data_dir()) if is_external_data_dir() else path


def shown(path) -> str:
    """``path`` as a page or a message shows it, without the builder's own folders: relative to
    the project (``results/cpu``, ``data/cache``), else to the current workspace's data tree,
    cache or store (``<data>/isic2017``, ``<cache>/explain-runs``, ``<store>/cpu``), else to the
    home folder (``~/…``); else as it is."""
    path = Path(path).expanduser().absolute()
    roots = [("", project_dir())]
    with contextlib.suppress(FileNotFoundError):  # a bad ENHANCE_DATA_DIR: the other roots
        workspace = current()
        roots += [("<data>", workspace.data), ("<cache>", workspace.cache),
                  ("<store>", workspace.store)]
    roots.append(("~", Path.home()))
    for name, root in roots:
        if root is not None and _is_relative_to(path, root):
            relative = path.resolve().relative_to(Path(root).resolve()).as_posix()
            return "/".join(part for part in (name, relative) if part not in ("", ".")) or "."
    return str(path)


@contextlib.contextmanager
def replacing(target: Path):
    """A temporary path beside ``target`` (``NAME.PID.part``) for the block to write, moved
    onto ``target`` when it ends: a reader never sees half a file. When the block fails (a
    full disk, an interrupt) the temporary file is removed, not left behind."""
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        yield partial
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def data_source() -> str:
    """Where the data is read from, in words a page may show: a named tree is named by how it
    was given (its absolute folder is the builder's own), the download folder by :func:`shown`."""
    if is_external_data_dir():
        return "the folder named by ENHANCE_DATA_DIR (or the chapter's data_dir)"
    return f"the download folder {shown(data_dir())}"


def _is_relative_to(path: Path, other: Path) -> bool:
    try:
        path.resolve().relative_to(other.resolve())
    except ValueError:
        return False
    return True


def _store_path() -> Path:
    default = _CHECKOUT_DIR / "results" if _in_checkout() else _user_cache() / "results"
    return _env_path("ENHANCE_RESULTS_DIR") or default


def results_dir() -> Path:
    """Root of the experiment store: the current workspace's, ``ENHANCE_RESULTS_DIR``,
    ``results/`` of a checkout, or the user's cache folder; never inside ``ENHANCE_DATA_DIR``
    (a ValueError)."""
    return refuse_inside_data(_CURRENT.store if _CURRENT is not None else _store_path(),
                              "results folder")
