"""The training runner (chapters 06–08): grids of runs into the experiment store.

One *run* trains one model — architecture × target (:mod:`enhance_utils.targets`) × split —
and leaves a folder in the store (:mod:`enhance_utils.store`: layout, atomic writes, claims,
validation). Rerunning a grid skips finished runs, redoes interrupted or damaged ones, and
leaves runs claimed by another live trainer alone.

Training is reproducible: the same run (seed, data, versions, machine) gives the same
predictions. Keras, NumPy and Python are seeded per run, TensorFlow's op determinism is on,
and the input pipeline's shuffle and augmentation are seeded (:func:`pipeline.make_dataset`);
``run.json`` records what was enforced.
"""
from __future__ import annotations

import logging
import os
import platform
import time
import uuid
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import (__version__, annotations, config, datasets, executors, profiles, splits, store,
               variants)
from . import targets as targets_module
from .profiles import get_profile
from .targets import Target

SOURCES = targets_module.SOURCES
PARTS = ("validation", "test")


@dataclass(frozen=True)
class RunSpec:
    profile: str
    arch: str
    target: Target
    split: splits.Split

    @property
    def key(self) -> tuple[str, str, str]:
        return self.arch, self.target.folder, self.split.name

    @property
    def run_id(self) -> str:
        """The run's name on the command line: ``arch/target folder/split``, e.g.
        ``small/crowd-A/seed1970`` (``enhance train --list-runs``, ``--run``)."""
        return "/".join(self.key)

    @property
    def init_seed(self) -> int:
        """The seed of the weights' initialisation and of the data order: the split's seed
        for the first replicate, a different one for each further replicate."""
        if not self.target.replicate:
            return self.split.seed
        return zlib.crc32(f"{self.split.seed}|init{self.target.replicate}".encode()) % 2**31


def store_root(results=None) -> Path:
    """The experiment store: ``results`` or :func:`config.results_dir`; never inside the
    read-only data folder."""
    if results is None:
        return config.results_dir()
    return config.refuse_inside_data(Path(results).expanduser().resolve(), "results folder")


def run_dir(root: Path, spec: RunSpec) -> Path:
    return store.run_dir(root, spec.profile, spec.arch, spec.target, spec.split.name)


def is_finished(root: Path, spec: RunSpec) -> bool:
    """A complete, valid run folder exists for ``spec``."""
    return store.validate(run_dir(root, spec)) is None


# --------------------------------------------------------------------------- context
@dataclass
class Context:
    """What every run of a grid shares: lesions, labels, image paths, annotation scores."""

    lesions: pd.DataFrame  # lesion_id, label, path
    skipped: list[dict]  # lesions left out, with the reason
    scores: pd.DataFrame  # per-lesion annotation scores of ISIC

    def real_values(self, source: str, feature: str, lesion_ids) -> tuple[np.ndarray, np.ndarray]:
        """An annotation's values (NaN where absent) and availability (0/1) for ``lesion_ids``."""
        part = self.scores[(self.scores.source == source) & (self.scores.feature == feature)]
        values = part.set_index("lesion_id").score.reindex(list(lesion_ids)).to_numpy(float)
        available = ~np.isnan(values)
        return values, available.astype(np.float32)

    def heads(self, target, lesion_ids, split_seed: int = 0, part: str = "train"
              ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per annotation feature of ``target``: the values it trains on and their
        availability, for ``lesion_ids`` of one part of one split.

        Controls keep the real availability: ``uniform`` draws fixed uniform values
        (:func:`targets.uniform_values`), ``permuted`` shuffles the real values among the
        annotated lesions of that part (:func:`targets.permuted_values`).
        """
        target = targets_module.parse(target)
        out = {}
        for feature in target.features:
            values, available = self.real_values(target.source, feature, lesion_ids)
            if target.values == "uniform":
                single = Target(target.source, (feature,), "uniform")
                values = np.where(available > 0, targets_module.uniform_values(single, lesion_ids),
                                  np.nan)
            elif target.values == "permuted":
                values = targets_module.permuted_values(target, values, available, split_seed, part)
            out[feature] = (values, available)
        return out

    def annotation(self, target, lesion_ids) -> tuple[np.ndarray, np.ndarray]:
        """Values and availability of a one-feature target (training part of split 0)."""
        (values, available), = self.heads(target, lesion_ids).values()
        return values, available


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


def make_deterministic(seed: int) -> dict:
    """Seed Python, NumPy, TensorFlow and Keras and switch on TensorFlow's op determinism;
    returns what was enforced (recorded in ``run.json``)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return {"seed": seed, "op_determinism": True, "data_order": "seeded shuffle",
            "augmentation": "stateless, seeded per batch"}


def _epoch_watch(claim: store.Claim | None, monitor: str = "val_diagnosis_auc"):
    """A Keras callback that keeps the weights of the epoch with the best validation AUC and
    touches the run's claim once per epoch (a heartbeat other trainers can see)."""
    import keras

    class EpochWatch(keras.callbacks.Callback):
        best, best_epoch, best_weights = -np.inf, None, None

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            value = logs.get(monitor, logs.get("val_auc"))
            if value is not None and np.isfinite(value) and value > self.best:
                self.best, self.best_epoch = float(value), epoch
                self.best_weights = self.model.get_weights()
            if claim is not None:
                claim.heartbeat()

    return EpochWatch()


def _predict(model, data, features) -> dict[str, np.ndarray]:
    from . import multitask

    outputs = model.predict(data, verbose=0)
    if not isinstance(outputs, dict):
        outputs = {multitask.DIAGNOSIS: outputs}
    names = multitask.head_names(tuple(features)) if features else {}
    out = {"score": np.asarray(outputs[multitask.DIAGNOSIS]).reshape(-1)}
    out.update({f: np.asarray(outputs[name]).reshape(-1) for f, name in names.items()})
    return out


def _prediction_table(part_frames, heads, last, best) -> pd.DataFrame:
    """Rows of the validation and test lesions with the diagnosis score and each head's
    prediction at the last and the best epoch, and the value each head was trained towards."""
    rows = []
    for part, frame in part_frames.items():
        table = pd.DataFrame({"part": part, "lesion_id": frame.index,
                              "label": frame.label.to_numpy(),
                              "score_last": last[part]["score"], "score_best": best[part]["score"]})
        for feature, (values, available) in heads[part].items():
            table[f"target_{feature}"] = np.where(available > 0, values, np.nan)
            table[f"annotation_{feature}_last"] = last[part][feature]
            table[f"annotation_{feature}_best"] = best[part][feature]
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def train_one(spec: RunSpec, context: Context, root: Path, progress: bool = True,
              claim: store.Claim | None = None, keep_weights: bool | None = None) -> dict:
    """Train and evaluate one run and store it; returns its ``run.json`` content.

    ``keep_weights`` overrides the profile's choice (the explanation chapter keeps the
    weights of the few runs it explains, in a side store).
    """
    import keras
    from sklearn.metrics import roc_auc_score

    from . import multitask, pipeline

    settings = get_profile(spec.profile).training
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes, one per run
    determinism = make_deterministic(spec.init_seed)
    by_id = context.lesions.set_index("lesion_id")
    missing = [i for part in (spec.split.train, spec.split.validation, spec.split.test)
               for i in part if i not in by_id.index]
    if missing:
        raise ValueError(f"split {spec.split.name} names lesions without a readable image: {missing[:3]}")
    part = {name: by_id.loc[list(ids)] for name, ids in
            [("train", spec.split.train), ("validation", spec.split.validation), ("test", spec.split.test)]}
    features = spec.target.features
    head_of = multitask.head_names(features) if features else {}
    preprocess = multitask.preprocess_input(spec.arch, settings.variant)
    class_weights = multitask.class_weights_for(part["train"].label, bool(features), settings.variant)
    heads = {name: context.heads(spec.target, frame.index, spec.split.seed, name)
             for name, frame in part.items()}

    def dataset(name, training):
        frame = part[name]
        return pipeline.make_dataset(
            list(frame.path), frame.label, settings.image_size, settings.batch_size, preprocess,
            heads={head_of[f]: v for f, v in heads[name].items()}, training=training,
            class_weights=class_weights if training else None, seed=spec.init_seed)

    model, weights_init = multitask.build_model(spec.arch, settings.image_size, features,
                                                weights=settings.weights,
                                                learning_rate=settings.learning_rate,
                                                variant=settings.variant)
    train = dataset("train", True)
    if settings.steps_per_epoch:
        train = train.repeat()
    watch = _epoch_watch(claim)
    callbacks = [watch]
    if progress:
        from tqdm.keras import TqdmCallback

        callbacks.append(TqdmCallback(verbose=0, desc=f"{spec.arch} {spec.target} {spec.split.name}",
                                      leave=False))
    start = time.perf_counter()
    history = model.fit(train, validation_data=dataset("validation", False), epochs=settings.epochs,
                        steps_per_epoch=settings.steps_per_epoch, callbacks=callbacks, verbose=0,
                        shuffle=False)
    seconds = time.perf_counter() - start
    evaluate = {name: dataset(name, False) for name in PARTS}
    last = {name: _predict(model, data, features) for name, data in evaluate.items()}
    last_weights = model.get_weights()
    if watch.best_weights is not None:
        model.set_weights(watch.best_weights)
    best = {name: _predict(model, data, features) for name, data in evaluate.items()}
    test = part["test"]
    aucs = {kind: float(roc_auc_score(test.label, scores["test"]["score"]))
            for kind, scores in (("last", last), ("best", best))}
    predictions = _prediction_table({p: part[p] for p in PARTS}, heads, last, best)
    record = {
        "profile": spec.profile, "arch": spec.arch,
        "network": multitask.network(spec.arch, settings.variant), "variant": settings.variant,
        "target": spec.target.spec, "model": spec.target.model, "split": spec.split.name,
        "seed": spec.split.seed, "init_seed": spec.init_seed,
        "selection": settings.selection, "auc": aucs[settings.selection],
        "auc_last": aucs["last"], "auc_best": aucs["best"],
        "best_epoch": watch.best_epoch, "val_auc_best": watch.best,
        "n_train": len(part["train"]), "n_validation": len(part["validation"]), "n_test": len(test),
        "heads": {f: {"n_train_annotated": int(a.sum()),
                      "train_mean": float(np.nanmean(np.where(a > 0, v, np.nan))) if a.any() else None}
                  for f, (v, a) in heads["train"].items()},
        "class_weights": class_weights, "weights_init": weights_init,
        "determinism": determinism, "settings": asdict(settings),
        "train_seconds": round(seconds, 1), "skipped_lesions": context.skipped,
        "versions": _versions(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "trainer": {"host": platform.node(), "pid": os.getpid()},
    }
    files = {
        store.PREDICTIONS: lambda p: predictions.to_csv(p, index=False),
        store.HISTORY: lambda p: pd.DataFrame(history.history).rename_axis("epoch").to_csv(p),
    }
    if settings.keep_weights if keep_weights is None else keep_weights:
        # the weights of the model the tables score
        if settings.selection == "last":
            model.set_weights(last_weights)
        files["model.weights.h5"] = lambda p: model.save_weights(p)
    store.write_run(run_dir(root, spec), files, record)
    keras.backend.clear_session()
    return record


# --------------------------------------------------------------------------- the grid
def grid(profile: str, archs=None, targets=None, seeds=None, lesions: pd.DataFrame | None = None,
         kfold: bool = False) -> list[RunSpec]:
    """Every run of a profile (optionally narrowed), split by split: an interrupted grid
    leaves whole splits finished, which the paired comparisons can already use."""
    settings = get_profile(profile).training
    chosen = targets_module.expand(targets if targets is not None else settings.targets)
    archs = _nonempty(archs if archs is not None else settings.archs, "architecture")
    unknown = [a for a in archs if a not in variants.ALL_ARCHS]
    if unknown:
        raise ValueError(f"unknown architecture(s) {unknown}; choose from {variants.ALL_ARCHS}")
    if kfold:
        split_list = splits.kfold_splits(lesions)
    else:
        split_list = splits.paper_splits(lesions, _nonempty(
            seeds if seeds is not None else settings.split_seeds, "split seed"))
    return [RunSpec(profile, arch, target, split)
            for split in split_list for arch in archs for target in chosen]


def _nonempty(items, what: str):
    items = list(items)
    if not items:
        raise ValueError(f"no {what} given")
    return items


def plan(profile: str, specs: list[RunSpec], root: Path) -> dict[str, list]:
    """Sort a grid into ``done``, ``todo`` and ``damaged`` (folder, reason) runs."""
    done, todo, damaged = [], [], []
    for spec in specs:
        folder = run_dir(root, spec)
        reason = store.validate(folder) if folder.exists() else "absent"
        if reason is None:
            done.append(spec)
        else:
            todo.append(spec)
            if reason != "absent":
                damaged.append((folder, reason))
    return {"done": done, "todo": todo, "damaged": damaged}


@dataclass(frozen=True)
class GridJob:
    """What every run of one grid needs, wherever it trains: the shared context, the store,
    the driver's profile and its claim token. Picklable, so that an executor
    (:mod:`enhance_utils.executors`) ships it once to other processes or machines."""

    context: Context
    root: Path
    profile: profiles.Profile
    #: names this driver in its claims: an engine's retry of a run takes over its own claim
    token: str
    progress: bool = True
    keep_weights: bool | None = None

    def __call__(self, spec: RunSpec) -> str:
        """Train ``spec`` under its claim: ``"trained"``, ``"busy"`` (claimed by another
        live trainer) or ``"done"`` (another trainer finished it meanwhile)."""
        if profiles.PROFILES.get(self.profile.name) != self.profile:
            profiles.PROFILES[self.profile.name] = self.profile  # a profile the driver added
        claim = store.Claim.take(run_dir(self.root, spec), self.token)
        if claim is None:
            return "busy"
        with claim:
            if is_finished(self.root, spec):
                return "done"
            train_one(spec, self.context, self.root, self.progress, claim, self.keep_weights)
        return "trained"


def select_runs(specs: list[RunSpec], run_ids) -> list[RunSpec]:
    """The runs of ``specs`` named by ``run_ids`` (:attr:`RunSpec.run_id`), in grid order;
    a ValueError names an id the grid does not hold."""
    known = {spec.run_id: spec for spec in specs}
    unknown = [run_id for run_id in run_ids if run_id not in known]
    if unknown:
        raise ValueError(f"unknown run {unknown[0]!r}: not in this grid; `enhance train "
                         f"--list-runs` prints its missing runs as arch/target/split")
    chosen = set(run_ids)
    return [spec for spec in specs if spec.run_id in chosen]


def missing_runs(profile: str, archs=None, targets=None, seeds=None, kfold: bool = False,
                 results=None, data_root=None) -> list[RunSpec]:
    """The runs of the grid that the store does not hold (absent or damaged), in grid order:
    what ``enhance train --list-runs`` prints for a batch system's array job."""
    root = store_root(results)
    context = build_context(get_profile(profile).training.n_lesions, data_root)
    specs = grid(profile, archs, targets, seeds, context.lesions, kfold)
    return plan(profile, specs, root)["todo"]


def run_grid(profile: str, archs=None, targets=None, seeds=None, kfold: bool = False,
             results=None, data_root=None, progress: bool = True,
             keep_weights: bool | None = None, executor="local", address: str | None = None,
             cpus_per_run: float | None = None, runs=None) -> pd.DataFrame:
    """Train every run of the grid that the store does not hold yet; returns all runs.

    Damaged run folders are named and trained again; runs that another live trainer has
    claimed are skipped (and named); temporary folders of dead trainers are removed.

    ``executor`` is ``"local"`` (one run after the other in this process) or ``"ray"`` (one
    Ray task per run, on the cluster at ``address`` or on one started here; see
    :mod:`enhance_utils.executors`), or an executor object. ``runs`` narrows the grid to
    those run ids (:attr:`RunSpec.run_id`).
    """
    engine = executors.get(executor, address=address, cpus_per_run=cpus_per_run)
    root = store_root(results)
    settings = get_profile(profile).training
    context = build_context(settings.n_lesions, data_root)
    specs = grid(profile, archs, targets, seeds, context.lesions, kfold)
    if runs is not None:
        specs = select_runs(specs, runs)
    store.clean_temporaries(root, profile)
    state = plan(profile, specs, root)
    for folder, reason in state["damaged"]:
        print(f"redoing a damaged run: {reason}", flush=True)
    print(f"{profile}: {len(specs)} runs in the grid, {len(state['done'])} already in "
          f"{root / profile}, {len(state['todo'])} to train ({engine.name} executor)", flush=True)
    job = GridJob(context, root, get_profile(profile), uuid.uuid4().hex, progress, keep_weights)
    outcomes = engine.map(job, state["todo"], progress)
    busy = [spec for spec, outcome in zip(state["todo"], outcomes) if outcome == "busy"]
    for spec in busy:
        print(f"skipped {spec.run_id}: claimed by another trainer", flush=True)
    print(f"{profile}: trained {outcomes.count('trained')} run(s), skipped {len(busy)} claimed "
          f"by another trainer", flush=True)
    return load_runs(profile, root)


def train_with_weights(profile: str, targets, split_seed: int, results, arch: str | None = None,
                       progress: bool = True) -> pd.DataFrame:
    """Train the runs of ``targets`` on one split of a profile into the store ``results``,
    keeping their weights (chapter 09 asks for the runs it explains that kept none, into
    :func:`enhance_utils.explain.side_store`); runs that store holds already are skipped.

    ``arch`` defaults to the profile's first architecture. Training is deterministic: a run
    trained again is the model whose predictions the profile's own store holds. Returns the
    runs of ``results`` (:func:`run_grid`).
    """
    arch = arch or get_profile(profile).training.archs[0]
    return run_grid(profile, archs=[arch], targets=list(targets), seeds=[split_seed],
                    results=results, progress=progress, keep_weights=True)


# --------------------------------------------------------------------------- reading the store
RUN_COLUMNS = ["arch", "target", "model", "split", "seed", "auc", "auc_last", "auc_best",
               "best_epoch", "selection", "n_train", "n_test", "weights_init", "train_seconds"]


def load_runs(profile: str, results=None, strict: bool = True) -> pd.DataFrame:
    """One row per finished run of a profile (columns :data:`RUN_COLUMNS`).

    ``auc`` is the test AUC of the epoch the profile selects (``selection``: the last epoch,
    or the one with the best validation AUC). A damaged run folder is a
    :class:`store.StoreError` naming it (``strict=False`` leaves such folders out).
    """
    root = store_root(results)
    rows = [{k: record.get(k) for k in RUN_COLUMNS}
            for _, record in store.finished_runs(root, profile, strict)]
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def load_predictions(profile: str, results=None, part: str = "test", selection: str | None = None,
                     strict: bool = True) -> pd.DataFrame:
    """Predictions of every finished run on ``part`` (test or validation): lesion_id, label,
    score (of the ``selection`` epoch, default each run's own), arch, target, split, and the
    annotation heads' columns where a run has them."""
    root = store_root(results)
    frames = []
    for folder, record in store.finished_runs(root, profile, strict):
        frame = store.read_predictions(folder)
        frame = frame[frame.part == part].drop(columns="part")
        chosen = selection or record["selection"]
        frames.append(frame.assign(score=frame[f"score_{chosen}"], arch=record["arch"],
                                   target=record["target"], split=record["split"]))
    columns = ["lesion_id", "label", "score", "arch", "target", "split"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    return out[columns + [c for c in out.columns if c not in columns]]


def load_histories(profile: str, results=None) -> pd.DataFrame:
    """The per-epoch history of every finished run, with arch, target, model and split."""
    root = store_root(results)
    frames = [store.read_history(folder).assign(arch=r["arch"], target=r["target"],
                                               model=r["model"], split=r["split"])
              for folder, r in store.finished_runs(root, profile)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def model_name(target) -> str:
    """The paper's name of a model (``baseline``, ``crowdA``, ``crowdA_random``)."""
    return targets_module.parse(target).model


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
    order = sorted(dict.fromkeys(frame.model), key=targets_module.model_order)
    archs = list(dict.fromkeys(frame.arch))
    if ax is None:
        _, ax = plt.subplots(figsize=(1 + 0.5 * len(order) * len(archs), 3.6))
    width = 0.8 / max(len(archs), 1)
    for k, arch in enumerate(archs):
        part = frame[frame.arch == arch]
        for i, model in enumerate(order):
            values = part[part.model == model].auc
            x = i + (k - (len(archs) - 1) / 2) * width
            ax.scatter([x] * len(values), values, s=14, alpha=0.6, color=f"C{k}",
                       label=arch if i == 0 else None)
            ax.hlines(values.mean(), x - width / 2.5, x + width / 2.5, color=f"C{k}")
    ax.set_xticks(range(len(order)), order, rotation=60, ha="right")
    ax.set_ylabel("test AUC")
    ax.axhline(0.5, color="grey", lw=0.5, ls=":")
    ax.legend(title="architecture", fontsize=8)
    ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- do the heads learn?
def annotation_r2(profile: str, results=None, part: str = "test") -> pd.DataFrame:
    """How much of each annotation's variance the heads explain, per run and feature.

    ``r2 = 1 - SSE / SST`` on the annotated lesions of ``part``, where SST is taken around the
    *training* mean of that annotation (what a head that learned nothing from the image would
    predict): 0 for such a head, negative for one that does worse, 1 for a perfect one. The
    head's predictions are those of the epoch the profile selects.
    """
    root = store_root(results)
    rows = []
    for folder, record in store.finished_runs(root, profile):
        frame = store.read_predictions(folder)
        frame = frame[frame.part == part]
        for feature, head in (record.get("heads") or {}).items():
            truth = frame[f"target_{feature}"].to_numpy(float)
            guess = frame[f"annotation_{feature}_{record['selection']}"].to_numpy(float)
            kept = ~np.isnan(truth)
            sst = np.sum((truth[kept] - head["train_mean"]) ** 2)
            sse = np.sum((truth[kept] - guess[kept]) ** 2)
            rows.append({"arch": record["arch"], "model": record["model"],
                         "target": record["target"], "feature": feature, "split": record["split"],
                         "n": int(kept.sum()), "r2": 1 - sse / sst if sst > 0 else np.nan})
    return pd.DataFrame(rows, columns=["arch", "model", "target", "feature", "split", "n", "r2"])


def summarize_r2(r2: pd.DataFrame, threshold: float = 0.05) -> pd.DataFrame:
    """Median and range of R² over the splits per model and feature, and whether the head
    learned anything (median R² above ``threshold``)."""
    out = r2.groupby(["arch", "model", "feature"], sort=False).r2.agg(
        median="median", low="min", high="max", n_splits="count").reset_index()
    order = out.model.map(targets_module.model_order)
    return (out.assign(learned=out["median"] > threshold, _k=order)
            .sort_values(["arch", "_k", "feature"]).drop(columns="_k").reset_index(drop=True))


def plot_learning_curves(histories: pd.DataFrame, models, arch: str | None = None):
    """Diagnosis AUC and annotation loss per epoch, training (dashed) and validation (solid),
    one line per split, for a few models."""
    import matplotlib.pyplot as plt

    arch = arch or histories.arch.iloc[0]
    fig, axes = plt.subplots(2, len(models), figsize=(3.2 * len(models), 5.2), squeeze=False,
                             sharex=True)
    for k, model in enumerate(models):
        part = histories[(histories.arch == arch) & (histories.model == model)]
        for split, one in part.groupby("split"):
            for prefix, style in (("", "--"), ("val_", "-")):
                auc = one.get(f"{prefix}diagnosis_auc", one.get(f"{prefix}auc"))
                if auc is not None:
                    axes[0, k].plot(one.epoch, auc, style, lw=1, color="C0", alpha=0.7)
                losses = [c for c in one.columns if c.startswith(f"{prefix}annotation")
                          and c.endswith("_loss") and (prefix or not c.startswith("val_"))]
                for c in losses:
                    axes[1, k].plot(one.epoch, one[c], style, lw=1, color="C1", alpha=0.7)
        axes[0, k].set_title(model, fontsize=9)
        axes[1, k].set_xlabel("epoch")
    axes[0, 0].set_ylabel("diagnosis AUC")
    axes[1, 0].set_ylabel("annotation loss (masked MSE)")
    fig.suptitle(f"{arch}: training (dashed) and validation (solid), one line per split",
                 fontsize=9)
    return axes


def selection_effect(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and split-to-split SD of the test AUC (× 100) per model when every run is scored
    at its last epoch and at its epoch of best validation AUC."""
    frames = {kind: summarize(runs.assign(auc=runs[f"auc_{kind}"])).set_index(["arch", "model"])
              for kind in ("last", "best")}
    out = frames["last"][["mean_auc", "sd_auc"]].join(
        frames["best"][["mean_auc", "sd_auc"]], lsuffix="_last", rsuffix="_best")
    return out.reset_index()
