"""Write the chapter tables of the README and the book from the chapter manifest.

Usage: ``python tools/generate_tables.py [--check]``

Each table sits in a marked block of a committed page, between a line holding
``BEGIN generated:NAME`` and one holding ``END generated:NAME`` (an HTML comment in the README,
a MyST comment ``%`` in the book's pages); only the lines between the markers are rewritten.
The facts come from :data:`enhance_utils.book.manifest.CHAPTERS`. ``--check`` writes nothing and
exits 1 if a block differs (``tests/test_manifest.py`` checks the same).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from enhance_utils.book import manifest  # noqa: E402


def _modules(chapter: manifest.Chapter) -> str:
    return ", ".join(f"`enhance_utils.{m}`" for m in chapter.modules)


def readme_chapters() -> str:
    """The README's table: chapter, the part of the paper, notebook."""
    lines = ["| chapter | the paper's | notebook |", "|---|---|---|"]
    lines += [f"| {int(c.stem[:2])}. {c.title} | {c.section} | `chapters/{c.stem}.ipynb` |"
              for c in manifest.CHAPTERS]
    return "\n".join(lines)


def intro_chapters() -> str:
    """The intro page's table: chapter, the part of the paper, modules."""
    lines = ["| chapter | the paper's | module |", "|---|---|---|"]
    lines += [f"| {int(c.stem[:2])}. {c.title} | {c.section} | {_modules(c)} |"
              for c in manifest.CHAPTERS]
    return "\n".join(lines)


def layout() -> str:
    """CONTRIBUTING's table: notebook, modules and tests of each chapter."""
    lines = ["| chapter | modules | tests |", "|---|---|---|"]
    for c in manifest.CHAPTERS:
        tests = ", ".join(f"`tests/{t}`" for t in c.tests)
        lines.append(f"| `chapters/{c.stem}.ipynb` | {_modules(c)} | {tests} |")
    return "\n".join(lines)


def run_times() -> str:
    """The measured seconds per chapter (:attr:`enhance_utils.book.manifest.Chapter.seconds`)."""
    numbers = [c.stem[:2] for c in manifest.CHAPTERS]
    lines = ["| chapter | " + " | ".join(numbers) + " |", "|---" * (len(numbers) + 1) + "|"]
    for row, label in enumerate(manifest.TIMINGS):
        seconds = " | ".join(str(c.seconds[row]) for c in manifest.CHAPTERS)
        lines.append(f"| {label} | {seconds} |")
    lines.append("| `paper` | not measured (needs a GPU) |" + " |" * (len(numbers) - 1))
    return "\n".join(lines)


#: page -> {block name: function writing its table}
BLOCKS = {
    "README.md": {"chapters": readme_chapters},
    "CONTRIBUTING.md": {"layout": layout},
    "book/intro.md": {"chapters": intro_chapters},
    "book/about_running.md": {"run-times": run_times},
}


def fill(text: str, name: str, table: str) -> str:
    """``text`` with the block ``name`` holding ``table``; a page without the block is an error."""
    pattern = re.compile(rf"(^[^\n]*BEGIN generated:{re.escape(name)}\b[^\n]*\n)(.*?)"
                         rf"(^[^\n]*END generated:{re.escape(name)}\b)", re.M | re.S)
    if not pattern.search(text):
        raise ValueError(f"no block 'BEGIN generated:{name}' ... 'END generated:{name}'")
    return pattern.sub(lambda m: m[1] + "\n" + table + "\n\n" + m[3], text, count=1)


def generated(page: str) -> str:
    """The text ``page`` (relative to the checkout) should have."""
    text = (ROOT / page).read_text()
    for name, table in BLOCKS[page].items():
        text = fill(text, name, table())
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report pages out of date")
    args = parser.parse_args(argv)
    stale = [page for page in BLOCKS if generated(page) != (ROOT / page).read_text()]
    if args.check:
        for page in stale:
            print(f"out of date: {page} (run python tools/generate_tables.py)")
        return 1 if stale else 0
    for page in stale:
        (ROOT / page).write_text(generated(page))
        print(f"updated {page}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
