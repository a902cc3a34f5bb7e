"""Correlation of the ABC scores with the diagnosis (the paper's Table 3), with uncertainty.

For every dataset × source × feature the per-lesion score of
:func:`enhance_utils.data.annotations.per_lesion` is correlated with the binary diagnostic label:
Pearson r (the paper's measure) with a seeded percentile-bootstrap 95% confidence interval
(lesions resampled), its p-value, and Spearman's rho as a robustness column. The paper's
interpretation bands (weak < 0.3 ≤ moderate < 0.5 ≤ strong, section 4.1) are applied to the
estimate and to both ends of its interval by :func:`interpret`.

Labels: ISIC 2017 abnormal = melanoma or seborrheic keratosis (the paper's task); PH2
abnormal = melanoma by default, atypical nevi counted as abnormal on request.
Chapter 04 (``chapters/04_correlation.ipynb``) is built on this module.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..data import annotations, datasets
from ..options import DEFAULT_RESAMPLES, DEFAULT_SEED
from .bootstrap import bootstrap_pearson, correlate

#: Lower edge of each of the paper's bands for ``|r|`` (section 4.1).
BANDS = (("weak", 0.0), ("moderate", 0.3), ("strong", 0.5))
TABLE3_COLUMNS = ["dataset", "source", "feature", "n", "r", "ci_low", "ci_high", "p", "spearman"]
#: Sources correlated with the label per dataset (the PH2 expert comes from the PH2 table).
LABEL_SOURCES = {"isic2017": ["automated", "crowd", "student"],
                 "ph2": ["automated", "crowd", "expert"]}


# --------------------------------------------------------------------------- labels
def labels(root=None, atypical_abnormal: bool = False) -> pd.DataFrame:
    """Binary diagnostic label of every lesion of both datasets.

    ISIC 2017: 1 = melanoma or seborrheic keratosis. PH2: 1 = melanoma, and atypical nevi
    too when ``atypical_abnormal``.

    Returns
    -------
    pandas.DataFrame
        ``dataset, lesion_id, label``.
    """
    isic = datasets.isic_ground_truth(root)
    ph2 = datasets.ph2_table(root)
    return pd.concat([
        pd.DataFrame({"dataset": "isic2017", "lesion_id": isic.lesion_id, "label": isic.label}),
        pd.DataFrame({"dataset": "ph2", "lesion_id": ph2.lesion_id,
                      "label": datasets.ph2_label(ph2, atypical_abnormal)}),
    ], ignore_index=True)


# --------------------------------------------------------------------------- Table 3
def label_correlations(scores: pd.DataFrame, lesion_labels: pd.DataFrame,
                       resamples: int = DEFAULT_RESAMPLES, seed: int | None = DEFAULT_SEED,
                       sources: dict[str, list[str]] | None = None,
                       features=annotations.FEATURES, progress: bool = False) -> pd.DataFrame:
    """Correlation of per-lesion scores with the label, per dataset × source × feature.

    Parameters
    ----------
    scores : pandas.DataFrame
        Per-lesion scores as returned by :func:`annotations.per_lesion`.
    lesion_labels : pandas.DataFrame
        ``dataset, lesion_id, label`` as returned by :func:`labels`.
    resamples, seed : int
        Bootstrap resamples and seed; every row is resampled with the same seed, so a row
        does not depend on which other rows are computed.
    sources : dict, optional
        Sources per dataset; :data:`LABEL_SOURCES` by default. Combinations without any
        score (the PH2 experts scored no border) are left out.
    progress : bool
        A progress bar over the bootstraps (one per row).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE3_COLUMNS`.
    """
    merged = scores.merge(lesion_labels, on=["dataset", "lesion_id"], how="inner")
    groups = dict(list(merged.groupby(["dataset", "source", "feature"])))
    keys = [(dataset, source, feature) for dataset, names in (sources or LABEL_SOURCES).items()
            for source in names for feature in features if (dataset, source, feature) in groups]
    rows = []
    for key in tqdm(keys, desc="bootstrap", unit="row", disable=not progress):
        part = groups[key]
        rows.append({"dataset": key[0], "source": key[1], "feature": key[2],
                     **correlate(part.score, part.label, resamples, seed)})
    return pd.DataFrame(rows, columns=TABLE3_COLUMNS)


def table3(long: pd.DataFrame, root=None, student_rule: str = "first_group",
           atypical_abnormal: bool = False, resamples: int = DEFAULT_RESAMPLES,
           seed: int | None = DEFAULT_SEED, progress: bool = False) -> pd.DataFrame:
    """The paper's Table 3 (ISIC) and its PH2 counterpart, computed from the long table.

    Parameters
    ----------
    long : pandas.DataFrame
        ``annotations.load().long``.
    student_rule : str
        How a lesion annotated by several student groups is scored; see
        :func:`annotations.per_lesion`. ``"first_group"`` is the rule behind the paper's
        numbers.
    atypical_abnormal : bool
        Count PH2 atypical nevi as abnormal (default: only melanoma).
    progress : bool
        A progress bar over the bootstraps.
    """
    scores = annotations.per_lesion(long, student_rule=student_rule)
    return label_correlations(scores, labels(root, atypical_abnormal), resamples, seed,
                              progress=progress)


def variants(long: pd.DataFrame, root=None, resamples: int = DEFAULT_RESAMPLES,
             seed: int | None = DEFAULT_SEED, progress: bool = False) -> pd.DataFrame:
    """Table 3 under the paper's choices and under the two alternatives the book shows.

    Returns
    -------
    pandas.DataFrame
        :data:`TABLE3_COLUMNS` plus ``variant``: ``paper`` (first student group, PH2
        abnormal = melanoma; every row), ``student_mean_of_groups`` (the ISIC student rows
        with the groups averaged) and ``ph2_atypical_abnormal`` (the PH2 rows with atypical
        nevi counted as abnormal). ``progress``: progress bars over the bootstraps.
    """
    paper = table3(long, root, resamples=resamples, seed=seed, progress=progress)
    mean_groups = label_correlations(annotations.per_lesion(long, student_rule="mean_of_groups"),
                                     labels(root), resamples, seed,
                                     sources={"isic2017": ["student"]}, progress=progress)
    atypical = label_correlations(annotations.per_lesion(long), labels(root, True), resamples,
                                  seed, sources={"ph2": LABEL_SOURCES["ph2"]}, progress=progress)
    parts = {"paper": paper, "student_mean_of_groups": mean_groups,
             "ph2_atypical_abnormal": atypical}
    frame = pd.concat([p.assign(variant=name) for name, p in parts.items()], ignore_index=True)
    return frame[["variant"] + TABLE3_COLUMNS]


# --------------------------------------------------------------------------- interpretation
def band(r: float) -> str:
    """The paper's band of a correlation's magnitude: ``weak``, ``moderate`` or ``strong``.

    The paper states the bands for 0 ≤ ρ < 1; a negative r gets the band of ``|r|``. NaN gives
    an empty string.
    """
    if not np.isfinite(r):
        return ""
    magnitude = abs(r)
    return [name for name, lower in BANDS if magnitude >= lower][-1]


def _magnitude_range(low: float, high: float) -> tuple[float, float]:
    """Smallest and largest ``|r|`` inside the interval [low, high]."""
    if low <= 0 <= high:
        return 0.0, max(-low, high)
    return min(abs(low), abs(high)), max(abs(low), abs(high))


def interpret(frame: pd.DataFrame, r: str = "r", low: str = "ci_low",
              high: str = "ci_high") -> pd.DataFrame:
    """Apply the paper's bands to estimates and their confidence intervals.

    Adds ``band`` (of the estimate), ``band_range`` (the bands the interval reaches, e.g.
    ``weak–moderate``), ``crosses_band`` (the interval reaches more than one band, so the
    verbal label is not settled by the data) and ``excludes_zero`` (the interval lies
    entirely on one side of 0, so the sign of the correlation is settled).
    """
    out = frame.copy()
    out["band"] = [band(v) for v in out[r]]
    readings = [_interval_reading(lo, hi) for lo, hi in zip(out[low], out[high])]
    out["band_range"] = [reading[0] for reading in readings]
    out["crosses_band"] = pd.array([reading[1] for reading in readings], dtype="boolean")
    out["excludes_zero"] = pd.array([reading[2] for reading in readings], dtype="boolean")
    return out


def _interval_reading(low: float, high: float) -> tuple[str, object, object]:
    """Bands reached by [low, high], whether that is more than one, whether 0 is outside."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "", pd.NA, pd.NA
    first, last = (band(v) for v in _magnitude_range(low, high))
    return (first if first == last else f"{first}–{last}"), first != last, bool(low > 0 or high < 0)


# --------------------------------------------------------------------------- plots
def _row_label(row) -> str:
    return f"{row.source} {row.feature}"


def plot_correlations(frame: pd.DataFrame, paper: pd.DataFrame | None = None, ax=None,
                      title: str = ""):
    """Forest plot: r with its CI per source × feature, the bands shaded.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of one dataset with ``source, feature, r, ci_low, ci_high``.
    paper : pandas.DataFrame, optional
        ``source, feature, r`` of the paper, drawn as open diamonds.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.35 * len(frame) + 1.6), layout="constrained")
    data = frame.reset_index(drop=True)
    y = np.arange(len(data))[::-1]
    left = min(-0.55, float(np.nanmin(data.ci_low)) - 0.05)
    right = max(0.55, float(np.nanmax(data.ci_high)) + 0.05)
    for (_, lower), shade in zip(BANDS, ("0.96", "0.90", "0.84")):
        upper = next((edge for _, edge in BANDS if edge > lower), max(-left, right))
        ax.axvspan(lower, upper, color=shade, zorder=0, lw=0)
        ax.axvspan(-upper, -lower, color=shade, zorder=0, lw=0)
    ax.axvline(0, color="0.4", lw=0.8)
    ax.errorbar(data.r, y, xerr=[data.r - data.ci_low, data.ci_high - data.r], fmt="o",
                color="C0", capsize=3, label="computed, 95% CI")
    if paper is not None:
        ref = data.merge(paper[["source", "feature", "r"]], on=["source", "feature"],
                         how="left", suffixes=("", "_paper"))
        ax.scatter(ref.r_paper, y, marker="D", s=60, facecolors="none", edgecolors="C3",
                   zorder=3, label="paper")
    ax.set_xlim(left, right)
    ax.set_yticks(y, [_row_label(row) for row in data.itertuples()])
    ax.set_xlabel("Pearson r with the label (bands: weak < 0.3 ≤ moderate < 0.5 ≤ strong)")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small",
              frameon=False)
    return ax


# --------------------------------------------------------------------------- explorer
def bootstrap_view(scores: pd.DataFrame, lesion_labels: pd.DataFrame, dataset: str, source: str,
                   feature: str, resamples: int = DEFAULT_RESAMPLES,
                   seed: int | None = DEFAULT_SEED) -> tuple[dict, np.ndarray]:
    """One source's correlation with the label and the bootstrap draws behind its interval.

    Returns
    -------
    row : dict
        :data:`TABLE3_COLUMNS` as :func:`label_correlations` computes them (all NaN, ``n`` 0,
        for a source that did not score this feature).
    draws : numpy.ndarray
        The ``r`` of every resample, the same resamples (same seed) as the row's interval;
        empty when there is no interval.
    """
    part = scores[(scores.dataset == dataset) & (scores.source == source)
                  & (scores.feature == feature)].merge(lesion_labels, on=["dataset", "lesion_id"])
    row = {"dataset": dataset, "source": source, "feature": feature,
           **correlate(part.score, part.label, resamples, seed)}
    if not np.isfinite(row["r"]):
        return row, np.array([])
    x, y = part.score.to_numpy(float), part.label.to_numpy(float)
    keep = np.isfinite(x) & np.isfinite(y)
    return row, bootstrap_pearson(x[keep], y[keep], resamples, seed)


def plot_bootstrap(draws: np.ndarray, row: dict, ax=None):
    """Histogram of the bootstrap ``r`` with the estimate and the 95% interval marked."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 2.8), layout="constrained")
    name = f"{row['dataset']}, {row['source']} {row['feature']}"
    if len(draws) == 0:
        ax.text(0.5, 0.5, f"{name}: no correlation (n = {row['n']})", ha="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    ax.hist(draws[np.isfinite(draws)], bins=40, color="0.75")
    for value, style in ((row["ci_low"], ":"), (row["ci_high"], ":"), (row["r"], "-")):
        ax.axvline(value, color="C0", ls=style, lw=1.5)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel("Pearson r with the label in a bootstrap resample")
    ax.set_ylabel("resamples")
    ax.set_title(f"{name}: r = {row['r']:.3f}, 95% CI [{row['ci_low']:.3f}, "
                 f"{row['ci_high']:.3f}], n = {row['n']}", fontsize=10)
    return ax


#: the two PH2 labels of :func:`variants`, as :func:`plot_ph2_variants` titles them
PH2_VARIANTS = {"paper": "abnormal = melanoma",
                "ph2_atypical_abnormal": "abnormal = melanoma or atypical nevus"}


def plot_ph2_variants(frame: pd.DataFrame, titles: dict[str, str] | None = None):
    """:func:`plot_correlations` of each PH2 label variant of ``frame`` (column ``variant``;
    :func:`variants`) side by side, titled ``"PH2: <title>"``; the figure."""
    import matplotlib.pyplot as plt

    titles = PH2_VARIANTS if titles is None else titles
    fig, axes = plt.subplots(1, len(titles), figsize=(6 * len(titles), 4.4),
                             layout="constrained", squeeze=False)
    for ax, (variant, title) in zip(axes[0], titles.items()):
        plot_correlations(frame[frame.variant == variant], ax=ax, title=f"PH2: {title}")
    return fig
