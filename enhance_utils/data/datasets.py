"""The two image datasets: ISIC 2017 (training part) and PH2.

Loaders accept the official files and the quirks of the local mirror: CRLF line ends in the
ground truth, images of any size (masks are resized to their image when paired), the PH2
table as the official ``||``-delimited ``PH2_dataset.txt`` or as ``PH2_dataset.xlsx``, PH2
masks stored as 1-bit or 24-bit BMP, PH2 images as ``.bmp`` or ``.jpg``.
Chapter 01 (``chapters/01_datasets.ipynb``) is built on this module.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from PIL import Image

from . import paths

ISIC_GROUND_TRUTH = "isic2017/ISIC-2017_Training_Part3_GroundTruth.csv"
ISIC_METADATA = "isic2017/ISIC-2017_Training_Data/ISIC-2017_Training_Data_metadata.csv"
ISIC_IMAGES = "isic2017/ISIC-2017_Training_Data"
ISIC_MASKS = "isic2017/ISIC-2017_Training_Part1_GroundTruth"
PH2_DIR = "ph2/PH2Dataset"
PH2_IMAGES = f"{PH2_DIR}/PH2 Dataset images"

#: The six colours of the PH2 table, in the order of its columns and of the codes 1..6 in
#: the official ``PH2_dataset.txt``.
PH2_COLOURS = ["white", "red", "light_brown", "dark_brown", "blue_gray", "black"]
PH2_DIAGNOSES = ["common_nevus", "atypical_nevus", "melanoma"]
ISIC_DIAGNOSES = ["nevus", "melanoma", "seborrheic_keratosis"]
AGE_BINS = list(range(0, 100, 10))


#: what a lesion id of each dataset looks like; ids are checked against it before they
#: become part of a path, so that no id can reach outside the dataset's folders
ID_PATTERNS = {"isic2017": re.compile(r"ISIC_\d+"), "ph2": re.compile(r"IMD\d+")}
_ID_EXAMPLES = {"isic2017": "ISIC_0000000", "ph2": "IMD003"}


class DataFormatError(ValueError):
    """A data file is not in the format the loader expects; the message names the file."""


class InvalidLesionId(ValueError):
    """A lesion id that does not have its dataset's form (the message names it)."""


def check_lesion_id(dataset: str, lesion_id) -> str:
    """``lesion_id`` if it has the form of a ``dataset`` lesion id, else :class:`InvalidLesionId`.

    Only letters, digits and ``_`` pass (:data:`ID_PATTERNS`): ``../x``, absolute paths and
    ids with separators are refused before any path is built from them.
    """
    if dataset not in ID_PATTERNS:
        raise ValueError(f"unknown dataset {dataset!r}: use one of {sorted(ID_PATTERNS)}")
    if not isinstance(lesion_id, str) or not ID_PATTERNS[dataset].fullmatch(lesion_id):
        raise InvalidLesionId(f"{lesion_id!r} is not a {dataset} lesion id "
                              f"(like {_ID_EXAMPLES[dataset]})")
    return lesion_id


def _root(root) -> Path:
    return Path(root) if root is not None else paths.data_dir()


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `enhance fetch` or set ENHANCE_DATA_DIR")
    return path


def _check_columns(frame: pd.DataFrame, needed: list[str], path: Path) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataFormatError(f"{path}: expected columns {needed}, missing {missing}; "
                              f"found {list(frame.columns)}")


# --------------------------------------------------------------------------- ISIC 2017
def isic_ground_truth(root=None) -> pd.DataFrame:
    """Diagnosis of the 2000 ISIC 2017 training lesions.

    Returns
    -------
    pandas.DataFrame
        ``lesion_id``, ``melanoma``, ``seborrheic_keratosis`` (0/1), ``diagnosis`` (one of
        :data:`ISIC_DIAGNOSES`) and ``label`` (1 = abnormal: melanoma or seborrheic
        keratosis, the paper's binary task).
    """
    path = _require(_root(root) / ISIC_GROUND_TRUTH)
    frame = pd.read_csv(path)  # the csv module reads CRLF and LF alike
    _check_columns(frame, ["image_id", "melanoma", "seborrheic_keratosis"], path)
    frame = frame.rename(columns={"image_id": "lesion_id"})
    for col in ["melanoma", "seborrheic_keratosis"]:
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().any() or not values.isin([0, 1]).all():
            raise DataFormatError(f"{path}: column {col} must hold 0 or 1")
        frame[col] = values.astype(int)
    if (frame.melanoma + frame.seborrheic_keratosis > 1).any():
        raise DataFormatError(f"{path}: a lesion is both melanoma and seborrheic keratosis")
    if frame.lesion_id.duplicated().any():
        raise DataFormatError(f"{path}: duplicate image_id")
    frame["diagnosis"] = np.select([frame.melanoma == 1, frame.seborrheic_keratosis == 1],
                                   ["melanoma", "seborrheic_keratosis"], "nevus")
    frame["label"] = frame.melanoma + frame.seborrheic_keratosis
    return frame


def isic_metadata(root=None) -> pd.DataFrame:
    """Approximate age and sex of the ISIC 2017 training lesions (``unknown`` becomes NaN)."""
    path = _require(_root(root) / ISIC_METADATA)
    frame = pd.read_csv(path, na_values=["unknown", ""])
    _check_columns(frame, ["image_id", "age_approximate", "sex"], path)
    frame = frame.rename(columns={"image_id": "lesion_id"})
    frame["age_approximate"] = pd.to_numeric(frame["age_approximate"], errors="raise")
    return frame


def isic_image_path(lesion_id: str, root=None) -> Path:
    """Image of an ISIC lesion; :class:`InvalidLesionId` for an id not like ``ISIC_0000000``."""
    return _root(root) / ISIC_IMAGES / f"{check_lesion_id('isic2017', lesion_id)}.jpg"


def isic_mask_path(lesion_id: str, root=None) -> Path:
    """Mask of an ISIC lesion; :class:`InvalidLesionId` for an id not like ``ISIC_0000000``."""
    return _root(root) / ISIC_MASKS / f"{check_lesion_id('isic2017', lesion_id)}_segmentation.png"


def examples(n: int, root=None) -> tuple[list[tuple[str, str]], list[str]]:
    """The first lesion of each diagnosis, ``n`` per dataset, and their diagnoses as captions.

    Returns ``[(dataset, lesion_id), ...]`` (ISIC 2017 first, then PH2) and the captions.
    """
    isic = isic_ground_truth(root).groupby("diagnosis").lesion_id.first().head(n)
    ph2 = ph2_table(root).groupby("clinical_diagnosis").lesion_id.first().head(n)
    lesions = [("isic2017", i) for i in isic] + [("ph2", i) for i in ph2]
    return lesions, list(isic.index) + list(ph2.index)


# --------------------------------------------------------------------------- PH2
def ph2_table(root=None) -> pd.DataFrame:
    """The PH2 table, from the official ``PH2_dataset.txt`` if present, else the ``.xlsx``.

    Returns
    -------
    pandas.DataFrame
        ``lesion_id``, ``histological_diagnosis`` (text or NaN), ``clinical_diagnosis`` (one
        of :data:`PH2_DIAGNOSES`), ``asymmetry`` (0 fully symmetric, 1 symmetric in one axis,
        2 fully asymmetric), one boolean column per colour of :data:`PH2_COLOURS`, and
        ``n_colours``.
    """
    folder = _root(root) / PH2_DIR
    txt, xlsx = folder / "PH2_dataset.txt", folder / "PH2_dataset.xlsx"
    if txt.is_file():
        return read_ph2_txt(txt)
    if xlsx.is_file():
        return read_ph2_xlsx(xlsx)
    raise FileNotFoundError(f"neither {txt} nor {xlsx} found: run `enhance fetch` or set "
                            "ENHANCE_DATA_DIR")


def read_ph2_txt(path) -> pd.DataFrame:
    """Parse the official ``||``-delimited PH2 table.

    Rows look like ``|| IMD003 || || 0 || 0 || T || A || A || A || A || 4 ||``: name,
    histological diagnosis, clinical diagnosis code (0 common nevus, 1 atypical nevus,
    2 melanoma), asymmetry, five dermoscopic structures, then the colour codes 1..6 separated
    by spaces. The header row and the legend below the table are recognised and skipped.
    """
    path = Path(path)
    records = []
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip().startswith("||"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("||")]
        if cells[0].lower() == "name":
            continue
        if len(cells) != 10:
            raise DataFormatError(f"{path}, line {number}: expected 10 fields, found {len(cells)}")
        try:
            colours = {int(code) for code in cells[9].split()}
            diagnosis, asymmetry = int(cells[2]), int(cells[3])
        except ValueError as err:
            raise DataFormatError(f"{path}, line {number}: {err}") from None
        if not colours <= set(range(1, 7)) or diagnosis not in (0, 1, 2):
            raise DataFormatError(f"{path}, line {number}: code out of range")
        record = {"lesion_id": cells[0], "histological_diagnosis": cells[1] or np.nan,
                  "clinical_diagnosis": PH2_DIAGNOSES[diagnosis], "asymmetry": asymmetry}
        record.update({name: (code in colours) for code, name in enumerate(PH2_COLOURS, 1)})
        records.append(record)
    if not records:
        raise DataFormatError(f"{path}: no table rows (lines starting with '||') found")
    return _finish_ph2(pd.DataFrame.from_records(records), path)


def read_ph2_xlsx(path) -> pd.DataFrame:
    """Parse ``PH2_dataset.xlsx`` (legend on top, header row starting with 'Image Name')."""
    path = Path(path)
    try:
        raw = pd.read_excel(path, header=None, dtype=object)
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as err:
        raise DataFormatError(f"{path}: not a readable xlsx workbook (damaged or truncated? "
                              f"{type(err).__name__}: {err})") from None
    header_rows = raw.index[raw.iloc[:, 0].astype(str).str.strip() == "Image Name"]
    if len(header_rows) != 1:
        raise DataFormatError(f"{path}: no single header row starting with 'Image Name'")
    body = raw.iloc[header_rows[0] + 1:].dropna(how="all")
    if body.shape[1] < 17:
        raise DataFormatError(f"{path}: expected 17 columns, found {body.shape[1]}")
    marks = body.iloc[:, 2:5].notna().to_numpy()
    if not (marks.sum(axis=1) == 1).all():
        raise DataFormatError(f"{path}: each lesion needs exactly one clinical diagnosis mark")
    frame = pd.DataFrame({
        "lesion_id": body.iloc[:, 0].astype(str).str.strip().to_numpy(),
        "histological_diagnosis": body.iloc[:, 1].to_numpy(),
        "clinical_diagnosis": np.asarray(PH2_DIAGNOSES)[marks.argmax(axis=1)],
        "asymmetry": pd.to_numeric(body.iloc[:, 5], errors="coerce").to_numpy(),
    })
    for offset, name in enumerate(PH2_COLOURS):
        frame[name] = body.iloc[:, 11 + offset].notna().to_numpy()
    return _finish_ph2(frame, path)


def _finish_ph2(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    if frame.asymmetry.isna().any() or not frame.asymmetry.isin([0, 1, 2]).all():
        raise DataFormatError(f"{path}: asymmetry must be 0, 1 or 2 for every lesion")
    if frame.lesion_id.duplicated().any():
        raise DataFormatError(f"{path}: duplicate image name")
    frame["asymmetry"] = frame.asymmetry.astype(int)
    frame["n_colours"] = frame[PH2_COLOURS].sum(axis=1).astype(int)
    return frame.sort_values("lesion_id", ignore_index=True)


def ph2_label(table: pd.DataFrame, atypical_abnormal: bool = False) -> pd.Series:
    """Binary label of PH2 lesions: melanoma is abnormal; atypical nevi by choice."""
    abnormal = ["melanoma", "atypical_nevus"] if atypical_abnormal else ["melanoma"]
    return table.clinical_diagnosis.isin(abnormal).astype(int)


def ph2_image_path(lesion_id: str, root=None) -> Path:
    """Dermoscopic image of a PH2 lesion: the official ``.bmp`` or the mirror's ``.jpg``."""
    check_lesion_id("ph2", lesion_id)
    folder = _root(root) / PH2_IMAGES / lesion_id / f"{lesion_id}_Dermoscopic_Image"
    for suffix in (".bmp", ".jpg"):
        if (folder / f"{lesion_id}{suffix}").is_file():
            return folder / f"{lesion_id}{suffix}"
    return folder / f"{lesion_id}.bmp"


def ph2_mask_path(lesion_id: str, root=None) -> Path:
    """Mask of a PH2 lesion; :class:`InvalidLesionId` for an id not like ``IMD003``."""
    check_lesion_id("ph2", lesion_id)
    return _root(root) / PH2_IMAGES / lesion_id / f"{lesion_id}_lesion" / f"{lesion_id}_lesion.bmp"


def ph2_ids(root=None) -> list[str]:
    """Lesion folders present under the PH2 image folder (named like a PH2 lesion id)."""
    return sorted(p.name for p in (_root(root) / PH2_IMAGES).glob("IMD*")
                  if p.is_dir() and ID_PATTERNS["ph2"].fullmatch(p.name))


def available_lesions(root=None, first=()) -> list[tuple[str, str]]:
    """Every ``(dataset, lesion_id)`` whose image and mask are on disk: ISIC 2017 in the
    ground truth's order, then PH2; the lesions of ``first`` (present or not) lead.

    A tree downloaded for one chapter holds only the ISIC lesions that chapter reads (and
    every PH2 lesion, whose archive comes whole); the full tree holds them all.
    """
    present = [("isic2017", i) for i in isic_ground_truth(root).lesion_id
               if isic_image_path(i, root).is_file() and isic_mask_path(i, root).is_file()]
    present += [("ph2", i) for i in ph2_ids(root)
                if ph2_image_path(i, root).is_file() and ph2_mask_path(i, root).is_file()]
    first = [tuple(lesion) for lesion in first]
    return first + [lesion for lesion in present if lesion not in set(first)]


def diagnoses(root=None) -> dict[tuple[str, str], str]:
    """``(dataset, lesion_id) -> diagnosis`` of every lesion of both datasets."""
    isic = isic_ground_truth(root)
    ph2 = ph2_table(root)
    return {**{("isic2017", i): d for i, d in zip(isic.lesion_id, isic.diagnosis)},
            **{("ph2", i): d for i, d in zip(ph2.lesion_id, ph2.clinical_diagnosis)}}


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Dataset:
    """What the book reads of one image dataset: its lesion ids, a lesion's image and mask
    files, and its table of lesions (one row per lesion, ``lesion_id`` first)."""

    name: str
    ids: Callable[..., list[str]]
    image_path: Callable[..., Path]
    mask_path: Callable[..., Path]
    table: Callable[..., pd.DataFrame]


#: the two image datasets by name (:data:`enhance_utils.options.DATASETS`)
DATASETS = {
    "isic2017": Dataset("isic2017", lambda root=None: isic_ground_truth(root).lesion_id.tolist(),
                        isic_image_path, isic_mask_path, isic_ground_truth),
    "ph2": Dataset("ph2", ph2_ids, ph2_image_path, ph2_mask_path, ph2_table),
}


def get_dataset(name: str) -> Dataset:
    """The dataset called ``name``; a clear error for an unknown one."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}: use one of {sorted(DATASETS)}") from None


# --------------------------------------------------------------------------- images
def load_image(path) -> np.ndarray:
    """An RGB image as ``uint8`` array of shape (rows, cols, 3)."""
    with Image.open(_require(Path(path))) as image:
        return np.asarray(image.convert("RGB"))


def load_mask(path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A lesion mask as boolean array, optionally resized (nearest neighbour) to ``shape``.

    1-bit, 8-bit grey and 24-bit RGB masks are all accepted: a pixel is lesion when any
    channel is above half range.
    """
    with Image.open(_require(Path(path))) as image:
        array = np.asarray(image)
    if array.ndim == 3:
        array = array.max(axis=2)
    mask = array > (0 if array.dtype == bool else 127)
    return mask if shape is None else resize_mask(mask, shape)


def resize_mask(mask: np.ndarray, shape) -> np.ndarray:
    """A mask (boolean or grey ``uint8``) at ``shape`` (rows, cols) by nearest neighbour, as
    OpenCV's ``INTER_NEAREST`` picks it: the one resize of a mask in the book, so that the
    figures draw the mask the ABC algorithms read (``tests/test_datasets.py``)."""
    import cv2

    mask = np.asarray(mask)
    if mask.shape[:2] == tuple(shape[:2]):
        return mask
    resized = cv2.resize(mask.astype(np.uint8), (int(shape[1]), int(shape[0])),
                         interpolation=cv2.INTER_NEAREST)
    return resized.astype(bool) if mask.dtype == bool else resized


def load_lesion(dataset: str, lesion_id: str, root=None) -> tuple[np.ndarray, np.ndarray]:
    """Image and mask of one lesion, the mask resized to the image (:func:`resize_mask`)."""
    files = get_dataset(dataset)
    image = load_image(files.image_path(lesion_id, root))
    return image, load_mask(files.mask_path(lesion_id, root), image.shape[:2])


# --------------------------------------------------------------------------- Table 1
def age_group(age: pd.Series) -> pd.Series:
    """Left-closed decades ``[0, 10)`` … ``[80, 90)`` as labels ``'0-10'`` …; NaN stays NaN."""
    labels = [f"{lo}-{lo + 10}" for lo in AGE_BINS[:-1]]
    return pd.cut(age, bins=AGE_BINS, right=False, labels=labels)


#: the cells of Table 1 that :func:`table1` sets by definition instead of counting, as
#: (characteristic, value, dataset): ISIC 2017 has no expert ABC annotations, PH2 has no
#: expert border annotation and no seborrheic keratosis, and its colour annotation (the
#: colour count of every lesion) covers every PH2 lesion
TABLE1_BY_DEFINITION = (("Expert annotations", "Asymmetry", "isic2017"),
                        ("Expert annotations", "Border", "isic2017"),
                        ("Expert annotations", "Color", "isic2017"),
                        ("Expert annotations", "Border", "ph2"),
                        ("Diagnosis", "Seborrheic keratosis", "ph2"),
                        ("Expert annotations", "Color", "ph2"))


def table1(root=None) -> pd.DataFrame:
    """The paper's Table 1, counted from the raw files.

    Returns a frame indexed by (characteristic, value) with columns ``isic2017`` and ``ph2``;
    NaN where a dataset does not provide that characteristic. The cells of
    :data:`TABLE1_BY_DEFINITION` are constants set here, not counts.
    """
    gt = isic_ground_truth(root)
    meta = gt[["lesion_id"]].merge(isic_metadata(root), on="lesion_id", how="left")
    ph2 = ph2_table(root)
    n_ph2 = len(ph2)
    rows = []

    def add(characteristic, value, isic, ph2_value):
        rows.append((characteristic, value, isic, ph2_value))

    ph2_dx = ph2.clinical_diagnosis.value_counts()
    add("Diagnosis", "Benign nevi", int((gt.diagnosis == "nevus").sum()),
        int(ph2_dx.get("common_nevus", 0) + ph2_dx.get("atypical_nevus", 0)))
    add("Diagnosis", "Melanoma", int((gt.diagnosis == "melanoma").sum()),
        int(ph2_dx.get("melanoma", 0)))
    add("Diagnosis", "Seborrheic keratosis", int((gt.diagnosis == "seborrheic_keratosis").sum()), 0)
    sex = meta.sex.str.lower().value_counts()
    add("Patient sex", "Female", int(sex.get("female", 0)), np.nan)
    add("Patient sex", "Male", int(sex.get("male", 0)), np.nan)
    add("Patient sex", "Not provided", int(meta.sex.isna().sum()), n_ph2)
    ages = age_group(meta.age_approximate).value_counts(sort=False)
    for label, count in ages.items():
        add("Age group", label, int(count), np.nan)
    add("Age group", "Not provided", int(meta.age_approximate.isna().sum()), n_ph2)
    add("Expert annotations", "Asymmetry", 0, int(ph2.asymmetry.notna().sum()))
    add("Expert annotations", "Border", 0, 0)
    add("Expert annotations", "Color", 0, n_ph2)
    frame = pd.DataFrame(rows, columns=["characteristic", "value", "isic2017", "ph2"])
    return frame.set_index(["characteristic", "value"])


def shapes(lesions, root=None) -> pd.DataFrame:
    """Per ``(dataset, lesion_id)`` of ``lesions``: the image's height and width, the shape of
    the mask as stored (ISIC masks may differ from their image) and the lesion's share of the
    mask resized to the image (three decimals)."""
    rows = []
    for dataset, lesion_id in lesions:
        path = get_dataset(dataset).mask_path(lesion_id, root)
        image, mask = load_lesion(dataset, lesion_id, root)
        rows.append({"dataset": dataset, "lesion_id": lesion_id, "image": image.shape[:2],
                     "mask on disk": load_mask(path).shape,
                     "lesion fraction": round(mask.mean(), 3)})
    return pd.DataFrame(rows)
