"""The data each chapter reads, and getting only that (Colab, Binder, a fresh laptop).

Every chapter's setup cell, right after its parameters, calls :func:`ensure` with the chapter's
name and profile (through :func:`enhance_utils.setup_chapter`); the kind of lesions a chapter
reads is named in :mod:`enhance_utils.book.manifest` and listed by :data:`NEEDS`. With
``ENHANCE_DATA_DIR`` set (CI, the local mirror) it only checks that the files the chapter will
read are there and names the missing ones. Without it, it downloads what the chapter needs
into :func:`enhance_utils.data.paths.download_dir`, skipping what is already there:

* the tables: the ENHANCE annotations, the ISIC ground truth and metadata, and the PH2
  archive (about 150 MB; RAR cannot be read file by file, and every chapter needs the PH2 table);
* only the ISIC images and masks of the lesions the chapter uses in that profile, read one by
  one out of the official zip archives (:func:`enhance_utils.data.fetch.fetch_members`) instead of
  the 6 GB archive; :func:`needs` lists them (``enhance chapters`` counts them).

The lesions are chosen by the same functions the chapters call, so the list cannot drift
from what the chapter reads.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..data import paths as config, datasets, fetch, registry
from . import manifest
from ..learning import splits
from ..abc.lesions import EXAMPLES as ABC_EXAMPLES
from ..abc.lesions import recompute_count, recompute_ids
from ..profiles import get_profile

#: files every chapter reads: the annotations, the ISIC tables and the PH2 archive
TABLES = ("isic2017/ISIC-2017_Training_Part3_GroundTruth.csv", "ph2/PH2Dataset.rar")
PH2_TABLES = (f"{datasets.PH2_DIR}/PH2_dataset.txt", f"{datasets.PH2_DIR}/PH2_dataset.xlsx")


@dataclass(frozen=True)
class DataNeeds:
    """What one chapter reads in one profile, as paths of the official unpacked layout."""

    chapter: str
    profile: str
    #: registry files downloaded whole (archives are unpacked)
    files: tuple[str, ...]
    #: single files of the ISIC zip archives
    members: tuple[str, ...]

    @property
    def n_images(self) -> int:
        """ISIC images among the members (the metadata table lies in the same folder)."""
        return sum(p.startswith(datasets.ISIC_IMAGES + "/ISIC_") for p in self.members)

    @property
    def n_masks(self) -> int:
        return sum(p.startswith(datasets.ISIC_MASKS + "/") for p in self.members)

    def describe(self) -> str:
        return (f"chapter {self.chapter} ({self.profile}): annotations, ISIC and PH2 tables, "
                f"PH2 archive, {self.n_images} ISIC images, {self.n_masks} ISIC masks")


def table_files() -> tuple[str, ...]:
    """Registry files downloaded whole for every chapter: all of ENHANCE plus :data:`TABLES`."""
    enhance = sorted(p for p, e in registry.entries().items()
                     if p.startswith("enhance/") and e.downloadable)
    return tuple(enhance) + TABLES


# --------------------------------------------------------------------------- per chapter
def _isic_files(images=(), masks=()) -> list[str]:
    """Paths of the layout, relative to the data root, of ISIC images and masks."""
    paths = [datasets.isic_image_path(i, Path()).as_posix() for i in images]
    return paths + [datasets.isic_mask_path(i, Path()).as_posix() for i in masks]


def _tables_only(profile: str, root: Path) -> list[str]:
    return []


def _dataset_examples(profile: str, root: Path) -> list[str]:
    lesions, _ = datasets.examples(get_profile(profile).n_examples, root)
    isic = [i for dataset, i in lesions if dataset == "isic2017"]
    return _isic_files(isic, isic)


def _abc_lesions(profile: str, root: Path, n_recompute: int | None = None) -> list[str]:
    n = recompute_count(profile, n_recompute)
    sample = recompute_ids("isic2017", n, root)
    examples = [i for dataset, i in ABC_EXAMPLES if dataset == "isic2017"]
    ids = list(dict.fromkeys(examples + sample))
    return _isic_files(ids, ids)  # the colour score reads the image, A and B the mask


def _training_lesions(profile: str, root: Path) -> list[str]:
    lesions = splits.training_lesions(get_profile(profile).training.n_lesions, root)
    return _isic_files(lesions.lesion_id)


def _explained_lesions(profile: str, root: Path) -> list[str]:
    """The images and masks of the test lesions of the profile's first split (Grad-CAM's
    mass inside the lesion) and, unless its backbone is frozen (``lite``: the explained runs'
    heads are committed), every training image (the runs may have to be trained again)."""
    settings = get_profile(profile).training
    lesions = splits.training_lesions(settings.n_lesions, root)
    test = splits.paper_split(lesions, settings.split_seeds[0]).test
    return _isic_files(test if settings.frozen else lesions.lesion_id, test)


#: kind of data need (:attr:`enhance_utils.book.manifest.Chapter.data`) -> the ISIC files a chapter
#: of that kind reads in a profile, besides the tables
NEEDS = {
    "tables": _tables_only,
    "examples": _dataset_examples,
    "abc": _abc_lesions,
    "training": _training_lesions,  # 07 trains what the store lacks
    "explained": _explained_lesions,
}
#: chapter (notebook stem) -> the ISIC files it reads in a profile, besides the tables
CHAPTERS = {chapter.stem: NEEDS[chapter.data] for chapter in manifest.CHAPTERS}


def needs(chapter: str, profile: str, root=None, **options) -> DataNeeds:
    """What ``chapter`` reads in ``profile``; ``root`` must hold the tables already.

    ``options`` are chapter parameters that change what it reads (chapter 03: ``n_recompute``).
    """
    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; choose from {sorted(CHAPTERS)}")
    get_profile(profile)
    root = Path(root) if root else config.data_dir()
    members = [datasets.ISIC_METADATA] + CHAPTERS[chapter](profile, root, **options)
    return DataNeeds(chapter, profile, table_files(), tuple(dict.fromkeys(members)))


def missing(data_needs: DataNeeds, root) -> list[str]:
    """The paths of ``data_needs`` not present under ``root`` (archives by their contents)."""
    root = Path(root)
    reg = registry.entries()
    wanted = [p for p in data_needs.files if not reg[p].unpack_to] + list(data_needs.members)
    absent = [p for p in wanted if not (root / p).is_file()]
    if "ph2/PH2Dataset.rar" in data_needs.files:
        if not any((root / p).is_file() for p in PH2_TABLES):
            absent.append(" or ".join(PH2_TABLES))
        if not (root / datasets.PH2_IMAGES).is_dir():
            absent.append(datasets.PH2_IMAGES + "/")
    return absent


# --------------------------------------------------------------------------- getting it
def ensure(chapter: str, profile: str, progressbar: bool = True,
           workspace: config.Workspace | None = None, **options) -> Path:
    """Make sure the files ``chapter`` reads in ``profile`` are there; returns the data root.

    With a named data tree (the ``workspace``'s, by default the current one:
    :func:`enhance_utils.data.paths.current`) nothing is downloaded: a missing file is an error
    that lists what is missing. Otherwise the tables and the chapter's ISIC files are
    downloaded into the download folder (files already there are kept).
    """
    workspace = workspace or config.current()
    if workspace.external:
        root = workspace.data
        data_needs = needs(chapter, profile, root, **options)
        absent = missing(data_needs, root)
        if absent:
            raise FileNotFoundError(
                f"ENHANCE_DATA_DIR={root} lacks {len(absent)} file(s) that chapter {chapter} "
                f"reads in profile {profile}, e.g. {', '.join(absent[:3])}; unset "
                "ENHANCE_DATA_DIR to download them, or complete the tree")
        verify(data_needs, root)
        return root
    root = fetch.fetch(list(table_files()), progressbar=progressbar)
    data_needs = needs(chapter, profile, root, **options)
    by_archive = defaultdict(list)
    for path in data_needs.members:
        by_archive[registry.archive_of(path).path].append(path)
    for archive, paths in by_archive.items():
        fetch.fetch_members(archive, paths, progressbar=progressbar)
    verify(data_needs, root)
    print(f"{data_needs.describe()}: all in {root}")
    return root


class ChecksumMismatch(ValueError):
    """A file the chapter reads differs from the registry's checksum (the message names it)."""


def verify(data_needs: DataNeeds, root) -> None:
    """Check the sha256 of every file of ``data_needs`` the registry has one for
    (:func:`verify_files`).

    That is every table a chapter reads (annotations, ISIC ground truth and metadata, the
    PH2 table), not the images. Checksums are remembered by size and modification time in
    the cache folder (:func:`enhance_utils.data.registry.cached_sha256`), so a rebuild reads no file
    again.
    """
    verify_files([*data_needs.files, *data_needs.members, *PH2_TABLES], root, cached=True)


def verify_files(paths, root, cached: bool = False, hint: str = "") -> None:
    """Raise :class:`ChecksumMismatch` naming every file of ``paths`` (registry paths) under
    ``root`` whose sha256 differs from the registry's, with ``hint`` added to the message;
    absent files are left to the reader, which names them (:func:`missing`)."""
    report = registry.verify(root, paths=paths, cached=cached)
    bad = [row["path"] for row in report if row["status"] == "mismatch"]
    if bad:
        raise ChecksumMismatch(
            f"{len(bad)} file(s) under {root} differ from the registry's sha256 (cut, damaged "
            f"or edited): {', '.join(bad[:5])}; replace them with the official files "
            f"(`enhance fetch --verify` lists them all){hint}")
