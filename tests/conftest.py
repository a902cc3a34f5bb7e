"""Shared fixtures: the real data tree (``ENHANCE_DATA_DIR``) and small written fixtures."""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = Path(__file__).resolve().parents[1]


#: test files whose tests share one resource, so that pytest-xdist runs them in one worker,
#: one after the other (:func:`pytest_xdist_make_scheduler`): the tests of the built book
#: (the session's :func:`built_book` would be built once per worker) and the Ray tests (each
#: starts a one-machine cluster)
SHARED = {"test_book.py": "book", "test_browser.py": "book", "test_cluster.py": "ray"}


def pytest_configure(config):
    """The test run is an entry point too: TensorFlow's errors only, as in the chapters."""
    import enhance_utils

    enhance_utils.quiet_tensorflow()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (``dev.py test`` runs two workers) every test is a unit of work of
    its own, except the files of :data:`SHARED`, whose tests form one unit per resource.
    (``--dist loadgroup`` would do this with marks, but pytest-xdist 3.8 names the groups in
    a node id that pytest 9 no longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling

    class SharedResources(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return SHARED.get(nodeid.split("::", 1)[0].rsplit("/", 1)[-1], nodeid)

    return SharedResources(config, log)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data tree in the official layout; tests needing it skip, with the reason, without it."""
    env = os.environ.get("ENHANCE_DATA_DIR")
    if not env or not Path(env).is_dir():
        pytest.skip("ENHANCE_DATA_DIR is not set to a data tree (e.g. ../shared/data)")
    return Path(env).resolve()


@pytest.fixture(scope="session")
def built_book(data_root, tmp_path_factory) -> Path:
    """The whole book built once per test session as ``enhance book`` builds it by default
    (smoke profile; chapters 06–08 from the committed ``cpu`` store, chapter 09 explaining the
    committed lite heads), with every Sphinx warning an error; its HTML folder."""
    from enhance_utils.book import build as book

    with pytest.MonkeyPatch.context() as env:
        env.setenv("ENHANCE_DATA_DIR", str(data_root))
        env.setenv("ENHANCE_STRICT_BUILD", "1")
        env.delenv("MPLBACKEND", raising=False)  # the chapters' figures need the inline backend
        return book.build("smoke", project=PROJECT, out=tmp_path_factory.mktemp("book"),
                          training=book.default_training_profile("smoke"))


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    """Derived files of a test go to its own temporary folder."""
    monkeypatch.setenv("ENHANCE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def _two_cpus(monkeypatch):
    """Every test sees the two CPUs of the CI machine: a grid's default number of jobs
    (:func:`enhance_utils.learning.executors.default_jobs`) is then the same on any machine,
    and a test that patches a run in its own process trains that run there (a test that
    wants worker processes asks for them: ``jobs=2``)."""
    from enhance_utils.learning import executors

    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that also answers ``Range: bytes=a-b`` (and ``-n``, ``a-``) with 206,
    as the ISIC archive does; every request is logged in ``log`` (path, range, bytes sent)."""

    log: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        ranged = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not ranged or not path.is_file():
            self.log.append((self.path, None, path.stat().st_size if path.is_file() else 0))
            return super().do_GET()
        size = path.stat().st_size
        first, _, last = ranged.removeprefix("bytes=").partition("-")
        if first:
            start, end = int(first), int(last or size - 1)
        else:
            start, end = size - int(last), size - 1
        start, end = max(start, 0), min(end, size - 1)
        with open(path, "rb") as handle:
            handle.seek(start)
            body = handle.read(end - start + 1)
        # logged before the answer: a client that has its bytes finds the request in the log
        self.log.append((self.path, ranged, len(body)))
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path/served`` on 127.0.0.1 (with range requests); yields (folder, base URL,
    request log)."""
    folder = tmp_path / "served"
    folder.mkdir()
    log = []
    handler = type("Handler", (_RangeHandler,), {"log": log})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/", log
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def download_env(tmp_path, monkeypatch):
    """Downloads go to ``tmp_path/downloads``; no ``ENHANCE_DATA_DIR``; no retries."""
    from enhance_utils.data import fetch

    monkeypatch.delenv("ENHANCE_DATA_DIR", raising=False)
    monkeypatch.setenv("ENHANCE_DOWNLOAD_DIR", str(tmp_path / "downloads"))
    monkeypatch.setattr(fetch, "RETRIES", 0)
    return tmp_path / "downloads"


@pytest.fixture
def use_registry(monkeypatch):
    """Replace the registry by the given :class:`enhance_utils.data.registry.RemoteFile` rows."""
    from enhance_utils.data import registry

    def use(entries):
        monkeypatch.setattr(registry, "entries", lambda: {e.path: e for e in entries})

    return use
