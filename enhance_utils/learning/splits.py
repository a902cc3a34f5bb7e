"""Train / validation / test splits of the ISIC lesions (chapter 06).

The paper's five splits: 12.5% of the lesions as test set, then 20% of the rest as validation
set (1400 / 350 / 250 of 2000), both stratified by the binary label, with the seeds 1970, 1972,
2008, 2019 and 2020 — the published code used scikit-learn's ``train_test_split`` twice, which
:func:`paper_split` repeats. These are five random splits, not a cross-validation: test sets
overlap. :func:`kfold_splits` offers a true stratified 5-fold alternative, and
:func:`repeated_kfold_splits` repeats it with other seeds (the ``kfold`` design of a profile,
:attr:`enhance_utils.profiles.Training.design`): every lesion is tested once per repetition.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from ..profiles import PAPER_SEEDS

TEST_FRACTION, VALIDATION_FRACTION = 0.125, 0.2


@dataclass(frozen=True)
class Split:
    """Lesion ids of one split; ``name`` identifies it in the experiment store."""

    name: str
    seed: int
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]


def paper_split(lesions: pd.DataFrame, seed: int) -> Split:
    """The paper's split of ``lesions`` (columns ``lesion_id``, ``label``) for one seed."""
    rest, test = train_test_split(lesions, test_size=TEST_FRACTION, random_state=seed,
                                  shuffle=True, stratify=lesions.label)
    train, validation = train_test_split(rest, test_size=VALIDATION_FRACTION, random_state=seed,
                                         shuffle=True, stratify=rest.label)
    return Split(f"seed{seed}", seed, tuple(train.lesion_id), tuple(validation.lesion_id),
                 tuple(test.lesion_id))


def paper_splits(lesions: pd.DataFrame, seeds=PAPER_SEEDS) -> list[Split]:
    return [paper_split(lesions, seed) for seed in seeds]


def kfold_splits(lesions: pd.DataFrame, k: int = 5, seed: int = 1970,
                 name: str = "fold{fold}") -> list[Split]:
    """Stratified k-fold: every lesion is tested exactly once; validation from the rest.

    ``name`` formats each split's name from ``fold`` (0 … k-1) and ``seed``.
    """
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    out = []
    for number, (rest_idx, test_idx) in enumerate(folds.split(lesions, lesions.label)):
        rest = lesions.iloc[rest_idx]
        train, validation = train_test_split(rest, test_size=VALIDATION_FRACTION,
                                             random_state=seed, stratify=rest.label)
        out.append(Split(name.format(fold=number, seed=seed), seed, tuple(train.lesion_id),
                         tuple(validation.lesion_id), tuple(lesions.iloc[test_idx].lesion_id)))
    return out


def repeated_kfold_splits(lesions: pd.DataFrame, seeds, k: int = 5) -> list[Split]:
    """Repeated stratified k-fold: one :func:`kfold_splits` per seed (a *repetition*, whose
    folds test every lesion once), repetition after repetition; split names
    ``cv<seed>-fold<n>``."""
    seeds = list(seeds)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"repeated k-fold needs distinct seeds, got {seeds}")
    return [split for seed in seeds
            for split in kfold_splits(lesions, k, seed, name="cv{seed}-fold{fold}")]


def repetition(split: Split | str) -> str:
    """The repetition a split (or split name) of :func:`repeated_kfold_splits` belongs to
    (``cv1970``); the split's own name for any other split."""
    return (split if isinstance(split, str) else split.name).split("-fold")[0]


def subsample(lesions: pd.DataFrame, n: int | None, seed: int = 0) -> pd.DataFrame:
    """A stratified sample of ``n`` lesions (all when ``n`` is None or larger)."""
    if n is None or n >= len(lesions):
        return lesions.reset_index(drop=True)
    sample, _ = train_test_split(lesions, train_size=n, random_state=seed, stratify=lesions.label)
    return sample.sort_values("lesion_id").reset_index(drop=True)


def training_lesions(n_lesions: int | None, root=None) -> pd.DataFrame:
    """The ISIC lesions a training profile uses (``lesion_id``, ``label``): a stratified
    sample of ``n_lesions``, or all 2000 when it is None."""
    from ..data import datasets

    return subsample(datasets.isic_ground_truth(root)[["lesion_id", "label"]], n_lesions)


def check_disjoint(split: Split) -> None:
    """Raise if a lesion appears in two parts of a split."""
    parts = [set(split.train), set(split.validation), set(split.test)]
    if any(a & b for i, a in enumerate(parts) for b in parts[i + 1:]):
        raise ValueError(f"split {split.name} has lesions in two parts")


def describe(lesions: pd.DataFrame, splits: list[Split]) -> pd.DataFrame:
    """Per split and part (train, validation, test): the number of ``lesions`` and the share
    of abnormal ones (``label``, three decimals)."""
    label = lesions.set_index("lesion_id").label
    return pd.DataFrame([{"split": split.name, "part": part, "lesions": len(ids),
                          "abnormal": round(label[ids].mean(), 3)}
                         for split in splits for part in ("train", "validation", "test")
                         for ids in [list(getattr(split, part))]])
