"""Automated ABC scores (chapter 03): run, check inputs, cache, compare with the published CSVs.

The algorithms live in :mod:`enhance_utils.abc_reference` (plain, the test oracle) and
:mod:`enhance_utils.abc_fast` (same outputs, fast). This module turns files into rows:

* every requested lesion gets exactly one row (``lesion_id, feature, score, raw, status,
  reason``), never an exception: ``status`` is ``ok`` (scored; ``reason`` may carry notes on
  the input, e.g. a resized or 24-bit mask), ``skipped`` (the algorithm cannot score this
  lesion, e.g. the published asymmetry on a mask whose background is split) or ``error``
  (unusable input: unreadable file, empty mask, mask covering the whole image, for A and B a
  mask smaller than its image, see :func:`check_mask_size`);
* results are cached per lesion in :func:`enhance_utils.config.cache_dir` under a key made of
  the dataset, the lesion id, the input files' SHA-1, the feature, the mode, the parameters
  and :data:`VERSION`; a cached row is served only when it passes :func:`cache_problem`
  (otherwise it is recomputed and replaced), and ``cache=False`` recomputes and replaces;
* :func:`compute` runs a list of lesions on several processes with a progress bar; the ids
  are checked first (:func:`checked_ids`), before any path is built from them;
* :func:`published` and :func:`agreement` compare a run with ``enhance/automated/*.csv``.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from . import abc_fast, abc_reference, annotations, config, datasets
from .abc_reference import DEFAULTS, Skip
from .options import ABC_MODES as MODES, DATASETS, FEATURES

IMPLEMENTATIONS = ("fast", "reference")
COLUMNS = ["lesion_id", "feature", "score", "raw", "status", "reason"]
STATUSES = ("ok", "skipped", "error")
#: bump when an algorithm changes so that cached results are recomputed
VERSION = "3"
FEATURE_NAMES = {"A": "asymmetry", "B": "border", "C": "colour"}


class InputError(Exception):
    """The input files cannot be used (the message says why)."""


# --------------------------------------------------------------------------- inputs
def lesion_ids(dataset: str, root=None) -> list[str]:
    """All lesion ids of a dataset, without suffixes."""
    if dataset == "isic2017":
        return datasets.isic_ground_truth(root).lesion_id.tolist()
    if dataset == "ph2":
        return datasets.ph2_ids(root)
    raise ValueError(f"unknown dataset {dataset!r}; use one of {DATASETS}")


#: lesions of the step-by-step figures: two small ISIC masks (767 x 576) and one PH2 lesion
EXAMPLES = (("isic2017", "ISIC_0000000"), ("isic2017", "ISIC_0000004"), ("ph2", "IMD003"))
#: lesions per dataset that chapter 03 recomputes in a profile (absent: all of them)
RECOMPUTE = {"smoke": 40, "cpu": 400}


def evenly_spaced(ids: list[str], n: int | None) -> list[str]:
    """``n`` ids spread evenly over the list (all of them when ``n`` is None or too large)."""
    if n is None or n >= len(ids):
        return list(ids)
    step = len(ids) / n
    return [ids[int(k * step)] for k in range(n)]


def recompute_count(profile: str, n: int | None = None) -> int | None:
    """``n`` if given, else the profile's number of lesions to recompute (None: all)."""
    return n if n is not None else RECOMPUTE.get(profile)


def recompute_ids(dataset: str, n: int | None, root=None) -> list[str]:
    """The lesions chapter 03 recomputes: ``n`` spread over the dataset (all for None)."""
    return evenly_spaced(lesion_ids(dataset, root), n)


def input_paths(dataset: str, lesion_id: str, feature: str, root=None) -> dict[str, Path]:
    if dataset == "isic2017":
        paths = {"mask": datasets.isic_mask_path(lesion_id, root)}
        if feature == "C":
            paths["image"] = datasets.isic_image_path(lesion_id, root)
    elif dataset == "ph2":
        paths = {"mask": datasets.ph2_mask_path(lesion_id, root)}
        if feature == "C":
            paths["image"] = datasets.ph2_image_path(lesion_id, root)
    else:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {DATASETS}")
    return paths


def _is_grey8_png(path: Path) -> bool:
    """Whether the file starts as an 8-bit greyscale, non-interlaced PNG (the ISIC masks)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(29)
    except OSError:
        return False
    return (len(head) == 29 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
            and head[24] == 8 and head[25] == 0 and head[28] == 0)


def read_mask(path) -> tuple[np.ndarray, list[str]]:
    """A mask file as a 2-D ``uint8`` grey array (lesion = 255 for binary masks) and notes.

    1-bit masks become 0/255; RGB(A) masks (24-bit) are merged by the channel maximum;
    anything else that is not 0/255 is kept as it is and noted as non-binary.
    """
    array, notes, _ = _read_mask(path)
    return array, notes


def _read_mask(path):
    """:func:`read_mask` plus the mask's 256-bin histogram (reused by the fast scores)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"mask file not found: {path.name}")
    notes = []
    array = None
    if _is_grey8_png(path):
        # OpenCV decodes an 8-bit grey PNG to the same array as Pillow, faster; anything
        # it cannot read goes through Pillow, which gives the error message
        array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if array is not None and (array.dtype != np.uint8 or array.ndim != 2):
            array = None
        mode = "L"
    if array is None:
        try:
            with Image.open(path) as image:
                mode = image.mode
                array = np.asarray(image)
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise InputError(f"unreadable mask {path.name}: {err}") from None
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim == 3:
        notes.append(f"{array.shape[2] * 8}-bit {mode} mask: channels merged by their maximum")
        array = array[..., :3].max(axis=2)
    if array.dtype != np.uint8:
        top = float(array.max()) or 1.0
        notes.append(f"{array.dtype} mask rescaled to 0..255")
        array = np.round(array.astype(float) / top * 255).astype(np.uint8)
    if array.ndim != 2 or array.size == 0:
        raise InputError(f"mask {path.name} has shape {array.shape}, expected a 2-D image")
    array = np.ascontiguousarray(array)
    hist = cv2.calcHist([array], [0], None, [256], [0, 256]).ravel()
    if hist[1:255].any():
        notes.append("non-binary mask (grey levels between 0 and 255)")
    return array, notes, hist


def read_image(path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image file not found: {path.name}")
    try:
        return datasets.load_image(path)
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise InputError(f"unreadable image {path.name}: {err}") from None


def mask_notes(lesion: np.ndarray) -> list[str]:
    """Checks on a binary lesion mask: raises :class:`InputError` for unusable masks."""
    rows, cols = np.flatnonzero(lesion.any(axis=1)), np.flatnonzero(lesion.any(axis=0))
    if rows.size == 0:
        raise InputError("empty mask (no lesion pixel)")
    if lesion[0].all() and lesion[-1].all() and lesion.all():
        raise InputError("mask covers the whole image")
    notes = []
    if lesion[0].any() or lesion[-1].any() or lesion[:, 0].any() or lesion[:, -1].any():
        notes.append("lesion touches the image border")
    box = np.ascontiguousarray(lesion[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    n_comp = cv2.connectedComponents(box.view(np.uint8), connectivity=8)[0] - 1
    if n_comp > 1:
        notes.append(f"mask has {n_comp} separate lesion regions")
    return notes


def _mask_notes_prepared(prep: abc_fast.Prepared) -> list[str]:
    """:func:`mask_notes` of ``prep.gray > 127``, from the quantities the fast scores share."""
    if "notes" not in prep._cache:
        box, crop = prep.lesion()
        if box is None:
            prep._cache["notes"] = InputError("empty mask (no lesion pixel)")
        else:
            rows, cols = prep.gray.shape
            if box == (0, rows, 0, cols) and np.count_nonzero(crop) == crop.size:
                prep._cache["notes"] = InputError("mask covers the whole image")
            else:
                notes = []
                if box[0] == 0 or box[1] == rows or box[2] == 0 or box[3] == cols:
                    notes.append("lesion touches the image border")
                n_comp = prep.n_components()
                if n_comp > 1:
                    notes.append(f"mask has {n_comp} separate lesion regions")
                prep._cache["notes"] = notes
    notes = prep._cache["notes"]
    if isinstance(notes, InputError):
        raise notes
    return list(notes)


def image_size(path) -> tuple[int, int] | None:
    """``(rows, cols)`` of an image from its header (nothing decoded); None if unreadable."""
    try:
        with Image.open(path) as image:
            return image.height, image.width
    except (OSError, ValueError, UnidentifiedImageError):
        return None


def check_mask_size(mask_shape, image_shape) -> None:
    """:class:`InputError` when a mask is smaller than its image in either dimension.

    A and B are computed on the mask at its own resolution, and both depend on it (a border
    count of 19 on the full mask can be 7 on a downscaled copy). The official masks have
    their image's size; an image may be a downsized copy (the mirror's 256 x 256 ISIC
    images, whose aspect ratio is not kept), so a mask larger than its image is accepted.
    A mask smaller than its image has lost resolution and is refused.
    """
    if image_shape is None:
        return
    (rows, cols), (image_rows, image_cols) = mask_shape[:2], image_shape[:2]
    if rows < image_rows or cols < image_cols:
        raise InputError(f"mask {cols}x{rows} is smaller than its image {image_cols}x{image_rows}:"
                         " not a full-resolution mask, A and B would change")


def _resize_mask(gray: np.ndarray, shape) -> tuple[np.ndarray, list[str]]:
    if gray.shape == tuple(shape[:2]):
        return gray, []
    note = (f"mask {gray.shape[1]}x{gray.shape[0]} resized (nearest) to the image "
            f"{shape[1]}x{shape[0]}")
    return cv2.resize(gray, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST), [note]


# --------------------------------------------------------------------------- one lesion
def _implementation(impl: str):
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"impl must be one of {IMPLEMENTATIONS}, not {impl!r}")
    return abc_fast if impl == "fast" else abc_reference


def _function(feature: str, mode: str, impl: str):
    if feature not in FEATURES:
        raise ValueError(f"feature must be one of {FEATURES}, not {feature!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    return getattr(_implementation(impl), f"{FEATURE_NAMES[feature]}_{mode}")


def score_arrays(feature: str, mode: str, gray: np.ndarray, image: np.ndarray | None = None,
                 impl: str = "fast", params: dict | None = None,
                 prepared: abc_fast.Prepared | None = None) -> dict:
    """Score one lesion given as arrays; returns a row without ``lesion_id``.

    ``prepared`` (fast implementation only) is a :class:`abc_fast.Prepared` of ``gray``
    shared between the features of one mask, so that A and B find the lesion, label its
    regions and take its moments once; the outputs are the same with or without it.
    """
    params = {**DEFAULTS[feature], **(params or {})}
    func = _function(feature, mode, impl)
    notes = []
    try:
        if image is not None:
            gray, resized = _resize_mask(gray, image.shape)
            notes += resized
            if resized:
                prepared = None
        if impl == "fast":
            if prepared is None or prepared.gray is not gray:
                prepared = abc_fast.Prepared(gray)
            notes += _mask_notes_prepared(prepared)
            lesion = None
        else:
            lesion = gray > 127
            notes += mask_notes(lesion)
        if feature == "C" and image is None:
            raise InputError("colour needs the dermoscopic image")
        if mode == "published":
            if feature == "C":
                result = func(image, gray, **params)
            elif impl == "fast":
                result = func(prepared, **params)
            else:
                result = func(gray, **params)
        else:
            kwargs = {k: v for k, v in params.items() if k != "mask_level"}
            if lesion is None:
                lesion = gray > 127
            result = func(image, lesion, **kwargs) if feature == "C" else func(lesion, **kwargs)
    except InputError as err:
        return {"feature": feature, "score": np.nan, "raw": {}, "status": "error",
                "reason": "; ".join([str(err)] + notes)}
    except Skip as err:
        return {"feature": feature, "score": np.nan, "raw": {}, "status": "skipped",
                "reason": "; ".join([str(err)] + notes)}
    except Exception as err:  # noqa: BLE001 - one bad lesion must not stop a run
        return {"feature": feature, "score": np.nan, "raw": {}, "status": "error",
                "reason": "; ".join([f"{type(err).__name__}: {err}"] + notes)}
    return {"feature": feature, "score": float(result.score), "raw": result.raw, "status": "ok",
            "reason": "; ".join(result.notes + notes)}


def _checksum(paths: dict[str, Path]) -> str:
    digest = hashlib.sha1()
    for key in sorted(paths):
        digest.update(key.encode())
        try:
            digest.update(Path(paths[key]).read_bytes())
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


def _cache_key(dataset, lesion_id, paths, feature, mode, impl, params) -> str:
    """Key of one cached row: the lesion, its input files' content, the settings, the version.

    The lesion id is part of the key: two lesions with byte-identical masks are two entries.
    """
    # the implementations give the same outputs; the reference is cached apart all the same
    text = json.dumps([dataset, lesion_id, _checksum(paths), feature, mode, impl, params,
                       VERSION], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def _cache_file(key: str) -> Path:
    folder = config.cache_dir() / "automated_abc" / key[:2]
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.json"


#: (lowest, highest) score of an ``ok`` row per feature (None: no bound)
SCORE_RANGES = {"A": (0, 2), "B": (0, None), "C": (0, len(abc_reference.REFERENCE_COLOURS))}


def cache_problem(row, lesion_id: str, feature: str) -> str | None:
    """Why a cached row cannot be served for ``lesion_id`` and ``feature`` (None: it can).

    A valid row is a dict with exactly :data:`COLUMNS`, the lesion's id and the feature, a
    cacheable status (``ok`` or ``skipped``; errors are never cached), a text reason, a dict
    ``raw`` and, when ``ok``, a whole score within :data:`SCORE_RANGES` (for asymmetry also
    ``0 <= raw['ii'] <= 1``; for border at most ``raw['n_profile']``; for colour as many
    colours in ``raw`` as the score).
    """
    if not isinstance(row, dict) or set(row) != set(COLUMNS):
        return f"not a row with the keys {COLUMNS}"
    if row["lesion_id"] != lesion_id or row["feature"] != feature:
        return f"row of {row['lesion_id']!r}/{row['feature']!r}, not {lesion_id!r}/{feature!r}"
    if row["status"] not in ("ok", "skipped"):
        return f"status {row['status']!r} is never cached"
    if not isinstance(row["reason"], str) or not isinstance(row["raw"], dict):
        return "reason is not text or raw is not a mapping"
    if row["status"] == "skipped":
        return None if row["score"] is None else "a skipped row with a score"
    return _score_problem(row, feature)


def _score_problem(row: dict, feature: str) -> str | None:
    score, (low, high) = row["score"], SCORE_RANGES[feature]
    number = isinstance(score, (int, float)) and not isinstance(score, bool)
    if not number or not float(score).is_integer():
        return f"score {score!r} is not a whole number"
    if score < low or (high is not None and score > high):
        return f"score {score} outside {low}..{high if high is not None else ''}"
    if feature == "A":
        ii = row["raw"].get("ii")
        if not isinstance(ii, (int, float)) or not 0 <= ii <= 1:
            return f"asymmetry raw ii {ii!r} outside 0..1"
    if feature == "B" and not score <= row["raw"].get("n_profile", -1):
        return f"border score {score} above the profile's length"
    if feature == "C" and len(row["raw"].get("colours", ())) != score:
        return "colour score differs from the number of colours in raw"
    return None


def _read_cache(file: Path, lesion_id: str, feature: str) -> dict | None:
    """The cached row in ``file`` if it is there and valid for this lesion, else None."""
    try:
        row = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    return row if cache_problem(row, lesion_id, feature) is None else None


def _write_cache(file: Path, row: dict) -> None:
    """Store ``row`` (an error row removes the entry), atomically: a kill leaves no half file."""
    if row["status"] == "error":
        file.unlink(missing_ok=True)
        return
    partial = file.with_name(f"{file.name}.{os.getpid()}.part")
    partial.write_text(json.dumps(row))
    os.replace(partial, file)


def _features(feature) -> tuple[str, ...]:
    """``"A"``, ``"AB"``, ``["A", "B"]`` -> ``("A", "B")``, checked."""
    out = tuple(dict.fromkeys(feature))
    for f in out:
        if f not in FEATURES:
            raise ValueError(f"feature must be one of {FEATURES} (or several, e.g. 'AB'), "
                             f"not {feature!r}")
    if not out:
        raise ValueError("no feature given")
    return out


def _load(loaded: dict, name: str, reader, path):
    """``reader(path)`` once per lesion; its :class:`InputError` is raised again each time."""
    if name not in loaded:
        try:
            loaded[name] = reader(path)
        except InputError as err:
            loaded[name] = err
    if isinstance(loaded[name], InputError):
        raise loaded[name]
    return loaded[name]


def score_lesion(dataset: str, lesion_id: str, feature: str, mode: str = "published",
                 impl: str = "fast", params: dict | None = None, root=None,
                 cache: bool = True) -> dict:
    """Score one lesion of a dataset from its files; one row of :data:`COLUMNS`."""
    return score_lesion_many(dataset, lesion_id, [feature], mode, impl,
                             {feature: params} if params else None, root, cache)[0]


def score_lesion_many(dataset: str, lesion_id: str, features, mode: str = "published",
                      impl: str = "fast", params: dict | None = None, root=None,
                      cache: bool = True) -> list[dict]:
    """Several features of one lesion, reading each file once; one row per feature.

    ``params`` maps a feature to its parameter overrides. Each feature is cached on its
    own, under the same key as a one-feature run, so that runs of "AB", "A" and "B" share
    their results; only the features missing from the cache (or whose entry is invalid, see
    :func:`cache_problem`) are computed. With ``cache=False`` every feature is computed and
    its entry replaced (an error removes it).
    """
    features = _features(features)
    params = params or {}
    size = _image_size(dataset, lesion_id, root) if set(features) - {"C"} else None
    rows: dict[str, dict] = {}
    todo = []
    keys = {}
    for feature in features:
        p = {**DEFAULTS[feature], **(params.get(feature) or {})}
        paths = input_paths(dataset, lesion_id, feature, root)
        checked = size if feature != "C" else None  # C reads the image itself
        key = _cache_key(dataset, lesion_id, paths, feature, mode, impl, [p, checked])
        keys[feature] = (paths, p, _cache_file(key))
        cached = _read_cache(keys[feature][2], lesion_id, feature) if cache else None
        if cached is not None:
            rows[feature] = cached
        else:
            todo.append(feature)
    loaded: dict = {}
    prepared = None
    for feature in todo:
        paths, p, file = keys[feature]
        try:
            gray, notes, hist = _load(loaded, "mask", _read_mask, paths["mask"])
            image = _load(loaded, "image", read_image, paths["image"]) if "image" in paths \
                else None
            if image is None:
                check_mask_size(gray.shape, size)
        except InputError as err:
            row = {"feature": feature, "score": np.nan, "raw": {}, "status": "error",
                   "reason": str(err)}
        else:
            if impl == "fast" and prepared is None:
                prepared = abc_fast.Prepared(gray, hist)
            row = score_arrays(feature, mode, gray, image, impl, p, prepared=prepared)
            row["reason"] = "; ".join([r for r in [row["reason"]] + notes if r])
        row = {"lesion_id": lesion_id, **row}
        row["score"] = None if row["score"] != row["score"] else row["score"]
        _write_cache(file, row)
        rows[feature] = row
    return [rows[feature] for feature in features]


def _image_size(dataset: str, lesion_id: str, root) -> tuple[int, int] | None:
    """Size of the lesion's image, which A and B check the mask against (None: no image)."""
    return image_size(input_paths(dataset, lesion_id, "C", root)["image"])


def checked_ids(dataset: str, ids=None, root=None, limit: int | None = None) -> list[str]:
    """The lesions a run scores: ``ids`` (all of the dataset by default), checked.

    Raises
    ------
    datasets.InvalidLesionId
        An id without the dataset's form (``../x``, an absolute path): no path is built.
    ValueError
        Ids not among the dataset's lesions, ``limit`` below 1, or no lesion at all.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of lesions, not {limit}")
    known = lesion_ids(dataset, root)
    if ids is not None:
        ids = [annotations._strip_suffix(str(i)) for i in ids]
        for lesion_id in ids:
            datasets.check_lesion_id(dataset, lesion_id)
        unknown = sorted(set(ids) - set(known))
        if unknown:
            raise ValueError(f"{len(unknown)} id(s) not among the {dataset} lesions: "
                             f"{', '.join(unknown[:5])}")
    ids = (known if ids is None else ids)[:limit]
    if not ids:
        raise ValueError(f"no {dataset} lesions to score")
    return ids


def _work(args):
    return score_lesion_many(*args[:-1], **args[-1])


def compute(dataset: str, feature, mode: str = "published", ids=None, impl: str = "fast",
            workers: int | None = 2, cache: bool = True, progress: bool = True,
            params: dict | None = None, root=None, limit: int | None = None) -> pd.DataFrame:
    """Score many lesions; one row per requested id (and feature), in the order given.

    Parameters
    ----------
    feature : str
        ``"A"``, ``"B"`` or ``"C"``, or several at once (``"AB"``, ``"ABC"``): each file is
        then read once per lesion, and A and B share their work on the mask (the outputs are
        those of the one-feature runs). The rows come feature by feature, each in the order
        of ``ids``.
    ids : list of str, optional
        Lesion ids (suffixes such as ``_segmentation`` are removed); all of the dataset
        by default; ``limit`` keeps the first N. See :func:`checked_ids` for what is refused.
    workers : int
        Processes (2 by default: the machines of the course have two cores).
    params : dict, optional
        Parameter overrides: for one feature, ``{name: value}``; for several,
        ``{feature: {name: value}}``.
    """
    features = _features(feature)
    ids = checked_ids(dataset, ids, root, limit)
    root = str(root) if root is not None else None
    if params and len(features) == 1 and not set(params) <= set(FEATURES):
        params = {features[0]: params}
    options = {"impl": impl, "params": params, "root": root, "cache": cache}
    jobs = [(dataset, lesion_id, features, mode, options) for lesion_id in ids]
    results = []
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), desc=f"{dataset} {''.join(features)} {mode}", unit="lesion")
    if workers and workers > 1 and len(jobs) > 1:
        context = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()
        with context.Pool(workers) as pool:
            for rows in pool.imap(_work, jobs, chunksize=2):
                results.append(rows)
                if bar is not None:
                    bar.update()
    else:
        for job in jobs:
            results.append(_work(job))
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    records = [rows[k] for k in range(len(features)) for rows in results]
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    return frame


def value(frame: pd.DataFrame) -> pd.Series:
    """The number the paper uses per lesion: ``ii`` for asymmetry, the score otherwise."""
    def one(row):
        if row.status != "ok":
            return np.nan
        if row.feature == "A":
            return row.raw.get("ii", np.nan)
        return row.score
    return frame.apply(one, axis=1).astype(float)


def to_csv(frame: pd.DataFrame, path) -> Path:
    """Write a result frame with ``raw`` as compact JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame[COLUMNS].copy()
    out["raw"] = out["raw"].map(lambda r: json.dumps(r, separators=(",", ":")))
    out.to_csv(path, index=False)
    return path


def read_ids(path) -> list[str]:
    """Lesion ids from a text or CSV file (first column; header ``lesion_id``/``ID`` skipped)."""
    ids = []
    for line in Path(path).read_text(encoding="utf-8-sig").splitlines():
        cell = line.split(",")[0].strip()
        if cell and cell.lower() not in ("lesion_id", "id", "image_id"):
            ids.append(annotations._strip_suffix(cell))
    return ids


# --------------------------------------------------------------------------- published CSVs
def published(dataset: str, feature: str, root=None) -> pd.DataFrame:
    """The published automated scores: ``lesion_id`` plus the file's columns (``i``, ``ii``)."""
    name, _ = annotations.AUTOMATED_FILES[(dataset, feature)]
    root = Path(root) if root is not None else config.data_dir()
    frame = pd.read_csv(root / "enhance" / "automated" / name)
    frame["lesion_id"] = frame.pop("ID").astype(str).map(annotations._strip_suffix)
    return frame


def agreement(computed: pd.DataFrame, dataset: str, feature: str, root=None,
              tolerance: float = 2e-3) -> dict:
    """Agreement of a ``published``-mode run with the published CSV, on the run's ids.

    For asymmetry: share of the ids scored in both with ``|Δii| <= tolerance`` and with the
    same ``i``, ``max |Δii|``, and whether the same ids are missing from both. For border and
    colour: share identical and within 1.
    """
    pub = published(dataset, feature, root)
    if computed.feature.nunique() > 1:   # a run of several features at once
        computed = computed[computed.feature == feature]
    run = computed.set_index("lesion_id")
    ids = run.index
    in_pub = ids.isin(pub.lesion_id)
    ok = (run.status == "ok").to_numpy()
    both = ok & in_pub
    merged = run[both].join(pub.set_index("lesion_id").add_suffix("_pub").rename(
        columns={"i_pub": "i", "ii_pub": "ii"}))
    out = {"n_ids": int(len(ids)), "n_scored": int(ok.sum()), "n_published": int(in_pub.sum()),
           "n_both": int(both.sum()),
           "only_computed": sorted(ids[ok & ~in_pub]), "only_published": sorted(ids[~ok & in_pub])}
    out["same_ids_skipped"] = not out["only_computed"] and not out["only_published"]
    if feature == "A":
        ii = merged.raw.map(lambda r: r.get("ii", np.nan)).astype(float)
        delta = (ii - merged["ii"]).abs()
        out["ii_within_tol"] = float((delta <= tolerance).mean()) if len(delta) else np.nan
        out["i_identical"] = float((merged.score == merged["i"]).mean()) if len(delta) else np.nan
        out["max_abs_delta_ii"] = float(delta.max()) if len(delta) else np.nan
    else:
        delta = (merged.score - merged["i"]).abs()
        out["identical"] = float((delta == 0).mean()) if len(delta) else np.nan
        out["within_1"] = float((delta <= 1).mean()) if len(delta) else np.nan
    return out


def timed(func, *args, **kwargs):
    """``(result, seconds)`` of one call."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start
