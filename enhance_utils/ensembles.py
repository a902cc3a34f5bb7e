"""Ensembles, Tables 5 and 4 and the paired verdicts (chapters 07–08).

The paper averages the test predictions of the three multi-task models of one annotation
source (e.g. crowdA, crowdB, crowdC → crowdABC) with equal weights, per architecture and split
(section 4.2). This book adds the ensembles that separate the explanations of a gain
(:data:`enhance_utils.targets.ENSEMBLES`): the *baseline ensemble* (three baselines that differ
only in their initial seed), and each source's ensemble of permuted-value controls next to the
paper's uniform ones. Everything here reads the experiment store and needs no TensorFlow.

An ensemble exists for a split only when all its runs are in the store; a split where one is
missing is listed by :func:`missing_members` instead of being averaged over fewer models.
Every verdict table adjusts its p values for the comparisons it makes (Holm).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from . import experiments, paired
from . import targets as targets_module
from .targets import ensemble_name, model_order

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
    single = _clean(predictions).assign(model=lambda f: f.target.map(experiments.model_name))
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


def _real_only(frame: pd.DataFrame) -> pd.DataFrame:
    """Runs of real annotations (and baselines) only: no control."""
    return frame[~frame.target.map(lambda t: targets_module.parse(t).is_control)]


def table5(runs: pd.DataFrame, predictions: pd.DataFrame, randomized: bool = True) -> pd.DataFrame:
    """Table 5 of the paper from the store: single models (:func:`experiments.summarize`) and
    the ensembles, per architecture, in the paper's order (randomized controls after, unless
    ``randomized`` is False)."""
    runs = runs.drop_duplicates(["arch", "target", "split"])
    if not randomized:
        runs, predictions = _real_only(runs), _real_only(predictions)
    parts = [experiments.summarize(runs) if len(runs) else None,
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
    from . import reference

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
    from . import reference

    keys = ["model", "annotations"] if name == "table4" else ["model"]
    out = computed.assign(gain=_gain(computed, name))[["arch"] + keys + ["mean_auc", "gain"]]
    paper = reference.paper_table(name)
    paper = paper.assign(gain=_gain(paper, name))
    for arch in dict.fromkeys(paper.arch):
        theirs = paper[paper.arch == arch][keys + ["gain"]].rename(
            columns={"gain": f"paper_gain_{arch}"})
        out = out.merge(theirs, on=keys, how="left")
    return _sort(out)


# --------------------------------------------------------------------------- paired statistics
def default_pairs(models) -> list[tuple[str, str]]:
    """The comparisons of chapter 07 among ``models``: every model of real annotations (single,
    joint, ensemble) against the baseline; each annotation ensemble against the baseline
    ensemble (same number of averaged models); each joint model against its source's
    ensemble."""
    models = list(dict.fromkeys(models))
    real = sorted((m for m in models if not m.startswith("baseline")
                   and not m.endswith(("_random", "_permuted"))), key=model_order)
    pairs = [(m, "baseline") for m in real if "baseline" in models]
    pairs += [(ensemble_name(s), "baseline_ensemble") for s in SOURCES
              if ensemble_name(s) in models and "baseline_ensemble" in models]
    pairs += [(f"{ensemble_name(s)}_joint", ensemble_name(s)) for s in SOURCES
              if f"{ensemble_name(s)}_joint" in models and ensemble_name(s) in models]
    return pairs


def control_pairs(models=None) -> list[tuple[str, str]]:
    """Each model of the paper against its controls (chapter 08): the three ensembles, then
    the nine single models, each against its uniform and its permuted control."""
    names = [ensemble_name(s) for s in SOURCES] + [t.model for t in targets_module.single()]
    pairs = [(m, f"{m}{suffix}") for m in names for suffix in ("_random", "_permuted")]
    if models is None:
        return pairs
    models = set(models)
    return [p for p in pairs if p[0] in models and p[1] in models]


COMPARISON_COLUMNS = [
    "arch", "model_a", "model_b", "n_pairs", "mean_diff", "sd_diff", "ci_low", "ci_high", "p",
    "n_train", "n_test", "corrected_ci_low", "corrected_ci_high", "corrected_p",
    "delong_diff", "delong_p", "delong_min_split_p", "holm_p", "holm_ci_low", "holm_ci_high",
    "n_comparisons", "verdict"]


def compare(model_preds: pd.DataFrame, runs: pd.DataFrame, arch: str, model_a: str,
            model_b: str) -> tuple[dict, pd.DataFrame]:
    """Paired comparison of two models of one architecture over their common splits.

    Returns one row (see :data:`COMPARISON_COLUMNS`, without the family's Holm columns) and
    DeLong per split.
    """
    row, per_split, _ = _compare(model_preds, runs, arch, model_a, model_b)
    return row, per_split


def _compare(model_preds: pd.DataFrame, runs: pd.DataFrame, arch: str, model_a: str,
             model_b: str):
    """Paired comparison of two models of one architecture over their common splits.

    Returns one row (see :data:`COMPARISON_COLUMNS`) and DeLong per split. The AUCs are
    recomputed from the predictions; ``n_train`` / ``n_test`` for the corrected t-test come
    from the runs' ``run.json`` (mean over the splits used).
    """
    part = model_preds[model_preds.arch == arch]
    a = part[part.model == model_a][["split", "lesion_id", "label", "score"]]
    b = part[part.model == model_b][["split", "lesion_id", "score"]]
    both = a.merge(b, on=["split", "lesion_id"], how="inner", suffixes=("_a", "_b"))
    aucs = split_aucs(pd.concat([
        both.assign(arch=arch, model="a", score=both.score_a),
        both.assign(arch=arch, model="b", score=both.score_b)]))
    wide_aucs = aucs.pivot(index="split", columns="model", values="auc").dropna()
    splits_used = list(wide_aucs.index)
    x = wide_aucs.get("a", pd.Series(dtype=float)).to_numpy()
    y = wide_aucs.get("b", pd.Series(dtype=float)).to_numpy()
    sizes = runs[(runs.arch == arch) & runs.split.isin(splits_used)].drop_duplicates("split")
    n_train = float(sizes.n_train.mean()) if len(sizes) else np.nan
    n_test = float(sizes.n_test.mean()) if len(sizes) else np.nan
    plain = paired.paired_difference(x, y)
    corrected = paired.corrected_t_test(x, y, n_train, n_test) if len(sizes) else \
        paired.PairedResult(len(x), plain.mean_diff, plain.sd_diff, np.nan, np.nan, np.nan)
    per_split, combined = paired.delong_across_splits(both[both.split.isin(splits_used)])
    row = {"arch": arch, "model_a": model_a, "model_b": model_b, "n_pairs": plain.n_pairs,
           "mean_diff": plain.mean_diff, "sd_diff": plain.sd_diff, "ci_low": plain.ci_low,
           "ci_high": plain.ci_high, "p": plain.p, "n_train": n_train, "n_test": n_test,
           "corrected_ci_low": corrected.ci_low, "corrected_ci_high": corrected.ci_high,
           "corrected_p": corrected.p, "delong_diff": combined["diff"],
           "delong_p": combined["p"],
           "delong_min_split_p": float(per_split.p.min()) if len(per_split) else np.nan,
           "verdict": paired.verdict(model_a, model_b, corrected)}
    return row, per_split.assign(arch=arch, model_a=model_a, model_b=model_b), (x, y)


def paired_comparisons(runs: pd.DataFrame, predictions: pd.DataFrame, pairs=None,
                       randomized: bool = True) -> pd.DataFrame:
    """:func:`compare` for every architecture and pair (default :func:`default_pairs`);
    ``randomized=False`` leaves the controls out.

    The comparisons of one architecture form one family: ``holm_p`` is the corrected t-test's
    p adjusted by Holm's step-down method over that family (``corrected_p`` stays beside it),
    ``holm_ci_*`` the Bonferroni-adjusted (simultaneous) corrected interval, and the verdict
    is read from those.
    """
    if not randomized:
        predictions = _real_only(predictions)
    preds = model_predictions(predictions)
    frames = []
    for arch in dict.fromkeys(preds.arch):
        models = preds[preds.arch == arch].model.unique()
        chosen = pairs(models) if callable(pairs) else (
            pairs if pairs is not None else default_pairs(models))
        results = [_compare(preds, runs, arch, a, b) for a, b in chosen
                   if a in models and b in models]
        frames.append(_adjust_family(pd.DataFrame([r[0] for r in results]),
                                     [r[2] for r in results]))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    return pd.concat(frames, ignore_index=True)[COMPARISON_COLUMNS]


def _adjust_family(frame: pd.DataFrame, pairs: list) -> pd.DataFrame:
    """Holm-adjusted p, simultaneous intervals and the verdict over one family."""
    if frame.empty:
        return frame
    from statsmodels.stats.multitest import multipletests

    m = len(frame)
    p = frame.corrected_p.to_numpy(float)
    holm = np.full(m, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        holm[ok] = multipletests(p[ok], method="holm")[1]
    level = 1 - (1 - paired.LEVEL) / m
    lows, highs, verdicts = [], [], []
    for row, (x, y) in zip(frame.itertuples(), pairs):
        n_train, n_test = row.n_train, row.n_test
        wide = (paired.corrected_t_test(x, y, n_train, n_test, level=level)
                if np.isfinite(n_train) else paired.paired_difference(x, y, level=level))
        lows.append(wide.ci_low)
        highs.append(wide.ci_high)
        verdicts.append(paired.verdict(row.model_a, row.model_b, wide, family=m))
    return frame.assign(holm_p=holm, holm_ci_low=lows, holm_ci_high=highs, n_comparisons=m,
                        verdict=verdicts)


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


ALL_SPLITS = "all splits"


def roc_explorer(model_preds: pd.DataFrame, show_static: bool = False) -> None:
    """ROC curves per split and model (chapter 07): pick the architecture, one split (or all)
    and a model, drawn beside the baseline, with their test AUCs per split.

    Parameters
    ----------
    model_preds : pandas.DataFrame
        Test predictions of the models and ensembles (:func:`model_predictions`).
    show_static : bool
        Also draw the first view as plain output, what a page without kernel shows
        (:func:`enhance_utils.explorers.show`). Only the book build turns it on (the chapter's
        ``static_views``): in a live kernel the view is drawn once, in the widget.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    from . import explorers

    if model_preds.empty:
        print("no test predictions in the store yet: nothing to explore")
        return
    models = sorted(set(model_preds.model), key=model_order)
    others = [m for m in models if m != "baseline"] or models

    def render(arch, split, model):
        part = model_preds[model_preds.arch == arch]
        part = part if split == ALL_SPLITS else part[part.split == split]
        shown = list(dict.fromkeys(["baseline", model]))
        plot_roc(part, arch, shown, title=f"test ROC, {arch}, {split}")
        plt.show()
        aucs = split_aucs(part[part.model.isin(shown)])
        display(aucs.pivot_table(index="split", columns="model", values="auc", sort=False)
                .reindex(columns=shown).round(3))

    controls = {
        "arch": explorers.dropdown(dict.fromkeys(model_preds.arch), "architecture"),
        "split": explorers.dropdown([ALL_SPLITS, *sorted(set(model_preds.split))], "split"),
        "model": explorers.dropdown(others, "model",
                                    value="crowdABC" if "crowdABC" in others else None),
    }
    explorers.show(render, controls, show_static)


def report(profile: str, out, results=None) -> dict[str, pd.DataFrame]:
    """Write ``table5.csv``, ``table4.csv``, ``paired.csv`` (chapter 07's comparisons),
    ``controls.csv`` (chapter 08's), ``claims.csv`` (:mod:`enhance_utils.evidence`),
    ``split_aucs.csv`` and ``missing_runs.csv`` for what the
    store of ``profile`` holds; returns the tables.

    A store without a single finished run, or with a damaged run folder, is a
    :class:`enhance_utils.store.StoreError` naming it: nothing is written then.
    """
    from pathlib import Path

    from . import config, store

    runs = experiments.load_runs(profile, results)
    if runs.empty:
        root = Path(results) if results else config.results_dir()
        raise store.StoreError(f"no finished run in {root / profile}: train first "
                               f"(`enhance train --profile {profile}`) or check --results")
    predictions = experiments.load_predictions(profile, results)
    t5 = table5(runs, predictions)
    tables = {
        "table5": t5,
        "table4": table4(t5),
        "paired": paired_comparisons(runs, predictions),
        "controls": paired_comparisons(runs, predictions, pairs=control_pairs),
        "split_aucs": split_aucs(model_predictions(predictions)),
        "missing_runs": missing_members(predictions),
    }
    from . import evidence  # it builds on this module

    tables["claims"] = evidence.claims(runs, predictions)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    return tables


def control_overview(context, lesion_ids, split_seed: int = 0, features=None) -> pd.DataFrame:
    """What the two controls change, per annotation: the same lesions are annotated, but the
    values are uniform [0, 1) (the paper's control) or the real values shuffled among the
    annotated lesions (this book's), and no longer related to the diagnosis.

    ``context`` is an :class:`enhance_utils.experiments.Context`; one row per single-annotation
    target with, for the real values and each control, the annotated count, mean, SD and
    Pearson r with the label.
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
