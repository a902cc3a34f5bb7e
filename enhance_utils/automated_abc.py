"""Automated ABC scores (chapter 03): run, check inputs, cache, compare with the published CSVs.

The algorithms live in :mod:`enhance_utils.abc_reference` (plain, the test oracle) and
:mod:`enhance_utils.abc_fast` (same outputs, fast). This module turns files into rows:

* every requested lesion gets exactly one row (``lesion_id, feature, score, raw, status,
  reason``), never an exception: ``status`` is ``ok`` (scored; ``reason`` may carry notes on
  the input, e.g. a resized or 24-bit mask), ``skipped`` (the algorithm cannot score this
  lesion, e.g. the published asymmetry on a mask whose background is split) or ``error``
  (unusable input: unreadable file, empty mask, mask covering the whole image);
* results are cached per lesion in :func:`enhance_utils.config.cache_dir` under a key made of
  the input files' SHA-1, the feature, the mode, the parameters and :data:`VERSION`;
* :func:`compute` runs a list of lesions on several processes with a progress bar;
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

FEATURES = ("A", "B", "C")
MODES = ("published", "described")
DATASETS = ("isic2017", "ph2")
IMPLEMENTATIONS = ("fast", "reference")
COLUMNS = ["lesion_id", "feature", "score", "raw", "status", "reason"]
STATUSES = ("ok", "skipped", "error")
#: bump when an algorithm changes so that cached results are recomputed
VERSION = "1"
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


def read_mask(path) -> tuple[np.ndarray, list[str]]:
    """A mask file as a 2-D ``uint8`` grey array (lesion = 255 for binary masks) and notes.

    1-bit masks become 0/255; RGB(A) masks (24-bit) are merged by the channel maximum;
    anything else that is not 0/255 is kept as it is and noted as non-binary.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"mask file not found: {path.name}")
    notes = []
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
    hist = cv2.calcHist([np.ascontiguousarray(array)], [0], None, [256], [0, 256]).ravel()
    if hist[1:255].any():
        notes.append("non-binary mask (grey levels between 0 and 255)")
    return array, notes


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
                 impl: str = "fast", params: dict | None = None) -> dict:
    """Score one lesion given as arrays; returns a row without ``lesion_id``."""
    params = {**DEFAULTS[feature], **(params or {})}
    func = _function(feature, mode, impl)
    notes = []
    try:
        if image is not None:
            gray, resized = _resize_mask(gray, image.shape)
            notes += resized
        lesion = gray > 127
        notes += mask_notes(lesion)
        if feature == "C" and image is None:
            raise InputError("colour needs the dermoscopic image")
        if mode == "published":
            if feature == "C":
                result = func(image, gray, **params)
            else:
                result = func(gray, **params)
        else:
            kwargs = {k: v for k, v in params.items() if k != "mask_level"}
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


def _cache_key(paths, feature, mode, impl, params) -> str:
    # the implementations give the same outputs; the reference is cached apart all the same
    text = json.dumps([_checksum(paths), feature, mode, impl, params, VERSION], sort_keys=True,
                      default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def _cache_file(key: str) -> Path:
    folder = config.cache_dir() / "automated_abc" / key[:2]
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.json"


def score_lesion(dataset: str, lesion_id: str, feature: str, mode: str = "published",
                 impl: str = "fast", params: dict | None = None, root=None,
                 cache: bool = True) -> dict:
    """Score one lesion of a dataset from its files; one row of :data:`COLUMNS`."""
    params = {**DEFAULTS[feature], **(params or {})}
    paths = input_paths(dataset, lesion_id, feature, root)
    key = _cache_key(paths, feature, mode, impl, params) if cache else None
    if cache:
        file = _cache_file(key)
        if file.is_file():
            try:
                return json.loads(file.read_text())
            except (OSError, ValueError):
                pass
    try:
        gray, notes = read_mask(paths["mask"])
        image = read_image(paths["image"]) if "image" in paths else None
    except InputError as err:
        row = {"feature": feature, "score": np.nan, "raw": {}, "status": "error",
               "reason": str(err)}
    else:
        row = score_arrays(feature, mode, gray, image, impl, params)
        row["reason"] = "; ".join([r for r in [row["reason"]] + notes if r])
    row = {"lesion_id": lesion_id, **row}
    row["score"] = None if row["score"] != row["score"] else row["score"]
    if cache and row["status"] != "error":
        _cache_file(key).write_text(json.dumps(row))
    return row


def _work(args):
    return score_lesion(*args[:-1], **args[-1])


def compute(dataset: str, feature: str, mode: str = "published", ids=None, impl: str = "fast",
            workers: int | None = 2, cache: bool = True, progress: bool = True,
            params: dict | None = None, root=None, limit: int | None = None) -> pd.DataFrame:
    """Score many lesions; one row per requested id, in the order given.

    Parameters
    ----------
    ids : list of str, optional
        Lesion ids (suffixes such as ``_segmentation`` are removed); all of the dataset
        by default; ``limit`` keeps the first N.
    workers : int
        Processes (2 by default: the machines of the course have two cores).
    """
    ids = lesion_ids(dataset, root) if ids is None else [annotations._strip_suffix(str(i))
                                                          for i in ids]
    if limit is not None:
        ids = ids[:limit]
    root = str(root) if root is not None else None
    options = {"impl": impl, "params": params, "root": root, "cache": cache}
    jobs = [(dataset, lesion_id, feature, mode, options) for lesion_id in ids]
    rows = []
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), desc=f"{dataset} {feature} {mode}", unit="lesion")
    if workers and workers > 1 and len(jobs) > 1:
        context = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()
        with context.Pool(workers) as pool:
            for row in pool.imap(_work, jobs, chunksize=2):
                rows.append(row)
                if bar is not None:
                    bar.update()
    else:
        for job in jobs:
            rows.append(_work(job))
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    frame = pd.DataFrame.from_records(rows, columns=COLUMNS)
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
