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
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
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


def data_dir() -> Path:
    """Root of the data tree: ``ENHANCE_DATA_DIR`` or the download folder."""
    env = os.environ.get("ENHANCE_DATA_DIR")
    if env:
        path = Path(env).expanduser().resolve()
        if not path.is_dir():
            raise FileNotFoundError(
                f"ENHANCE_DATA_DIR={env!r} is not a folder. Point it at a tree in the official "
                "unpacked layout (enhance/, isic2017/, ph2/) or unset it to download the data."
            )
        return path
    return download_dir()


def download_dir() -> Path:
    """Folder the official files are downloaded and unpacked into."""
    env = os.environ.get("ENHANCE_DOWNLOAD_DIR")
    return Path(env).expanduser().resolve() if env else _default_root("downloads")


def is_external_data_dir() -> bool:
    """True when the data comes from ``ENHANCE_DATA_DIR`` (never written to)."""
    return bool(os.environ.get("ENHANCE_DATA_DIR"))


def cache_dir() -> Path:
    """Folder for derived files; created on first use, never inside ``ENHANCE_DATA_DIR``."""
    env = os.environ.get("ENHANCE_CACHE_DIR")
    path = refuse_inside_data(Path(env).expanduser().resolve() if env else _default_root("cache"),
                         "cache folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def refuse_inside_data(path: Path, what: str) -> Path:
    """``path``, or a ValueError when it lies inside ``ENHANCE_DATA_DIR`` (read-only)."""
    if is_external_data_dir() and _is_relative_to(path, data_dir()):
        raise ValueError(f"{what} {path} lies inside ENHANCE_DATA_DIR, which is read-only")
    return path


def _is_relative_to(path: Path, other: Path) -> bool:
    try:
        path.resolve().relative_to(other.resolve())
    except ValueError:
        return False
    return True


def results_dir() -> Path:
    """Root of the experiment store: ``ENHANCE_RESULTS_DIR``, ``results/`` of a checkout,
    or the user's cache folder; never inside ``ENHANCE_DATA_DIR`` (a ValueError)."""
    env = os.environ.get("ENHANCE_RESULTS_DIR")
    if env:
        return refuse_inside_data(Path(env).expanduser().resolve(), "results folder")
    path = _CHECKOUT_DIR / "results" if _in_checkout() else _user_cache() / "results"
    return refuse_inside_data(path, "results folder")
