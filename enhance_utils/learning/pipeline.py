"""The training input pipeline (chapter 06): tf.data instead of a Python generator.

decode → resize → cache → shuffle (unless the order is fixed) → batch → augment (on whole
batches) → preprocess → prefetch. The cache holds the resized ``uint8`` images, so decoding
happens once per run and every epoch still gets fresh augmentations (caching *after*
augmentation would freeze them).

The augmentation follows the paper's Keras 2 ``ImageDataGenerator`` settings — rotation
0–360°, shifts of 10%, shear 0.2, zoom 20%, channel shift 20, both flips, nearest fill —
composed into one affine map per image (:func:`augment_batch`). Keras 2 read
``shear_range=0.2`` as 0.2 *degrees*; that (tiny) shear is kept. :func:`naive_batches` is the
original one-image-at-a-time generator, kept for the benchmark in ``benchmarks/bench_pipeline.py``.
"""
from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

AUTOTUNE = tf.data.AUTOTUNE
#: the paper's augmentation (its Keras 2 ``ImageDataGenerator`` settings), used by
#: :func:`augment_batch`: rotation range in degrees, shift as a fraction of the side, shear in
#: degrees (Keras 2 read ``shear_range=0.2`` as degrees), zoom range, channel shift (0–255)
ROTATION_DEGREES = 360.0
SHIFT_FRACTION = 0.1
SHEAR_DEGREES = 0.2
ZOOM_RANGE = (0.8, 1.2)
CHANNEL_SHIFT = 20.0
SHEAR_RADIANS = math.radians(SHEAR_DEGREES)


#: the formats (Pillow's names) that :func:`decode`, ``tf.io.decode_image``, reads
DECODED_FORMATS = ("BMP", "GIF", "JPEG", "PNG", "WEBP")


def check_images(paths: list[Path], verbose: bool = True) -> list[str | None]:
    """For each image: ``None`` when it decodes completely, else the reason it cannot.

    Every image is decoded to its last byte (a JPEG at 1/8 scale, which still reads all its
    data), so that a truncated file is found here, named, before training starts, instead
    of stopping the grid inside TensorFlow. With ``verbose`` the images that cannot be read
    are printed, one line each, after a count.
    """
    reasons = [_image_problem(Path(path)) for path in paths]
    bad = [reason for reason in reasons if reason]
    if verbose and bad:
        print(f"{len(bad)} of {len(reasons)} image(s) cannot be read and are skipped:",
              *bad, sep="\n  ")
    return reasons


def _image_problem(path: Path) -> str | None:
    """Why ``path`` cannot be decoded completely by :func:`decode`, or None: a special file
    (refused unopened: reading a FIFO could block), a format TensorFlow does not read
    (:data:`DECODED_FORMATS`; a TIFF named ``.jpg`` opens in Pillow), a damaged file."""
    if path.exists() and not path.is_file():
        return f"unreadable image {path}: not a regular file (a FIFO, a device or a folder)"
    try:
        with Image.open(path) as image:
            if image.format not in DECODED_FORMATS:
                return (f"unreadable image {path}: a {image.format} file, which TensorFlow's "
                        f"decoder does not read ({', '.join(DECODED_FORMATS)})")
            image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except FileNotFoundError:
        return f"image not found: {path}"
    except Exception as err:  # noqa: BLE001 - PIL raises many types for broken files
        return f"unreadable image {path}: {type(err).__name__}: {err}"
    return None


def affine_parameters(theta, shear, zoom_x, zoom_y, shift_x, shift_y, flip_x, flip_y,
                      height: int, width: int):
    """Output-to-input affine maps in the 8-parameter form of ``keras.ops.image.affine_transform``.

    The map is built as Keras 2's ``ImageDataGenerator`` built its one: rotation by ``theta``
    (radians), shear by ``shear`` (radians), zoom, then flips, all about the image centre,
    plus a shift in pixels. Arguments are tensors of shape ``(n,)`` (flips are ±1).
    """
    cos, sin = tf.cos(theta), tf.sin(theta)
    sx, sy = zoom_x * flip_x, zoom_y * flip_y
    a00, a01 = cos * sx, -(cos * tf.sin(shear) + sin * tf.cos(shear)) * sy
    a10, a11 = sin * sx, (cos * tf.cos(shear) - sin * tf.sin(shear)) * sy
    cx = (tf.cast(width, tf.float32) - 1.0) / 2.0
    cy = (tf.cast(height, tf.float32) - 1.0) / 2.0
    a2 = cx - (a00 * cx + a01 * cy) + shift_x
    b2 = cy - (a10 * cx + a11 * cy) + shift_y
    zero = tf.zeros_like(theta)
    return tf.stack([a00, a01, a2, a10, a11, b2, zero, zero], axis=1)


def augment_batch(images, seed=None):
    """Random rotation 0–360°, shifts of 10%, shear 0.2°, zoom 0.8–1.2, both flips and a
    channel shift of up to ±20 for a batch of 0–255 float images.

    All geometric changes are composed into one affine map per image and applied in a single
    resampling (``keras.ops.image.affine_transform``, nearest fill), instead of one pass per
    transformation as a chain of Keras preprocessing layers would do.

    ``seed`` (a shape-``(2,)`` integer tensor) makes the draw a pure function of the seed
    (stateless random ops), so a training run is reproducible; without it the draw is random.
    """
    shape = tf.shape(images)
    n, height, width = shape[0], shape[1], shape[2]
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    seeds = iter(tf.unstack(tf.random.experimental.stateless_split(seed, 9))) \
        if seed is not None else None

    def uniform(low, high):
        if seeds is None:
            return tf.random.uniform((n,), low, high)
        return tf.random.stateless_uniform((n,), next(seeds), low, high)

    def flip():
        return tf.where(uniform(0.0, 1.0) < 0.5, -1.0, 1.0)

    transforms = affine_parameters(
        uniform(0.0, math.radians(ROTATION_DEGREES)), uniform(-SHEAR_RADIANS, SHEAR_RADIANS),
        uniform(*ZOOM_RANGE), uniform(*ZOOM_RANGE),
        uniform(-SHIFT_FRACTION, SHIFT_FRACTION) * w, uniform(-SHIFT_FRACTION, SHIFT_FRACTION) * h,
        flip(), flip(), height, width)
    moved = keras.ops.image.affine_transform(images, transforms, interpolation="bilinear",
                                             fill_mode="nearest")
    shifted = moved + tf.reshape(uniform(-CHANNEL_SHIFT, CHANNEL_SHIFT), (-1, 1, 1, 1))
    return tf.clip_by_value(shifted, 0.0, 255.0)


def decode(path):
    """An image file as training sees it: TensorFlow's decoder (whose JPEG pixels can differ
    from Pillow's by a few levels), ``uint8`` (rows, cols, 3)."""
    return tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)


#: the resizes :func:`resize` offers (:attr:`enhance_utils.learning.variants.Variant.resize`)
RESIZE_METHODS = ("bilinear", "nearest")
#: the orders :func:`make_dataset` offers (:attr:`enhance_utils.learning.variants.Variant.order`)
ORDERS = ("reshuffled", "fixed")


def _pil_nearest(image: np.ndarray, image_size: int) -> np.ndarray:
    """Pillow's nearest-neighbour resize, the call Keras 2's ``load_img`` made
    (``img.resize(width_height_tuple, resample)`` with ``resample = pil_image.NEAREST``)."""
    return np.asarray(Image.fromarray(np.asarray(image, np.uint8)).resize(
        (image_size, image_size), Image.NEAREST))


def resize(image, image_size: int, method: str = "bilinear"):
    """An RGB image (any size, 0–255) at the models' input size as training sees it,
    ``uint8``, ``image_size`` square.

    ``method`` is ``"bilinear"`` (antialiased bilinear, rounded: the ``described`` variant) or
    ``"nearest"`` (Pillow's nearest neighbour, what Keras 2.3.1's
    ``load_img(path, target_size=...)`` did by default: keras-preprocessing 1.1.0,
    ``keras_preprocessing/image/utils.py``, ``interpolation='nearest'``; the ``published``
    variant). Pillow itself resizes there, because TensorFlow's nearest neighbour picks other
    rows for some sizes (its float32 coordinates against Pillow's float64 ones).
    """
    if method == "nearest":
        out = tf.numpy_function(lambda a: _pil_nearest(a, image_size),
                                [tf.cast(image, tf.uint8)], tf.uint8, stateful=False)
        return tf.ensure_shape(out, (image_size, image_size, 3))
    if method != "bilinear":
        raise ValueError(f"unknown resize {method!r}; choose from {RESIZE_METHODS}")
    image = tf.image.resize(image, (image_size, image_size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def _load(path, image_size: int, method: str = "bilinear"):
    return resize(decode(path), image_size, method)


def targets_and_weights(labels, heads: dict, class_weights: dict | None = None
                        ) -> tuple[dict, dict]:
    """The targets and per-sample weights of each output, as :func:`make_dataset` feeds them:
    ``diagnosis`` the label (weighted by ``class_weights``), and per annotation head (output
    name → ``(values, available)``) ``[value, available]`` with weight 1 (its loss masks
    itself, :func:`enhance_utils.learning.models.masked_mse`)."""
    labels = np.asarray(labels, np.float32).reshape(-1, 1)
    weights = np.ones(len(labels), np.float32)
    if class_weights:
        weights = np.where(labels[:, 0] > 0.5, class_weights[1],
                           class_weights[0]).astype(np.float32)
    targets = {"diagnosis": labels}
    sample_weights = {"diagnosis": weights}
    for name, (values, present) in heads.items():
        targets[name] = np.stack([np.nan_to_num(np.asarray(values, np.float32)),
                                  np.asarray(present, np.float32)], axis=1)
        sample_weights[name] = np.ones(len(labels), np.float32)
    return targets, sample_weights


def make_dataset(paths, labels, image_size: int, batch_size: int, preprocess, *,
                 annotation=None, available=None, heads: dict | None = None,
                 class_weights: dict | None = None, training: bool = False, seed: int = 0,
                 cache: bool = True, resize_method: str = "bilinear",
                 order: str = "reshuffled", repeat: bool = False) -> tf.data.Dataset:
    """A batched dataset of ``(images, targets, sample_weights)``.

    Targets are ``{"diagnosis": label}`` plus, for a multi-task model, one entry per
    annotation head, ``[value, available]``: ``heads`` maps an output name to its
    ``(values, available)`` (``annotation=``/``available=`` is the one-head shorthand for
    ``heads={"annotation": (annotation, available)}``). Sample weights carry the class
    weights of the diagnosis (1 for the annotation outputs, whose loss masks itself).

    A training dataset is reproducible: its shuffle is seeded by ``seed``, and each batch's
    augmentation by a per-batch seed drawn from a seeded, per-epoch re-randomized stream
    (``tf.data.Dataset.random``), so epoch *k* of a run sees the same batches on every rerun.

    ``resize_method`` is :func:`resize`'s ``method``. ``order`` (training only) is
    ``"reshuffled"`` (a new order every pass) or ``"fixed"``: the lesions in the order given,
    never reshuffled, as the published generator walked them (``generate_data.py``: an index
    that wraps to 0; :attr:`enhance_utils.learning.variants.Variant.order`). ``repeat`` makes
    the dataset endless (for a fit with ``steps_per_epoch``): in the fixed order the lesions
    repeat *before* batching, so that a batch runs over the end of the list into its start,
    as the published generator's did, and the next epoch goes on where the last stopped
    (Keras 3's fit keeps one iterator across epochs when ``steps_per_epoch`` is given, as
    Keras 2.3.1's ``fit_generator`` kept its ``output_generator``).
    """
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose from {ORDERS}")
    fixed = training and order == "fixed"
    heads = dict(heads or {})
    if annotation is not None:
        heads["annotation"] = (annotation, available)
    targets, sample_weights = targets_and_weights(labels, heads, class_weights)
    data = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], targets, sample_weights))
    data = data.map(lambda p, t, w: (_load(p, image_size, resize_method), t, w),
                    num_parallel_calls=AUTOTUNE)
    if cache:
        data = data.cache()
    if training and not fixed:
        data = data.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    if fixed and repeat:
        data = data.repeat()
    data = data.batch(batch_size)
    if training:
        keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        data = tf.data.Dataset.zip((data, keys))

        def prepare(batch, key):
            images, targets, weights = batch
            pair = tf.stack([key, tf.constant(seed, tf.int64)])
            images = augment_batch(tf.cast(images, tf.float32), seed=pair)
            return preprocess(images), targets, weights
    else:
        def prepare(images, targets, weights):
            return preprocess(tf.cast(images, tf.float32)), targets, weights

    data = data.map(prepare, num_parallel_calls=AUTOTUNE)
    if repeat and not fixed:
        data = data.repeat()
    return data.prefetch(AUTOTUNE)


def naive_batches(paths, image_size: int, batch_size: int, seed: int = 0):
    """The original approach: load, resize and augment one image at a time in Python."""
    from keras.src.legacy.preprocessing.image import ImageDataGenerator  # Keras 2 API, kept

    generator = ImageDataGenerator(rotation_range=360, width_shift_range=0.1,
                                   height_shift_range=0.1, shear_range=0.2, zoom_range=0.2,
                                   channel_shift_range=20, horizontal_flip=True,
                                   vertical_flip=True, fill_mode="nearest")
    rng = np.random.default_rng(seed)
    index = 0
    while True:
        batch = []
        for _ in range(batch_size):
            with Image.open(paths[index % len(paths)]) as image:
                array = np.asarray(image.convert("RGB").resize((image_size, image_size)),
                                   np.float32)
            batch.append(generator.random_transform(array, seed=int(rng.integers(2**31))) / 255.0)
            index += 1
        yield np.stack(batch)


def plot_augmentations(path, n: int = 9, image_size: int = 128, seed: int = 0):
    """``n`` augmented versions of the image at ``path`` (:func:`make_dataset` in training
    mode, ``image_size`` pixels) side by side; the axes."""
    import matplotlib.pyplot as plt

    batch = make_dataset([path] * n, [0] * n, image_size, n, lambda x: x / 255.0,
                         training=True, seed=seed, cache=False)
    images = next(iter(batch))[0].numpy()
    _, axes = plt.subplots(1, n, figsize=(13 * n / 9, 1.8), squeeze=False)
    for ax, image in zip(axes[0], images):
        ax.imshow(image)
        ax.set_axis_off()
    return axes[0]
