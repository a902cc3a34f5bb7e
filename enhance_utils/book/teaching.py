"""The teaching page's per-chapter facts, computed from the chapters and the data they read.

The book build writes :func:`chapters_page` to ``teaching_chapters.md``, which
``book/teaching.md`` includes: for every chapter its learning goals, prerequisites and reading
time (from the chapter's own opening cells), its run time in this build (papermill's record)
and what it downloads in each profile (:func:`enhance_utils.book.chapter_data.needs` and the
registry's sizes), then the exercises of every chapter (:func:`exercises_section`): per
exercise the skill it practises (its title) and a grading hint, what a correct answer shows
(the checks its solution makes). Nothing here is typed by hand.

A graded course builds the site without the solutions (``enhance book --no-solutions``):
:func:`without_solutions` sets sphinx-exercise's ``hide_solutions`` in the build's
configuration and removes the solution cells from the executed pages.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import yaml

from ..data import registry
from . import chapter_data
from ..profiles import PROFILES
from . import editions

#: page written by the build and included by ``book/teaching.md``
PAGE = "teaching_chapters.md"


def opening(notebook: Path) -> str:
    """The markdown cells before the chapter's first code cell, joined."""
    cells = nbformat.read(notebook, as_version=4).cells
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    return "\n\n".join(c.source for c in cells[:first_code] if c.cell_type == "markdown")


def _bullet(text: str, label: str) -> str:
    """The text of the ``- **label**`` item of the chapter's admonition (lines joined)."""
    match = re.search(rf"^- \*\*{label}\*\*:?\s*(.*?)(?=^- |^:::|\Z)", text, re.M | re.S)
    return " ".join(match[1].split()) if match else "not stated in the chapter"


def _glue_from(text: str, chapter: str) -> str:
    """Glue roles of a chapter's text, made to read the chapter's glue data from the teaching
    page (myst-nb's ``path::key`` form; the chapters lie in ``chapters/``). ``glue:text`` splits
    its content at the last colon into key and format, so a key without a format gets ``:s``."""
    def with_path(match: re.Match) -> str:
        role, content = match[1], match[2]
        if role == "{glue:text}`" and ":" not in content:
            content += ":s"
        return f"{role}chapters/{chapter}::{content}`"

    return re.sub(r"(\{glue(?::\w+)?\}`)(?![^`]*::)([^`]+)`", with_path, text)


def _prerequisites(text: str) -> list[str]:
    section = re.search(r"^## Prerequisites\s*\n(.*?)(?=^#|\Z)", text, re.M | re.S)
    items = re.findall(r"^- (.*?)(?=^- |\Z)", section[1], re.M | re.S) if section else []
    # links between chapters are relative to chapters/; the teaching page lies one level up
    return [re.sub(r"\]\((\d\d_[\w-]+\.ipynb)\)", r"](chapters/\1)", " ".join(item.split()))
            for item in items]


def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:.1f} MB"


def tables_download() -> str:
    """What every chapter downloads first: the tables, with the sizes the registry records."""
    entries = registry.entries()
    files = [entries[p] for p in chapter_data.table_files()]
    known = [f for f in files if f.size]
    unknown = ", ".join(Path(f.path).name for f in files if not f.size)
    text = f"{len(known)} table files ({_megabytes(sum(f.size for f in known))})"
    return text + (f" and {unknown} (size not recorded)" if unknown else "")


def downloads(chapter: str, data_root: Path) -> str:
    """The ISIC files ``chapter`` reads in each profile, beyond the tables, and the megabytes
    of the whole files it downloads whose size the registry records."""
    entries = registry.entries()
    parts = []
    for profile in PROFILES:
        needs = chapter_data.needs(chapter, profile, data_root)
        known = sum(entries[p].size or 0 for p in needs.files if p in entries)
        parts.append(f"`{profile}` {needs.n_images} images, {needs.n_masks} masks, "
                     f"{_megabytes(known)} of files of known size")
    return "; ".join(parts)


def _run_time(executed: Path) -> str:
    duration = json.loads(executed.read_text())["metadata"].get("papermill", {}).get("duration")
    return f"{duration:.0f} s" if duration is not None else "not recorded"


def chapter_section(source: Path, executed: Path, profile: str, data_root: Path) -> str:
    """The teaching page's section on one chapter."""
    text = _glue_from(opening(source), source.name)
    title = re.search(r"^# (.+)$", text, re.M)
    prerequisites = "".join(f"  - {item}\n" for item in _prerequisites(text)) or "  - none\n"
    return (f"### {title[1] if title else source.stem}\n\n"
            f"- **Learning goals**: {_bullet(text, 'You will learn')}\n"
            f"- **Prerequisites**:\n{prerequisites}"
            f"- **Time** (the chapter's estimate): {_bullet(text, 'Time')}\n"
            f"- **Run time in this build** (`{profile}`): {_run_time(executed)}\n"
            f"- **ISIC files downloaded** (besides the tables): "
            f"{downloads(source.stem, data_root)}\n")


def chapters_page(sources: list[Path], executed: list[Path], profile: str,
                  data_root: Path) -> str:
    """The included page: what every chapter downloads first, then one section per chapter."""
    sections = [chapter_section(s, e, profile, data_root)
                for s, e in zip(sources, executed) if s.stem in chapter_data.CHAPTERS]
    return (f"Every chapter first downloads {tables_download()}; a second chapter on the same "
            "machine (or the same download folder) reuses them.\n\n" + "\n".join(sections)
            + "\n" + exercises_section([s for s in sources if s.stem in chapter_data.CHAPTERS]))


_EXERCISE = re.compile(r"^\s*(?:`{3,}|:{3,})\{exercise\}[ \t]*(.*)$", re.M)
_ASSERT = re.compile(r"^\s*assert (.+)$", re.M)


def exercises(source: Path) -> list[dict]:
    """The exercises of a chapter: ``title`` (the skill it practises) and ``hint`` (what a
    correct answer shows: the checks of its solution, or its printed result)."""
    found, title = [], None
    for item in editions.split_solutions(nbformat.read(source, as_version=4).cells):
        if isinstance(item, list):
            code = "\n".join(c.source for c in item if c.cell_type == "code")
            checks = [f"`{a.strip()}`" for a in _ASSERT.findall(code)]
            hint = ("its solution checks " + "; ".join(checks) if checks else
                    "its result matches the solution's printed output (no check in the solution)")
            found.append({"title": title or "untitled", "hint": hint})
        elif item.cell_type == "markdown" and _EXERCISE.search(item.source):
            title = _EXERCISE.search(item.source)[1].strip()
    return found


def exercises_section(sources: list[Path]) -> str:
    """The teaching page's list of exercises: per chapter their number, then per exercise the
    skill it practises and a grading hint."""
    lines = ["## The exercises", "",
             "Each exercise practises what its title says; the hint says what a correct answer "
             "shows (the checks of the book's solution).", ""]
    for source in sources:
        found = exercises(source)
        lines += [f"**{source.stem}**: {len(found)} exercises", ""]
        lines += [f"{i}. **{e['title']}**. Grading: {e['hint']}." for i, e in enumerate(found, 1)]
        lines.append("")
    return "\n".join(lines)


def without_solutions(src: Path, pages: list[Path]) -> int:
    """Make the assembled book ``src`` a course's: sphinx-exercise's ``hide_solutions`` set in
    ``src/_config.yml`` and the solution cells removed from the executed ``pages``; the number
    of solutions removed."""
    config_path = Path(src) / "_config.yml"
    config = yaml.safe_load(config_path.read_text())
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    removed = 0
    for page in pages:
        notebook = nbformat.read(page, as_version=4)
        items = editions.split_solutions(notebook.cells)
        notebook.cells = [c for c in items if not isinstance(c, list)]
        removed += len(items) - len(notebook.cells)
        nbformat.write(notebook, page)
    return removed
