"""Baseline and multi-task CNNs and the paper's loss (chapter 06).

The **baseline** puts a dense head on a convolutional base and predicts the diagnosis
(sigmoid). The **multi-task** model shares that head's hidden layer with a second, linear
output that regresses one annotation (A, B or C of one source). Its loss is the paper's
eq. (1)::

    L = 0.5 * (1/A) * sum_i a_i (y_i - yhat_i)^2  +  0.5 * L_c

where ``a_i`` is 1 for a lesion with an annotation and ``A = sum_i a_i``. Keras 3 divides a
loss by the batch size by default and refuses ``class_weight`` for models with several
outputs, so here the availability ``a_i`` travels inside the annotation target
(``y = [value, a]``), :func:`masked_mse` divides by ``A`` itself (0 for a batch without
annotations), and the balanced class weights are passed as per-sample weights of the
diagnosis output.

The ``published`` training variant (:mod:`~enhance_utils.learning.variants`) repeats what
Keras 2.3.1 did with the published scripts instead: :func:`masked_mse_per_batch` divides by the
batch size, and :class:`Keras2RMSprop` adds RMSprop's ε outside the square root.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

DIAGNOSIS, ANNOTATION = "diagnosis", "annotation"

#: convolutional bases: constructor and preprocess_input of each architecture
ARCHITECTURES = {
    "vgg16": (keras.applications.VGG16, keras.applications.vgg16.preprocess_input),
    "inception_v3": (keras.applications.InceptionV3,
                     keras.applications.inception_v3.preprocess_input),
    "resnet50": (keras.applications.ResNet50, keras.applications.resnet50.preprocess_input),
    "resnet50v2": (keras.applications.ResNet50V2, keras.applications.resnet_v2.preprocess_input),
    "small": (None, None),
}
#: the smallest input each base accepts (the CI test builds every one at this size)
MIN_IMAGE_SIZE = {"vgg16": 32, "inception_v3": 75, "resnet50": 32, "resnet50v2": 32, "small": 16,
                  "efficientnet_lite0": 32}


def _efficientnet_lite0(include_top=False, weights="imagenet", input_tensor=None):
    """EfficientNet-Lite0 (:mod:`enhance_utils.learning.efficientnet_lite`) called as the
    ``keras.applications`` constructors are, on ``input_tensor``."""
    from . import efficientnet_lite

    base = efficientnet_lite.build(image_size=int(input_tensor.shape[1]),
                                   include_top=include_top, weights=weights)
    return keras.Model(input_tensor, base(input_tensor), name="efficientnet_lite0")


def _efficientnet_lite0_preprocess(x):
    """:func:`enhance_utils.learning.efficientnet_lite.preprocess_input` for the tensors of a
    tf.data pipeline too (that function converts to NumPy): ``(x - 127) / 128``."""
    from . import efficientnet_lite

    if isinstance(x, np.ndarray):
        return efficientnet_lite.preprocess_input(x)
    return (ops.cast(x, "float32") - 127.0) / 128.0


ARCHITECTURES["efficientnet_lite0"] = (_efficientnet_lite0, _efficientnet_lite0_preprocess)


def network(arch: str, variant: str = "described") -> str:
    """The base actually built for ``arch`` under a training variant (``resnet50`` is
    ResNet50V2 in the published scripts)."""
    from .variants import get_variant

    _check_arch(arch)
    return get_variant(variant).resnet50 if arch == "resnet50" else arch


def preprocess_input(arch: str, variant: str = "described"):
    """The input scaling of ``arch`` under a variant: the network's own ``preprocess_input``
    (``described``) or pixels / 255 (``published``, and always for ``small``)."""
    from .variants import get_variant

    function = ARCHITECTURES[network(arch, variant)][1]
    if function is None or get_variant(variant).scaling == "unit":
        return lambda x: x / 255.0
    return function


def _check_arch(arch: str) -> None:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose from {sorted(ARCHITECTURES)}")


def head_names(features: tuple[str, ...]) -> dict[str, str]:
    """Output name of each annotation head: ``annotation`` for one, ``annotation_A`` … for
    a joint model."""
    if len(features) == 1:
        return {features[0]: ANNOTATION}
    return {f: f"{ANNOTATION}_{f}" for f in features}


def masked_mse(y_true, y_pred):
    """Mean squared error over the lesions that have an annotation.

    ``y_true[:, 0]`` is the annotation, ``y_true[:, 1]`` is 1 where it exists, 0 elsewhere.
    Returns 0 for a batch without any annotation, so nothing is propagated.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    value, available = y_true[:, 0], y_true[:, 1]
    squared = available * ops.square(value - ops.reshape(y_pred, (-1,)))
    return ops.sum(squared) / ops.maximum(ops.sum(available), 1.0)


def masked_mse_per_batch(y_true, y_pred):
    """The masked squared error as Keras 2.3.1 reduced the published ``'mse'`` with the
    mask as sample weight: Σ aᵢ(yᵢ − ŷᵢ)² divided by the batch size, not by ``A``.

    ``get_loss_function`` (``keras/engine/training_utils.py``) wrapped the string loss with
    ``Reduction.SUM_OVER_BATCH_SIZE`` and ``reduce_weighted_loss``
    (``keras/utils/losses_utils.py``) divided the weighted sum by ``_num_elements``, the batch
    size (:attr:`enhance_utils.learning.variants.Variant.annotation_loss`). A batch without
    annotations gives 0, as under :func:`masked_mse`.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    value, available = y_true[:, 0], y_true[:, 1]
    squared = available * ops.square(value - ops.reshape(y_pred, (-1,)))
    return ops.sum(squared) / ops.cast(ops.shape(squared)[0], squared.dtype)


#: the annotation loss of each value of ``Variant.annotation_loss``
ANNOTATION_LOSSES = {"annotated": masked_mse, "batch": masked_mse_per_batch}


@keras.saving.register_keras_serializable(package="enhance_utils")
class Keras2RMSprop(keras.optimizers.RMSprop):
    """RMSprop with Keras 2.3.1's update: ε outside the square root.

    Keras 2.3.1 (``keras/optimizers.py``, ``RMSprop.get_updates``) computes
    ``a = rho * a + (1 - rho) * g**2`` and ``p = p - lr * g / (sqrt(a) + epsilon)``; Keras 3's
    :class:`keras.optimizers.RMSprop` divides by ``sqrt(a + epsilon)``. The two differ where
    ``a`` is near ``epsilon`` (small gradients, the first steps). Only the plain form the
    published scripts used (no momentum, not centred) is offered; ``rho`` and ``epsilon``
    default to Keras 2's (0.9 and ``K.epsilon()`` = 1e-7, also Keras 3's).
    """

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, name="keras2_rmsprop",
                 **kwargs):
        if kwargs.pop("momentum", 0.0) or kwargs.pop("centered", False):
            raise ValueError("Keras2RMSprop has neither momentum nor centring (Keras 2.3.1's "
                             "RMSprop had neither)")
        super().__init__(learning_rate=learning_rate, rho=rho, epsilon=epsilon, name=name,
                         **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        """One update of ``variable``: Keras 2.3.1's ``new_a`` and ``new_p``."""
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self._velocities[self._get_variable_index(variable)]
        self.assign(velocity, ops.add(ops.multiply(self.rho, velocity),
                                      ops.multiply(1 - self.rho, ops.square(gradient))))
        self.assign_sub(variable, ops.divide(ops.multiply(lr, gradient),
                                             ops.add(ops.sqrt(velocity), self.epsilon)))


def optimizer(learning_rate: float, variant: str = "described"):
    """RMSprop at ``learning_rate`` as a variant has it: Keras 3's (ε inside the root) or
    :class:`Keras2RMSprop` (ε outside;
    :attr:`enhance_utils.learning.variants.Variant.rmsprop_epsilon`)."""
    from .variants import get_variant

    if get_variant(variant).rmsprop_epsilon == "outside":
        return Keras2RMSprop(learning_rate)
    return keras.optimizers.RMSprop(learning_rate)


def _small_base(inputs):
    x = inputs
    for filters in (16, 32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D()(x)
    return x


def _conv_base(arch: str, inputs, weights: str | None):
    """The convolutional base and the weights it actually got (``imagenet`` or ``random``)."""
    if arch == "small":
        return _small_base(inputs), "random"
    constructor = ARCHITECTURES[arch][0]
    try:
        base = constructor(include_top=False, weights=weights, input_tensor=inputs)
        return base.output, (weights or "random")
    except Exception as err:  # no network, no cached file: say so and go on from scratch
        if weights is None:
            raise
        print(f"note: ImageNet weights for {arch} could not be loaded ({type(err).__name__}: "
              f"{err}); starting from random initialisation, recorded in the run metadata")
        base = constructor(include_top=False, weights=None, input_tensor=inputs)
        return base.output, "random (imagenet unavailable)"


def build_model(arch: str, image_size: int, features: tuple[str, ...] = (),
                weights: str | None = "imagenet", learning_rate: float = 2e-5,
                hidden_units: int = 256, variant: str = "described"):
    """A compiled baseline (``features=()``) or multi-task model.

    The multi-task model has one linear head per annotation feature in ``features`` (one for
    the paper's models, three for a joint model) on the shared dense layer. Its loss is
    eq. (1): ``0.5 * diagnosis + 0.5 * annotation``, the annotation half split equally among
    the heads of a joint model. Under the ``published`` variant the annotation half is
    divided by the batch size instead of ``A`` (:func:`masked_mse_per_batch`) and the optimizer
    is :class:`Keras2RMSprop` (:func:`optimizer`), as Keras 2.3.1 ran the published scripts.

    Returns
    -------
    model : keras.Model
        Outputs ``diagnosis`` and the annotation heads (:func:`head_names`).
    weights_init : str
        ``imagenet``, ``random`` or ``random (imagenet unavailable)``.
    """
    from .variants import get_variant

    base_name = network(arch, variant)
    inputs = keras.Input((image_size, image_size, 3))
    conv, weights_init = _conv_base(base_name, inputs, None if arch == "small" else weights)
    hidden = layers.Flatten()(conv)
    dense = bool(features) or arch in get_variant(variant).baseline_dense
    return _heads(inputs, hidden, features, dense, hidden_units, learning_rate,
                  base_name, variant), weights_init


def build_head(n_inputs: int, features: tuple[str, ...] = (), learning_rate: float = 1e-3,
               hidden_units: int = 256, variant: str = "described",
               network_name: str = "efficientnet_lite0", steps_per_execution: int = 1):
    """The head of :func:`build_model` alone, on the pooled features of a frozen base
    (profile ``lite``: :mod:`enhance_utils.learning.features`), compiled with the same
    outputs, losses, loss weights and metrics.

    **Pooling, not Flatten.** The paper flattens the last convolutional block (VGG16 at
    384 px: 12 × 12 × 512 = 73 728 inputs to the 256-unit layer, 19 M weights) and trains
    the base with it. With the base *frozen* the head is all that learns, from 1400
    training lesions: a flattened EfficientNet-Lite0 block (7 × 7 × 1280 = 62 720 inputs at
    224 px) would give the dense layer 16 M weights, over 10 000 per training image, and tie
    it to where in the frame a lesion lies (the augmentation rotates and shifts it). Global
    average pooling — the features EfficientNet-Lite0 was trained to classify ImageNet from
    — gives 1280 translation-invariant inputs (0.33 M weights in the dense layer), and its
    1280 numbers per image and view are what the feature cache holds (a flattened block
    would be 49 times larger). The rest is the paper's: dense 256 ReLU under the heads,
    the diagnosis sigmoid head and linear annotation head(s), eq. (1) as
    :func:`build_model` compiles it.

    **Speed.** A step of this head costs far less than Keras' work around it, so the head
    runs ``steps_per_execution`` steps (a run passes one epoch's) per call of its compiled
    train function: the same steps, in the same order, on the same batches. (XLA would
    help too, but Keras turns it off under TensorFlow's op determinism, which runs need.)
    """
    from .variants import get_variant

    inputs = keras.Input((n_inputs,), name="features")
    dense = bool(features) or network_name in get_variant(variant).baseline_dense
    return _heads(inputs, inputs, features, dense, hidden_units, learning_rate, network_name,
                  variant, steps_per_execution=steps_per_execution, jit_compile=False)


def _heads(inputs, hidden, features, dense: bool, hidden_units: int, learning_rate: float,
           base_name: str, variant: str, **compile_options):
    """The dense layer (with ``dense``), the diagnosis and annotation outputs on ``hidden``,
    compiled with eq. (1) and the variant's annotation loss and optimizer."""
    from .variants import get_variant

    if dense:
        hidden = layers.Dense(hidden_units, activation="relu")(hidden)
    outputs = {DIAGNOSIS: layers.Dense(1, activation="sigmoid", name=DIAGNOSIS)(hidden)}
    losses = {DIAGNOSIS: keras.losses.BinaryCrossentropy()}
    loss_weights = {DIAGNOSIS: 1.0}
    if features:
        loss_weights[DIAGNOSIS] = 0.5
        for name in head_names(tuple(features)).values():
            outputs[name] = layers.Dense(1, activation="linear", name=name)(hidden)
            losses[name] = ANNOTATION_LOSSES[get_variant(variant).annotation_loss]
            loss_weights[name] = 0.5 / len(features)
    kind = "multitask" if features else "baseline"
    model = keras.Model(inputs, outputs, name=f"{base_name}_{kind}")
    model.compile(optimizer=optimizer(learning_rate, variant), loss=losses,
                  loss_weights=loss_weights, metrics={DIAGNOSIS: [keras.metrics.AUC(name="auc")]},
                  **compile_options)
    return model


def class_weights_for(labels, multitask: bool, variant: str = "described") -> dict | None:
    """The diagnosis class weights a model gets under a variant (``None``: every sample 1)."""
    from .variants import get_variant

    if multitask and get_variant(variant).multitask_class_weights == "none":
        return None
    return balanced_class_weights(labels)


def balanced_class_weights(labels) -> dict[int, float]:
    """``n / (2 n_c)`` per class, as scikit-learn's ``compute_class_weight('balanced')``."""
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.asarray(labels).astype(int)
    weights = compute_class_weight("balanced", classes=np.array([0, 1]), y=labels)
    return {0: float(weights[0]), 1: float(weights[1])}


def plot_architecture(ax=None):
    """A schematic of the baseline (top) and the multi-task model (bottom), as the paper's
    Fig. 2."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 3.8))
    step, width = 2.5, 2.1
    trunk = ["image\n384×384×3", "convolutional base\nVGG16, Inception v3,\nResNet50 or small CNN",
             "flatten", "dense 256\nReLU"]

    def box(x, y, text, colour):
        ax.add_patch(FancyBboxPatch((x, y - 0.32), width, 0.64, boxstyle="round,pad=0.05",
                                    fc=colour, ec="black", lw=0.8))
        ax.text(x + width / 2, y, text, ha="center", va="center", fontsize=7.5)

    def arrow(x0, y0, x1, y1):
        ax.annotate("", (x1, y1), (x0, y0), arrowprops=dict(arrowstyle="->", lw=0.8))

    heads = {"baseline": [(2.7, "dense 1, sigmoid\ndiagnosis", "#f7e3e3", "class-weighted BCE")],
             "multi-task": [(1.35, "dense 1, sigmoid\ndiagnosis", "#f7e3e3",
                             "0.5 × class-weighted BCE"),
                            (0.45, "dense 1, linear\nannotation (A, B or C)", "#e3f2e3",
                             "0.5 × MSE over the\nannotated lesions only")]}
    for y, name in [(2.7, "baseline"), (0.9, "multi-task")]:
        ax.text(-0.2, y, name, ha="right", va="center", fontsize=10, weight="bold")
        for i, text in enumerate(trunk):
            box(step * i, y, text, "#e8eef7" if i < 2 else "#f3f3f3")
            if i:
                arrow(step * i - (step - width), y, step * i, y)
        for head_y, text, colour, loss in heads[name]:
            box(step * 4, head_y, text, colour)
            arrow(step * 3 + width, y, step * 4, head_y)
            ax.text(step * 4 + width + 0.25, head_y, loss, fontsize=8, va="center")
    ax.set_xlim(-1.8, step * 4 + width + 3.2)
    ax.set_ylim(-0.05, 3.2)
    ax.set_axis_off()
    return ax
