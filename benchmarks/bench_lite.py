"""What the ``lite`` profile costs: feature extraction per view, one run, the whole grid.

Usage: ``ENHANCE_DATA_DIR=../shared/data python benchmarks/bench_lite.py [--profile lite]
[--phases features,runs,grid,retrain] [--targets baseline,crowd:A,crowd:ABC] [--cache DIR]
[--executor local|ray] [--jobs N] [--cpus-per-run N] [--into DIR]``

``features``
    the frozen EfficientNet-Lite0's features of all the profile's lesions, view by view
    (view 0 the plain image, then the augmented views), into the feature cache (the
    profile's, or ``--cache``): seconds per view, and whether they were computed or read
    (a second call only reads: that time is shown too). Building the backbone (and
    converting its weights on a first call) is timed apart.
``runs``
    one run per ``--targets`` on the profile's first split, into a temporary store, from
    the cached features: seconds of the whole run (``train_one``: reading the features,
    building, fitting, predicting, writing) and of the fit alone (``train_seconds``).
``grid``
    the grid as the profile's store (``results/<profile>``) holds it: runs, the sum of their
    ``train_seconds``, and the wall time from the first to the last finished run.
``retrain``
    the whole grid trained again into a temporary store (or the store ``--into``, kept), as
    ``enhance train --profile lite [--jobs N | --executor ray --cpus-per-run 1]`` trains it
    (the feature cache warm): the wall time of the grid, of the runs after the first
    finished one, per run, and how many runs' ``predictions.csv`` and ``history.csv`` equal
    the committed store's byte for byte.

Prints a Markdown table per phase. Speed measurements, not tests: on two cores shared with
other work the numbers move with the load (the load average is printed).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def bench_features(profile, cache) -> list[dict]:
    from enhance_utils.learning import features, training

    settings = profile.training
    context = training.build_context(settings.n_lesions)
    start = time.perf_counter()
    base = features.backbone(settings.archs[0], settings.image_size, settings.weights)
    rows = [{"step": "build the backbone (weights converted or read)", "images": "",
             "seconds": round(time.perf_counter() - start, 1), "load": _load()}]
    paths = list(context.lesions.path)
    for view in range(settings.views + 1):
        for attempt in ("first call", "second call"):
            features.clear_memory()
            start = time.perf_counter()
            features.extract(paths, [view], base, root=cache, progress=False)
            rows.append({"step": f"view {view}, {attempt}", "images": len(paths),
                         "seconds": round(time.perf_counter() - start, 1), "load": _load()})
    return rows


def bench_runs(profile, targets) -> list[dict]:
    from enhance_utils.learning import run, targets as targets_module, training

    settings = profile.training
    context = training.build_context(settings.n_lesions)
    specs = [s for s in training.grid(profile, targets=targets, lesions=context.lesions)]
    first = specs[0].split.name
    rows = []
    with tempfile.TemporaryDirectory() as store:
        for spec in (s for s in specs if s.split.name == first):
            start = time.perf_counter()
            record = run.train_one(spec, context, Path(store), progress=False, settings=settings)
            rows.append({"run": spec.run_id, "model": targets_module.parse(spec.target).model,
                         "run_seconds": round(time.perf_counter() - start, 1),
                         "fit_seconds": record["train_seconds"],
                         "test_auc": round(record["auc"], 3), "load": _load()})
    return rows


def bench_grid(profile) -> list[dict]:
    from enhance_utils.learning import store

    root = store.store_root()
    runs = [record for _, record in store.finished_runs(root, profile.name, strict=False)]
    if not runs:
        return [{"store": str(root / profile.name), "runs": 0}]
    finished = sorted(datetime.fromisoformat(r["finished"]) for r in runs)
    fits = [r["train_seconds"] for r in runs]
    return [{"store": str(root / profile.name), "runs": len(runs),
             "sum_train_seconds": round(sum(fits)), "mean_train_seconds": round(
                 sum(fits) / len(fits), 1),
             "first_to_last_finished_s": round((finished[-1] - finished[0]).total_seconds()),
             "mean_wall_per_run_s": round((finished[-1] - finished[0]).total_seconds()
                                          / max(len(runs) - 1, 1), 1)}]


def bench_retrain(profile, executor: str, cpus_per_run: float | None, jobs: int | None,
                  into: str | None) -> list[dict]:
    from enhance_utils.learning import executors, store, training

    committed = store.store_root()
    with tempfile.TemporaryDirectory() as temporary:
        results = Path(into or temporary)
        start = time.perf_counter()
        training.run_grid(profile, results=results, executor=executor,
                          cpus_per_run=cpus_per_run, jobs=jobs, progress=False)
        wall = time.perf_counter() - start
        runs = store.finished_runs(results, profile.name)
        same = 0
        for folder, _ in runs:
            twin = committed / folder.relative_to(results)
            same += all((folder / name).read_bytes() == (twin / name).read_bytes()
                        for name in (store.PREDICTIONS, store.HISTORY)
                        if (twin / name).is_file())
    finished = sorted(datetime.fromisoformat(r["finished"]) for _, r in runs)
    after_first = (finished[-1] - finished[0]).total_seconds() if finished else 0
    if executor == "local":
        where = f"local, {jobs or executors.default_jobs(profile.training.threads)} job(s)"
    else:
        where = f"{executor} ({cpus_per_run or 1} CPU per run)"
    return [{"executor": where, "threads_per_run": profile.training.threads,
             "runs": len(runs), "grid_wall_s": round(wall), "grid_wall_min": round(wall / 60, 1),
             "after_first_run_s": round(after_first),
             "wall_per_run_s": round(wall / max(len(runs), 1), 1),
             "identical_to_committed": f"{same} of {len(runs)}", "load": _load()}]


def table(rows: list[dict]) -> str:
    if not rows:
        return "(nothing)"
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row.get(k, "")) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="lite")
    parser.add_argument("--phases", default="features,runs,grid")
    parser.add_argument("--targets", default="baseline,crowd:A,crowd:ABC")
    parser.add_argument("--cache", default=None,
                        help="feature cache folder (default: the package's cache)")
    parser.add_argument("--executor", default="local", choices=("local", "ray"),
                        help="retrain: where the runs train")
    parser.add_argument("--cpus-per-run", type=float, default=None,
                        help="retrain with ray: CPUs a run asks for (default 1)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="retrain with local: runs side by side (default: as the CPUs hold)")
    parser.add_argument("--into", default=None,
                        help="retrain into this store and keep it (default: a temporary one)")
    args = parser.parse_args()
    import enhance_utils
    from enhance_utils.profiles import get_profile

    enhance_utils.quiet_tensorflow()
    profile = get_profile(args.profile)
    phases = args.phases.split(",")
    print(f"profile {profile.name}, {os.cpu_count()} cores, load {_load()}", flush=True)
    if "features" in phases:
        print("\n## feature extraction\n\n" + table(bench_features(profile, args.cache)),
              flush=True)
    if "runs" in phases:
        print("\n## one run\n\n" + table(bench_runs(profile, args.targets.split(","))),
              flush=True)
    if "grid" in phases:
        print("\n## the grid\n\n" + table(bench_grid(profile)), flush=True)
    if "retrain" in phases:
        print("\n## the grid trained again\n\n"
              + table(bench_retrain(profile, args.executor, args.cpus_per_run, args.jobs,
                                     args.into)), flush=True)
    print(json.dumps({"finished": time.strftime("%Y-%m-%dT%H:%M:%S")}))


if __name__ == "__main__":
    main()
