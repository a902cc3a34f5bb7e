"""Student edition of a chapter: the notebook without the solutions of its exercises.

An exercise's solution lies between a ``{solution-start}`` and a ``{solution-end}`` markdown
cell (sphinx-exercise's gated directives). :func:`strip_solutions` drops both markers and every
cell between them and leaves an empty code cell for the student's answer; the exercise itself
stays. The book build writes one such notebook per chapter and links it from the chapter's page
(:func:`add_download_link`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat

#: folder of the built book's sources that holds the student notebooks
FOLDER = "students"
_MARKER = re.compile(r"^\s*(?:`{3,}|:{3,})\{solution-(start|end)\}")


def _marker(cell) -> str | None:
    """``"start"``, ``"end"`` or ``None`` for a cell that is not a solution marker."""
    match = _MARKER.match(cell.source) if cell.cell_type == "markdown" else None
    return match[1] if match else None


def strip_solutions(notebook: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """A copy of ``notebook`` without solutions, outputs or execution counts.

    Returns
    -------
    notebook, int
        The student edition and the number of solutions removed.

    Raises
    ------
    ValueError
        If the solution markers are not balanced.
    """
    student = nbformat.from_dict(notebook)
    cells, inside, removed = [], False, 0
    for cell in student.cells:
        marker = _marker(cell)
        if marker and (marker == "start") == inside:
            raise ValueError(f"unbalanced solution markers at {cell.source[:60]!r}")
        if marker == "start":
            inside, removed = True, removed + 1
        elif marker == "end":
            inside = False
            cells.append(nbformat.v4.new_code_cell("# your answer\n"))
        elif not inside:
            cells.append(cell)
    if inside:
        raise ValueError("a {solution-start} without its {solution-end}")
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    student.cells = cells
    return student, removed


def write_student(source: Path, target: Path) -> int:
    """Write the student edition of the notebook ``source`` to ``target``; solutions removed."""
    student, removed = strip_solutions(nbformat.read(source, as_version=4))
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, target)
    return removed


def binder_link(config: dict | None, student: Path) -> str | None:
    """URL that opens the student edition ``student`` on Binder (``postBuild`` writes it there).

    ``config`` is the book's ``_config.yml``: its repository and branch are those of the
    launch buttons, so a release's pages open the release's student editions. ``None`` for a
    book without a repository or a Binder hub.
    """
    repository = (config or {}).get("repository", {})
    hub = (config or {}).get("launch_buttons", {}).get("binderhub_url")
    if not (repository.get("url") and hub):
        return None
    name = repository["url"].removeprefix("https://github.com/")
    branch = repository.get("branch", "main")
    return f"{hub.rstrip('/')}/v2/gh/{name}/{branch}?urlpath=tree/{FOLDER}/{student.name}"


def add_download_link(page: Path, student: Path, binder: str | None = None) -> None:
    """Insert, after the title cell of the notebook ``page``, a link to download ``student``
    (and, given its ``binder`` URL, to open it on Binder)."""
    notebook = nbformat.read(page, as_version=4)
    href = Path(os.path.relpath(student, page.parent)).as_posix()
    text = (f"**Student edition**: {{download}}`{student.name} <{href}>` is this chapter "
            "without the solutions of its exercises, to run in Jupyter or Colab "
            "(File > Upload notebook)")
    text += f", or [open it on Binder]({binder})." if binder else "."
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(text))
    nbformat.write(notebook, page)


def write_editions(pages: list[Path], sources: list[Path], src: Path,
                   config: dict | None = None) -> list[Path]:
    """Student notebooks of ``sources`` under ``src/students``, each linked from its page
    (with a Binder link when the book's ``config`` is given)."""
    written = []
    for page, source in zip(pages, sources):
        target = src / FOLDER / source.name
        write_student(source, target)
        add_download_link(page, target, binder_link(config, target))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m enhance_utils.book.student [CHECKOUT]``: write ``CHECKOUT/students/`` (Binder's
    ``postBuild``), one student edition per chapter of ``CHECKOUT/chapters``."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0] if args else ".")
    for source in sorted((root / "chapters").glob("*.ipynb")):
        removed = write_student(source, root / FOLDER / source.name)
        print(f"{FOLDER}/{source.name}: {removed} solutions removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
