"""Student edition: linked from every chapter's page, opened in Colab and Binder from the
repository (the editions themselves: tests/test_editions.py)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

from enhance_utils.book import editions, launch, repository, student

PROJECT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((PROJECT / "chapters").glob("*.ipynb"))
CONFIG = yaml.safe_load((PROJECT / "book" / "_config.yml").read_text())


def test_unbalanced_markers_are_refused():
    cells = [nbformat.v4.new_markdown_cell("```{solution-start} ex\n```"),
             nbformat.v4.new_code_cell("answer = 42")]
    with pytest.raises(ValueError, match="without its"):
        editions.split_solutions(cells)


def test_chapter_page_links_its_committed_student_edition(tmp_path):
    page = tmp_path / "chapters" / CHAPTERS[0].name
    page.parent.mkdir()
    page.write_bytes(CHAPTERS[0].read_bytes())
    [written] = student.write_editions([page], [CHAPTERS[0]], tmp_path, CONFIG)
    link = nbformat.read(page, as_version=4).cells[1].source
    name = f"{CHAPTERS[0].stem}-student.ipynb"
    assert f"<../{student.FOLDER}/{name}>" in link and "{download}" in link
    assert f"/blob/{CONFIG['repository']['branch']}/editions/students/{name})" in link
    assert written.read_bytes() == student.committed(CHAPTERS[0]).read_bytes()


def test_a_missing_edition_is_named(tmp_path):
    (tmp_path / "chapters").mkdir()
    source = tmp_path / "chapters" / CHAPTERS[0].name
    source.write_bytes(CHAPTERS[0].read_bytes())
    with pytest.raises(FileNotFoundError, match="make_editions"):
        student.write_editions([source], [source], tmp_path / "src")


def test_colab_and_binder_open_the_editions_of_the_books_branch():
    path = "editions/students/02_annotations-student.ipynb"
    links = student.launch_links(CONFIG, path)
    branch = CONFIG["repository"]["branch"]
    name = "/".join(repository.org_repo(CONFIG["repository"]["url"]))
    assert links["Colab"] == f"https://colab.research.google.com/github/{name}/blob/{branch}/{path}"
    assert CONFIG["launch_buttons"]["notebook_interface"] == "jupyterlab"
    assert links["Binder"] == f"https://mybinder.org/v2/gh/{name}/{branch}?urlpath=lab/tree/{path}"
    assert student.launch_links({"title": "no repository"}, path) == {}


def test_launch_buttons_of_chapter_pages_open_the_live_edition():
    """The theme's buttons (sphinx-book-theme's launch.py builds them from the page's path)."""
    buttons = [{"label": "launch-buttons", "buttons": [
        {"text": "Binder", "url": "https://mybinder.org/v2/gh/o/r/main?urlpath=tree/"
                                  "chapters/04_correlation.ipynb"},
        {"text": "Colab", "url": "https://colab.research.google.com/github/o/r/blob/main/"
                                 "chapters/04_correlation.ipynb"}]},
        {"label": "download-buttons",
         "buttons": [{"url": "_sources/chapters/04_correlation.ipynb"}]}]
    assert launch.retarget(buttons, "chapters/04_correlation") == 2
    urls = [b["url"] for b in buttons[0]["buttons"]]
    assert all(u.endswith("/editions/live/04_correlation.ipynb") for u in urls)
    assert buttons[1]["buttons"][0]["url"] == "_sources/chapters/04_correlation.ipynb"
    assert launch.retarget(buttons, "teaching") == 0
    assert "enhance_utils.book.launch" in CONFIG["sphinx"]["extra_extensions"]
    assert (PROJECT / launch.edition_path("chapters/04_correlation")).is_file()
