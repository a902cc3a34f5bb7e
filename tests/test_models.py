"""Models and the paper's loss, eq. (1) (chapter 06)."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from enhance_utils.learning import models  # noqa: E402


def _hand_loss(p, a, y, w, values, available, divide_by="annotated"):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    classification = np.sum(w * bce) / len(y)  # Keras: weighted sum over the batch size
    n_annotated = available.sum()
    divisor = n_annotated if divide_by == "annotated" else len(y)  # eq. (1) or Keras 2
    mse = np.sum(available * (values - a) ** 2) / divisor if n_annotated else 0.0
    return 0.5 * mse + 0.5 * classification, classification, mse


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    model, init = models.build_model("small", 32, ("A",), learning_rate=1e-3)
    assert init == "random"
    return model


@pytest.fixture(scope="module")
def tiny_published():
    keras.utils.set_random_seed(0)
    model, _ = models.build_model("small", 32, ("A",), learning_rate=1e-3, variant="published")
    return model


@pytest.mark.parametrize("available", [[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]],
                         ids=["some", "none", "all"])
def test_loss_matches_hand_computation(tiny, available):
    rng = np.random.default_rng(1)
    x = rng.random((4, 32, 32, 3)).astype("float32")
    y = np.array([0, 1, 1, 0], "float32")
    values = np.array([0.5, 9.0, -1.0, 7.0], "float32")  # 9 and 7 must not count when absent
    available = np.array(available, "float32")
    weights = np.array([0.6, 2.0, 2.0, 0.6], "float32")
    targets = {"diagnosis": y[:, None], "annotation": np.stack([values, available], 1)}
    sample_weights = {"diagnosis": weights, "annotation": np.ones(4, "float32")}
    got = tiny.evaluate(x, targets, sample_weight=sample_weights, batch_size=4, verbose=0,
                        return_dict=True)
    out = tiny.predict(x, verbose=0)
    total, classification, mse = _hand_loss(out["diagnosis"][:, 0], out["annotation"][:, 0], y,
                                             weights, values, available)
    assert got["diagnosis_loss"] == pytest.approx(classification, rel=1e-5)
    assert got["annotation_loss"] == pytest.approx(mse, rel=1e-5, abs=1e-7)
    assert got["loss"] == pytest.approx(total, rel=1e-5)


def test_masked_mse_divides_by_annotated_count():
    y_true = np.array([[1.0, 1.0], [5.0, 0.0], [3.0, 1.0]], "float32")
    y_pred = np.array([[0.0], [0.0], [1.0]], "float32")
    value = float(models.masked_mse(y_true, y_pred))
    assert value == pytest.approx((1 + 4) / 2)


def test_baseline_has_one_output():
    model, _ = models.build_model("small", 32)
    assert len(model.outputs) == 1 and model.outputs[0].shape[-1] == 1


def test_imagenet_unavailable_falls_back_and_says_so(monkeypatch, capsys):
    original = models.ARCHITECTURES["vgg16"]

    def offline(**kwargs):
        if kwargs.get("weights") == "imagenet":
            raise OSError("no network")
        return original[0](**kwargs)

    monkeypatch.setitem(models.ARCHITECTURES, "vgg16", (offline, original[1]))
    _, init = models.build_model("vgg16", 32, ("A",))
    assert init == "random (imagenet unavailable)"
    assert "could not be loaded" in capsys.readouterr().out


def test_preprocess_per_architecture():
    x = np.full((1, 2, 2, 3), 255.0, "float32")
    assert float(np.max(models.preprocess_input("small")(x))) == pytest.approx(1.0)
    assert float(np.max(models.preprocess_input("inception_v3")(x.copy()))) == pytest.approx(1.0)
    vgg = np.asarray(models.preprocess_input("vgg16")(x.copy()))
    assert vgg[0, 0, 0, 0] == pytest.approx(255 - 103.939, abs=1e-3)  # caffe: BGR, mean removed
    with pytest.raises(ValueError, match="unknown architecture"):
        models.preprocess_input("alexnet")


def test_balanced_class_weights():
    weights = models.balanced_class_weights([0, 0, 0, 1])
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})


def test_published_loss_divides_by_the_batch_size(tiny_published):
    """Half the annotations missing: Keras 2.3.1's ``'mse'`` with the mask as sample weight
    summed the two annotated errors and divided by the batch of four, not by A = 2."""
    rng = np.random.default_rng(2)
    x = rng.random((4, 32, 32, 3)).astype("float32")
    y = np.array([0, 1, 1, 0], "float32")
    values = np.array([0.5, 9.0, -1.0, 7.0], "float32")
    available = np.array([1, 0, 1, 0], "float32")
    targets = {"diagnosis": y[:, None], "annotation": np.stack([values, available], 1)}
    got = tiny_published.evaluate(x, targets, batch_size=4, verbose=0, return_dict=True)
    out = tiny_published.predict(x, verbose=0)
    a = out["annotation"][:, 0]
    total, _, mse = _hand_loss(out["diagnosis"][:, 0], a, y, np.ones(4), values, available,
                               divide_by="batch")
    assert mse == pytest.approx(((0.5 - a[0]) ** 2 + (-1.0 - a[2]) ** 2) / 4)
    assert got["annotation_loss"] == pytest.approx(mse, rel=1e-5)
    assert got["loss"] == pytest.approx(total, rel=1e-5)
    assert isinstance(tiny_published.optimizer, models.Keras2RMSprop)
    y_true = np.array([[1.0, 1.0], [5.0, 0.0], [3.0, 1.0], [2.0, 0.0]], "float32")
    y_pred = np.array([[0.0], [0.0], [1.0], [0.0]], "float32")
    assert float(models.masked_mse_per_batch(y_true, y_pred)) == pytest.approx((1 + 4) / 4)
    assert float(models.masked_mse_per_batch(y_true * [1, 0], y_pred)) == 0.0


def _two_rmsprop_steps(optimizer, start, gradient):
    variable = keras.Variable(np.array(start, "float32"))
    optimizer.build([variable])
    for _ in range(2):
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
    return np.asarray(variable)


def test_keras2_rmsprop_update_by_hand():
    """Two steps of Keras 2.3.1's RMSprop: a = 0.9 a + 0.1 g², p -= lr g / (√a + ε). With a
    gradient of 1e-4, √a (3e-5) is near ε, where Keras 3's √(a + ε) differs."""
    lr, eps, rho = 0.01, 1e-7, 0.9
    start, g = np.array([1.0, -2.0]), np.array([1e-4, 0.5])
    a1 = (1 - rho) * g ** 2
    p1 = start - lr * g / (np.sqrt(a1) + eps)
    a2 = rho * a1 + (1 - rho) * g ** 2
    p2 = p1 - lr * g / (np.sqrt(a2) + eps)
    got = _two_rmsprop_steps(models.Keras2RMSprop(lr), start, g.astype("float32"))
    np.testing.assert_allclose(got, p2, rtol=1e-6)
    keras3 = _two_rmsprop_steps(keras.optimizers.RMSprop(lr), start, g.astype("float32"))
    q1 = start - lr * g / np.sqrt(a1 + eps)
    np.testing.assert_allclose(keras3, q1 - lr * g / np.sqrt(a2 + eps), rtol=1e-6)
    assert abs(got[0] - keras3[0]) > 0.04      # the small gradient: 0.054 against 0.006
    with pytest.raises(ValueError, match="momentum"):
        models.Keras2RMSprop(lr, momentum=0.9)


@pytest.mark.parametrize("variant, optimizer", [("published", "Keras2RMSprop"),
                                                ("described", "RMSprop")])
def test_optimizer_follows_the_variant(variant, optimizer):
    assert type(models.optimizer(1e-3, variant)).__name__ == optimizer
