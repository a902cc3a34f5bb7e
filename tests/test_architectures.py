"""Every network of the paper goes through ``enhance train``.

VGG16, Inception v3 and ResNet50 (ResNet50V2 in the ``published`` variant, as the published
scripts had it) are trained for two steps from random weights at the smallest input each
accepts, as a baseline and as a multi-task model, so that the GPU path of the ``paper`` profile
is never run for the first time on a GPU. All three train in the ``paper`` profile's variant
(``published``); the ``described`` variant trains VGG16 only, since what it changes — the
scaling, the baseline's head and the class weights — goes through the same code for every
network (each network's scaling is tested in ``test_models.py``, its heads below), and
each of the two larger networks takes over a minute of CI's two cores. For the same reason the
two larger networks train the multi-task model only (its two heads are the code the baseline
shares; each network's baseline head is built, untrained, below); VGG16 trains both.
"""
from __future__ import annotations

import json
from dataclasses import asdict, fields

import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from enhance_utils import cli, profiles
from enhance_utils.learning import models, store, variants  # noqa: E402
from tinyprofile import tiny_profile  # noqa: E402


#: the networks that train the multi-task model only (the slowest two on CI's cores)
MULTI_ONLY = ("inception_v3", "resnet50")
TRAINED = [(arch, "published") for arch in ("vgg16", "inception_v3", "resnet50")] + [
    ("vgg16", "described")]


def test_every_variant_is_trained():
    assert {variant for _, variant in TRAINED} == set(variants.VARIANTS)


@pytest.mark.slow
@pytest.mark.parametrize("arch, variant", TRAINED)
def test_paper_architecture_trains_through_the_cli(arch, variant, data_root, tmp_path,
                                                   monkeypatch):
    network = models.network(arch, variant)
    name = f"arch-{arch}-{variant}"
    targets = ("crowd:A",) if arch in MULTI_ONLY else ("baseline", "crowd:A")
    monkeypatch.setitem(profiles.PROFILES, name, tiny_profile(
        name, targets=targets, archs=(arch,), image_size=models.MIN_IMAGE_SIZE[network],
        batch_size=8, learning_rate=2e-5, steps_per_epoch=2, variant=variant, selection="last"))
    results = tmp_path / "results"
    assert cli.main(["train", "--profile", name, "--results", str(results)]) == 0
    good, bad = store.scan(results, name)
    assert bad == [] and len(good) == len(targets)
    for folder, record in good:
        assert record["network"] == network and record["variant"] == variant
        assert record["weights_init"] == "random" and record["selection"] == "last"
        files = {p.name for p in folder.iterdir()}
        assert {store.RECORD, store.PREDICTIONS, store.HISTORY} <= files
        predictions = pd.read_csv(folder / store.PREDICTIONS)
        assert (predictions.part == "test").sum() == record["n_test"] > 0
        assert predictions.score_last.between(0, 1).all()
        assert json.loads((folder / store.RECORD).read_text())["auc"] == record["auc_last"]
    records = {r["target"]: r for _, r in good}
    multi, base = records["crowd:A"], records.get("baseline")
    if variant == "published":  # Keras 2 dropped {0: 1, 1: 3} on the two-output models
        assert multi["class_weights"] is None
        assert base is None or base["class_weights"] is not None
    else:
        assert multi["class_weights"] == base["class_weights"]


@pytest.mark.parametrize("arch, variant, dense", [
    ("vgg16", "published", True), ("resnet50", "published", False),
    ("inception_v3", "published", False), ("resnet50", "described", True),
    ("inception_v3", "described", True)])
def test_baseline_head_follows_the_variant(arch, variant, dense):
    network = models.network(arch, variant)
    model, _ = models.build_model(arch, models.MIN_IMAGE_SIZE[network], weights=None,
                                     variant=variant)
    names = [layer.__class__.__name__ for layer in model.layers[-3:]]
    assert ("Dense" in names[:-1]) == dense and names[-1] == "Dense"


def test_variant_table_lists_every_difference():
    table = variants.differences()
    assert list(table.columns) == ["aspect", "paper's text", "published", "described"]
    aspects = [f.name for f in fields(variants.Variant) if f.name != "name"]
    assert len(table) == len(aspects) >= 8 and (table.published != table.described).all()
    assert {"annotation loss divided by", "image resize", "order of the training images",
            "RMSprop's ε"} <= set(table.aspect)
    assert table.notna().all().all()


def test_every_aspect_of_each_variant():
    """What each variant does on each aspect (their effects are tested where they act:
    test_models.py for the loss and RMSprop, test_pipeline.py for resize and order)."""
    published, described = variants.VARIANTS["published"], variants.VARIANTS["described"]
    assert asdict(published) == dict(
        name="published", baseline_dense=("vgg16", "small"), scaling="unit",
        multitask_class_weights="none", resnet50="resnet50v2", annotation_loss="batch",
        resize="nearest", order="fixed", rmsprop_epsilon="outside")
    assert asdict(described) == dict(
        name="described", baseline_dense=variants.ALL_ARCHS, scaling="own",
        multitask_class_weights="balanced", resnet50="resnet50", annotation_loss="annotated",
        resize="bilinear", order="reshuffled", rmsprop_epsilon="inside")


@pytest.mark.parametrize("profile, variant", [("smoke", "described"), ("cpu", "described"),
                                              ("paper", "published")])
def test_each_profile_trains_its_variant(profile, variant):
    """``cpu`` keeps ``described`` (its committed store was trained so); ``paper`` repeats the
    published scripts."""
    assert profiles.get_profile(profile).training.variant == variant
