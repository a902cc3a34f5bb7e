"""Loaders of ISIC 2017 and PH2 (chapter 01), on the real data and on written fixtures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from enhance_utils.data import datasets, paper as reference
from minitree import write_tree


# --------------------------------------------------------------------------- real data
def test_table1_reproduces_the_paper(data_root):
    computed = datasets.table1(data_root).reset_index()
    both = reference.beside_paper(computed, "table1", ["characteristic", "value"],
                                  ["isic2017", "ph2"])
    assert len(both) == 38
    assert both.difference.fillna(0).eq(0).all(), both[both.difference.fillna(0) != 0]
    assert (both.computed.isna() == both.paper.isna()).all()


def test_table1_counts_named_in_the_issue(data_root):
    t = datasets.table1(data_root)["isic2017"]
    diagnoses = ["Benign nevi", "Melanoma", "Seborrheic keratosis"]
    assert [t["Diagnosis", d] for d in diagnoses] == [1372, 374, 254]
    assert [t["Patient sex", s] for s in ["Female", "Male", "Not provided"]] == [871, 900, 229]
    ages = [t["Age group", f"{lo}-{lo + 10}"] for lo in range(0, 90, 10)]
    assert ages == [4, 147, 136, 225, 305, 270, 307, 213, 137]
    assert t["Age group", "Not provided"] == 256


def test_isic_ground_truth_reads_crlf_file(data_root):
    raw = (data_root / datasets.ISIC_GROUND_TRUTH).read_bytes()
    assert b"\r\n" in raw  # the published file has CRLF ends
    gt = datasets.isic_ground_truth(data_root)
    assert len(gt) == 2000 and gt.lesion_id.str.fullmatch(r"ISIC_\d{7}").all()
    assert gt.label.sum() == 374 + 254


def test_ph2_xlsx_table(data_root):
    table = datasets.ph2_table(data_root)
    assert len(table) == 200
    assert table.clinical_diagnosis.value_counts().to_dict() == {
        "common_nevus": 80, "atypical_nevus": 80, "melanoma": 40}
    assert set(table.asymmetry) <= {0, 1, 2}
    assert table.n_colours.between(1, 6).all()
    row = table.set_index("lesion_id").loc["IMD003"]
    assert row.asymmetry == 0 and row.dark_brown and row.n_colours == 1


def test_ph2_24bit_mask_and_1bit_mask(data_root):
    rgb = datasets.load_mask(datasets.ph2_mask_path("IMD002", data_root))
    assert Image.open(datasets.ph2_mask_path("IMD002", data_root)).mode == "RGB"
    one_bit = datasets.load_mask(datasets.ph2_mask_path("IMD003", data_root))
    for mask in (rgb, one_bit):
        assert mask.dtype == bool and 0.05 < mask.mean() < 0.95


def test_isic_mask_is_resized_to_the_downsized_image(data_root):
    image, mask = datasets.load_lesion("isic2017", "ISIC_0000000", data_root)
    full = datasets.load_mask(datasets.isic_mask_path("ISIC_0000000", data_root))
    assert image.shape == (256, 256, 3) and mask.shape == (256, 256)
    assert full.shape != mask.shape
    assert abs(full.mean() - mask.mean()) < 0.01  # same lesion fraction after resizing


def test_ph2_image_path_finds_jpg(data_root):
    path = datasets.ph2_image_path("IMD002", data_root)
    assert path.suffix == ".jpg" and path.is_file()


# --------------------------------------------------------------------------- fixtures
def test_ph2_txt_fixture(fixtures):
    table = datasets.read_ph2_txt(fixtures / "ph2_table_fixture.txt")
    assert list(table.lesion_id) == ["IMD003", "IMD009", "IMD058"]
    assert list(table.clinical_diagnosis) == ["common_nevus", "atypical_nevus", "melanoma"]
    assert list(table.asymmetry) == [0, 1, 2]
    assert list(table.n_colours) == [1, 2, 5]
    assert table.loc[2, "white"] and not table.loc[2, "red"] and table.loc[2, "black"]
    assert table.histological_diagnosis.isna().tolist() == [True, True, False]


def test_ph2_table_prefers_official_txt(tmp_path, fixtures):
    write_tree(tmp_path, with_ph2_txt=fixtures / "ph2_table_fixture.txt")
    assert len(datasets.ph2_table(tmp_path)) == 3


def test_ph2_txt_wrong_field_count_names_file(tmp_path):
    path = tmp_path / "PH2_dataset.txt"
    path.write_text("|| IMD003 || || 0 || 0 ||\n")
    with pytest.raises(datasets.DataFormatError, match="PH2_dataset.txt, line 1"):
        datasets.read_ph2_txt(path)


def test_ph2_label_choice():
    table = pd.DataFrame({"clinical_diagnosis": ["common_nevus", "atypical_nevus", "melanoma"]})
    assert datasets.ph2_label(table).tolist() == [0, 0, 1]
    assert datasets.ph2_label(table, atypical_abnormal=True).tolist() == [0, 1, 1]


def test_ph2_bmp_image_is_preferred(tmp_path):
    folder = tmp_path / datasets.PH2_IMAGES / "IMD001" / "IMD001_Dermoscopic_Image"
    folder.mkdir(parents=True)
    Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(folder / "IMD001.bmp")
    Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(folder / "IMD001.jpg")
    path = datasets.ph2_image_path("IMD001", tmp_path)
    assert path.suffix == ".bmp"
    assert datasets.load_image(path).shape == (4, 6, 3)


def test_mask_formats_and_resize(tmp_path):
    base = np.zeros((8, 10), bool)
    base[2:6, 3:7] = True
    Image.fromarray(base).save(tmp_path / "one_bit.bmp")
    Image.fromarray(np.dstack([base * 255] * 3).astype(np.uint8)).save(tmp_path / "rgb.bmp")
    Image.fromarray((base * 255).astype(np.uint8)).save(tmp_path / "grey.png")
    for name in ("one_bit.bmp", "rgb.bmp", "grey.png"):
        assert (datasets.load_mask(tmp_path / name) == base).all(), name
    big = datasets.load_mask(tmp_path / "grey.png", shape=(16, 20))
    assert big.shape == (16, 20) and big.sum() == base.sum() * 4


def test_ground_truth_with_wrong_columns_names_file(tmp_path):
    path = tmp_path / datasets.ISIC_GROUND_TRUTH
    path.parent.mkdir(parents=True)
    path.write_text("id,mel\nISIC_0000001,0\n")
    with pytest.raises(datasets.DataFormatError, match="GroundTruth.csv.*missing"):
        datasets.isic_ground_truth(tmp_path)


def test_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="enhance fetch"):
        datasets.isic_ground_truth(tmp_path)


def test_age_groups_are_left_closed():
    groups = datasets.age_group(pd.Series([0, 9, 10, 85, np.nan]))
    assert groups.astype(object).tolist()[:4] == ["0-10", "0-10", "10-20", "80-90"]
    assert pd.isna(groups.iloc[4])


def test_metadata_unknown_is_missing(tmp_path):
    write_tree(tmp_path)
    meta = datasets.isic_metadata(tmp_path)
    assert meta.age_approximate.isna().sum() == 1 and meta.sex.isna().sum() == 1


def test_shapes_of_example_lesions(data_root):
    table = datasets.shapes([("isic2017", "ISIC_0000000"), ("ph2", "IMD003")], data_root)
    assert table.columns.tolist() == ["dataset", "lesion_id", "image", "mask on disk",
                                      "lesion fraction"]
    isic, ph2 = table.iloc[0], table.iloc[1]
    image, mask = datasets.load_lesion("isic2017", "ISIC_0000000", data_root)
    stored = datasets.load_mask(datasets.isic_mask_path("ISIC_0000000", data_root))
    assert isic.image == image.shape[:2] and isic["mask on disk"] == stored.shape
    assert isic["lesion fraction"] == round(mask.mean(), 3) and 0 < isic["lesion fraction"] < 1
    assert ph2.image == ph2["mask on disk"]  # PH2 masks have their image's size


def test_registry_names_each_datasets_files(data_root):
    isic, ph2 = datasets.get_dataset("isic2017"), datasets.get_dataset("ph2")
    assert isic.ids(data_root)[:1] == ["ISIC_0000000"] and "IMD003" in ph2.ids(data_root)
    assert isic.image_path("ISIC_0000000", data_root).is_file()
    assert ph2.mask_path("IMD003", data_root).is_file()
    assert list(ph2.table(data_root).columns)[0] == "lesion_id"
    with pytest.raises(ValueError, match="unknown dataset 'ham10000'"):
        datasets.get_dataset("ham10000")


@pytest.mark.parametrize("dataset, lesion_ids", [
    ("isic2017", ["ISIC_0000000", "ISIC_0000004", "ISIC_0000100", "ISIC_0001103"]),
    ("ph2", ["IMD003", "IMD058"])])
def test_the_figures_see_the_pixels_the_algorithms_read(data_root, dataset, lesion_ids):
    """A lesion drawn by the book's figures (:func:`datasets.load_lesion`) is the image and the
    mask, resized to the image, that the colour algorithm reads (:func:`read_lesion`), pixel
    for pixel; the mirror's ISIC masks are larger than their 256 x 256 images, so this holds
    only with one resize of a mask."""
    from enhance_utils.abc.inputs import read_lesion

    for lesion_id in lesion_ids:
        image, mask = datasets.load_lesion(dataset, lesion_id, data_root)
        seen = read_lesion(dataset, lesion_id, data_root)
        np.testing.assert_array_equal(image, seen.image)
        np.testing.assert_array_equal(mask, seen.small > 127)
