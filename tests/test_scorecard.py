"""The reproducibility scorecard: verdicts, the page, and the rows on the real data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from enhance_utils.data import datasets, paper as reference
from enhance_utils.book import scorecard


def test_a_value_that_rounds_to_the_printed_digits_is_reproduced():
    row = scorecard._row("Table 3", "crowd A", 0.166, 0.1658, 0.0005, "smoke", decimals=3)
    assert row["verdict"] == "reproduced" and row["chapter"] == "04_correlation"
    assert row["difference"] == pytest.approx(-0.0002) and row["rule"] == "printed digits"


@pytest.mark.parametrize("item, paper, book, shown", [("student B", 0.161, 0.1616, "+0.0006"),
                                                      ("student C", 0.230, 0.2306, "+0.0006")])
def test_a_value_off_in_the_last_printed_digit_differs_by_its_difference(item, paper, book,
                                                                          shown):
    row = scorecard._row("Table 3", item, paper, book, 0.0005, "smoke", decimals=3)
    assert row["verdict"].startswith(f"differs by {shown}, because the book's r is {book}")
    assert "off in the last printed digit" in row["verdict"]


def test_a_constant_set_in_code_holds_by_definition():
    row = scorecard._row("Table 1", "ph2 Expert annotations Border", 0, 0, 0.5, "smoke",
                         rule="by definition", decimals=0)
    assert row["verdict"] == "by definition" and row["rule"] == "by definition"
    with pytest.raises(ValueError, match="unknown rule"):
        scorecard._row("Table 1", "x", 0, 0, 0.5, "smoke", rule="close enough")


def _paper_and_book():
    paper = {"table5": pd.DataFrame({"arch": ["vgg16"] * 2, "model": ["baseline", "crowdA"],
                                     "mean_auc": [77.0, 78.5], "sd_auc": [1.0, 1.2]}),
             "table4": pd.DataFrame({"arch": ["vgg16"] * 2, "model": ["crowdABC"] * 2,
                                     "annotations": ["original", "randomized"],
                                     "mean_auc": [80.0, 79.0], "sd_auc": [1.0, 1.0]})}
    comparison = {"arch": "vgg16", "model_b": "baseline"}
    book = {"table5": pd.DataFrame({"arch": ["vgg16"] * 2, "model": ["baseline", "crowdA"],
                                    "mean_auc": [76.0, 76.5], "sd_auc": [2.0, 2.0],
                                    "n_splits": [5, 5]}),
            "table4": pd.DataFrame({"arch": ["vgg16"], "model": ["crowdABC"],
                                    "annotations": ["original"], "mean_auc": [90.0],
                                    "sd_auc": [1.0], "n_splits": [5]}),
            "paired": pd.DataFrame([{**comparison, "model_a": "crowdA", "mean_diff": 0.005,
                                     "corrected_ci_low": -0.01, "corrected_ci_high": 0.02}]),
            "controls": pd.DataFrame([{"arch": "vgg16", "model_a": "crowdABC",
                                       "model_b": "crowdABC_random", "mean_diff": 0.002,
                                       "corrected_ci_low": -0.004,
                                       "corrected_ci_high": 0.008}])}
    return paper, book


def test_gains_reproduce_when_the_papers_gain_is_inside_the_books_interval():
    paper, book = _paper_and_book()
    rows = {r["item"]: r for r in scorecard.gain_rows(paper, book, "cpu")}
    gain = rows["vgg16 crowdA − baseline"]      # the paper's +1.5 inside [-1, 2]
    assert gain["rule"] == "gain in interval" and gain["verdict"] == "reproduced"
    assert gain["paper"] == pytest.approx(1.5) and gain["book"] == pytest.approx(0.5)
    assert gain["interval"] == "[-1, 2], width 3"
    control = rows["vgg16 crowdABC original − randomized"]   # +1 outside [-0.4, 0.8]
    assert control["verdict"].startswith("differs") and control["interval"].endswith("1.2")
    base = rows["vgg16 baseline"]               # 77 inside 76 ± 2.776 × 2 / √5
    assert base["rule"] == "level in interval" and base["verdict"] == "reproduced"
    assert rows["vgg16 crowdABC original"]["verdict"].startswith("differs")   # 80 vs 90 ± 1.2
    empty = scorecard.gain_rows(paper, {}, "cpu")
    assert {r["verdict"] for r in empty} == {"not reproducible here"}


def _pair(r, low, high):
    frame = pd.DataFrame({"dataset": ["isic2017"], "feature": ["C"], "source_a": ["crowd"],
                          "source_b": ["student"], "r": [r], "ci_low": [low],
                          "ci_high": [high]})
    from enhance_utils.stats import correlation

    return correlation.interpret(frame).iloc[0]


def test_a_band_verdict_whose_interval_reaches_the_cut_is_within_noise():
    noisy = scorecard.band_row("weak colour agreement, every pair", _pair(0.292, 0.25, 0.33),
                               "weak", "smoke")
    assert noisy["verdict"] == "reproduced" and noisy["rule"] == "band"
    assert "within noise" in noisy["reason"] and "cut at 0.3" in noisy["reason"]
    assert noisy["interval"] == "[0.25, 0.33], width 0.08"
    clear = scorecard.band_row("weak colour agreement, every pair", _pair(0.2, 0.15, 0.25),
                               "weak", "smoke")
    assert clear["verdict"] == "reproduced" and clear["reason"] == ""


def test_a_row_outside_its_tolerance_gives_the_known_reason():
    row = scorecard._row("Table 2", "ph2 automated B", 0, 199, 0.0, "smoke")
    assert row["verdict"] == ("differs by +199, because the published file holds 199 PH2 "
                              "border scores; the paper's Table 2 reports 0")
    assert row["chapter"] == "02_annotations"
    unknown = scorecard._row("Table 1", "isic2017 Diagnosis Melanoma", 374, 375, 0.0, "smoke")
    assert unknown["verdict"] == "differs by +1, because cause not identified yet"


def test_a_row_without_a_book_value_is_not_reproducible_here():
    row = scorecard._row("Table 5", "resnet50 baseline", 83.6, np.nan, 2.7, "cpu")
    assert row["verdict"] == "not reproducible here"


def test_counts_and_page():
    card = pd.DataFrame([scorecard._row("Table 3", "crowd A", 0.166, 0.1658, 0.001, "smoke"),
                         scorecard._row("Table 2", "ph2 automated B", 0, 199, 0.0, "smoke"),
                         scorecard._row("Table 1", "ph2 x", 0, 0, 0.5, "smoke",
                                        rule="by definition"),
                         scorecard._row("Table 5", "vgg16 baseline", 77.0, np.nan, 1.0, "smoke")],
                        columns=scorecard.COLUMNS)
    assert scorecard.counts(card).tolist() == [1, 1, 1, 1]
    text = scorecard.page(card)
    assert "**1** reproduced, **1** differ" in text and "**1** hold by definition" in text
    assert all(f"- **{rule}**: " in text for rule in scorecard.RULES)
    assert "| item | rule |" in text
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
    assert kinds.isin(["reproduced", "differs", "by definition"]).all()
    assert (kinds == "by definition").sum() == len(datasets.TABLE1_BY_DEFINITION) == 6
    explained = rows[kinds == "differs"]
    assert explained.chapter.astype(bool).all()
    assert not explained.verdict.str.contains("not identified").any()
    assert explained.item.tolist() == ["ph2 automated B", "student B", "student C"]
    assert card.rule.isin(list(scorecard.RULES)).all()


def test_text_claims_have_verdicts(card):
    claims = card[card.section.isin(["Figs. 3–4", "Section 5.1", "Fig. 5"])]
    assert len(claims) == len(scorecard.MEDIAN_CLAIMS) + 7 + 3
    assert claims.verdict.map(scorecard.verdict_kind).isin(["reproduced", "differs"]).all()
    auto_a = claims[claims.item == "no correlation: automated A"].iloc[0]
    assert auto_a.verdict.startswith("differs") and "symmetry ratio" in auto_a.verdict


def test_write_page(card, tmp_path, monkeypatch):
    monkeypatch.setattr(scorecard, "build", lambda profile, **kw: card)  # built once, above
    scorecard.write_page(tmp_path, "smoke", cached=tmp_path / "cached.csv")
    again = scorecard.write_page(tmp_path, "smoke", cached=tmp_path / "cached.csv")
    assert len(again) == len(card)
    assert (tmp_path / "scorecard.csv").is_file()
    assert "reproducibility scorecard" in (tmp_path / "scorecard_counts.md").read_text()


def test_command_writes_the_csv(card, data_root, tmp_path, monkeypatch):
    from enhance_utils import cli

    asked = []
    monkeypatch.setattr(scorecard, "build",  # the rows are the module's card, built once
                        lambda profile, **kw: asked.append((profile, kw)) or card)
    assert cli.main(["scorecard", "--out", str(tmp_path), "--resamples", "50"]) == 0
    assert [kw for _, kw in asked] == [{"resamples": 50}]
    written = pd.read_csv(tmp_path / "scorecard.csv")
    assert list(written.columns) == scorecard.COLUMNS and len(written) > 100
    assert written.rule.notna().all()                      # a rule on every row
    table3 = written[written.section == "Table 3"].set_index("item")
    for item in ("student B", "student C"):                # 0.1616 vs 0.161, 0.2306 vs 0.230
        difference = table3.loc[item, "difference"]
        assert table3.loc[item, "verdict"].startswith(f"differs by {difference:+.4g}")
    defined = written[written.verdict == "by definition"]
    assert len(defined) == 6 and (defined.section == "Table 1").all()
    assert set(defined.item) == {f"{d} {c} {v}" for c, v, d in datasets.TABLE1_BY_DEFINITION}


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


@pytest.mark.parametrize("up, down, mdd, paper_low, expected, said", [
    (3, 0, 4.0, 0.9, True, "confirmed"),
    (0, 1, 4.0, 0.9, False, "refuted: 1 of 3"),
    (1, 0, 4.0, 0.9, None, "partly"),
    (0, 0, 0.5, 0.9, False, "refuted at this power"),
    (0, 0, 4.0, 0.9, None, "not detectable at this power"),
    (0, 0, 4.0, np.nan, None, "the paper gives no number"),
])
def test_a_deep_learning_claim_at_the_power_of_its_design(up, down, mdd, paper_low, expected,
                                                           said):
    row = {"n_comparisons": 3, "n_separated_up": up, "n_separated_down": down,
           "mdd_median": mdd, "paper_low": paper_low, "paper_high": 4.2}
    agrees, reason = scorecard.claim_verdict(row)
    assert agrees is expected and said in reason


def test_deep_learning_claims_are_rows_with_their_rule():
    rows = scorecard.deep_claim_rows()  # the committed lite stores hold every claim
    assert {row["item"].split(" (")[0] for row in rows} >= {
        "a multi-task model with one annotation beats the baseline"}
    for row in rows:
        assert row["rule"] == "claim at power" and row["section"] == "Sections 5.3, 6.1.3"
        assert scorecard.verdict_kind(row["verdict"]) in scorecard.KINDS and row["reason"]
    assert len({row["item"].split(" (")[0] for row in rows}) == len(rows)


def test_each_claim_is_read_on_the_store_with_the_most_power(monkeypatch):
    """A store still being filled (fewer folds, a larger detectable difference) gives way."""
    from enhance_utils.learning import claims

    def table(mdd):
        return pd.DataFrame([{"claim": "ensemble", "arch": "efficientnet_lite0",
                              "paper": "ensembles win", "n_comparisons": 3,
                              "n_separated_up": 0, "n_separated_down": 0, "diff_max": 0.5,
                              "mdd_median": mdd, "simultaneous_low_min": -3.0,
                              "simultaneous_high_max": 2.0}])

    monkeypatch.setattr(claims, "design_claims", lambda *a, **k: {
        "lite-cv": table(6.0), "lite": table(2.0)})
    row, = scorecard.deep_claim_rows()
    assert "`lite`" in row["item"] and row["tolerance"] == 2.0
    assert "detects 2.0 points" in row["reason"]
