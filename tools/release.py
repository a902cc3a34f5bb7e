"""Prepare a release: one version everywhere, and launch buttons and Colab clones pinned to its tag.

Usage::

    python tools/release.py 0.2.0     # version 0.2.0, everything points at tag v0.2.0
    python tools/release.py --main    # after tagging: launch buttons and clones follow main again
    python tools/release.py --repository https://github.com/ORG/REPO   # the book moved

The version lives in ``enhance_utils/__init__.py`` (``pyproject.toml`` reads it from there) and
``CITATION.cff``; the ref in every chapter's setup cell (``tools/setup_cells.py``) and in
``book/_config.yml`` (``repository.branch``, which the Binder and Colab buttons open). The steps
around it (tests, commit, ``git tag``) are in ``RELEASING.md``. The repository's address is
written once, as ``[tool.enhance] repository`` in ``pyproject.toml``; ``--repository`` changes it
there and in every file that repeats it (:data:`enhance_utils.book.repository.COPIES`, the setup
cells). Each command then rewrites the editions (``tools/make_editions.py``), whose setup cells
and links hold the ref and the address.
"""
from __future__ import annotations

import argparse
import datetime
import re
from pathlib import Path

import setup_cells
from enhance_utils.book import editions, repository

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "enhance_utils" / "version.py"
CITATION = ROOT / "CITATION.cff"
CONFIG = ROOT / "book" / "_config.yml"


def _substitute(path: Path, pattern: str, value: str) -> None:
    text, count = re.subn(pattern, lambda m: m[1] + value, path.read_text(), count=1, flags=re.M)
    if count != 1:
        raise SystemExit(f"error: {pattern!r} not found in {path.relative_to(ROOT)}")
    path.write_text(text)


def set_version(version: str) -> None:
    """Write ``version`` and today's date where the book and its citation show them."""
    _substitute(INIT, r'^(__version__ = )".*"', f'"{version}"')
    _substitute(CITATION, r"^(version: ).*", version)
    date = datetime.date.today().isoformat()
    text = CITATION.read_text()
    if re.search(r"^date-released: ", text, flags=re.M):
        _substitute(CITATION, r"^(date-released: ).*", f'"{date}"')
    else:
        _substitute(CITATION, r"^(version: .*)", f'\ndate-released: "{date}"')


def pin_ref(ref: str) -> None:
    """Make the launch buttons and the Colab clone of every chapter use ``ref``."""
    _substitute(CONFIG, r"^(  branch: ).*", ref)
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        setup_cells.update(path, ref)
    editions.write(ROOT)


def copy_pattern(template: str) -> str:
    """A regular expression for one of :data:`~enhance_utils.book.repository.COPIES`: the
    text before the address (group 1), then the address."""
    before = template.split("{url}")[0]
    return rf"^(\s*{re.escape(before.strip())} ?)https://github\.com/[\w.-]+/[\w.-]+"


def set_repository(url: str) -> None:
    """Write the repository's address ``url`` to ``pyproject.toml`` and everywhere it is
    repeated: the book's files, the chapters' setup cells and the editions."""
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise SystemExit(f"error: {url!r} is not https://github.com/ORG/REPO")
    _substitute(ROOT / "pyproject.toml", r'^(repository = )".*"', f'"{url}"')
    for name, template in repository.COPIES.items():
        path = ROOT / name
        text, count = re.subn(copy_pattern(template), lambda m: m[1] + url, path.read_text(),
                              flags=re.M)
        if not count:
            raise SystemExit(f"error: the address is not in {name}")
        path.write_text(text)
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        setup_cells.update(path)
    editions.write(ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", nargs="?", help="the new version, e.g. 0.2.0")
    parser.add_argument("--main", action="store_true", help="point everything at main again")
    parser.add_argument("--repository", metavar="URL",
                        help="the book's new GitHub address, written everywhere")
    args = parser.parse_args(argv)
    if args.repository:
        set_repository(args.repository.rstrip("/"))
        if not (args.main or args.version):
            return 0
    if args.main == bool(args.version):
        parser.error("give either a version or --main")
    if args.main:
        pin_ref("main")
        return 0
    if not re.fullmatch(r"\d+\.\d+\.\d+", args.version):
        parser.error(f"version {args.version!r} is not MAJOR.MINOR.PATCH")
    set_version(args.version)
    pin_ref(f"v{args.version}")
    print(f"now: run the tests, commit, then "
          f"git tag -a v{args.version} -m 'Release {args.version}'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
