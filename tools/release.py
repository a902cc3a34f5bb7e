"""Prepare a release: one version everywhere, and launch buttons and Colab clones pinned to its tag.

Usage::

    python tools/release.py 0.2.0     # version 0.2.0, everything points at tag v0.2.0
    python tools/release.py --main    # after tagging: launch buttons and clones follow main again

The version lives in ``enhance_utils/__init__.py`` (``pyproject.toml`` reads it from there) and
``CITATION.cff``; the ref in every chapter's setup cell (``tools/setup_cells.py``) and in
``book/_config.yml`` (``repository.branch``, which the Binder and Colab buttons open). The steps
around it (tests, commit, ``git tag``) are in ``RELEASING.md``.
"""
from __future__ import annotations

import argparse
import datetime
import re
from pathlib import Path

import setup_cells

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", nargs="?", help="the new version, e.g. 0.2.0")
    parser.add_argument("--main", action="store_true", help="point everything at main again")
    args = parser.parse_args(argv)
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
