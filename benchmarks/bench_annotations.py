"""Time ``enhance annotations`` over all the data (target: under 2 s).

Usage: ``ENHANCE_DATA_DIR=../shared/data python benchmarks/bench_annotations.py [--repeat 5]``
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from enhance_utils import cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            cli.main(["annotations", "--out", out])
            times.append(time.perf_counter() - start)
    print(f"enhance annotations: median {statistics.median(times):.2f} s, "
          f"min {min(times):.2f} s over {args.repeat} runs (target < 2 s)")


if __name__ == "__main__":
    main()
