"""Fault injection on the inputs (issue 16): the ABC cache, damaged files, paths, nonsense.

Every case is done for real on small trees written into ``tmp_path`` (copies of real files
where that helps); nothing is written into the data mirror.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from skimage.draw import ellipse

from enhance_utils import automated_abc, datasets

ISIC_IDS = ["ISIC_0000001", "ISIC_0000002"]


# --------------------------------------------------------------------------- small trees
def ellipse_mask(shape=(181, 221), axes=(30, 80)) -> np.ndarray:
    g = np.zeros(shape, np.uint8)
    rr, cc = ellipse(shape[0] // 2, shape[1] // 2, axes[0], axes[1], shape=shape)
    g[rr, cc] = 255
    return g


def isic_tree(root, masks: dict, images: dict | None = None):
    """An ISIC tree with a ground truth of ``masks``' ids, their masks and optional images."""
    gt = root / datasets.ISIC_GROUND_TRUTH
    gt.parent.mkdir(parents=True, exist_ok=True)
    gt.write_text("image_id,melanoma,seborrheic_keratosis\n"
                  + "".join(f"{i},0.0,0.0\n" for i in masks))
    for lesion_id, mask in masks.items():
        path = datasets.isic_mask_path(lesion_id, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(path)
    for lesion_id, image in (images or {}).items():
        path = datasets.isic_image_path(lesion_id, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)
    return root


def cache_files() -> list:
    return sorted((automated_abc.config.cache_dir() / "automated_abc").rglob("*.json"))


def run(root, feature="A", ids=ISIC_IDS, **options):
    return automated_abc.compute("isic2017", feature, ids=ids, root=root, workers=1,
                                 progress=False, **options)


# --------------------------------------------------------------------------- 4. ABC cache
def test_identical_masks_of_two_lesions_keep_their_ids(tmp_path):
    mask = ellipse_mask()
    root = isic_tree(tmp_path, {i: mask for i in ISIC_IDS})
    for _ in range(2):  # computed, then served from the cache
        frame = run(root)
        assert frame.lesion_id.tolist() == ISIC_IDS
        assert frame.status.tolist() == ["ok", "ok"]
    assert len(cache_files()) == 2


@pytest.mark.parametrize("content", ["null", "[]", "[1, 2]", "{}", '"text"', "{not json"])
def test_cache_entry_of_the_wrong_type_is_recomputed(tmp_path, content):
    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask()})
    first = run(root, ids=ISIC_IDS[:1])
    [file] = cache_files()
    file.write_text(content)
    again = run(root, ids=ISIC_IDS[:1])
    assert again.drop(columns="raw").equals(first.drop(columns="raw"))
    assert json.loads(file.read_text())["lesion_id"] == ISIC_IDS[0]


@pytest.mark.parametrize("change", [
    {"score": 7.0},                       # A counts two axes: 0, 1 or 2
    {"score": 1.5},
    {"lesion_id": "ISIC_0000009"},
    {"feature": "B"},
    {"status": "error"},
    {"raw": {"ii": 3.0, "ratio_ud": 3.0, "ratio_lr": 3.0}},
    {"reason": None},
])
def test_cache_entry_with_wrong_values_is_recomputed(tmp_path, change):
    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask()})
    first = run(root, ids=ISIC_IDS[:1]).iloc[0]
    [file] = cache_files()
    row = json.loads(file.read_text())
    assert automated_abc.cache_problem(row, ISIC_IDS[0], "A") is None
    row.update(change)
    assert automated_abc.cache_problem(row, ISIC_IDS[0], "A") is not None
    file.write_text(json.dumps(row))
    again = run(root, ids=ISIC_IDS[:1]).iloc[0]
    assert (again.lesion_id, again.score, again.raw) == (first.lesion_id, first.score, first.raw)
    assert automated_abc.cache_problem(json.loads(file.read_text()), ISIC_IDS[0], "A") is None


def test_no_cache_replaces_what_it_recomputes(tmp_path):
    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask()})
    first = run(root, feature="B", ids=ISIC_IDS[:1]).iloc[0]
    [file] = cache_files()
    row = json.loads(file.read_text())
    row["score"] = first.score + 1  # wrong but plausible: served while cached
    file.write_text(json.dumps(row))
    assert run(root, feature="B", ids=ISIC_IDS[:1]).score[0] == first.score + 1
    assert run(root, feature="B", ids=ISIC_IDS[:1], cache=False).score[0] == first.score
    assert json.loads(file.read_text())["score"] == first.score
    assert run(root, feature="B", ids=ISIC_IDS[:1]).score[0] == first.score


# --------------------------------------------------------------------------- 5. mask size
def test_mask_smaller_than_its_image_is_refused_for_a_and_b(tmp_path):
    full = ellipse_mask((360, 440), (60, 160))
    small = full[::2, ::2].copy()
    image = np.full((360, 440, 3), 200, np.uint8)
    root = isic_tree(tmp_path, {ISIC_IDS[0]: full, ISIC_IDS[1]: small},
                     {i: image for i in ISIC_IDS})
    frame = run(root, feature="AB")
    assert frame.status.tolist() == ["ok", "error", "ok", "error"]
    for reason in frame.reason[frame.status == "error"]:
        assert "mask 220x180 is smaller than its image 440x360" in reason


def test_downsized_image_with_a_full_mask_is_accepted(tmp_path):
    """The mirror's layout: 256 x 256 images (aspect ratio not kept), full-resolution masks."""
    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask((360, 440), (60, 160))},
                     {ISIC_IDS[0]: np.full((256, 256, 3), 200, np.uint8)})
    assert run(root, feature="AB", ids=ISIC_IDS[:1]).status.tolist() == ["ok", "ok"]


# --------------------------------------------------------------------------- 6. lesion ids
@pytest.mark.parametrize("lesion_id", ["../../outside/evil", "/etc/passwd", "ISIC_0000001/..",
                                       "ISIC_0000001 ", "", "IMD003"])
def test_path_builders_refuse_ids_not_of_the_dataset(tmp_path, lesion_id):
    for builder in (datasets.isic_image_path, datasets.isic_mask_path):
        with pytest.raises(datasets.InvalidLesionId, match="not a isic2017 lesion id"):
            builder(lesion_id, tmp_path)
    with pytest.raises(datasets.InvalidLesionId):
        datasets.ph2_mask_path(lesion_id.replace("IMD003", "ISIC_1"), tmp_path)


def test_traversal_ids_are_refused_before_any_file_is_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.fromarray(ellipse_mask()).save(outside / "evil_segmentation.png")
    root = isic_tree(tmp_path / "data", {ISIC_IDS[0]: ellipse_mask()})
    for bad in ["../../outside/evil", str(outside / "evil")]:
        with pytest.raises(datasets.InvalidLesionId, match="evil"):
            run(root, ids=[ISIC_IDS[0], bad])


def test_ids_not_in_the_ground_truth_are_refused(tmp_path):
    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask()})
    with pytest.raises(ValueError, match="1 id.*not among the isic2017 lesions: ISIC_0000009"):
        run(root, ids=[ISIC_IDS[0], "ISIC_0000009"])
