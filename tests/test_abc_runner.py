"""ABC rows from files: decoding, input checks, statuses, the cache, combined runs."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from abc_masks import colour_patches, ellipse_mask, outcome, real_masks
from PIL import Image

from enhance_utils.data import datasets
from enhance_utils.abc import cache, fast, reference, runner
from enhance_utils.abc.inputs import InputError, mask_notes, read_mask


def test_rows_of_a_shared_prepared_mask_equal_one_feature_rows(data_root):
    """One prepared mask shared by A and B (the "AB" runs) gives the one-feature rows, the
    notes of the input checks included."""
    masks = real_masks(data_root)
    for g in masks:
        prep = fast.Prepared(g)
        for feature in ("A", "B"):
            for mode in ("published", "described"):
                alone = runner.score_arrays(feature, mode, g)
                shared = runner.score_arrays(feature, mode, g, prepared=prep)
                assert repr(alone) == repr(shared)
        assert mask_notes(prep) == mask_notes(g)


def test_combined_run_equals_separate_runs(data_root):
    ids = ["ISIC_0000000", "ISIC_0000001", "ISIC_0000004"]
    both = runner.compute("isic2017", "AB", ids=ids, root=data_root, workers=1,
                                 progress=False, cache=False)
    assert both.feature.tolist() == ["A"] * 3 + ["B"] * 3
    for feature in ("A", "B"):
        alone = runner.compute("isic2017", feature, ids=ids, root=data_root, workers=1,
                                      progress=False, cache=False)
        assert alone.equals(both[both.feature == feature].reset_index(drop=True))
    # per-feature caching: "AB", "A" and "B" runs share one entry per lesion and feature
    # (runs without the cache replace the entries they recompute)
    runner.compute("isic2017", "AB", ids=ids[:1], root=data_root, workers=1,
                          progress=False)
    files = list((cache.folder()).rglob("*.json"))
    assert len(files) == 6
    row = runner.score_lesion("isic2017", ids[0], "B", root=data_root)
    expected = both[both.feature == "B"].iloc[0]
    assert (row["status"], row["score"]) == (expected.status, expected.score)


def test_png_masks_decode_as_with_pillow(tmp_path, data_root):
    path = datasets.isic_mask_path("ISIC_0000000", data_root)
    with Image.open(path) as image:
        expected = np.asarray(image)
    assert np.array_equal(read_mask(path).gray, expected)
    broken = tmp_path / "broken.png"
    broken.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match="unreadable"):
        read_mask(broken)


# --------------------------------------------------------------------------- bad inputs
def test_bad_masks_get_a_status_not_an_exception():
    empty = np.zeros((50, 60), np.uint8)
    full = np.full((50, 60), 255, np.uint8)
    for feature in ("A", "B"):
        for mode in ("published", "described"):
            for g, text in ((empty, "empty mask"), (full, "whole image")):
                row = runner.score_arrays(feature, mode, g)
                assert row["status"] == "error" and text in row["reason"]


def test_lesion_touching_the_border_and_several_components():
    g = np.zeros((120, 160), np.uint8)
    g[:, 60:100] = 255          # crosses the image from top to bottom: background split
    row = runner.score_arrays("A", "published", g)
    assert row["status"] == "skipped"
    assert "2 connected background regions" in row["reason"]
    assert "touches the image border" in row["reason"]
    two = ellipse_mask(shape=(160, 220), axes=(20, 20), centre=(80, 50))
    two |= ellipse_mask(shape=(160, 220), axes=(20, 20), centre=(80, 170))
    row = runner.score_arrays("A", "described", two)
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
    one, rgb = read_mask(tmp_path / "one.bmp"), read_mask(tmp_path / "rgb.bmp")
    assert np.array_equal(one.gray, g) and np.array_equal(rgb.gray, g)
    assert one.notes == [] and "24-bit" in rgb.notes[0]
    assert "non-binary" in read_mask(tmp_path / "grey.png").notes[0]
    # the fast border falls back to the reference on non-binary masks: same answer
    assert outcome(fast.border_published, grey) == outcome(reference.border_published, grey)
    with pytest.raises(InputError, match="unreadable"):
        read_mask(tmp_path / "bad.png")
    with pytest.raises(InputError, match="not found"):
        read_mask(tmp_path / "missing.png")


def test_size_mismatch_is_resized_and_noted():
    image, mask = colour_patches(["black"])
    big = np.kron(mask, np.ones((3, 3), np.uint8))
    row = runner.score_arrays("C", "described", big, image, params={"n_segments": 30})
    assert row["status"] == "ok" and "resized" in row["reason"]
    assert "black" in row["raw"]["colours"]
    row = runner.score_arrays("C", "published", mask)
    assert row["status"] == "error" and "image" in row["reason"]


def test_unreadable_files_in_a_run(tmp_path, monkeypatch):
    """A run over a tree with a broken and a missing mask: one row per id, with statuses."""
    folder = tmp_path / datasets.ISIC_MASKS
    folder.mkdir(parents=True)
    write_ground_truth(tmp_path, ["ISIC_1", "ISIC_2", "ISIC_3"])
    Image.fromarray(ellipse_mask()).save(folder / "ISIC_1_segmentation.png")
    (folder / "ISIC_2_segmentation.png").write_bytes(b"\x89PNG broken")
    frame = runner.compute("isic2017", "A", "published",
                                  ids=["ISIC_1_segmentation", "ISIC_2", "ISIC_3"],
                                  root=tmp_path, workers=1, progress=False)
    assert list(frame.columns) == runner.COLUMNS
    assert frame.lesion_id.tolist() == ["ISIC_1", "ISIC_2", "ISIC_3"]
    assert frame.status.tolist() == ["ok", "error", "error"]
    assert "unreadable" in frame.reason[1] and "not found" in frame.reason[2]
    out = runner.to_csv(frame, tmp_path / "out.csv")
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
    first = runner.score_lesion("isic2017", "ISIC_1", "B", root=tmp_path)
    files = list((cache.folder()).rglob("*.json"))
    assert len(files) == 1
    cached = json.loads(files[0].read_text())
    cached["score"] = first["score"] + 1  # a valid entry is served as it is
    files[0].write_text(json.dumps(cached))
    assert runner.score_lesion("isic2017", "ISIC_1", "B", root=tmp_path)["score"] == \
        first["score"] + 1
    # without the cache the lesion is recomputed, and its entry replaced
    assert runner.score_lesion("isic2017", "ISIC_1", "B", root=tmp_path,
                                      cache=False)["score"] == first["score"]
    assert runner.score_lesion("isic2017", "ISIC_1", "B", root=tmp_path) == first
