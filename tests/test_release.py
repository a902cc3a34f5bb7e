"""Licence, citation and releases: one version everywhere, and refs that a release can pin."""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat
import yaml

import enhance_utils
from enhance_utils.book import build, editions, repository

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tools"))
import release  # noqa: E402
import setup_cells  # noqa: E402


def _refs(root: Path) -> set[str]:
    """The refs that the setup cells clone and the launch buttons open."""
    config = yaml.safe_load((root / "book" / "_config.yml").read_text())
    cells = [setup_cells.setup_cell(nbformat.read(p, as_version=4))
             for p in sorted((root / "chapters").glob("*.ipynb"))]
    return {config["repository"]["branch"]} | {setup_cells.clone_ref(c.source) for c in cells}


def test_licences():
    assert (PROJECT / "LICENSE").read_text().startswith("MIT License")
    assert "CC BY 4.0" in (PROJECT / "LICENSE-text.md").read_text()


def test_citation_names_this_version_and_the_paper():
    citation = yaml.safe_load((PROJECT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert str(citation["version"]) == enhance_utils.__version__
    paper = citation["references"][0]
    assert paper["title"].startswith("ENHANCE (ENriching Health data")
    assert [a["family-names"] for a in paper["authors"]][:2] == ["Raumanns", "Schouten"]


def test_book_shows_the_version():
    assert enhance_utils.__version__ in build.version_note()
    assert f"{{include}} {build.VERSION_PAGE}" in (PROJECT / "book" / "intro.md").read_text()


def test_buttons_and_clones_open_the_same_ref():
    assert len(_refs(PROJECT)) == 1


def _addresses(root: Path) -> set[str]:
    """The repository addresses of the book's files, the setup cells and the editions."""
    config = yaml.safe_load((root / "book" / "_config.yml").read_text())
    citation = yaml.safe_load((root / "CITATION.cff").read_text())
    cells = [setup_cells.setup_cell(nbformat.read(p, as_version=4))
             for p in sorted((root / "chapters").glob("*.ipynb"))]
    live = [setup_cells.setup_cell(nbformat.read(root / editions.targets(p.stem)[0], 4))
            for p in sorted((root / "chapters").glob("*.ipynb"))]
    cluster = re.search(r"git clone (\S+) ", (root / "book" / "cluster.md").read_text())[1]
    return ({repository.address(root), config["repository"]["url"], citation["repository-code"],
             cluster} | {setup_cells.clone_url(c.source) for c in cells + live})


def test_one_repository_address_everywhere():
    assert _addresses(PROJECT) == {repository.address(PROJECT)}
    for name, template in repository.COPIES.items():
        assert template.format(url=repository.address(PROJECT)) in (PROJECT / name).read_text()


def _release_tree(tmp_path, monkeypatch) -> Path:
    for part in ("chapters", "book", "editions"):
        shutil.copytree(PROJECT / part, tmp_path / part)
    (tmp_path / "enhance_utils").mkdir()
    for name in ("enhance_utils/version.py", "CITATION.cff", "pyproject.toml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    monkeypatch.setattr(release, "ROOT", tmp_path)
    monkeypatch.setattr(release, "INIT", tmp_path / "enhance_utils" / "version.py")
    monkeypatch.setattr(release, "CITATION", tmp_path / "CITATION.cff")
    monkeypatch.setattr(release, "CONFIG", tmp_path / "book" / "_config.yml")
    return tmp_path


def test_release_moves_the_repository_everywhere(tmp_path, monkeypatch):
    root = _release_tree(tmp_path, monkeypatch)
    assert release.main(["--repository", "https://github.com/someone/fork-of-book"]) == 0
    assert _addresses(root) == {"https://github.com/someone/fork-of-book"}
    assert editions.stale(root) == [] and _refs(root) == _refs(PROJECT)
    live = (root / editions.targets("04_correlation")[0]).read_text()
    assert "https://someone.github.io/fork-of-book/bibliography.html" in live


def test_release_pins_a_tag_and_main_unpins(tmp_path, monkeypatch):
    _release_tree(tmp_path, monkeypatch)
    assert release.main(["9.8.7"]) == 0
    assert _refs(tmp_path) == {"v9.8.7"}
    assert editions.stale(tmp_path) == []
    assert "--branch v9.8.7" in (tmp_path / editions.targets("01_datasets")[1]).read_text()
    assert '__version__ = "9.8.7"' in release.INIT.read_text()
    citation = yaml.safe_load(release.CITATION.read_text())
    assert citation["version"] == "9.8.7" and "date-released" in citation
    assert release.main(["--main"]) == 0
    assert _refs(tmp_path) == {"main"}
