"""The ABC algorithms: known answers on synthetic lesions, and fast = reference (the oracle).

The equality on every mask of both datasets is checked by ``benchmarks/bench_automated_abc.py
--oracle``; here on random shapes and a sample of real masks.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from abc_masks import (colour_patches, disc, ellipse_mask, outcome, random_masks, real_masks,
                       star, teardrop)

from enhance_utils.data import datasets
from enhance_utils.abc import fast, reference
from enhance_utils.abc.fast import asymmetry as fast_asymmetry
from enhance_utils.abc.fast import geometry
from enhance_utils.abc.inputs import read_mask

IMPLS = [reference, fast]


# --------------------------------------------------------------------------- asymmetry
@pytest.mark.parametrize("impl", IMPLS, ids=["reference", "fast"])
def test_published_asymmetry_of_symmetric_shapes(impl):
    for mask in (disc(), ellipse_mask()):
        result = impl.asymmetry_published(mask)
        assert result.score == 0
        assert result.raw["ii"] > 0.9   # the padding of the warps costs a few per cent


@pytest.mark.parametrize("impl", IMPLS, ids=["reference", "fast"])
def test_published_asymmetry_does_not_align_a_rotated_ellipse(impl):
    # the published procedure takes the orientation of the *background*, which is that of
    # the image rectangle: a rotated ellipse is not brought onto the axes and looks
    # asymmetric; the described mode aligns the lesion itself
    mask = ellipse_mask(rotation=0.6)
    published = impl.asymmetry_published(mask)
    described = impl.asymmetry_described(mask > 0)
    assert published.score == 2 and published.raw["ii"] < 0.7
    assert described.score == 0 and described.raw["ii"] > 0.97


@pytest.mark.parametrize("impl", IMPLS, ids=["reference", "fast"])
def test_published_asymmetry_counts_the_padding(impl):
    # a disc off-centre: the published translation adds padding on one side only
    mask = ellipse_mask(shape=(201, 201), axes=(30, 30), centre=(60, 70))
    result = impl.asymmetry_published(mask)
    assert 0 <= result.raw["ii"] <= 1
    assert result.score == int(result.raw["ratio_ud"] < 0.9) + int(result.raw["ratio_lr"] < 0.9)


def test_described_asymmetry_known_answers():
    for mask in (disc(), ellipse_mask(), ellipse_mask(rotation=0.6)):
        result = reference.asymmetry_described(mask > 0)
        assert result.score == 0 and result.raw["ii"] > 0.97
    drop = reference.asymmetry_described(teardrop() > 0)
    # symmetric across the major axis, not across the minor axis
    assert drop.raw["ratio_major"] > 0.97
    assert drop.raw["ratio_minor"] < 0.9
    assert drop.score == 1


def test_described_asymmetry_is_rotation_invariant():
    a = reference.asymmetry_described(ellipse_mask(rotation=0.0) > 0).raw["ii"]
    b = reference.asymmetry_described(ellipse_mask(rotation=1.1) > 0).raw["ii"]
    assert a == pytest.approx(b, abs=0.02)


# --------------------------------------------------------------------------- border
# the described border score on smooth, lobed and jagged outlines: tests/test_abc_shapes.py


@pytest.mark.parametrize("impl", IMPLS, ids=["reference", "fast"])
def test_published_border_star_scores_more_than_disc(impl):
    assert impl.border_published(disc()).score < impl.border_published(star(8)).score



# --------------------------------------------------------------------------- colour
@pytest.mark.parametrize("names", [["dark_brown"], ["white", "black"],
                                   ["white", "red", "blue_gray", "black"]])
def test_described_colour_finds_the_patches(names):
    image, mask = colour_patches(names)
    for impl in IMPLS:
        result = impl.colour_described(image, mask > 0, n_segments=40)
        # exact reference colours are found; light/dark brown and red are close to each
        # other (< 0.4), so a red or brown patch may also count as its neighbour
        assert set(names) <= set(result.raw["colours"])
        assert "white" in names or "white" not in result.raw["colours"]


def test_published_colour_counts_neighbouring_references():
    image, mask = colour_patches(["white", "black"])
    result = reference.colour_published(image, mask, n_segments=40)
    assert {"white", "black"} <= set(result.raw["colours"])
    # as published, the appended reference colours count for each other: dark brown, red
    # and light brown lie within 0.4 of one another, so they are present without any pixel
    assert {"red", "dark_brown"} <= set(result.raw["colours"])
    assert result.score == len(result.raw["colours"])


def test_colour_fast_equals_reference_on_synthetic():
    image, mask = colour_patches(["white", "red", "blue_gray"])
    rng = np.random.default_rng(1)
    noisy = np.clip(image.astype(int) + rng.integers(-20, 21, image.shape), 0, 255).astype(np.uint8)
    for mode in ("published", "described"):
        m = mask if mode == "published" else mask > 0
        a = getattr(reference, f"colour_{mode}")(noisy, m, n_segments=30)
        b = getattr(fast, f"colour_{mode}")(noisy, m, n_segments=30)
        assert (a.score, a.raw) == (b.score, b.raw)


# --------------------------------------------------------------------------- fast == reference
def test_fast_equals_reference_on_random_shapes():
    for g in random_masks(15):
        for name in ("asymmetry_published", "border_published"):
            assert outcome(getattr(fast, name), g) == outcome(getattr(reference, name), g)


def test_fast_equals_reference_on_real_masks(data_root):
    # small masks keep the reference fast enough for CI; one PH2 mask (1-bit BMP) too
    ids = ["ISIC_0000000", "ISIC_0000004", "ISIC_0000013", "ISIC_0000046"]
    masks = [read_mask(datasets.isic_mask_path(i, data_root)).gray for i in ids]
    masks.append(read_mask(datasets.ph2_mask_path("IMD003", data_root)).gray)
    for g in masks:
        for name in ("asymmetry_published", "border_published"):
            assert outcome(getattr(fast, name), g) == outcome(getattr(reference, name), g)



def test_prepared_mask_and_window_path_equal_the_plain_ones(data_root):
    """A prepared mask (shared by A and B in the "AB" runs) gives the outputs of the plain
    array, and the window path of the fast asymmetry equals its general, whole-image path."""
    masks = real_masks(data_root)
    for g in masks:
        prep = fast.Prepared(g)
        for name in ("asymmetry_published", "border_published"):
            func = getattr(fast, name)
            assert outcome(func, prep) == outcome(func, g)
    for g in masks[:3]:
        prep = fast.Prepared(g)
        box, crop = prep.lesion
        moments = tuple(f - i for f, i in zip(geometry.rectangle_moments(*g.shape),
                                              prep.lesion_moments))
        centroid, orientation = geometry.centroid_orientation(moments)
        window = fast_asymmetry.flip_counts_window(crop, box, g.shape, centroid, orientation)
        assert window is not None
        assert window == fast_asymmetry.flip_counts_full(g == 0, centroid, orientation)


def test_count_regions_equals_connected_components():
    rng = np.random.default_rng(3)
    cases = [np.zeros((5, 5), np.uint8), np.eye(6, dtype=np.uint8),   # diagonal: one region
             np.pad(np.ones((3, 3), np.uint8), 2)]
    ring = np.zeros((21, 21), np.uint8)
    ring[2:19, 2:19] = 1
    ring[5:16, 5:16] = 0
    ring[9:12, 9:12] = 1                                              # island in a hole
    cases.append(ring)
    cases += [(rng.random((40, 50)) < p).astype(np.uint8) for p in (0.2, 0.45, 0.6)]
    cases += [g > 0 for g in random_masks(5, seed=4)]
    for binary in cases:
        expected = cv2.connectedComponents(binary.view(np.uint8), connectivity=8)[0] - 1
        assert geometry.count_regions(binary) == expected
