"""The ``enhance`` command line.

Each subcommand is a thin wrapper over a function of the package:

``enhance fetch [--verify] [PATH ...]``
    download (and unpack) the registry's files, or check an existing tree;
``enhance annotations --out DIR``
    the long table, per-lesion scores, problem report and Table 2 counts as CSV;
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import annotations, config, fetch


def _cmd_fetch(args) -> int:
    if args.verify:
        report = fetch.verify()
        bad = [r for r in report if r["status"] != "ok"]
        for row in bad:
            print(f"{row['status']:8s} {row['path']}  {row['detail']}")
        print(f"{len(report) - len(bad)} of {len(report)} files with a known checksum are ok "
              f"under {config.data_dir()}")
        return 1 if bad else 0
    try:
        root = fetch.fetch(args.paths or None)
    except fetch.FetchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"data ready under {root}")
    return 0


def _cmd_annotations(args) -> int:
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ann = annotations.load()
    scores = annotations.per_lesion(ann.long, student_rule=args.student_rule)
    ann.long.to_csv(out / "annotations_long.csv", index=False)
    ann.problems.to_csv(out / "annotation_problems.csv", index=False)
    scores.to_csv(out / "annotations_per_lesion.csv", index=False)
    annotations.table2(scores).to_csv(out / "table2_counts.csv", index=False)
    print(f"{len(ann.long)} annotations, {len(scores)} per-lesion scores, "
          f"{len(ann.problems)} problems reported; wrote {out} in "
          f"{time.perf_counter() - start:.2f} s")
    return 0


def _cmd_book(args) -> int:
    from . import book  # papermill and jupyter-book are only needed here

    try:
        html = book.build(args.profile, out=args.out, only=args.only or None)
    except book.ChapterFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"book ready: {html / 'index.html'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="enhance", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch", help="download the data, or verify ENHANCE_DATA_DIR")
    p.add_argument("paths", nargs="*", help="registry paths to fetch (default: all)")
    p.add_argument("--verify", action="store_true", help="check checksums, download nothing")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser("annotations", help="write the annotation tables as CSV")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--student-rule", default="first_group", choices=annotations.STUDENT_RULES,
                   help="lesions annotated by several student groups (default: the paper's)")
    p.set_defaults(func=_cmd_annotations)

    p = sub.add_parser("book", help="execute the chapters and render the book")
    p.add_argument("--profile", default="smoke", choices=["smoke", "cpu", "paper"])
    p.add_argument("--out", default=None, help="build folder (default: _build)")
    p.add_argument("--only", nargs="*", help="chapter stems to execute, e.g. 01_datasets")
    p.set_defaults(func=_cmd_book)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
