"""The training grid on a real multi-node Ray cluster, and on a batch system's array job.

A head and a worker node (``ray.cluster_utils.Cluster``: separate raylet processes, one CPU
each) are started once for the module and stopped at its end. The grids: the smoke profile
narrowed to two targets and one split, and the tiny one of the store's fault tests (small CNN,
32 px, 60 lesions, one split, three targets).
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

pytest.importorskip("tensorflow")
ray = pytest.importorskip("ray")  # in the lock (requirements.txt): present in CI

from enhance_utils import cli, profiles  # noqa: E402
from enhance_utils.learning import executors, training, store  # noqa: E402
from tinyprofile import tiny_profile  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
TARGETS = ("baseline", "crowd:A", "permuted:crowd:B")
TINY = tiny_profile(targets=TARGETS)
_REGISTER = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
             "from enhance_utils import profiles\n"
             "from tinyprofile import tiny_profile\n"
             f"profiles.PROFILES['tiny'] = tiny_profile(targets={TARGETS!r})\n")


@pytest.fixture(scope="module")
def quiet_env(tmp_path_factory):
    """Ray's quiet settings, TensorFlow's errors only and a cache of the module's own, for
    this process and every node and driver started from it."""
    keys = {**executors.RAY_WORKER_ENV, **executors.RAY_DRIVER_ENV,
            "RAY_USAGE_STATS_ENABLED": "0", "TF_CPP_MIN_LOG_LEVEL": "3",
            "ENHANCE_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    with pytest.MonkeyPatch.context() as env:
        for key, value in keys.items():
            env.setenv(key, value)
        yield


@pytest.fixture(scope="module")
def cluster(data_root, quiet_env):
    """A head and a worker node, one CPU each; this process is connected as a driver."""
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True,
                    head_node_args={"num_cpus": 1, "include_dashboard": False})
    session = nodes.head_node.get_session_dir_path()
    try:
        nodes.add_node(num_cpus=1)
        nodes.wait_for_nodes()
        ray.init(address=nodes.address, log_to_driver=False, logging_level=logging.WARNING)
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()
        shutil.rmtree(session, ignore_errors=True)


@pytest.fixture(autouse=True)
def tiny_profile(monkeypatch):
    monkeypatch.setitem(profiles.PROFILES, "tiny", TINY)


def _runs(results, profile: str = "tiny") -> dict[str, dict]:
    """Every finished run of the store: run id → record."""
    return {f"{r['arch']}/{folder.parent.name}/{r['split']}": r
            for folder, r in store.finished_runs(results, profile)}


def _leftovers(results, profile: str = "tiny") -> list[Path]:
    """Claims and hidden (temporary) folders left in the store."""
    return list(results.glob(f"{profile}/*/*/.*")) + list(results.glob(f"{profile}/*/*/*.claim"))


# Keras saving the smoke runs' weights (NumPy 2's copy keyword), once per layer
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.slow
def test_smoke_grid_through_ray_matches_local(cluster, tmp_path, capsys):
    """``enhance train --profile smoke --executor ray`` (two of its targets, one split) on
    the two-node cluster: the same run folders and AUCs as ``--executor local``."""
    grid = ["train", "--profile", "smoke", "--targets", "baseline,crowd:A", "--splits", "1970"]
    assert cli.main(grid + ["--results", str(tmp_path / "local")]) == 0
    code = cli.main(grid + ["--executor", "ray", "--address", cluster.address,
                            "--results", str(tmp_path / "ray")])
    out = capsys.readouterr().out
    assert code == 0 and "(ray executor)" in out, out
    assert out.count("trained 2 run(s)") == 2, out
    by_local, by_ray = _runs(tmp_path / "local", "smoke"), _runs(tmp_path / "ray", "smoke")
    assert sorted(by_ray) == sorted(by_local) == ["small/baseline/seed1970",
                                                  "small/crowd-A/seed1970"]
    for run_id, record in by_ray.items():
        assert np.allclose([record["auc_last"], record["auc_best"]],
                           [by_local[run_id]["auc_last"], by_local[run_id]["auc_best"]])
        assert record["trainer"]["pid"] != os.getpid()  # trained in a Ray worker
    assert not _leftovers(tmp_path / "ray", "smoke")


def _claim_on(node, results) -> Path | None:
    """A claim file held by a worker process of ``node`` (a child of its raylet)."""
    raylet = node.all_processes["raylet"][0].process.pid
    for claim in results.glob("tiny/*/*/*.claim"):
        holder = store.Claim.holder(claim) or {}
        try:
            if psutil.Process(holder.get("pid", -1)).ppid() == raylet:
                return claim
        except (psutil.NoSuchProcess, ValueError):
            continue
    return None


@pytest.mark.slow
def test_a_dead_node_s_run_is_retried_elsewhere(cluster, tmp_path):
    results = tmp_path / "results"
    victim = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    driver = threading.Thread(target=training.run_grid, args=("tiny",),
                              kwargs={"results": results, "executor": "ray", "progress": False})
    driver.start()
    deadline, claim = time.time() + 300, None
    while claim is None and driver.is_alive() and time.time() < deadline:
        claim = _claim_on(victim, results)
        time.sleep(0.05)
    assert claim is not None, "no run was claimed on the third node"
    killed = store.Claim.holder(claim)["pid"]
    cluster.remove_node(victim)  # kills its raylet and the worker training that run
    driver.join(timeout=600)
    assert not driver.is_alive()
    runs = _runs(results)
    assert len(runs) == len(TARGETS)  # the grid completed
    assert killed not in {r["trainer"]["pid"] for r in runs.values()}  # retried elsewhere
    assert not [p for p in results.glob("tiny/*/*/*") if store.validate(p)]  # no partial run
    store.clean_temporaries(results, "tiny")
    assert not _leftovers(results)


_DRIVER = _REGISTER + textwrap.dedent("""
    import sys
    from enhance_utils.learning import training
    training.run_grid("tiny", results=sys.argv[1], executor="ray", address=sys.argv[2],
                      progress=False)
""")


@pytest.mark.slow
def test_two_drivers_on_one_store_train_each_run_once(cluster, tmp_path, capsys):
    results = tmp_path / "results"
    other = subprocess.Popen([sys.executable, "-c", _DRIVER, str(results), cluster.address],
                             cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    deadline = time.time() + 300
    while not list(results.glob("tiny/*/*/*.claim")) and other.poll() is None \
            and time.time() < deadline:
        time.sleep(0.05)  # the other driver's first run is training
    training.run_grid("tiny", results=results, executor="ray", progress=False)
    outputs = [capsys.readouterr().out, other.communicate(timeout=600)[0]]
    assert other.returncode == 0, outputs[1]
    trained = [int(out.split("trained ")[1].split(" ")[0]) for out in outputs]
    assert sum(trained) == len(TARGETS) and trained[1] >= 1, outputs  # each run once
    assert len(_runs(results)) == len(TARGETS) and not _leftovers(results)


# --------------------------------------------------------------------------- batch systems
def test_list_runs_and_run_one(data_root, tmp_path, capsys):
    base = ["train", "--profile", "tiny", "--results", str(tmp_path / "results")]
    assert cli.main(base + ["--list-runs"]) == 0
    keys = capsys.readouterr().out.split()
    assert keys == [f"small/{t.replace(':', '-')}/seed1970" for t in TARGETS]
    assert cli.main(base + ["--run", keys[1]]) == 0
    assert "trained 1 run(s)" in capsys.readouterr().out
    assert list(_runs(tmp_path / "results")) == [keys[1]]
    assert cli.main(base + ["--list-runs"]) == 0
    assert capsys.readouterr().out.split() == [keys[0], keys[2]]
    assert cli.main(base + ["--run", "small/crowd-Z/seed1970"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown run 'small/crowd-Z/seed1970'") and "--list-runs" in err


def test_array_script_trains_its_line(tmp_path):
    script = PROJECT / "tools" / "slurm" / "train_array.sbatch"
    (tmp_path / "runs.txt").write_text("small/baseline/seed1970\nsmall/crowd-A/seed1970\n")
    env = dict(os.environ, SLURM_ARRAY_TASK_ID="2", RUNS=str(tmp_path / "runs.txt"),
               PROFILE="paper", ENHANCE="echo enhance")
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["enhance", "train", "--profile", "paper", "--run",
                                   "small/crowd-A/seed1970"]


@pytest.mark.parametrize("args, message", [
    (["--executor", "spark"], "invalid choice"),
    (["--list-runs", "--run", "small/baseline/seed1970"], "not allowed with"),
])
def test_bad_executor_arguments_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--profile", "tiny"] + args)
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_cluster_options_of_the_local_executor_are_refused(capsys):
    assert cli.main(["train", "--profile", "tiny", "--address", "auto"]) == 2
    assert "options of the ray executor" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown executor 'spark'"):
        executors.get("spark")


@pytest.mark.parametrize("address, message", [
    ("127.0.0.1:{free}", "no Ray cluster answers at 127.0.0.1:"),
    ("nowhere", "a Ray address is host:port"), ("10.0.0.1:abc", "a Ray address is host:port")])
def test_an_address_where_no_cluster_answers_is_one_error_line(address, message, capsys):
    """Ray retries an address where nothing listens for minutes; ``enhance train`` says so
    in one line within seconds, before Ray is started."""
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    args = ["train", "--profile", "tiny", "--executor", "ray",
            "--address", address.format(free=free)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and len(err.strip().splitlines()) == 1


def test_losing_the_drivers_raylet_says_how_to_resume():
    """When the raylet this driver is attached to dies, Ray raises LocalRayletDiedError from
    ``ray.wait``; the grid ends in a ConnectionError naming what finished and how to resume
    (``enhance train`` prints it as one ``error:`` line), and no cancel is attempted through
    the dead node."""
    import types

    import ray.exceptions

    calls = []

    def wait(pending, num_returns):
        if len(calls) == 1:
            raise ray.exceptions.LocalRayletDiedError()
        calls.append("wait")
        return pending[:1], pending[1:]

    fake = types.SimpleNamespace(wait=wait, get=lambda ref: f"run {ref}",
                                 cancel=lambda ref: calls.append("cancel"),
                                 exceptions=ray.exceptions)
    with pytest.raises(ConnectionError, match=r"stopped \(LocalRayletDiedError\) after 1 of 3 "
                                              r"runs; .* run the same command again"):
        executors._gather(fake, {"a": 0, "b": 1, "c": 2}, progress=False)
    assert "cancel" not in calls
