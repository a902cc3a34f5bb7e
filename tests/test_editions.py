"""Live and student editions: committed, equal to a regeneration, free of MyST markup."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from enhance_utils.book import editions, myst, repository, student

PROJECT = Path(__file__).resolve().parents[1]
CHAPTERS = editions.chapters(PROJECT)
#: MyST syntax that Colab and Jupyter would show as typed
MYST = re.compile(r"\{glue|\{cite|\{numref|:::\{|```\{|\{[\w:.-]+\}`")


def _editions(stem: str):
    live, students = editions.targets(stem)
    return (nbformat.read(PROJECT / live, as_version=4),
            nbformat.read(PROJECT / students, as_version=4))


def _solution_code(notebook) -> list[str]:
    """Sources of the code cells inside solutions."""
    return [c.source for item in editions.split_solutions(notebook.cells)
            if isinstance(item, list) for c in item if c.cell_type == "code" and c.source.strip()]


def test_committed_editions_equal_a_regeneration():
    assert editions.stale(PROJECT) == [], "run python tools/make_editions.py"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_editions_hold_no_myst_markup_and_the_chapters_code(chapter):
    source = nbformat.read(chapter, as_version=4)
    solutions = set(_solution_code(source))
    code = [c.source for c in source.cells if c.cell_type == "code" and c.source not in solutions]
    for notebook in _editions(chapter.stem):
        nbformat.validate(notebook)
        markdown = [c.source for c in notebook.cells if c.cell_type == "markdown"]
        assert not [m for m in markdown if MYST.search(m)], chapter.stem
        kept = [c.source for c in notebook.cells if c.cell_type == "code"]
        assert [c for c in kept if c != "# your answer\n"] == code


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_edition_holds_no_solution_and_asks_for_answers(chapter):
    source = nbformat.read(chapter, as_version=4)
    live, students = _editions(chapter.stem)
    text = "\n".join(c.source for c in students.cells)
    solutions = _solution_code(source)
    assert solutions and not [s for s in solutions if s.strip() in text]
    exercises = sum("{exercise}" in c.source for c in source.cells)
    assert text.count("*Your answer:*") == exercises
    assert "\n".join(c.source for c in live.cells).count("<details>") == exercises
    assert all(s.strip() in "\n".join(c.source for c in live.cells) for s in solutions)


def test_editions_are_linked_from_an_edition_of_the_same_kind():
    _, students = _editions("04_correlation")
    text = "\n".join(c.source for c in students.cells)
    assert "](05_agreement-student.ipynb)" in text and "](05_agreement.ipynb)" not in text


def test_glue_values_are_read_from_myst_nb_outputs():
    cell = nbformat.v4.new_code_cell("glue")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": "0.12345"},
        metadata={"scrapbook": {"name": "r", "mime_prefix": "application/papermill.record/"}}),
        nbformat.v4.new_output("display_data", data={"text/plain": "shown"})]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    assert editions.glue_values(notebook) == {"r": {"text/plain": "0.12345"}}


def _context(**glue):
    return myst.Context(glue=glue, references={"a2020": ("Ames et al.", "2020"),
                                               "b1999": ("Bo and Cy", "1999")},
                        bibliography="https://x.org/bibliography.html",
                        numbers=myst.caption_numbers(["fig-01-x", "tab-01-y", "fig-01-z"], "1"))


def test_roles_become_values_citations_numbers_and_code():
    context = _context(r={"text/plain": "0.12345"},
                       phrase={"text/plain": "<IPython.core.display.Markdown object>",
                               "text/markdown": "**all** match"})
    text = ("r = {glue:text}`r:.2f`, {glue:md}`phrase`, {glue:text}`missing`; "
            "{cite:t}`a2020` {cite:p}`a2020,b1999`; {numref}`fig-01-z`, {numref}`tab-01-y`; "
            "{func}`enhance_utils.stats.correlation.table3`, {mod}`~enhance_utils.data`")
    assert myst.to_markdown(text, context) == (
        f"r = 0.12, **all** match, {myst.PLACEHOLDER}; "
        "[Ames et al. (2020)](https://x.org/bibliography.html) "
        "([Ames et al., 2020](https://x.org/bibliography.html); "
        "[Bo and Cy, 1999](https://x.org/bibliography.html)); Figure 1.2, Table 1.1; "
        "`enhance_utils.stats.correlation.table3`, `enhance_utils.data`")


def test_unknown_citations_and_labels_are_refused():
    with pytest.raises(ValueError, match="not in the bibliography"):
        myst.to_markdown("{cite:p}`nobody`", _context())
    with pytest.raises(ValueError, match="no captioned cell"):
        myst.to_markdown("{numref}`fig-09-none`", _context())


def test_directives_become_quoted_blocks_and_code_stays():
    context = _context()
    text = ("# Title\n\n:::{admonition} In this chapter\n- **Goal**: {cite:t}`a2020`\n:::\n\n"
            "```{exercise} By hand\n:label: ex-1\n\nDo it.\n```\n\n"
            "```python\nx = '{glue:text}`r`'\n```\n(ex-target)=")
    assert myst.to_markdown(text, context) == (
        "# Title\n\n> **In this chapter**\n>\n"
        "> - **Goal**: [Ames et al. (2020)](https://x.org/bibliography.html)\n\n"
        "> **Exercise 1: By hand**\n>\n> Do it.\n\n"
        "```python\nx = '{glue:text}`r`'\n```")
    assert context.exercises == 1


def test_references_are_read_from_the_bibliography():
    references = myst.read_references(PROJECT / "book" / "references.bib")
    assert references["raumanns2021enhance"] == ("Raumanns et al.", "2021")
    assert references["shrout1979icc"] == ("Shrout and Fleiss", "1979")
    assert references["mendonca2015ph2"][0] == "Mendonça et al."


def test_solution_markers_of_the_chapters_are_the_students():
    """The editions split solutions with the student module's marker test."""
    cell = nbformat.v4.new_markdown_cell("```{solution-start} ex\n:class: dropdown\n```")
    assert student._marker(cell) == "start"
    assert editions.targets("04_correlation") == (
        f"{repository.LIVE}/04_correlation.ipynb",
        f"{repository.STUDENTS}/04_correlation-student.ipynb")
