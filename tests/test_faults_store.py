"""Fault injection on the experiment store: kills while writing, damaged and stray folders,
two trainers on one store, and reproducible training.

Each test does the fault for real: a process killed with SIGKILL at a given stage of writing
a run, files overwritten with garbage, two ``run_grid`` processes started together.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fakestore
from enhance_utils import cli
from enhance_utils.learning import training, store
from enhance_utils.learning.results import load_runs

PROJECT = Path(__file__).resolve().parents[1]
IDS = [f"L{i}" for i in range(8)]
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
SPLITS = [f"seed{s}" for s in (1970, 1972, 2008, 2019, 2020)]


def _scores(k: int) -> np.ndarray:
    return LABELS + np.random.default_rng(k).normal(0, 0.8, len(IDS))


@pytest.fixture
def five_splits(tmp_path):
    """baseline and crowd A in five splits: a complete little store."""
    root = tmp_path / "results"
    for k, split in enumerate(SPLITS):
        fakestore.write_run(root, "baseline", split, IDS, LABELS, _scores(k))
        fakestore.write_run(root, "crowd:A", split, IDS, LABELS, _scores(k + 10))
    return root


def _report(root, out) -> tuple[int, pd.DataFrame | None]:
    code = cli.main(["report", "--profile", "smoke", "--out", str(out), "--results", str(root)])
    table = pd.read_csv(out / "table5.csv") if (out / "table5.csv").exists() else None
    return code, table


def _copy_run(root, split, name):
    """A copy of a finished run under a stray folder name (what a killed writer leaves)."""
    source = store.run_dir(root, "smoke", "small", "crowd:A", split)
    stray = source.with_name(name)
    stray.mkdir()
    for path in source.iterdir():
        (stray / path.name).write_bytes(path.read_bytes())
    frame = pd.read_csv(stray / store.PREDICTIONS)
    frame.assign(score_best=1 - frame.score_best).to_csv(stray / store.PREDICTIONS, index=False)
    record = json.loads((stray / store.RECORD).read_text())
    (stray / store.RECORD).write_text(json.dumps(dict(record, split="seed2021")))
    return stray


@pytest.mark.parametrize("stray", [".seed2021.tmp-otherhost-12-abcdef12", "seed2021.partial"])
def test_leftover_partial_folder_changes_nothing(five_splits, tmp_path, stray):
    _, clean = _report(five_splits, tmp_path / "clean")
    _copy_run(five_splits, "seed1970", stray)
    code, table = _report(five_splits, tmp_path / "with-stray")
    assert code == 0
    pd.testing.assert_frame_equal(table, clean)
    assert (table.n_splits == 5).all()


@pytest.mark.parametrize("damage, reason", [
    (lambda f: (f / store.RECORD).write_text("{not json"), "not valid JSON"),
    (lambda f: (f / store.RECORD).write_text("null"), "not a JSON object"),
    (lambda f: (f / store.PREDICTIONS).unlink(), "predictions.csv: missing"),
    (lambda f: (f / store.PREDICTIONS).write_text("lesion_id,score\nL0,1\n"), "missing column"),
    (lambda f: (f / store.HISTORY).write_bytes(b"\x00\xff" * 10), "history.csv"),
    (lambda f: (f / store.RECORD).write_text(json.dumps({"auc": 0.7})), "store layout 1"),
    (lambda f: (f / store.RECORD).write_text(json.dumps(dict(
        json.loads((f / store.RECORD).read_text()), target="dermatologist:A"))), "unknown target"),
])
def test_damaged_run_is_named_by_report_and_redone_by_train(five_splits, tmp_path, capsys,
                                                             damage, reason):
    folder = store.run_dir(five_splits, "smoke", "small", "crowd:A", "seed2008")
    damage(folder)
    code, table = _report(five_splits, tmp_path / "out")
    err = capsys.readouterr().err
    assert code == 2 and table is None
    assert err.startswith("error: 1 run folder(s)") and reason in err and str(folder) in err
    assert "Traceback" not in err
    lesions = pd.DataFrame({"lesion_id": [f"ISIC_{i:07d}" for i in range(40)],
                            "label": [0, 1] * 20})
    specs = training.grid("smoke", targets=["crowd:A"], seeds=[2008], lesions=lesions)
    state = training.plan(specs, five_splits)
    assert state["todo"] == specs and state["damaged"][0][0] == folder
    assert reason in state["damaged"][0][1]


def test_a_run_without_run_json_is_unfinished(five_splits):
    folder = store.run_dir(five_splits, "smoke", "small", "baseline", "seed2019")
    (folder / store.RECORD).unlink()
    assert "unfinished" in store.validate(folder)
    runs = load_runs("smoke", five_splits, strict=False)
    assert len(runs) == 9 and "seed2019" not in set(runs[runs.target == "baseline"].split)


# --------------------------------------------------------------------------- kills while writing
_WRITER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    import fakestore
    from enhance_utils.learning import store

    stage = sys.argv[2]
    real_rename = os.rename

    def die(*args):
        os.kill(os.getpid(), signal.SIGKILL)

    if stage == "rename":
        store.os.rename = die
    original = store.write_run

    def write_run(final, files, record):
        files = dict(files)
        if stage in files:  # die while writing that file, after it was started
            def dying(path, write=files[stage]):
                write(path)
                die()
            files[stage] = dying
        if stage == "weights":
            files["model.weights.h5"] = lambda path: (path.write_bytes(b"half"), die())
        return original(final, files, record)

    store.write_run = write_run
    fakestore.store.write_run = write_run
    labels = np.array([0, 0, 1, 1])
    fakestore.write_run(sys.argv[1], "crowd:B", "seed1970", ["a", "b", "c", "d"], labels,
                        labels + 0.1)
""")


@pytest.mark.parametrize("stage", [store.PREDICTIONS, store.HISTORY, "weights", "rename"])
def test_killed_writer_leaves_no_run_and_loses_nothing(five_splits, stage):
    before = load_runs("smoke", five_splits)
    script = _WRITER.format(tests=str(Path(__file__).parent))
    done = subprocess.run([sys.executable, "-c", script, str(five_splits), stage],
                          cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    folder = store.run_dir(five_splits, "smoke", "small", "crowd:B", "seed1970")
    assert not folder.exists()  # never half a run under the real name
    leftovers = list(folder.parent.glob(".seed1970.tmp-*"))
    assert len(leftovers) == 1
    after = load_runs("smoke", five_splits)
    pd.testing.assert_frame_equal(after, before)  # nothing finished is lost, nothing added
    removed = store.clean_temporaries(five_splits, "smoke")
    assert removed == leftovers and not leftovers[0].exists()


def test_temporary_folder_of_a_live_or_remote_writer_is_kept(five_splits):
    parent = store.run_dir(five_splits, "smoke", "small", "crowd:A", "seed1970").parent
    live = parent / f".seed1999.tmp-{socket.gethostname()}-{os.getpid()}-abcdef12"
    remote = parent / ".seed1998.tmp-elsewhere-4242-abcdef12"
    live.mkdir()
    remote.mkdir()
    assert store.clean_temporaries(five_splits, "smoke") == []
    old = time.time() - store.STALE_SECONDS - 60
    os.utime(remote, (old, old))
    assert store.clean_temporaries(five_splits, "smoke") == [remote]


# --------------------------------------------------------------------------- claims
def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_claims_are_exclusive_and_stale_ones_are_taken_over(tmp_path):
    folder = tmp_path / "small" / "crowd-A" / "seed1970"
    first = store.Claim.take(folder)
    assert first is not None and store.Claim.take(folder) is None  # held, even by ourselves
    first.path.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getppid()}))
    assert store.Claim.take(folder) is None  # a live process holds it
    first.path.write_text(json.dumps({"host": socket.gethostname(), "pid": _dead_pid()}))
    second = store.Claim.take(folder)
    assert second is not None  # the holder died: taken over
    assert json.loads(second.path.read_text())["pid"] == os.getpid()
    second.path.write_text(json.dumps({"host": "elsewhere", "pid": 1}))
    assert store.Claim.take(folder) is None  # another host, fresh heartbeat
    old = time.time() - store.STALE_SECONDS - 60
    os.utime(second.path, (old, old))
    assert store.Claim.take(folder) is not None  # another host, no heartbeat for hours
    second.path.write_text("garbage")
    with store.Claim.take(folder) as third:  # an unreadable claim counts as stale
        assert third.path.exists()
    assert not third.path.exists()


_RACER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from enhance_utils.learning import store
    root, n = Path(sys.argv[1]), int(sys.argv[2])
    print("ready", flush=True)
    while not (root / "go").exists():
        pass
    print(" ".join(str(k) for k in range(n) if store.Claim.take(root / f"run{k}") is not None))
""")


def _race_for_claims(root: Path, n_runs: int, n_racers: int = 6) -> list[int]:
    """Start ``n_racers`` processes together, each taking the claims of ``n_runs`` runs
    (and holding them until it exits); the run numbers each one got, all together."""
    (root / "go").unlink(missing_ok=True)
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, str(root), str(n_runs)],
                               cwd=PROJECT, stdout=subprocess.PIPE, text=True)
              for _ in range(n_racers)]
    for racer in racers:
        assert racer.stdout.readline().strip() == "ready"
    (root / "go").touch()
    won = [racer.communicate(timeout=120)[0].split() for racer in racers]
    assert [racer.returncode for racer in racers] == [0] * n_racers
    return sorted(int(k) for got in won for k in got)


def test_racing_processes_never_share_a_claim(tmp_path):
    """Six processes take the same 300 claims at once: each is taken exactly once. The racers
    exit holding their claims, so the second race takes over 300 stale claims at once: again
    each exactly once, and no breaker's lock or private file is left behind."""
    assert _race_for_claims(tmp_path, 300) == list(range(300))
    assert _race_for_claims(tmp_path, 300) == list(range(300))  # all stale now
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".claim")) == ["go"]


def test_a_claim_taken_over_is_not_released_by_its_old_holder(tmp_path):
    folder = tmp_path / "small" / "crowd-A" / "seed1970"
    old = store.Claim.take(folder)
    old.path.write_text(json.dumps({"host": socket.gethostname(), "pid": _dead_pid()}))
    new = store.Claim.take(folder)  # the holder looked dead: taken over
    old.release()
    assert store.Claim.holder(new.path)["pid"] == os.getpid()  # still the new holder's
    new.release()
    assert not new.path.exists()


# --------------------------------------------------------------------------- real training
_TRAINER = textwrap.dedent("""
    import sys
    from enhance_utils import profiles
    from enhance_utils.learning import training
    sys.path.insert(0, {tests!r})
    from tinyprofile import tiny_profile
    profiles.PROFILES["tiny"] = tiny_profile(targets=sys.argv[2].split(","), epochs=2)
    training.run_grid("tiny", results=sys.argv[1], progress=False)
""").format(tests=str(Path(__file__).parent))


def _trainer(results, targets, **kwargs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, "-c", _TRAINER, str(results), targets],
                            cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def _predictions(results, target):
    return (store.run_dir(results, "tiny", "small", target, "seed1970")
            / store.PREDICTIONS).read_bytes()


@pytest.mark.usefixtures("data_root")
def test_two_identical_trainings_give_identical_predictions(tmp_path):
    """Training is reproducible: the same run twice, in two processes, byte for byte."""
    targets = "crowd:A,permuted:crowd:B"
    for name in ("first", "second"):
        trainer = _trainer(tmp_path / name, targets)
        out = trainer.communicate(timeout=600)[0]
        assert trainer.returncode == 0, out
    for target in targets.split(","):
        assert _predictions(tmp_path / "first", target) == _predictions(tmp_path / "second", target)
    record = json.loads((store.run_dir(tmp_path / "first", "tiny", "small", "crowd:A", "seed1970")
                         / store.RECORD).read_text())
    assert record["determinism"]["op_determinism"] is True


@pytest.mark.usefixtures("data_root")
def test_two_trainers_on_one_store_train_each_run_once(tmp_path):
    results = tmp_path / "results"
    targets = "baseline,crowd:A,crowd:B,crowd:C"
    trainers = [_trainer(results, targets) for _ in range(2)]
    outputs = [t.communicate(timeout=900)[0] for t in trainers]
    assert [t.returncode for t in trainers] == [0, 0], outputs
    trained = [int(out.split("trained ")[1].split(" ")[0]) for out in outputs]
    assert sum(trained) == 4, outputs  # each run exactly once, by one of the two
    runs = load_runs("tiny", results)
    assert len(runs) == 4
    pids = {json.loads((f / store.RECORD).read_text())["trainer"]["pid"]
            for f, _ in store.finished_runs(results, "tiny")}
    assert pids <= {t.pid for t in trainers}
    assert not list(results.glob("tiny/*/*/.*")) and not list(results.glob("tiny/*/*/*.claim"))


@pytest.mark.usefixtures("data_root")
def test_killed_training_loses_no_finished_run(tmp_path):
    results = tmp_path / "results"
    trainer = _trainer(results, "baseline,crowd:A", start_new_session=True)
    first = store.run_dir(results, "tiny", "small", "baseline", "seed1970")
    second = first.parent.parent / "crowd-A"
    deadline = time.time() + 600
    claim = second / "seed1970.claim"
    while time.time() < deadline and not (first.exists() and claim.exists()):
        time.sleep(0.05)  # kill at a file event: the second run is claimed, its training starts
    os.killpg(trainer.pid, signal.SIGKILL)
    trainer.wait()
    assert store.validate(first) is None
    finished = first / store.RECORD
    stamp = finished.stat().st_mtime_ns
    again = _trainer(results, "baseline,crowd:A")
    out = again.communicate(timeout=600)[0]
    assert again.returncode == 0 and "trained 1 run(s)" in out, out
    assert finished.stat().st_mtime_ns == stamp  # the finished run was not redone
    assert len(load_runs("tiny", results)) == 2
    assert not list(results.glob("tiny/*/*/.*")) and not claim.exists()  # stale claim taken over


@pytest.mark.parametrize("command", ["train", "report"])
def test_store_inside_the_data_folder_is_refused(data_root, command, capsys, monkeypatch):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    args = [command, "--profile", "smoke", "--results", str(data_root / "results")]
    if command == "report":
        args += ["--out", str(data_root / "out")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: results folder") and "read-only" in err
    assert not (data_root / "results").exists()


@pytest.mark.parametrize("args, message", [
    (["--targets", ","], "names nothing"),
    (["--targets", "dermatologist:A"], "unknown target"),
    (["--splits", "19x0"], "split seeds are integers"),
    (["--arch", ","], "names nothing"),
    (["--arch", "alexnet"], "unknown architecture(s) alexnet"),
])
def test_nonsense_training_arguments_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--profile", "smoke"] + args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_retry_takes_over_its_own_claim_only(tmp_path):
    """A Ray retry of a run (same driver token) takes over the claim of its dead attempt at
    once, even one of another host; another driver's token does not."""
    folder = tmp_path / "small" / "crowd-A" / "seed1970"
    first = store.Claim.take(folder, token="driver-1")
    first.path.write_text(json.dumps({"host": "deadnode", "pid": 1, "token": "driver-1"}))
    assert store.Claim.take(folder, token="driver-2") is None
    assert store.Claim.take(folder) is None
    retry = store.Claim.take(folder, token="driver-1")
    assert retry is not None and store.Claim.holder(retry.path)["host"] == socket.gethostname()
