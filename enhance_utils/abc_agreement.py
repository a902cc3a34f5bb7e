"""How closely the recomputed automated scores match the published CSVs (chapter 03).

The chapter recomputes a sample of lesions at build time and summarises it with
:func:`table`; the same function applied to *every* lesion gives the committed file
:func:`results_path` (``results/automated_abc/agreement_all.csv``), which
:func:`regenerate` rewrites (the file records the seconds of each run: about half an hour
on two shared cores) and :func:`read` loads. The
chapter's prose takes its numbers from that file, never from typed text.
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from . import automated_abc, config

DATASETS = ("isic2017", "ph2")
FEATURES = ("A", "B", "C")
COLUMNS = ["dataset", "feature", "n_ids", "n_scored", "n_published", "n_both",
           "n_only_computed", "n_only_published", "same_ids_skipped", "identical", "within",
           "max_abs_delta_ii"]


def row(run: pd.DataFrame, dataset: str, feature: str) -> dict:
    """One line of :func:`table`: :func:`enhance_utils.automated_abc.agreement` of a
    ``published``-mode run, with counts instead of id lists.

    ``identical`` is the share of ids scored in both with the same score (``i``, the class,
    for asymmetry); ``within`` the share within one (border, colour) or with ``ii`` within
    the tolerance (asymmetry).
    """
    agree = automated_abc.agreement(run, dataset, feature)
    return {"dataset": dataset, "feature": feature, "n_ids": agree["n_ids"],
            "n_scored": agree["n_scored"], "n_published": agree["n_published"],
            "n_both": agree["n_both"], "n_only_computed": len(agree["only_computed"]),
            "n_only_published": len(agree["only_published"]),
            "same_ids_skipped": agree["same_ids_skipped"],
            "identical": agree.get("i_identical", agree.get("identical")),
            "within": agree.get("ii_within_tol", agree.get("within_1")),
            "max_abs_delta_ii": agree.get("max_abs_delta_ii")}


def table(runs: dict) -> pd.DataFrame:
    """Agreement of every ``(dataset, feature, "published")`` run of ``runs`` with the CSVs."""
    rows = [row(run, dataset, feature) for (dataset, feature, mode), run in runs.items()
            if mode == "published"]
    return pd.DataFrame(rows, columns=COLUMNS)


def results_path() -> Path:
    """The committed agreement on every lesion of both datasets."""
    return config.results_dir() / "automated_abc" / "agreement_all.csv"


def regenerate(path: Path | None = None, workers: int = 2) -> pd.DataFrame:
    """Recompute the ``published`` mode on every lesion (no cache) and write :func:`table`."""
    runs, seconds = {}, {}
    for dataset in DATASETS:
        for feature in FEATURES:
            start = time.perf_counter()
            runs[dataset, feature, "published"] = automated_abc.compute(
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
