"""Training gives the same bytes whatever the thread layout (issue 23, point 3).

One tiny run is trained in two processes at once: one confined to a single core and asking
TensorFlow for one intra-op thread (``TF_NUM_INTRAOP_THREADS=1``, as a user limiting a job
would), the other on every core of this machine asking for two. Their ``predictions.csv`` must
be equal byte for byte, and each ``run.json`` must record the thread layout it ran under.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from enhance_utils.learning import run, store  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
# one baseline run: the small CNN at 32 px on 40 lesions, one epoch (seconds per process)
_TRAINER = textwrap.dedent("""
    import sys
    from enhance_utils.learning import training
    sys.path.insert(0, {tests!r})
    from tinyprofile import tiny_profile
    profile = tiny_profile("threads", targets=("baseline",), n_lesions=40)
    training.run_grid(profile, results=sys.argv[1], progress=False)
""").format(tests=str(Path(__file__).parent))
#: how each trainer is started: (intra-op threads asked for in the environment, one core only)
LAYOUTS = {"one-core": ("1", True), "all-cores": ("2", False)}

needs_affinity = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"),
                                    reason="no CPU affinity on this platform")


def _start(results: Path, threads: str, one_core: bool) -> subprocess.Popen:
    """A trainer of the tiny grid into ``results`` with ``TF_NUM_INTRAOP_THREADS=threads``,
    confined to the first core this process may use when ``one_core`` (as ``taskset -c``)."""
    first = min(os.sched_getaffinity(0))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS=threads)
    return subprocess.Popen(
        [sys.executable, "-c", _TRAINER, str(results)], cwd=PROJECT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, {first})) if one_core else None)


pytestmark = pytest.mark.slow  # two trainings in subprocesses

@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory) -> dict[str, Path]:
    """The baseline run's folder of each layout, trained by two processes at once."""
    root = tmp_path_factory.mktemp("threads")
    trainers = {name: _start(root / name, *layout) for name, layout in LAYOUTS.items()}
    for name, trainer in trainers.items():
        out = trainer.communicate(timeout=600)[0]
        assert trainer.returncode == 0, f"{name}: {out}"
    return {name: store.run_dir(root / name, "threads", "small", "baseline", "seed1970")
            for name in LAYOUTS}


def _record(folder: Path) -> dict:
    return json.loads((folder / store.RECORD).read_text())


@needs_affinity
def test_one_core_and_all_cores_give_the_same_predictions(trained):
    first, second = (trained[name] / store.PREDICTIONS for name in LAYOUTS)
    assert first.read_bytes() == second.read_bytes()


@needs_affinity
def test_run_records_its_thread_layout(trained):
    one, every = (_record(trained[name])["determinism"] for name in LAYOUTS)
    assert one["affinity"] == 1 and every["affinity"] == len(os.sched_getaffinity(0))
    assert one["cpu_count"] == every["cpu_count"] == os.cpu_count()
    # the pools training pins, whatever the environment asked for
    for record in (one, every):
        assert record["intra_op_threads"] == record["inter_op_threads"] == run.TRAINING_THREADS
        assert record["threads_pinned"] is True and isinstance(record["onednn"], bool)
