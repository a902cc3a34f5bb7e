"""Benchmark of the automated ABC scores (issue 3, chapter 03): agreement and timings.

Runs the fast ``published`` mode on every lesion, without cache, on two processes, and
prints the done-when criteria of the issue:

* asymmetry: ``ii`` within 2e-3 and ``i`` identical for >= 99 % of the published ISIC and
  PH2 ids, and the same ids skipped;
* border: identical score for >= 99 % of the 1996 published ISIC ids;
* colour on PH2: identical for >= 80 %, within 1 for >= 98 %;
* timings: 2000 ISIC masks for A and B (<= 2 min together: the combined "AB" run, which
  reads each mask once), 200 PH2 images for C (<= 60 s);
* with ``--oracle``: the fast implementation gives the same rows as the reference (the
  oracle, :mod:`enhance_utils.abc.reference`) on every one of those masks and images, and
  for the described colour score on every PH2 image (hours on two cores: the reference warps
  the full-resolution masks; ``--limit`` checks the first N).

Each run reports its wall time and its CPU time (this process plus its pool's workers,
from ``getrusage``): the machine may be shared, and the CPU time is the cost of the run
whatever else is running; ``CPU / workers`` is the wall time on otherwise idle cores. The
ISIC agreement comes from the combined run; ``--separate`` also times A and B alone.

Usage::

    ENHANCE_DATA_DIR=../shared/data python benchmarks/bench_automated_abc.py [--limit N]
        [--workers 2] [--separate] [--oracle] [--out results.json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time

from dataclasses import asdict

from enhance_utils.abc import comparison, lesions, runner


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pool's workers): the
    cost of a run whatever else the machine is doing at the same time."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(dataset, feature, limit, workers, impl="fast", mode="published"):
    """``(frame, wall seconds, CPU seconds)`` of one uncached run."""
    ids = lesions.lesion_ids(dataset)[:limit]
    before = _cpu()
    start = time.perf_counter()
    frame = runner.compute(dataset, feature, mode, ids=ids, workers=workers, cache=False,
                           progress=False, impl=impl)
    return frame, time.perf_counter() - start, _cpu() - before


def _oracle(fast_frame, dataset, feature, limit, workers, mode="published"):
    """The check that the reference gives the fast run's rows, lesion by lesion."""
    oracle, seconds, _ = run(dataset, feature, limit, workers, impl="reference", mode=mode)
    differ = [i for i, (a, b) in enumerate(zip(fast_frame.to_dict("records"),
                                                oracle.to_dict("records")))
              if repr(a) != repr(b)]
    ids = sorted({fast_frame.lesion_id[i] for i in differ})
    print(f"  oracle ({dataset} {feature} {mode}, {seconds:.0f} s): {len(fast_frame)} rows, "
          f"{len(differ)} differ{': ' + ', '.join(ids[:10]) if ids else ''}")
    key = f"{dataset} {feature} {mode}: fast = reference on {len(fast_frame)} rows"
    return [(key, not differ and len(oracle) == len(fast_frame))]


def _timing(name, n, seconds, cpu, workers):
    print(f"\n{name}: {n} lesions in {seconds:.1f} s wall, {cpu:.1f} s CPU "
          f"({cpu / max(n, 1) * 1000:.0f} ms CPU per lesion; on {workers} otherwise idle "
          f"cores the wall time is about {cpu / workers:.0f} s)")
    return {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "n_lesions": n,
            "cpu_ms_per_lesion": round(cpu / max(n, 1) * 1000, 1)}


def _agreement(frame, dataset, feature):
    found = comparison.agreement(frame, dataset, feature)
    part = frame[frame.feature == feature]
    agree = asdict(found) | {
        "same_ids_skipped": found.same_ids_skipped,
        "only_computed": found.only_computed[:10], "only_published": found.only_published[:10],
        "status_counts": part.status.value_counts().to_dict()}
    for k, v in agree.items():
        print(f"  {feature} {k}: {v}")
    return agree


def _checks(key, feature, agree):
    if feature == "A":
        return [(f"{key}: ii within {comparison.II_TOLERANCE} >= 99%", agree["within"] >= 0.99),
                (f"{key}: i identical >= 99%", agree["identical"] >= 0.99),
                (f"{key}: same ids skipped", agree["same_ids_skipped"])]
    if feature == "B":
        return [(f"{key}: identical >= 99%", agree["identical"] >= 0.99)]
    return [(f"{key}: identical >= 80%", agree["identical"] >= 0.80),
            (f"{key}: within 1 >= 98%", agree["within"] >= 0.98)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N lesions per dataset")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--separate", action="store_true",
                        help="also time ISIC A and B in runs of their own")
    parser.add_argument("--oracle", action="store_true",
                        help="also check fast = reference on every row (hours)")
    parser.add_argument("--out", default=None, help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    print(f"data: {os.environ.get('ENHANCE_DATA_DIR', '(download folder)')}, "
          f"workers: {args.workers}, limit: {args.limit}, load average at start: "
          f"{tuple(round(x, 1) for x in os.getloadavg())} on {os.cpu_count()} cores")
    results = {}
    checks = []
    # ISIC A and B together: each mask read once, both scores from it
    frame, seconds, cpu = run("isic2017", "AB", args.limit, args.workers)
    n = frame.lesion_id.nunique()
    results["isic2017_AB"] = _timing("isic2017 A+B (combined run)", n, seconds, cpu,
                                     args.workers)
    for feature in ("A", "B"):
        key = f"isic2017_{feature}"
        results[key] = _agreement(frame, "isic2017", feature)
        checks += _checks(key, feature, results[key])
    if args.oracle:
        checks += _oracle(frame, "isic2017", "AB", args.limit, args.workers)
    if args.separate:
        for feature in ("A", "B"):
            frame_f, seconds, cpu = run("isic2017", feature, args.limit, args.workers)
            results[f"isic2017_{feature}"] |= _timing(f"isic2017 {feature} alone", len(frame_f),
                                                      seconds, cpu, args.workers)
            same = frame_f.reset_index(drop=True).equals(
                frame[frame.feature == feature].reset_index(drop=True))
            print(f"  same rows as in the combined run: {same}")
            checks.append((f"isic2017 {feature} alone = combined run", same))
    for dataset, feature in [("ph2", "A"), ("ph2", "C")]:
        key = f"{dataset}_{feature}"
        frame, seconds, cpu = run(dataset, feature, args.limit, args.workers)
        results[key] = _timing(key, len(frame), seconds, cpu, args.workers)
        results[key] |= _agreement(frame, dataset, feature)
        checks += _checks(key, feature, results[key])
        if args.oracle:
            checks += _oracle(frame, dataset, feature, args.limit, args.workers)
    if args.oracle:
        described, _, _ = run("ph2", "C", args.limit, args.workers, mode="described")
        checks += _oracle(described, "ph2", "C", args.limit, args.workers, mode="described")
    ab, c = results["isic2017_AB"], results["ph2_C"]
    if args.limit is None:
        checks.append((f"ISIC A + B in {ab['seconds']:.0f} s wall <= 120 s", ab["seconds"] <= 120))
        checks.append((f"ISIC A + B in {ab['cpu_seconds'] / args.workers:.0f} s of CPU per "
                       f"worker <= 120 s", ab["cpu_seconds"] / args.workers <= 120))
        checks.append((f"PH2 C in {c['seconds']:.0f} s wall <= 60 s", c["seconds"] <= 60))
        checks.append((f"PH2 C in {c['cpu_seconds'] / args.workers:.0f} s of CPU per worker "
                       "<= 60 s", c["cpu_seconds"] / args.workers <= 60))
    print(f"\nload average now: {os.getloadavg()} on {os.cpu_count()} cores (other jobs slow the "
          "wall times down; the CPU times depend much less on them)")
    print("\ndone-when criteria:")
    for text, ok in checks:
        print(f"  [{'x' if ok else ' '}] {text}")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=1, default=str)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
