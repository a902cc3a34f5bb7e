"""The experiment store: where runs live, how they are written, read, claimed and checked.

One *run* (architecture × target × split) is one folder::

    <results>/<profile>/<arch>/<target folder>/<split>/
        predictions.csv    validation and test lesions: diagnosis scores of the last and of
                           the best epoch, and each annotation head's predictions and targets
        history.csv        losses and AUCs per epoch, training and validation
        run.json           the record; written last: its presence marks a finished run
        model.weights.h5   only in profiles that keep weights

Safety rules, each tested in ``tests/test_faults_store.py``:

* **Atomic.** A run is written into a hidden temporary folder (``.<split>.tmp-<host>-<pid>-…``,
  unique per writer) with ``run.json`` last, then renamed into place. Readers look only at
  folders whose name has no dot, so a temporary or legacy ``.partial`` folder is never read.
* **Validated.** :func:`check` checks every file of a run folder; a folder that fails is
  reported by path and reason (:class:`StoreError` for readers, retrained by ``train``), never
  counted. ``train``, ``train --list-runs`` and ``report`` use the same checks.
* **A run is what its folder says, and says it once.** ``run.json``'s profile, arch, target
  and split are those of its path (so no two folders hold one run, and a copy under another
  name, e.g. ``crowd-A/old``, is refused); its AUCs are those that ``predictions.csv``'s test
  scores give; its numbers are finite; ``predictions.csv`` holds each lesion once per part,
  0/1 labels and scores in [0, 1]; the sha256 of ``predictions.csv`` and ``history.csv`` is
  recorded and checked. The labels are the ground truth's where the caller has it (training:
  :func:`enhance_utils.learning.training.plan`), else one lesion has one label across the
  store (:func:`label_conflicts`); files beside the run folders are refused.
* **One writer per run.** :class:`Claim` is an exclusive claim file beside the run folder
  (created whole by a hard link, which fails when the name exists, also on NFS); a second
  trainer skips claimed runs.
  A claim whose process is gone (same host: dead, or its PID reused by a process started
  later) or whose heartbeat is older than :data:`CLAIM_STALE_SECONDS` (any host; its holder
  beats every :data:`HEARTBEAT_SECONDS`) is stale and is taken over.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from sklearn.metrics import roc_auc_score

from ..data import paths
from . import targets as targets_module

#: the layout written by this version; older run folders are refused with a clear reason
LAYOUT = 2
RECORD = "run.json"
PREDICTIONS = "predictions.csv"
HISTORY = "history.csv"
REQUIRED_KEYS = ("layout", "profile", "arch", "target", "split", "seed", "auc", "auc_last",
                 "auc_best", "selection", "n_train", "n_test")
#: numeric fields of ``run.json`` (→ whether an integer): finite, real (``null`` only where
#: optional, i.e. not in :data:`REQUIRED_KEYS`)
NUMBER_KEYS = {"seed": True, "init_seed": True, "auc": False, "auc_last": False,
               "auc_best": False, "best_epoch": True, "val_auc_best": False, "n_train": True,
               "n_validation": True, "n_test": True, "train_seconds": False}
SCORE_COLUMNS = ("score_last", "score_best")
PREDICTION_COLUMNS = ("part", "lesion_id", "label", *SCORE_COLUMNS)
#: the parts a run predicts, in ``predictions.csv``'s column ``part``
PARTS = ("validation", "test")
#: the epochs whose scores a run keeps, and that ``selection`` chooses from
SELECTIONS = ("last", "best")
#: how far a recorded AUC may be from the one recomputed from ``predictions.csv``
AUC_TOLERANCE = 1e-9
#: the ``run.json`` field holding the sha256 of the files it names (:func:`write_run`)
DIGESTS = "sha256"
#: the files whose sha256 :func:`write_run` records
DIGESTED = (PREDICTIONS, HISTORY)
#: seconds between two heartbeats of a held claim (:meth:`Claim.keep_alive`: a thread of the
#: holder touches the claim file, whatever its run is doing; runs also touch it per epoch)
HEARTBEAT_SECONDS = 30
#: a claim whose heartbeat is older than this (seconds) is stale on any host: ten missed
#: heartbeats, five minutes, well above a clock skew between hosts or a slow shared file system
CLAIM_STALE_SECONDS = 10 * HEARTBEAT_SECONDS
#: a temporary folder of another host untouched this long (seconds) is removed (its writer
#: holds the run's claim while it writes, and writes a run in minutes at most)
TEMP_STALE_SECONDS = 2 * 3600
#: process start times (seconds since the epoch) that differ by less are the same process
_START_TOLERANCE = 0.05
_TEMP = ".tmp-"
_LEGACY_PARTIAL = ".partial"


class StoreError(ValueError):
    """A run folder that cannot be used, or a store that holds nothing to use."""


def store_root(results=None) -> Path:
    """The experiment store: ``results`` or :func:`enhance_utils.data.paths.results_dir`;
    never inside the read-only data folder."""
    if results is None:
        return paths.results_dir()
    return paths.refuse_inside_data(Path(results).expanduser().resolve(), "results folder")


def run_dir(root, profile: str, arch: str, target, split: str) -> Path:
    """The folder of one run."""
    return Path(root) / profile / arch / targets_module.parse(target).folder / split


def _is_run_name(name: str) -> bool:
    return bool(name) and "." not in name


def run_folders(root, profile: str) -> list[Path]:
    """Every candidate run folder of a profile (temporary and claim entries excluded)."""
    base = Path(root) / profile
    return sorted(p for p in base.glob("*/*/*") if p.is_dir()
                  and all(_is_run_name(q.name) for q in (p, p.parent, p.parent.parent)))


# --------------------------------------------------------------------------- validation
def _read_record(folder: Path) -> dict:
    try:
        record = json.loads((folder / RECORD).read_text())
    except FileNotFoundError:
        raise StoreError(f"{folder}: no {RECORD} (an unfinished run)") from None
    except (OSError, ValueError) as err:
        raise StoreError(f"{folder / RECORD}: not valid JSON ({err})") from None
    if not isinstance(record, dict):
        raise StoreError(f"{folder / RECORD}: not a JSON object")
    if record.get("layout") != LAYOUT:
        raise StoreError(f"{folder}: written in store layout {record.get('layout', 1)}, this "
                         f"version reads layout {LAYOUT}; retrain it (`enhance train` redoes "
                         f"it) or delete the folder")
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise StoreError(f"{folder / RECORD}: missing {', '.join(missing)}")
    _check_numbers(folder / RECORD, record)
    _check_place(folder, record)
    return record


def _is_number(value, integer: bool = False) -> bool:
    """A finite real number (an integer with ``integer``); JSON's true/false are not."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and (not integer or float(value).is_integer())


def _check_numbers(path: Path, record: dict) -> None:
    """The numeric fields of a record are finite real numbers (``null`` allowed where
    optional), and ``selection`` names one of :data:`SELECTIONS`."""
    for key, integer in NUMBER_KEYS.items():
        value = record.get(key)
        if key in REQUIRED_KEYS or value is not None:
            if not _is_number(value, integer):
                kind = "an integer" if integer else "a finite number"
                raise StoreError(f"{path}: {key} is {value!r}, not {kind}")
    if record["selection"] not in SELECTIONS:
        raise StoreError(f"{path}: selection is {record['selection']!r}, not one of "
                         f"{', '.join(SELECTIONS)}")


def _check_place(folder: Path, record: dict) -> None:
    """A record names the run its folder holds: ``<profile>/<arch>/<target folder>/<split>``
    (the target written as :func:`targets.parse` writes it)."""
    try:
        target = targets_module.parse(record["target"])
    except ValueError as err:
        raise StoreError(f"{folder / RECORD}: {err}") from None
    if target.spec != record["target"]:
        raise StoreError(f"{folder / RECORD}: target {record['target']!r} is written "
                         f"{target.spec!r}")
    found = {"profile": record["profile"], "arch": record["arch"], "target": target.folder,
             "split": record["split"]}
    expected = {"profile": folder.parents[2].name, "arch": folder.parents[1].name,
                "target": folder.parent.name, "split": folder.name}
    wrong = [f"{key} {record[key]!r}" for key in found if found[key] != expected[key]]
    if wrong:
        raise StoreError(f"{folder / RECORD}: says {', '.join(wrong)}, but its folder is "
                         f"{'/'.join(expected.values())}; a run is stored only under its own "
                         f"profile/arch/target/split")
    if record.get("model", target.model) != target.model:
        raise StoreError(f"{folder / RECORD}: model {record['model']!r} is not the model of "
                         f"target {target.spec} ({target.model})")


def _read_csv(path: Path, columns=()) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise StoreError(f"{path}: missing") from None
    except (OSError, ValueError) as err:
        raise StoreError(f"{path}: unreadable ({type(err).__name__}: {err})") from None
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise StoreError(f"{path}: missing column(s) {', '.join(absent)}")
    return frame


def _check_predictions(path: Path, frame: pd.DataFrame, record: dict) -> None:
    """Parts, unique lesion ids per part, 0/1 labels, finite scores in [0, 1], and as many
    rows per part as ``run.json`` says."""
    parts = sorted(set(frame.part) - set(PARTS), key=str)
    if parts:
        raise StoreError(f"{path}: unknown part(s) {parts}; a run predicts {', '.join(PARTS)}")
    twice = frame.lesion_id[frame.duplicated(["part", "lesion_id"])]
    if len(twice):
        raise StoreError(f"{path}: lesion {twice.iloc[0]} appears twice in one part "
                         f"({len(twice)} repeated row(s))")
    if not frame.label.isin([0, 1]).all():
        bad = frame.label[~frame.label.isin([0, 1])].iloc[0]
        raise StoreError(f"{path}: label {bad}; labels are 0 or 1")
    for column in SCORE_COLUMNS:
        scores = pd.to_numeric(frame[column], errors="coerce")
        bad = ~(scores.between(0, 1))  # NaN and text fail too
        if bad.any():
            row = frame[bad].iloc[0]
            raise StoreError(f"{path}: {column} of {row.part} lesion {row.lesion_id} is "
                             f"{row[column]}, not a score in [0, 1]")
    for part, key in (("test", "n_test"), ("validation", "n_validation")):
        rows = int((frame.part == part).sum())
        if key in record and rows != record[key]:
            raise StoreError(f"{path}: {rows} {part} rows, {RECORD} says {record[key]}")


def _check_aucs(path: Path, frame: pd.DataFrame, record: dict) -> None:
    """``auc_last`` and ``auc_best`` are the test AUCs of ``predictions.csv``'s scores, and
    ``auc`` the one of the selected epoch (within :data:`AUC_TOLERANCE`)."""
    test = frame[frame.part == "test"]
    if test.label.nunique() != 2:
        raise StoreError(f"{path}: the test rows hold one class only; no AUC")
    for kind in SELECTIONS:
        auc = float(roc_auc_score(test.label.to_numpy(int), test[f"score_{kind}"].to_numpy(float)))
        for key in {f"auc_{kind}", "auc"} if record["selection"] == kind else {f"auc_{kind}"}:
            if abs(record[key] - auc) > AUC_TOLERANCE:
                raise StoreError(f"{path.with_name(RECORD)}: {key} is {record[key]!r}, but the "
                                 f"test scores ({path.name}, score_{kind}) give {auc!r}")


def _check_truth(path: Path, frame: pd.DataFrame, split=None, labels=None) -> None:
    """The lesions of each part are the split's, and each label is the ground truth's
    (``labels``: a Series lesion_id → label); either may be None (not checked)."""
    if split is not None:
        for part in PARTS:
            found, wanted = set(frame.lesion_id[frame.part == part]), set(getattr(split, part))
            if found != wanted:
                odd = sorted(found ^ wanted)[:3]
                raise StoreError(f"{path}: its {part} lesions are not those of split "
                                 f"{split.name} ({len(found ^ wanted)} differ, e.g. {odd})")
    if labels is not None:
        truth = pd.Series(labels).reindex(frame.lesion_id).to_numpy()
        wrong = frame.label.to_numpy() != truth
        if wrong.any():
            row = frame[wrong].iloc[0]
            raise StoreError(f"{path}: lesion {row.lesion_id} is labelled {row.label}, the "
                             f"ground truth says {truth[wrong][0]}")


def _check_digests(folder: Path, record: dict) -> None:
    """Files whose sha256 ``run.json`` records (:func:`write_run`; older runs record none)
    hold what was written."""
    digests = record.get(DIGESTS, {})
    if not isinstance(digests, dict):
        raise StoreError(f"{folder / RECORD}: {DIGESTS} is not an object")
    for name, digest in digests.items():
        try:
            found = _sha256(folder / name)
        except OSError:
            raise StoreError(f"{folder / name}: missing") from None
        if found != digest:
            raise StoreError(f"{folder / name}: its content is not what was written (sha256 "
                             f"{found[:12]}…, {RECORD} records {str(digest)[:12]}…)")


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check(folder, split=None, labels=None) -> tuple[dict, pd.DataFrame]:
    """The record and predictions of a valid run folder; :class:`StoreError` naming the
    folder and file otherwise.

    Checked: ``run.json`` (layout, fields, finite numbers, the run its path names),
    ``predictions.csv`` (see :func:`validate`), the AUCs recomputed from it, ``history.csv``
    readable, and the recorded sha256 of each file. ``split`` (a
    :class:`~enhance_utils.learning.splits.Split`) and ``labels`` (lesion_id → label, the
    ground truth) are checked where the caller has them.
    """
    folder = Path(folder)
    record = _read_record(folder)
    predictions = _read_csv(folder / PREDICTIONS, PREDICTION_COLUMNS)
    _check_predictions(folder / PREDICTIONS, predictions, record)
    _check_aucs(folder / PREDICTIONS, predictions, record)
    _read_csv(folder / HISTORY)
    _check_digests(folder, record)
    _check_truth(folder / PREDICTIONS, predictions, split, labels)
    return record, predictions


def validate(folder, split=None, labels=None) -> str | None:
    """``None`` for a complete, valid run folder, else the reason (naming the folder and the
    file): :func:`check`'s checks, with ``split`` and ``labels`` where given."""
    try:
        check(folder, split, labels)
    except StoreError as err:
        return str(err)
    return None


def read_record(folder) -> dict:
    """The ``run.json`` of a valid run folder; :class:`StoreError` naming the file otherwise."""
    return check(folder)[0]


def label_conflicts(runs: dict) -> dict[Path, str]:
    """Runs whose label of a lesion disagrees with the other runs of the store.

    ``runs`` maps each folder to its predictions. A lesion has the label most runs give it;
    a run giving another is refused (every run holding it, where no label has a majority).
    The readers of a store have no ground truth at hand: one lesion, one label is what they
    can check.
    """
    if not runs:
        return {}
    rows = pd.DataFrame({  # a lesion is in one part of a run (ids are unique per part)
        "lesion_id": np.concatenate([frame.lesion_id.to_numpy() for frame in runs.values()]),
        "label": np.concatenate([frame.label.to_numpy() for frame in runs.values()]),
        "folder": np.repeat(list(runs), [len(frame) for frame in runs.values()])})
    kinds = rows.groupby("lesion_id").label.nunique()
    conflicts = {}
    for lesion, held in rows[rows.lesion_id.isin(kinds[kinds > 1].index)].groupby("lesion_id"):
        counts = held.label.value_counts()
        major = counts.index[0] if counts.iloc[0] > counts.iloc[1] else None
        for folder, label in held.loc[held.label != major, ["folder", "label"]].itertuples(
                index=False):
            conflicts.setdefault(folder, f"{folder / PREDICTIONS}: lesion {lesion} is labelled "
                                         f"{label}, other runs of the store label it "
                                         f"{counts.drop(label).index[0]}")
    return conflicts


def stray_entries(root, profile: str) -> list[Path]:
    """Files where the store holds only folders (a profile's arch, target and run folders;
    names with a dot, temporary and claim files, are not entries of the store)."""
    base = Path(root) / profile
    return sorted(p for pattern in ("*", "*/*", "*/*/*") for p in base.glob(pattern)
                  if not p.is_dir() and all(_is_run_name(q.name) for q in
                                            (p, *p.relative_to(base).parents) if q.name))


def scan(root, profile: str) -> tuple[list[tuple[Path, dict]], list[tuple[Path, str]]]:
    """Valid runs ``(folder, record)`` and refused entries ``(path, reason)`` of a profile:
    folders that fail :func:`check`, runs whose labels disagree with the store's
    (:func:`label_conflicts`) and stray files (:func:`stray_entries`)."""
    records, predictions, bad = {}, {}, []
    for folder in run_folders(root, profile):
        try:
            records[folder], predictions[folder] = check(folder)
        except StoreError as err:
            bad.append((folder, str(err)))
    conflicts = label_conflicts(predictions)
    bad += sorted(conflicts.items())
    bad += [(path, f"{path}: a file where {Path(root) / profile} holds only run folders "
                   f"(<arch>/<target>/<split>)") for path in stray_entries(root, profile)]
    good = [(folder, record) for folder, record in records.items() if folder not in conflicts]
    return good, bad


def finished_runs(root, profile: str, strict: bool = True) -> list[tuple[Path, dict]]:
    """Valid runs of a profile; with ``strict``, any invalid folder is a :class:`StoreError`
    that lists each by path and reason."""
    good, bad = scan(root, profile)
    if bad and strict:
        lines = "\n".join(f"  {reason}" for _, reason in bad)
        raise StoreError(f"{len(bad)} run folder(s) of {Path(root) / profile} cannot be used:\n"
                         f"{lines}\nrerun `enhance train` for that profile to redo them, or "
                         f"delete them")
    return good


def read_predictions(folder) -> pd.DataFrame:
    return _read_csv(Path(folder) / PREDICTIONS, PREDICTION_COLUMNS)


def read_history(folder) -> pd.DataFrame:
    return _read_csv(Path(folder) / HISTORY)


# --------------------------------------------------------------------------- writing
def _owner() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def write_run(final, files: dict, record: dict) -> Path:
    """Write a run atomically: ``files`` (name → function writing that path), then
    ``run.json`` from ``record`` with the sha256 of the files of :data:`DIGESTED`, in a
    private temporary folder renamed to ``final``. A record holding NaN or an infinity is a
    ValueError (JSON has no such numbers, and :func:`check` would refuse the run).

    A previous folder at ``final`` (one that failed :func:`validate`) is replaced. A file that
    cannot be written (a full disk: h5py raises RuntimeError, NumPy and pandas OSError) is a
    :class:`StoreError` naming the run and the file; nothing of the run is left.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}{_TEMP}{_owner()}-{uuid.uuid4().hex[:8]}")
    temp.mkdir()
    try:
        for name, write in files.items():
            _write_one(write, temp / name, final)
        digests = {name: _sha256(temp / name) for name in DIGESTED if name in files}
        (temp / RECORD).write_text(json.dumps(dict(record, layout=LAYOUT, **{DIGESTS: digests}),
                                              indent=1, allow_nan=False))
        if final.exists():
            discard(final)
        os.rename(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return final


def _write_one(write, path: Path, final: Path) -> None:
    try:
        write(path)
    except (OSError, RuntimeError) as err:
        raise StoreError(f"could not write {path.name} of the run {final} ({err}); nothing of "
                         f"the run was kept: free space or choose another --results, then "
                         f"train again") from err


def discard(folder) -> None:
    """Remove a run folder that failed validation (renamed first, so no reader sees half)."""
    folder = Path(folder)
    trash = folder.with_name(f".{folder.name}{_TEMP}discard-{uuid.uuid4().hex[:8]}")
    os.rename(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


def clean_temporaries(root, profile: str) -> list[Path]:
    """Remove temporary folders left by writers that are gone; returns what was removed.

    A temporary folder belongs to ``<host>-<pid>``: it is left alone while that process is
    alive on this host, and on another host until it is :data:`TEMP_STALE_SECONDS` old.
    """
    removed = []
    for temp in sorted((Path(root) / profile).glob("*/*/.*")):
        if not temp.is_dir():
            continue
        owner = temp.name.split(_TEMP, 1)[1] if _TEMP in temp.name else None
        if owner is None or _owner_gone(owner.rsplit("-", 1)[0], temp):
            shutil.rmtree(temp, ignore_errors=True)
            removed.append(temp)
    for legacy in sorted((Path(root) / profile).glob(f"*/*/*{_LEGACY_PARTIAL}")):
        shutil.rmtree(legacy, ignore_errors=True)
        removed.append(legacy)
    return removed


def _owner_gone(owner: str, path: Path) -> bool:
    host, _, pid = owner.rpartition("-")
    if owner.startswith("discard"):
        return True
    if host == socket.gethostname() and pid.isdigit():
        return not _alive(int(pid))
    return time.time() - path.stat().st_mtime > TEMP_STALE_SECONDS


def started(pid: int) -> float | None:
    """When process ``pid`` of this host started (seconds since the epoch, as
    :func:`psutil.Process.create_time` gives it); ``None`` when no such process lives."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return math.nan  # alive, start time unknown


def _alive(pid: int, since: float | None = None) -> bool:
    """Process ``pid`` lives on this host, and is the one that started at ``since`` (when
    given): a PID reused by a later process is not."""
    start = started(pid)
    if start is None:
        return False
    return since is None or math.isnan(start) or abs(start - since) < _START_TOLERANCE


# --------------------------------------------------------------------------- claims
#: a breaker's lock older than this (seconds) belongs to a process that died while breaking
_BREAK_SECONDS = 60


@dataclass
class Claim:
    """An exclusive claim on one run: ``<split>.claim`` beside the run folder.

    ``Claim.take(folder)`` returns a claim, or ``None`` when another live process holds one.
    Use it as a context manager; :meth:`keep_alive` keeps it fresh while it is held.

    A claim records its holder's host, PID and the process's start time. It is stale, and
    taken over, when its heartbeat (the file's modification time) is older than
    :data:`CLAIM_STALE_SECONDS`, on any host; on the holder's host also as soon as that process
    is gone or its PID belongs to another process (one started at another time).

    ``token`` names the driver that asked for the run (:mod:`enhance_utils.learning.executors`): a
    claim holding the same token is that driver's earlier attempt at the same run, which the
    engine retried because its process or node died, and is taken over at once (a claim of a
    dead process on another host would otherwise wait :data:`CLAIM_STALE_SECONDS`).

    No two processes ever hold one claim (``tests/test_faults_store.py`` races several):

    * a claim file appears whole: its holder is written to a private file first, which is then
      hard-linked to the claim's name (a link, like ``O_EXCL``, fails when the name exists, and
      a reader never sees a claim half written);
    * a stale claim is removed only under ``<split>.claim.break``, an ``O_EXCL`` lock, after
      checking that the file still holds what was judged stale (every claim holds a unique
      ``id``; a second breaker would otherwise delete the claim the first one had just taken);
    * :meth:`release` removes the file only while it still holds this claim.
    """

    path: Path
    content: bytes = b""
    _beating: threading.Event | None = field(default=None, repr=False, compare=False)

    @staticmethod
    def path_of(folder) -> Path:
        """The claim file of the run folder ``folder``."""
        return Path(folder).with_name(Path(folder).name + ".claim")

    @classmethod
    def take(cls, folder, token: str | None = None) -> "Claim | None":
        path = cls.path_of(folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        content = json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                              "started": started(os.getpid()), "token": token,
                              "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
                              "id": uuid.uuid4().hex}).encode()
        for _ in range(3):
            if _link_claim(path, content):
                return cls(path, content)
            try:
                judged = path.read_bytes()
            except FileNotFoundError:
                continue  # released meanwhile: try again
            holder = _parse_holder(judged)
            if holder is not None and not _claim_stale(path, holder) and not (
                    token is not None and holder.get("token") == token):
                return None
            if not _break_claim(path, judged):
                return None  # another process is breaking it, and will take the run
        return None

    @staticmethod
    def holder(path) -> dict | None:
        """Who holds a claim file (``None`` for an empty or damaged one, taken as stale)."""
        try:
            return _parse_holder(Path(path).read_bytes())
        except OSError:
            return None

    @classmethod
    def describe(cls, folder) -> str:
        """Who holds the claim of the run folder ``folder``, in words."""
        holder = cls.holder(cls.path_of(folder))
        if holder is None:
            return "another trainer (the claim is gone or unreadable now)"
        return (f"{holder.get('host')} pid {holder.get('pid')} since {holder.get('since')} "
                f"({cls.path_of(folder)})")

    def heartbeat(self) -> None:
        """Touch the claim file, while it holds this claim."""
        try:
            if self.path.read_bytes() == self.content:
                os.utime(self.path)
        except FileNotFoundError:
            pass  # broken as stale: nothing of ours to touch

    def keep_alive(self, interval: float = HEARTBEAT_SECONDS) -> None:
        """Touch the claim every ``interval`` seconds from a daemon thread until
        :meth:`release`."""
        if self._beating is not None:
            return
        self._beating = threading.Event()
        threading.Thread(target=_beat, args=(self, self._beating, interval), daemon=True,
                         name=f"heartbeat of {self.path}").start()

    def release(self) -> None:
        if self._beating is not None:
            self._beating.set()
        try:
            if self.path.read_bytes() == self.content:
                self.path.unlink()
        except FileNotFoundError:
            pass  # broken as stale, and released by its taker

    def __enter__(self) -> "Claim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _beat(claim: Claim, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            claim.heartbeat()
        except OSError:
            pass  # a shared file system's hiccup: the next beat tries again


def _parse_holder(content: bytes) -> dict | None:
    try:
        holder = json.loads(content)
    except ValueError:
        return None
    return holder if isinstance(holder, dict) else None


def _link_claim(path: Path, content: bytes) -> bool:
    """Create the claim file whole (a hard link to a private file); ``False`` when a claim
    already exists."""
    private = path.with_name(f".{path.name}{_TEMP}{uuid.uuid4().hex}")
    private.write_bytes(content)
    try:
        os.link(private, path)
    except FileExistsError:
        return False
    finally:
        private.unlink()
    return True


def _break_claim(path: Path, judged: bytes) -> bool:
    """Remove the stale claim ``path`` if it still holds ``judged``, under the breaker's
    lock; ``False`` when another process holds that lock."""
    lock = path.with_name(path.name + ".break")
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            if time.time() - lock.stat().st_mtime > _BREAK_SECONDS:
                lock.unlink()  # its breaker died while breaking
        except FileNotFoundError:
            pass
        return False
    os.close(fd)
    try:
        if path.read_bytes() == judged:
            path.unlink()
    except FileNotFoundError:
        pass
    finally:
        lock.unlink()
    return True


def _claim_stale(path: Path, holder: dict) -> bool:
    """A claim's holder is gone (on this host: dead, or its PID reused) or its heartbeat is
    older than :data:`CLAIM_STALE_SECONDS` (any host)."""
    pid, since = holder.get("pid"), holder.get("started")
    if holder.get("host") == socket.gethostname() and isinstance(pid, int):
        if not _alive(pid, since if isinstance(since, (int, float)) else None):
            return True
    try:
        return time.time() - path.stat().st_mtime > CLAIM_STALE_SECONDS
    except FileNotFoundError:
        return True
