"""Ensembles and Tables 5 and 4 (chapters 07–08).

The paper averages the test predictions of the three multi-task models of one annotation
source (e.g. crowdA, crowdB, crowdC → crowdABC) with equal weights, per architecture and split
(section 4.2). This book adds the ensembles that separate the explanations of a gain
(:data:`enhance_utils.learning.targets.ENSEMBLES`): the *baseline ensemble* (three baselines
that differ only in their initial seed), and each source's ensemble of permuted-value controls
next to the paper's uniform ones. Everything here reads the experiment store and needs no
TensorFlow.

An ensemble exists for a split only when all its runs are in the store; a split where one is
missing is listed by :func:`missing_members` instead of being averaged over fewer models.
The paired comparisons of two models are :mod:`enhance_utils.learning.verdicts`'.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from . import targets as targets_module
from .targets import ensemble_name, model_order
from .results import model_name, summarize

FEATURES = targets_module.FEATURES
SOURCES = targets_module.SOURCES

#: ensemble name → the target specs of its members
ENSEMBLES: dict[str, tuple[str, ...]] = {
    name: tuple(t.spec for t in e.members) for name, e in targets_module.ENSEMBLES.items()}

PRED_COLUMNS = ["arch", "model", "split", "lesion_id", "label", "score"]
AUC_COLUMNS = ["arch", "model", "split", "auc", "n_test"]


def _clean(predictions: pd.DataFrame) -> pd.DataFrame:
    """Drop duplicated lesions of one run (a run read twice while the store was being written)."""
    return predictions.drop_duplicates(["arch", "target", "split", "lesion_id"])


def _splits_by_arch(predictions: pd.DataFrame) -> dict[str, list[str]]:
    return {arch: sorted(part.split.unique()) for arch, part in predictions.groupby("arch")}


def missing_members(predictions: pd.DataFrame, ensembles=None) -> pd.DataFrame:
    """Ensembles that cannot be formed for a split because one or two of their runs are missing.

    One row per architecture × ensemble × split where at least one but not all three member
    runs are in the store (an ensemble none of whose runs exist is simply absent).
    """
    ensembles = ENSEMBLES if ensembles is None else ensembles
    have = set(map(tuple, _clean(predictions)[["arch", "target", "split"]].drop_duplicates()
                   .to_numpy()))
    rows = []
    for arch, split_list in _splits_by_arch(predictions).items():
        for name, members in ensembles.items():
            for split in split_list:
                present = [t for t in members if (arch, t, split) in have]
                if 0 < len(present) < len(members):
                    rows.append({"arch": arch, "model": name, "split": split,
                                 "present": ", ".join(present),
                                 "missing": ", ".join(t for t in members if t not in present)})
    return pd.DataFrame(rows, columns=["arch", "model", "split", "present", "missing"])


def ensemble_predictions(predictions: pd.DataFrame, ensembles=None) -> pd.DataFrame:
    """Equal-weight average of the members' test scores, per arch, ensemble and split.

    Lesions are matched by ``lesion_id``; only lesions that all three runs scored are kept
    (in a consistent store the three test sets are identical). Columns: arch, model, split,
    lesion_id, label, score.
    """
    ensembles = ENSEMBLES if ensembles is None else ensembles
    predictions = _clean(predictions)
    frames = []
    for (arch, split), part in predictions.groupby(["arch", "split"], sort=True):
        by_target = {t: g.set_index("lesion_id") for t, g in part.groupby("target")}
        for name, members in ensembles.items():
            if not all(t in by_target for t in members):
                continue
            common = by_target[members[0]].index
            for t in members[1:]:
                common = common.intersection(by_target[t].index)
            labels = np.vstack([by_target[t].label.reindex(common).to_numpy() for t in members])
            if (labels != labels[0]).any():
                raise ValueError(f"{arch} {name} {split}: the member runs disagree on labels")
            score = np.mean([by_target[t].score.reindex(common).to_numpy(float)
                             for t in members], axis=0)
            frames.append(pd.DataFrame({"arch": arch, "model": name, "split": split,
                                        "lesion_id": list(common), "label": labels[0],
                                        "score": score}))
    if not frames:
        return pd.DataFrame(columns=PRED_COLUMNS)
    return pd.concat(frames, ignore_index=True)[PRED_COLUMNS]


def model_predictions(predictions: pd.DataFrame, ensembles=None) -> pd.DataFrame:
    """Single models (named as the paper) and ensembles together: arch, model, split, ..."""
    single = _clean(predictions).assign(model=lambda f: f.target.map(model_name))
    averaged = ensemble_predictions(predictions, ensembles)
    frames = [single[PRED_COLUMNS]] + ([averaged] if len(averaged) else [])
    return pd.concat(frames, ignore_index=True)  # an empty frame would turn every dtype to object


def split_aucs(model_preds: pd.DataFrame) -> pd.DataFrame:
    """Test AUC per arch, model and split (from :func:`model_predictions`)."""
    rows = []
    for (arch, model, split), part in model_preds.groupby(["arch", "model", "split"], sort=False):
        auc = roc_auc_score(part.label, part.score) if part.label.nunique() == 2 else np.nan
        rows.append({"arch": arch, "model": model, "split": split, "auc": auc,
                     "n_test": len(part)})
    return pd.DataFrame(rows, columns=AUC_COLUMNS)


# --------------------------------------------------------------------------- tables
def _sort(frame: pd.DataFrame) -> pd.DataFrame:
    keys = frame.model.map(model_order)
    return (frame.assign(_key=keys).sort_values(["arch", "_key"], kind="stable")
            .drop(columns="_key").reset_index(drop=True))


def summarize_aucs(aucs: pd.DataFrame) -> pd.DataFrame:
    """Mean and SD (× 100, rounded to 0.1) and number of splits per arch and model."""
    frame = aucs.dropna(subset=["auc"]).assign(auc100=lambda f: f.auc * 100)
    out = frame.groupby(["arch", "model"], sort=False).auc100.agg(
        mean_auc="mean", sd_auc=lambda x: x.std(ddof=1), n_splits="count").reset_index()
    return out.round({"mean_auc": 1, "sd_auc": 1})


TABLE5_COLUMNS = ["arch", "model", "mean_auc", "sd_auc", "n_splits"]


def real_only(frame: pd.DataFrame) -> pd.DataFrame:
    """Runs of real annotations (and baselines) only: no control."""
    return frame[~frame.target.map(lambda t: targets_module.parse(t).is_control)]


def table5(runs: pd.DataFrame, predictions: pd.DataFrame, randomized: bool = True) -> pd.DataFrame:
    """Table 5 of the paper from the store: single models (:func:`summarize`) and
    the ensembles, per architecture, in the paper's order (randomized controls after, unless
    ``randomized`` is False)."""
    runs = runs.drop_duplicates(["arch", "target", "split"])
    if not randomized:
        runs, predictions = real_only(runs), real_only(predictions)
    parts = [summarize(runs) if len(runs) else None,
             summarize_aucs(split_aucs(ensemble_predictions(predictions)))]
    parts = [p[TABLE5_COLUMNS] for p in parts if p is not None and len(p)]
    if not parts:
        return pd.DataFrame(columns=TABLE5_COLUMNS)
    return _sort(pd.concat(parts, ignore_index=True))


TABLE4_COLUMNS = ["arch", "model", "annotations", "mean_auc", "sd_auc", "n_splits"]


def table4(table: pd.DataFrame) -> pd.DataFrame:
    """Table 4: each source's ensemble with the original annotations and with each control
    (``randomized``: the paper's uniform values; ``permuted``: the real values shuffled).

    ``table`` is :func:`table5`'s output; one row per arch × ensemble × annotations that the
    store holds.
    """
    labels = {"real": "original", "uniform": "randomized", "permuted": "permuted"}
    rows = []
    for _, row in table.iterrows():
        ensemble = targets_module.ENSEMBLES.get(row.model)
        if ensemble is None or ensemble.source is None:
            continue
        rows.append({"arch": row.arch, "model": ensemble_name(ensemble.source),
                     "annotations": labels[ensemble.values], "mean_auc": row.mean_auc,
                     "sd_auc": row.sd_auc, "n_splits": row.n_splits})
    frame = pd.DataFrame(rows, columns=TABLE4_COLUMNS)
    order = {v: i for i, v in enumerate(labels.values())}
    return (frame.assign(_k=frame.annotations.map(order))
            .sort_values(["arch", "model", "_k"]).drop(columns="_k").reset_index(drop=True))


def wide(table: pd.DataFrame, index: str = "model", columns: str = "arch") -> pd.DataFrame:
    """``mean ± SD`` strings laid out as the paper prints its tables."""
    cells = table.assign(value=[f"{m:.1f} ± {s:.1f}" if pd.notna(s) else f"{m:.1f}"
                                for m, s in zip(table.mean_auc, table.sd_auc)])
    order = list(dict.fromkeys(cells[index].itertuples(index=False, name=None))
                 if isinstance(index, list) else dict.fromkeys(cells[index]))
    return cells.pivot(index=index, columns=columns, values="value").reindex(order)


def _gain(frame: pd.DataFrame, name: str) -> pd.Series:
    """Mean AUC minus the reference row of the same arch: the baseline (Table 5) or the
    randomized ensemble (Table 4)."""
    if name == "table4":
        ref = frame[frame.annotations == "randomized"].set_index(["arch", "model"]).mean_auc
        keys = list(zip(frame.arch, frame.model))
    else:
        ref = frame[frame.model == "baseline"].set_index("arch").mean_auc
        keys = list(frame.arch)
    return pd.Series([m - ref.get(k, np.nan) for m, k in zip(frame.mean_auc, keys)],
                     index=frame.index).round(1)


def beside_paper(computed: pd.DataFrame, name: str = "table5", paper_arch: str = "resnet50"):
    """Computed Table 5 or 4 next to the paper's, with each side's gain.

    The gain is the mean AUC minus that of the baseline (Table 5) or of the randomized
    ensemble (Table 4) of the same architecture: with a small CNN instead of the paper's
    networks, only such differences can be compared, not the levels. A computed architecture
    the paper has (``paper`` profile) is matched to itself; any other (``small``) is matched
    to ``paper_arch``.
    """
    from ..data import paper as reference

    paper = reference.paper_table(name)
    keys = ["model", "annotations"] if name == "table4" else ["model"]
    computed = computed.assign(gain=_gain(computed, name))
    paper = paper.assign(gain=_gain(paper, name))
    frames = []
    for arch in dict.fromkeys(computed.arch):
        match = arch if arch in set(paper.arch) else paper_arch
        left = computed[computed.arch == arch]
        right = paper[paper.arch == match][keys + ["mean_auc", "sd_auc", "gain"]].rename(
            columns={"mean_auc": "paper_mean_auc", "sd_auc": "paper_sd_auc",
                     "gain": "paper_gain"})
        frames.append(_sort(left.merge(right, on=keys, how="outer", sort=False)
                            .assign(arch=arch, paper_arch=match)))
    columns = ["arch"] + keys + ["mean_auc", "sd_auc", "n_splits", "gain", "paper_arch",
                                 "paper_mean_auc", "paper_sd_auc", "paper_gain"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def gains_beside_paper(computed: pd.DataFrame, name: str = "table5") -> pd.DataFrame:
    """The book's gain of every model next to the paper's gain for *each* of its three
    architectures (one column each), so that a small CNN is not set beside one network only.

    ``computed`` is :func:`table5` or :func:`table4`; gains are against the baseline (Table 5)
    or the randomized ensemble (Table 4) of the same architecture, in AUC points.
    """
    from ..data import paper as reference

    keys = ["model", "annotations"] if name == "table4" else ["model"]
    out = computed.assign(gain=_gain(computed, name))[["arch"] + keys + ["mean_auc", "gain"]]
    paper = reference.paper_table(name)
    paper = paper.assign(gain=_gain(paper, name))
    for arch in dict.fromkeys(paper.arch):
        theirs = paper[paper.arch == arch][keys + ["gain"]].rename(
            columns={"gain": f"paper_gain_{arch}"})
        out = out.merge(theirs, on=keys, how="left")
    return _sort(out)


def plot_roc(model_preds: pd.DataFrame, arch: str, models=("baseline", "crowdABC"), ax=None,
             title: str = ""):
    """ROC curves (one thin line per split) of a few models of one architecture."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4.4))
    part = model_preds[model_preds.arch == arch]
    for k, model in enumerate(models):
        curves = [(roc_curve(one.label, one.score), roc_auc_score(one.label, one.score))
                  for _, one in part[part.model == model].groupby("split")
                  if one.label.nunique() == 2]
        if not curves:
            continue
        label = f"{model}: mean AUC {np.mean([a for _, a in curves]):.3f}, {len(curves)} splits"
        for i, ((fpr, tpr, _), _) in enumerate(curves):
            ax.plot(fpr, tpr, color=f"C{k}", lw=1, alpha=0.7, label=None if i else label)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.6, ls=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title or f"test ROC per split, {arch}")
    return ax


def plot_rocs(model_preds: pd.DataFrame, models=("baseline", "crowdABC"), title: str = "",
              archs=None) -> list:
    """:func:`plot_roc` of each architecture of ``archs`` (default: those of ``model_preds``,
    in their order), one figure each, titled ``"<arch>, <title>"``; the axes."""
    archs = dict.fromkeys(model_preds.arch if archs is None else archs)
    return [plot_roc(model_preds, arch, models, title=f"{arch}, {title}" if title else "")
            for arch in archs]


def control_overview(context, lesion_ids, split_seed: int = 0, features=None) -> pd.DataFrame:
    """What the two controls change, per annotation: the same lesions are annotated, but the
    values are uniform [0, 1) (the paper's control) or the real values shuffled among the
    annotated lesions (this book's), and no longer related to the diagnosis.

    ``context`` is an :class:`enhance_utils.learning.specs.Context`; one row per
    single-annotation target with, for the real values and each control, the annotated count,
    mean, SD and Pearson r with the label.
    """
    singles = features or targets_module.single()
    label = context.lesions.set_index("lesion_id").label.reindex(list(lesion_ids)).to_numpy(float)
    rows = []
    for target in singles:
        row, masks = {"target": target.spec, "model": target.model}, []
        for kind in targets_module.VALUE_KINDS:
            variant = targets_module.Target(target.source, target.features, kind)
            (values, available), = context.heads(variant, lesion_ids, split_seed).values()
            kept = available == 1
            masks.append(kept)
            row[f"n_{kind}"] = int(kept.sum())
            row[f"mean_{kind}"] = float(np.mean(values[kept])) if kept.any() else np.nan
            row[f"sd_{kind}"] = float(np.std(values[kept], ddof=1)) if kept.sum() > 1 else np.nan
            row[f"r_{kind}"] = (float(np.corrcoef(values[kept], label[kept])[0, 1])
                                if kept.sum() > 2 else np.nan)
        row["same_lesions"] = all((m == masks[0]).all() for m in masks)
        rows.append(row)
    return pd.DataFrame(rows).round(3)
