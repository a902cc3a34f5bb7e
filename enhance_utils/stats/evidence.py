"""What the book's own runs say about each of the paper's claims (chapters 06–08).

Each claim of the paper's deep-learning half is a family of paired comparisons
(:func:`enhance_utils.learning.verdicts.paired_comparisons`, corrected resampled t-test over the
splits, Holm-adjusted within the family). :func:`claims` evaluates every family on a store and
:func:`statement` turns one into a plain sentence with its numbers, including when the
evidence does not support the paper and what the scale of the runs cannot say.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..learning import verdicts, targets
from ..learning.targets import ensemble_name

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
                 "n_separated_up", "n_separated_down", "diff_min", "diff_max", "holm_low_min",
                 "holm_high_max", "statement"]


def claims(runs: pd.DataFrame, predictions: pd.DataFrame, which=None) -> pd.DataFrame:
    """One row per claim and architecture (see :data:`CLAIM_COLUMNS`) for the comparisons
    the store can make; a claim none of whose models is in the store is left out."""
    rows = []
    for name in which or CLAIMS:
        paper, pairs = CLAIMS[name]
        table = verdicts.paired_comparisons(runs, predictions, pairs=pairs())
        for arch, part in table.groupby("arch", sort=False):
            rows.append(_summarise(name, arch, paper, part))
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def _summarise(name: str, arch: str, paper: str, part: pd.DataFrame) -> dict:
    usable = part[part.n_pairs >= 2]
    row = {"claim": name, "arch": arch, "paper": paper, "n_comparisons": len(part),
           "n_splits": int(part.n_pairs.max()) if len(part) else 0,
           "n_positive": int((usable.mean_diff > 0).sum()),
           "n_separated_up": int((usable.holm_ci_low > 0).sum()),
           "n_separated_down": int((usable.holm_ci_high < 0).sum()),
           "diff_min": 100 * usable.mean_diff.min() if len(usable) else np.nan,
           "diff_max": 100 * usable.mean_diff.max() if len(usable) else np.nan,
           "holm_low_min": 100 * usable.holm_ci_low.min() if len(usable) else np.nan,
           "holm_high_max": 100 * usable.holm_ci_high.max() if len(usable) else np.nan}
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
        verdict = ("Every one of them stays above zero after Holm's adjustment: the evidence "
                   "supports the claim.")
    elif up:
        verdict = (f"After Holm's adjustment {up} of {n} stay above zero"
                   + (f" and {down} below" if down else "")
                   + ": partial support at best.")
    elif down:
        verdict = (f"After Holm's adjustment none stays above zero and {down} fall below it: "
                   f"the evidence goes against the claim.")
    else:
        low, high = row["holm_low_min"], row["holm_high_max"]
        span = (f"together they span {low:+.1f} to {high:+.1f}" if -100 <= low and high <= 100
                else "with so few splits some are wider than the whole range of AUC differences")
        verdict = (f"After Holm's adjustment every interval includes zero ({span}): these runs "
                   f"can neither confirm nor refute the claim.")
    return f"{head} {verdict}"


def limits(profile_settings, paper_settings) -> str:
    """What runs of a profile cannot say about the paper's networks, from their settings."""
    if tuple(profile_settings.archs) == tuple(paper_settings.archs):
        return ""
    return (f"These runs are {', '.join(profile_settings.archs)} networks trained from random "
            f"weights at {profile_settings.image_size} px for {profile_settings.epochs} "
            f"epochs, not ImageNet networks ({', '.join(paper_settings.archs)}) fine-tuned at "
            f"{paper_settings.image_size} px: whether an annotation helps may depend on how "
            f"much the network already knows, so they test the method, not the paper's "
            f"numbers.")


def report_markdown(table: pd.DataFrame, profile_settings, paper_settings) -> str:
    """The chapter's closing statement: one bullet per claim row, then the limits."""
    if table.empty:
        return "The store holds no comparison yet."
    bullets = "\n".join(f"- {s}" for s in table.statement)
    return bullets + "\n\n" + limits(profile_settings, paper_settings)
