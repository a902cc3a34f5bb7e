"""Shared fixtures: the real data tree (``ENHANCE_DATA_DIR``) and small written fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data tree in the official layout; tests needing it skip, with the reason, without it."""
    env = os.environ.get("ENHANCE_DATA_DIR")
    if not env or not Path(env).is_dir():
        pytest.skip("ENHANCE_DATA_DIR is not set to a data tree (e.g. ../shared/data)")
    return Path(env).resolve()


@pytest.fixture(scope="session")
def built_book(data_root, tmp_path_factory) -> Path:
    """The whole book built once per test session (smoke profile); its HTML folder."""
    from enhance_utils import book

    saved = {key: os.environ.get(key) for key in ("ENHANCE_DATA_DIR", "MPLBACKEND")}
    os.environ["ENHANCE_DATA_DIR"] = str(data_root)
    os.environ.pop("MPLBACKEND", None)  # the chapters' figures need the inline backend
    try:
        return book.build("smoke", project=PROJECT, out=tmp_path_factory.mktemp("book"))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    """Derived files of a test go to its own temporary folder."""
    monkeypatch.setenv("ENHANCE_CACHE_DIR", str(tmp_path / "cache"))
