"""Correlation with the diagnosis (chapter 04): known answers, bootstrap, Table 3 on real data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from enhance_utils.data import annotations, paper as reference
from enhance_utils import cli
from enhance_utils.stats import correlation

#: the paper's Table 3 as printed (ISIC, first student group)
PAPER_TABLE3 = {("automated", "A"): 0.046, ("automated", "B"): 0.071, ("automated", "C"): -0.122,
                ("crowd", "A"): 0.166, ("crowd", "B"): -0.017, ("crowd", "C"): 0.103,
                ("student", "A"): 0.151, ("student", "B"): 0.161, ("student", "C"): 0.230}
TOLERANCE = 0.002


# --------------------------------------------------------------------------- bands
@pytest.mark.parametrize("r, expected", [(0.0, "weak"), (0.299, "weak"), (0.3, "moderate"),
                                         (-0.35, "moderate"), (0.5, "strong"), (-0.9, "strong"),
                                         (np.nan, "")])
def test_band(r, expected):
    assert correlation.band(r) == expected


def test_interpret_reads_the_interval():
    frame = pd.DataFrame({"r": [0.32, 0.05, 0.40, -0.2, np.nan],
                          "ci_low": [0.25, -0.1, 0.31, -0.55, np.nan],
                          "ci_high": [0.38, 0.1, 0.45, -0.1, np.nan]})
    out = correlation.interpret(frame)
    assert list(out.band) == ["moderate", "weak", "moderate", "weak", ""]
    assert list(out.band_range[:4]) == ["weak–moderate", "weak", "moderate", "weak–strong"]
    assert list(out.crosses_band[:4]) == [True, False, False, True]
    assert list(out.excludes_zero[:4]) == [True, False, True, True]
    assert out.crosses_band.isna().iloc[4]


# --------------------------------------------------------------------------- tables
def _synthetic_scores():
    lesions = [f"L{i}" for i in range(8)]
    label = [0, 0, 0, 0, 1, 1, 1, 1]
    scores = pd.DataFrame({"dataset": "isic2017", "lesion_id": lesions * 2,
                           "source": ["crowd"] * 8 + ["student"] * 8, "feature": "A",
                           "score": list(map(float, label)) + [1.0, 0, 1, 0, 1, 0, 1, 0]})
    labels = pd.DataFrame({"dataset": "isic2017", "lesion_id": lesions, "label": label})
    return scores, labels


def test_label_correlations_on_a_synthetic_table():
    scores, labels = _synthetic_scores()
    out = correlation.label_correlations(scores, labels, resamples=100, seed=0,
                                         sources={"isic2017": ["crowd", "student", "automated"]})
    assert list(out.columns) == correlation.TABLE3_COLUMNS
    assert len(out) == 2, "combinations without scores are left out"
    by_source = out.set_index("source")
    assert by_source.loc["crowd", "r"] == pytest.approx(1.0)
    assert by_source.loc["student", "r"] == pytest.approx(0.0)
    assert (out.n == 8).all()


def test_lesions_without_label_are_not_used():
    scores, labels = _synthetic_scores()
    out = correlation.label_correlations(scores, labels.iloc[:6], resamples=50, seed=0,
                                         sources={"isic2017": ["crowd"]})
    assert out.n.tolist() == [6]


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def long_table(data_root):
    return annotations.load(data_root).long


@pytest.fixture(scope="module")
def real_variants(long_table, data_root):
    return correlation.variants(long_table, data_root, resamples=300, seed=1970)


def test_labels_of_both_datasets(data_root):
    paper_choice = correlation.labels(data_root).groupby("dataset").label.agg(["size", "sum"])
    assert paper_choice.loc["isic2017"].tolist() == [2000, 374 + 254]
    assert paper_choice.loc["ph2"].tolist() == [200, 40]
    atypical = correlation.labels(data_root, atypical_abnormal=True)
    assert atypical[atypical.dataset == "ph2"].label.sum() == 120


def test_table3_reproduced(real_variants):
    paper_rule = real_variants[(real_variants.variant == "paper")
                               & (real_variants.dataset == "isic2017")]
    computed = paper_rule.set_index(["source", "feature"]).r
    for key, expected in PAPER_TABLE3.items():
        assert computed[key] == pytest.approx(expected, abs=TOLERANCE), key


def test_table3_against_the_stored_paper_values(real_variants):
    computed = real_variants[real_variants.variant == "paper"]
    side = reference.beside_paper(computed, "table3", ["dataset", "source", "feature"], "r")
    in_paper = side.dropna(subset=["paper"])
    assert len(in_paper) == 9
    assert in_paper.difference.abs().max() <= TOLERANCE


def test_table3_counts_and_intervals(real_variants):
    paper_rule = real_variants[real_variants.variant == "paper"].set_index(
        ["dataset", "source", "feature"])
    assert paper_rule.loc[("isic2017", "automated", "A"), "n"] == 1970
    assert paper_rule.loc[("isic2017", "crowd", "B"), "n"] == 1250
    assert paper_rule.loc[("isic2017", "student", "C"), "n"] == 1631
    assert ("ph2", "expert", "B") not in paper_rule.index
    assert (paper_rule.ci_low <= paper_rule.r).all() and (paper_rule.r <= paper_rule.ci_high).all()


def test_student_rule_changes_student_c(real_variants):
    means = real_variants[real_variants.variant == "student_mean_of_groups"].set_index("feature")
    assert means.loc["C", "r"] == pytest.approx(0.18, abs=0.01)
    assert means.loc["C", "r"] < PAPER_TABLE3[("student", "C")] - 0.03


def test_ph2_experts_relate_strongly_to_melanoma(real_variants):
    ph2 = real_variants[(real_variants.variant == "paper") & (real_variants.dataset == "ph2")]
    experts = ph2[ph2.source == "expert"].set_index("feature")
    assert experts.loc["A", "r"] > 0.5 and experts.loc["C", "r"] > 0.5
    atypical = real_variants[real_variants.variant == "ph2_atypical_abnormal"]
    assert set(atypical.dataset) == {"ph2"} and len(atypical) == len(ph2)


def test_cli_stats_writes_the_three_tables(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    assert cli.main(["stats", "--out", str(tmp_path), "--resamples", "100", "--seed", "3"]) == 0
    table3 = pd.read_csv(tmp_path / "table3.csv")
    assert list(table3.columns) == correlation.TABLE3_COLUMNS
    assert list(pd.read_csv(tmp_path / "agreement.csv").columns) == [
        "dataset", "feature", "source_a", "source_b", "n", "r", "ci_low", "ci_high"]
    assert len(pd.read_csv(tmp_path / "reliability.csv")) > 6
    isic = table3[table3.dataset == "isic2017"].set_index(["source", "feature"]).r
    assert isic[("student", "C")] == pytest.approx(0.230, abs=TOLERANCE)


def test_plot_correlations_draws_one_row_per_correlation():
    frame = pd.DataFrame({"source": ["crowd", "student"], "feature": ["A", "A"], "r": [0.1, 0.3],
                          "ci_low": [0.0, 0.2], "ci_high": [0.2, 0.4]})
    ax = correlation.plot_correlations(frame, paper=frame.assign(r=[0.12, 0.28]))
    labels = {tick: text.get_text() for tick, text in zip(ax.get_yticks(), ax.get_yticklabels())}
    assert labels == {1: "crowd A", 0: "student A"}, "first row on top"
    assert ax.get_legend() is not None


def test_ph2_variants_side_by_side():
    frame = pd.DataFrame({"source": "crowd", "feature": ["A", "A", "B"], "r": [0.1, 0.3, 0.2],
                          "ci_low": [0.0, 0.2, 0.1], "ci_high": [0.2, 0.4, 0.3],
                          "variant": ["paper", "ph2_atypical_abnormal", "ph2_atypical_abnormal"]})
    fig = correlation.plot_ph2_variants(frame)
    assert [ax.get_title() for ax in fig.axes] == [
        "PH2: abnormal = melanoma", "PH2: abnormal = melanoma or atypical nevus"]
    assert [len(ax.get_yticks()) for ax in fig.axes] == [1, 2]  # each panel its own rows
