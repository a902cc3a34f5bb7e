"""The report of a store (``enhance report``): every table chapters 06–08 show, as CSV files.

The comparisons follow the book's one multiplicity rule (:mod:`enhance_utils.learning.verdicts`):
``paired.csv``, ``controls.csv`` and ``claims.csv`` show the same Holm-adjusted p for a
comparison.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data import paths
from . import claims, store, verdicts
from .ensembles import missing_members, model_predictions, split_aucs, table4, table5
from .results import load_predictions, load_runs


def report(profile: str, out, results=None) -> dict[str, pd.DataFrame]:
    """Write ``table5.csv``, ``table4.csv``, ``paired.csv`` (chapter 07's comparisons),
    ``controls.csv`` (chapter 08's), ``claims.csv`` (:mod:`enhance_utils.learning.claims`),
    ``split_aucs.csv`` and ``missing_runs.csv`` for what the
    store of ``profile`` holds; returns the tables.

    A store without a single finished run, or with a damaged run folder, is a
    :class:`enhance_utils.learning.store.StoreError` naming it: nothing is written then.
    """
    runs = load_runs(profile, results)
    if runs.empty:
        root = Path(results) if results else paths.results_dir()
        raise store.StoreError(f"no finished run in {paths.shown(root / profile)}: train "
                               f"first (`enhance train --profile {profile}`) or check --results")
    predictions = load_predictions(profile, results)
    t5 = table5(runs, predictions)
    tables = {
        "table5": t5,
        "table4": table4(t5),
        "paired": verdicts.paired_comparisons(runs, predictions),
        "controls": verdicts.paired_comparisons(runs, predictions,
                                                pairs=verdicts.control_pairs),
        "split_aucs": split_aucs(model_predictions(predictions)),
        "missing_runs": missing_members(predictions),
    }
    tables["claims"] = claims.claims(runs, predictions)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    return tables
