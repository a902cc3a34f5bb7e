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
from sklearn.metrics import roc_auc_score

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
    (lambda f: _edit_record(f, target="dermatologist:A"), "unknown target"),
    # a run is what its folder says
    (lambda f: _edit_record(f, target="crowd:B"), "says target 'crowd:B'"),
    (lambda f: _edit_record(f, arch="vgg16"), "says arch 'vgg16'"),
    (lambda f: _edit_record(f, split="seed1970"), "says split 'seed1970'"),
    (lambda f: _edit_record(f, profile="cpu"), "says profile 'cpu'"),
    (lambda f: _edit_record(f, model="crowdB"), "model 'crowdB'"),
    # its AUCs are those of its predictions, and its numbers numbers
    (lambda f: _edit_record(f, auc=0.99), "auc is 0.99, but the test scores"),
    (lambda f: _edit_record(f, auc_last=0.5), "auc_last is 0.5, but the test scores"),
    (lambda f: _edit_record(f, auc=float("nan")), "auc is nan, not a finite number"),
    (lambda f: _edit_record(f, auc="0.72"), "auc is '0.72', not a finite number"),
    (lambda f: _edit_record(f, n_test=True), "n_test is True, not an integer"),
    (lambda f: _edit_record(f, selection="first"), "selection is 'first'"),
    # its predictions hold each lesion once, 0/1 labels and probabilities
    (lambda f: _edit_predictions(f, lambda p: pd.concat([p, p.iloc[[0]]])), "appears twice"),
    (lambda f: _edit_predictions(f, lambda p: p.assign(score_best=np.where(
        p.index == 0, np.nan, p.score_best))), "score_best of test lesion L0 is nan"),
    (lambda f: _edit_predictions(f, lambda p: p.assign(score_last=p.score_last * 2)),
     "not a score in [0, 1]"),
    (lambda f: _edit_predictions(f, lambda p: p.assign(label=p.label * 2)), "label 2"),
    (lambda f: _edit_predictions(f, lambda p: p.assign(part="train")), "unknown part"),
    # an edit that keeps every check above is found by the recorded sha256
    (lambda f: _edit_predictions(f, lambda p: p.assign(score_last=p.score_last * 0.99)),
     "predictions.csv: its content is not what was written"),
    (lambda f: (f / store.HISTORY).write_text("epoch,loss\n0,0.1\n"),
     "history.csv: its content is not what was written"),
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
    assert reason in state["damaged"][0][1]  # train and --list-runs: the same reason


def _edit_record(folder, **fields):
    record = json.loads((folder / store.RECORD).read_text())
    (folder / store.RECORD).write_text(json.dumps(dict(record, **fields)))


def _edit_predictions(folder, change):
    change(pd.read_csv(folder / store.PREDICTIONS)).to_csv(folder / store.PREDICTIONS,
                                                           index=False)


def _refused_by_report(root, out, capsys, path, reason):
    """``enhance report`` exits 2 with one error naming ``path`` and ``reason``."""
    code, table = _report(root, out)
    err = capsys.readouterr().err
    assert code == 2 and table is None, err
    assert err.startswith("error: 1 run folder(s)") and reason in err and str(path) in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["old", "seed1970-copy"])
def test_a_copy_of_a_run_under_another_name_is_refused(five_splits, tmp_path, capsys, name):
    """A copy of a run folder in a target folder (``crowd-A/old``) holds no run of its own:
    named and refused, and the store's numbers are not read from it."""
    source = store.run_dir(five_splits, "smoke", "small", "crowd:A", "seed1970")
    copy = source.with_name(name)
    copy.mkdir()
    for path in source.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    _refused_by_report(five_splits, tmp_path / "out", capsys, copy / store.RECORD,
                       f"says split 'seed1970', but its folder is smoke/small/crowd-A/{name}")
    runs = load_runs("smoke", five_splits, strict=False)
    assert len(runs) == 10 and not runs.duplicated(["arch", "target", "split"]).any()


def test_a_run_of_another_target_copied_in_is_refused(five_splits, tmp_path, capsys):
    source = store.run_dir(five_splits, "smoke", "small", "baseline", "seed1970")
    stray = store.run_dir(five_splits, "smoke", "small", "crowd:A", "seed2021")
    stray.mkdir()
    for path in source.iterdir():
        (stray / path.name).write_bytes(path.read_bytes())
    _refused_by_report(five_splits, tmp_path / "out", capsys, stray / store.RECORD,
                       "says target 'baseline', split 'seed1970'")


def test_a_file_among_run_folders_is_refused(five_splits, tmp_path, capsys):
    stray = store.run_dir(five_splits, "smoke", "small", "crowd:A", "seed1970").with_name("notes")
    stray.write_text("an old run was here")
    _refused_by_report(five_splits, tmp_path / "out", capsys, stray, "holds only run folders")


def _relabel(folder, lesion):
    """Flip one test label, with run.json's AUCs and no sha256 to match: a run that is
    consistent in itself, and wrong."""
    _edit_predictions(folder, lambda p: p.assign(label=np.where(p.lesion_id == lesion,
                                                                1 - p.label, p.label)))
    frame = pd.read_csv(folder / store.PREDICTIONS).query("part == 'test'")
    record = json.loads((folder / store.RECORD).read_text())
    auc = roc_auc_score(frame.label, frame.score_best)
    record.update(auc=auc, auc_last=auc, auc_best=auc)
    del record[store.DIGESTS]
    (folder / store.RECORD).write_text(json.dumps(record))


def test_a_label_that_the_other_runs_contradict_is_refused(five_splits, tmp_path, capsys):
    """The store's readers have no ground truth: a lesion has the label most runs give it."""
    folder = store.run_dir(five_splits, "smoke", "small", "crowd:A", "seed2008")
    _relabel(folder, "L2")
    assert store.validate(folder) is None  # consistent in itself
    _refused_by_report(five_splits, tmp_path / "out", capsys, folder / store.PREDICTIONS,
                       "lesion L2 is labelled 1, other runs of the store label it 0")


def test_a_run_without_sha256_stays_valid(five_splits):
    """Runs written before the store recorded sha256 are read as they are."""
    folder = store.run_dir(five_splits, "smoke", "small", "crowd:A", "seed2008")
    record = json.loads((folder / store.RECORD).read_text())
    assert set(record[store.DIGESTS]) == {store.PREDICTIONS, store.HISTORY}
    _edit_record(folder, **{store.DIGESTS: {}})
    assert store.validate(folder) is None


def test_the_committed_store_passes_every_check():
    """``results/cpu``: every run is valid, once, under its own name."""
    good, bad = store.scan(PROJECT / "results", "cpu")
    assert bad == [] and len(good) == 165


# --------------------------------------------------------------------------- training's view
LESIONS = pd.DataFrame({"lesion_id": [f"ISIC_{i:07d}" for i in range(40)], "label": [0, 1] * 20})


@pytest.fixture
def no_images(monkeypatch):
    """A training context of :data:`LESIONS` (no data read, no image)."""
    context = training.Context(LESIONS.assign(path=""), [], pd.DataFrame(
        columns=["source", "feature", "lesion_id", "score"]))
    monkeypatch.setattr(training, "build_context", lambda n, root=None: context)
    return context


def _spec_run(root, spec):
    """A finished fake run of ``spec``, its lesions and labels those of :data:`LESIONS`."""
    truth = LESIONS.set_index("lesion_id").label
    test = list(spec.split.test)
    return fakestore.write_run(root, spec.target.spec, spec.split.name, test, truth[test],
                               truth[test] + np.linspace(-0.1, 0.1, len(test)),
                               validation=(spec.split.validation,
                                           truth[list(spec.split.validation)]))


def test_training_checks_labels_and_lesions_against_its_ground_truth(tmp_path):
    spec, other = training.grid("smoke", targets=["crowd:A"], seeds=[1970, 1972],
                                lesions=LESIONS)
    truth = LESIONS.set_index("lesion_id").label
    folder = _spec_run(tmp_path, spec)
    assert training.plan([spec], tmp_path, truth)["done"] == [spec]
    _relabel(folder, spec.split.test[0])
    state = training.plan([spec], tmp_path, truth)
    assert state["todo"] == [spec]
    assert f"lesion {spec.split.test[0]} is labelled" in state["damaged"][0][1]
    assert "the ground truth says" in state["damaged"][0][1]
    assert not training.is_finished(tmp_path, spec, truth)
    # a run of other lesions (another sample, another split) is not this split's run
    moved = _spec_run(tmp_path / "moved", other)
    moved.rename(store.run_dir(tmp_path / "moved", "smoke", "small", "crowd:A", "seed1970"))
    _edit_record(store.run_dir(tmp_path / "moved", "smoke", "small", "crowd:A", "seed1970"),
                 split="seed1970", seed=1970)
    reason = training.plan([spec], tmp_path / "moved")["damaged"][0][1]
    assert "lesions are not those of split seed1970" in reason


def test_list_runs_lists_a_refused_run_with_its_reason(no_images, tmp_path, capsys):
    spec, = training.grid("smoke", targets=["crowd:A"], seeds=[1970], lesions=LESIONS)
    folder = _spec_run(tmp_path, spec)
    args = ["train", "--profile", "smoke", "--targets", "crowd:A", "--splits", "1970",
            "--results", str(tmp_path), "--list-runs"]
    assert cli.main(args) == 0
    assert capsys.readouterr().out == ""  # finished
    _edit_predictions(folder, lambda p: p.assign(score_best=np.where(
        p.index == p.index[-1], np.nan, p.score_best)))
    assert cli.main(args) == 0
    out, err = capsys.readouterr()
    assert out.split() == [spec.run_id]
    assert str(folder / store.PREDICTIONS) in err and "is nan, not a score" in err


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
    old = time.time() - store.TEMP_STALE_SECONDS - 60
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
    old = time.time() - store.CLAIM_STALE_SECONDS - 60
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


# --------------------------------------------------------------------------- stranded claims
def _holder(pid: int, **fields) -> str:
    return json.dumps(dict({"host": socket.gethostname(), "pid": pid,
                            "started": store.started(pid), "id": "x"}, **fields))


def test_a_claim_of_a_reused_pid_is_stale(tmp_path):
    """A claim records its process's start time: a live process of that PID started at
    another time is another process, and the claim is taken over."""
    folder = tmp_path / "small" / "crowd-A" / "seed1970"
    claim = store.Claim.take(folder)
    assert json.loads(claim.path.read_text())["started"] == store.started(os.getpid())
    claim.path.write_text(_holder(os.getppid()))
    assert store.Claim.take(folder) is None  # the live process that took it
    claim.path.write_text(_holder(os.getppid(), started=store.started(os.getppid()) - 3600))
    assert store.Claim.take(folder) is not None  # its PID now belongs to another process


def test_a_claim_without_heartbeat_is_stale_on_this_host_too(tmp_path):
    assert store.CLAIM_STALE_SECONDS <= 10 * 60  # minutes, not hours
    folder = tmp_path / "small" / "crowd-A" / "seed1970"
    claim = store.Claim.take(folder)
    claim.path.write_text(_holder(os.getppid()))  # a live holder …
    old = time.time() - store.CLAIM_STALE_SECONDS - 1
    os.utime(claim.path, (old, old))  # … that stopped beating
    assert store.Claim.take(folder) is not None


def test_a_held_claim_keeps_beating_until_released(tmp_path):
    claim = store.Claim.take(tmp_path / "small" / "crowd-A" / "seed1970")
    old = time.time() - store.CLAIM_STALE_SECONDS - 1
    os.utime(claim.path, (old, old))
    claim.keep_alive(interval=0.05)
    deadline = time.time() + 10
    while claim.path.stat().st_mtime < time.time() - 60 and time.time() < deadline:
        time.sleep(0.05)
    assert claim.path.stat().st_mtime > time.time() - 60  # fresh again
    taker = claim.path.read_bytes()
    claim.path.write_text(_holder(os.getppid()))  # taken over by another process
    os.utime(claim.path, (old, old))
    time.sleep(0.3)
    assert claim.path.stat().st_mtime == pytest.approx(old)  # not ours: not touched
    claim.path.write_bytes(taker)
    claim.release()
    assert not claim.path.exists()


_TERMINATED = textwrap.dedent("""
    import sys, time
    from enhance_utils import cli
    from enhance_utils.learning import store, training

    def run_grid(*args, **kwargs):
        with store.Claim.take(sys.argv[1]):
            print("claimed", flush=True)
            time.sleep(60)

    training.run_grid = run_grid
    sys.exit(cli.main(["train", "--profile", "smoke", "--run", "small/crowd-A/seed1970"]))
""")


def test_sigterm_releases_claims_like_ctrl_c(tmp_path):
    folder = tmp_path / "small" / "crowd-A" / "seed1970"
    trainer = subprocess.Popen([sys.executable, "-c", _TERMINATED, str(folder)], cwd=PROJECT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert trainer.stdout.readline().strip() == "claimed"
    assert store.Claim.path_of(folder).exists()
    trainer.send_signal(signal.SIGTERM)
    _, err = trainer.communicate(timeout=60)
    assert trainer.returncode == 128 + signal.SIGTERM and "error: terminated" in err
    assert not store.Claim.path_of(folder).exists()  # released on the way out


@pytest.mark.parametrize("by_name", [True, False])
def test_train_run_that_is_claimed_exits_nonzero_naming_the_holder(no_images, tmp_path, capsys,
                                                                   by_name):
    spec, = training.grid("smoke", targets=["crowd:A"], seeds=[1970], lesions=LESIONS)
    claim = store.Claim.path_of(training.run_dir(tmp_path, spec))
    claim.parent.mkdir(parents=True)
    claim.write_text(_holder(os.getppid(), host=socket.gethostname(), since="2026-01-01T00:00"))
    args = ["train", "--profile", "smoke", "--targets", "crowd:A", "--splits", "1970",
            "--results", str(tmp_path)] + (["--run", spec.run_id] if by_name else [])
    code = cli.main(args)
    out, err = capsys.readouterr()
    assert f"skipped {spec.run_id}: claimed by {socket.gethostname()} pid {os.getppid()}" in out
    if by_name:  # a batch job asked for this run and did not train it
        assert code == cli.EXIT_CLAIMED
        assert f"error: nothing trained for {spec.run_id}: claimed by" in err
        assert str(claim) in err
    else:  # a grid leaves a claimed run to its holder
        assert code == 0


@pytest.mark.parametrize("failure", [RuntimeError("Can't write data (file write failed: "
                                                  "errno = 28, No space left on device)"),
                                     OSError(28, "No space left on device")])
def test_a_full_disk_while_writing_a_run_is_named_and_leaves_nothing(tmp_path, failure):
    """Saving the weights on a full disk (h5py's RuntimeError) or any file (OSError): a
    StoreError naming the run and the file, which ``enhance train`` prints as one line; no
    run folder and no temporary folder is left."""
    final = tmp_path / "store" / "tiny" / "small" / "baseline" / "seed1970"

    def full(path):
        raise failure

    with pytest.raises(store.StoreError, match=r"could not write model.weights.h5 of the run "
                                               r".*seed1970 .*No space left on device"):
        store.write_run(final, {"predictions.csv": lambda p: p.write_text("x\n"),
                                "model.weights.h5": full}, {"target": "baseline"})
    assert list(final.parent.iterdir()) == []
