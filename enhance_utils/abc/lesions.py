"""Which lesions the ABC scores run on: a dataset's ids and files, chapter 03's samples.

Light on purpose (no image library): :mod:`enhance_utils.book.chapter_data` asks it which files
chapter 03 reads.
"""
from __future__ import annotations

from pathlib import Path

from ..data import datasets
from ..options import DATASETS

#: lesions of the step-by-step figures: two small ISIC masks (767 x 576) and one PH2 lesion
EXAMPLES = (("isic2017", "ISIC_0000000"), ("isic2017", "ISIC_0000004"), ("ph2", "IMD003"))


def _dataset(dataset: str) -> datasets.Dataset:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {DATASETS}")
    return datasets.get_dataset(dataset)


def lesion_ids(dataset: str, root=None) -> list[str]:
    """All lesion ids of a dataset, without suffixes."""
    return _dataset(dataset).ids(root)


def input_paths(dataset: str, lesion_id: str, feature: str, root=None) -> dict[str, Path]:
    """The files a feature reads for one lesion: ``mask``, and ``image`` for colour."""
    files = _dataset(dataset)
    paths = {"mask": files.mask_path(lesion_id, root)}
    if feature == "C":
        paths["image"] = files.image_path(lesion_id, root)
    return paths


def image_path(dataset: str, lesion_id: str, root=None) -> Path:
    """The lesion's dermoscopic image."""
    return _dataset(dataset).image_path(lesion_id, root)


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
