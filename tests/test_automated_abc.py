"""Automated ABC scores (chapter 03): known answers, fast = reference, bad inputs, published."""
from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.draw import disk, ellipse, polygon

from enhance_utils import abc_fast, abc_reference, automated_abc, datasets
from enhance_utils.abc_reference import REFERENCE_COLOURS, Skip

IMPLS = [abc_reference, abc_fast]


# --------------------------------------------------------------------------- synthetic masks
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
        result = abc_reference.asymmetry_described(mask > 0)
        assert result.score == 0 and result.raw["ii"] > 0.97
    drop = abc_reference.asymmetry_described(teardrop() > 0)
    # symmetric across the major axis, not across the minor axis
    assert drop.raw["ratio_major"] > 0.97
    assert drop.raw["ratio_minor"] < 0.9
    assert drop.score == 1


def test_described_asymmetry_is_rotation_invariant():
    a = abc_reference.asymmetry_described(ellipse_mask(rotation=0.0) > 0).raw["ii"]
    b = abc_reference.asymmetry_described(ellipse_mask(rotation=1.1) > 0).raw["ii"]
    assert a == pytest.approx(b, abs=0.02)


# --------------------------------------------------------------------------- border
# the described border score on smooth, lobed and jagged outlines: tests/test_abc_shapes.py


@pytest.mark.parametrize("impl", IMPLS, ids=["reference", "fast"])
def test_published_border_star_scores_more_than_disc(impl):
    assert impl.border_published(disc()).score < impl.border_published(star(8)).score


# --------------------------------------------------------------------------- colour
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
    result = abc_reference.colour_published(image, mask, n_segments=40)
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
        a = getattr(abc_reference, f"colour_{mode}")(noisy, m, n_segments=30)
        b = getattr(abc_fast, f"colour_{mode}")(noisy, m, n_segments=30)
        assert (a.score, a.raw) == (b.score, b.raw)


# --------------------------------------------------------------------------- fast == reference
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


def test_fast_equals_reference_on_random_shapes():
    for g in random_masks(15):
        for name in ("asymmetry_published", "border_published"):
            assert outcome(getattr(abc_fast, name), g) == outcome(getattr(abc_reference, name), g)


def test_fast_equals_reference_on_real_masks(data_root):
    # small masks keep the reference fast enough for CI; one PH2 mask (1-bit BMP) too
    ids = ["ISIC_0000000", "ISIC_0000004", "ISIC_0000013", "ISIC_0000046"]
    masks = [automated_abc.read_mask(datasets.isic_mask_path(i, data_root))[0] for i in ids]
    masks.append(automated_abc.read_mask(datasets.ph2_mask_path("IMD003", data_root))[0])
    for g in masks:
        for name in ("asymmetry_published", "border_published"):
            assert outcome(getattr(abc_fast, name), g) == outcome(getattr(abc_reference, name), g)


def test_combined_ab_equals_separate_on_real_masks(data_root):
    """One prepared mask shared by A and B (the "AB" runs) gives the one-feature outputs,
    the notes included; and the fast window path of the asymmetry equals the general one."""
    ids = ["ISIC_0000000", "ISIC_0000013", "ISIC_0000046", "ISIC_0000039", "ISIC_0010466"]
    masks = [automated_abc.read_mask(datasets.isic_mask_path(i, data_root))[0] for i in ids]
    masks.append(automated_abc.read_mask(datasets.ph2_mask_path("IMD003", data_root))[0])
    for g in masks:
        prep = abc_fast.Prepared(g)
        for name in ("asymmetry_published", "border_published"):
            func = getattr(abc_fast, name)
            assert outcome(func, prep) == outcome(func, g)
        for feature in ("A", "B"):
            for mode in ("published", "described"):
                alone = automated_abc.score_arrays(feature, mode, g)
                shared = automated_abc.score_arrays(feature, mode, g, prepared=prep)
                assert repr(alone) == repr(shared)
                assert automated_abc._mask_notes_prepared(prep) == \
                    automated_abc.mask_notes(g > 127)
    # the window path of the fast asymmetry against its general, whole-image path
    for g in masks[:3]:
        prep = abc_fast.Prepared(g)
        box, crop = prep.lesion()
        moments = tuple(f - i for f, i in zip(abc_fast.rectangle_moments(*g.shape),
                                              prep.lesion_moments()))
        centroid, orientation = abc_fast.centroid_orientation(moments)
        window = abc_fast._flip_counts_window(crop, box, g.shape, centroid, orientation)
        assert window is not None
        assert window == abc_fast._flip_counts_full(g == 0, centroid, orientation)


def test_combined_run_equals_separate_runs(data_root):
    ids = ["ISIC_0000000", "ISIC_0000001", "ISIC_0000004"]
    both = automated_abc.compute("isic2017", "AB", ids=ids, root=data_root, workers=1,
                                 progress=False, cache=False)
    assert both.feature.tolist() == ["A"] * 3 + ["B"] * 3
    for feature in ("A", "B"):
        alone = automated_abc.compute("isic2017", feature, ids=ids, root=data_root, workers=1,
                                      progress=False, cache=False)
        assert alone.equals(both[both.feature == feature].reset_index(drop=True))
    # per-feature caching: "AB", "A" and "B" runs share one entry per lesion and feature
    # (runs without the cache replace the entries they recompute)
    automated_abc.compute("isic2017", "AB", ids=ids[:1], root=data_root, workers=1,
                          progress=False)
    files = list((automated_abc.config.cache_dir() / "automated_abc").rglob("*.json"))
    assert len(files) == 6
    row = automated_abc.score_lesion("isic2017", ids[0], "B", root=data_root)
    expected = both[both.feature == "B"].iloc[0]
    assert (row["status"], row["score"]) == (expected.status, expected.score)


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
        assert abc_fast.count_regions(binary) == expected


def test_png_masks_decode_as_with_pillow(tmp_path, data_root):
    path = datasets.isic_mask_path("ISIC_0000000", data_root)
    with Image.open(path) as image:
        expected = np.asarray(image)
    assert np.array_equal(automated_abc.read_mask(path)[0], expected)
    broken = tmp_path / "broken.png"
    broken.write_bytes(path.read_bytes()[:200])
    with pytest.raises(automated_abc.InputError, match="unreadable"):
        automated_abc.read_mask(broken)


# --------------------------------------------------------------------------- bad inputs
def test_bad_masks_get_a_status_not_an_exception():
    empty = np.zeros((50, 60), np.uint8)
    full = np.full((50, 60), 255, np.uint8)
    for feature in ("A", "B"):
        for mode in ("published", "described"):
            for g, text in ((empty, "empty mask"), (full, "whole image")):
                row = automated_abc.score_arrays(feature, mode, g)
                assert row["status"] == "error" and text in row["reason"]


def test_lesion_touching_the_border_and_several_components():
    g = np.zeros((120, 160), np.uint8)
    g[:, 60:100] = 255          # crosses the image from top to bottom: background split
    row = automated_abc.score_arrays("A", "published", g)
    assert row["status"] == "skipped"
    assert "2 connected background regions" in row["reason"]
    assert "touches the image border" in row["reason"]
    two = ellipse_mask(shape=(160, 220), axes=(20, 20), centre=(80, 50))
    two |= ellipse_mask(shape=(160, 220), axes=(20, 20), centre=(80, 170))
    row = automated_abc.score_arrays("A", "described", two)
    assert row["status"] == "ok" and "2 separate lesion regions" in row["reason"]


def test_mask_files_one_bit_24_bit_non_binary_unreadable(tmp_path):
    g = ellipse_mask()
    Image.fromarray(g > 0).convert("1").save(tmp_path / "one.bmp")
    Image.fromarray(np.dstack([g] * 3)).save(tmp_path / "rgb.bmp")
    grey = g.copy()
    grey[g > 0] = 200
    grey[90, 100:110] = 90
    Image.fromarray(grey).save(tmp_path / "grey.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    one, notes_one = automated_abc.read_mask(tmp_path / "one.bmp")
    rgb, notes_rgb = automated_abc.read_mask(tmp_path / "rgb.bmp")
    assert np.array_equal(one, g) and np.array_equal(rgb, g)
    assert notes_one == [] and "24-bit" in notes_rgb[0]
    _, notes_grey = automated_abc.read_mask(tmp_path / "grey.png")
    assert "non-binary" in notes_grey[0]
    # the fast border falls back to the reference on non-binary masks: same answer
    assert outcome(abc_fast.border_published, grey) == outcome(abc_reference.border_published, grey)
    with pytest.raises(automated_abc.InputError, match="unreadable"):
        automated_abc.read_mask(tmp_path / "bad.png")
    with pytest.raises(automated_abc.InputError, match="not found"):
        automated_abc.read_mask(tmp_path / "missing.png")


def test_size_mismatch_is_resized_and_noted():
    image, mask = colour_patches(["black"])
    big = np.kron(mask, np.ones((3, 3), np.uint8))
    row = automated_abc.score_arrays("C", "described", big, image, params={"n_segments": 30})
    assert row["status"] == "ok" and "resized" in row["reason"]
    assert "black" in row["raw"]["colours"]
    row = automated_abc.score_arrays("C", "published", mask)
    assert row["status"] == "error" and "image" in row["reason"]


def test_unreadable_files_in_a_run(tmp_path, monkeypatch):
    """A run over a tree with a broken and a missing mask: one row per id, with statuses."""
    folder = tmp_path / datasets.ISIC_MASKS
    folder.mkdir(parents=True)
    write_ground_truth(tmp_path, ["ISIC_1", "ISIC_2", "ISIC_3"])
    Image.fromarray(ellipse_mask()).save(folder / "ISIC_1_segmentation.png")
    (folder / "ISIC_2_segmentation.png").write_bytes(b"\x89PNG broken")
    frame = automated_abc.compute("isic2017", "A", "published",
                                  ids=["ISIC_1_segmentation", "ISIC_2", "ISIC_3"],
                                  root=tmp_path, workers=1, progress=False)
    assert list(frame.columns) == automated_abc.COLUMNS
    assert frame.lesion_id.tolist() == ["ISIC_1", "ISIC_2", "ISIC_3"]
    assert frame.status.tolist() == ["ok", "error", "error"]
    assert "unreadable" in frame.reason[1] and "not found" in frame.reason[2]
    out = automated_abc.to_csv(frame, tmp_path / "out.csv")
    back = pd.read_csv(out)
    assert json.loads(back.raw[0])["ii"] == pytest.approx(frame.raw[0]["ii"])


def write_ground_truth(root, ids):
    """A minimal ISIC ground truth listing ``ids`` (all nevi) under ``root``."""
    path = root / datasets.ISIC_GROUND_TRUTH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("image_id,melanoma,seborrheic_keratosis\n"
                    + "".join(f"{i},0.0,0.0\n" for i in ids))


def test_cache_is_used(tmp_path):
    folder = tmp_path / datasets.ISIC_MASKS
    folder.mkdir(parents=True)
    Image.fromarray(ellipse_mask()).save(folder / "ISIC_1_segmentation.png")
    first = automated_abc.score_lesion("isic2017", "ISIC_1", "B", root=tmp_path)
    files = list((automated_abc.config.cache_dir() / "automated_abc").rglob("*.json"))
    assert len(files) == 1
    cached = json.loads(files[0].read_text())
    cached["score"] = first["score"] + 1  # a valid entry is served as it is
    files[0].write_text(json.dumps(cached))
    assert automated_abc.score_lesion("isic2017", "ISIC_1", "B", root=tmp_path)["score"] == \
        first["score"] + 1
    # without the cache the lesion is recomputed, and its entry replaced
    assert automated_abc.score_lesion("isic2017", "ISIC_1", "B", root=tmp_path,
                                      cache=False)["score"] == first["score"]
    assert automated_abc.score_lesion("isic2017", "ISIC_1", "B", root=tmp_path) == first


# --------------------------------------------------------------------------- published CSVs
def test_agreement_with_published_sample(data_root):
    # small ISIC masks (fast) plus a few PH2 masks, published mode
    isic = ["ISIC_0000000", "ISIC_0000001", "ISIC_0000002", "ISIC_0000003", "ISIC_0000004"]
    for feature in ("A", "B"):
        frame = automated_abc.compute("isic2017", feature, ids=isic, root=data_root, workers=2,
                                      progress=False)
        agree = automated_abc.agreement(frame, "isic2017", feature, root=data_root)
        assert agree["same_ids_skipped"]
        if feature == "A":
            assert agree["ii_within_tol"] == 1.0 and agree["i_identical"] == 1.0
        else:
            assert agree["identical"] == 1.0
    ph2 = ["IMD003", "IMD009", "IMD016"]
    frame = automated_abc.compute("ph2", "A", ids=ph2, root=data_root, workers=1, progress=False)
    agree = automated_abc.agreement(frame, "ph2", "A", root=data_root)
    assert agree["same_ids_skipped"] and agree["ii_within_tol"] == 1.0
    frame = automated_abc.compute("ph2", "C", ids=ph2, root=data_root, workers=2, progress=False)
    agree = automated_abc.agreement(frame, "ph2", "C", root=data_root)
    assert agree["within_1"] == 1.0


def test_published_reader(data_root):
    pub = automated_abc.published("isic2017", "B", root=data_root)
    assert len(pub) == 1996 and not pub.lesion_id.str.endswith("_segmentation").any()
    assert set(automated_abc.published("isic2017", "A", root=data_root).columns) >= {"i", "ii"}
