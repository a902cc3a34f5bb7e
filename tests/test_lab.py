"""``python3 dev.py lab``: JupyterLab on the chapters, started headless and stopped."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
import dev  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(url: str, deadline: float, server: subprocess.Popen) -> dict:
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.load(answer)
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer {url} (exit code {server.poll()})")


def test_lab_serves_the_chapters_headless(tmp_path, monkeypatch):
    monkeypatch.setattr(dev, "VENV", Path(sys.executable).parents[1])  # this environment
    port, token = _free_port(), "enhance-test"
    cmd = dev.lab_command(["03", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"])
    assert cmd[-6] == str(PROJECT / "chapters" / "03_automated_abc.ipynb")
    env = {"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        status = _status(f"http://127.0.0.1:{port}/api/status?token={token}",
                         time.monotonic() + 120, server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}",
                                    timeout=5) as answer:
            listed = {item["name"] for item in json.load(answer)["content"]}
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert status["kernels"] == 0 and "started" in status
    assert "01_datasets.ipynb" in listed and "09_explanations.ipynb" in listed  # root: chapters/


@pytest.mark.parametrize("name", ["03", "03_automated_abc", "chapters/03_automated_abc.ipynb"])
def test_a_chapter_is_named_by_number_stem_or_file(name):
    assert dev.chapter_notebook(name) == PROJECT / "chapters" / "03_automated_abc.ipynb"


def test_an_unknown_chapter_is_refused():
    with pytest.raises(dev.Refused, match="no chapter '10'; the chapters are 01_datasets, "):
        dev.chapter_notebook("10")
