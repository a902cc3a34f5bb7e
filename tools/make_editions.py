"""Write the live and student editions of every chapter (``editions/``), for Colab and Jupyter.

Usage::

    python tools/make_editions.py                                  # from the committed files
    python tools/make_editions.py --executed _build/book-src/chapters   # after a build
    python tools/make_editions.py --check                          # exit 1 if any is stale

The editions are made from the chapters and the glued values recorded in ``editions/glue/``
(:mod:`enhance_utils.book.editions`); nothing is executed. ``--executed FOLDER`` first records
the glued values of the executed chapters found there (a build's ``_build/book-src/chapters``,
or a chapter run with papermill), so the editions show the numbers of that run; a chapter with
no record shows a placeholder for each number. ``tests/test_editions.py`` checks that the
committed editions are what this writes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from enhance_utils.book import editions  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executed", type=Path, metavar="FOLDER",
                        help="record the glued values of the executed chapters in FOLDER first")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if an edition differs from a regeneration")
    args = parser.parse_args(argv)
    if args.check:
        stale = editions.stale(ROOT)
        for path in stale:
            print(f"stale: {path}")
        return 1 if stale else 0
    if args.executed:
        stems = {p.stem for p in editions.chapters(ROOT)}
        for executed in sorted(args.executed.glob("*.ipynb")):
            if executed.stem in stems:
                print(f"recorded {editions.write_glue(executed, ROOT).relative_to(ROOT)}")
    for path in editions.write(ROOT):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
