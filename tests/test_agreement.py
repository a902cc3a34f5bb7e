"""Agreement between and within sources (chapter 05): known answers and real data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from enhance_utils.stats import agreement, correlation
from enhance_utils.data import annotations

NAN = np.nan
#: Shrout and Fleiss (1979), Table 2: six targets rated by four judges.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
                          [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)
#: Krippendorff's (2011) example with missing values, as units (rows) × coders (columns).
KRIPPENDORFF_EXAMPLE = np.array([
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4]]).T


# --------------------------------------------------------------------------- between sources
def _scores(values: dict[str, list[float]], dataset="isic2017", feature="A") -> pd.DataFrame:
    rows = []
    for source, scores in values.items():
        for i, score in enumerate(scores):
            if not np.isnan(score):
                rows.append({"dataset": dataset, "lesion_id": f"L{i}", "source": source,
                             "feature": feature, "score": score})
    return pd.DataFrame(rows)


def test_source_table_is_z_scored_per_source():
    table = agreement.source_table(_scores({"crowd": [1, 2, 3, 4], "automated": [10, 0, 5, 1]}),
                                   "isic2017", "A")
    assert list(table.columns) == ["automated", "crowd"], "sources in the package's order"
    np.testing.assert_allclose(table.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(table.std(ddof=0), 1)


def test_between_sources_known_answers():
    x = [0.0, 1, 2, 3, 4, 5]
    scores = _scores({"crowd": x, "student": [2 * v - 1 for v in x],
                      "automated": [-v for v in x]})
    out = agreement.between_sources(scores, resamples=100, seed=0, features=["A"])
    assert list(out.columns) == agreement.AGREEMENT_COLUMNS
    pairs = out.set_index(["source_a", "source_b"]).r
    assert pairs[("crowd", "student")] == pytest.approx(1.0)
    assert pairs[("automated", "crowd")] == pytest.approx(-1.0)
    assert pairs[("automated", "student")] == pytest.approx(-1.0)


def test_between_sources_uses_only_lesions_both_annotated():
    scores = _scores({"crowd": [1.0, 2, 3, 4, NAN, NAN], "student": [NAN, 2, 1, 4, 3, 5]})
    out = agreement.between_sources(scores, resamples=100, seed=0, features=["A"])
    assert out.n.tolist() == [3]
    assert out.r.iloc[0] == pytest.approx(np.corrcoef([2, 3, 4], [2, 1, 4])[0, 1])


def test_between_sources_zero_correlation():
    scores = _scores({"crowd": [-2.0, -1, 0, 1, 2], "student": [4.0, 1, 0, 1, 4]})
    out = agreement.between_sources(scores, resamples=200, seed=0, features=["A"])
    assert out.r.iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert out.ci_low.iloc[0] < 0 < out.ci_high.iloc[0]


def test_between_sources_bootstrap_is_seeded():
    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    scores = _scores({"crowd": list(a), "student": list(a + rng.normal(size=40))})
    first = agreement.between_sources(scores, resamples=300, seed=8, features=["A"])
    again = agreement.between_sources(scores, resamples=300, seed=8, features=["A"])
    other = agreement.between_sources(scores, resamples=300, seed=9, features=["A"])
    pd.testing.assert_frame_equal(first, again)
    assert first.ci_low.iloc[0] != other.ci_low.iloc[0]


def test_agreement_matrix_is_symmetric_with_unit_diagonal():
    frame = pd.DataFrame({"dataset": "d", "feature": "A", "source_a": ["automated", "automated",
                                                                       "crowd"],
                          "source_b": ["crowd", "student", "student"], "n": [5, 6, 7],
                          "r": [0.1, 0.2, 0.3], "ci_low": 0.0, "ci_high": 0.5})
    matrix = agreement.agreement_matrix(frame, "d", "A")
    assert list(matrix.index) == ["automated", "crowd", "student"]
    np.testing.assert_allclose(matrix.values, matrix.values.T)
    np.testing.assert_allclose(np.diag(matrix.values), 1.0)
    assert matrix.loc["student", "crowd"] == pytest.approx(0.3)
    assert agreement.agreement_matrix(frame, "d", "A", "n").loc["student", "automated"] == 6


# --------------------------------------------------------------------------- within a source
def test_identical_raters_have_alpha_one():
    ratings = np.tile(np.array([[0.0], [1], [2], [1], [0], [2]]), (1, 3))
    assert agreement.alpha(ratings) == pytest.approx(1.0)


def test_alpha_known_answer_with_missing_values():
    assert agreement.alpha(KRIPPENDORFF_EXAMPLE) == pytest.approx(0.811, abs=0.001)
    assert agreement.alpha(KRIPPENDORFF_EXAMPLE, "nominal") == pytest.approx(0.691, abs=0.001)


def test_alpha_undefined_cases():
    assert np.isnan(agreement.alpha(np.array([[1.0], [2.0], [3.0]]))), "one rater"
    assert np.isnan(agreement.alpha(np.array([[1.0, NAN], [NAN, 2.0]]))), "nothing pairable"
    assert np.isnan(agreement.alpha(np.ones((4, 3)))), "no variation"


def test_icc_known_answer_shrout_fleiss():
    table = agreement.icc(SHROUT_FLEISS)
    assert table.icc.round(2).tolist() == [0.17, 0.29, 0.71]
    assert table.loc["ICC(2,1)", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.02, 0.76],
                                                                                   abs=0.005)
    assert table.loc["ICC(3,1)", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.34, 0.95],
                                                                                   abs=0.005)
    assert (table.n == 6).all()


def test_icc_identical_raters_and_incomplete_rows():
    ratings = np.tile(np.arange(6.0)[:, None], (1, 3))
    ratings_with_gap = np.vstack([ratings, [[1.0, NAN, 2.0]]])
    table = agreement.icc(ratings_with_gap)
    np.testing.assert_allclose(table.icc, 1.0)
    assert (table.n == 6).all(), "the incomplete lesion is left out"
    assert agreement.icc(ratings[:1]).icc.isna().all()


def test_spearman_brown():
    assert agreement.spearman_brown(0.5, 3) == pytest.approx(0.75)
    np.testing.assert_allclose(agreement.spearman_brown([0.0, 1.0, 0.25], 1), [0.0, 1.0, 0.25])
    assert agreement.spearman_brown(1.0, 5) == pytest.approx(1.0)


def test_with_ceiling():
    frame = pd.DataFrame({"icc": [0.25, -0.1, np.nan], "n_raters": [3, 3, 3]})
    out = agreement.with_ceiling(frame)
    assert out.mean_reliability.iloc[0] == pytest.approx(0.5)
    assert out.max_r.iloc[0] == pytest.approx(np.sqrt(0.5))
    assert out.max_r.iloc[1] == 0.0 and np.isnan(out.max_r.iloc[2])


def _long(ratings: dict[str, list[float]], source="crowd", group="") -> pd.DataFrame:
    rows = []
    for annotator, values in ratings.items():
        for i, value in enumerate(values):
            if not np.isnan(value):
                rows.append({"dataset": "isic2017", "lesion_id": f"L{i}", "source": source,
                             "feature": "A", "group": group, "annotator": annotator,
                             "column": annotator, "value": value, "row_complete": True})
    return pd.DataFrame(rows, columns=annotations.LONG_COLUMNS)


def test_rating_matrix_and_reliability_on_a_synthetic_long_table():
    same = [0.0, 1, 2, 1, 2, 0]
    long = pd.concat([
        _long({"i": same, "ii": same, "iii": same}),
        _long({"1": [0.0, 1, 2, 3, 4, 5], "2": [5.0, 4, 3, 2, 1, NAN]}, source="student",
              group="2019-2020/group01"),
    ], ignore_index=True)
    matrix = agreement.rating_matrix(long, "isic2017", "student", "A", "2019-2020/group01")
    assert matrix.shape == (6, 2) and matrix.isna().sum().sum() == 1
    table = agreement.reliability(long)
    assert list(table.columns) == agreement.RELIABILITY_COLUMNS
    out = table.set_index("source")
    assert out.loc["crowd", "alpha"] == pytest.approx(1.0)
    assert out.loc["crowd", "icc"] == pytest.approx(1.0)
    assert out.loc["crowd", "icc_model"] == "ICC(1,1)"
    assert out.loc["student", "icc_model"] == "ICC(2,1)"
    assert out.loc["student", "alpha"] < 0, "two raters in opposite order disagree"
    assert out.loc["student", "n_complete"] == 5 and out.loc["student", "n_lesions"] == 5


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def long_table(data_root):
    return annotations.load(data_root).long


@pytest.fixture(scope="module")
def real_agreement(long_table):
    return agreement.between_sources(annotations.per_lesion(long_table), resamples=300, seed=1970)


def test_real_agreement_pairs_and_counts(real_agreement):
    isic = real_agreement[real_agreement.dataset == "isic2017"].set_index(
        ["feature", "source_a", "source_b"])
    assert len(isic) == 9
    assert isic.loc[("A", "crowd", "student"), "n"] == 1048
    ph2 = real_agreement[real_agreement.dataset == "ph2"]
    assert "student" not in set(ph2.source_a) | set(ph2.source_b)
    assert ((real_agreement.ci_low <= real_agreement.r)
            & (real_agreement.r <= real_agreement.ci_high)).all()


def test_real_agreement_matches_the_papers_reading(real_agreement):
    """Section 5.2: moderate crowd–student asymmetry, weak colour, no border agreement."""
    isic = real_agreement[real_agreement.dataset == "isic2017"].set_index(
        ["feature", "source_a", "source_b"]).r
    assert correlation.band(isic[("A", "crowd", "student")]) == "moderate"
    assert all(correlation.band(v) == "weak" and v > 0 for v in isic.loc["C"])
    assert isic.loc["B"].abs().max() < 0.1


def test_real_reliability(long_table):
    out = agreement.reliability(long_table)
    crowd = out[out.source == "crowd"]
    assert len(crowd) == 6 and (crowd.n_raters == 3).all()
    assert crowd.set_index(["dataset", "feature"]).loc[("isic2017", "A"), "n_complete"] == 1250
    students = out[out.source == "student"]
    assert students.group.nunique() >= 20
    assert students.alpha.between(-1, 1).all()
    assert (students.n_raters >= 2).all()


def test_plot_agreement_has_one_heatmap_per_feature(real_agreement):
    fig = agreement.plot_agreement(real_agreement, "isic2017")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["isic2017: A", "isic2017: B", "isic2017: C"]
