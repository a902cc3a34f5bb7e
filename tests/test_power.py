"""The minimum detectable difference (enhance_utils.stats.power).

References: statsmodels' one-sample t-test power (``TTestPower``, an independent
implementation of the same noncentral-t power), and the textbook normal approximation
``(z_{1-a/2} + z_{power}) * se`` for a z-test.
"""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from enhance_utils.stats import power


@pytest.mark.parametrize("n_pairs, alpha", [(5, 0.05), (50, 0.01)])
def test_paired_t_mdd_matches_statsmodels(n_pairs, alpha):
    sd = 2.5
    mdd = power.design_mdd(sd, n_pairs, alpha=alpha)
    effect = TTestPower().solve_power(nobs=n_pairs, alpha=alpha, power=0.8,
                                      alternative="two-sided")
    assert mdd == pytest.approx(effect * sd, rel=1e-4)


def test_power_at_a_family_level_by_simulation():
    """At alpha = 0.05 / 21 with 5 pairs statsmodels' solver stops at a wrong root (SciPy's
    noncentral t is NaN in the far tail it visits), so simulate the paired t-test instead."""
    sd, n_pairs, alpha = 2.5, 5, 0.05 / 21
    mdd = power.design_mdd(sd, n_pairs, alpha=alpha)
    rng = np.random.default_rng(20)
    diffs = rng.normal(mdd, sd, size=(200_000, n_pairs))
    t = diffs.mean(axis=1) / (diffs.std(axis=1, ddof=1) / np.sqrt(n_pairs))
    rejected = np.mean(np.abs(t) > stats.t.isf(alpha / 2, n_pairs - 1))
    assert rejected == pytest.approx(0.8, abs=0.005)


def test_family_size_is_the_bonferroni_level():
    assert power.design_mdd(2.0, 5, m=21) == pytest.approx(
        power.design_mdd(2.0, 5, alpha=0.05 / 21))
    assert power.design_mdd(2.0, 5, m=21) > power.design_mdd(2.0, 5, m=3)


def test_z_test_mdd_is_the_normal_formula():
    se = 0.7
    expected = (stats.norm.isf(0.025) + stats.norm.ppf(0.8)) * se
    assert power.minimum_detectable_difference(se, np.inf) == pytest.approx(expected, rel=1e-4)


def test_the_correction_keeps_random_splits_from_buying_power():
    """Nadeau & Bengio: with n_test/n_train fixed, more random splits cannot push the MDD
    below t * s * sqrt(n_test / n_train)."""
    sd, n_test, n_train = 3.0, 600, 1400
    many = power.design_mdd(sd, 1000, n_test, n_train)
    floor = sd * np.sqrt(n_test / n_train) * (stats.norm.isf(0.025) + stats.norm.ppf(0.8))
    assert many == pytest.approx(floor, rel=0.01)
    assert power.design_mdd(sd, 5, n_test, n_train) > 1.5 * many


def test_power_at_the_mdd_is_the_requested_power():
    se, df = 1.3, 9
    mdd = power.minimum_detectable_difference(se, df, m=4, power=0.9)
    assert power.rejection_probability(mdd, se, df, m=4) == pytest.approx(0.9, abs=1e-8)


def test_unusable_inputs_give_nan_or_a_clear_error():
    assert np.isnan(power.design_mdd(np.nan, 5))
    assert np.isnan(power.design_mdd(1.0, 1))
    assert np.isnan(power.minimum_detectable_difference(0.0, 4))
    with pytest.raises(ValueError, match="power"):
        power.minimum_detectable_difference(1.0, 4, power=1.0)
    with pytest.raises(ValueError, match="pair"):
        power.variance_factor(0)


def test_comparisons_mdd_reads_a_comparison_table():
    table = pd.DataFrame({"sd_diff": [0.02, 0.04], "n_pairs": [5, 5], "n_train": [1400, 1400],
                          "n_test": [600, 600], "n_comparisons": [21, 21]})
    out = power.comparisons_mdd(table)
    assert out.iloc[1] == pytest.approx(2 * out.iloc[0])
    assert out.iloc[0] == pytest.approx(power.design_mdd(0.02, 5, 600, 1400, m=21))
