"""A run of the ``published`` mode against the published CSVs (``enhance/automated/*.csv``).

:func:`agreement` compares one run with its CSV; :func:`table` does it for the chapter's
runs; the same table on *every* lesion is the committed file :func:`results_path`
(``enhance_utils/abc/agreement_all.csv``), which :func:`regenerate` rewrites (the file
records the seconds of each run: about half an hour on two shared cores; ``python -m
enhance_utils.abc.comparison``) and :func:`read` loads. Chapter 03's prose takes its numbers
from that file, never from typed text. :func:`correlations` asks whether the two modes go
with the diagnosis as the published CSV does.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..data import annotations, datasets, paths
from ..options import DATASETS
from .core import FEATURES, MODES
from .runner import compute, value

#: largest difference in the asymmetry ratio ``ii`` that counts as the same value
II_TOLERANCE = 2e-3
#: the published CSV's column that :func:`correlations` reads per feature (``ii`` for asymmetry,
#: the class ``i`` otherwise), as :func:`enhance_utils.abc.runner.value` does for a run
VALUE_COLUMN = {"A": "ii", "B": "i", "C": "i"}
#: the columns of :func:`table`
COLUMNS = ["dataset", "feature", "n_ids", "n_scored", "n_published", "n_both",
           "n_only_computed", "n_only_published", "same_ids_skipped", "identical", "within",
           "max_abs_delta_ii"]


@dataclass(frozen=True)
class Agreement:
    """How one ``published``-mode run of a feature compares with the published CSV."""

    dataset: str
    feature: str
    n_ids: int          #: ids in the run
    n_scored: int       #: ids the run scored (status ``ok``)
    n_published: int    #: ids of the run in the CSV
    n_both: int         #: ids scored and in the CSV
    only_computed: list = field(default_factory=list)   #: scored, not in the CSV
    only_published: list = field(default_factory=list)  #: in the CSV, not scored
    #: share of the ids in both with the same score (the class ``i`` for asymmetry)
    identical: float = np.nan
    #: share with ``|Δii| <= tolerance`` (asymmetry) or the score within one (border, colour)
    within: float = np.nan
    max_abs_delta_ii: float | None = None  #: largest ``|Δii|`` (asymmetry only)

    @property
    def same_ids_skipped(self) -> bool:
        """The run skips exactly the ids the CSV lacks."""
        return not self.only_computed and not self.only_published

    def row(self) -> dict:
        """A line of :func:`table`: counts instead of id lists."""
        return {"dataset": self.dataset, "feature": self.feature, "n_ids": self.n_ids,
                "n_scored": self.n_scored, "n_published": self.n_published,
                "n_both": self.n_both, "n_only_computed": len(self.only_computed),
                "n_only_published": len(self.only_published),
                "same_ids_skipped": self.same_ids_skipped, "identical": self.identical,
                "within": self.within, "max_abs_delta_ii": self.max_abs_delta_ii}


def published(dataset: str, feature: str, root=None) -> pd.DataFrame:
    """The published automated scores: ``lesion_id`` plus the file's columns (``i``, ``ii``)."""
    name, _ = annotations.AUTOMATED_FILES[(dataset, feature)]
    root = Path(root) if root is not None else paths.data_dir()
    frame = pd.read_csv(root / "enhance" / "automated" / name)
    frame["lesion_id"] = frame.pop("ID").astype(str).map(annotations.strip_suffix)
    return frame


def _share(hits: pd.Series) -> float:
    return float(hits.mean()) if len(hits) else np.nan


def agreement(computed: pd.DataFrame, dataset: str, feature: str, root=None,
              tolerance: float = II_TOLERANCE) -> Agreement:
    """Agreement of a ``published``-mode run with the published CSV, on the run's ids."""
    pub = published(dataset, feature, root)
    if computed.feature.nunique() > 1:   # a run of several features at once
        computed = computed[computed.feature == feature]
    run = computed.set_index("lesion_id")
    ids = run.index
    in_pub = ids.isin(pub.lesion_id)
    ok = (run.status == "ok").to_numpy()
    both = ok & in_pub
    merged = run[both].join(pub.set_index("lesion_id").add_suffix("_pub").rename(
        columns={"i_pub": "i", "ii_pub": "ii"}))
    counts = {"dataset": dataset, "feature": feature, "n_ids": int(len(ids)),
              "n_scored": int(ok.sum()), "n_published": int(in_pub.sum()),
              "n_both": int(both.sum()), "only_computed": sorted(ids[ok & ~in_pub]),
              "only_published": sorted(ids[~ok & in_pub])}
    if feature == "A":
        ii = merged.raw.map(lambda r: r.get("ii", np.nan)).astype(float)
        delta = (ii - merged["ii"]).abs()
        return Agreement(**counts, identical=_share(merged.score == merged["i"]),
                         within=_share(delta <= tolerance),
                         max_abs_delta_ii=float(delta.max()) if len(delta) else np.nan)
    delta = (merged.score - merged["i"]).abs()
    return Agreement(**counts, identical=_share(delta == 0), within=_share(delta <= 1))


def table(runs: dict) -> pd.DataFrame:
    """:func:`agreement` of every ``(dataset, feature, "published")`` run of ``runs``."""
    rows = [agreement(run, dataset, feature).row()
            for (dataset, feature, mode), run in runs.items() if mode == "published"]
    return pd.DataFrame(rows, columns=COLUMNS)


def labels(root=None) -> dict[str, pd.Series]:
    """The diagnosis per lesion id of each dataset: ISIC 2017 abnormal (melanoma or seborrheic
    keratosis), PH2 melanoma."""
    ph2 = datasets.ph2_table(root)
    return {"isic2017": datasets.isic_ground_truth(root).set_index("lesion_id").label,
            "ph2": datasets.ph2_label(ph2).set_axis(ph2.lesion_id)}


def label_correlation(values: pd.Series, label: pd.Series) -> tuple[float, float, int]:
    """Pearson's r and its p-value of ``values`` with ``label`` on the lesion ids both hold (the
    indexes) and the number of such lesions; r and p are NaN below three lesions or when either
    side is constant."""
    pair = pd.concat([values.rename("v"), label.rename("y")], axis=1, join="inner").dropna()
    if len(pair) < 3 or pair.v.nunique() < 2 or pair.y.nunique() < 2:
        return float("nan"), float("nan"), len(pair)
    r, p = stats.pearsonr(pair.v, pair.y)
    return float(r), float(p), len(pair)


def correlations(runs: dict, labels: dict[str, pd.Series], root=None) -> pd.DataFrame:
    """Correlation with the diagnosis of the published CSV, the ``published`` and the
    ``described`` run, on the lesions of each dataset's ``published`` run.

    Parameters
    ----------
    runs : dict
        Results keyed ``(dataset, feature, mode)`` (:func:`enhance_utils.abc.runner.compute_runs`)
        holding both modes of every feature of each dataset.
    labels : dict
        The diagnosis per lesion id of each dataset (:func:`labels`).

    Returns
    -------
    pandas.DataFrame
        One row per dataset, feature and source (``published CSV``, ``published mode``,
        ``described mode``): ``n`` lesions, ``pearson r`` (three decimals) and ``p``.
    """
    rows = []
    for dataset, feature in dict.fromkeys((d, f) for d, f, _ in runs):
        ids = runs[dataset, feature, "published"].lesion_id
        csv = published(dataset, feature, root).set_index("lesion_id")[VALUE_COLUMN[feature]]
        sources = {"published CSV": csv.reindex(ids.tolist())}
        for mode in MODES:
            run = runs[dataset, feature, mode]
            sources[f"{mode} mode"] = value(run).set_axis(run.lesion_id)
        for source, values in sources.items():
            r, p, n = label_correlation(values, labels[dataset])
            rows.append({"dataset": dataset, "feature": feature, "source": source,
                         "n": n, "pearson r": round(r, 3), "p": p})
    return pd.DataFrame(rows)


def results_path() -> Path:
    """The committed agreement on every lesion of both datasets: package data beside this
    module (not in the experiment store, so that ``ENHANCE_RESULTS_DIR`` cannot hide it)."""
    return Path(__file__).with_name("agreement_all.csv")


def regenerate(path: Path | None = None, workers: int = 2) -> pd.DataFrame:
    """Recompute the ``published`` mode on every lesion (no cache) and write :func:`table`."""
    runs, seconds = {}, {}
    for dataset in DATASETS:
        for feature in FEATURES:
            start = time.perf_counter()
            runs[dataset, feature, "published"] = compute(
                dataset, feature, "published", workers=workers, cache=False, progress=False)
            seconds[dataset, feature] = time.perf_counter() - start
    out = table(runs)
    out["seconds"] = [round(seconds[d, f], 1) for d, f in zip(out.dataset, out.feature)]
    path = Path(path or results_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return out


def read(path: Path | None = None) -> pd.DataFrame:
    """The committed agreement on every lesion (:func:`regenerate` writes it)."""
    return pd.read_csv(path or results_path())


def get(frame: pd.DataFrame, dataset: str, feature: str, column: str):
    """One value of an agreement table."""
    rows = frame[(frame.dataset == dataset) & (frame.feature == feature)]
    if len(rows) != 1:
        raise KeyError(f"{len(rows)} rows for {dataset} {feature}")
    return rows[column].iloc[0]


if __name__ == "__main__":
    print(regenerate().to_string())
