"""Pearson's r with a percentile-bootstrap confidence interval (chapters 04–05).

The pairs are resampled with replacement, all resamples at once in memory-bounded batches,
with the resampling indices of :func:`scipy.stats.bootstrap` (``paired=True``) for the same
seed, so that the percentiles agree with SciPy's (tested). :func:`correlate` adds the
p-value and Spearman's rho; :mod:`enhance_utils.stats.correlation` and
:mod:`enhance_utils.stats.agreement` build on it.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from ..options import DEFAULT_RESAMPLES, DEFAULT_SEED

CONFIDENCE = 0.95
_MAX_BATCH_CELLS = 2_000_000  # resamples × lesions held in memory at once


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of two 2-D arrays; NaN for a row without variance."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    denominator = np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=1) / denominator
    return np.where(denominator > 0, r, np.nan)


def bootstrap_pearson(x, y, resamples: int = DEFAULT_RESAMPLES,
                      seed: int | None = DEFAULT_SEED) -> np.ndarray:
    """Pearson r of ``resamples`` bootstrap resamples of the pairs (x, y).

    Pairs are resampled with replacement, all resamples at once (in batches that keep at
    most two million values in memory). With the same seed the resampling indices are those
    of :func:`scipy.stats.bootstrap` with ``paired=True``, so the percentiles agree with it.

    Parameters
    ----------
    x, y : array-like
        Paired observations without missing values.
    resamples : int
        Number of bootstrap resamples.
    seed : int or None
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    numpy.ndarray
        One r per resample; NaN for a resample in which x or y is constant.

    Raises
    ------
    ValueError
        For fewer than one resample (there would be no interval).
    """
    check_resamples(resamples)
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    rng = np.random.default_rng(seed)
    batch = max(1, _MAX_BATCH_CELLS // max(n, 1))
    out = []
    for start in range(0, resamples, batch):
        index = rng.integers(0, n, (min(batch, resamples - start), n))
        out.append(_pearson_rows(x[index], y[index]))
    return np.concatenate(out) if out else np.array([])


def check_resamples(resamples) -> int:
    """``resamples`` if it is a whole number of at least 1, else a ValueError."""
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise ValueError(f"resamples must be a whole number of at least 1, not {resamples!r}")
    return int(resamples)


def percentile_ci(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of bootstrap values; degenerate (NaN) resamples are left out.

    NaN when fewer than half of the resamples are usable.
    """
    values = np.asarray(values, float)
    usable = values[np.isfinite(values)]
    if len(usable) == 0 or len(usable) < len(values) / 2:
        return np.nan, np.nan
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(usable, [tail, 100 - tail])
    return float(low), float(high)


def correlate(x, y, resamples: int = DEFAULT_RESAMPLES, seed: int | None = DEFAULT_SEED,
              confidence: float = CONFIDENCE) -> dict:
    """Pearson r with bootstrap CI and p-value, and Spearman's rho, of two paired vectors.

    Pairs where either value is missing are dropped first. With fewer than three pairs, or a
    constant vector, every statistic is NaN.

    Returns
    -------
    dict
        ``n, r, ci_low, ci_high, p, spearman``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    result = {"n": int(keep.sum()), "r": np.nan, "ci_low": np.nan, "ci_high": np.nan,
              "p": np.nan, "spearman": np.nan}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return result
    pearson = stats.pearsonr(x, y)
    low, high = percentile_ci(bootstrap_pearson(x, y, resamples, seed), confidence)
    result.update(r=float(pearson.statistic), p=float(pearson.pvalue), ci_low=low, ci_high=high,
                  spearman=float(stats.spearmanr(x, y).statistic))
    return result
