"""EfficientNet-Lite0's forward pass in plain NumPy, written from the PyTorch definition
(``efficientnet_lite_pytorch/model.py`` and ``utils.py`` of efficientnet-lite-pytorch 0.1.0),
not from the Keras port: NCHW images, the state dict's own tensors and names, float64.

It follows ``EfficientNet.extract_features`` and ``forward`` in eval mode (no dropout, no drop
connect): ``_swish`` is ReLU6 for the lite models, batch norm uses the running statistics with
``batch_norm_epsilon`` 1e-3, every convolution pads as ``Conv2dDynamicSamePadding`` does
(``ceil(n / stride)`` outputs, ``pad // 2`` before and the rest after). The blocks are decoded
from the reference's own block strings of ``efficientnet_lite`` (lite0: width and depth 1.0, so
no rounding changes them).
"""
from __future__ import annotations

import math

import numpy as np

#: ``efficientnet_lite``'s block strings (utils.py), as the reference decodes them
BLOCK_STRINGS = ["r1_k3_s11_e1_i32_o16", "r2_k3_s22_e6_i16_o24", "r2_k5_s22_e6_i24_o40",
                 "r3_k3_s22_e6_i40_o80", "r3_k5_s11_e6_i80_o112", "r4_k5_s22_e6_i112_o192",
                 "r1_k3_s11_e6_i192_o320"]
EPS = 1e-3


def decode(block_string: str) -> dict:
    """``BlockDecoder._decode_block_string`` for the options lite0 uses."""
    fields = {part[0]: part[1:] for part in block_string.split("_")}
    return {"repeat": int(fields["r"]), "kernel": int(fields["k"]),
            "stride": int(fields["s"][0]), "expand": int(fields["e"]),
            "input": int(fields["i"]), "output": int(fields["o"])}


def same_pad(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """``Conv2dDynamicSamePadding``'s padding of an NCHW array."""
    pads = []
    for size in x.shape[2:]:
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, [(0, 0), (0, 0), *pads])


def conv2d(x: np.ndarray, weight: np.ndarray, stride: int = 1, depthwise=False) -> np.ndarray:
    """``F.conv2d`` (cross-correlation, no bias) after same padding; weight OIHW, or O1HW with
    ``groups`` = channels when ``depthwise``."""
    kernel = weight.shape[-1]
    x = same_pad(x, kernel, stride)
    windows = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]  # N, C, H', W', kh, kw
    if depthwise:
        return np.einsum("nchwij,cij->nchw", windows, weight[:, 0], optimize=True)
    return np.einsum("nchwij,ocij->nohw", windows, weight, optimize=True)


def batch_norm(x: np.ndarray, state: dict, name: str) -> np.ndarray:
    """``nn.BatchNorm2d`` in eval mode."""
    scale = state[f"{name}.weight"] / np.sqrt(state[f"{name}.running_var"] + EPS)
    shift = state[f"{name}.bias"] - state[f"{name}.running_mean"] * scale
    return x * scale[:, None, None] + shift[:, None, None]


def relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 6.0)


def mbconv(x: np.ndarray, state: dict, name: str, args: dict) -> np.ndarray:
    """``MBConvBlock.forward`` without squeeze-excite (lite) and without drop connect."""
    inputs = x
    if args["expand"] != 1:
        x = relu6(batch_norm(conv2d(x, state[f"{name}._expand_conv.weight"]), state,
                             f"{name}._bn0"))
    x = conv2d(x, state[f"{name}._depthwise_conv.weight"], args["stride"], depthwise=True)
    x = relu6(batch_norm(x, state, f"{name}._bn1"))
    x = batch_norm(conv2d(x, state[f"{name}._project_conv.weight"]), state, f"{name}._bn2")
    if args["stride"] == 1 and args["input"] == args["output"]:
        x = x + inputs
    return x


def extract_features(images: np.ndarray, state: dict) -> np.ndarray:
    """``EfficientNet.extract_features``: NCHW images → the NCHW 1280-channel map."""
    state = {k: v.astype(np.float64) for k, v in state.items()}
    x = relu6(batch_norm(conv2d(images.astype(np.float64), state["_conv_stem.weight"], 2),
                         state, "_bn0"))
    index = 0
    for block_string in BLOCK_STRINGS:
        args = decode(block_string)
        for repeat in range(args["repeat"]):
            if repeat:  # the repeats keep the size: input = output, stride 1
                args = dict(args, input=args["output"], stride=1)
            x = mbconv(x, state, f"_blocks.{index}", args)
            index += 1
    return relu6(batch_norm(conv2d(x, state["_conv_head.weight"]), state, "_bn1"))


def forward(images: np.ndarray, state: dict) -> np.ndarray:
    """``EfficientNet.forward`` in eval mode: logits (N, 1000) of NCHW images."""
    pooled = extract_features(images, state).mean(axis=(2, 3))
    return pooled @ state["_fc.weight"].T.astype(np.float64) + state["_fc.bias"]
