"""The same smoke-sized grid through the ``local`` and the ``ray`` executor on this machine.

Usage: ``python benchmarks/bench_executors.py [--targets baseline,crowd:A,crowd:B,crowd:C]
[--split 1970]`` (needs ``ENHANCE_DATA_DIR`` and Ray, ``pip install -e .[cluster]``).

Three timings of :func:`enhance_utils.experiments.run_grid` (the smoke profile's settings,
narrowed to the given targets and one split), each into a fresh store:

``local``
    one run after the other in this process (TensorFlow already imported);
``ray, 1 task``
    a Ray cluster started on this machine, each task asking for every core: one run at a
    time, as ``local`` — the overhead of Ray (start, workers importing TensorFlow, shipping
    the context); target: ratio to ``local`` at most 1.15;
``ray, 1 core each``
    one task per core, TensorFlow limited to one thread per task: the runs train side by
    side; target: faster than ``local``.

Prints each wall time, its ratio to ``local`` and whether the AUCs equal the local ones (same
seeds; with one thread per run TensorFlow sums in another order, so they may differ).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def _time(executor, results: Path, targets, split: int, cpus_per_run=None) -> tuple[float, dict]:
    from enhance_utils import executors, experiments

    import ray

    engine = (executors.RayExecutor(cpus_per_run=1, threads_per_run=1) if executor == "ray1"
              else executors.get(executor, cpus_per_run=cpus_per_run))
    start = time.perf_counter()
    runs = experiments.run_grid("smoke", targets=targets, seeds=[split], results=results,
                                executor=engine, progress=False)
    seconds = time.perf_counter() - start
    if ray.is_initialized():
        ray.shutdown()
    return seconds, dict(zip(runs.target, runs.auc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="baseline,crowd:A,crowd:B,crowd:C")
    parser.add_argument("--split", type=int, default=1970)
    opts = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from enhance_utils import executors

    executors.import_ray()
    cores = os.cpu_count()
    targets = opts.targets.split(",")
    configs = [("local", "local", None), ("ray, 1 task", "ray", cores),
               ("ray, 1 core each", "ray1", None)]
    with tempfile.TemporaryDirectory() as tmp:
        timings = {}
        for k, (name, executor, cpus) in enumerate(configs):
            timings[name] = _time(executor, Path(tmp) / str(k), targets, opts.split, cpus)
    base, aucs = timings["local"]
    print(f"{len(targets)} smoke runs (split seed {opts.split}) on {cores} cores")
    for name, (seconds, other) in timings.items():
        same = all(np.isclose(other[t], aucs[t]) for t in aucs)
        print(f"{name:18s} {seconds:7.1f} s  ratio to local {seconds / base:5.2f}  "
              f"AUCs {'equal' if same else 'DIFFER'}")


if __name__ == "__main__":
    main()
