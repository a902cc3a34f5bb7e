"""Training variants of chapter 06, as chapter 03 has modes: ``published`` and ``described``.

``published``
    what the ENHANCE repository's scripts did (``1_code/0_baseline.py``,
    ``1_code/1_multi_task.py`` and ``1_code/generate_data.py``, commit ``61b4176``), read
    against the Keras 2.3.1 source: the ResNet and Inception *baselines* have no 256-unit
    dense layer (their multi-task models and the VGG16 baseline do); every architecture is
    fed pixels / 255; the multi-task models are fitted with ``class_weight={0: 1, 1: 3}``,
    which Keras 2.3.1 dropped for a model with two outputs; the "ResNet50" is ``ResNet50V2``;
    the annotation loss is divided by the batch size, not by the number of annotated lesions;
    images are resized by nearest neighbour; the training images come in one fixed order,
    never reshuffled; RMSprop adds its ε outside the square root; the last epoch's model is
    scored.
``described``
    what the paper's text says (section 3.4, eq. (1), Table 6): a 256-unit dense layer under
    every head ("two fully connected layers" for the baseline, three for the multi-task
    model), balanced class weights for baseline and multi-task models alike, ResNet50, the
    annotation loss divided by ``A``; where the text is silent (input scaling, resize, order,
    the optimizer's ε) each ImageNet network gets its own ``preprocess_input``, images an
    antialiased bilinear resize, the order is reshuffled every epoch and RMSprop is Keras 3's.

Each aspect is a field of :class:`Variant`; the comment above each field cites the Keras 2
source that decides what the published scripts did, and the code that acts on it reads the
field (:mod:`~enhance_utils.learning.models`, :mod:`~enhance_utils.learning.pipeline`,
:mod:`~enhance_utils.learning.run`). :func:`differences` is chapter 06's table of them.

**Which Keras.** ``1_multi_task.py`` sets ``KERAS_VERSION = '2.3.1'``; ``0_baseline.py`` sets
``KERAS_VERSION = '2.4.2'``. Keras 2.4 is only a redirection to ``tf.keras`` and has no module
``keras.backend.tensorflow_backend`` (``keras/backend.py`` is a module there, not a package),
which ``0_baseline.py`` imports, so the baseline script as published cannot have run under
2.4.x; the book reads both scripts against **Keras 2.3.1** (tags ``2.3.1`` of
``keras-team/keras`` and ``1.1.0`` of ``keras-team/keras-preprocessing``). The reading that
``class_weight`` was dropped on the two-output models rests on 2.3.1: ``tf.keras``, which
Keras 2.4 redirects to, refuses it instead ("`class_weight` is only supported for Models with
a single output", ``tensorflow/python/keras/engine/data_adapter.py``, as read in the copy
TensorFlow still ships), so under 2.4 the multi-task script would have stopped, not trained.
For the baselines (one output) the two versions agree on every aspect below; ``tf.keras``'s
RMSprop without momentum also adds ε outside the root
(``tensorflow/python/keras/optimizer_v2/rmsprop.py``, ``_resource_apply_dense``).

**What Keras 2 did with ``class_weight`` on a two-output model.** Keras 2.3.1,
``keras/engine/training_utils.py``, ``standardize_sample_or_class_weights``: for a model with
more than one output, a ``dict`` is looked up *by output name*
(``x_weights.append(x_weight.get(name))`` for each name in ``output_names``). The dict
``{0: 1., 1: 3.}`` has no key ``"out_class"`` or ``"out_asymm"``, so both outputs get ``None``
and ``standardize_weights`` then uses weight 1 for every sample: the published multi-task
models were trained **without** class weights, while the baselines got balanced ones.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd


@dataclass(frozen=True)
class Variant:
    """How a profile builds and trains its models; each field one aspect in which the
    published scripts and the paper's text can differ (the Keras 2 source that decides the
    published value is cited above each)."""

    name: str
    #: architectures whose *baseline* has the 256-unit dense layer under its head
    #: (``0_baseline.py``, ``build_model``: ``Dense(256)`` only in its VGG16 branch)
    baseline_dense: tuple[str, ...]
    #: "own": each architecture's ``preprocess_input``; "unit": pixels / 255
    #: (``generate_data.py``: ``img = img / 255.0`` for every network)
    scaling: str
    #: class weights of the diagnosis in multi-task models: "balanced" or "none" (Keras 2.3.1
    #: ``keras/engine/training_utils.py``, ``standardize_sample_or_class_weights``:
    #: ``x_weights.append(x_weight.get(name))`` finds no output name in ``{0: 1., 1: 3.}``)
    multitask_class_weights: str
    #: the network behind the name ``resnet50`` (``1_multi_task.py``:
    #: ``keras.applications.ResNet50V2``)
    resnet50: str
    #: what the annotation loss divides the masked squared errors by: "annotated" (``A``, the
    #: paper's eq. (1)) or "batch" (the batch size). ``1_multi_task.py`` compiles
    #: ``loss={'out_asymm': 'mse'}`` (its own ``mse`` is never used) and ``generate_data_2``
    #: yields the mask as that output's sample weight; Keras 2.3.1
    #: ``keras/engine/training_utils.py`` ``get_loss_function`` wraps a string loss in
    #: ``LossFunctionWrapper(..., reduction=losses_utils.Reduction.SUM_OVER_BATCH_SIZE)``, and
    #: ``keras/utils/losses_utils.py`` ``reduce_weighted_loss`` computes
    #: ``loss = K.sum(weighted_losses)`` then ``loss / _num_elements(weighted_losses)``, the
    #: batch size: Σ aᵢeᵢ² / batch size
    annotation_loss: str
    #: how an image is resized to the input size: "bilinear" (antialiased) or "nearest".
    #: ``generate_data.py`` reads with ``image.load_img(..., target_size=(384, 384))``; Keras
    #: 2.3.1 ``keras/preprocessing/image.py`` is ``load_img = image.load_img`` of
    #: keras-preprocessing, whose ``keras_preprocessing/image/utils.py`` (1.1.0) declares
    #: ``def load_img(..., interpolation='nearest')`` and calls
    #: ``img.resize(width_height_tuple, resample)`` with PIL's ``NEAREST``
    resize: str
    #: the order of the training images: "reshuffled" every epoch or "fixed" (one order, the
    #: split's, walked round and round). ``generate_data.py`` walks ``file_list`` with an index
    #: ``i`` that wraps to 0 and never shuffles; Keras 2.3.1
    #: ``keras/engine/training_generator.py`` ``fit_generator`` takes
    #: ``output_generator = generator`` once, before ``while epoch < epochs:``, so the next
    #: epoch goes on where the last one stopped
    order: str
    #: where RMSprop adds its ε: "inside" the root, g / √(v + ε) (Keras 3,
    #: ``keras/src/optimizers/rmsprop.py``), or "outside", g / (√v + ε): Keras 2.3.1
    #: ``keras/optimizers.py``, ``RMSprop.get_updates``:
    #: ``new_p = p - lr * g / (K.sqrt(new_a) + self.epsilon)``
    rmsprop_epsilon: str


ALL_ARCHS = ("vgg16", "inception_v3", "resnet50", "resnet50v2", "small", "efficientnet_lite0")

VARIANTS = {
    "published": Variant("published", ("vgg16", "small"), "unit", "none", "resnet50v2",
                         annotation_loss="batch", resize="nearest", order="fixed",
                         rmsprop_epsilon="outside"),
    "described": Variant("described", ALL_ARCHS, "own", "balanced", "resnet50",
                         annotation_loss="annotated", resize="bilinear", order="reshuffled",
                         rmsprop_epsilon="inside"),
}

#: what the paper's text says on each aspect of :class:`Variant`
PAPER_TEXT = {
    "baseline_dense": "two fully connected layers on the base (a 256 dense layer and the "
                      "sigmoid output), for every architecture",
    "scaling": "not stated",
    "multitask_class_weights": "balanced (Table 6)",
    "resnet50": "ResNet50",
    "annotation_loss": "eq. (1): Σ aᵢ(yᵢ − ŷᵢ)² / A, A the annotated lesions of the batch",
    "resize": "not stated (input shape 384 × 384 × 3, Table 6)",
    "order": "not stated",
    "rmsprop_epsilon": "RMSprop (Table 6); ε not stated",
}
ASPECTS = {
    "baseline_dense": "dense 256 layer in the baseline",
    "scaling": "input scaling",
    "multitask_class_weights": "class weights of the multi-task models",
    "resnet50": "network called ResNet50",
    "annotation_loss": "annotation loss divided by",
    "resize": "image resize",
    "order": "order of the training images",
    "rmsprop_epsilon": "RMSprop's ε",
}
#: how :func:`differences` words each value of the aspects that are plain choices
WORDING = {
    "scaling": {"own": "each network's preprocess_input", "unit": "pixels / 255"},
    "multitask_class_weights": {"balanced": "balanced",
                                "none": "none (Keras 2 dropped {0: 1, 1: 3})"},
    "resnet50": {"resnet50": "ResNet50", "resnet50v2": "ResNet50V2"},
    "annotation_loss": {"annotated": "A, the annotated lesions (eq. (1))",
                        "batch": "the batch size (Keras 2 'mse' with the mask as sample "
                                 "weight)"},
    "resize": {"bilinear": "bilinear, antialiased", "nearest": "nearest neighbour "
                                                               "(load_img's default)"},
    "order": {"reshuffled": "reshuffled every epoch",
              "fixed": "one fixed order, never reshuffled"},
    "rmsprop_epsilon": {"inside": "g / √(v + ε) (Keras 3)",
                        "outside": "g / (√v + ε) (Keras 2)"},
}


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown training variant {name!r}; choose from "
                         f"{sorted(VARIANTS)}") from None


def _describe(variant: Variant, aspect: str) -> str:
    value = getattr(variant, aspect)
    if aspect == "baseline_dense":
        paper = [a for a in ALL_ARCHS if a not in ("small", "resnet50v2", "efficientnet_lite0")]
        missing = [a for a in paper if a not in value]
        return "every architecture" if not missing else f"not for {', '.join(missing)}"
    return WORDING[aspect][value]


def differences() -> pd.DataFrame:
    """One row per aspect: the paper's text and what each variant does (chapter 06's table)."""
    aspects = [f.name for f in fields(Variant) if f.name != "name"]
    return pd.DataFrame([{"aspect": ASPECTS[a], "paper's text": PAPER_TEXT[a],
                          **{v.name: _describe(v, a) for v in VARIANTS.values()}}
                         for a in aspects])
