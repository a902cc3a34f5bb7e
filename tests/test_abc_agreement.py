"""Chapter 03's agreement with the published CSVs: the table and the committed all-lesion file."""
from __future__ import annotations

import pytest

from enhance_utils import abc_agreement, automated_abc


def test_table_counts_a_small_run(data_root):
    ids = ["ISIC_0000000", "ISIC_0000001", "ISIC_0000004"]
    run = automated_abc.compute("isic2017", "A", ids=ids, root=data_root, workers=1,
                                progress=False, cache=False)
    table = abc_agreement.table({("isic2017", "A", "published"): run,
                                 ("isic2017", "A", "described"): run})
    assert table.columns.tolist() == abc_agreement.COLUMNS
    assert len(table) == 1     # only published runs are compared with the CSVs
    row = table.iloc[0]
    assert row.n_ids == 3 and row.n_both <= row.n_scored <= 3
    assert 0 <= row.identical <= 1 and 0 <= row.within <= 1


@pytest.fixture(scope="module")
def committed():
    if not abc_agreement.results_path().is_file():
        pytest.fail(f"{abc_agreement.results_path()} is missing: run "
                    "python -m enhance_utils.abc_agreement")
    return abc_agreement.read()


def test_committed_file_covers_every_lesion_of_both_datasets(committed, data_root):
    assert sorted(zip(committed.dataset, committed.feature)) == [
        (d, f) for d in ("isic2017", "ph2") for f in "ABC"]
    for dataset in ("isic2017", "ph2"):
        n = len(automated_abc.lesion_ids(dataset, data_root))
        assert (committed[committed.dataset == dataset].n_ids == n).all()


def test_committed_file_reproduces_the_published_asymmetry(committed):
    for dataset in ("isic2017", "ph2"):
        assert abc_agreement.get(committed, dataset, "A", "identical") >= 0.99
        assert abc_agreement.get(committed, dataset, "A", "same_ids_skipped")
    assert abc_agreement.get(committed, "isic2017", "B", "identical") >= 0.99
