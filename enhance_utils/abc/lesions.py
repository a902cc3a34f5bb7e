"""Which lesions the ABC scores run on: a dataset's ids and files, chapter 03's samples.

Light on purpose (no image library): :mod:`enhance_utils.data.chapter_data` asks it which files
chapter 03 reads.
"""
from __future__ import annotations

from pathlib import Path

from ..data import datasets
from ..options import DATASETS

#: dataset (one of :data:`enhance_utils.options.DATASETS`) -> (its lesion ids, the path of a
#: lesion's mask, the path of its image)
_DATASETS = {
    "isic2017": (lambda root: datasets.isic_ground_truth(root).lesion_id.tolist(),
                 datasets.isic_mask_path, datasets.isic_image_path),
    "ph2": (datasets.ph2_ids, datasets.ph2_mask_path, datasets.ph2_image_path),
}

#: lesions of the step-by-step figures: two small ISIC masks (767 x 576) and one PH2 lesion
EXAMPLES = (("isic2017", "ISIC_0000000"), ("isic2017", "ISIC_0000004"), ("ph2", "IMD003"))


def _dataset(dataset: str):
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {DATASETS}")
    return _DATASETS[dataset]


def lesion_ids(dataset: str, root=None) -> list[str]:
    """All lesion ids of a dataset, without suffixes."""
    return _dataset(dataset)[0](root)


def input_paths(dataset: str, lesion_id: str, feature: str, root=None) -> dict[str, Path]:
    """The files a feature reads for one lesion: ``mask``, and ``image`` for colour."""
    _, mask_path, image_path = _dataset(dataset)
    paths = {"mask": mask_path(lesion_id, root)}
    if feature == "C":
        paths["image"] = image_path(lesion_id, root)
    return paths


def image_path(dataset: str, lesion_id: str, root=None) -> Path:
    """The lesion's dermoscopic image."""
    return _dataset(dataset)[2](lesion_id, root)


def evenly_spaced(ids: list[str], n: int | None) -> list[str]:
    """``n`` ids spread evenly over the list (all of them when ``n`` is None or too large)."""
    if n is None or n >= len(ids):
        return list(ids)
    step = len(ids) / n
    return [ids[int(k * step)] for k in range(n)]


def recompute_count(profile: str, n: int | None = None) -> int | None:
    """``n`` if given, else the profile's number of lesions to recompute
    (:attr:`enhance_utils.profiles.Profile.n_recompute`; None: all)."""
    from ..profiles import get_profile

    return n if n is not None else get_profile(profile).n_recompute


def recompute_ids(dataset: str, n: int | None, root=None) -> list[str]:
    """The lesions chapter 03 recomputes: ``n`` spread over the dataset (all for None)."""
    return evenly_spaced(lesion_ids(dataset, root), n)
