"""The tf.data input pipeline (chapter 06)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

tf = pytest.importorskip("tensorflow")

from enhance_utils.learning import models, pipeline  # noqa: E402


@pytest.fixture
def images(tmp_path):
    paths = []
    rng = np.random.default_rng(0)
    for i, shape in enumerate([(40, 60), (50, 50), (30, 20), (64, 48)]):
        path = tmp_path / f"img{i}.jpg"
        Image.fromarray(rng.integers(0, 255, shape + (3,), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_dataset_structure_and_weights(images):
    ds = pipeline.make_dataset(images, [0, 1, 0, 1], 16, 3, models.preprocess_input("small"),
                               annotation=[0.5, np.nan, 1.0, np.nan], available=[1, 0, 1, 0],
                               class_weights={0: 0.5, 1: 3.0})
    batches = list(ds)
    assert [b[0].shape[0] for b in batches] == [3, 1]
    x, targets, weights = batches[0]
    assert x.shape == (3, 16, 16, 3)
    assert 0.0 <= float(tf.reduce_min(x)) <= float(tf.reduce_max(x)) <= 1.0
    assert targets["annotation"].numpy().tolist() == [[0.5, 1.0], [0.0, 0.0], [1.0, 1.0]]
    assert weights["diagnosis"].numpy().tolist() == [0.5, 3.0, 0.5]


def test_training_dataset_augments_each_epoch(images):
    ds = pipeline.make_dataset(images, [0, 1, 0, 1], 16, 4, lambda x: x, training=True, seed=1)
    first, second = (next(iter(ds))[0].numpy() for _ in range(2))
    assert first.shape == (4, 16, 16, 3)
    assert not np.allclose(np.sort(first.ravel()), np.sort(second.ravel()))  # fresh augmentation
    assert first.min() >= 0 and first.max() <= 255


def test_broken_and_missing_images_get_reasons(images, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    reasons = pipeline.check_images([images[0], broken, tmp_path / "absent.jpg"])
    assert reasons[0] is None
    assert reasons[1].startswith("unreadable image") and reasons[2].startswith("image not found")


def test_naive_generator_matches_shape(images):
    batch = next(pipeline.naive_batches(images, 16, 3))
    assert batch.shape == (3, 16, 16, 3) and 0 <= batch.min() and batch.max() <= 1.0


def _apply(image, **params):
    defaults = dict(theta=0.0, shear=0.0, zoom_x=1.0, zoom_y=1.0, shift_x=0.0, shift_y=0.0,
                    flip_x=1.0, flip_y=1.0)
    defaults.update(params)
    args = {k: tf.constant([v], tf.float32) for k, v in defaults.items()}
    h, w = image.shape[:2]
    transform = pipeline.affine_parameters(**args, height=h, width=w)
    import keras

    out = keras.ops.image.affine_transform(tf.constant(image[None], tf.float32), transform,
                                           interpolation="nearest", fill_mode="constant")
    return np.asarray(out)[0], np.asarray(transform)[0]


def test_affine_identity_flip_and_rotation():
    image = np.arange(5 * 5 * 1, dtype=np.float32).reshape(5, 5, 1)
    same, transform = _apply(image)
    assert transform.tolist() == [1, 0, 0, 0, 1, 0, 0, 0] and (same == image).all()
    flipped, _ = _apply(image, flip_x=-1.0)
    assert (flipped == image[:, ::-1]).all()
    turned, _ = _apply(image, theta=np.pi / 2)
    assert (turned == np.rot90(image, k=1)).all() or (turned == np.rot90(image, k=-1)).all()
    zoomed, _ = _apply(image, zoom_x=0.5, zoom_y=0.5)
    assert zoomed[2, 2, 0] == image[2, 2, 0]  # the centre stays put


def test_augment_batch_keeps_range_and_shape():
    images = tf.random.uniform((3, 24, 24, 3), 0, 255)
    out = pipeline.augment_batch(images)
    assert out.shape == (3, 24, 24, 3)
    assert 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 255.0


def test_augmentations_plot_one_panel_per_version(images):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    axes = pipeline.plot_augmentations(images[0], n=4, image_size=16)
    shown = [ax.get_images()[0].get_array() for ax in axes]
    assert len(axes) == 4 and all(a.shape == (16, 16, 3) for a in shown)
    assert all(0 <= a.min() and a.max() <= 1 for a in shown)
    assert not np.allclose(shown[0], shown[1])  # each version is augmented on its own
    plt.close("all")


def _ids(dataset, n_batches):
    """The annotation values (used as lesion ids) of the first ``n_batches`` batches."""
    batches = [b for _, b in zip(range(n_batches), dataset)]
    return [int(v) for b in batches for v in b[1]["annotation"].numpy()[:, 0]]


def test_fixed_order_is_the_same_every_epoch_and_wraps_inside_a_batch(images):
    """``published``: the generator's one order, never reshuffled; a batch runs over the end
    of the list into its start and the next pass goes on from there."""
    ids = [0, 1, 2, 3]
    kwargs = dict(annotation=ids, available=[1] * 4, training=True, seed=1, order="fixed")
    once = pipeline.make_dataset(images, [0, 1, 0, 1], 16, 4, lambda x: x, **kwargs)
    assert _ids(once, 1) == ids and _ids(once, 1) == ids      # two epochs, one order
    endless = pipeline.make_dataset(images, [0, 1, 0, 1], 16, 3, lambda x: x, repeat=True,
                                    **kwargs)
    assert _ids(endless, 3) == [0, 1, 2, 3, 0, 1, 2, 3, 0]


def test_reshuffled_order_changes_between_epochs(images):
    ds = pipeline.make_dataset(images * 3, [0, 1] * 6, 16, 12, lambda x: x,
                               annotation=list(range(12)), available=[1] * 12, training=True,
                               seed=1)
    first, second = _ids(ds, 1), _ids(ds, 1)
    assert sorted(first) == sorted(second) == list(range(12)) and first != second
    with pytest.raises(ValueError, match="unknown order"):
        pipeline.make_dataset(images, [0] * 4, 16, 2, lambda x: x, order="sorted")


def test_nearest_and_bilinear_resize_by_hand():
    """2×2 → 1×1: nearest (Keras 2's ``load_img``) keeps the pixel at (1, 1), the
    antialiased bilinear resize averages the four."""
    image = np.array([[0, 40], [80, 120]], np.uint8)[..., None].repeat(3, axis=2)
    assert pipeline.resize(image, 1, "nearest").numpy()[0, 0].tolist() == [120] * 3
    assert pipeline.resize(image, 1, "bilinear").numpy()[0, 0].tolist() == [60] * 3
    with pytest.raises(ValueError, match="unknown resize"):
        pipeline.resize(image, 1, "bicubic")


def test_nearest_resize_is_pillows():
    """8 rows → 6: Pillow adds 8/6 to 0.5 × 8/6 row by row and lands just below 6 on the
    fifth (row 5); TensorFlow's nearest neighbour computes 4.5 × 8/6 = 6 (row 6)."""
    image = np.arange(8, dtype=np.uint8)[:, None, None].repeat(2, 1).repeat(3, 2)
    rows = pipeline.resize(image, 6, "nearest").numpy()[:, 0, 0].tolist()
    assert rows == [0, 2, 3, 4, 5, 7]
    pillow = np.asarray(Image.fromarray(image).resize((6, 6), Image.NEAREST))
    assert rows == pillow[:, 0, 0].tolist()
    assert tf.image.resize(image, (6, 6), method="nearest").numpy()[4, 0, 0] == 6
