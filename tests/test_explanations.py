"""Grad-CAM of the stored models (chapter 09)."""
from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from enhance_utils.learning import explanations, gradcam, models  # noqa: E402
from tinyprofile import tiny_profile  # noqa: E402

SIZE = 32


@pytest.fixture(scope="module")
def tiny():
    """A just-initialised multi-task small CNN (no training needed for shape checks)."""
    keras.utils.set_random_seed(0)
    model, _ = models.build_model("small", SIZE, ("A",), learning_rate=1e-3)
    return model


def test_map_shape_range_and_determinism(tiny):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)  # not square, not the model's size
    first = gradcam.explain_image(tiny, image, "small", towards="predicted")
    second = gradcam.explain_image(tiny, image, "small", towards="predicted")
    assert first.cam.shape == (48, 40)
    assert first.cam.min() >= 0.0 and first.cam.max() <= 1.0
    assert first.cam.max() == pytest.approx(1.0) or first.empty
    np.testing.assert_array_equal(first.cam, second.cam)
    assert 0.0 <= first.probability <= 1.0 and isinstance(first.annotation, float)
    out = tiny.predict(models.preprocess_input("small")(
        gradcam.model_input(image, SIZE)[None].astype("float32")), verbose=0)
    assert first.probability == pytest.approx(float(out["diagnosis"][0, 0]), abs=1e-6)
    assert first.annotation == pytest.approx(float(out["annotation"][0, 0]), abs=1e-5)
    # the last convolutional layer is found; naming it gives the same map
    layer = gradcam.find_conv_layer(tiny)
    assert isinstance(layer, keras.layers.Conv2D)
    later = tiny.layers[tiny.layers.index(layer) + 1:]
    assert not any(isinstance(other, keras.layers.Conv2D) for other in later)
    named = gradcam.grad_cam(tiny, image, "small", layer=layer.name, towards=first.towards)
    np.testing.assert_array_equal(named, first.cam)


def test_baseline_has_no_annotation():
    model, _ = models.build_model("small", SIZE)
    ex = gradcam.explain_image(model, np.zeros((SIZE, SIZE, 3), np.uint8), "small")
    assert ex.annotation is None


def _quadrant_model(size: int = 16):
    """Diagnosis logit = sum of the red channel over the top-right quadrant minus 1.

    ``conv`` has two 1×1 channels: red and green brightness. Only red in the top-right
    quadrant reaches the diagnosis; green anywhere (and red elsewhere) does not.
    """
    inputs = keras.Input((size, size, 3))
    conv = keras.layers.Conv2D(2, 1, activation="relu", name="conv")
    features = conv(inputs)
    hidden = keras.layers.Dense(1, name="hidden")(keras.layers.Flatten()(features))
    diagnosis = keras.layers.Dense(1, activation="sigmoid", name="diagnosis")(hidden)
    model = keras.Model(inputs, {"diagnosis": diagnosis})
    kernel = np.zeros((1, 1, 3, 2), "float32")
    kernel[0, 0, 0, 0] = kernel[0, 0, 1, 1] = 1.0
    conv.set_weights([kernel, np.zeros(2, "float32")])
    read = np.zeros((size, size, 2), "float32")
    read[: size // 2, size // 2:, 0] = 1.0  # channel 0 (red), top-right quadrant only
    model.get_layer("hidden").set_weights([read.reshape(-1, 1), np.zeros(1, "float32")])
    model.get_layer("diagnosis").set_weights([np.ones((1, 1), "float32"), -np.ones(1, "float32")])
    return model


def test_map_finds_the_quadrant_the_model_reads():
    model = _quadrant_model()
    rows, cols = 40, 24  # not square: a transposed or mis-scaled map would miss the quadrant
    image = np.zeros((rows, cols, 3), np.uint8)
    image[: rows // 2, cols // 2:, 0] = 255  # red where the model looks
    image[rows // 2:, : cols // 2, 1] = 255  # a green distractor it ignores
    # (red elsewhere would light up too: Grad-CAM weighs whole channels, not positions)
    ex = gradcam.explain_image(model, image, "small")
    assert ex.probability > 0.99 and ex.layer == "conv"
    quadrant = np.zeros((rows, cols), bool)
    quadrant[: rows // 2, cols // 2:] = True
    assert gradcam.mass_inside(ex.cam, quadrant) > 0.9
    # nothing in the image speaks for "normal": the map for that class is empty
    normal = gradcam.explain_image(model, image, "small", towards="normal")
    assert normal.empty and np.isnan(gradcam.mass_inside(normal.cam, quadrant))


def _store_run(folder, model, target="crowd:A"):
    folder.mkdir(parents=True)
    record = {"arch": "small", "target": target, "split": "seed1",
              "settings": {"image_size": SIZE, "learning_rate": 1e-3}}
    (folder / "run.json").write_text(json.dumps(record))
    if model is not None:
        model.save_weights(folder / explanations.WEIGHTS)


def test_load_run_restores_the_model(tiny, tmp_path):
    folder = tmp_path / "smoke" / "small" / "crowd-A" / "seed1"
    _store_run(folder, tiny)
    run = explanations.load_run(folder)
    assert run.name == "crowdA" and run.multitask and run.image_size == SIZE
    x = np.random.default_rng(1).random((2, SIZE, SIZE, 3)).astype("float32")
    np.testing.assert_allclose(run.model.predict(x, verbose=0)["annotation"],
                               tiny.predict(x, verbose=0)["annotation"], rtol=1e-6)


def test_models_are_loaded_and_tabled_by_name(tiny, tmp_path):
    folders = {}
    for target in ("crowd:A", "student:C"):
        folders[target] = tmp_path / "smoke" / "small" / target.replace(":", "-") / "seed1"
        _store_run(folders[target], tiny, target)
        record = json.loads((folders[target] / "run.json").read_text())
        record.update(auc=0.61234, weights_init="random")
        record["settings"]["epochs"] = 2
        (folders[target] / "run.json").write_text(json.dumps(record))
    runs = explanations.load_models(folders)
    assert list(runs) == ["crowdA", "studC"]  # the paper's names
    table = explanations.models_table(runs)
    assert table.to_dict("records")[1] == {
        "model": "studC", "target": "student:C", "test AUC": 0.612, "epochs": 2,
        "weights": "random", "folder": "smoke/small/student-C/seed1"}


def test_missing_weights_name_the_run_folder(tmp_path):
    folder = tmp_path / "cpu" / "small" / "baseline" / "seed1970"
    _store_run(folder, None, target="baseline")
    with pytest.raises(FileNotFoundError, match=f"{folder}.*model.weights.h5"):
        explanations.load_run(folder)
    with pytest.raises(FileNotFoundError, match="run.json"):
        explanations.load_run(tmp_path / "nothing")


def test_run_folders_only_read_and_name_the_run_without_weights(tiny, tmp_path):
    """Reading the runs trains nothing: a run without weights is named (by
    ``runs_without_weights`` and by the error), and nothing is written anywhere."""
    results, side = tmp_path / "results", tmp_path / "side"
    store_run = results / "smoke" / "small" / "crowd-A" / "seed1970"
    _store_run(store_run, tiny)
    for profile in ("cpu", "smoke"):
        assert explanations.runs_without_weights(profile, ["baseline"], 1970, results=results,
                                                 side=side) == ["baseline"]
        with pytest.raises(FileNotFoundError, match="seed1970"):
            explanations.run_folders(profile, ["baseline"], 1970, results=results, side=side)
    assert not side.exists()
    assert explanations.runs_without_weights("smoke", ["baseline", "crowd:A"], 1970,
                                             results=results, side=side) == ["baseline"]
    assert explanations.run_folders("smoke", ["crowd:A"], 1970, results=results,
                                    side=side) == {"crowd:A": store_run}
    side_run = side / "smoke" / "small" / "crowd-A" / "seed1970"
    _store_run(side_run, tiny)  # the store's own run with weights comes first
    assert explanations.run_folders("smoke", ["crowd:A"], 1970, results=results,
                                    side=side) == {"crowd:A": store_run}
    (store_run / explanations.WEIGHTS).unlink()  # kept no weights: the side store's
    assert explanations.run_folders("smoke", ["crowd:A"], 1970, results=results,
                                    side=side) == {"crowd:A": side_run}


def test_explanations_train_nothing():
    """The explanation module reads models; training is the chapter's explicit call."""
    import inspect

    source = inspect.getsource(explanations)
    assert "run_grid(" not in source and "train_one(" not in source


def test_runs_without_weights_are_retrained_into_a_side_store(data_root, tmp_path, monkeypatch):
    """A store that keeps predictions only (as the committed cpu store): the chapter trains
    the explained run again, with its weights, outside the store (the side store in the cache
    folder), and it gives the stored predictions."""
    from enhance_utils.data import paths
    from enhance_utils.learning import training, store
    from enhance_utils import profiles

    monkeypatch.setitem(profiles.PROFILES, "nokeep", tiny_profile("nokeep", ["crowd:A"]))
    results = tmp_path / "results"
    training.run_grid("nokeep", results=results, progress=False)
    stored = store.run_dir(results, "nokeep", "small", "crowd:A", "seed1970")
    assert not (stored / explanations.WEIGHTS).exists()
    lacking = explanations.runs_without_weights("nokeep", ["crowd:A"], 1970, results=results)
    assert lacking == ["crowd:A"]
    assert explanations.side_store().is_relative_to(paths.cache_dir())
    training.train_with_weights("nokeep", lacking, 1970, explanations.side_store(),
                                progress=False)
    folder = explanations.run_folders("nokeep", ["crowd:A"], 1970, results=results)["crowd:A"]
    assert folder.is_relative_to(explanations.side_store())
    assert (folder / explanations.WEIGHTS).is_file()
    assert (folder / store.PREDICTIONS).read_bytes() == (stored / store.PREDICTIONS).read_bytes()
    assert explanations.runs_without_weights("nokeep", ["crowd:A"], 1970, results=results) == []


class _Annotations:
    """A stand-in for training.Context: which lesions have each target's annotation."""

    def __init__(self, available: dict[str, set[str]]):
        self.available = available

    def annotation(self, target, lesion_ids):
        have = np.array([i in self.available[target] for i in lesion_ids], float)
        return np.zeros(len(have)), have


def _run(target, multitask):
    from types import SimpleNamespace

    return SimpleNamespace(target=target, multitask=multitask)


def test_lesions_shown_have_every_annotation_half_of_them_abnormal():
    import pandas as pd

    test = pd.DataFrame({"lesion_id": ["e", "d", "c", "b", "a", "f"],
                         "label": [1, 0, 1, 1, 0, 0]})
    runs = {"baseline": _run("baseline", False), "crowd:A": _run("crowd:A", True),
            "student:C": _run("student:C", True)}
    context = _Annotations({"crowd:A": {"a", "b", "c", "d", "e"},
                            "student:C": {"a", "b", "c", "d", "f"}})
    assert explanations.lesions_to_show(test, runs, context, 4) == ["b", "c", "a", "d"]
    assert explanations.lesions_to_show(test, runs, context, 1) == ["b"]  # one abnormal at least
    shown = explanations.lesions_to_show(test, {"baseline": runs["baseline"]}, context, 2)
    assert shown == ["b", "a"]


def test_head_agreement_and_its_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    truth = [0.1, 0.5, 0.9, 1.3, np.nan]
    table = pd.concat([
        pd.DataFrame({"model": "crowd:A", "label": [0, 1, 0, 1, 1], "true_annotation": truth,
                      "predicted_annotation": [0.2, 0.4, 1.0, 1.1, 5.0]}),
        pd.DataFrame({"model": "student:C", "label": [0, 1, 0, 1, 1],
                      "true_annotation": [0.3, np.nan, np.nan, np.nan, 0.4],
                      "predicted_annotation": [0.0, 0.0, 0.0, 0.0, 0.1]})])
    heads = explanations.head_agreement(table, ["crowd:A", "student:C"]).set_index("model")
    r = np.corrcoef(truth[:4], [0.2, 0.4, 1.0, 1.1])[0, 1]
    assert heads.loc["crowd:A", "pearson r"] == round(r, 2)
    assert heads.loc["crowd:A", "test lesions with the annotation"] == 4
    assert heads.loc["crowd:A", "mean predicted"] == round(np.mean([0.2, 0.4, 1.0, 1.1]), 2)
    assert np.isnan(heads.loc["student:C", "pearson r"])  # two lesions: no correlation
    axes = explanations.plot_heads(table, {"crowd:A": _run("crowd:A", True),
                                      "student:C": _run("student:C", True)})
    assert [ax.get_title() for ax in axes] == [f"crowd:A: r = {r:.2f}, n = 4",
                                               "student:C: r = nan, n = 2"]
    normal, abnormal = axes[0].collections
    assert np.allclose(normal.get_offsets(), [[0.1, 0.2], [0.9, 1.0]])
    assert np.allclose(abnormal.get_offsets(), [[0.5, 0.4], [1.3, 1.1]])
    assert axes[0].get_xlabel() == "real crowd:A score"
    plt.close("all")


def test_one_pass_explains_each_class_as_separate_calls(tiny):
    """:func:`gradcam.explain_classes` reuses one gradient for "abnormal" and "normal": the
    same maps as one call per class; the "normal" map is the other sign's positive part."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    sides = ("abnormal", "normal", "predicted")
    together = gradcam.explain_classes(tiny, image, "small", towards=sides)
    for side, ex in zip(sides, together):
        alone = gradcam.explain_image(tiny, image, "small", towards=side)
        np.testing.assert_allclose(ex.cam, alone.cam, atol=1e-6)
        assert (ex.towards, ex.probability) == (alone.towards, alone.probability)
    assert together[2].towards in ("abnormal", "normal")
    with pytest.raises(ValueError, match="towards must be"):
        gradcam.explain_classes(tiny, image, "small", towards=("abnormal", "up"))


def test_explanations_see_the_pixels_training_saw(data_root):
    """The image an explanation reads and resizes is, pixel for pixel, the one the training
    pipeline fed the model (one decoder and one resize: :mod:`enhance_utils.learning.pipeline`)."""
    from enhance_utils.data import datasets
    from enhance_utils.learning import pipeline

    paths = [str(datasets.isic_image_path(i, data_root)) for i in ("ISIC_0000000", "ISIC_0000004")]
    batch = next(iter(pipeline.make_dataset(paths, [0, 1], 48, 2, lambda x: x)))[0].numpy()
    for path, seen in zip(paths, batch):
        np.testing.assert_array_equal(gradcam.model_input(gradcam.read_image(path), 48), seen)


def test_lite_head_reproduces_the_store_and_its_map_spans_the_image(data_root, tmp_path):
    """A committed ``lite`` head on the backbone gives the stored test probabilities (checked
    on load) and a finite Grad-CAM map from the backbone's 7 × 7 feature map at the image's
    size; a head whose predictions' checksum differs is refused."""
    import shutil

    folder = explanations.run_folder("lite", "efficientnet_lite0", "crowd:A", "seed1970")
    run = explanations.load_lite_run(folder, root=data_root, check=3)
    assert run.layer == explanations.LITE_LAYER and run.multitask
    assert tuple(run.model.get_layer(run.layer).output.shape[1:]) == (7, 7, 1280)
    lesion = run.predictions().sort_values("lesion_id").iloc[3]
    image, mask = gradcam.load_lesion(lesion.lesion_id, data_root)
    ex = gradcam.explain_image(run.model, image, run.arch, layer=run.layer)
    assert ex.cam.shape == image.shape[:2] and np.isfinite(ex.cam).all()
    assert ex.cam.min() >= 0 and ex.cam.max() <= 1 and isinstance(ex.annotation, float)
    assert abs(ex.probability - lesion.score) <= explanations.TOLERANCE

    heads = tmp_path / "heads"
    copy = explanations.head_path(run.record, heads)
    copy.parent.mkdir(parents=True)
    shutil.copy(explanations.head_path(run.record), copy)
    with np.load(copy) as stored:
        arrays = dict(stored)
    np.savez(copy, **dict(arrays, predictions_sha256=np.array("0" * 64)))
    with pytest.raises(ValueError, match="another predictions"):
        explanations.load_lite_run(folder, heads=heads, root=data_root)
    np.savez(copy, **dict(arrays, **{"diagnosis/1": arrays["diagnosis/1"] + 0.01}))
    with pytest.raises(ValueError, match="away from the stored ones"):
        explanations.load_lite_run(folder, heads=heads, root=data_root)
    with pytest.raises(FileNotFoundError, match="make_explained_heads"):
        explanations.load_lite_run(folder, heads=tmp_path / "none", root=data_root)


def test_lesions_to_explain_start_with_the_shown_ones_half_abnormal():
    import pandas as pd

    test = pd.DataFrame({"lesion_id": [f"L{i:02d}" for i in range(20)],
                         "label": [1 if i % 4 == 0 else 0 for i in range(20)]})
    picked = explanations.lesions_to_explain(test, 8, first=["L04", "L01"])
    assert picked[:2] == ["L04", "L01"] and len(picked) == len(set(picked)) == 8
    assert test.set_index("lesion_id").label[picked].sum() == 4  # half abnormal
    assert explanations.lesions_to_explain(test, None, first=["L03"])[0] == "L03"
    assert sorted(explanations.lesions_to_explain(test, None)) == list(test.lesion_id)
