"""Grad-CAM of one model on one image (chapter 09).

Grad-CAM (Selvaraju et al., 2017) asks which regions of the last convolutional feature maps
push a model's output up. For one image it takes the gradient of the output's score with
respect to the ``K`` feature maps ``A_k`` of a convolutional layer, averages each gradient
over the spatial positions to a weight ``alpha_k``, and keeps the positive part of the
weighted sum::

    L = ReLU( sum_k alpha_k A_k ),   alpha_k = mean_ij  d score / d A_k[i, j]

Here the score is the *logit* of the ``diagnosis`` output (the sigmoid's input, so that a
saturated probability does not flatten the gradient); ``towards="normal"`` uses the negative
logit. The map is normalised to [0, 1], upsampled (bilinear) to the image's size and
normalised again, so that its maximum is 1 (an all-zero map stays zero: no region raises the
score).

Images are read and resized exactly as the training pipeline reads and resizes them
(:mod:`enhance_utils.learning.pipeline`); :mod:`enhance_utils.learning.explanations` applies
the maps to the stored runs.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from ..data import datasets
from . import models


def find_conv_layer(model, name: str | None = None):
    """The layer named ``name``, or the model's last convolutional layer."""
    from keras import layers

    if name is not None:
        return model.get_layer(name)
    convolutions = (layers.Conv2D, layers.SeparableConv2D, layers.DepthwiseConv2D)
    found = [layer for layer in model.layers if isinstance(layer, convolutions)]
    if not found:
        raise ValueError(f"model {model.name} has no convolutional layer; name one with layer=")
    return found[-1]


def model_input(image, image_size: int, method: str = "bilinear") -> np.ndarray:
    """An RGB image (any size, 0–255) resized as the training pipeline resizes it
    (:func:`enhance_utils.learning.pipeline.resize`; ``method`` is the training variant's
    resize)."""
    from . import pipeline

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (rows, cols, 3), got {image.shape}")
    return pipeline.resize(image.astype(np.float32), image_size, method).numpy()


def read_image(path) -> np.ndarray:
    """An image decoded as the training pipeline decodes it
    (:func:`enhance_utils.learning.pipeline.decode`), ``uint8`` (rows, cols, 3)."""
    from . import pipeline

    return pipeline.decode(str(path)).numpy()


def load_lesion(lesion_id: str, root=None) -> tuple[np.ndarray, np.ndarray]:
    """An ISIC 2017 lesion as the models saw it (:func:`read_image`) and its mask."""
    image = read_image(datasets.isic_image_path(lesion_id, root))
    return image, datasets.load_mask(datasets.isic_mask_path(lesion_id, root), image.shape[:2])


def upsample(cam: np.ndarray, shape) -> np.ndarray:
    """A map resized bilinearly to ``shape`` (rows, cols) and clipped to [0, 1]."""
    import tensorflow as tf

    cam = np.asarray(cam, np.float32)
    if cam.shape == tuple(shape[:2]):
        return cam
    out = tf.image.resize(cam[..., None], tuple(shape[:2]), method="bilinear").numpy()[..., 0]
    return np.clip(out, 0.0, 1.0)


def _normalise(cam: np.ndarray) -> np.ndarray:
    top = float(cam.max())
    return cam / top if top > 0 else np.zeros_like(cam)


@dataclass
class Explanation:
    """Grad-CAM of one image: the map (image size, [0, 1]) and what the model predicted."""

    cam: np.ndarray
    probability: float  # of "abnormal"
    annotation: float | None  # the multi-task head's A, B or C; None for a baseline
    layer: str
    towards: str = "abnormal"  # the class the map explains

    @property
    def empty(self) -> bool:
        """True when no region raises the explained score (all weighted maps negative)."""
        return not bool(np.any(self.cam > 0))


#: model -> {layer name: (grad model, diagnosis layer)}; entries go with their model
_GRAD_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _grad_model(model, layer):
    """The layer's maps, the outputs, the diagnosis logit and its gradient with respect to the
    maps, as one compiled function of the input, traced once per model and layer (eager
    execution of a deep network costs several times its arithmetic)."""
    import keras
    import tensorflow as tf

    cached = _GRAD_MODELS.setdefault(model, {})
    if layer.name in cached:
        return cached[layer.name]
    head = model.get_layer(models.DIAGNOSIS)
    outputs = {"conv": layer.output, "hidden": head.input, models.DIAGNOSIS: head.output}
    names = {each.name for each in model.layers}
    if models.ANNOTATION in names:
        outputs[models.ANNOTATION] = model.get_layer(models.ANNOTATION).output
    grad_model = keras.Model(model.inputs, outputs)

    @tf.function(reduce_retracing=True)
    def forward(x):
        with tf.GradientTape() as tape:
            out = grad_model(x, training=False)
            logit = tf.matmul(out["hidden"], head.kernel) + head.bias  # the sigmoid's input
            score = logit[:, 0]
        return out, logit, tape.gradient(score, out["conv"])

    cached[layer.name] = forward
    return forward


def explain_image(model, image, arch: str = "small", layer=None,
                  towards: str = "abnormal", variant: str = "described") -> Explanation:
    """Grad-CAM of the ``diagnosis`` output for one RGB image, and the predicted annotation.

    ``image`` is an RGB array of any size (0–255); it is resized as in training, scaled with
    the architecture's ``preprocess_input``, and the map comes back at the image's size.
    ``layer`` is a layer or its name (default: the last convolutional layer).
    """
    return explain_classes(model, image, arch, layer, (towards,), variant)[0]


def explain_classes(model, image, arch: str = "small", layer=None,
                    towards=("abnormal", "normal"), variant: str = "described"):
    """:func:`explain_image` for each class of ``towards``, from one forward and backward
    pass (the gradient of ``-logit`` is minus that of the logit): a list of
    :class:`Explanation`, in the order of ``towards``."""
    import tensorflow as tf

    from .variants import get_variant

    for side in towards:
        if side not in ("abnormal", "normal", "predicted"):
            raise ValueError(f"towards must be 'abnormal', 'normal' or 'predicted', not {side!r}")
    image = np.asarray(image)
    size = int(model.inputs[0].shape[1])
    if layer is None or isinstance(layer, str):
        conv_layer = find_conv_layer(model, layer)
    else:
        conv_layer = layer
    forward = _grad_model(model, conv_layer)
    # the resize and the input scaling of the variant the run was trained with
    resized = model_input(image, size, get_variant(variant).resize)
    x = models.preprocess_input(arch, variant)(resized[None].astype(np.float32))
    out, logit, grads = forward(tf.convert_to_tensor(x, tf.float32))
    conv = out["conv"]
    alpha = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    weighted = tf.reduce_sum(alpha * conv, axis=-1)[0].numpy()  # for "abnormal"
    annotation = out.get(models.ANNOTATION)
    probability = float(out[models.DIAGNOSIS].numpy().reshape(-1)[0])
    annotation = None if annotation is None else float(annotation.numpy().reshape(-1)[0])
    found = []
    for side in towards:
        if side == "predicted":
            side = "abnormal" if float(logit[0, 0]) >= 0 else "normal"
        cam = np.maximum(weighted if side == "abnormal" else -weighted, 0.0)
        found.append(Explanation(cam=_normalise(upsample(_normalise(cam), image.shape[:2])),
                                 probability=probability, annotation=annotation,
                                 layer=conv_layer.name, towards=side))
    return found


def grad_cam(model, image, arch: str = "small", layer=None,
             towards: str = "abnormal") -> np.ndarray:
    """The Grad-CAM map only: shape of ``image`` (rows, cols), values in [0, 1]."""
    return explain_image(model, image, arch, layer, towards).cam


def mass_inside(cam: np.ndarray, mask: np.ndarray) -> float:
    """Fraction of the map's total mass that lies inside ``mask``; NaN for an empty map."""
    cam = upsample(cam, np.shape(mask))
    total = float(cam.sum())
    return float(cam[np.asarray(mask, bool)].sum() / total) if total > 0 else float("nan")
