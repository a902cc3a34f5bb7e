"""The same smoke-sized grid through the ``local`` and the ``ray`` executor on this machine.

Usage: ``python benchmarks/bench_executors.py [--targets baseline,crowd:A,crowd:B,crowd:C]
[--split 1970] [--repeat 1]`` (needs ``ENHANCE_DATA_DIR`` and Ray, ``pip install -e .[cluster]``).

Timings of :func:`enhance_utils.learning.training.run_grid` (the smoke profile's settings, narrowed
to the given targets and one split), each into a fresh store, the configurations taken in
turn ``--repeat`` times (medians reported):

``local``
    one run after the other in this process (TensorFlow already imported);
``ray, 1 task``
    a Ray cluster started on this machine by the executor, each task asking for every core:
    one run at a time, as ``local`` — the overhead of Ray (starting the cluster, workers
    importing TensorFlow, shipping the context); target: ratio to ``local`` at most 1.15;
``ray, 1 task, cluster up``
    the same on a cluster started before the clock starts (what a long grid sees: the
    cluster's start is paid once);
``ray, 1 core each``
    one task per core, TensorFlow limited to one thread per task (cluster up): the runs
    train side by side; target: faster than ``local``.

Prints each median wall time, its ratio to ``local`` and whether the AUCs equal the local ones
(same seeds; with one thread per run TensorFlow sums in another order, so they may differ).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

CONFIGS = {  # name: (executor options, cluster started before the clock)
    "local": (None, False),
    "ray, 1 task": ({"cpus_per_run": os.cpu_count()}, False),
    "ray, 1 task, cluster up": ({"cpus_per_run": os.cpu_count()}, True),
    "ray, 1 core each": ({"cpus_per_run": 1, "threads_per_run": 1}, True),
}


def _time(name: str, results: Path, targets, split: int) -> tuple[float, dict]:
    """Wall time of the grid in one configuration, and its AUCs by target."""
    from enhance_utils.learning import executors, training

    options, up = CONFIGS[name]
    ray = executors.import_ray()
    engine = executors.LocalExecutor() if options is None else executors.RayExecutor(**options)
    if up:
        executors.connect(ray, None)
    start = time.perf_counter()
    runs = training.run_grid("smoke", targets=targets, seeds=[split], results=results,
                                executor=engine, progress=False)
    seconds = time.perf_counter() - start
    if ray.is_initialized():
        ray.shutdown()
    return seconds, dict(zip(runs.target, runs.auc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="baseline,crowd:A,crowd:B,crowd:C")
    parser.add_argument("--split", type=int, default=1970)
    parser.add_argument("--repeat", type=int, default=1)
    opts = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    targets = opts.targets.split(",")
    seconds, aucs = {name: [] for name in CONFIGS}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(opts.repeat):
            for name in CONFIGS:
                took, aucs[name] = _time(name, Path(tmp) / f"{k}-{len(seconds[name])}-{name}",
                                         targets, opts.split)
                seconds[name].append(took)
    base = statistics.median(seconds["local"])
    print(f"{len(targets)} smoke runs (split seed {opts.split}) on {os.cpu_count()} cores, "
          f"median of {opts.repeat}")
    for name, times in seconds.items():
        same = all(np.isclose(aucs[name][t], aucs["local"][t]) for t in aucs["local"])
        print(f"{name:24s} {statistics.median(times):7.1f} s  ratio to local "
              f"{statistics.median(times) / base:5.2f}  ({', '.join(f'{t:.0f}' for t in times)} s)"
              f"  AUCs {'equal' if same else 'differ'}")


if __name__ == "__main__":
    main()
