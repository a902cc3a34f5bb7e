"""What a design can detect: the minimum detectable difference of a paired comparison
(chapters 07–08).

A verdict "cannot separate" means little without the size of effect the design could have
separated. For a paired t-type test with ``df`` degrees of freedom, standard error ``se`` and
two-sided level ``alpha / m`` (the family's Bonferroni level: Holm tests the smallest p at
exactly that level and the others at larger ones, so this bound is what every comparison of
the family is guaranteed), the *minimum detectable difference* (MDD) is the true difference
``delta`` at which the test rejects with probability ``power``::

    P(|T| > t_{1 - alpha/(2m), df})  with  T ~ noncentral t(df, delta / se)

solved for ``delta`` (:func:`minimum_detectable_difference`, with SciPy's noncentral t). The
standard error is the design's:

* the paper's random splits, the corrected resampled t-test (Nadeau & Bengio, 2003):
  ``se = s * sqrt(1/J + n_test/n_train)`` with ``df = J - 1``: more splits shrink only the
  first term, so the MDD of random splits stays above ``t * s * sqrt(n_test/n_train)``;
* repeated k-fold cross-validation (Bouckaert & Frank, 2004): ``J = k * r`` folds in all,
  the same correction with ``n_test/n_train = 1/(k-1)`` and ``df = k * r - 1``;
* a z-test on a known variance (DeLong on pooled predictions): ``df = inf``.

``s`` is the observed split-to-split standard deviation of the differences.
:func:`design_mdd` applies this to a table of comparisons.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

POWER = 0.8
ALPHA = 0.05


def variance_factor(n_pairs: int, n_test: float | None = None,
                    n_train: float | None = None) -> float:
    """The factor of ``s²`` in the variance of a mean paired difference over ``n_pairs``
    resamples: ``1/J`` (independent pairs) plus ``n_test/n_train`` when both sizes are given
    (the corrected resampled t-test)."""
    if n_pairs < 1:
        raise ValueError(f"need at least one pair, got {n_pairs}")
    factor = 1 / n_pairs
    if n_test is not None and n_train is not None:
        factor += float(n_test) / float(n_train)
    return factor


def rejection_probability(delta: float, se: float, df: float, alpha: float = ALPHA,
                          m: int = 1) -> float:
    """Probability that a two-sided t-test (z-test for ``df = inf``) at level ``alpha / m``
    rejects when the true difference is ``delta`` and the standard error ``se``."""
    level = alpha / m
    shift = delta / se
    if np.isinf(df):
        crit = stats.norm.isf(level / 2)
        return float(stats.norm.sf(crit - shift) + stats.norm.cdf(-crit - shift))
    crit = stats.t.isf(level / 2, df)
    # SciPy's noncentral t returns NaN for a far tail (about 1e-10 and below): it is ~0 there
    near, far = stats.nct.sf(crit, df, abs(shift)), stats.nct.cdf(-crit, df, abs(shift))
    return float(near + np.nan_to_num(far))


def minimum_detectable_difference(se: float, df: float, alpha: float = ALPHA, m: int = 1,
                                  power: float = POWER) -> float:
    """The smallest true difference that a two-sided test at level ``alpha / m`` with
    standard error ``se`` and ``df`` degrees of freedom detects with probability ``power``
    (same units as ``se``); NaN when ``se`` or ``df`` is not usable."""
    if not (np.isfinite(se) and se > 0) or not df >= 1:
        return np.nan
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power}")

    def gap(delta):
        return rejection_probability(delta, se, df, alpha, m) - power

    high = se
    while gap(high) < 0:
        high *= 2
    return float(optimize.brentq(gap, 0.0, high, xtol=1e-10 * se))


def design_mdd(sd_diff: float, n_pairs: int, n_test: float | None = None,
               n_train: float | None = None, alpha: float = ALPHA, m: int = 1,
               power: float = POWER) -> float:
    """The MDD of a paired comparison over ``n_pairs`` resamples whose differences have
    standard deviation ``sd_diff``: corrected when ``n_test`` and ``n_train`` are given."""
    if n_pairs < 2 or not np.isfinite(sd_diff):
        return np.nan
    se = sd_diff * np.sqrt(variance_factor(n_pairs, n_test, n_train))
    return minimum_detectable_difference(se, n_pairs - 1, alpha, m, power)


def comparisons_mdd(comparisons: pd.DataFrame, family: str = "n_comparisons",
                    alpha: float = ALPHA, power: float = POWER) -> pd.Series:
    """The MDD of each row of a comparison table (columns ``sd_diff``, ``n_pairs``,
    ``n_train``, ``n_test`` and the family size ``family``, as
    :func:`enhance_utils.learning.verdicts.paired_comparisons` returns them), with the
    corrected standard error and the family's Bonferroni level."""
    values = [design_mdd(row.sd_diff, int(row.n_pairs), row.n_test, row.n_train, alpha,
                         int(getattr(row, family)), power)
              for row in comparisons.itertuples()]
    return pd.Series(values, index=comparisons.index, name="mdd")
