"""Cached features of a frozen backbone (profile ``lite``, chapters 06–08).

A profile whose backbone is frozen (:attr:`enhance_utils.profiles.Training.frozen`) trains only
the head of the paper's model (:func:`enhance_utils.learning.models.build_head`); what the
backbone makes of each image never changes, so it is computed once and kept on disk. Every
run then reads its lesions' features and trains the head in seconds.

**Views.** Each image has ``views + 1`` *views*: view 0 is the plain image (resized as
training resizes, :func:`enhance_utils.learning.pipeline.resize`), views 1, 2, … are the
paper's augmentation (:func:`enhance_utils.learning.pipeline.augment_batch`: rotation,
shifts, shear, zoom, flips, channel shift) drawn with a seed fixed by the view's number and
the image's content, so a view is the same on every machine, in every run and whatever else
is extracted with it. Training draws one view per training image and epoch
(:func:`enhance_utils.learning.run.feature_dataset`); validation and test read view 0.

**Files.** One ``.npy`` file (``float32``, the pooled features) per image and view::

    <cache>/features/<network>-<weights checksum, 16 hex>-<size>px/<augmentation>/view<k>/
        <sha256 of the image file, first 2 hex>/<sha256 of the image file>.npy

under :func:`enhance_utils.data.paths.cache_dir`. The key is the image's *content* (its
SHA-256, so a moved, copied or re-downloaded mirror reuses the cache, and a changed file
misses it), the checksum of the backbone's weights (:func:`weights_checksum`, over the
weights as built, so other weights never read these features), the input size and the
augmentation recipe (:data:`AUGMENTATION`, bumped whenever the views' recipe changes). One file
per view lets a profile with more views reuse the views it shares with one with fewer.
Files are written atomically (a private temporary file renamed into place): concurrent
trainers (the Ray executor) may both compute a missing feature, and a reader never sees half
of one. In one process the features read are also kept in memory (:data:`MEMORY`), so a grid
reads each file once.

**Partial fine-tuning, measured and not offered.** Training the last MBConv block
(``block15``: 192 → 1152 → 320 channels at 7 × 7) and the 1 × 1 head convolution (1.0 M
weights) with the head, from cached ``block15`` inputs, would need 7 × 7 × 192 numbers per
image and view (37.6 kB in ``float32``, 376 MB for 2000 images × 5 views, 49 times the
pooled features) and costs, measured on the two shared cores (load about 6), 11.5 s per
epoch of 1400 lesions (batch 20): about 4 minutes per 20-epoch run, some 11 hours for the
165 runs of the five-split grid, against seconds for the head alone.

**Exactness.** The backbone's floating-point result for an image can differ in the last bits
with the batch it was computed in (TensorFlow picks kernels by batch shape); the cache keeps
the first result, so every run reads the same features and a run is reproduced byte for byte.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data import paths

#: the views' recipe: the paper's augmentation (pipeline.augment_batch) seeded per image and
#: view; change it whenever what a view holds changes (the cache then misses)
AUGMENTATION = "paper-v1"
#: images per forward pass of the backbone while extracting
BATCH_SIZE = 32
#: features read in this process: file path -> array (a grid reads each file once)
MEMORY: dict[str, np.ndarray] = {}
_DIGESTS: dict[tuple, str] = {}
_BACKBONES: dict[tuple, "Backbone"] = {}


@dataclass(frozen=True)
class Backbone:
    """A frozen backbone: the network's name, input size, the model (image → pooled features),
    its input scaling and the checksum of its weights."""

    network: str
    image_size: int
    checksum: str
    model: object = field(repr=False, compare=False)
    preprocess: object = field(repr=False, compare=False)

    @property
    def tag(self) -> str:
        """The cache folder of this backbone: network, weights checksum (16 hex) and size."""
        return f"{self.network}-{self.checksum[:16]}-{self.image_size}px"

    @property
    def dim(self) -> int:
        return int(self.model.output_shape[-1])


def weights_checksum(model) -> str:
    """SHA-256 over a model's weights (shapes, dtypes and bytes, in order)."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        array = np.ascontiguousarray(weight)
        digest.update(f"{array.shape}|{array.dtype}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def backbone(network: str = "efficientnet_lite0", image_size: int = 224,
             weights: str | None = "imagenet") -> Backbone:
    """The frozen backbone ``network`` at ``image_size`` with global average pooling (built
    once per process)."""
    key = (network, image_size, weights)
    if key not in _BACKBONES:
        if network != "efficientnet_lite0":
            raise ValueError(f"no frozen backbone {network!r}; the cached features exist for "
                             f"efficientnet_lite0")
        from . import efficientnet_lite

        model = efficientnet_lite.build(image_size=image_size, include_top=False,
                                        pooling="avg", weights=weights)
        model.trainable = False
        _BACKBONES[key] = Backbone(network, image_size, weights_checksum(model), model,
                                   efficientnet_lite.preprocess_input)
    return _BACKBONES[key]


def image_digest(path) -> str:
    """SHA-256 of an image file's bytes (remembered per path, size and modification time)."""
    path = Path(path)
    info = path.stat()
    key = (str(path.resolve()), info.st_size, info.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _DIGESTS[key]


def cache_root() -> Path:
    """``features/`` in :func:`enhance_utils.data.paths.cache_dir`."""
    return paths.cache_dir() / "features"


def feature_path(root, model: Backbone, view: int, digest: str) -> Path:
    """The file of one image's (``digest``) features in one view."""
    return (Path(root) / model.tag / AUGMENTATION / f"view{view}" / digest[:2]
            / f"{digest}.npy")


def view_seed(view: int, digest: str) -> list[int]:
    """The stateless seed of an image's augmented view: the view and 62 bits of its digest."""
    return [view, int(digest[:15], 16)]


def view_images(paths_, views, digests, image_size: int):
    """The images of ``(path, view)`` pairs as the backbone sees them before scaling:
    ``float32`` 0–255, ``image_size`` square; a tf.data dataset of single images."""
    import tensorflow as tf

    from .pipeline import augment_batch, decode, resize

    seeds = np.array([view_seed(v, d) for v, d in zip(views, digests)], np.int64)

    def load(path, view, seed):
        image = tf.cast(resize(decode(path), image_size), tf.float32)
        return tf.cond(view > 0, lambda: augment_batch(image[None], seed=seed)[0],
                       lambda: image)

    data = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths_],
                                               np.asarray(views, np.int64), seeds))
    return data.map(load, num_parallel_calls=tf.data.AUTOTUNE)


def _write(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` atomically (a private temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(temp, "wb") as handle:
            np.save(handle, array)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _read(path: Path) -> np.ndarray | None:
    key = str(path)
    if key not in MEMORY:
        try:
            MEMORY[key] = np.load(path)
        except (FileNotFoundError, ValueError, OSError):
            return None  # absent, or damaged: computed again
    return MEMORY[key]


def extract(image_paths, views, model: Backbone, root=None, progress: bool = False,
            batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Features of every image in every view: an array ``(len(views), len(image_paths),
    model.dim)``; missing ones are computed (in batches) and cached, the rest read.

    ``root`` is the cache folder (default :func:`cache_root`).
    """
    import tensorflow as tf

    root = Path(root) if root is not None else cache_root()
    views = [int(v) for v in views]
    digests = [image_digest(p) for p in image_paths]
    out = np.zeros((len(views), len(digests), model.dim), np.float32)
    todo = []  # (row, column, file)
    for i, view in enumerate(views):
        for j, digest in enumerate(digests):
            found = _read(feature_path(root, model, view, digest))
            if found is None:
                todo.append((i, j, feature_path(root, model, view, digest)))
            else:
                out[i, j] = found
    if todo:
        images = view_images([image_paths[j] for _, j, _ in todo],
                             [views[i] for i, _, _ in todo], [digests[j] for _, j, _ in todo],
                             model.image_size)
        # the scaling on NumPy arrays (efficientnet_lite.preprocess_input takes NumPy only)
        forward = tf.function(lambda x: model.model(x, training=False))
        batches = images.batch(batch_size).prefetch(2)
        done = 0
        from tqdm.auto import tqdm

        with tqdm(total=len(todo), desc=f"features {model.tag}", disable=not progress) as bar:
            for batch in batches:
                values = forward(model.preprocess(batch.numpy())).numpy().astype(np.float32)
                for value, (i, j, path) in zip(values, todo[done:done + len(values)]):
                    _write(path, value)
                    MEMORY[str(path)] = value
                    out[i, j] = value
                done += len(values)
                bar.update(len(values))
    return out


def clear_memory() -> None:
    """Forget the features read in this process (the files stay)."""
    MEMORY.clear()


def prepare(image_paths, settings, archs, progress: bool = True) -> float:
    """Extract (or find cached) every view of ``image_paths`` for each frozen base of
    ``archs`` under a profile's ``settings``
    (:class:`~enhance_utils.profiles.Training`): what a grid's driver does once before its
    runs, so that none of them extracts; returns the seconds it took."""
    import time

    start = time.perf_counter()
    for arch in dict.fromkeys(archs):
        model = backbone(arch, settings.image_size, settings.weights)
        extract(list(image_paths), range(settings.views + 1), model, progress=progress)
    return time.perf_counter() - start
