"""Colab: the setup keeps Colab's packages, and the chapters run on Colab's versions.

The unit tests check the pieces of :mod:`enhance_utils.book.colab` and the setup cells; the last
test runs ``tools/colab_check.py``, which builds a Python 3.13 virtualenv with Colab's packages (its
published ``pip freeze``), runs a chapter's setup cell there as Colab does, and executes
chapters 02, 04 and 01 in it (minutes; the download of TensorFlow is most of the first run).
"""
from __future__ import annotations

import json

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from enhance_utils.book import colab

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tools"))
import colab_check  # noqa: E402
import setup_cells  # noqa: E402


def test_constraints_keep_what_is_installed_and_lock_the_rest():
    present = {"numpy": "2.1.3", "enhance-utils": "0.1.0"}
    lock = {"numpy": "2.4.6", "krippendorff": "0.9.0", "enhance-utils": "0.0.9"}
    assert colab.constraints(present, lock) == ["krippendorff==0.9.0", "numpy==2.1.3"]


def test_read_lock_normalizes_names(tmp_path):
    lock = tmp_path / "requirements.txt"
    lock.write_text("# comment\nJinja2==3.1.6\net_xmlfile==2.0.0  # note\n-e .\n")
    assert colab.read_lock(lock) == {"jinja2": "3.1.6", "et-xmlfile": "2.0.0"}


def test_installed_sees_this_environment():
    import numpy

    assert colab.installed()["numpy"] == numpy.__version__


def test_pip_failure_carries_pips_own_message(tmp_path):
    (tmp_path / "requirements.txt").write_text("")
    with pytest.raises(colab.SetupError, match="does not appear to be a Python project"):
        colab.pip_install(tmp_path)  # no pyproject.toml: pip refuses at once, offline


def test_rar_tool_not_needed_with_a_data_tree(monkeypatch):
    monkeypatch.setenv("ENHANCE_DATA_DIR", "/somewhere")
    assert not colab.needs_rar_tool()


def test_every_setup_cell_is_the_template():
    for path in sorted((PROJECT / "chapters").glob("*.ipynb")):
        cell = setup_cells.setup_cell(nbformat.read(path, as_version=4))
        ref = setup_cells.clone_ref(cell.source)
        assert cell.source == setup_cells.setup_source(path.stem, ref), path.name
        assert colab.CHECKOUT in cell.source


def test_setup_chapter_installs_in_colab_only(monkeypatch, tmp_path):
    import types

    import enhance_utils
    from enhance_utils.book import chapter_data
    from enhance_utils.data import paths

    monkeypatch.setattr(paths, "_CURRENT", None)  # the kernel's workspace, restored after
    data = tmp_path / "data"
    data.mkdir()
    calls, ensured = [], []
    monkeypatch.setattr(colab, "install", lambda checkout: calls.append(checkout) or ["x 1"])
    monkeypatch.setattr(chapter_data, "ensure", lambda *a, **k: ensured.append((a, k)))
    workspace = enhance_utils.setup_chapter("03_automated_abc", "smoke", data, n_recompute=5)
    assert ensured == [(("03_automated_abc", "smoke"),
                        {"workspace": workspace, "n_recompute": 5})]
    assert calls == []  # not in Colab: nothing installed
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert enhance_utils.setup_chapter("03_automated_abc", "smoke", data,
                                       n_recompute=5) == workspace
    assert calls == [PROJECT]  # the checkout the package was imported from



class _FakeDistribution:
    """What importlib.metadata says of an installed ``enhance-utils``."""

    def __init__(self, version, url, editable=True, requires=("numpy>=2", "krippendorff")):
        self.version, self.requires = version, list(requires) + ['pytest; extra == "test"']
        self._origin = {"url": url, "dir_info": {"editable": editable}}

    def read_text(self, name):
        return json.dumps(self._origin) if name == "direct_url.json" else None


@pytest.mark.parametrize("change, skipped", [
    ({}, True),
    ({"version": "0.0.1"}, False),                       # the clone moved on: reinstall
    ({"url": "file:///elsewhere/enhance-book"}, False),  # installed from another folder
    ({"editable": False}, False),                        # a copy, not the clone
    ({"requires": ("numpy>=2", "not-installed-here")}, False),
])
def test_a_second_chapter_skips_the_install(monkeypatch, tmp_path, change, skipped):
    """In one Colab runtime, the second chapter's setup installs nothing when the package is
    installed from this clone at its version with its requirements; anything else reinstalls."""
    from importlib import metadata

    checkout = tmp_path / "enhance book"
    (checkout / "enhance_utils").mkdir(parents=True)
    (checkout / "enhance_utils" / "version.py").write_text('__version__ = "1.2.3"\n')
    fake = {"version": "1.2.3", "url": checkout.as_uri(), **change}
    monkeypatch.setattr(metadata, "distribution", lambda name: _FakeDistribution(**fake))
    monkeypatch.setattr(colab, "installed", lambda: {"numpy": "2.1", "krippendorff": "0.8"})
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(tmp_path))  # no RAR tool needed
    pipped = []
    monkeypatch.setattr(colab, "pip_install", lambda path: pipped.append(path))
    assert colab.installed_from(checkout) is skipped
    assert colab.install(checkout) == []
    assert pipped == ([] if skipped else [checkout])


def test_setup_chapter_makes_its_data_dir_the_kernels(monkeypatch, tmp_path):
    """The chapter's ``data_dir`` (the book build's) is what the package reads from then on;
    without it, ``ENHANCE_DATA_DIR`` as before."""
    import enhance_utils
    from enhance_utils.book import chapter_data
    from enhance_utils.data import paths

    monkeypatch.setattr(paths, "_CURRENT", None)
    monkeypatch.setattr(chapter_data, "ensure", lambda *a, **k: None)
    monkeypatch.delenv("ENHANCE_DATA_DIR", raising=False)
    given, mirror = tmp_path.resolve() / "given", tmp_path.resolve() / "mirror"
    given.mkdir()
    mirror.mkdir()
    workspace = enhance_utils.setup_chapter("02_annotations", "smoke", str(given))
    assert workspace.data == given and workspace.external
    assert paths.data_dir() == given and paths.is_external_data_dir()
    assert paths.cache_dir() == workspace.cache == tmp_path.resolve() / "cache"
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(mirror))
    assert enhance_utils.setup_chapter("02_annotations", "smoke").data == mirror
    assert paths.data_dir() == mirror


def test_book_packages_are_colabs_versions():
    pins = colab_check.colab_pins()
    packages = dict(p.split("==") for p in colab_check.book_packages(pins))
    assert packages["tensorflow"] == pins["tensorflow"] == "2.20.0"
    assert packages["ipykernel"] == pins["ipykernel"]
    assert "krippendorff" not in packages  # Colab lacks it: the setup adds it


def test_chapters_run_on_colabs_packages(data_root, tmp_path):
    try:
        colab_check.python313()
    except colab_check.CheckFailed as error:
        pytest.skip(str(error))
    try:
        done = subprocess.run([sys.executable, str(PROJECT / "tools" / "colab_check.py"),
                               "--workdir", str(tmp_path)], capture_output=True, text=True,
                              timeout=1800)
    finally:  # pytest keeps recent temporary folders; a 1.5 GB virtualenv need not stay
        shutil.rmtree(tmp_path / "colab-venv", ignore_errors=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Colab's" in done.stdout and "packages unchanged" in done.stdout
    for chapter in colab_check.CHAPTERS:
        assert nbformat.read(tmp_path / f"{chapter}.ipynb", as_version=4).cells


def test_every_constraint_of_this_environment_is_valid():
    from packaging.requirements import Requirement

    lines = colab.constraints(colab.installed(), colab.read_lock(PROJECT / "requirements.txt"))
    assert all(str(Requirement(line).specifier).startswith("==") for line in lines)
    assert not colab._valid_version("not a version") and colab._valid_version("2.11.0+cpu")
