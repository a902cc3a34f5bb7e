"""Paired statistics on known inputs: t-tests by hand, DeLong against brute force."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from enhance_utils.stats import paired


def brute_force_delong(labels, scores):
    """AUC, V10, V01 and the covariance matrix from all positive × negative comparisons."""
    labels = np.asarray(labels)
    scores = np.atleast_2d(scores)
    aucs, v10s, v01s = [], [], []
    for row in scores:
        x, y = row[labels == 1], row[labels == 0]
        psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
        aucs.append(psi.mean())
        v10s.append(psi.mean(axis=1))
        v01s.append(psi.mean(axis=0))
    v10, v01 = np.array(v10s), np.array(v01s)
    m, n = v10.shape[1], v01.shape[1]
    k = len(aucs)
    s10 = np.array([[np.sum((v10[a] - aucs[a]) * (v10[b] - aucs[b])) / (m - 1)
                     for b in range(k)] for a in range(k)])
    s01 = np.array([[np.sum((v01[a] - aucs[a]) * (v01[b] - aucs[b])) / (n - 1)
                     for b in range(k)] for a in range(k)])
    return np.array(aucs), v10, v01, s10 / m + s01 / n


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(7, int), np.zeros(11, int)]
    rng.shuffle(labels)
    a = np.round(rng.normal(labels * 0.8, 1.0), 1)  # rounding makes ties
    b = np.round(a + rng.normal(0, 0.7, len(a)), 1)
    auc, v10, v01 = paired.delong_components(labels, np.vstack([a, b]))
    exp_auc, exp_v10, exp_v01, exp_cov = brute_force_delong(labels, np.vstack([a, b]))
    assert np.allclose(auc, exp_auc) and np.allclose(v10, exp_v10) and np.allclose(v01, exp_v01)
    assert np.isclose(auc[0], roc_auc_score(labels, a))
    auc2, cov = paired.delong_covariance(labels, np.vstack([a, b]))
    assert np.allclose(cov, exp_cov) and cov[0, 1] != 0
    test = paired.delong_test(labels, a, b)
    var = exp_cov[0, 0] + exp_cov[1, 1] - 2 * exp_cov[0, 1]
    assert np.isclose(test["var"], var) and np.isclose(test["diff"], exp_auc[0] - exp_auc[1])
    z = (exp_auc[0] - exp_auc[1]) / np.sqrt(var)
    assert np.isclose(test["z"], z) and np.isclose(test["p"], 2 * stats.norm.sf(abs(z)))


def test_delong_known_small_case():
    # positives 0.9, 0.4; negatives 0.5, 0.1: AUC 3/4, V10 = (1, 1/2), V01 = (1/2, 1)
    auc, v10, v01 = paired.delong_components([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1])
    assert np.isclose(auc[0], 0.75)
    assert np.allclose(v10[0], [1, 0.5]) and np.allclose(v01[0], [0.5, 1])
    _, cov = paired.delong_covariance([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1])
    assert np.isclose(cov[0, 0], 0.125 / 2 + 0.125 / 2)  # var(1, .5) = .125 each side


def test_delong_identical_models_give_no_difference():
    labels = [1, 0, 1, 0, 0, 1]
    scores = [0.3, 0.2, 0.8, 0.5, 0.1, 0.4]
    test = paired.delong_test(labels, scores, scores)
    assert test["diff"] == 0 and test["p"] == 1.0
    with pytest.raises(ValueError, match="positive and one negative"):
        paired.delong_components([1, 1], [0.1, 0.2])


def test_delong_across_splits_combines_the_mean():
    rng = np.random.default_rng(5)
    frames = []
    for split in ("s1", "s2", "s3"):
        labels = np.r_[np.ones(6, int), np.zeros(9, int)]
        a = rng.normal(labels, 1)
        frames.append(pd.DataFrame({"split": split, "lesion_id": range(15), "label": labels,
                                    "score_a": a, "score_b": a + rng.normal(0, 1, 15)}))
    per_split, combined = paired.delong_across_splits(pd.concat(frames))
    assert list(per_split.split) == ["s1", "s2", "s3"]
    first = paired.delong_test(frames[0].label, frames[0].score_a, frames[0].score_b)
    assert np.isclose(per_split["diff"][0], first["diff"])
    assert np.isclose(combined["diff"], per_split["diff"].mean())
    assert np.isclose(combined["var"], per_split["var"].sum() / 9)
    assert np.isclose(combined["z"], combined["diff"] / np.sqrt(combined["var"]))


DIFFS = np.array([0.01, 0.02, 0.03, 0.00, 0.04])


def test_paired_difference_by_hand():
    b = np.array([0.80, 0.82, 0.79, 0.85, 0.81])
    result = paired.paired_difference(b + DIFFS, b)
    sd = np.sqrt(np.sum((DIFFS - 0.02) ** 2) / 4)  # 0.0158
    half = stats.t.ppf(0.975, 4) * sd / np.sqrt(5)
    assert result.n_pairs == 5 and np.isclose(result.mean_diff, 0.02)
    assert np.isclose(result.sd_diff, sd)
    assert np.isclose(result.ci_low, 0.02 - half) and np.isclose(result.ci_high, 0.02 + half)
    assert np.isclose(result.p, stats.ttest_rel(b + DIFFS, b).pvalue)


def test_corrected_t_test_by_hand():
    b = np.full(5, 0.8)
    result = paired.corrected_t_test(b + DIFFS, b, n_train=1400, n_test=250)
    s2 = np.var(DIFFS, ddof=1)
    se = np.sqrt((1 / 5 + 250 / 1400) * s2)
    t = 0.02 / se
    assert np.isclose(result.p, 2 * stats.t.sf(t, 4))
    assert np.isclose(result.ci_high - result.ci_low, 2 * stats.t.ppf(0.975, 4) * se)
    plain = paired.paired_difference(b + DIFFS, b)
    assert result.p > plain.p and result.ci_low < plain.ci_low  # the correction widens
    # per-split sizes are averaged
    again = paired.corrected_t_test(b + DIFFS, b, n_train=[1400] * 5, n_test=[250] * 5)
    assert np.isclose(again.p, result.p)


def test_identical_models_and_verdicts():
    a = np.array([0.8, 0.7, 0.9, 0.75, 0.85])
    same = paired.corrected_t_test(a, a, 1400, 250)
    assert same.mean_diff == 0 and same.p == 1.0
    assert "cannot separate" in paired.verdict("x", "y", same)
    noisy = paired.corrected_t_test(a + [0.03, -0.02, 0.04, -0.01, 0.01], a, 1400, 250)
    assert "5 splits cannot separate x from y" in paired.verdict("x", "y", noisy)
    clear = paired.corrected_t_test(a, a + [0.05, 0.06, 0.05, 0.07, 0.06], 1400, 250)
    assert paired.verdict("x", "y", clear).startswith("y is better than x over 5 splits")
    two = paired.corrected_t_test([0.80, 0.70], [0.70, 0.61], 100, 20)
    assert "do not trust this" in paired.verdict("x", "y", two)
    wild = paired.corrected_t_test([0.9, 0.3], [0.5, 0.6], 100, 20)
    assert "wider than the whole range" in paired.verdict("x", "y", wild)
    one = paired.paired_difference([0.8], [0.7])
    assert np.isnan(one.p) and "too few" in paired.verdict("x", "y", one)
    with pytest.raises(ValueError, match="equal lengths"):
        paired.paired_difference([0.1, 0.2], [0.1])


def test_forest_plot_draws_one_row_per_comparison():
    import matplotlib

    matplotlib.use("Agg", force=True)
    frame = pd.DataFrame({"model_a": ["a", "b"], "model_b": ["base", "base"],
                          "mean_diff": [0.01, -0.02], "ci_low": [-0.01, -0.05],
                          "ci_high": [0.03, 0.01], "corrected_ci_low": [-0.02, -0.06],
                          "corrected_ci_high": [0.04, 0.02]})
    ax = paired.plot_forest(frame)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a − base", "b − base"]


def test_forest_plots_one_figure_per_architecture():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    frame = pd.DataFrame({"arch": ["vgg16", "small", "vgg16"], "model_a": ["a", "a", "b"],
                          "model_b": "base", "mean_diff": [0.01, 0.02, -0.02],
                          "ci_low": -0.05, "ci_high": 0.05, "corrected_ci_low": -0.06,
                          "corrected_ci_high": 0.06})
    axes = paired.plot_forests(frame, "profile smoke: model − baseline")
    assert [ax.get_title() for ax in axes] == ["vgg16, profile smoke: model − baseline",
                                               "small, profile smoke: model − baseline"]
    assert [len(ax.get_yticklabels()) for ax in axes] == [2, 1]
    assert len({ax.figure for ax in axes}) == 2
    assert paired.plot_forests(frame.iloc[:0]) == []
    plt.close("all")


def test_a_verdict_that_cannot_separate_names_the_detectable_difference():
    a = np.array([0.8, 0.7, 0.9, 0.75, 0.85])
    noisy = paired.corrected_t_test(a + [0.03, -0.02, 0.04, -0.01, 0.01], a, 1400, 250)
    said = paired.verdict("x", "y", noisy, mdd=0.0612)
    assert said.endswith("This design detects a true difference of 6.1 points with 80% power.")
    assert "detects" not in paired.verdict("x", "y", noisy, mdd=np.nan)
