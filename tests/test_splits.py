"""The paper's five splits and the k-fold alternative (chapter 06)."""
from __future__ import annotations

import pandas as pd
import pytest

from enhance_utils.data import datasets
from enhance_utils.learning import splits


@pytest.fixture(scope="module")
def lesions(data_root):
    return datasets.isic_ground_truth(data_root)[["lesion_id", "label"]]


def test_paper_splits_sizes_and_strata(lesions):
    for split in splits.paper_splits(lesions):
        assert (len(split.train), len(split.validation), len(split.test)) == (1400, 350, 250)
        splits.check_disjoint(split)
        test_rate = lesions.set_index("lesion_id").label.loc[list(split.test)].mean()
        assert test_rate == pytest.approx(lesions.label.mean(), abs=0.01)


def test_paper_splits_are_reproducible_and_differ(lesions):
    a, b = splits.paper_split(lesions, 1970), splits.paper_split(lesions, 1970)
    assert a == b
    assert set(a.test) != set(splits.paper_split(lesions, 1972).test)


def test_kfold_tests_every_lesion_once(lesions):
    folds = splits.kfold_splits(lesions, k=5)
    tested = [i for fold in folds for i in fold.test]
    assert sorted(tested) == sorted(lesions.lesion_id)
    for fold in folds:
        splits.check_disjoint(fold)


def test_subsample_is_stratified():
    frame = pd.DataFrame({"lesion_id": [f"L{i}" for i in range(100)], "label": [0] * 70 + [1] * 30})
    sample = splits.subsample(frame, 20, seed=3)
    assert len(sample) == 20 and sample.label.sum() == 6
    assert len(splits.subsample(frame, None)) == 100


def test_overlapping_split_is_caught():
    bad = splits.Split("x", 0, ("a", "b"), ("b",), ("c",))
    with pytest.raises(ValueError, match="two parts"):
        splits.check_disjoint(bad)


def test_describe_counts_each_part_and_its_abnormal_share():
    frame = pd.DataFrame({"lesion_id": [f"L{i}" for i in range(10)], "label": [0] * 6 + [1] * 4})
    split = splits.Split("seed1", 1, train=("L0", "L1", "L6", "L7"), validation=("L2", "L8"),
                         test=("L3", "L4", "L5", "L9"))
    table = splits.describe(frame, [split])
    assert table.to_dict("records") == [
        {"split": "seed1", "part": "train", "lesions": 4, "abnormal": 0.5},
        {"split": "seed1", "part": "validation", "lesions": 2, "abnormal": 0.5},
        {"split": "seed1", "part": "test", "lesions": 4, "abnormal": 0.25}]
