"""The experiment store and the training runner (chapters 06–08).

One *run* trains one model — architecture × target × split — and leaves a folder

    results/<profile>/<arch>/<target>/<split>/
        predictions.csv   lesion_id, label, score  (the test set)
        history.csv       loss and AUC per epoch
        run.json          AUC, seed, profile, settings, versions, weights_init, skipped lesions

The folder is written under a temporary name and renamed when complete, so a run is either
finished or absent: rerunning the grid skips finished runs, and a run interrupted half-way
leaves only a ``.partial`` folder that the next attempt clears and redoes.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import __version__, annotations, config, datasets, splits
from .profiles import get_profile

SOURCES = ("automated", "crowd", "student")
PARTIAL = ".partial"


@dataclass(frozen=True)
class RunSpec:
    profile: str
    arch: str
    target: str
    split: splits.Split

    @property
    def key(self) -> tuple[str, str, str]:
        return self.arch, target_dirname(self.target), self.split.name


def target_dirname(target: str) -> str:
    """``crowd:A`` → ``crowd-A``, ``random:crowd:A`` → ``random-crowd-A`` (folder names)."""
    return target.replace(":", "-")


RANDOM = "random"


def parse_target(target: str) -> tuple[str, str] | None:
    """``None`` for the baseline, else ``(source, feature)``; a clear error otherwise.

    ``random:SOURCE:FEATURE`` (the randomized control of chapter 8) parses to the same pair:
    it keeps that annotation's availability and replaces its values (:func:`is_random`).
    """
    if target == "baseline":
        return None
    parts = target.split(":")
    if parts[0] == RANDOM:
        parts = parts[1:]
    if len(parts) != 2 or parts[0] not in SOURCES or parts[1] not in annotations.FEATURES:
        raise ValueError(f"unknown target {target!r}: use 'baseline', SOURCE:FEATURE or "
                         f"random:SOURCE:FEATURE with SOURCE in {SOURCES} and FEATURE in "
                         f"{annotations.FEATURES}")
    return parts[0], parts[1]


def is_random(target: str) -> bool:
    """True for a randomized-annotation target (``random:crowd:A``)."""
    return target.startswith(RANDOM + ":")


def random_values(target: str, lesion_ids) -> np.ndarray:
    """Uniform [0, 1) values, one per lesion, fixed by the target name and the lesion id."""
    out = np.empty(len(lesion_ids))
    for i, lesion_id in enumerate(lesion_ids):
        seed = zlib.crc32(f"{target}|{lesion_id}".encode())
        out[i] = np.random.default_rng(seed).random()
    return out


def run_dir(root: Path, spec: RunSpec) -> Path:
    return Path(root) / spec.profile / Path(*spec.key)


def is_finished(root: Path, spec: RunSpec) -> bool:
    return (run_dir(root, spec) / "run.json").is_file()


# --------------------------------------------------------------------------- context
@dataclass
class Context:
    """What every run of a grid shares: lesions, labels, image paths, annotation targets."""

    lesions: pd.DataFrame  # lesion_id, label, path
    skipped: list[dict]  # lesions left out, with the reason
    scores: pd.DataFrame  # per-lesion annotation scores of ISIC

    def annotation(self, target: str, lesion_ids) -> tuple[np.ndarray, np.ndarray]:
        """Values (NaN where absent) and availability (0/1) of a target for ``lesion_ids``."""
        source, feature = parse_target(target)
        part = self.scores[(self.scores.source == source) & (self.scores.feature == feature)]
        values = part.set_index("lesion_id").score.reindex(list(lesion_ids)).to_numpy(float)
        available = ~np.isnan(values)
        if is_random(target):
            values = np.where(available, random_values(target, list(lesion_ids)), np.nan)
        return values, available.astype(np.float32)


def build_context(n_lesions: int | None, root=None) -> Context:
    """Ground truth (optionally a stratified sample), readable images, annotation scores."""
    from .pipeline import check_images

    gt = splits.training_lesions(n_lesions, root)
    gt["path"] = [datasets.isic_image_path(i, root) for i in gt.lesion_id]
    reasons = check_images(list(gt.path))
    skipped = [{"lesion_id": i, "reason": r} for i, r in zip(gt.lesion_id, reasons) if r]
    lesions = gt[[r is None for r in reasons]].reset_index(drop=True)
    ann = annotations.load(root, sources=list(SOURCES))
    scores = annotations.per_lesion(ann.long)
    return Context(lesions, skipped, scores[scores.dataset == "isic2017"])


# --------------------------------------------------------------------------- one run
def _versions() -> dict:
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "enhance_utils": __version__}


def _write_atomically(final: Path, files: dict[str, callable]) -> None:
    partial = final.with_name(final.name + PARTIAL)
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    for name, write in files.items():
        write(partial / name)
    if final.exists():  # an older incomplete folder without run.json
        shutil.rmtree(final)
    os.replace(partial, final)


def train_one(spec: RunSpec, context: Context, root: Path, progress: bool = True) -> dict:
    """Train and evaluate one run and store it; returns its ``run.json`` content."""
    import keras
    from sklearn.metrics import roc_auc_score

    from . import multitask, pipeline

    settings = get_profile(spec.profile).training
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes, one per run
    keras.utils.set_random_seed(spec.split.seed)
    by_id = context.lesions.set_index("lesion_id")
    missing = [i for part in (spec.split.train, spec.split.validation, spec.split.test)
               for i in part if i not in by_id.index]
    if missing:
        raise ValueError(f"split {spec.split.name} names lesions without a readable image: {missing[:3]}")
    part = {name: by_id.loc[list(ids)] for name, ids in
            [("train", spec.split.train), ("validation", spec.split.validation), ("test", spec.split.test)]}
    multi = parse_target(spec.target) is not None
    preprocess = multitask.preprocess_input(spec.arch)
    class_weights = multitask.balanced_class_weights(part["train"].label)

    def dataset(name, training):
        frame = part[name]
        extra = {}
        if multi:
            values, available = context.annotation(spec.target, frame.index)
            extra = {"annotation": values, "available": available}
        return pipeline.make_dataset(list(frame.path), frame.label, settings.image_size,
                                     settings.batch_size, preprocess, training=training,
                                     class_weights=class_weights if training else None,
                                     seed=spec.split.seed, **extra)

    model, weights_init = multitask.build_model(spec.arch, settings.image_size, multi,
                                                weights=settings.weights,
                                                learning_rate=settings.learning_rate)
    train = dataset("train", True)
    steps = settings.steps_per_epoch
    if steps:
        train = train.repeat()
    callbacks = []
    if progress:
        from tqdm.keras import TqdmCallback

        callbacks.append(TqdmCallback(verbose=0, desc=f"{spec.arch} {spec.target} {spec.split.name}",
                                      leave=False))
    start = time.perf_counter()
    history = model.fit(train, validation_data=dataset("validation", False), epochs=settings.epochs,
                        steps_per_epoch=steps, callbacks=callbacks, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    outputs = model.predict(dataset("test", False), verbose=0)
    scores = np.asarray(outputs["diagnosis"] if isinstance(outputs, dict) else outputs).reshape(-1)
    test = part["test"]
    auc = float(roc_auc_score(test.label, scores))
    predictions = pd.DataFrame({"lesion_id": test.index, "label": test.label.to_numpy(), "score": scores})
    record = {
        "profile": spec.profile, "arch": spec.arch, "target": spec.target, "split": spec.split.name,
        "seed": spec.split.seed, "auc": auc, "n_train": len(part["train"]),
        "n_validation": len(part["validation"]), "n_test": len(test),
        "n_train_annotated": int(context.annotation(spec.target, part["train"].index)[1].sum()) if multi else 0,
        "class_weights": class_weights, "weights_init": weights_init,
        "settings": asdict(settings), "train_seconds": round(seconds, 1),
        "skipped_lesions": context.skipped, "versions": _versions(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    files = {
        "predictions.csv": lambda p: predictions.to_csv(p, index=False),
        "history.csv": lambda p: pd.DataFrame(history.history).rename_axis("epoch").to_csv(p),
        "run.json": lambda p: p.write_text(json.dumps(record, indent=1)),
    }
    if settings.keep_weights:
        files["model.weights.h5"] = lambda p: model.save_weights(p)
    _write_atomically(run_dir(root, spec), files)
    keras.backend.clear_session()
    return record


# --------------------------------------------------------------------------- the grid
def grid(profile: str, archs=None, targets=None, seeds=None, lesions: pd.DataFrame | None = None,
         kfold: bool = False) -> list[RunSpec]:
    """Every run of a profile (optionally narrowed), in a stable order."""
    settings = get_profile(profile).training
    for target in targets or settings.targets:
        parse_target(target)
    if kfold:
        split_list = splits.kfold_splits(lesions)
    else:
        split_list = splits.paper_splits(lesions, seeds or settings.split_seeds)
    return [RunSpec(profile, arch, target, split)
            for arch in (archs or settings.archs)
            for target in (targets or settings.targets)
            for split in split_list]


def run_grid(profile: str, archs=None, targets=None, seeds=None, kfold: bool = False,
             results=None, data_root=None, progress: bool = True) -> pd.DataFrame:
    """Train every run of the grid that the store does not hold yet; returns all runs."""
    root = Path(results) if results else config.results_dir()
    settings = get_profile(profile).training
    context = build_context(settings.n_lesions, data_root)
    specs = grid(profile, archs, targets, seeds, context.lesions, kfold)
    todo = [s for s in specs if not is_finished(root, s)]
    print(f"{profile}: {len(specs)} runs in the grid, {len(specs) - len(todo)} already in "
          f"{root / profile}, {len(todo)} to train", flush=True)
    for spec in tqdm(todo, desc="runs", disable=not progress or not todo):
        train_one(spec, context, root, progress)
    return load_runs(profile, root)


def load_runs(profile: str, results=None) -> pd.DataFrame:
    """One row per finished run of a profile: arch, target, split, seed, auc and more."""
    root = Path(results) if results else config.results_dir()
    rows = []
    for path in sorted((root / profile).glob("*/*/*/run.json")):
        record = json.loads(path.read_text())
        rows.append({k: record[k] for k in ("arch", "target", "split", "seed", "auc", "n_train",
                                            "n_test", "weights_init", "train_seconds")})
    columns = ["arch", "target", "split", "seed", "auc", "n_train", "n_test", "weights_init",
               "train_seconds"]
    return pd.DataFrame(rows, columns=columns)


_SHORT = {"automated": "auto", "crowd": "crowd", "student": "stud"}


def model_name(target: str) -> str:
    """The paper's name of a model: ``baseline``, ``autoA``, ``crowdB``, ``studC``; a
    randomized control gets ``_random`` appended (``crowdA_random``)."""
    parsed = parse_target(target)
    if parsed is None:
        return "baseline"
    return f"{_SHORT[parsed[0]]}{parsed[1]}" + ("_random" if is_random(target) else "")


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and SD of the AUC (× 100, as the paper's Table 5) per architecture and model."""
    frame = runs.assign(model=runs.target.map(model_name), auc100=runs.auc * 100)
    out = frame.groupby(["arch", "model"], sort=False).auc100.agg(
        mean_auc="mean", sd_auc=lambda x: x.std(ddof=1), n_splits="count").reset_index()
    return out.round({"mean_auc": 1, "sd_auc": 1})


def plot_aucs(runs: pd.DataFrame, title: str = "", ax=None):
    """AUC of every run (dots, one per split) and the mean per model, per architecture."""
    import matplotlib.pyplot as plt

    frame = runs.assign(model=runs.target.map(model_name))
    order = list(dict.fromkeys(frame.sort_values("target").model))
    order = ["baseline"] + [m for m in order if m != "baseline"]
    archs = list(dict.fromkeys(frame.arch))
    if ax is None:
        _, ax = plt.subplots(figsize=(1 + 0.7 * len(order) * len(archs), 3.6))
    width = 0.8 / max(len(archs), 1)
    for k, arch in enumerate(archs):
        part = frame[frame.arch == arch]
        for i, model in enumerate(order):
            values = part[part.model == model].auc
            x = i + (k - (len(archs) - 1) / 2) * width
            ax.scatter([x] * len(values), values, s=14, alpha=0.6, color=f"C{k}",
                       label=arch if i == 0 else None)
            ax.hlines(values.mean(), x - width / 2.5, x + width / 2.5, color=f"C{k}")
    ax.set_xticks(range(len(order)), order, rotation=45, ha="right")
    ax.set_ylabel("test AUC")
    ax.axhline(0.5, color="grey", lw=0.5, ls=":")
    ax.legend(title="architecture", fontsize=8)
    ax.set_title(title)
    return ax


def load_predictions(profile: str, results=None) -> pd.DataFrame:
    """Test-set predictions of every finished run, with arch, target and split columns."""
    root = Path(results) if results else config.results_dir()
    frames = []
    for path in sorted((root / profile).glob("*/*/*/run.json")):
        record = json.loads(path.read_text())
        frame = pd.read_csv(path.with_name("predictions.csv"))
        frames.append(frame.assign(arch=record["arch"], target=record["target"], split=record["split"]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["lesion_id", "label", "score", "arch", "target", "split"])
