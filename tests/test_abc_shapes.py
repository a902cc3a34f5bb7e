"""Automated ABC scores on synthetic lesions whose ordering is known (issue 13).

Border: a disc and an ellipse have no irregular outline and must score lowest and alike,
below a lobed star, below a jagged outline. Colour: a lesion of one, two and four reference
colours. Both modes are run; where the published mode cannot order the shapes, the test says
what it does instead.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.draw import disk, ellipse, polygon

from enhance_utils.abc import fast, reference
from enhance_utils.abc.core import REFERENCE_COLOURS
from enhance_utils.abc.reference.border import turning_points

SHAPE = (400, 400)
IMPLS = [reference, fast]


def _canvas():
    return np.zeros(SHAPE, np.uint8)


def disc_mask(radius):
    g = _canvas()
    g[disk((SHAPE[0] / 2, SHAPE[1] / 2), radius, shape=SHAPE)] = 255
    return g


def ellipse_mask(axes=(60, 150), rotation=0.0):
    g = _canvas()
    g[ellipse(SHAPE[0] / 2, SHAPE[1] / 2, axes[0], axes[1], shape=SHAPE, rotation=rotation)] = 255
    return g


def polygon_mask(radii, phase=0.1):
    """A polygon around the centre with one vertex per radius, evenly spread in angle."""
    angles = phase + np.arange(len(radii)) * 2 * math.pi / len(radii)
    g = _canvas()
    g[polygon(SHAPE[0] / 2 + radii * np.sin(angles), SHAPE[1] / 2 + radii * np.cos(angles),
              shape=SHAPE)] = 255
    return g


def star_mask(lobes=8):
    return polygon_mask(np.tile([150.0, 90.0], lobes))


def jagged_mask(seed=0):
    rng = np.random.default_rng(seed)
    return polygon_mask(120 * (1 + 0.18 * rng.uniform(-1, 1, 60)))


SMOOTH = {"disc r=30": disc_mask(30), "disc r=150": disc_mask(150),
          "ellipse": ellipse_mask(), "ellipse, turned": ellipse_mask(rotation=0.5),
          "thin ellipse, turned": ellipse_mask((30, 80), rotation=1.0)}


def border_scores(mode):
    """Border score of every synthetic outline in one mode (fast implementation)."""
    def score(mask):
        return getattr(fast, f"border_{mode}")(mask > 0 if mode == "described" else mask).score
    return ({name: score(m) for name, m in SMOOTH.items()}, score(star_mask()),
            min(score(jagged_mask(seed)) for seed in range(3)))


def test_described_border_orders_smooth_star_jagged():
    smooth, star, jagged = border_scores("described")
    assert set(smooth.values()) == {0}      # no irregularity: no turning point beyond the box's
    assert 0 < star < jagged


def test_published_border_orders_smooth_star_jagged():
    smooth, star, jagged = border_scores("published")
    assert max(smooth.values()) - min(smooth.values()) <= 2   # alike, but never zero
    assert min(smooth.values()) > 0
    assert max(smooth.values()) < star < jagged


def test_described_border_grows_with_the_lobes():
    scores = [reference.border_described(star_mask(k) > 0).score for k in (5, 6, 8)]
    assert scores == sorted(scores) and scores[0] < scores[-1]


def test_described_border_ignores_the_staircase_only_with_the_threshold():
    turned = ellipse_mask((30, 80), rotation=0.5) > 0
    assert reference.border_described(turned).score == 0
    assert reference.border_described(turned, prominence=None).score > 5


@pytest.mark.parametrize("values, expected", [
    ([3, 2, 1, 0, 0, 0, 1, 2, 3], 1),            # one dip, flat bottom
    ([3, 2, 1, 0, 1, 0, 1, 0, 1, 2, 3], 1),      # jitter smaller than the threshold
    ([0, 3, 0, 3, 0], 3),                         # two peaks and the valley between them
    ([0, 1, 2, 3], 0),                            # monotone: the ends are no turning points
])
def test_turning_points_zigzag(values, expected):
    assert turning_points(np.asarray(values, float), 1.5) == expected


# --------------------------------------------------------------------------- colour
def colour_lesion(names, noise=0, seed=0):
    """A box lesion split into equal bands of the named reference colours on skin."""
    image = np.zeros((200, 260, 3), np.uint8)
    image[:] = (230, 200, 180)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[30:170, 30:230] = 255
    edges = np.linspace(30, 230, len(names) + 1).astype(int)
    for name, a, b in zip(names, edges[:-1], edges[1:]):
        image[30:170, a:b] = REFERENCE_COLOURS[name]
    if noise:
        jitter = np.random.default_rng(seed).integers(-noise, noise + 1, image.shape)
        image = np.clip(image.astype(int) + jitter, 0, 255).astype(np.uint8)
    return image, mask


LESIONS = {1: ["dark_brown"], 2: ["dark_brown", "blue_gray"],
           4: ["white", "black", "blue_gray", "dark_brown"]}


@pytest.mark.parametrize("impl", IMPLS, ids=["reference", "fast"])
def test_described_colour_counts_one_two_many(impl):
    for n, names in LESIONS.items():
        image, mask = colour_lesion(names)
        result = impl.colour_described(image, mask > 0, n_segments=60)
        assert result.score == n
        assert sorted(result.raw["colours"]) == sorted(names)


def test_described_colour_thresholds_each_unique_colour():
    # step 6 of Appendix C: one unique colour must cover more than 5 % of the lesion by
    # itself. With pixel noise every superpixel has its own mean colour, none covers 5 %,
    # and the rule finds no colour: the literal text cannot score noisy images
    image, mask = colour_lesion(LESIONS[4], noise=8)
    result = reference.colour_described(image, mask > 0, n_segments=60)
    assert result.score == 0
    assert max(result.raw["share"].values()) < 0.05 < 1 / len(LESIONS[4])


def test_published_colour_cannot_tell_two_from_many():
    scores = [fast.colour_published(*colour_lesion(names), n_segments=60).score
              for names in LESIONS.values()]
    # the reference colours appended to the unique colours count for each other (red and the
    # browns lie within 0.4), and the skin outside the mask is one more unique colour: a
    # one-colour lesion already scores 5 of 6, and two and four colours both score 6
    assert scores == [5, 6, 6]
