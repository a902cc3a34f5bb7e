"""What a profile's store holds (chapters 06–08): runs, predictions, histories, and whether
the annotation heads learned.

The readers take a profile and, optionally, a store (``results``, default
:func:`enhance_utils.data.paths.results_dir`); a damaged run folder is an error that names it
(:class:`~enhance_utils.learning.store.StoreError`), never a silently missing row. Writing
runs is :mod:`enhance_utils.learning.training`'s.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import store
from . import targets as targets_module
from .store import store_root

# --------------------------------------------------------------------------- reading the store
RUN_COLUMNS = ["arch", "target", "model", "split", "seed", "auc", "auc_last", "auc_best",
               "best_epoch", "selection", "n_train", "n_test", "weights_init", "train_seconds"]


def load_runs(profile: str, results=None, strict: bool = True) -> pd.DataFrame:
    """One row per finished run of a profile (columns :data:`RUN_COLUMNS`).

    ``auc`` is the test AUC of the epoch the profile selects (``selection``: the last epoch,
    or the one with the best validation AUC). A damaged run folder is a
    :class:`store.StoreError` naming it (``strict=False`` leaves such folders out).
    """
    root = store_root(results)
    rows = [{k: record.get(k) for k in RUN_COLUMNS}
            for _, record in store.finished_runs(root, profile, strict)]
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def training_summary(profile: str, results=None) -> dict:
    """How a profile's store was trained, as the runs' records give it: ``span_seconds``, from
    the start of the earliest fit (``finished`` less ``train_seconds``) to the end of the
    latest run (for a grid trained in one go, its time less the start of the trainer:
    reading the data, starting worker processes; a store trained in several sittings spans
    the pauses too); ``processes``, the trainer processes (host and pid) that trained its
    runs; ``cpus`` and ``threads``, the most CPUs a trainer's machine had and the most
    intra-op threads a run used. Zeros for an empty store."""
    from datetime import datetime, timedelta

    root = store_root(results)
    runs = store.finished_runs(root, profile)
    for folder, record in runs:
        missing = [key for key in ("finished", "trainer", "determinism") if key not in record]
        if missing:
            raise store.StoreError(f"{store.RECORD} of {folder} lacks {', '.join(missing)}: "
                                   f"written by a trainer older than the store's layout")
    records = [record for _, record in runs]
    if not records:
        return {"span_seconds": 0.0, "processes": 0, "cpus": 0, "threads": 0}
    ends = [datetime.fromisoformat(r["finished"]) for r in records]
    starts = [end - timedelta(seconds=r["train_seconds"]) for end, r in zip(ends, records)]
    layouts = [r["determinism"] for r in records]
    return {"span_seconds": (max(ends) - min(starts)).total_seconds(),
            "processes": len({(r["trainer"]["host"], r["trainer"]["pid"]) for r in records}),
            "cpus": max(layout.get("cpu_count") or 0 for layout in layouts),
            "threads": max(layout.get("intra_op_threads") or 0 for layout in layouts)}


def load_predictions(profile: str, results=None, part: str = "test", selection: str | None = None,
                     strict: bool = True) -> pd.DataFrame:
    """Predictions of every finished run on ``part`` (test or validation): lesion_id, label,
    score (of the ``selection`` epoch, default each run's own), arch, target, split, and the
    annotation heads' columns where a run has them."""
    root = store_root(results)
    frames = []
    for folder, record in store.finished_runs(root, profile, strict):
        frame = store.read_predictions(folder)
        frame = frame[frame.part == part].drop(columns="part")
        chosen = selection or record["selection"]
        frames.append(frame.assign(score=frame[f"score_{chosen}"], arch=record["arch"],
                                   target=record["target"], split=record["split"]))
    columns = ["lesion_id", "label", "score", "arch", "target", "split"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    return out[columns + [c for c in out.columns if c not in columns]]


def load_histories(profile: str, results=None) -> pd.DataFrame:
    """The per-epoch history of every finished run, with arch, target, model and split."""
    root = store_root(results)
    frames = [store.read_history(folder).assign(arch=r["arch"], target=r["target"],
                                               model=r["model"], split=r["split"])
              for folder, r in store.finished_runs(root, profile)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def model_name(target) -> str:
    """The paper's name of a model (``baseline``, ``crowdA``, ``crowdA_random``)."""
    return targets_module.parse(target).model


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and SD of the AUC (× 100, as the paper's Table 5) per architecture and model."""
    frame = runs.assign(model=runs.target.map(model_name), auc100=runs.auc * 100)
    out = frame.groupby(["arch", "model"], sort=False).auc100.agg(
        mean_auc="mean", sd_auc=lambda x: x.std(ddof=1), n_splits="count").reset_index()
    return out.round({"mean_auc": 1, "sd_auc": 1})


def plot_aucs(runs: pd.DataFrame, title: str = "", ax=None):
    """AUC of every run (dots, one per split) and the mean per model, per architecture."""
    import matplotlib.pyplot as plt

    frame = runs.assign(model=runs.target.map(model_name))
    order = sorted(dict.fromkeys(frame.model), key=targets_module.model_order)
    archs = list(dict.fromkeys(frame.arch))
    if ax is None:
        _, ax = plt.subplots(figsize=(1 + 0.5 * len(order) * len(archs), 3.6))
    width = 0.8 / max(len(archs), 1)
    for k, arch in enumerate(archs):
        part = frame[frame.arch == arch]
        for i, model in enumerate(order):
            values = part[part.model == model].auc
            x = i + (k - (len(archs) - 1) / 2) * width
            ax.scatter([x] * len(values), values, s=14, alpha=0.6, color=f"C{k}",
                       label=arch if i == 0 else None)
            ax.hlines(values.mean(), x - width / 2.5, x + width / 2.5, color=f"C{k}")
    ax.set_xticks(range(len(order)), order, rotation=60, ha="right")
    ax.set_ylabel("test AUC")
    ax.axhline(0.5, color="grey", lw=0.5, ls=":")
    ax.legend(title="architecture", fontsize=8)
    ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- do the heads learn?
def annotation_r2(profile: str, results=None, part: str = "test") -> pd.DataFrame:
    """How much of each annotation's variance the heads explain, per run and feature.

    ``r2 = 1 - SSE / SST`` on the annotated lesions of ``part``, where SST is taken around the
    *training* mean of that annotation (what a head that learned nothing from the image would
    predict): 0 for such a head, negative for one that does worse, 1 for a perfect one. The
    head's predictions are those of the epoch the profile selects.
    """
    root = store_root(results)
    rows = []
    for folder, record in store.finished_runs(root, profile):
        frame = store.read_predictions(folder)
        frame = frame[frame.part == part]
        for feature, head in (record.get("heads") or {}).items():
            truth = frame[f"target_{feature}"].to_numpy(float)
            guess = frame[f"annotation_{feature}_{record['selection']}"].to_numpy(float)
            kept = ~np.isnan(truth)
            sst = np.sum((truth[kept] - head["train_mean"]) ** 2)
            sse = np.sum((truth[kept] - guess[kept]) ** 2)
            rows.append({"arch": record["arch"], "model": record["model"],
                         "target": record["target"], "feature": feature, "split": record["split"],
                         "n": int(kept.sum()), "r2": 1 - sse / sst if sst > 0 else np.nan})
    return pd.DataFrame(rows, columns=["arch", "model", "target", "feature", "split", "n", "r2"])


def summarize_r2(r2: pd.DataFrame, threshold: float = 0.05) -> pd.DataFrame:
    """Median and range of R² over the splits per model and feature, and whether the head
    learned anything (median R² above ``threshold``)."""
    out = r2.groupby(["arch", "model", "feature"], sort=False).r2.agg(
        median="median", low="min", high="max", n_splits="count").reset_index()
    order = out.model.map(targets_module.model_order)
    return (out.assign(learned=out["median"] > threshold, _k=order)
            .sort_values(["arch", "_k", "feature"]).drop(columns="_k").reset_index(drop=True))


def compare_r2(profiles, results=None) -> pd.DataFrame:
    """The median test R² of every annotation head (:func:`summarize_r2`) per model and
    feature, one column per profile whose store holds runs: do the heads of one network
    learn more than another's?"""
    columns = {}
    for name in dict.fromkeys(profiles):
        r2 = annotation_r2(name, results)
        if len(r2):
            columns[name] = summarize_r2(r2).groupby(["model", "feature"], sort=False)[
                "median"].median()
    if not columns:
        return pd.DataFrame(columns=["model", "feature"])
    out = pd.DataFrame(columns).reset_index()
    order = out.model.map(targets_module.model_order)
    return (out.assign(_k=order).sort_values(["_k", "feature"]).drop(columns="_k")
            .reset_index(drop=True))


def plot_learning_curves(histories: pd.DataFrame, models, arch: str | None = None):
    """Diagnosis AUC and annotation loss per epoch, training (dashed) and validation (solid),
    one line per split, for a few models."""
    import matplotlib.pyplot as plt

    arch = arch or histories.arch.iloc[0]
    fig, axes = plt.subplots(2, len(models), figsize=(3.2 * len(models), 5.2), squeeze=False,
                             sharex=True)
    for k, model in enumerate(models):
        part = histories[(histories.arch == arch) & (histories.model == model)]
        for split, one in part.groupby("split"):
            for prefix, style in (("", "--"), ("val_", "-")):
                auc = one.get(f"{prefix}diagnosis_auc", one.get(f"{prefix}auc"))
                if auc is not None:
                    axes[0, k].plot(one.epoch, auc, style, lw=1, color="C0", alpha=0.7)
                losses = [c for c in one.columns if c.startswith(f"{prefix}annotation")
                          and c.endswith("_loss") and (prefix or not c.startswith("val_"))]
                for c in losses:
                    axes[1, k].plot(one.epoch, one[c], style, lw=1, color="C1", alpha=0.7)
        axes[0, k].set_title(model, fontsize=9)
        axes[1, k].set_xlabel("epoch")
    axes[0, 0].set_ylabel("diagnosis AUC")
    axes[1, 0].set_ylabel("annotation loss (masked MSE)")
    fig.suptitle(f"{arch}: training (dashed) and validation (solid), one line per split",
                 fontsize=9)
    return axes


def selection_effect(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and split-to-split SD of the test AUC (× 100) per model when every run is scored
    at its last epoch and at its epoch of best validation AUC."""
    frames = {kind: summarize(runs.assign(auc=runs[f"auc_{kind}"])).set_index(["arch", "model"])
              for kind in ("last", "best")}
    out = frames["last"][["mean_auc", "sd_auc"]].join(
        frames["best"][["mean_auc", "sd_auc"]], lsuffix="_last", rsuffix="_best")
    return out.reset_index()
