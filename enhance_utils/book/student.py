"""Links from a chapter's page to its committed student edition.

An exercise's solution lies between a ``{solution-start}`` and a ``{solution-end}`` markdown
cell (sphinx-exercise's gated directives; :func:`_marker` finds them). The student edition of a
chapter, ``editions/students/NN_name-student.ipynb``, is the chapter without its solutions and
with answer cells, written by ``tools/make_editions.py`` (:mod:`enhance_utils.book.editions`)
and committed, so Colab and Binder open it from the repository. The book build copies it next
to the pages for download and links it from the top of the chapter's page
(:func:`write_editions`), with the links that open it in Colab and on Binder at the book's
branch or tag (:func:`launch_links`).
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat

from . import repository

#: folder of the built book's sources that holds the student notebooks (for download)
FOLDER = "students"
_MARKER = re.compile(r"^\s*(?:`{3,}|:{3,})\{solution-(start|end)\}")


def _marker(cell) -> str | None:
    """``"start"``, ``"end"`` or ``None`` for a cell that is not a solution marker."""
    match = _MARKER.match(cell.source) if cell.cell_type == "markdown" else None
    return match[1] if match else None


def committed(source: Path) -> Path:
    """The committed student edition of the chapter notebook ``source``
    (``chapters/NN_name.ipynb`` -> ``editions/students/NN_name-student.ipynb``)."""
    return Path(source).resolve().parents[1] / repository.STUDENTS / f"{source.stem}-student.ipynb"


#: Binder's path prefix per ``launch_buttons.notebook_interface``, as sphinx-book-theme has it
INTERFACES = {"classic": "tree", "jupyterlab": "lab/tree"}


def launch_links(config: dict | None, edition: str) -> dict[str, str]:
    """``{"Colab": url, "Binder": url}`` opening ``edition`` (a path in the repository).

    ``config`` is the book's ``_config.yml``: its repository and branch are those of the
    launch buttons, so a release's pages open the release's editions, in the interface the
    buttons use (:data:`INTERFACES`). Empty for a book without a repository; no Binder link
    without a Binder hub.
    """
    config = config or {}
    url = config.get("repository", {}).get("url")
    if not url:
        return {}
    branch = config["repository"].get("branch", "main")
    links = {"Colab": repository.colab(url, branch, edition)}
    launch = config.get("launch_buttons", {})
    if launch.get("binderhub_url"):
        interface = INTERFACES[launch.get("notebook_interface", "classic")]
        links["Binder"] = repository.binder(url, branch, edition, launch["binderhub_url"],
                                            interface)
    return links


def add_download_link(page: Path, student: Path, links: dict[str, str] | None = None) -> None:
    """Insert, after the title cell of the notebook ``page``, a link to download ``student``
    and the ``links`` that open it elsewhere (:func:`launch_links`)."""
    notebook = nbformat.read(page, as_version=4)
    href = Path(os.path.relpath(student, page.parent)).as_posix()
    text = (f"**Student edition**: {{download}}`{student.name} <{href}>` is this chapter "
            "without the solutions of its exercises, with a cell for the answer under each")
    opened = [f"[{name}]({url})" for name, url in (links or {}).items()]
    text += f"; open it in {' or '.join(opened)}." if opened else "."
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(text))
    nbformat.write(notebook, page)


def write_editions(pages: list[Path], sources: list[Path], src: Path,
                   config: dict | None = None) -> list[Path]:
    """Copy the committed student editions of ``sources`` to ``src/students`` and link each
    from its page (with Colab and Binder links when the book's ``config`` is given).

    Raises
    ------
    FileNotFoundError
        If a chapter has no committed student edition (``python tools/make_editions.py``).
    """
    written = []
    for page, source in zip(pages, sources):
        edition = committed(source)
        if not edition.is_file():
            raise FileNotFoundError(f"{edition} is missing: run python tools/make_editions.py")
        target = src / FOLDER / edition.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(edition, target)
        path = f"{repository.STUDENTS}/{edition.name}"
        add_download_link(page, target, launch_links(config, path))
        written.append(target)
    return written
