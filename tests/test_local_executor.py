"""The local executor: runs side by side in worker processes on one machine, with the bytes
of the runs trained one after the other in the command's process; its number of jobs; and
what it says when a worker process dies or a run fails."""
from __future__ import annotations

import dataclasses
import json
import os

import pytest

from enhance_utils import cli, profiles
from enhance_utils.learning import executors, store

from tinyprofile import tiny_profile


@dataclasses.dataclass
class ScriptedJob:
    """A stand-in for a grid's job whose runs are names: ``"die"`` ends its worker process
    (as the kernel's out-of-memory killer would), ``"fail"`` raises, any other returns
    ``"trained"`` with the worker's pid. Importable by the spawned workers (``tests/`` is on
    their ``sys.path``)."""

    threads: int = 1
    progress: bool = True

    def __call__(self, spec: str) -> str:
        if spec == "die":
            os._exit(9)
        if spec == "fail":
            raise ValueError("this run's data are damaged")
        return f"trained in {os.getpid()}"


@pytest.mark.parametrize("cpus, threads, jobs", [(2, 1, 2), (2, 2, 1), (1, 2, 1), (16, 2, 8),
                                                 (3, 2, 1)])
def test_default_jobs_fill_the_cpus_at_the_profiles_threads(cpus, threads, jobs, monkeypatch):
    monkeypatch.setattr(executors, "usable_cpus", lambda: cpus)
    assert executors.default_jobs(threads) == jobs


def test_the_lite_profile_trains_two_runs_at_a_time_on_two_cpus():
    """The profiles' threads per run decide the default: one-thread lite runs fill two CPUs
    two at a time, the small CNN's two-thread runs one at a time (conftest: two CPUs)."""
    assert profiles.get_profile("lite").training.threads == 1
    assert profiles.get_profile("lite-cv").training.threads == 1
    assert profiles.get_profile("cpu").training.threads == profiles.TRAINING_THREADS == 2
    assert executors.default_jobs(profiles.get_profile("lite").training.threads) == 2
    assert executors.default_jobs(profiles.get_profile("cpu").training.threads) == 1


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2"])
def test_a_profile_refuses_threads_that_are_not_a_positive_whole_number(threads):
    with pytest.raises(ValueError, match="positive whole number of threads"):
        tiny_profile(threads=threads)


@pytest.mark.parametrize("jobs", [0, -2, 1.5])
def test_jobs_that_are_not_a_positive_whole_number_are_refused(jobs):
    with pytest.raises(ValueError, match="positive whole number"):
        executors.get("local", jobs=jobs)


def test_jobs_are_an_option_of_the_local_executor_only(capsys):
    with pytest.raises(ValueError, match="--jobs is an option of the local executor"):
        executors.get("ray", jobs=2)
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--profile", "smoke", "--jobs", "0"])
    assert stop.value.code == 2 and "--jobs: must be at least 1" in capsys.readouterr().err


def test_worker_processes_return_every_outcome_in_order():
    specs = [f"run{k}" for k in range(5)]
    outcomes = executors.LocalExecutor(jobs=2).map(ScriptedJob(), specs, progress=False)
    workers = {outcome.removeprefix("trained in ") for outcome in outcomes}
    assert len(outcomes) == 5 and all(o.startswith("trained in ") for o in outcomes)
    assert str(os.getpid()) not in workers and 1 <= len(workers) <= 2


def test_a_dead_worker_is_one_error_that_says_how_to_resume():
    with pytest.raises(ChildProcessError, match="worker process of the local executor died "
                       r"\(killed, or out of memory\) after \d of 3 runs.*run the same command "
                       "again"):
        executors.LocalExecutor(jobs=2).map(ScriptedJob(), ["die", "a", "b"], progress=False)


def test_a_failed_run_raises_its_own_error():
    with pytest.raises(ValueError, match="this run's data are damaged"):
        executors.LocalExecutor(jobs=2).map(ScriptedJob(), ["a", "fail", "b", "c"],
                                            progress=False)


@pytest.mark.slow
def test_runs_in_worker_processes_equal_runs_in_this_process(data_root, tmp_path, monkeypatch):
    """Three runs of a tiny grid through ``enhance train``, once with ``--jobs 1`` (in this
    process) and once with ``--jobs 2`` (two worker processes): the same files byte for byte,
    trained where asked, with the profile's thread pools pinned in the workers."""
    name = "tinyjobs"
    monkeypatch.setitem(profiles.PROFILES, name, tiny_profile(
        name, targets=("baseline", "crowd:A", "student:B")))
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    stores = {jobs: tmp_path / f"jobs{jobs}" for jobs in (1, 2)}
    for jobs, results in stores.items():
        args = ["train", "--profile", name, "--results", str(results), "--jobs", str(jobs)]
        assert cli.main(args) == 0
    here, bad = store.scan(stores[1], name)
    assert bad == [] and len(here) == 3
    pids = set()
    for folder, record in here:
        twin = stores[2] / folder.relative_to(stores[1])
        for file in (store.PREDICTIONS, store.HISTORY):
            assert (folder / file).read_bytes() == (twin / file).read_bytes(), file
        assert record["trainer"]["pid"] == os.getpid()
        worker = json.loads((twin / store.RECORD).read_text())
        assert worker["determinism"]["threads_pinned"]
        assert worker["determinism"]["intra_op_threads"] == profiles.TRAINING_THREADS
        pids.add(worker["trainer"]["pid"])
    assert os.getpid() not in pids and len(pids) <= 2
