"""What one run is and what every run of a grid shares (chapters 06–08): :class:`RunSpec`
(architecture × target × split of a profile), its folder in the store (:func:`run_dir`), and
the :class:`Context` of a grid (lesions, image paths, annotation scores, :func:`build_context`).

Below both the grid (:mod:`enhance_utils.learning.training`) and one run
(:mod:`enhance_utils.learning.run`), which build on it: neither imports the other's module
for these.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import annotations, datasets
from . import splits, store
from . import targets as targets_module
from .targets import Target

SOURCES = targets_module.SOURCES
#: the parts of a split whose predictions a run stores
PARTS = store.PARTS


@dataclass(frozen=True)
class RunSpec:
    profile: str
    arch: str
    target: Target
    split: splits.Split

    @property
    def key(self) -> tuple[str, str, str]:
        return self.arch, self.target.folder, self.split.name

    @property
    def run_id(self) -> str:
        """The run's name on the command line: ``arch/target folder/split``, e.g.
        ``small/crowd-A/seed1970`` (``enhance train --list-runs``, ``--run``)."""
        return "/".join(self.key)

    @property
    def init_seed(self) -> int:
        """The seed of the weights' initialisation and of the data order: the split's seed
        for the first replicate, a different one for each further replicate."""
        if not self.target.replicate:
            return self.split.seed
        return zlib.crc32(f"{self.split.seed}|init{self.target.replicate}".encode()) % 2**31


def run_dir(root: Path, spec: RunSpec) -> Path:
    return store.run_dir(root, spec.profile, spec.arch, spec.target, spec.split.name)


@dataclass
class Context:
    """What every run of a grid shares: lesions, labels, image paths, annotation scores."""

    lesions: pd.DataFrame  # lesion_id, label, path
    skipped: list[dict]  # lesions left out, with the reason
    scores: pd.DataFrame  # per-lesion annotation scores of ISIC

    def real_values(self, source: str, feature: str, lesion_ids) -> tuple[np.ndarray, np.ndarray]:
        """An annotation's values (NaN where absent) and availability (0/1) for ``lesion_ids``."""
        part = self.scores[(self.scores.source == source) & (self.scores.feature == feature)]
        values = part.set_index("lesion_id").score.reindex(list(lesion_ids)).to_numpy(float)
        available = ~np.isnan(values)
        return values, available.astype(np.float32)

    def heads(self, target, lesion_ids, split_seed: int = 0, part: str = "train"
              ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per annotation feature of ``target``: the values it trains on and their
        availability, for ``lesion_ids`` of one part of one split.

        Controls keep the real availability: ``uniform`` draws fixed uniform values
        (:func:`targets.uniform_values`), ``permuted`` shuffles the real values among the
        annotated lesions of that part (:func:`targets.permuted_values`).
        """
        target = targets_module.parse(target)
        out = {}
        for feature in target.features:
            values, available = self.real_values(target.source, feature, lesion_ids)
            if target.values == "uniform":
                single = Target(target.source, (feature,), "uniform")
                values = np.where(available > 0, targets_module.uniform_values(single, lesion_ids),
                                  np.nan)
            elif target.values == "permuted":
                values = targets_module.permuted_values(target, values, available, split_seed, part)
            out[feature] = (values, available)
        return out

    @property
    def labels(self) -> pd.Series:
        """The ground truth of the lesions: label by lesion_id."""
        return self.lesions.set_index("lesion_id").label

    def annotation(self, target, lesion_ids) -> tuple[np.ndarray, np.ndarray]:
        """Values and availability of a one-feature target (training part of split 0)."""
        (values, available), = self.heads(target, lesion_ids).values()
        return values, available


def build_context(n_lesions: int | None, root=None) -> Context:
    """Ground truth (optionally a stratified sample), readable images, annotation scores."""
    from .pipeline import check_images

    gt = splits.training_lesions(n_lesions, root)
    gt["path"] = [datasets.isic_image_path(i, root) for i in gt.lesion_id]
    reasons = check_images(list(gt.path))
    skipped = [{"lesion_id": i, "reason": r} for i, r in zip(gt.lesion_id, reasons) if r]
    lesions = gt[[r is None for r in reasons]].reset_index(drop=True)
    ann = annotations.load(root, sources=list(SOURCES))
    scores = annotations.per_lesion(ann.long)
    return Context(lesions, skipped, scores[scores.dataset == "isic2017"])
