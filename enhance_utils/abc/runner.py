"""Automated ABC scores from files: one row per lesion and feature, cached, on a pool.

* every requested lesion gets exactly one row per feature (:data:`~.cache.COLUMNS`:
  ``lesion_id, feature, score, raw, status, reason``), never an exception: ``status`` is
  ``ok`` (scored; ``reason`` may carry notes on the input, e.g. a resized or 24-bit mask),
  ``skipped`` (the algorithm cannot score this lesion, e.g. the published asymmetry on a
  mask whose background is split) or ``error`` (unusable input, see
  :mod:`enhance_utils.abc.inputs`);
* results are cached per lesion and feature (:mod:`enhance_utils.abc.cache`);
  ``cache=False`` recomputes and replaces;
* :func:`compute` runs a list of lesions on several processes with a progress bar; the ids
  are checked first (:func:`checked_ids`), before any path is built from them;
* :func:`to_csv` and :func:`read_ids` are the files of ``enhance abc``.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import annotations, datasets
from . import cache as row_cache
from . import fast, reference
from .core import DEFAULTS, FEATURE_NAMES, FEATURES, MODES, Skip
from .inputs import (InputError, check_mask_size, image_size, mask_notes, read_image, read_lesion,
                     read_mask, resize_mask)
from .lesions import image_path, input_paths, lesion_ids

IMPLEMENTATIONS = {"fast": fast, "reference": reference}
COLUMNS = row_cache.COLUMNS


def _function(feature: str, mode: str, impl: str):
    if feature not in FEATURES:
        raise ValueError(f"feature must be one of {FEATURES}, not {feature!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"impl must be one of {tuple(IMPLEMENTATIONS)}, not {impl!r}")
    return getattr(IMPLEMENTATIONS[impl], f"{FEATURE_NAMES[feature]}_{mode}")


def _row(feature: str, status: str, reasons: list[str], result=None) -> dict:
    """A row without ``lesion_id``; ``score`` is None unless the lesion was scored."""
    score, raw = (float(result.score), result.raw) if result is not None else (None, {})
    return {"feature": feature, "score": score, "raw": raw, "status": status,
            "reason": "; ".join(reasons)}


def _call(func, feature: str, mode: str, gray, prepared, image, params: dict):
    """One algorithm on one lesion, with the arguments its feature and mode take."""
    if feature == "C" and image is None:
        raise InputError("colour needs the dermoscopic image")
    if mode == "published":
        if feature == "C":
            return func(image, gray, **params)
        return func(prepared if prepared is not None else gray, **params)
    kwargs = {k: v for k, v in params.items() if k != "mask_level"}
    lesion = gray > 127
    return func(image, lesion, **kwargs) if feature == "C" else func(lesion, **kwargs)


def score_arrays(feature: str, mode: str, gray: np.ndarray, image: np.ndarray | None = None,
                 impl: str = "fast", params: dict | None = None,
                 prepared: fast.Prepared | None = None) -> dict:
    """Score one lesion given as arrays; returns a row without ``lesion_id``.

    ``prepared`` is a :class:`~enhance_utils.abc.fast.Prepared` of ``gray`` shared between
    the features of one mask, so that the input checks and the fast A and B find the lesion,
    label its regions and take its moments once; the outputs are the same without it.
    """
    params = {**DEFAULTS[feature], **(params or {})}
    func = _function(feature, mode, impl)
    notes = []
    try:
        if image is not None:
            gray, resized = resize_mask(gray, image.shape)
            notes += resized
        if prepared is None or prepared.gray is not gray:
            prepared = fast.Prepared(gray)
        notes += mask_notes(prepared)
        result = _call(func, feature, mode, gray, prepared if impl == "fast" else None,
                       image, params)
    except InputError as err:
        return _row(feature, "error", [str(err)] + notes)
    except Skip as err:
        return _row(feature, "skipped", [str(err)] + notes)
    except Exception as err:  # noqa: BLE001 - one bad lesion must not stop a run
        return _row(feature, "error", [f"{type(err).__name__}: {err}"] + notes)
    return _row(feature, "ok", result.notes + notes, result)


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


def _score_files(feature, mode, impl, params, paths, size, loaded) -> dict:
    """One feature of one lesion from its files (each read once per lesion, in ``loaded``)."""
    try:
        mask = _load(loaded, "mask", read_mask, paths["mask"])
        image = _load(loaded, "image", read_image, paths["image"]) if "image" in paths \
            else None
        if image is None:
            check_mask_size(mask.gray.shape, size)
    except InputError as err:
        return _row(feature, "error", [str(err)])
    if "prepared" not in loaded:
        loaded["prepared"] = mask.prepared()
    row = score_arrays(feature, mode, mask.gray, image, impl, params,
                       prepared=loaded["prepared"])
    row["reason"] = "; ".join([r for r in [row["reason"]] + mask.notes if r])
    return row


def score_lesion_many(dataset: str, lesion_id: str, features, mode: str = "published",
                      impl: str = "fast", params: dict | None = None, root=None,
                      cache: bool = True) -> list[dict]:
    """Several features of one lesion, reading each file once; one row per feature.

    ``params`` maps a feature to its parameter overrides. Each feature is cached on its
    own, under the same key as a one-feature run, so that runs of "AB", "A" and "B" share
    their results; only the features missing from the cache (or whose entry is invalid, see
    :func:`enhance_utils.abc.cache.problem`) are computed. With ``cache=False`` every
    feature is computed and its entry replaced (an error removes it).
    """
    features = _features(features)
    params = params or {}
    # A and B check the mask against the image's size, read from its header
    try:
        size = image_size(image_path(dataset, lesion_id, root)) if set(features) - {"C"} else None
    except InputError as err:  # a special file, too many pixels: error rows, nothing cached
        return [{"lesion_id": lesion_id, **_row(f, "error", [str(err)])} for f in features]
    rows: dict[str, dict] = {}
    loaded: dict = {}
    for feature in features:
        p = {**DEFAULTS[feature], **(params.get(feature) or {})}
        paths = input_paths(dataset, lesion_id, feature, root)
        checked = size if feature != "C" else None  # C reads the image itself
        file = row_cache.entry(dataset, lesion_id, paths, feature, mode, impl, [p, checked])
        cached = row_cache.read(file, lesion_id, feature) if cache else None
        if cached is None:
            cached = {"lesion_id": lesion_id,
                      **_score_files(feature, mode, impl, p, paths, size, loaded)}
            row_cache.write(file, cached)
        rows[feature] = cached
    return [rows[feature] for feature in features]


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
        ids = [annotations.strip_suffix(str(i)) for i in ids]
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


def _run_jobs(jobs: list, workers: int | None, desc: str | None) -> list:
    """``_work`` of every job, in order, on ``workers`` processes, with a progress bar
    unless ``desc`` is None."""
    bar = None
    if desc is not None:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), desc=desc, unit="lesion")
    results = []
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
    return results


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
    impl : str
        ``"fast"`` or ``"reference"`` (:data:`IMPLEMENTATIONS`): the same outputs.
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
    desc = f"{dataset} {''.join(features)} {mode}" if progress else None
    results = _run_jobs(jobs, workers, desc)
    records = [rows[k] for k in range(len(features)) for rows in results]
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    return frame


def compute_runs(ids: dict[str, list[str]], workers: int | None = 2,
                 progress: bool = False) -> dict[tuple[str, str, str], pd.DataFrame]:
    """Every feature in both modes for the lesions ``ids[dataset]`` of each dataset, keyed
    ``(dataset, feature, mode)`` (chapter 03's runs)."""
    return {(dataset, feature, mode): compute(dataset, feature, mode, ids=lesions,
                                              workers=workers, progress=progress)
            for dataset, lesions in ids.items() for feature in FEATURES for mode in MODES}


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
    """Lesion ids from a text or CSV file (first column; header ``lesion_id``/``ID`` skipped);
    a file that is not UTF-8 text is a ValueError naming it."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a text file of lesion ids (byte {err.start} is not "
                         f"UTF-8: {err.reason})") from None
    ids = []
    for line in text.splitlines():
        cell = line.split(",")[0].strip()
        if cell and cell.lower() not in ("lesion_id", "id", "image_id"):
            ids.append(annotations.strip_suffix(cell))
    return ids


def _seconds(func, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - start, result


def speed_table(examples, root=None) -> pd.DataFrame:
    """Seconds of the reference and the fast ``published`` algorithms on example lesions
    (``(dataset, lesion_id)`` pairs), and whether they gave the same result."""
    rows = []
    for dataset, lesion_id in examples:
        gray, image, small = read_lesion(dataset, lesion_id, root)
        for feature, args in (("A", (gray,)), ("B", (gray,)), ("C", (image, small))):
            name = f"{FEATURE_NAMES[feature]}_published"
            ref_s, ref_result = _seconds(getattr(reference, name), *args)
            fast_s, fast_result = _seconds(getattr(fast, name), *args)
            rows.append({"lesion": lesion_id, "feature": feature,
                         "mask": f"{gray.shape[1]}x{gray.shape[0]}",
                         "reference s": round(ref_s, 3), "fast s": round(fast_s, 3),
                         "speed-up": round(ref_s / fast_s, 1),
                         "same result": ref_result == fast_result})
    return pd.DataFrame(rows)
