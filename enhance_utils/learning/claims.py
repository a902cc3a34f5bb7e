"""What the book's own runs say about each of the paper's claims (chapters 06–08).

Each claim of the paper's deep-learning half is a set of paired comparisons
(:func:`enhance_utils.learning.verdicts.paired_comparisons`: the corrected resampled t-test over
the splits, Holm-adjusted over the book's one family per architecture, see
:mod:`enhance_utils.learning.verdicts`), so a comparison has the same adjusted p in a claim as
in chapters 07 and 08. :func:`claims` evaluates every claim on a store and :func:`statement`
turns one into a plain sentence with its numbers, including when the evidence does not
support the paper and what the scale of the runs cannot say.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import targets, verdicts
from .targets import ensemble_name

SOURCES = targets.SOURCES


def _singles():
    return [(t.model, "baseline") for t in targets.single()]


#: claim → (what the paper says, the comparisons that test it)
CLAIMS = {
    "single": ("a multi-task model with one annotation beats the baseline", _singles),
    "ensemble": ("an ensemble of a source's three multi-task models beats the baseline",
                 lambda: [(ensemble_name(s), "baseline") for s in SOURCES]),
    "ensemble_vs_baselines": ("the ensembles' gain comes from the annotations, not from "
                              "averaging three models (ensemble against an ensemble of three "
                              "baselines)",
                              lambda: [(ensemble_name(s), "baseline_ensemble") for s in SOURCES]),
    "joint": ("one model with all three heads of a source beats the baseline",
              lambda: [(f"{ensemble_name(s)}_joint", "baseline") for s in SOURCES]),
    "real_vs_uniform": ("real annotations beat the paper's control (uniform random values)",
                        lambda: [(ensemble_name(s), ensemble_name(s, "uniform")) for s in SOURCES]),
    "real_vs_permuted": ("real annotations beat their own values shuffled among the lesions "
                         "(same scale and distribution, no link to the image)",
                         lambda: [(ensemble_name(s), ensemble_name(s, "permuted"))
                                  for s in SOURCES]),
}

CLAIM_COLUMNS = ["claim", "arch", "paper", "n_comparisons", "n_splits", "n_positive",
                 "n_separated_up", "n_separated_down", "diff_min", "diff_max", "holm_p_min",
                 "simultaneous_low_min", "simultaneous_high_max", "mdd_median", "mdd_max",
                 "statement"]


def claims(runs: pd.DataFrame, predictions: pd.DataFrame, which=None) -> pd.DataFrame:
    """One row per claim and architecture (see :data:`CLAIM_COLUMNS`) for the comparisons
    the store can make; a claim none of whose models is in the store is left out."""
    names = list(which or CLAIMS)
    wanted = {name: CLAIMS[name][1]() for name in names}
    table = verdicts.paired_comparisons(runs, predictions, pairs=[
        pair for pairs in wanted.values() for pair in pairs])
    keys = list(zip(table.model_a, table.model_b))
    rows = []
    for name in names:
        part = table[[key in set(wanted[name]) for key in keys]]
        for arch, one in part.groupby("arch", sort=False):
            rows.append(_summarise(name, arch, CLAIMS[name][0], one))
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def _summarise(name: str, arch: str, paper: str, part: pd.DataFrame) -> dict:
    usable = part[part.n_pairs >= 2]
    separated = usable.holm_p < 0.05

    def extreme(values, how):
        return 100 * getattr(values, how)() if len(usable) else np.nan

    row = {"claim": name, "arch": arch, "paper": paper, "n_comparisons": len(part),
           "n_splits": int(part.n_pairs.max()) if len(part) else 0,
           "n_positive": int((usable.mean_diff > 0).sum()),
           "n_separated_up": int((separated & (usable.mean_diff > 0)).sum()),
           "n_separated_down": int((separated & (usable.mean_diff < 0)).sum()),
           "diff_min": extreme(usable.mean_diff, "min"),
           "diff_max": extreme(usable.mean_diff, "max"),
           "holm_p_min": float(usable.holm_p.min()) if len(usable) else np.nan,
           "simultaneous_low_min": extreme(usable.simultaneous_ci_low, "min"),
           "simultaneous_high_max": extreme(usable.simultaneous_ci_high, "max"),
           "mdd_median": extreme(usable.mdd, "median"),
           "mdd_max": extreme(usable.mdd, "max")}
    row["statement"] = statement(row, len(usable))
    return row


def statement(row: dict, n_usable: int | None = None) -> str:
    """The evidence on one claim in one sentence or two, numbers included."""
    n = row["n_comparisons"] if n_usable is None else n_usable
    if n == 0:
        return (f"The store cannot test yet whether {row['paper']} ({row['arch']}): the "
                f"models are in fewer than two splits.")
    span = (f"differences from {row['diff_min']:+.1f} to {row['diff_max']:+.1f} AUC points"
            if n > 1 else f"a difference of {row['diff_min']:+.1f} AUC points")
    head = (f"Claim: {row['paper']}. In this store ({row['arch']}, {row['n_splits']} splits), "
            f"{row['n_positive']} of {n} comparison(s) point the paper's way, with {span}.")
    up, down = row["n_separated_up"], row["n_separated_down"]
    if up == n:
        verdict = ("Every one of them is separated from zero after Holm's adjustment over the "
                   "book's comparisons (p < 0.05): the evidence supports the claim.")
    elif up:
        verdict = (f"After Holm's adjustment {up} of {n} are separated above zero"
                   + (f" and {down} below" if down else "")
                   + ": partial support at best.")
    elif down:
        verdict = (f"After Holm's adjustment none is separated above zero and {down} fall "
                   f"below it: the evidence goes against the claim.")
    else:
        low, high = row["simultaneous_low_min"], row["simultaneous_high_max"]
        span = (f"the smallest Holm-adjusted p is {row['holm_p_min']:.2f}; their Bonferroni "
                f"simultaneous intervals span {low:+.1f} to {high:+.1f}"
                if -100 <= low and high <= 100 else
                "with so few splits some intervals are wider than the whole range of AUC "
                "differences")
        detectable = (f" With this design a true difference would be detected with 80% power "
                      f"only from about {row['mdd_max']:.1f} points."
                      if np.isfinite(row.get("mdd_max", np.nan)) else "")
        verdict = (f"After Holm's adjustment none is separated from zero ({span}): these runs "
                   f"can neither confirm nor refute the claim.{detectable}")
    return f"{head} {verdict}"


def paper_effects() -> pd.DataFrame:
    """The effect the paper reports for each claim it quantifies, in AUC points: the range of
    its gains over every architecture it reports (Table 5: single models and ensembles against
    the baseline; Table 4: ensembles of real against uniform random annotations, ResNet50)."""
    from ..data import paper as reference

    t5 = reference.paper_table("table5")
    base = t5[t5.model == "baseline"].set_index("arch").mean_auc
    t5 = t5.assign(gain=t5.mean_auc - t5.arch.map(base))
    t4 = reference.paper_table("table4").pivot_table(index=["arch", "model"],
                                                     columns="annotations", values="mean_auc")
    singles = {t.model for t in targets.single()}
    ensembles = {ensemble_name(s) for s in SOURCES}
    gains = {"single": t5[t5.model.isin(singles)].gain,
             "ensemble": t5[t5.model.isin(ensembles)].gain,
             "real_vs_uniform": t4.original - t4.randomized}
    return pd.DataFrame([{"claim": name, "paper_low": round(float(g.min()), 1),
                          "paper_high": round(float(g.max()), 1), "paper_n": len(g)}
                         for name, g in gains.items()])


def detectable(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """What each design could detect, claim by claim, beside the paper's effects.

    ``tables`` maps a design's name (a store: ``"lite"`` for the paper's five splits,
    ``"lite-cv"`` for repeated k-fold) to its :func:`claims` table. One row per claim,
    architecture and design: the number of splits, the median and largest minimum detectable
    difference (80 % power at the family's Bonferroni level,
    :func:`enhance_utils.stats.power.comparisons_mdd`) of the claim's comparisons, and the
    paper's effects (:func:`paper_effects`), with ``paper_detectable``: whether the paper's
    largest effect reaches the median MDD (NaN where the paper gives no number).
    """
    frames = [table.assign(design=name) for name, table in tables.items() if len(table)]
    columns = ["claim", "arch", "design", "n_splits", "n_comparisons", "mdd_median", "mdd_max",
               "paper_low", "paper_high", "paper_detectable"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True).merge(paper_effects(), on="claim", how="left")
    unknown = out.paper_high.isna() | out.mdd_median.isna()
    reach = np.where(unknown, np.nan, out.paper_high >= out.mdd_median)
    return out.assign(paper_detectable=reach)[columns].round(
        {"mdd_median": 1, "mdd_max": 1})


def limits(profile_settings, paper_settings) -> str:
    """What runs of a profile cannot say about the paper's networks, from their settings."""
    if tuple(profile_settings.archs) == tuple(paper_settings.archs):
        return ""
    archs = ", ".join(profile_settings.archs)
    paper = (f"ImageNet networks ({', '.join(paper_settings.archs)}) fine-tuned end to end at "
             f"{paper_settings.image_size} px")
    if profile_settings.frozen:
        return (f"These runs put the paper's head on a frozen ImageNet {archs} at "
                f"{profile_settings.image_size} px (its features computed once, "
                f"{profile_settings.epochs} epochs of the head alone), not {paper}: the "
                f"annotations can shape only the head, not what the network sees, so an effect "
                f"the paper's networks owe to fine-tuning cannot show here.")
    return (f"These runs are {archs} networks trained from random weights at "
            f"{profile_settings.image_size} px for {profile_settings.epochs} epochs, not "
            f"{paper}: whether an annotation helps may depend on how much the network already "
            f"knows, so they test the method, not the paper's numbers.")


def report_markdown(table: pd.DataFrame, profile_settings, paper_settings) -> str:
    """The chapter's closing statement: one bullet per claim row, then the limits."""
    if table.empty:
        return "The store holds no comparison yet."
    bullets = "\n".join(f"- {s}" for s in table.statement)
    return bullets + "\n\n" + limits(profile_settings, paper_settings)


#: the committed stores whose evidence chapters 06–08 close with, the design with the most
#: power first: the pretrained network in repeated k-fold, then in the paper's five splits
EVIDENCE_STORES = ("lite-cv", "lite")


def design_claims(profiles, which=None, results=None) -> dict[str, pd.DataFrame]:
    """:func:`claims` of each profile's store that holds runs, by profile name, in order."""
    from .results import load_predictions, load_runs

    out = {}
    for name in dict.fromkeys(profiles):
        runs = load_runs(name, results)
        if len(runs):
            out[name] = claims(runs, load_predictions(name, results), which)
    return out


def evidence_markdown(profile: str, which, results=None) -> str:
    """The closing section of a training chapter: for each store of :data:`EVIDENCE_STORES`
    and then the chapter's own (``profile``), the design in one line, one bullet per claim
    of ``which`` and what the runs cannot say; then what each design could detect
    (:func:`detectable`), beside the paper's effects."""
    from ..profiles import get_profile

    tables = design_claims([*EVIDENCE_STORES, profile], which, results)
    if not tables:
        return "No store holds a comparison yet."
    paper = get_profile("paper").training
    parts = []
    for name, table in tables.items():
        settings = get_profile(name).training
        parts.append(f"**Store `{name}`** ({design_phrase(settings)}):\n\n"
                     + report_markdown(table, settings, paper) + " "
                     + scale_limits(name, results))
    detect = detectable(tables)
    if len(detect):
        parts.append(detectable_markdown(detect))
    return "\n\n".join(parts)


def scale_limits(profile: str, results=None) -> str:
    """What a store's own runs show of its scale, in one or two sentences: how much of the
    human annotations the heads learn (median test R² of the crowd and student heads,
    :func:`enhance_utils.learning.results.annotation_r2`) and how far identical baselines
    (the baseline and its replicates, other initial weights) spread in mean test AUC."""
    from .results import annotation_r2, load_runs

    said = []
    r2 = annotation_r2(profile, results)
    human = r2[r2.model.isin([t.model for t in targets.single() if t.source != "automated"])]
    if len(human):
        said.append(f"the heads of its single crowd and student models explain a median test R² of "
                    f"{human.r2.median():.2f} of their annotations (0: nothing learned from the "
                    f"image)")
    runs = load_runs(profile, results)
    baselines = runs[runs.model.str.match(r"^baseline(_init\d+)?$")]
    means = 100 * baselines.groupby("model").auc.mean()
    if len(means) > 1:
        said.append(f"its {len(means)} identical baselines differ in mean test AUC by up to "
                    f"{means.max() - means.min():.1f} points, from their initial weights alone")
    return ("In this store " + "; ".join(said) + ".") if said else ""


def design_phrase(settings) -> str:
    """A profile's design in words: its network, splits and how many."""
    kind = (f"{len(settings.split_seeds)} repetition(s) of stratified {settings.folds}-fold "
            f"cross-validation" if settings.design == "kfold"
            else f"{len(settings.split_seeds)} random splits as the paper's")
    base = "frozen ImageNet" if settings.frozen else (
        "ImageNet" if settings.weights == "imagenet" else "from scratch")
    return f"{', '.join(settings.archs)} ({base}, {settings.image_size} px), {kind}"


def detectable_markdown(table: pd.DataFrame) -> str:
    """:func:`detectable` as a Markdown table with one sentence on how to read it."""
    shown = table.assign(
        paper=[(f"{lo:+.1f} to {hi:+.1f}" if np.isfinite(lo) else "not given")
               for lo, hi in zip(table.paper_low, table.paper_high)],
        reach=table.paper_detectable.map({1.0: "yes", 0.0: "no"}).fillna("-"))
    shown = shown[["claim", "arch", "design", "n_splits", "n_comparisons", "mdd_median",
                   "mdd_max", "paper", "reach"]]
    shown.columns = ["claim", "arch", "store", "splits", "comparisons", "MDD (median)",
                     "MDD (largest)", "paper's effects", "paper's largest effect detectable"]
    return ("What each design could detect: the minimum detectable difference (MDD, AUC "
            "points) at 80% power after the family's Bonferroni level, from the spread its own "
            "runs show, beside the effects the paper reports (Tables 4 and 5).\n\n"
            + shown.to_markdown(index=False, floatfmt=".1f"))
