"""Time the start-up of ``enhance --help`` in a fresh interpreter (target: under 0.5 s).

Usage: ``python benchmarks/bench_cli_startup.py [--repeat 10] [ARGS ...]`` (default ARGS:
``--help``). Also prints the bare interpreter's start-up, the floor, and the package modules
that the command imported (``python -X importtime``), the first place to look when it is slow.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CLI = [sys.executable, "-m", "enhance_utils.cli"]


def _seconds(cmd: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def imported_modules(args: list[str]) -> list[str]:
    """Top-level modules imported by ``enhance ARGS``, slowest first (cumulative µs)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "enhance_utils.cli", *args],
                          capture_output=True, text=True)
    rows = [line.split("|") for line in done.stderr.splitlines() if line.startswith("import time:")]
    top = [(int(r[1]), r[2].strip()) for r in rows[1:] if not r[2].startswith("  ")]
    return [f"{name} {us / 1e3:.0f} ms" for us, name in sorted(top, reverse=True)[:8]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("args", nargs="*", default=["--help"], help="enhance arguments")
    opts = parser.parse_args()
    floor = statistics.median(_seconds([sys.executable, "-c", "pass"], opts.repeat))
    times = _seconds(CLI + opts.args, opts.repeat)
    print(f"enhance {' '.join(opts.args)}: median {statistics.median(times):.3f} s, min "
          f"{min(times):.3f} s over {opts.repeat} runs (target < 0.5 s; bare python {floor:.3f} s)")
    print("slowest imports: " + ", ".join(imported_modules(opts.args)))


if __name__ == "__main__":
    main()
