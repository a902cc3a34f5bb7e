"""Synthetic masks and images shared by the ABC tests (not a test module)."""
from __future__ import annotations

import math

import numpy as np
from skimage.draw import disk, ellipse, polygon

from enhance_utils.data import datasets
from enhance_utils.abc.core import REFERENCE_COLOURS, Skip
from enhance_utils.abc.inputs import read_mask


def disc(shape=(161, 181), radius=50):
    g = np.zeros(shape, np.uint8)
    rr, cc = disk((shape[0] // 2, shape[1] // 2), radius, shape=shape)
    g[rr, cc] = 255
    return g


def ellipse_mask(shape=(181, 221), axes=(30, 80), rotation=0.0, centre=None):
    g = np.zeros(shape, np.uint8)
    centre = centre or (shape[0] // 2, shape[1] // 2)
    rr, cc = ellipse(centre[0], centre[1], axes[0], axes[1], shape=shape, rotation=rotation)
    g[rr, cc] = 255
    return g


def star(k, shape=(241, 241), outer=100, inner=45, phase=0.1):
    angles = phase + np.arange(2 * k) * math.pi / k
    radii = np.where(np.arange(2 * k) % 2 == 0, outer, inner)
    g = np.zeros(shape, np.uint8)
    rr, cc = polygon(shape[0] / 2 + radii * np.sin(angles), shape[1] / 2 + radii * np.cos(angles),
                     shape=shape)
    g[rr, cc] = 255
    return g


def teardrop(shape=(181, 241)):
    """A disc and a smaller disc joined: clearly asymmetric along its major axis."""
    g = disc(shape, 55)
    rr, cc = disk((shape[0] // 2, shape[1] // 2 + 60), 25, shape=shape)
    g[rr, cc] = 255
    return g


def colour_patches(names, shape=(120, 180)):
    """An image whose lesion (the central box) is split into equal patches of the named
    reference colours, on a skin-like background."""
    image = np.zeros(shape + (3,), np.uint8)
    image[:] = (230, 200, 180)
    mask = np.zeros(shape, np.uint8)
    r0, r1, c0, c1 = 20, shape[0] - 20, 20, shape[1] - 20
    mask[r0:r1, c0:c1] = 255
    edges = np.linspace(c0, c1, len(names) + 1).astype(int)
    for name, a, b in zip(names, edges[:-1], edges[1:]):
        image[r0:r1, a:b] = REFERENCE_COLOURS[name]
    return image, mask


def random_masks(n, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        h, w = int(rng.integers(80, 260)), int(rng.integers(80, 260))
        g = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            rr, cc = ellipse(rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w,
                             rng.uniform(0.05, 0.3) * h, rng.uniform(0.05, 0.3) * w,
                             shape=(h, w), rotation=rng.uniform(0, 3))
            g[rr, cc] = 255
        yield g


def outcome(func, *args):
    try:
        r = func(*args)
    except Skip as err:
        return ("skip", str(err))
    return (r.score, r.raw)


def real_masks(data_root) -> list[np.ndarray]:
    """Five ISIC masks of different sizes and shapes and one PH2 mask (a 1-bit BMP)."""
    ids = ["ISIC_0000000", "ISIC_0000013", "ISIC_0000046", "ISIC_0000039", "ISIC_0010466"]
    masks = [read_mask(datasets.isic_mask_path(i, data_root)).gray for i in ids]
    return masks + [read_mask(datasets.ph2_mask_path("IMD003", data_root)).gray]
