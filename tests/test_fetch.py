"""Registry, download (against a local HTTP server) and verification of the data."""
from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile

import pytest

from enhance_utils import config, fetch


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path/served`` on 127.0.0.1; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture
def download_env(tmp_path, monkeypatch):
    monkeypatch.delenv("ENHANCE_DATA_DIR", raising=False)
    monkeypatch.setenv("ENHANCE_DOWNLOAD_DIR", str(tmp_path / "downloads"))
    monkeypatch.setattr(fetch, "RETRIES", 0)
    return tmp_path / "downloads"


def _use_registry(monkeypatch, entries):
    monkeypatch.setattr(fetch, "registry", lambda: {e.path: e for e in entries})


def test_registry_covers_every_enhance_file(data_root):
    reg = fetch.registry()
    local = {p.relative_to(data_root).as_posix() for p in (data_root / "enhance").rglob("*") if p.is_file()}
    enhance = {path for path in reg if path.startswith("enhance/")}
    assert enhance == local
    for path in enhance:
        entry = reg[path]
        assert "61b4176c4e8b90e6670c5fde67e98dc6babc4308" in entry.url
        assert len(entry.sha256) == 64 and entry.size > 0
    archives = [e for e in reg.values() if e.unpack_to]
    assert {e.path for e in archives} == {"isic2017/ISIC-2017_Training_Data.zip",
                                          "isic2017/ISIC-2017_Training_Part1_GroundTruth.zip",
                                          "ph2/PH2Dataset.rar"}
    for entry in reg.values():
        assert entry.downloadable or entry.archive in reg, entry.path


def test_verify_the_mirror(data_root):
    report = fetch.verify(data_root)
    assert len(report) >= 50
    assert {r["status"] for r in report} == {"ok"}


def test_verify_reports_missing_and_mismatch(tmp_path, data_root):
    rel = "enhance/crowd/asymmetry.csv"
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_text("ID,i,ii,iii\n")
    status = {r["path"]: r["status"] for r in fetch.verify(tmp_path)}
    assert status[rel] == "mismatch"
    assert status["enhance/crowd/border.csv"] == "missing"


def test_fetch_downloads_checks_and_skips(server, download_env, monkeypatch):
    folder, base = server
    (folder / "a.csv").write_text("ID,i\nISIC_0000001,1\n")
    digest = hashlib.sha256((folder / "a.csv").read_bytes()).hexdigest()
    _use_registry(monkeypatch, [fetch.RemoteFile("enhance/x/a.csv", base + "a.csv", digest)])
    root = fetch.fetch(progressbar=False)
    target = root / "enhance/x/a.csv"
    assert root == download_env and target.read_text().startswith("ID,i")
    (folder / "a.csv").unlink()  # a second fetch must not need the server
    fetch.fetch(progressbar=False)
    assert target.is_file()
    assert not list(target.parent.glob("tmp*"))  # no temporary file left behind


def test_fetch_unzips_archives(server, download_env, monkeypatch):
    folder, base = server
    with zipfile.ZipFile(folder / "masks.zip", "w") as archive:
        archive.writestr("Masks/ISIC_0000001_segmentation.png", b"not really a png")
    entry = fetch.RemoteFile("isic2017/masks.zip", base + "masks.zip", unpack_to="isic2017")
    _use_registry(monkeypatch, [entry])
    root = fetch.fetch(progressbar=False)
    assert (root / "isic2017/Masks/ISIC_0000001_segmentation.png").is_file()


def test_checksum_mismatch_is_a_clear_error(server, download_env, monkeypatch):
    folder, base = server
    (folder / "a.csv").write_text("tampered\n")
    _use_registry(monkeypatch, [fetch.RemoteFile("enhance/a.csv", base + "a.csv", "0" * 64)])
    with pytest.raises(fetch.FetchError, match=r"enhance/a.csv.*put it at"):
        fetch.fetch(progressbar=False)
    assert not (download_env / "enhance/a.csv").exists()


def test_offline_error_names_file_url_and_place(download_env, monkeypatch):
    url = "http://127.0.0.1:9/ISIC-2017_Training_Part3_GroundTruth.csv"
    _use_registry(monkeypatch, [fetch.RemoteFile("isic2017/gt.csv", url, "")])
    with pytest.raises(fetch.FetchError) as err:
        fetch.fetch(progressbar=False)
    message = str(err.value)
    assert "isic2017/gt.csv" in message and url in message
    assert str(download_env / "isic2017/gt.csv") in message and "ENHANCE_DATA_DIR" in message


def test_fetch_refuses_to_write_into_data_dir(data_root, monkeypatch):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    with pytest.raises(fetch.FetchError, match="read-only"):
        fetch.fetch()


def test_cache_never_inside_data_dir(data_root, monkeypatch):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    monkeypatch.setenv("ENHANCE_CACHE_DIR", str(data_root / "cache"))
    with pytest.raises(ValueError, match="read-only"):
        config.cache_dir()


def test_bad_data_dir_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="ENHANCE_DATA_DIR"):
        config.data_dir()


def test_unknown_registry_path(download_env):
    with pytest.raises(KeyError, match="not in the registry: nope.csv"):
        fetch.fetch(["nope.csv"])


def test_rar_without_a_tool_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch.shutil, "which", lambda name: None)
    archive = tmp_path / "PH2Dataset.rar"
    archive.write_bytes(b"Rar!")
    unrar = fetch._processor(fetch.RemoteFile("ph2/PH2Dataset.rar", "x", unpack_to="ph2"))
    with pytest.raises(fetch.FetchError, match="bsdtar.*unrar.*by hand"):
        unrar(str(archive), "download", None)
