"""Paired statistics for two models evaluated on the same splits (chapters 07–08).

Each split gives one *pair*: the two models were trained on the same training lesions and
tested on the same test lesions, so their AUCs on that split belong together. Three views:

:func:`paired_difference`
    the mean AUC difference over the splits with a t-based confidence interval — the ordinary
    paired t-test, which treats the splits as independent samples;
:func:`corrected_t_test`
    the corrected resampled t-test of Nadeau & Bengio (2003): the training sets of random
    splits overlap, so the differences are positively correlated and the ordinary t-test is
    too confident; the variance of the mean is inflated from ``s²/J`` to
    ``(1/J + n_test/n_train) · s²``;
:func:`delong_test`
    DeLong's test for two correlated AUCs on the same test lesions (DeLong et al., 1988, in the
    fast form of Sun & Xu, 2014): how far the difference on *one* test set could move if
    other test lesions had been drawn. :func:`delong_across_splits` combines the splits.

DeLong only sees the test-set noise; the t-tests see the whole split-to-split spread (which
training lesions, which initial weights, which test lesions) but have only ``J - 1`` degrees
of freedom. With five splits, differences of one or two AUC points are usually inside the
noise: :func:`verdict` says so in words.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95


# --------------------------------------------------------------------------- across splits
@dataclass(frozen=True)
class PairedResult:
    n_pairs: int
    mean_diff: float
    sd_diff: float
    ci_low: float
    ci_high: float
    p: float

    def as_dict(self, prefix: str = "") -> dict:
        return {prefix + k: v for k, v in asdict(self).items()}


def _differences(a, b) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {a.shape} and {b.shape}")
    return a - b


def _t_result(diff: np.ndarray, variance_factor: float, level: float) -> PairedResult:
    """Mean of ``diff`` with CI and two-sided p from t_{J-1}, SE = sqrt(factor · s²)."""
    n = len(diff)
    mean = float(diff.mean()) if n else np.nan
    if n < 2:
        return PairedResult(n, mean, np.nan, np.nan, np.nan, np.nan)
    sd = float(diff.std(ddof=1))
    se = np.sqrt(variance_factor * sd ** 2)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * se
    if se == 0:
        p = 1.0 if mean == 0 else 0.0
    else:
        p = float(2 * stats.t.sf(abs(mean) / se, n - 1))
    return PairedResult(n, mean, sd, mean - half, mean + half, p)


def paired_difference(a, b, level: float = LEVEL) -> PairedResult:
    """Mean of ``a - b`` over the pairs, a t-based CI and the ordinary paired t-test."""
    diff = _differences(a, b)
    return _t_result(diff, 1 / max(len(diff), 1), level)


def corrected_t_test(a, b, n_train, n_test, level: float = LEVEL) -> PairedResult:
    """Nadeau & Bengio's corrected resampled t-test of ``a - b``.

    ``n_train`` and ``n_test`` are the sizes of one split's training and test sets (numbers,
    or one per pair, whose mean is used). The CI uses the same corrected standard error.
    """
    diff = _differences(a, b)
    ratio = float(np.mean(n_test)) / float(np.mean(n_train))
    return _t_result(diff, 1 / max(len(diff), 1) + ratio, level)


# --------------------------------------------------------------------------- DeLong
def delong_components(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUCs and DeLong's structural components of one or more score vectors.

    ``scores`` is (n_lesions,) or (k, n_lesions). Returns ``auc`` (k,), ``v10`` (k, m) — for
    each positive lesion the fraction of negatives it outranks (ties count one half) — and
    ``v01`` (k, n) — for each negative the fraction of positives that outrank it. Midranks
    (Sun & Xu, 2014) give them in O(N log N) instead of comparing all m × n pairs.
    """
    labels = np.asarray(labels).astype(int)
    scores = np.atleast_2d(np.asarray(scores, float))
    positive, negative = scores[:, labels == 1], scores[:, labels == 0]
    m, n = positive.shape[1], negative.shape[1]
    if m == 0 or n == 0:
        raise ValueError("DeLong needs at least one positive and one negative lesion")
    rank_x = stats.rankdata(positive, axis=1)
    rank_y = stats.rankdata(negative, axis=1)
    rank_z = stats.rankdata(np.hstack([positive, negative]), axis=1)
    auc = (rank_z[:, :m].sum(axis=1) / m - (m + 1) / 2) / n
    v10 = (rank_z[:, :m] - rank_x) / n
    v01 = 1 - (rank_z[:, m:] - rank_y) / m
    return auc, v10, v01


def delong_covariance(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (k,) and their DeLong covariance matrix (k, k): S10/m + S01/n."""
    auc, v10, v01 = delong_components(labels, scores)
    m, n = v10.shape[1], v01.shape[1]
    s10 = np.atleast_2d(np.cov(v10)) if m > 1 else np.zeros((len(auc), len(auc)))
    s01 = np.atleast_2d(np.cov(v01)) if n > 1 else np.zeros((len(auc), len(auc)))
    return auc, s10 / m + s01 / n


def delong_test(labels, scores_a, scores_b) -> dict:
    """DeLong's test of AUC(a) = AUC(b) on the same lesions: difference, variance, z, p."""
    auc, cov = delong_covariance(labels, np.vstack([scores_a, scores_b]))
    diff = float(auc[0] - auc[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    z, p = _z_test(diff, var)
    return {"auc_a": float(auc[0]), "auc_b": float(auc[1]), "diff": diff, "var": var,
            "z": z, "p": p}


def _z_test(diff: float, var: float) -> tuple[float, float]:
    if var <= 0:
        return (0.0, 1.0) if diff == 0 else (np.sign(diff) * np.inf, 0.0)
    z = diff / np.sqrt(var)
    return float(z), float(2 * stats.norm.sf(abs(z)))


def delong_across_splits(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """DeLong per split and combined over the splits.

    ``frame`` has columns split, lesion_id, label, score_a, score_b (the two models' test
    predictions, matched by lesion). Per split: :func:`delong_test`. Combined: the *mean* of
    the per-split differences (the same quantity the t-tests look at) with variance
    ``Σ var_k / K²`` — this treats the splits' test sets as independent. The paper's random
    splits draw their test sets independently, so they overlap in part, and the combined
    variance is then somewhat too small: read the combined p-value as optimistic.
    """
    rows = []
    for split, part in frame.groupby("split", sort=True):
        if part.label.nunique() < 2:
            continue
        rows.append({"split": split, "n_test": len(part),
                     **delong_test(part.label, part.score_a, part.score_b)})
    per_split = pd.DataFrame(rows, columns=["split", "n_test", "auc_a", "auc_b", "diff", "var",
                                            "z", "p"])
    k = len(per_split)
    if k == 0:
        return per_split, {"n_splits": 0, "diff": np.nan, "var": np.nan, "z": np.nan,
                           "p": np.nan}
    diff = float(per_split["diff"].mean())
    var = float(per_split["var"].sum() / k ** 2)
    z, p = _z_test(diff, var)
    return per_split, {"n_splits": k, "diff": diff, "var": var, "z": z, "p": p}


# --------------------------------------------------------------------------- in words
def verdict(name_a: str, name_b: str, result: PairedResult, scale: float = 100,
            family: int = 1, mdd: float | None = None, adjusted_p: float | None = None) -> str:
    """One sentence: are ``a`` and ``b`` separated?

    Without ``adjusted_p``, they are when the (corrected) CI of ``a - b`` excludes zero. With
    it (Holm's adjusted p of a family), they are when it is below ``1 - LEVEL``, and the
    sentence gives it. ``family`` > 1 says that ``result`` holds a Bonferroni simultaneous
    interval over that many comparisons. ``mdd``, the design's minimum detectable difference
    (:mod:`enhance_utils.stats.power`), is said with a verdict that cannot separate the two.
    """
    if result.n_pairs < 2 or np.isnan(result.ci_low):
        return (f"{result.n_pairs} split(s) in common: too few to compare {name_a} with "
                f"{name_b}.")
    diff, low, high = (scale * v for v in (result.mean_diff, result.ci_low, result.ci_high))
    kind = ("95% CI" if family <= 1
            else f"Bonferroni 95% simultaneous CI over {family} comparisons")
    ci = f"{diff:+.1f} AUC points ({kind} {low:+.1f} to {high:+.1f})"
    if low < -scale or high > scale:  # an AUC difference lies within ±1
        ci = f"{diff:+.1f} AUC points ({kind} wider than the whole range of AUC differences)"
    if adjusted_p is None or np.isnan(adjusted_p):
        separated, said = not low <= 0 <= high, ""
    else:
        separated = adjusted_p < 1 - LEVEL
        said = f"Holm-adjusted p = {adjusted_p:.3g}; "
    if not separated:
        detectable = (f" This design detects a true difference of {scale * mdd:.1f} points "
                      f"with 80% power." if mdd is not None and np.isfinite(mdd) else "")
        return (f"{result.n_pairs} splits cannot separate {name_a} from {name_b}: "
                f"{said}{ci}.{detectable}")
    better, worse = (name_a, name_b) if diff > 0 else (name_b, name_a)
    caveat = (f" With only {result.n_pairs} splits the spread of the differences is itself "
              f"barely known: do not trust this." if result.n_pairs < 3 else "")
    return (f"{better} is better than {worse} over {result.n_pairs} splits: {said}{ci}."
            f"{caveat}")


def plot_forest(comparisons: pd.DataFrame, title: str = "", ax=None, scale: float = 100):
    """Forest plot of paired differences: mean, corrected CI (thick) and ordinary t CI (thin).

    ``comparisons`` has columns label (or model_a/model_b), mean_diff, ci_low, ci_high,
    corrected_ci_low, corrected_ci_high, as
    :func:`enhance_utils.learning.verdicts.paired_comparisons` returns them.
    """
    import matplotlib.pyplot as plt

    frame = comparisons.reset_index(drop=True)
    if "label" in frame:
        labels = list(frame.label)
    else:
        labels = [f"{a} − {b}" for a, b in zip(frame.model_a, frame.model_b)]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.9 + 0.32 * max(len(frame), 1)))
    y = np.arange(len(frame))[::-1]
    ax.hlines(y, scale * frame.ci_low, scale * frame.ci_high, color="grey", lw=1,
              label="95% CI, paired t")
    ax.hlines(y, scale * frame.corrected_ci_low, scale * frame.corrected_ci_high, color="C0",
              lw=4, alpha=0.6, label="95% CI, corrected t")
    ax.plot(scale * frame.mean_diff, y, "o", color="black", ms=4, label="mean difference")
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    left, right = ax.get_xlim()  # an AUC difference lies within ±1: clip absurd intervals
    ax.set_xlim(max(left, -1.05 * scale), min(right, 1.05 * scale))
    ax.set_yticks(y, labels)
    ax.set_xlabel("AUC difference × 100 (first − second)")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(title)
    return ax


def plot_forests(comparisons: pd.DataFrame, title: str = "", scale: float = 100) -> list:
    """:func:`plot_forest` of each architecture's rows of ``comparisons`` (column ``arch``), one
    figure each, titled ``"<arch>, <title>"``, in the order the architectures come; the axes."""
    return [plot_forest(part, title=f"{arch}, {title}", scale=scale)
            for arch, part in comparisons.groupby("arch", sort=False)]
