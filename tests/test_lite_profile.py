"""The ``lite`` profiles: cached features of a frozen EfficientNet-Lite0, the paper's head on
them, runs that train in seconds, and the repeated k-fold design of ``lite-cv``."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from enhance_utils import cli, profiles  # noqa: E402
from enhance_utils.data import datasets  # noqa: E402
from enhance_utils.learning import designs, features, models, splits, store, training  # noqa: E402
from tinyprofile import tiny_profile  # noqa: E402

PROJECT_CPU_RUN = "results/cpu/small/crowd-A/seed1970"


class _Refuses:
    """A stand-in backbone model that must not be called (the cache must answer)."""

    output_shape = (None, 8)

    def __call__(self, *args, **kwargs):
        raise AssertionError("the backbone ran although the features are cached")


def _tiny_backbone(checksum=None, size=32):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    return features.Backbone("tiny", size, checksum or features.weights_checksum(model), model,
                             lambda x: x / 255.0)


@pytest.fixture
def images(data_root):
    ids = datasets.isic_ground_truth(data_root).lesion_id[:3]
    return [datasets.isic_image_path(i, data_root) for i in ids]


def test_lite_feature_cache_is_keyed_and_reused(images, tmp_path):
    base = _tiny_backbone()
    first = features.extract(images, [0, 1], base, root=tmp_path)
    assert first.shape == (2, 3, 8) and np.isfinite(first).all()
    files = sorted(tmp_path.rglob("*.npy"))
    assert len(files) == 6 and all(base.tag in str(f) for f in files)
    assert not np.array_equal(first[0], first[1])  # view 1 is augmented
    features.clear_memory()
    cached = features.Backbone("tiny", 32, base.checksum, _Refuses(), base.preprocess)
    again = features.extract(images, [0, 1], cached, root=tmp_path)  # read, not computed
    assert np.array_equal(again, first)
    for other in (features.Backbone("tiny", 32, "0" * 64, _Refuses(), base.preprocess),
                  features.Backbone("tiny", 48, base.checksum, _Refuses(), base.preprocess)):
        features.clear_memory()
        with pytest.raises(Exception, match="backbone ran"):  # other weights or size: a miss
            features.extract(images[:1], [0], other, root=tmp_path)
    assert features.extract(images[:1], [2], base, root=tmp_path).shape == (1, 1, 8)
    assert len(list(tmp_path.rglob("*.npy"))) == 7  # a new view adds files, keeps the others
    assert not list(tmp_path.rglob(".*tmp*"))  # no temporary file left


def test_lite_views_depend_on_the_image_and_view_only(images):
    digests = [features.image_digest(p) for p in images]

    def pixels(order, views):
        data = features.view_images([images[i] for i in order], views,
                                    [digests[i] for i in order], 32)
        return [x.numpy() for x in data]

    alone = pixels([1], [3])[0]
    among = pixels([0, 1, 2], [3, 3, 0])
    assert np.array_equal(alone, among[1])  # the same view, whatever comes with it
    assert not np.array_equal(among[0], among[1])
    assert not np.array_equal(pixels([1], [4])[0], alone)  # another view differs


def test_lite_head_outputs_and_losses():
    import keras

    head = models.build_head(16, ("A",), learning_rate=1e-3)
    assert head.input_shape == (None, 16)
    assert set(head.output_names) == {"diagnosis", "annotation"}
    dense = [layer for layer in head.layers if isinstance(layer, keras.layers.Dense)]
    assert dense[0].units == 256 and dense[0].activation.__name__ == "relu"
    assert dense[0].kernel.shape == (16, 256)
    joint = models.build_head(16, ("A", "B", "C"))
    assert set(joint.output_names) == {"diagnosis", "annotation_A", "annotation_B",
                                       "annotation_C"}
    baseline = models.build_head(16)
    assert baseline.output_names == ["diagnosis"]
    assert any(isinstance(layer, keras.layers.Dense) and layer.units == 256
               for layer in baseline.layers)  # described: dense 256 under every head

    # eq. (1): 0.5 * class-weighted BCE + 0.5 * MSE over the annotated lesions only
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 16)).astype("float32")
    label = np.array([0, 1, 0, 1, 1, 0, 0, 0], "float32")
    value = rng.normal(size=8).astype("float32")
    available = np.array([1, 0, 1, 1, 0, 0, 1, 1], "float32")
    weights = np.where(label > 0, 2.0, 0.5).astype("float32")
    out = head.predict(x, verbose=0)
    p, a = out["diagnosis"].reshape(-1), out["annotation"].reshape(-1)
    p = np.clip(p, 1e-7, 1 - 1e-7)
    bce = np.mean(weights * -(label * np.log(p) + (1 - label) * np.log(1 - p)))
    mse = np.sum(available * (value - a) ** 2) / available.sum()
    got = head.evaluate(x, {"diagnosis": label[:, None],
                            "annotation": np.stack([value, available], 1)},
                        sample_weight={"diagnosis": weights, "annotation": np.ones(8, "float32")},
                        batch_size=8, verbose=0, return_dict=True)
    assert got["diagnosis_loss"] == pytest.approx(bce, rel=1e-4)
    assert got["annotation_loss"] == pytest.approx(mse, rel=1e-4)
    assert got["loss"] == pytest.approx(0.5 * bce + 0.5 * mse, rel=1e-4)


def test_lite_feature_dataset_draws_one_view_per_lesion_and_epoch():
    from enhance_utils.learning.run import feature_dataset

    n, views = 12, 3
    # each feature vector encodes (view, lesion)
    table = np.array([[[v, i] for i in range(n)] for v in range(views)], np.float32)
    labels = np.arange(n) % 2

    def epochs(data, count=3):
        return [np.concatenate([b[0].numpy() for b in data]) for _ in range(count)]

    run_a = epochs(feature_dataset(table, labels, {}, None, 5, training=True, seed=7))
    run_b = epochs(feature_dataset(table, labels, {}, None, 5, training=True, seed=7))
    for a, b in zip(run_a, run_b):
        assert np.array_equal(a, b)  # the same views, in the same order, on every rerun
        assert sorted(a[:, 1]) == list(range(n))  # every lesion once per epoch
    assert len({tuple(e[:, 0]) for e in run_a}) > 1  # views drawn afresh per epoch
    plain = epochs(feature_dataset(table, labels, {}, None, 5), 1)[0]
    assert np.array_equal(plain, table[0])  # evaluation: view 0, in order


def test_lite_run_end_to_end_is_deterministic(data_root, tmp_path, monkeypatch):
    """A tiny ``lite`` grid on real lesions through the command line, twice: the same store
    layout, files and history columns as the image profiles, byte-identical predictions
    whether a run builds its head or reuses the process's compiled one (:func:`run.head_for`:
    crowd:A builds it in the first store, crowd:B and the second store reuse it); and again as
    the first run of a process that has built neither backbone nor head (a Ray worker's)."""
    from enhance_utils.learning import run

    name = "tinylite"
    monkeypatch.setitem(profiles.PROFILES, name, tiny_profile(
        name, targets=("crowd:A", "crowd:B"), archs=("efficientnet_lite0",), image_size=32,
        n_lesions=40, epochs=2, weights="imagenet", frozen=True, views=2, learning_rate=1e-3))
    monkeypatch.setattr(run, "_HEADS", {})
    stores = [tmp_path / "a", tmp_path / "b"]
    for results in stores:
        assert cli.main(["train", "--profile", name, "--results", str(results)]) == 0
        assert len(run._HEADS) == 1  # one compiled head served both targets, both times
    good, bad = store.scan(stores[0], name)
    assert bad == [] and len(good) == 2
    cpu_columns = set(pd.read_csv(f"{PROJECT_CPU_RUN}/history.csv").columns)
    for folder, record in good:
        assert folder.parent.parent.name == "efficientnet_lite0"
        assert record["network"] == "efficientnet_lite0" and record["weights_init"] == "imagenet"
        assert record["features"]["views"] == 2 and record["features"]["frozen"]
        twin = stores[1] / folder.relative_to(stores[0])
        assert (folder / store.PREDICTIONS).read_bytes() == (twin / store.PREDICTIONS).read_bytes()
        assert (folder / store.HISTORY).read_bytes() == (twin / store.HISTORY).read_bytes()
        history = pd.read_csv(folder / store.HISTORY)
        assert len(history) == 2 and set(history.columns) == cpu_columns
        feature = record["target"][-1]
        assert json.loads((folder / store.RECORD).read_text())["heads"][feature][
            "n_train_annotated"] > 0
    assert list(features.cache_root().glob("efficientnet_lite0-*-32px/*/view2"))

    # a Ray worker's first run: backbone and head are built inside the run, not by the grid
    # or an earlier run; the head starts from the same weights (the run re-seeds after
    # building the backbone)
    monkeypatch.setattr(features, "_BACKBONES", {})
    monkeypatch.setattr(run, "_HEADS", {})
    context = training.build_context(40)
    spec = training.grid(profiles.PROFILES[name], targets=("crowd:B",),
                         lesions=context.lesions)[0]
    run.train_one(spec, context, tmp_path / "c", progress=False,
                  settings=profiles.PROFILES[name].training)
    folder = next(f for f, r in good if r["target"] == "crowd:B")  # trained on a reused head
    first = tmp_path / "c" / folder.relative_to(stores[0])
    assert (first / store.PREDICTIONS).read_bytes() == (folder / store.PREDICTIONS).read_bytes()
    assert (first / store.HISTORY).read_bytes() == (folder / store.HISTORY).read_bytes()


def test_lite_repeated_kfold_tests_every_lesion_once_per_repetition(data_root):
    lesions = datasets.isic_ground_truth(data_root)[["lesion_id", "label"]]
    folds = splits.repeated_kfold_splits(lesions, seeds=(1970, 1971), k=5)
    assert [f.name for f in folds[:2]] == ["cv1970-fold0", "cv1970-fold1"]
    by_repetition = {}
    for fold in folds:
        splits.check_disjoint(fold)
        assert len(fold.train) + len(fold.validation) + len(fold.test) == len(lesions)
        by_repetition.setdefault(splits.repetition(fold), []).extend(fold.test)
    assert set(by_repetition) == {"cv1970", "cv1971"}
    for tested in by_repetition.values():
        assert sorted(tested) == sorted(lesions.lesion_id)  # once each
    assert set(folds[0].test) != set(folds[5].test)  # the repetitions differ
    with pytest.raises(ValueError, match="distinct"):
        splits.repeated_kfold_splits(lesions, seeds=(1, 1))
    design = profiles.get_profile("lite-cv").training
    specs = training.grid("lite-cv", targets=["baseline"], seeds=design.split_seeds[:2],
                          lesions=lesions)
    assert [s.split.name for s in specs] == [f.name for f in folds]


def test_lite_cv_pooled_comparison_uses_every_lesion_of_a_repetition():
    rng = np.random.default_rng(0)
    lesions = [f"L{i}" for i in range(40)]
    label = np.arange(40) % 2
    rows = []
    for rep in ("cv1", "cv2"):
        for target, signal in (("baseline", 1.0), ("crowd:A", 0.2)):
            score = signal * label + rng.normal(size=40)
            for fold in range(4):
                part = slice(10 * fold, 10 * fold + 10)
                rows.append(pd.DataFrame({"lesion_id": lesions[part], "label": label[part],
                                          "score": score[part], "arch": "a", "target": target,
                                          "split": f"{rep}-fold{fold}"}))
    frame = pd.concat(rows, ignore_index=True)
    table = designs.pooled_comparison(frame, "baseline", "crowd:A")
    assert list(table.repetition) == ["cv1", "cv2", "mean of 2"]
    assert (table.n_lesions == 40).all() and (table["diff"] > 0).all()
    with pytest.raises(ValueError, match="twice"):
        designs.pooled_predictions(pd.concat([frame, frame.iloc[:1]]))
    factors = designs.variance_factors(1400, 250, counts=(5, 1000))
    assert factors.corrected[0] == pytest.approx(0.2 + 250 / 1400)
    assert factors.width_over_floor.iloc[-1] == pytest.approx(1.0, abs=0.01)


def test_lite_cv_pooled_table_reads_complete_repetitions_only():
    """Two repetitions of two folds, the second missing a fold of one target: only the first
    counts; Holm over the pairs; the MDD is the z-test's at the family's Bonferroni level."""
    from scipy import stats as scipy_stats

    rng = np.random.default_rng(3)
    ids = [f"L{i}" for i in range(40)]
    labels = np.tile([0, 1], 20)
    rows = []
    for rep in ("cv1970", "cv1971"):
        for fold in (0, 1):
            for target in ("baseline", "crowd:A", "random:crowd:A"):
                if rep == "cv1971" and fold == 1 and target == "crowd:A":
                    continue
                part = slice(fold * 20, fold * 20 + 20)
                rows.append(pd.DataFrame({
                    "lesion_id": ids[part], "label": labels[part],
                    "score": labels[part] * 0.5 + rng.random(20), "arch": "efficientnet_lite0",
                    "target": target, "split": f"{rep}-fold{fold}"}))
    table = designs.pooled_table(pd.concat(rows, ignore_index=True), folds=2)
    assert list(zip(table.target_a, table.target_b)) == [("crowd:A", "baseline"),
                                                         ("crowd:A", "random:crowd:A")]
    assert (table.n_lesions == 40).all() and list(table.repetitions) == [1, 1]
    expected = designs.pooled_comparison(pd.concat(rows).query("split.str.startswith('cv1970')"),
                                         "crowd:A", "baseline").iloc[-1]
    assert table.auc_a.iloc[0] == pytest.approx(expected.auc_a)
    assert (table.holm_p >= table.delong_p).all()
    z = scipy_stats.norm.isf(0.05 / 2 / 2) + scipy_stats.norm.ppf(0.8)
    assert table.mdd.iloc[0] == pytest.approx(z * expected.delong_se, rel=1e-3)
    assert designs.pooled_table(pd.DataFrame(columns=table.columns)).empty


def test_pooled_summary_says_what_the_table_says():
    """The sentences under chapter 07's pooled table: counts of separated pairs per kind, with
    their direction, the ranges of the differences and of the detectable difference."""
    table = pd.DataFrame({
        "arch": "efficientnet_lite0", "repetitions": 3, "n_lesions": 2000,
        "target_a": ["crowd:A", "crowd:B", "crowd:A", "crowd:B"],
        "target_b": ["baseline", "baseline", "random:crowd:A", "random:crowd:B"],
        "diff": [-0.005, -0.002, -0.0045, 0.012], "holm_p": [0.52, 1.0, 0.09, 0.01],
        "mdd": [0.0091, 0.0082, 0.006, 0.0055]})
    text = designs.pooled_summary(table)
    lines = text.splitlines()
    assert lines[0] == "On the out-of-fold scores of 3 complete repetitions (2000 lesions):"
    assert lines[1].startswith("- against the baseline: of 2 single models none is separated")
    assert "smallest adjusted p 0.52" in lines[1] and "\u22120.5 to \u22120.2 AUC" in lines[1]
    assert "detects 0.8 to 0.9 points with 80% power" in lines[1]
    assert "of 2 single models 1 is separated (1 above, 0 below: crowd:B +1.2)" in lines[2]
    assert designs.pooled_summary(table.iloc[:0]).startswith("The store holds no complete")
