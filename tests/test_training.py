"""The experiment store and runner: finished runs are kept, interrupted ones redone."""
from __future__ import annotations

import json
import os
import socket
import subprocess

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from enhance_utils.data import datasets
from enhance_utils.learning import training as experiments, splits, store, targets
from enhance_utils import profiles  # noqa: E402
from enhance_utils.learning import run as one_run
from enhance_utils.learning.results import load_predictions, load_runs
from tinyprofile import tiny_profile  # noqa: E402

TINY = tiny_profile()


def _dead_pid() -> int:
    """The pid of a process that has exited."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.fixture
def tiny_profile(monkeypatch):
    monkeypatch.setitem(profiles.PROFILES, "tiny", TINY)


@pytest.fixture
def tree(data_root, tmp_path):
    """A data tree linked to the real one, with one image of the sample made unreadable."""
    root = tmp_path / "data"
    (root / "isic2017" / "ISIC-2017_Training_Data").mkdir(parents=True)
    os.symlink(data_root / "enhance", root / "enhance")
    os.symlink(data_root / "ph2", root / "ph2")
    os.symlink(data_root / datasets.ISIC_GROUND_TRUTH, root / datasets.ISIC_GROUND_TRUTH)
    gt = datasets.isic_ground_truth(data_root)
    broken = splits.subsample(gt[["lesion_id", "label"]], TINY.training.n_lesions).lesion_id[0]
    for lesion_id in gt.lesion_id:
        target = datasets.isic_image_path(lesion_id, root)
        if lesion_id == broken:
            target.write_bytes(b"\xff\xd8 broken")
        else:
            os.symlink(datasets.isic_image_path(lesion_id, data_root), target)
    return root, broken


def test_grid_trains_stores_and_skips(tiny_profile, tree, tmp_path, monkeypatch):
    root, broken = tree
    results = tmp_path / "results"
    runs = experiments.run_grid("tiny", results=results, data_root=root, progress=False)
    assert sorted(runs.target) == ["baseline", "crowd:A"]
    assert runs.auc.between(0, 1).all() and (runs.weights_init == "random").all()
    folder = results / "tiny" / "small" / "crowd-A" / "seed1970"
    record = json.loads((folder / "run.json").read_text())
    assert record["seed"] == 1970 and record["layout"] == store.LAYOUT
    assert {"tensorflow", "keras"} <= set(record["versions"])
    assert record["skipped_lesions"][0]["lesion_id"] == broken
    assert "unreadable image" in record["skipped_lesions"][0]["reason"]
    assert record["heads"]["A"]["n_train_annotated"] > 0 and record["determinism"]["op_determinism"]
    predictions = pd.read_csv(folder / "predictions.csv")
    assert list(predictions.columns) == ["part", "lesion_id", "label", "score_last", "score_best",
                                         "target_A", "annotation_A_last", "annotation_A_best"]
    test = predictions[predictions.part == "test"]
    assert len(test) == record["n_test"] and broken not in set(predictions.lesion_id)
    assert (predictions.part == "validation").sum() == record["n_validation"]
    assert len(pd.read_csv(folder / "history.csv")) == TINY.training.epochs

    def must_not_train(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(one_run, "train_one", must_not_train)
    again = experiments.run_grid("tiny", results=results, data_root=root, progress=False)
    assert again.sort_values("target").auc.tolist() == runs.sort_values("target").auc.tolist()


def test_interrupted_run_is_redone(tiny_profile, tree, tmp_path, monkeypatch):
    root, _ = tree
    results = tmp_path / "results"
    experiments.run_grid("tiny", targets=["baseline"], results=results, data_root=root,
                         progress=False)
    # an interrupted second run of a writer that is gone: a temporary folder, no run.json
    dead = _dead_pid()
    partial = (results / "tiny" / "small" / "crowd-A"
               / f".seed1970.tmp-{socket.gethostname()}-{dead}-abcdef12")
    partial.mkdir(parents=True)
    (partial / "predictions.csv").write_text("lesion_id,label,score\n")
    trained = []
    original = one_run.train_one
    monkeypatch.setattr(one_run, "train_one",
                        lambda spec, *a, **k: trained.append(spec.target.spec)
                        or original(spec, *a, **k))
    runs = experiments.run_grid("tiny", results=results, data_root=root, progress=False)
    assert trained == ["crowd:A"]
    assert len(runs) == 2 and not partial.exists()


@pytest.mark.parametrize("spec, folder, model", [
    ("baseline", "baseline", "baseline"),
    ("baseline:init2", "baseline-init2", "baseline_init2"),
    ("student:C", "student-C", "studC"),
    ("crowd:ABC", "crowd-ABC", "crowdABC_joint"),
    ("random:crowd:A", "random-crowd-A", "crowdA_random"),
    ("permuted:automated:B", "permuted-automated-B", "autoB_permuted"),
])
def test_target_names(spec, folder, model):
    target = targets.parse(spec)
    assert (target.spec, target.folder, target.model) == (spec, folder, model)


@pytest.mark.parametrize("spec", ["dermatologist:A", "crowd:D", "random:crowd:ABC", "baseline:x",
                                  "crowd:AB", "", "random:baseline"])
def test_unknown_target_is_an_error(spec):
    with pytest.raises(ValueError, match="unknown target"):
        targets.parse(spec)


def test_target_groups_expand_and_refuse_nothing():
    assert len(targets.expand(["real", "permuted", "joint", "baselines"])) == 10 + 9 + 3 + 2
    with pytest.raises(ValueError, match="no target"):
        targets.expand([])


def test_empty_store_loads_empty(tmp_path):
    assert load_runs("smoke", tmp_path).empty
    columns = list(load_predictions("smoke", tmp_path).columns)
    assert columns[:3] == ["lesion_id", "label", "score"]


def test_random_targets_keep_availability(data_root):
    context = experiments.build_context(200, data_root)
    ids = list(context.lesions.lesion_id)
    real, real_available = context.annotation("crowd:A", ids)
    noise, noise_available = context.annotation("random:crowd:A", ids)
    assert (noise_available == real_available).all() and 0 < real_available.sum() < len(ids)
    kept = noise[noise_available == 1]
    assert ((kept >= 0) & (kept < 1)).all() and not np.allclose(kept, real[real_available == 1])
    assert np.isnan(noise[noise_available == 0]).all()
    again, _ = context.annotation("random:crowd:A", ids[::-1])
    assert np.allclose(again[::-1], noise, equal_nan=True)  # fixed per lesion, not per order
    other, _ = context.annotation("random:crowd:B", ids)
    assert not np.allclose(other, noise, equal_nan=True)



def test_permuted_targets_shuffle_the_real_values(data_root):
    context = experiments.build_context(200, data_root)
    ids = list(context.lesions.lesion_id)
    (real, available), = context.heads("crowd:A", ids).values()
    (shuffled, same), = context.heads("permuted:crowd:A", ids, 1970, "train").values()
    kept = available == 1
    assert (same == available).all() and np.isnan(shuffled[~kept]).all()
    assert np.allclose(np.sort(shuffled[kept]), np.sort(real[kept]))  # the same values
    assert not np.allclose(shuffled[kept], real[kept])  # on other lesions
    (again, _), = context.heads("permuted:crowd:A", ids, 1970, "train").values()
    (other, _), = context.heads("permuted:crowd:A", ids, 1972, "train").values()
    assert np.allclose(again, shuffled, equal_nan=True)
    assert not np.allclose(other, shuffled, equal_nan=True)


def test_a_profile_object_trains_without_being_registered(tree, tmp_path):
    """A grid resolves its profile once and hands it to every run: a profile that is not in
    ``profiles.PROFILES`` (a test's, a cluster driver's) trains as it is, and stays out."""
    from dataclasses import replace

    root, _ = tree
    unlisted = replace(TINY, name="unlisted",
                       training=replace(TINY.training, targets=("baseline",)))
    runs = experiments.run_grid(unlisted, results=tmp_path / "results", data_root=root,
                                progress=False)
    assert runs.target.tolist() == ["baseline"] and "unlisted" not in profiles.PROFILES
    assert experiments.missing_runs(unlisted, results=tmp_path / "results", data_root=root) == []
