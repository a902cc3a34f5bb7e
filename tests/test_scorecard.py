"""The reproducibility scorecard: verdicts, the page, and the rows on the real data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from enhance_utils.data import paper as reference
from enhance_utils.book import scorecard


def test_a_row_within_its_tolerance_is_reproduced():
    row = scorecard._row("Table 3", "crowd A", 0.166, 0.1658, 0.001, "smoke")
    assert row["verdict"] == "reproduced" and row["chapter"] == "04_correlation"
    assert row["difference"] == pytest.approx(-0.0002)


def test_a_row_outside_its_tolerance_gives_the_known_reason():
    row = scorecard._row("Table 2", "ph2 automated B", 0, 199, 0.0, "smoke")
    assert row["verdict"] == ("differs, because the published file holds 199 PH2 border "
                              "scores; the paper's Table 2 reports 0")
    assert row["chapter"] == "02_annotations"
    unknown = scorecard._row("Table 1", "isic2017 Diagnosis Melanoma", 374, 375, 0.0, "smoke")
    assert unknown["verdict"] == "differs, because cause not identified yet"


def test_a_row_without_a_book_value_is_not_reproducible_here():
    row = scorecard._row("Table 5", "resnet50 baseline", 83.6, np.nan, 2.7, "cpu")
    assert row["verdict"] == "not reproducible here"


def test_counts_and_page():
    card = pd.DataFrame([scorecard._row("Table 3", "crowd A", 0.166, 0.1658, 0.001, "smoke"),
                         scorecard._row("Table 2", "ph2 automated B", 0, 199, 0.0, "smoke"),
                         scorecard._row("Table 5", "vgg16 baseline", 77.0, np.nan, 1.0, "smoke")],
                        columns=scorecard.COLUMNS)
    assert scorecard.counts(card).tolist() == [1, 1, 1]
    text = scorecard.page(card)
    assert "**1** reproduced, **1** differ" in text
    assert "## Table 2: annotated lesions" in text
    assert "([02_annotations](chapters/02_annotations.ipynb))" in text


@pytest.fixture(scope="module")
def card(data_root):
    return scorecard.build("smoke", resamples=200)


def _paper_numbers(name: str) -> int:
    paper = reference.paper_table(name)
    value_columns = {"table1": ["isic2017", "ph2"], "table2": ["n_lesions"], "table3": ["r"],
                     "table4": ["mean_auc"], "table5": ["mean_auc"]}[name]
    return int(paper[value_columns].notna().sum().sum())


@pytest.mark.parametrize("section, name", [("Table 1", "table1"), ("Table 2", "table2"),
                                           ("Table 3", "table3"), ("Table 4", "table4"),
                                           ("Table 5", "table5")])
def test_a_row_per_number_of_the_paper(card, section, name):
    assert (card.section == section).sum() >= _paper_numbers(name)


def test_tables_1_to_3_are_reproduced_or_explained(card):
    rows = card[card.section.isin(["Table 1", "Table 2", "Table 3"])]
    kinds = rows.verdict.map(scorecard.verdict_kind)
    assert kinds.isin(["reproduced", "differs"]).all()
    explained = rows[kinds == "differs"]
    assert explained.chapter.astype(bool).all()
    assert not explained.verdict.str.contains("not identified").any()
    assert explained.item.tolist() == ["ph2 automated B"]


def test_text_claims_have_verdicts(card):
    claims = card[card.section.isin(["Figs. 3–4", "Section 5.1", "Fig. 5"])]
    assert len(claims) == len(scorecard.MEDIAN_CLAIMS) + 7 + 3
    assert claims.verdict.map(scorecard.verdict_kind).isin(["reproduced", "differs"]).all()
    auto_a = claims[claims.item == "no correlation: automated A"].iloc[0]
    assert auto_a.verdict.startswith("differs, because") and "symmetry ratio" in auto_a.verdict


def test_write_page(card, tmp_path):
    scorecard.write_page(tmp_path, "smoke", cached=tmp_path / "cached.csv")
    again = scorecard.write_page(tmp_path, "smoke", cached=tmp_path / "cached.csv")
    assert len(again) == len(card)
    assert (tmp_path / "scorecard.csv").is_file()
    assert "reproducibility scorecard" in (tmp_path / "scorecard_counts.md").read_text()


def test_command_writes_the_csv(data_root, tmp_path):
    from enhance_utils import cli

    assert cli.main(["scorecard", "--out", str(tmp_path), "--resamples", "50"]) == 0
    written = pd.read_csv(tmp_path / "scorecard.csv")
    assert list(written.columns) == scorecard.COLUMNS and len(written) > 100


def test_the_build_writes_the_page_once_per_set_of_inputs(card, tmp_path, monkeypatch):
    from enhance_utils.book import build as book

    src, cache = tmp_path / "src", tmp_path / "executed"
    src.mkdir(), cache.mkdir()
    (cache / "scorecard-stale000000000000.csv").write_text("old")
    monkeypatch.setattr(scorecard, "build", lambda profile, **kw: card)
    book.write_scorecard(src, cache, "smoke", "a" * 64)
    assert {p.name for p in cache.iterdir()} == {"scorecard-" + "a" * 20 + ".csv"}
    written = {p.name for p in src.iterdir()}
    assert {"scorecard.md", "scorecard.csv", "scorecard_counts.md"} <= written
    monkeypatch.setattr(scorecard, "build", lambda profile, **kw: pytest.fail("recomputed"))
    book.write_scorecard(src, cache, "smoke", "a" * 64)   # the cached rows are reused
    assert (src / "scorecard.md").read_text().startswith("# Reproducibility scorecard")
