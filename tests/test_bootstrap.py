"""Pearson's r with a bootstrap interval (chapters 04–05): known answers, SciPy's bootstrap."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from enhance_utils.stats import bootstrap


# --------------------------------------------------------------------------- known answers
def test_perfect_positive_correlation():
    x = np.arange(10.0)
    result = bootstrap.correlate(x, 2 * x + 1, resamples=200, seed=0)
    assert result["n"] == 10
    assert result["r"] == pytest.approx(1.0)
    assert result["spearman"] == pytest.approx(1.0)
    assert result["ci_low"] == pytest.approx(1.0) and result["ci_high"] == pytest.approx(1.0)
    assert result["p"] < 1e-6


def test_perfect_negative_correlation():
    x = np.arange(10.0)
    result = bootstrap.correlate(x, 3 - 0.5 * x, resamples=200, seed=0)
    assert result["r"] == pytest.approx(-1.0)
    assert result["spearman"] == pytest.approx(-1.0)
    assert result["ci_high"] == pytest.approx(-1.0)


def test_zero_correlation():
    x = np.array([-2.0, -1, 0, 1, 2])
    result = bootstrap.correlate(x, x ** 2, resamples=500, seed=0)
    assert result["r"] == pytest.approx(0.0, abs=1e-12)
    assert result["spearman"] == pytest.approx(0.0, abs=1e-12)
    assert result["p"] == pytest.approx(1.0)
    assert result["ci_low"] < 0 < result["ci_high"]


def test_binary_label_matches_scipy():
    rng = np.random.default_rng(3)
    label = (rng.random(300) < 0.3).astype(int)
    score = label * 0.5 + rng.normal(size=300)
    result = bootstrap.correlate(score, label, resamples=300, seed=1)
    assert result["r"] == pytest.approx(stats.pearsonr(score, label).statistic)
    assert result["p"] == pytest.approx(stats.pearsonr(score, label).pvalue)
    assert result["spearman"] == pytest.approx(stats.spearmanr(score, label).statistic)
    assert result["ci_low"] < result["r"] < result["ci_high"]


def test_missing_values_are_dropped_pairwise():
    x = np.array([1.0, 2, np.nan, 4, 5, 6, 7])
    y = np.array([2.0, 1, 3, np.nan, 6, 5, 8])
    with_missing = bootstrap.correlate(x, y, resamples=200, seed=4)
    keep = ~(np.isnan(x) | np.isnan(y))
    clean = bootstrap.correlate(x[keep], y[keep], resamples=200, seed=4)
    assert with_missing["n"] == 5
    assert with_missing == pytest.approx(clean)


@pytest.mark.parametrize("x, y", [([1.0, 2.0], [3.0, 4.0]), ([1.0, 1, 1, 1], [1.0, 2, 3, 4]),
                                  ([np.nan, 1, 2], [1.0, np.nan, 2])])
def test_too_little_data_gives_nan(x, y):
    result = bootstrap.correlate(x, y, resamples=50, seed=0)
    assert np.isnan(result["r"]) and np.isnan(result["ci_low"]) and np.isnan(result["p"])


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_is_reproducible_with_a_seed():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=80), rng.normal(size=80)
    first = bootstrap.bootstrap_pearson(x, y, resamples=400, seed=11)
    assert len(first) == 400
    np.testing.assert_array_equal(first, bootstrap.bootstrap_pearson(x, y, 400, seed=11))
    assert not np.array_equal(first, bootstrap.bootstrap_pearson(x, y, 400, seed=12))


def test_bootstrap_agrees_with_scipy_percentile_bootstrap():
    rng = np.random.default_rng(1)
    x = rng.normal(size=120)
    y = 0.4 * x + rng.normal(size=120)
    low, high = bootstrap.percentile_ci(bootstrap.bootstrap_pearson(x, y, 999, seed=5))

    def pearson(a, b, axis=-1):
        return stats.pearsonr(a, b, axis=axis).statistic

    reference_ci = stats.bootstrap((x, y), pearson, paired=True, vectorized=True, n_resamples=999,
                                   method="percentile", rng=np.random.default_rng(5))
    assert low == pytest.approx(reference_ci.confidence_interval.low)
    assert high == pytest.approx(reference_ci.confidence_interval.high)


def test_bootstrap_batches_do_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=50), rng.normal(size=50)
    whole = bootstrap.bootstrap_pearson(x, y, 300, seed=3)
    monkeypatch.setattr(bootstrap, "_MAX_BATCH_CELLS", 50 * 7)
    np.testing.assert_allclose(bootstrap.bootstrap_pearson(x, y, 300, seed=3), whole)


def test_percentile_ci_ignores_degenerate_resamples():
    values = np.r_[np.linspace(0, 1, 101), [np.nan] * 10]
    assert bootstrap.percentile_ci(values) == pytest.approx((0.025, 0.975))
    assert np.isnan(bootstrap.percentile_ci(np.r_[[0.5] * 3, [np.nan] * 10])[0])
