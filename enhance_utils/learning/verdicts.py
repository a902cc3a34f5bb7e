"""Paired comparisons of two models, their verdicts, and the report of a store (chapters 07–08).

Each comparison pairs two models of one architecture over the splits both were trained on
(:mod:`enhance_utils.stats.paired`: the plain and the corrected resampled t-test, DeLong per
split); :mod:`enhance_utils.learning.report` writes every table of a store.
:func:`show_other_store` shows a training chapter what another profile's store (the
committed ``cpu`` one) holds.

**The book's one multiplicity rule.** Per store and architecture, *every* comparison the book
makes forms one family (:func:`family_pairs`: chapter 07's comparisons with the baseline and the
baseline ensemble, chapter 08's comparisons with the randomized controls and of the uniform
ensembles with the baseline; the closing claims of chapters 06–08 are subsets of it). The test
is the corrected resampled t-test; its p values are adjusted by Holm's step-down method over
the whole family (``holm_p``), and so are DeLong's (``delong_holm_p``). A comparison is
*separated* when its Holm-adjusted p is below 0.05. The intervals beside them are Bonferroni
simultaneous intervals at level 1 − 0.05/m over the same family (``simultaneous_ci_*``): when
one excludes zero Holm separates too, while Holm may separate a comparison whose Bonferroni
interval still touches zero (it tests the later comparisons at a larger level). Since the
family does not depend on the page, one comparison has the same adjusted p wherever it is
shown.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import paths
from ..stats import paired, power
from . import targets as targets_module
from .ensembles import (gains_beside_paper, missing_members, model_predictions, real_only,
                        split_aucs, table4, table5, wide)
from .results import load_predictions, load_runs, plot_aucs, summarize
from .store import store_root
from .targets import SOURCES, ensemble_name, model_order


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


def family_pairs(models) -> list[tuple[str, str]]:
    """Every comparison the book makes among ``models`` of one architecture: one family
    (see the module's multiplicity rule)."""
    models = list(dict.fromkeys(models))
    present = set(models)
    uniform = [(ensemble_name(s, "uniform"), "baseline") for s in SOURCES]
    pairs = default_pairs(models) + control_pairs(models) + [
        p for p in uniform if p[0] in present and p[1] in present]
    return list(dict.fromkeys(pairs))


COMPARISON_COLUMNS = [
    "arch", "model_a", "model_b", "n_pairs", "mean_diff", "sd_diff", "ci_low", "ci_high", "p",
    "n_train", "n_test", "corrected_ci_low", "corrected_ci_high", "corrected_p",
    "delong_diff", "delong_p", "delong_min_split_p", "holm_p", "delong_holm_p",
    "simultaneous_ci_low", "simultaneous_ci_high", "n_comparisons", "mdd", "verdict"]


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
    """:func:`compare` for every architecture and pair (default :func:`default_pairs`; a list,
    or a function of the architecture's models), adjusted over the architecture's whole
    family (:func:`family_pairs`, plus any requested pair outside it); ``randomized=False``
    leaves the rows with a control model out.

    ``holm_p`` is the corrected t-test's p adjusted by Holm's method over the family
    (``corrected_p`` stays beside it), ``delong_holm_p`` DeLong's, ``simultaneous_ci_*`` the
    Bonferroni simultaneous corrected interval, and the verdict is read from ``holm_p``.
    ``mdd`` is the minimum detectable difference of each comparison at 80 % power and the
    family's Bonferroni level (:func:`enhance_utils.stats.power.comparisons_mdd`).
    """
    preds = model_predictions(predictions)
    frames = []
    for arch in dict.fromkeys(preds.arch):
        models = preds[preds.arch == arch].model.unique()
        chosen = pairs(models) if callable(pairs) else (
            pairs if pairs is not None else default_pairs(models))
        chosen = [p for p in dict.fromkeys(map(tuple, chosen))
                  if p[0] in models and p[1] in models]
        family = list(dict.fromkeys(family_pairs(models) + chosen))
        results = [_compare(preds, runs, arch, a, b) for a, b in family]
        table = _adjust_family(pd.DataFrame([r[0] for r in results]), [r[2] for r in results])
        frames.append(table.set_index(["model_a", "model_b"], drop=False).loc[chosen])
    frames = [f.reset_index(drop=True) for f in frames if len(f)]
    if not randomized:
        controls = ("_random", "_permuted")
        frames = [f[~(f.model_a.str.endswith(controls) | f.model_b.str.endswith(controls))]
                  for f in frames]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    return pd.concat(frames, ignore_index=True)[COMPARISON_COLUMNS]


def _holm(p: np.ndarray) -> np.ndarray:
    from statsmodels.stats.multitest import multipletests

    out = np.full(len(p), np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def _adjust_family(frame: pd.DataFrame, pairs: list) -> pd.DataFrame:
    """Holm-adjusted p (corrected t-test and DeLong), Bonferroni simultaneous intervals, the
    minimum detectable difference and the verdict over one family."""
    if frame.empty:
        return frame
    m = len(frame)
    holm = _holm(frame.corrected_p.to_numpy(float))
    level = 1 - (1 - paired.LEVEL) / m
    mdd = power.comparisons_mdd(frame.assign(n_comparisons=m))
    lows, highs, verdicts = [], [], []
    for row, (x, y), detectable, adjusted in zip(frame.itertuples(), pairs, mdd, holm):
        n_train, n_test = row.n_train, row.n_test
        wide = (paired.corrected_t_test(x, y, n_train, n_test, level=level)
                if np.isfinite(n_train) else paired.paired_difference(x, y, level=level))
        lows.append(wide.ci_low)
        highs.append(wide.ci_high)
        verdicts.append(paired.verdict(row.model_a, row.model_b, wide, family=m,
                                       mdd=detectable, adjusted_p=adjusted))
    return frame.assign(holm_p=holm, delong_holm_p=_holm(frame.delong_p.to_numpy(float)),
                        simultaneous_ci_low=lows, simultaneous_ci_high=highs, n_comparisons=m,
                        mdd=mdd.to_numpy(), verdict=verdicts)


# ------------------------------------------------------- another profile's store (06–08)
#: what each training chapter shows of another profile's store (:func:`other_store`)
STORE_VIEWS = {"multitask": "chapter 06", "ensembles": "chapter 07", "randomized": "chapter 08"}
#: the columns of the paired comparisons that chapter 07 shows of another store
SHOWN_COMPARISON_COLUMNS = ["arch", "model_a", "model_b", "n_pairs", "mean_diff",
                            "corrected_ci_low", "corrected_ci_high", "corrected_p", "holm_p",
                            "delong_p", "mdd"]


def other_store(view: str, profile: str = "cpu", results=None) -> dict[str, pd.DataFrame]:
    """What a training chapter shows of another profile's store next to its own runs
    (chapters 06–08 show the committed ``cpu`` store).

    Parameters
    ----------
    view : str
        ``"multitask"`` (chapter 06): ``summary``, the mean test AUC per model with its
        difference to the baseline. ``"ensembles"`` (07): ``missing`` ensemble splits,
        ``table`` (Table 5 without the controls) and ``comparisons`` (against the baseline).
        ``"randomized"`` (08): ``missing``, ``table`` (Table 4) and ``comparisons`` (real
        against random annotations). Both also give ``beside_paper``: each model's gain next
        to the paper's gain for each of its three architectures
        (:func:`~enhance_utils.learning.ensembles.gains_beside_paper`).
    profile, results : str, path
        The store (:func:`enhance_utils.load_runs`).

    Returns
    -------
    dict
        ``runs`` (and ``predictions`` but for ``"multitask"``), and the view's frames when the
        store holds something to show: a run, for ``"randomized"`` a control run.
    """
    if view not in STORE_VIEWS:
        raise ValueError(f"unknown view {view!r}; the views are {', '.join(STORE_VIEWS)}")
    runs = load_runs(profile, results)
    if view == "multitask":
        if runs.empty:
            return {"runs": runs}
        summary = summarize(runs)
        baseline = summary.loc[summary.model == "baseline", "mean_auc"].iloc[0]
        return {"runs": runs, "summary": summary.assign(
            difference_to_baseline=(summary.mean_auc - baseline).round(1))}
    predictions = load_predictions(profile, results)
    out = {"runs": runs, "predictions": predictions}
    randomized = view == "randomized"
    if runs.empty or (randomized and len(real_only(runs)) == len(runs)):  # no control run
        return out
    out["missing"] = missing_members(predictions)
    t5 = table5(runs, predictions, randomized=randomized)
    if randomized:
        out["table"] = wide(table4(t5), index=["arch", "model"], columns="annotations")
        out["beside_paper"] = gains_beside_paper(table4(t5), "table4")
        out["comparisons"] = paired_comparisons(runs, predictions, pairs=control_pairs())
    else:
        out["table"] = wide(t5)
        out["beside_paper"] = gains_beside_paper(t5, "table5")
        out["comparisons"] = paired_comparisons(runs, predictions, randomized=False)
    return out


def show_other_store(view: str, profile: str = "cpu", results=None) -> dict[str, pd.DataFrame]:
    """Display :func:`other_store` in a chapter: its tables, a figure (the AUC per split, or
    the paired differences) and the verdicts, or one line saying why the store shows nothing.
    Returns what :func:`other_store` returned."""
    from IPython.display import display

    from ..profiles import get_profile

    shown = other_store(view, profile, results)
    runs, where = shown["runs"], paths.shown(store_root(results) / profile)
    training = get_profile(profile).training
    model = f"{training.archs[0]} CNN, {training.image_size} px"
    if view == "multitask":
        if "summary" not in shown:
            print(f"no {profile} results in", where)
            return shown
        display(shown["summary"])
        plot_aucs(runs, title=f"test AUC per split, profile {profile} ({model})")
        return shown
    if "table" not in shown:
        print(f"no {profile} results in {where}" if runs.empty else
              f"{len(runs)} {profile} runs in {where}, none of them randomized yet: "
              "nothing to compare")
        return shown
    if view == "ensembles":
        print(f"{len(runs)} {profile} runs: {runs.groupby('target').size().to_dict()}")
    if len(shown["missing"]):
        print(f"{len(shown['missing'])} ensemble splits wait for missing runs:")
        display(shown["missing"])
    display(shown["table"])
    against = "the baseline" if view == "ensembles" else "the randomized ensemble"
    print(f"each model's gain over {against} of its own network beside the paper's gain for "
          "each of the paper's networks (AUC points):")
    display(shown["beside_paper"])
    comparisons = shown["comparisons"]
    if view == "ensembles":
        display(comparisons[SHOWN_COMPARISON_COLUMNS].round(3))
    if len(comparisons):
        title = (f"profile {profile} ({model}): model − baseline" if view == "ensembles"
                 else f"profile {profile}: real − random annotations")
        paired.plot_forest(comparisons, title=title)
        print("\n".join(comparisons.verdict))
    return shown
