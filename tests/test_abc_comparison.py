"""Chapter 03's comparison with the published CSVs: a sample, the table, the committed file."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from enhance_utils.abc import comparison, lesions, runner


def test_agreement_with_published_sample(data_root):
    # small ISIC masks (fast) plus a few PH2 masks, published mode
    isic = ["ISIC_0000000", "ISIC_0000001", "ISIC_0000002", "ISIC_0000003", "ISIC_0000004"]
    for feature in ("A", "B"):
        frame = runner.compute("isic2017", feature, ids=isic, root=data_root, workers=2,
                               progress=False)
        agree = comparison.agreement(frame, "isic2017", feature, root=data_root)
        assert agree.same_ids_skipped and agree.identical == 1.0
        if feature == "A":
            assert agree.within == 1.0 and agree.max_abs_delta_ii <= comparison.II_TOLERANCE
        else:
            assert agree.max_abs_delta_ii is None
    ph2 = ["IMD003", "IMD009", "IMD016"]
    frame = runner.compute("ph2", "A", ids=ph2, root=data_root, workers=1, progress=False)
    agree = comparison.agreement(frame, "ph2", "A", root=data_root)
    assert agree.same_ids_skipped and agree.within == 1.0
    frame = runner.compute("ph2", "C", ids=ph2, root=data_root, workers=2, progress=False)
    agree = comparison.agreement(frame, "ph2", "C", root=data_root)
    assert agree.within == 1.0


def test_published_reader(data_root):
    pub = comparison.published("isic2017", "B", root=data_root)
    assert len(pub) == 1996 and not pub.lesion_id.str.endswith("_segmentation").any()
    assert set(comparison.published("isic2017", "A", root=data_root).columns) >= {"i", "ii"}


def test_table_counts_a_small_run(data_root):
    ids = ["ISIC_0000000", "ISIC_0000001", "ISIC_0000004"]
    run = runner.compute("isic2017", "A", ids=ids, root=data_root, workers=1,
                         progress=False, cache=False)
    table = comparison.table({("isic2017", "A", "published"): run,
                              ("isic2017", "A", "described"): run})
    assert table.columns.tolist() == comparison.COLUMNS
    assert len(table) == 1     # only published runs are compared with the CSVs
    row = table.iloc[0]
    assert row.n_ids == 3 and row.n_both <= row.n_scored <= 3
    assert 0 <= row.identical <= 1 and 0 <= row.within <= 1


@pytest.fixture(scope="module")
def committed():
    if not comparison.results_path().is_file():
        pytest.fail(f"{comparison.results_path()} is missing: run "
                    "python -m enhance_utils.abc.comparison")
    return comparison.read()


def test_committed_file_covers_every_lesion_of_both_datasets(committed, data_root):
    assert sorted(zip(committed.dataset, committed.feature)) == [
        (d, f) for d in ("isic2017", "ph2") for f in "ABC"]
    for dataset in ("isic2017", "ph2"):
        n = len(lesions.lesion_ids(dataset, data_root))
        assert (committed[committed.dataset == dataset].n_ids == n).all()


def test_committed_file_reproduces_the_published_asymmetry(committed):
    for dataset in ("isic2017", "ph2"):
        assert comparison.get(committed, dataset, "A", "identical") >= 0.99
        assert comparison.get(committed, dataset, "A", "same_ids_skipped")
    assert comparison.get(committed, "isic2017", "B", "identical") >= 0.99


def test_label_correlation_on_the_lesions_both_hold():
    values = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan], index=["a", "b", "c", "d", "e"])
    label = pd.Series([0, 0, 1, 1, 1, 0], index=["d", "c", "b", "a", "e", "z"])
    r, p, n = comparison.label_correlation(values, label)
    assert n == 4 and r == pytest.approx(np.corrcoef([1, 2, 3, 4], [1, 1, 0, 0])[0, 1])
    assert 0 < p < 1
    for short in (values[:2], pd.Series(1.0, index=list("abcd"))):  # two lesions; constant
        r, p, n = comparison.label_correlation(short, label)
        assert np.isnan(r) and np.isnan(p) and n == len(short)


def test_correlations_of_both_modes_and_the_csv(data_root):
    labels = comparison.labels(data_root)
    assert len(labels["isic2017"]) == 2000 and len(labels["ph2"]) == 200
    assert set(labels["ph2"].unique()) == {0, 1} and labels["isic2017"].index.is_unique
    ids = ["ISIC_0000000", "ISIC_0000001", "ISIC_0000002", "ISIC_0000003", "ISIC_0000004"]
    runs = {("isic2017", "A", mode): runner.compute("isic2017", "A", mode, ids=ids,
                                                    root=data_root, workers=1, progress=False)
            for mode in ("published", "described")}
    table = comparison.correlations(runs, labels, root=data_root)
    assert table.source.tolist() == ["published CSV", "published mode", "described mode"]
    assert (table.dataset == "isic2017").all() and (table.feature == "A").all()
    assert (table.n <= len(ids)).all()
    csv, mine = table["pearson r"].iloc[:2]  # the published mode reproduces the CSV's ii
    assert csv == pytest.approx(mine, abs=0.01) or (np.isnan(csv) and np.isnan(mine))
