"""One cached row per lesion, feature and settings, in :func:`enhance_utils.data.paths.cache_dir`.

The key is made of the dataset, the lesion id, the input files' SHA-1, the feature, the
mode, the implementation, the parameters and :data:`VERSION`. A cached row is served only
when it passes :func:`problem` (otherwise it is recomputed and replaced); error rows are
never cached; an entry is written atomically, so a killed run leaves no half file.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..data import paths as config
from .core import REFERENCE_COLOURS

#: bump when an algorithm changes so that cached results are recomputed
VERSION = "3"
#: the keys of a row (and the columns of a run's frame)
COLUMNS = ["lesion_id", "feature", "score", "raw", "status", "reason"]
#: (lowest, highest) score of an ``ok`` row per feature (None: no bound)
SCORE_RANGES = {"A": (0, 2), "B": (0, None), "C": (0, len(REFERENCE_COLOURS))}


def folder() -> Path:
    """Where the rows are cached."""
    return config.cache_dir() / "automated_abc"


def _checksum(paths: dict[str, Path]) -> str:
    digest = hashlib.sha1()
    for key in sorted(paths):
        digest.update(key.encode())
        path = Path(paths[key])
        try:  # only a regular file is read: a FIFO or a device could block
            digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


def entry(dataset, lesion_id, paths, feature, mode, impl, params) -> Path:
    """The file of one cached row: the lesion, its input files' content, the settings, the
    version. The lesion id is part of the key: two lesions with byte-identical masks are
    two entries; the implementations give the same outputs but are cached apart."""
    text = json.dumps([dataset, lesion_id, _checksum(paths), feature, mode, impl, params,
                       VERSION], sort_keys=True, default=str)
    key = hashlib.sha1(text.encode()).hexdigest()
    where = folder() / key[:2]
    where.mkdir(parents=True, exist_ok=True)
    return where / f"{key}.json"


def problem(row, lesion_id: str, feature: str) -> str | None:
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


def read(file: Path, lesion_id: str, feature: str) -> dict | None:
    """The cached row in ``file`` if it is there and valid for this lesion, else None."""
    try:
        row = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    return row if problem(row, lesion_id, feature) is None else None


def write(file: Path, row: dict) -> None:
    """Store ``row`` (an error row removes the entry), atomically: a kill or a full disk
    leaves no half file (:func:`enhance_utils.data.paths.replacing`)."""
    if row["status"] == "error":
        file.unlink(missing_ok=True)
        return
    with config.replacing(file) as partial:
        partial.write_text(json.dumps(row))
