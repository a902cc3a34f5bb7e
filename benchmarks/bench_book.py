"""Time a full ``smoke`` build of the book (execution + HTML), then a rebuild with nothing changed.

Usage: ``ENHANCE_DATA_DIR=../shared/data python benchmarks/bench_book.py [--out _build/bench]``

The first build executes every chapter (and trains the smoke grid unless ``results/smoke``
already holds it); the second should execute no notebook and only render the HTML.
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from enhance_utils.book import build as book


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="_build/bench")
    parser.add_argument("--profile", default="smoke")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    times = []
    for label in ("first build", "rebuild, nothing changed"):
        start = time.perf_counter()
        book.build(args.profile, out=out)
        times.append((label, time.perf_counter() - start))
    for label, seconds in times:
        print(f"{label}: {seconds:.0f} s")


if __name__ == "__main__":
    main()
