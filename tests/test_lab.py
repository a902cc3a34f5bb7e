"""``python3 dev.py lab``: JupyterLab on a chapter's live edition, started headless and
stopped; the live edition's setup runs in a kernel of its folder."""
from __future__ import annotations

import json
import os
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
    assert cmd[-6] == str(PROJECT / "editions" / "live" / "03_automated_abc.ipynb")
    env = {"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        status = _status(f"http://127.0.0.1:{port}/api/status?token={token}",
                         time.monotonic() + 120, server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/editions/live"
                                    f"?token={token}", timeout=5) as answer:
            listed = {item["name"] for item in json.load(answer)["content"]}
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert status["kernels"] == 0 and "started" in status
    assert "01_datasets.ipynb" in listed and "09_explanations.ipynb" in listed  # root: project


@pytest.mark.parametrize("name", ["03", "03_automated_abc", "chapters/03_automated_abc.ipynb"])
def test_a_chapter_is_named_by_number_stem_or_file(name):
    assert dev.chapter_notebook(name) == PROJECT / "chapters" / "03_automated_abc.ipynb"


def test_an_unknown_chapter_is_refused():
    with pytest.raises(dev.Refused, match="no chapter '10'; the chapters are 01_datasets, "):
        dev.chapter_notebook("10")


def test_lab_hands_the_server_absolute_folders(data_root, tmp_path, monkeypatch):
    """The README's ``ENHANCE_DATA_DIR=../shared/data python3 dev.py lab 03``: the server (and
    its kernels, which run in ``chapters/``) get the folder variables made absolute."""
    started = {}
    monkeypatch.setattr(dev, "ensure_environment", lambda: None)
    monkeypatch.setattr(dev.subprocess, "run", lambda cmd, cwd, env: started.update(
        cmd=cmd, cwd=cwd, env=env) or subprocess.CompletedProcess(cmd, 0))
    monkeypatch.chdir(data_root.parent)
    monkeypatch.setenv("ENHANCE_DATA_DIR", data_root.name)
    monkeypatch.setenv("ENHANCE_RESULTS_DIR", "~/store")
    monkeypatch.setenv("ENHANCE_STRICT_BUILD", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert dev.main(["dev.py", "lab", "03"]) == 0
    env = started["env"]
    assert env["ENHANCE_DATA_DIR"] == str(data_root)
    assert env["ENHANCE_RESULTS_DIR"] == str(Path("~/store").expanduser())
    assert env["ENHANCE_STRICT_BUILD"] == "1" and "MPLBACKEND" not in env
    assert started["cwd"] == dev.ROOT


def test_chapter_03_sets_up_in_a_kernel_of_its_live_edition(data_root, monkeypatch):
    """The live edition of chapter 03, which ``dev.py lab 03`` opens: its parameters and setup
    cells run in a kernel started as JupyterLab starts it (in ``editions/live/``) with the
    environment ``dev.py lab`` hands over from a relative ``ENHANCE_DATA_DIR``."""
    import nbclient
    import nbformat

    monkeypatch.chdir(data_root.parent)
    monkeypatch.setenv("ENHANCE_DATA_DIR", data_root.name)
    edition = dev.live_edition("03")
    nb = nbformat.read(edition, as_version=4)
    setup = next(i for i, cell in enumerate(nb.cells) if "setup_chapter" in cell.source)
    nb.cells = nb.cells[:setup + 1]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=300).execute(
        cwd=str(edition.parent), env=dev.child_environment(dict(os.environ)))
    assert not any(o.get("output_type") == "error" for cell in nb.cells
                   for o in cell.get("outputs", []))
