"""Designs of the training grid, and the analyses a repeated k-fold store allows (profile
``lite-cv``).

**Why not more random splits.** The paper compares models over five random splits
(:func:`enhance_utils.learning.splits.paper_splits`: 1400 training, 350 validation, 250 test
lesions of 2000). Their training sets overlap, so the AUC differences of the splits are
positively correlated; Nadeau & Bengio's (2003) corrected resampled t-test
(:func:`enhance_utils.stats.paired.corrected_t_test`) inflates the variance of the mean
difference from ``s²/J`` to ``(1/J + n_test/n_train) s²``. With ``n_test/n_train =
250/1400 = 0.18`` the factor is 0.38 for the paper's J = 5 and can never fall below 0.18:
a hundred random splits of the same 2000 lesions narrow the interval by at most
``sqrt(0.38/0.18) = 1.46`` times (:func:`variance_factors`). More random splits of the same
lesions buy little; the 2000 lesions are the limit.

**Repeated k-fold.** The ``kfold`` design (:attr:`enhance_utils.profiles.Training.design`,
:func:`enhance_utils.learning.splits.repeated_kfold_splits`) trains R repetitions of a
stratified 5-fold cross-validation (per fold 1280 training, 320 validation, 400 test
lesions): every lesion is tested once per repetition. Two analyses follow:

* *per fold* (Bouckaert & Frank, 2004, the corrected repeated k-fold t-test): the same
  correction, ``1/(kR) + n_test/n_train``, over ``kR`` folds with ``kR - 1`` degrees of
  freedom (14 for R = 3, against the paper's 4: the t quantile drops from 2.78 to 2.14), and
  each fold's AUC is measured on 400 lesions instead of 250, so its test-set part of ``s²``
  is smaller by 250/400; :func:`corrected_kfold_test`.
* *pooled* (:func:`pooled_comparison`): within one repetition the five folds' test
  predictions cover all 2000 lesions once each, so one AUC per model and repetition over
  2000 lesions, and DeLong's paired test of two models on those 2000 lesions, whose
  test-sample variance is 8 times smaller than on one split's 250. DeLong conditions on the
  trained models; the repetitions (a new partition and new initial weights each) show how
  much the difference moves with training, and the scores averaged over the repetitions
  (one out-of-fold score per lesion and model, an ensemble of R models each tested on data
  it never saw) give the pooled test its least noisy input.

The ``lite-cv`` grid (:data:`enhance_utils.profiles.LITE_CV`) is sized to the budget of two
hours on two shared cores: R = 3 repetitions × 5 folds of the targets the paper's claims need
(the baseline and two replicates of it: the baseline ensemble and the run-to-run noise; the
nine annotations, whose A/B/C runs also form the three ensembles; their nine randomized
controls). More repetitions are a resumed grid away (``enhance train --profile lite-cv
--splits 1970,1971,1972,1973``): the store keeps what is finished.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..wording import span


def variance_factors(n_train: int, n_test: int, counts=(5, 10, 20, 50, 100)) -> pd.DataFrame:
    """The corrected resampled t-test's variance factor ``1/J + n_test/n_train`` beside the
    naive ``1/J`` for ``J`` in ``counts``, and how much wider the interval is than the
    factor's floor ``n_test/n_train`` allows."""
    ratio = n_test / n_train
    return pd.DataFrame([{"J": j, "naive": 1 / j, "corrected": 1 / j + ratio,
                          "width_over_floor": float(np.sqrt((1 / j + ratio) / ratio))}
                         for j in counts])


def pooled_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """Test predictions of a repeated k-fold store (:func:`~enhance_utils.learning.results.
    load_predictions`) with the repetition of each split (``cv1970``); a lesion tested more
    than once in one repetition, or a repetition whose folds miss lesions, is an error."""
    from .splits import repetition

    frame = predictions.assign(repetition=predictions.split.map(repetition))
    twice = frame.duplicated(["arch", "target", "repetition", "lesion_id"])
    if twice.any():
        raise ValueError("a lesion is tested twice in one repetition: not a k-fold store")
    return frame


def pooled_comparison(predictions: pd.DataFrame, target_a: str, target_b: str,
                      arch: str | None = None) -> pd.DataFrame:
    """Two targets compared on the pooled out-of-fold predictions, per complete repetition
    and on the scores averaged over them: AUC of each, the difference and DeLong's p on the
    lesions both cover (all of them in a complete store)."""
    from sklearn.metrics import roc_auc_score

    from ..stats.paired import delong_test

    frame = pooled_predictions(predictions)
    if arch is not None:
        frame = frame[frame.arch == arch]
    wide = frame[frame.target.isin([target_a, target_b])].pivot_table(
        index=["repetition", "lesion_id", "label"], columns="target", values="score")
    wide = wide.dropna().reset_index()
    if wide.empty or target_a not in wide or target_b not in wide:
        raise ValueError(f"no lesion has out-of-fold scores of both {target_a} and {target_b}")
    parts = [(name, part) for name, part in wide.groupby("repetition")]
    mean = wide.groupby(["lesion_id", "label"])[[target_a, target_b]].mean().reset_index()
    parts.append((f"mean of {len(parts)}", mean))
    rows = []
    for name, part in parts:
        test = delong_test(part.label, part[target_a], part[target_b])
        rows.append({"repetition": name, "n_lesions": len(part),
                     "auc_a": roc_auc_score(part.label, part[target_a]),
                     "auc_b": roc_auc_score(part.label, part[target_b]),
                     "diff": test["diff"], "delong_se": float(np.sqrt(test["var"])),
                     "delong_p": test["p"]})
    return pd.DataFrame(rows)


def corrected_kfold_test(runs: pd.DataFrame, target_a: str, target_b: str,
                         arch: str | None = None):
    """Bouckaert & Frank's corrected repeated k-fold t-test of the per-fold test AUCs of two
    targets (:func:`~enhance_utils.learning.results.load_runs`), over the folds both have."""
    from ..stats.paired import corrected_t_test

    if arch is not None:
        runs = runs[runs.arch == arch]
    wide = runs[runs.target.isin([target_a, target_b])].pivot_table(
        index="split", columns="target", values="auc").dropna()
    sizes = runs[runs.split.isin(wide.index)]
    return corrected_t_test(wide[target_a], wide[target_b], sizes.n_train.mean(),
                            sizes.n_test.mean())


def repetition_of(split: str) -> str:
    """The repetition of a split name (``cv1970-fold3`` → ``cv1970``)."""
    from .splits import repetition

    return repetition(split)


def complete_repetitions(predictions: pd.DataFrame, folds: int) -> pd.DataFrame:
    """The test predictions of the repetitions that hold all ``folds`` folds (a repetition
    still being trained is left out), per architecture and target."""
    frame = pooled_predictions(predictions)
    counted = frame.groupby(["arch", "target", "repetition"]).split.nunique()
    whole = counted[counted == folds]
    keys = pd.MultiIndex.from_frame(frame[["arch", "target", "repetition"]])
    return frame[keys.isin(whole.index)].drop(columns="repetition")


def default_pooled_pairs(targets) -> list[tuple[str, str]]:
    """Each single annotation against the baseline and against its uniform control, for the
    ``targets`` a store holds."""
    from .targets import single

    present = set(targets)
    pairs = [(t.spec, b) for t in single() for b in ("baseline", f"random:{t.spec}")]
    return [(a, b) for a, b in pairs if a in present and b in present]


def pooled_table(predictions: pd.DataFrame, pairs=None, folds: int | None = None,
                 alpha: float = 0.05, power: float = 0.8) -> pd.DataFrame:
    """Every pair (default :func:`default_pooled_pairs`) on the out-of-fold scores averaged
    over the complete repetitions (:func:`pooled_comparison`'s last row): the AUCs on all
    lesions, the difference, DeLong's p, Holm's p over the pairs, and the minimum detectable
    difference of that test at ``power`` after the family's Bonferroni level
    (:func:`enhance_utils.stats.power.minimum_detectable_difference`, a z-test). ``folds``:
    the folds of a repetition (default: the ``lite-cv`` profile's). Empty when the store
    holds no complete repetition."""
    from statsmodels.stats.multitest import multipletests

    from ..stats.power import minimum_detectable_difference

    columns = ["arch", "target_a", "target_b", "repetitions", "n_lesions", "auc_a", "auc_b",
               "diff", "delong_p", "holm_p", "mdd"]
    from ..profiles import get_profile

    folds = folds or get_profile("lite-cv").training.folds
    frame = (complete_repetitions(predictions, folds) if len(predictions)
             else pd.DataFrame())
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.assign(repetition=frame.split.map(repetition_of))
    rows = []
    for arch, part in frame.groupby("arch", sort=False):
        chosen = pairs if pairs is not None else default_pooled_pairs(part.target.unique())
        for a, b in chosen:
            both = set(part[part.target == a].repetition) & set(part[part.target == b].repetition)
            if not both:
                continue
            kept = part[part.repetition.isin(both)].drop(columns="repetition")
            last = pooled_comparison(kept, a, b).iloc[-1]
            rows.append({"arch": arch, "target_a": a, "target_b": b, "repetitions": len(both),
                         **last.drop("repetition")})
    if not rows:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame(rows)
    out["holm_p"] = multipletests(out.delong_p, method="holm")[1]
    out["mdd"] = [minimum_detectable_difference(se, np.inf, alpha, len(out), power)
                  for se in out.delong_se]
    return out[columns]



def pooled_summary(table: pd.DataFrame, alpha: float = 0.05, power: float = 0.8) -> str:
    """What :func:`pooled_table` says, in sentences generated from it: per kind of comparison
    (against the baseline, against the uniform control), how many pairs Holm's adjustment
    separates at ``alpha`` and in which direction, the range of the differences and of the
    difference the test detects with ``power`` (AUC points). One sentence saying there is
    nothing to read when the table is empty."""
    if table.empty:
        return "The store holds no complete repetition: the pooled test has nothing to compare."
    kinds = {"against the baseline": table.target_b == "baseline",
             "against its uniform control": table.target_b.str.startswith("random:")}
    repetitions = int(table.repetitions.min())
    lines = [f"On the out-of-fold scores of {repetitions} complete repetition"
             f"{'s' if repetitions != 1 else ''} ({int(table.n_lesions.max())} lesions):"]
    for kind, chosen in kinds.items():
        part = table[chosen]
        if part.empty:
            continue
        separated = part[part.holm_p < alpha]
        up, down = (separated["diff"] > 0).sum(), (separated["diff"] < 0).sum()
        said = ("none is separated" if separated.empty else
                f"{len(separated)} {'is' if len(separated) == 1 else 'are'} separated "
                f"({up} above, {down} below: "
                + ", ".join(f"{r.target_a} {100 * r['diff']:+.1f}".replace("-", "\u2212")
                            for _, r in separated.iterrows()) + ")")
        lines.append(f"- {kind}: of {len(part)} single models {said} after Holm's adjustment "
                     f"(smallest adjusted p {part.holm_p.min():.2g}); the differences range "
                     f"{span(100 * part['diff'])} AUC points, and the test detects "
                     f"{span(100 * part.mdd, sign=False)} points with {power:.0%} power.")
    return "\n".join(lines)
