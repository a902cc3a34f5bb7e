"""Student edition: every chapter without its solutions, linked from the chapter's page."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from enhance_utils.book import student

PROJECT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((PROJECT / "chapters").glob("*.ipynb"))


def _solution_sources(notebook) -> list[str]:
    """Sources of the cells between (and of) the solution markers."""
    sources, inside = [], False
    for cell in notebook.cells:
        marker = student._marker(cell)
        if marker or inside:
            sources.append(cell.source)
        inside = marker == "start" or (inside and marker != "end")
    return sources


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_holds_no_solution(chapter, tmp_path):
    original = nbformat.read(chapter, as_version=4)
    target = tmp_path / student.FOLDER / chapter.name
    removed = student.write_student(chapter, target)
    edition = nbformat.read(target, as_version=4)
    nbformat.validate(edition)
    text = "\n".join(c.source for c in edition.cells)
    assert removed > 0 and "{solution-" not in text
    solutions = [s for s in _solution_sources(original) if s.strip()]
    kept = {c.source for c in edition.cells}
    assert not [s for s in solutions if s in kept]
    exercises = [c.source for c in original.cells if "{exercise}" in c.source]
    assert len(exercises) == removed and all(e in kept for e in exercises)


def test_unbalanced_markers_are_refused():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("```{solution-start} ex\n```"),
        nbformat.v4.new_code_cell("answer = 42")])
    with pytest.raises(ValueError, match="without its"):
        student.strip_solutions(notebook)


def test_chapter_page_links_its_student_notebook(tmp_path):
    page = tmp_path / "chapters" / CHAPTERS[0].name
    page.parent.mkdir()
    page.write_bytes(CHAPTERS[0].read_bytes())
    [written] = student.write_editions([page], [CHAPTERS[0]], tmp_path)
    link = nbformat.read(page, as_version=4).cells[1].source
    assert f"<../{student.FOLDER}/{CHAPTERS[0].name}>" in link and "{download}" in link
    assert written == tmp_path / student.FOLDER / CHAPTERS[0].name and written.is_file()


def test_binder_opens_the_student_edition_of_the_books_branch():
    import yaml

    config = yaml.safe_load((PROJECT / "book" / "_config.yml").read_text())
    url = student.binder_link(config, Path("students") / CHAPTERS[1].name)
    branch = config["repository"]["branch"]
    assert url.startswith("https://mybinder.org/v2/gh/enhance-interactive-paper/enhance-book/")
    assert url.endswith(f"/{branch}?urlpath=tree/{student.FOLDER}/{CHAPTERS[1].name}")
    assert student.binder_link({"title": "no repository"}, Path(CHAPTERS[1].name)) is None


def test_binder_postbuild_writes_every_student_edition(tmp_path):
    import os
    import shutil

    shutil.copytree(PROJECT / "chapters", tmp_path / "chapters")
    postbuild = PROJECT / "postBuild"
    assert os.access(postbuild, os.X_OK) and "enhance_utils.book.student" in postbuild.read_text()
    assert student.main([str(tmp_path)]) == 0
    written = sorted(p.name for p in (tmp_path / student.FOLDER).iterdir())
    assert written == [p.name for p in CHAPTERS]
