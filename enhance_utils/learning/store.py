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
* **Validated.** :func:`validate` checks every file of a run folder; a folder that fails is
  reported by path and reason (:class:`StoreError` for readers, retrained by ``train``), never
  counted.
* **One writer per run.** :class:`Claim` is an exclusive claim file beside the run folder
  (created whole by a hard link, which fails when the name exists, also on NFS); a second
  trainer skips claimed runs.
  A claim whose process is dead (same host) or whose heartbeat is older than
  :data:`STALE_SECONDS` (any host) is stale and is taken over.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import targets as targets_module

#: the layout written by this version; older run folders are refused with a clear reason
LAYOUT = 2
RECORD = "run.json"
PREDICTIONS = "predictions.csv"
HISTORY = "history.csv"
REQUIRED_KEYS = ("layout", "profile", "arch", "target", "split", "seed", "auc", "selection",
                 "n_train", "n_test")
PREDICTION_COLUMNS = ("part", "lesion_id", "label", "score_last", "score_best")
#: a claim whose heartbeat is older than this is taken over (seconds); runs touch it per epoch
STALE_SECONDS = 2 * 3600
_TEMP = ".tmp-"
_LEGACY_PARTIAL = ".partial"


class StoreError(ValueError):
    """A run folder that cannot be used, or a store that holds nothing to use."""


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
    try:
        targets_module.parse(record["target"])
    except ValueError as err:
        raise StoreError(f"{folder / RECORD}: {err}") from None
    return record


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


def validate(folder) -> str | None:
    """``None`` for a complete, readable run folder, else the reason (naming the file)."""
    folder = Path(folder)
    try:
        record = _read_record(folder)
        predictions = _read_csv(folder / PREDICTIONS, PREDICTION_COLUMNS)
        _read_csv(folder / HISTORY)
    except StoreError as err:
        return str(err)
    n_test = int((predictions.part == "test").sum())
    if n_test != record["n_test"]:
        return f"{folder / PREDICTIONS}: {n_test} test rows, {RECORD} says {record['n_test']}"
    return None


def read_record(folder) -> dict:
    """The ``run.json`` of a valid run folder; :class:`StoreError` naming the file otherwise."""
    reason = validate(folder)
    if reason:
        raise StoreError(reason)
    return json.loads((Path(folder) / RECORD).read_text())


def scan(root, profile: str) -> tuple[list[tuple[Path, dict]], list[tuple[Path, str]]]:
    """Valid runs ``(folder, record)`` and invalid folders ``(folder, reason)`` of a profile."""
    good, bad = [], []
    for folder in run_folders(root, profile):
        reason = validate(folder)
        if reason:
            bad.append((folder, reason))
        else:
            good.append((folder, json.loads((folder / RECORD).read_text())))
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
    ``run.json`` from ``record``, in a private temporary folder renamed to ``final``.

    A previous folder at ``final`` (one that failed :func:`validate`) is replaced.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}{_TEMP}{_owner()}-{uuid.uuid4().hex[:8]}")
    temp.mkdir()
    try:
        for name, write in files.items():
            write(temp / name)
        (temp / RECORD).write_text(json.dumps(dict(record, layout=LAYOUT), indent=1))
        if final.exists():
            discard(final)
        os.rename(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return final


def discard(folder) -> None:
    """Remove a run folder that failed validation (renamed first, so no reader sees half)."""
    folder = Path(folder)
    trash = folder.with_name(f".{folder.name}{_TEMP}discard-{uuid.uuid4().hex[:8]}")
    os.rename(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


def clean_temporaries(root, profile: str) -> list[Path]:
    """Remove temporary folders left by writers that are gone; returns what was removed.

    A temporary folder belongs to ``<host>-<pid>``: it is left alone while that process is
    alive on this host, and on another host until it is :data:`STALE_SECONDS` old.
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
    return time.time() - path.stat().st_mtime > STALE_SECONDS


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- claims
#: a breaker's lock older than this (seconds) belongs to a process that died while breaking
_BREAK_SECONDS = 60


@dataclass
class Claim:
    """An exclusive claim on one run: ``<split>.claim`` beside the run folder.

    ``Claim.take(folder)`` returns a claim, or ``None`` when another live process holds one.
    Use it as a context manager; :meth:`heartbeat` keeps it fresh during long runs.

    ``token`` names the driver that asked for the run (:mod:`enhance_utils.learning.executors`): a
    claim holding the same token is that driver's earlier attempt at the same run, which the
    engine retried because its process or node died, and is taken over at once (a claim of a
    dead process on another host would otherwise wait :data:`STALE_SECONDS`).

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

    @classmethod
    def take(cls, folder, token: str | None = None) -> "Claim | None":
        path = Path(folder).with_name(Path(folder).name + ".claim")
        path.parent.mkdir(parents=True, exist_ok=True)
        content = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "token": token,
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

    def heartbeat(self) -> None:
        os.utime(self.path)

    def release(self) -> None:
        try:
            if self.path.read_bytes() == self.content:
                self.path.unlink()
        except FileNotFoundError:
            pass  # broken as stale, and released by its taker

    def __enter__(self) -> "Claim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


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
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        if holder["pid"] == os.getpid():
            return False
        return not _alive(holder["pid"])
    try:
        return time.time() - path.stat().st_mtime > STALE_SECONDS
    except FileNotFoundError:
        return True
