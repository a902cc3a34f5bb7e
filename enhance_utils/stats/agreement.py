"""Agreement between annotation sources (the paper's Fig. 5) and within each source.

*Between sources* (section 4.1 of the paper): the per-lesion mean score of each source, z-scored,
correlated (Pearson) with another source's over the lesions both annotated, per feature, with n
and a seeded bootstrap 95% CI. *Within a source*, which the paper does not report: Krippendorff's
alpha (interval metric, :mod:`krippendorff`) of the crowd's three ratings per lesion and of the
students of each group, and intraclass correlations from the two-way ANOVA mean squares
(Shrout and Fleiss 1979; McGraw and Wong 1996 for the intervals).
Chapter 05 (``chapters/05_agreement.ipynb``) is built on this module.
"""
from __future__ import annotations

from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from ..data import annotations
from ..options import DEFAULT_RESAMPLES, DEFAULT_SEED
from .bootstrap import CONFIDENCE, correlate

AGREEMENT_COLUMNS = ["dataset", "feature", "source_a", "source_b", "n", "r", "ci_low", "ci_high"]
RELIABILITY_COLUMNS = ["dataset", "source", "feature", "group", "n_raters", "n_lesions", "alpha",
                       "n_complete", "icc_model", "icc", "icc_ci_low", "icc_ci_high", "icc1",
                       "icc2", "icc3"]
#: Which ICC fits a source: the crowd's columns are three *different* workers per lesion (the
#: paper, section 3.2.2), so only the one-way model fits; a student group's annotators are the
#: same people on every lesion of the group, so the two-way random model (absolute agreement).
ICC_MODEL = {"crowd": "ICC(1,1)", "student": "ICC(2,1)"}


# --------------------------------------------------------------------------- between sources
def source_table(scores: pd.DataFrame, dataset: str, feature: str) -> pd.DataFrame:
    """Per-lesion scores of one dataset and feature, one z-scored column per source.

    Parameters
    ----------
    scores : pandas.DataFrame
        Per-lesion scores as returned by :func:`annotations.per_lesion`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lesion_id``; NaN where a source did not annotate a lesion. Sources in
        the order of :data:`annotations.SOURCES`.
    """
    part = scores[(scores.dataset == dataset) & (scores.feature == feature)]
    wide = part.pivot(index="lesion_id", columns="source", values="score")
    order = [s for s in annotations.SOURCES if s in wide.columns]
    return wide[order].apply(annotations.zscore)


def between_sources(scores: pd.DataFrame, resamples: int = DEFAULT_RESAMPLES,
                    seed: int | None = DEFAULT_SEED, features=annotations.FEATURES,
                    progress: bool = False) -> pd.DataFrame:
    """Pearson r between every pair of sources, per dataset and feature (the paper's Fig. 5).

    The per-lesion score is the paper's aggregation (:func:`annotations.per_lesion`: z-score
    per annotator, mean per lesion), z-scored once more per source as the paper describes;
    z-scoring does not change Pearson's r. Only lesions both sources annotated enter a pair.
    ``progress`` shows a progress bar over the dataset × feature bootstraps.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`AGREEMENT_COLUMNS`, one row per pair of sources that have scores.
    """
    rows = []
    cells = [(dataset, feature) for dataset in sorted(scores.dataset.unique())
             for feature in features]
    for dataset, feature in tqdm(cells, desc="bootstrap", unit="feature", disable=not progress):
        wide = source_table(scores, dataset, feature)
        for a, b in combinations(wide.columns, 2):
            result = correlate(wide[a], wide[b], resamples, seed)
            rows.append({"dataset": dataset, "feature": feature, "source_a": a,
                         "source_b": b, **{k: result[k] for k in AGREEMENT_COLUMNS[4:]}})
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def agreement_matrix(frame: pd.DataFrame, dataset: str, feature: str,
                     value: str = "r") -> pd.DataFrame:
    """Square, symmetric source × source matrix of one column of :func:`between_sources`.

    The diagonal is 1 for ``r`` and NaN for other columns.
    """
    part = frame[(frame.dataset == dataset) & (frame.feature == feature)]
    names = [s for s in annotations.SOURCES if s in set(part.source_a) | set(part.source_b)]
    position = {name: i for i, name in enumerate(names)}
    values = np.full((len(names), len(names)), np.nan)
    if value == "r":
        np.fill_diagonal(values, 1.0)
    for a, b, v in zip(part.source_a, part.source_b, part[value]):
        values[position[a], position[b]] = values[position[b], position[a]] = v
    return pd.DataFrame(values, index=names, columns=names)


# --------------------------------------------------------------------------- within a source
def rating_matrix(long: pd.DataFrame, dataset: str, source: str, feature: str,
                  group: str = "") -> pd.DataFrame:
    """Raw ratings of one source (and student group): lesions × annotators, NaN if missing.

    Parameters
    ----------
    long : pandas.DataFrame
        ``annotations.load().long``.
    group : str
        The student group (``"2018-2019/group03"``); empty for the crowd.
    """
    part = long[(long.dataset == dataset) & (long.source == source) & (long.feature == feature)
                & (long.group == group)]
    return part.pivot_table(index="lesion_id", columns="annotator", values="value",
                            aggfunc="first")


def alpha(ratings: pd.DataFrame, level: str = "interval") -> float:
    """Krippendorff's alpha of a lesions × annotators table (missing values allowed).

    NaN when fewer than two annotators or no lesion with two ratings, or when the ratings
    show no variation at all.
    """
    values = np.asarray(ratings, float).T  # krippendorff wants raters × units
    if values.shape[0] < 2 or (np.isfinite(values).sum(axis=0) >= 2).sum() == 0:
        return np.nan
    if np.unique(values[np.isfinite(values)]).size < 2:
        return np.nan
    return float(krippendorff.alpha(reliability_data=values, level_of_measurement=level))


def _mean_squares(values: np.ndarray) -> dict:
    """Two-way ANOVA mean squares of a complete targets × raters array."""
    n, k = values.shape
    grand = values.mean()
    ss_rows = k * ((values.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((values.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((values - grand) ** 2).sum()
    ss_error = ss_total - ss_rows - ss_cols
    return {"n": n, "k": k, "msr": ss_rows / (n - 1), "msc": ss_cols / (k - 1),
            "mse": ss_error / ((n - 1) * (k - 1)),
            "msw": (ss_total - ss_rows) / (n * (k - 1))}


def _f_quantile(dfn: float, dfd: float, confidence: float) -> float:
    return float(stats.f.ppf(1 - (1 - confidence) / 2, dfn, dfd))


def _icc1(m: dict, confidence: float) -> tuple[float, float, float]:
    n, k, msr, msw = m["n"], m["k"], m["msr"], m["msw"]
    value = (msr - msw) / (msr + (k - 1) * msw)
    f = msr / msw
    f_low = f / _f_quantile(n - 1, n * (k - 1), confidence)
    f_high = f * _f_quantile(n * (k - 1), n - 1, confidence)
    return value, (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)


def _icc2(m: dict, confidence: float) -> tuple[float, float, float]:
    n, k, msr, msc, mse = m["n"], m["k"], m["msr"], m["msc"], m["mse"]
    value = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    a = k * value / (n * (1 - value))
    b = 1 + k * value * (n - 1) / (n * (1 - value))
    df = ((a * msc + b * mse) ** 2
          / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1))))
    f_low, f_high = _f_quantile(n - 1, df, confidence), _f_quantile(df, n - 1, confidence)
    spread = k * msc + (k * n - k - n) * mse
    low = n * (msr - f_low * mse) / (f_low * spread + n * msr)
    high = n * (f_high * msr - mse) / (spread + n * f_high * msr)
    return value, low, high


def _icc3(m: dict, confidence: float) -> tuple[float, float, float]:
    n, k, msr, mse = m["n"], m["k"], m["msr"], m["mse"]
    value = (msr - mse) / (msr + (k - 1) * mse)
    f = msr / mse
    f_low = f / _f_quantile(n - 1, (n - 1) * (k - 1), confidence)
    f_high = f * _f_quantile((n - 1) * (k - 1), n - 1, confidence)
    return value, (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)


def icc(ratings, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Single-rater intraclass correlations ICC(1,1), ICC(2,1), ICC(3,1) with F-based CIs.

    Only lesions rated by every annotator are used (the ANOVA needs a complete table).

    Parameters
    ----------
    ratings : array-like or pandas.DataFrame
        Lesions (targets) × annotators.

    Returns
    -------
    pandas.DataFrame
        Indexed by model (``ICC(1,1)``…), columns ``icc, ci_low, ci_high, n``; NaN when
        fewer than two complete lesions or two annotators, or no variation at all.
    """
    values = np.asarray(ratings, float).reshape(len(ratings), -1)
    values = values[np.isfinite(values).all(axis=1)]
    models = ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)"]
    out = pd.DataFrame(np.nan, index=pd.Index(models, name="model"),
                       columns=["icc", "ci_low", "ci_high"])
    out["n"] = len(values)
    if values.shape[0] < 2 or values.shape[1] < 2 or np.ptp(values) == 0:
        return out
    squares = _mean_squares(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        for model, function in zip(models, (_icc1, _icc2, _icc3)):
            out.loc[model, ["icc", "ci_low", "ci_high"]] = function(squares, confidence)
    return out


def spearman_brown(reliability, k):
    """Reliability of the mean of ``k`` ratings from the single-rating reliability.

    ``k r / (1 + (k - 1) r)``: the reliability of a per-lesion mean of ``k`` annotators, and
    its square root the largest correlation that mean can reach with any other variable.
    """
    reliability = np.asarray(reliability, float)
    return k * reliability / (1 + (k - 1) * reliability)


def with_ceiling(frame: pd.DataFrame) -> pd.DataFrame:
    """Add what a source's reliability implies for its per-lesion mean score.

    Adds ``mean_reliability`` (Spearman–Brown of ``icc`` over the ``n_raters`` annotators of
    a lesion) and ``max_r`` (its square root, floored at 0: the largest Pearson r that the
    per-lesion mean can reach with the label or another source, by the attenuation formula).
    """
    out = frame.copy()
    out["mean_reliability"] = spearman_brown(out.icc, out.n_raters)
    out["max_r"] = np.sqrt(out.mean_reliability.clip(lower=0))
    return out


def _rated_groups(long: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(dataset, source, feature, group) of every crowd and student rating set of A, B, C."""
    part = long[long.source.isin(list(ICC_MODEL)) & long.feature.isin(annotations.FEATURES)]
    keys = part[["dataset", "source", "feature", "group"]].drop_duplicates()
    return sorted(keys.itertuples(index=False, name=None))


def reliability(long: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Within-source reliability of the crowd and of every student group, per feature.

    Raw ratings are used (no z-scoring): alpha over every lesion with at least two ratings,
    the ICCs over the lesions every annotator rated. ``icc`` and its interval are those of the
    model in :data:`ICC_MODEL` for the source; ``icc1``–``icc3`` give all three estimates.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RELIABILITY_COLUMNS`; crowd rows have an empty ``group``.
    """
    rows = []
    for dataset, source, feature, group in _rated_groups(long):
        ratings = rating_matrix(long, dataset, source, feature, group)
        iccs = icc(ratings, confidence)
        model = ICC_MODEL[source]
        rows.append({
            "dataset": dataset, "source": source, "feature": feature, "group": group,
            "n_raters": ratings.shape[1],
            "n_lesions": int((ratings.notna().sum(axis=1) >= 2).sum()),
            "alpha": alpha(ratings), "n_complete": int(iccs.n.iloc[0]), "icc_model": model,
            "icc": iccs.loc[model, "icc"], "icc_ci_low": iccs.loc[model, "ci_low"],
            "icc_ci_high": iccs.loc[model, "ci_high"], "icc1": iccs.loc["ICC(1,1)", "icc"],
            "icc2": iccs.loc["ICC(2,1)", "icc"], "icc3": iccs.loc["ICC(3,1)", "icc"]})
    return pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)


# --------------------------------------------------------------------------- plots
def _cell_text(matrix_r: pd.DataFrame, low: pd.DataFrame, high: pd.DataFrame,
               n: pd.DataFrame) -> np.ndarray:
    text = np.full(matrix_r.shape, "", dtype=object)
    for i, a in enumerate(matrix_r.index):
        for j, b in enumerate(matrix_r.columns):
            if i > j and np.isfinite(matrix_r.loc[a, b]):
                text[i, j] = (f"{matrix_r.loc[a, b]:.2f}\n[{low.loc[a, b]:.2f}, "
                              f"{high.loc[a, b]:.2f}]\nn={int(n.loc[a, b])}")
    return text


def plot_agreement(frame: pd.DataFrame, dataset: str, features=annotations.FEATURES,
                   limit: float = 0.5):
    """Fig. 5 as heatmaps: one source × source panel per feature, r with CI and n in cells.

    Only the lower triangle is drawn (the matrix is symmetric, its diagonal 1); the colour
    scale runs from ``-limit`` to ``limit`` so that weak correlations stay visible.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, len(features) + 1, figsize=(3.8 * len(features) + 0.6, 3.6),
                             gridspec_kw={"width_ratios": [1] * len(features) + [0.05]},
                             layout="constrained")
    for ax, feature in zip(axes[:-1], features):
        r = agreement_matrix(frame, dataset, feature)
        text = _cell_text(r, *(agreement_matrix(frame, dataset, feature, v)
                               for v in ("ci_low", "ci_high", "n")))
        r, text = r.iloc[1:, :-1], text[1:, :-1]  # lower triangle without the diagonal
        hidden = np.triu(np.ones(r.shape, dtype=bool), k=1)
        sns.heatmap(r, vmin=-limit, vmax=limit, cmap="RdBu_r", annot=text, fmt="", mask=hidden,
                    ax=ax, cbar_ax=axes[-1], annot_kws={"fontsize": 9}, linewidths=1,
                    cbar_kws={"label": f"Pearson r (colour scale ±{limit})"})
        ax.set_title(f"{dataset}: {feature}")
    return fig


def plot_reliability(frame: pd.DataFrame, ax=None):
    """Krippendorff's alpha per feature for the crowd and every student group.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    data = frame.assign(who=np.where(frame.source == "crowd", "crowd (" + frame.dataset + ")",
                                     "student groups"))
    sns.stripplot(data=data, x="feature", y="alpha", hue="who", dodge=True, ax=ax, size=6,
                  order=annotations.FEATURES)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    for level, name in ((0.667, "0.667"), (0.8, "0.8")):
        ax.axhline(level, color="0.5", ls="--", lw=0.8)
        ax.text(2.45, level, name, va="bottom", ha="right", fontsize=8, color="0.4")
    ax.set_ylabel("Krippendorff's alpha (interval)")
    ax.set_ylim(min(-0.1, float(np.nanmin(frame.alpha)) - 0.05), 1)
    return ax
