"""Benchmark of the automated ABC scores (issue 3, chapter 03): agreement and timings.

Runs the fast ``published`` mode on every lesion, without cache, on two processes, and
prints the done-when criteria of the issue:

* asymmetry: ``ii`` within 2e-3 and ``i`` identical for >= 99 % of the published ISIC and
  PH2 ids, and the same ids skipped;
* border: identical score for >= 99 % of the 1996 published ISIC ids;
* colour on PH2: identical for >= 80 %, within 1 for >= 98 %;
* timings: 2000 ISIC masks for A and for B (<= 2 min together), 200 PH2 images for C
  (<= 60 s).

Usage::

    ENHANCE_DATA_DIR=../shared/data python benchmarks/bench_automated_abc.py [--limit N]
        [--workers 2] [--out results.json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time

from enhance_utils import automated_abc as abc


def run(dataset, feature, limit, workers):
    ids = abc.lesion_ids(dataset)[:limit]
    before = _cpu()
    start = time.perf_counter()
    frame = abc.compute(dataset, feature, "published", ids=ids, workers=workers, cache=False,
                        progress=False)
    seconds = time.perf_counter() - start
    cpu = _cpu() - before
    agree = abc.agreement(frame, dataset, feature)
    return frame, seconds, cpu, agree


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pool's workers): the
    cost of a run whatever else the machine is doing at the same time."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N lesions per dataset")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=None, help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    print(f"data: {os.environ.get('ENHANCE_DATA_DIR', '(download folder)')}, "
          f"workers: {args.workers}, limit: {args.limit}")
    results = {}
    checks = []
    for dataset, feature in [("isic2017", "A"), ("isic2017", "B"), ("ph2", "A"), ("ph2", "C")]:
        frame, seconds, cpu, agree = run(dataset, feature, args.limit, args.workers)
        key = f"{dataset}_{feature}"
        agree = {k: v for k, v in agree.items() if k not in ("only_computed", "only_published")} | {
            "only_computed": agree["only_computed"][:10],
            "only_published": agree["only_published"][:10],
            "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
            "n_lesions": len(frame),
            "status_counts": frame.status.value_counts().to_dict()}
        results[key] = agree
        print(f"\n{key}: {len(frame)} lesions in {seconds:.1f} s wall, {cpu:.1f} s CPU "
              f"({cpu / max(len(frame), 1) * 1000:.0f} ms CPU per lesion; on {args.workers} "
              f"otherwise idle cores the wall time is about {cpu / args.workers:.0f} s)")
        for k, v in agree.items():
            print(f"  {k}: {v}")
        if feature == "A":
            checks.append((f"{key}: ii within 2e-3 >= 99%", agree["ii_within_tol"] >= 0.99))
            checks.append((f"{key}: i identical >= 99%", agree["i_identical"] >= 0.99))
            checks.append((f"{key}: same ids skipped", agree["same_ids_skipped"]))
        elif feature == "B":
            checks.append((f"{key}: identical >= 99%", agree["identical"] >= 0.99))
        else:
            checks.append((f"{key}: identical >= 80%", agree["identical"] >= 0.80))
            checks.append((f"{key}: within 1 >= 98%", agree["within_1"] >= 0.98))
    ab = results["isic2017_A"]["seconds"] + results["isic2017_B"]["seconds"]
    if args.limit is None:
        checks.append((f"ISIC A + B in {ab:.0f} s <= 120 s", ab <= 120))
        checks.append((f"PH2 C in {results['ph2_C']['seconds']:.0f} s <= 60 s",
                       results["ph2_C"]["seconds"] <= 60))
    print(f"\nload average now: {os.getloadavg()} on {os.cpu_count()} cores (other jobs slow the "
          "wall times down; the CPU times do not depend on them)")
    print("\ndone-when criteria:")
    for text, ok in checks:
        print(f"  [{'x' if ok else ' '}] {text}")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=1, default=str)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
