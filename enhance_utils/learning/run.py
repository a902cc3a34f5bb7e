"""Training one run (chapters 06–08): data, model, fit, predictions, and the run's record.

:func:`train_one` is what every executor calls for one run of a grid
(:func:`enhance_utils.learning.training.run_grid`); it writes the run into the store
(:func:`enhance_utils.learning.store.write_run`) under the claim it was given.

Training is reproducible: the same run (seed, data, versions, kind of CPU) gives the same
predictions, on any number of cores. Keras, NumPy and Python are seeded per run, TensorFlow's op
determinism is on, the input pipeline's shuffle and augmentation are seeded
(:func:`enhance_utils.learning.pipeline.make_dataset`), and TensorFlow's thread pools are pinned
at the profile's :attr:`~enhance_utils.profiles.Training.threads` (:func:`pin_threads`);
``run.json`` records what was enforced and the thread layout the run had (:func:`thread_layout`).

Why the pools are pinned: op determinism makes a run repeatable with one thread layout only.
On the CPU the size of TensorFlow's intra-op pool decides how a kernel splits a reduction
among threads, hence the order of its floating-point sums. Measured on the small CNN (32 px,
TensorFlow 2.21, Keras 3.15), one intra-op thread against two: the forward pass and the dense
layers agree bit for bit, but the gradients of the convolution filters (``Conv2DBackpropFilter``),
of the biases (``BiasAddGrad``) and of batch normalisation (``FusedBatchNormGradV3``) differ
(up to 1e-3 on one kernel), with oneDNN on and with it off (``TF_ENABLE_ONEDNN_OPTS=0``) alike;
after one epoch on 60 lesions 18 of 19 baseline predictions differed (by up to 1e-7), and the
issue's smoke run moved AUCs by 0.03. Turning oneDNN off therefore does not help (and made a
training step about twice as slow on two cores); a pool of fixed size does: the pool, not the
cores it runs on, fixes the split, so two threads on one core (``taskset -c 0``) give the bytes
of two threads on two cores (``tests/test_determinism.py``), as they would on more cores of
the same kind. Two is the default of this project's two-core
machines, so the committed ``cpu`` store, trained with TensorFlow's default there, is what a
pinned run gives, at the same speed; a machine with more cores trains a run no faster than two
cores would, and trains several runs side by side instead
(:class:`enhance_utils.learning.executors.LocalExecutor`, ``--executor ray``). The dense head
of a frozen profile (``lite``) splits no sum among threads: its runs give the same bytes with
one thread as with two, and its profile pins one
(:data:`enhance_utils.profiles.LITE`). ``TF_NUM_INTRAOP_THREADS`` and
``TF_NUM_INTEROP_THREADS`` are overridden where the pin takes effect; an executor can pin
another count (:attr:`enhance_utils.learning.executors.RayExecutor.threads_per_run`), which
``run.json`` then records.
"""
from __future__ import annotations

import logging
import math
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ..version import __version__
from ..profiles import TRAINING_THREADS, Training, get_profile
from . import store
from .specs import PARTS, Context, RunSpec, run_dir

def _versions() -> dict:
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "enhance_utils": __version__}


def pin_threads(threads: int = TRAINING_THREADS) -> bool:
    """Size TensorFlow's intra- and inter-op thread pools at ``threads`` (before the runtime
    starts; afterwards a call with the same count changes nothing). Returns whether the pools
    have that size: False when TensorFlow already ran an op with pools of another size in this
    process (a notebook's earlier cell, a worker reused with another count), which stay."""
    import tensorflow as tf

    config = tf.config.threading
    try:
        config.set_intra_op_parallelism_threads(threads)
        config.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # "cannot be modified after initialization"
        pass
    layout = thread_layout()
    return layout["intra_op_threads"] == layout["inter_op_threads"] == threads


def _pool_size(configured: int, variable: str, cpus: int) -> int:
    """A pool's size as TensorFlow chooses it: the configured count, else the environment
    variable's, else the CPUs this process may use."""
    from_environment = os.environ.get(variable, "")
    if configured > 0:
        return configured
    return int(from_environment) if from_environment.isdigit() and int(from_environment) else cpus


def thread_layout() -> dict:
    """TensorFlow's thread pools (``intra_op_threads``, ``inter_op_threads``), the machine's
    ``cpu_count``, the CPUs this process may use (``affinity``, as ``taskset`` sets it) and
    whether TensorFlow's oneDNN kernels are on (``onednn``; None where it cannot tell)."""
    import tensorflow as tf

    try:  # TensorFlow's own reading of TF_ENABLE_ONEDNN_OPTS and of the platform's default
        from tensorflow.python.util._pywrap_util_port import IsMklEnabled

        onednn = bool(IsMklEnabled())
    except ImportError:
        onednn = None
    from .executors import usable_cpus

    cpus = usable_cpus()
    config = tf.config.threading
    return {"intra_op_threads": _pool_size(config.get_intra_op_parallelism_threads(),
                                           "TF_NUM_INTRAOP_THREADS", cpus),
            "inter_op_threads": _pool_size(config.get_inter_op_parallelism_threads(),
                                           "TF_NUM_INTEROP_THREADS", cpus),
            "cpu_count": os.cpu_count(), "affinity": cpus, "onednn": onednn}


def make_deterministic(seed: int, threads: int = TRAINING_THREADS,
                       order: str = "reshuffled") -> dict:
    """Pin TensorFlow's thread pools at ``threads`` (:func:`pin_threads`), seed Python, NumPy,
    TensorFlow and Keras and switch on TensorFlow's op determinism; returns what was enforced
    and the thread layout (recorded in ``run.json``; ``order`` is the variant's order of the
    training images). Pools that could not be pinned are named in one printed note."""
    import keras
    import tensorflow as tf

    pinned = pin_threads(threads)
    layout = thread_layout()
    if not pinned:
        print(f"note: TensorFlow runs with {layout['intra_op_threads']} intra-op and "
              f"{layout['inter_op_threads']} inter-op threads, not {threads} (it started before "
              f"this run); its results hold for that layout, recorded in run.json")
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return {"seed": seed, "op_determinism": True,
            "data_order": "seeded shuffle" if order == "reshuffled" else "fixed",
            "augmentation": "stateless, seeded per batch", "threads_pinned": pinned, **layout}


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
    from . import models

    outputs = model.predict(data, verbose=0)
    if not isinstance(outputs, dict):
        outputs = {models.DIAGNOSIS: outputs}
    names = models.head_names(tuple(features)) if features else {}
    out = {"score": np.asarray(outputs[models.DIAGNOSIS]).reshape(-1)}
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
              claim: store.Claim | None = None, keep_weights: bool | None = None,
              settings: Training | None = None, threads: int | None = None) -> dict:
    """Train and evaluate one run and store it; returns its ``run.json`` content.

    ``keep_weights`` overrides the profile's choice (the explanation chapter keeps the
    weights of the few runs it explains, in a side store). ``settings`` are the profile's
    (:attr:`enhance_utils.profiles.Profile.training`; looked up by the run's profile name
    when not given): a grid hands its driver's over, wherever the run trains. ``threads``:
    TensorFlow's pools (:func:`pin_threads`; None: the profile's
    :attr:`~enhance_utils.profiles.Training.threads`).

    A profile with a frozen base (:attr:`~enhance_utils.profiles.Training.frozen`) trains the
    head alone on cached features (:func:`fit_features`), else the whole model on images
    (:func:`fit_images`); both leave the same files and record.
    """
    import keras
    from sklearn.metrics import roc_auc_score

    from . import models

    from .variants import get_variant

    settings = settings or get_profile(spec.profile).training
    variant = get_variant(settings.variant)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes, one per run
    determinism = make_deterministic(spec.init_seed, threads or settings.threads, variant.order)
    by_id = context.lesions.set_index("lesion_id")
    missing = [i for part in (spec.split.train, spec.split.validation, spec.split.test)
               for i in part if i not in by_id.index]
    if missing:
        raise ValueError(f"split {spec.split.name} names lesions without a readable image: "
                         f"{missing[:3]}")
    part = {name: by_id.loc[list(getattr(spec.split, name))]
            for name in ("train", "validation", "test")}
    features = spec.target.features
    class_weights = models.class_weights_for(part["train"].label, bool(features),
                                             settings.variant)
    heads = {name: context.heads(spec.target, frame.index, spec.split.seed, name)
             for name, frame in part.items()}
    watch = _epoch_watch(claim)
    callbacks = [watch]
    if progress:
        from tqdm.keras import TqdmCallback

        callbacks.append(TqdmCallback(
            verbose=0, desc=f"{spec.arch} {spec.target} {spec.split.name}", leave=False))
    fit = fit_features if settings.frozen else fit_images
    fitted = fit(spec, settings, part, heads, class_weights, callbacks)
    model, evaluate = fitted["model"], fitted["evaluate"]
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
        "network": models.network(spec.arch, settings.variant), "variant": settings.variant,
        "target": spec.target.spec, "model": spec.target.model, "split": spec.split.name,
        "seed": spec.split.seed, "init_seed": spec.init_seed,
        "selection": settings.selection, "auc": aucs[settings.selection],
        "auc_last": aucs["last"], "auc_best": aucs["best"],
        "best_epoch": watch.best_epoch,
        "val_auc_best": watch.best if np.isfinite(watch.best) else None,
        "n_train": len(part["train"]), "n_validation": len(part["validation"]), "n_test": len(test),
        "heads": {f: {"n_train_annotated": int(a.sum()),
                      "train_mean": (float(np.nanmean(np.where(a > 0, v, np.nan))) if a.any()
                                     else None)}
                  for f, (v, a) in heads["train"].items()},
        "class_weights": class_weights, "weights_init": fitted["weights_init"],
        "determinism": dict(determinism, **fitted["determinism"]),
        "settings": asdict(settings),
        "train_seconds": round(fitted["seconds"], 1), **fitted["record"],
        "skipped_lesions": context.skipped,
        "versions": _versions(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "trainer": {"host": platform.node(), "pid": os.getpid()},
    }
    history = fitted["history"]
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


def fit_images(spec: RunSpec, settings: Training, part: dict, heads: dict, class_weights,
               callbacks) -> dict:
    """Build the whole model and fit it on images (:func:`pipeline.make_dataset`, augmented
    per batch); the fitted ``model``, its ``history``, the datasets to ``evaluate``
    (validation, test), ``seconds`` of fitting, ``weights_init`` and what the run's record
    adds (``determinism``, ``record``)."""
    from . import models, pipeline
    from .variants import get_variant

    features = spec.target.features
    head_of = models.head_names(features) if features else {}
    preprocess = models.preprocess_input(spec.arch, settings.variant)
    variant = get_variant(settings.variant)

    def dataset(name, training):
        frame = part[name]
        return pipeline.make_dataset(
            list(frame.path), frame.label, settings.image_size, settings.batch_size, preprocess,
            heads={head_of[f]: v for f, v in heads[name].items()}, training=training,
            class_weights=class_weights if training else None, seed=spec.init_seed,
            resize_method=variant.resize, order=variant.order,
            repeat=training and bool(settings.steps_per_epoch))

    model, weights_init = models.build_model(spec.arch, settings.image_size, features,
                                             weights=settings.weights,
                                             learning_rate=settings.learning_rate,
                                             variant=settings.variant)
    train = dataset("train", True)
    start = time.perf_counter()
    history = model.fit(train, validation_data=dataset("validation", False), epochs=settings.epochs,
                        steps_per_epoch=settings.steps_per_epoch, callbacks=callbacks, verbose=0,
                        shuffle=False)
    seconds = time.perf_counter() - start
    return {"model": model, "history": history, "seconds": seconds,
            "evaluate": {name: dataset(name, False) for name in PARTS},
            "weights_init": weights_init, "determinism": {}, "record": {}}


def fit_features(spec: RunSpec, settings: Training, part: dict, heads: dict, class_weights,
                 callbacks) -> dict:
    """Fit the head alone (:func:`models.build_head`) on the cached features of the frozen
    base (:mod:`enhance_utils.learning.features`): every view of the training images, view 0
    (the plain image) of the validation and test images; as :func:`fit_images` returns."""
    from . import features as cached, models

    base = cached.backbone(spec.arch, settings.image_size, settings.weights)
    start = time.perf_counter()
    table = {"train": cached.extract(list(part["train"].path), range(settings.views + 1), base)}
    for name in PARTS:
        table[name] = cached.extract(list(part[name].path), [0], base)
    feature_seconds = time.perf_counter() - start
    head_of = models.head_names(spec.target.features) if spec.target.features else {}

    def dataset(name, training):
        return feature_dataset(table[name], part[name].label,
                               {head_of[f]: v for f, v in heads[name].items()},
                               class_weights if training else None, settings.batch_size,
                               training=training, seed=spec.init_seed)

    steps = settings.steps_per_epoch or math.ceil(len(part["train"]) / settings.batch_size)
    model = head_for(spec, settings, base.dim, steps)
    start = time.perf_counter()
    history = model.fit(dataset("train", True), validation_data=dataset("validation", False),
                        epochs=settings.epochs, steps_per_epoch=settings.steps_per_epoch,
                        callbacks=callbacks, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    return {"model": model, "history": history, "seconds": seconds,
            "evaluate": {name: dataset(name, False) for name in PARTS},
            "weights_init": settings.weights or "random",
            "determinism": {"augmentation": "one cached view per training image and epoch, "
                                            "seeded"},
            "record": {"features": {
                "backbone": base.tag, "weights_checksum": base.checksum, "frozen": True,
                "pooling": "global average", "dim": base.dim, "views": settings.views,
                "augmentation": cached.AUGMENTATION, "read_seconds": round(feature_seconds, 2)}}}


#: the compiled heads of this process (:func:`head_for`), by kind
_HEADS: dict[tuple, object] = {}


def head_for(spec: RunSpec, settings: Training, n_inputs: int, steps: int):
    """The head a run of a frozen profile fits, compiled with ``steps`` per execution, in the
    state a head built for this run alone starts in: the weights and the optimizer's state of
    a head built after seeding with the run's seed (so that building the backbone before, in
    the first run of a process, changes nothing).

    One compiled head per kind (its outputs, settings and ``steps``) serves every run of the
    process: tracing its train, test and predict functions costs a run more than its twenty
    epochs do. A later run copies the fresh head's weights and optimizer variables into it;
    its metrics are reset by every ``fit``, ``evaluate`` and ``predict``. Each run gives the
    bytes of a head built for it alone (``tests/test_lite_profile.py``).
    """
    import keras

    from . import models

    options = dict(learning_rate=settings.learning_rate, variant=settings.variant,
                   network_name=spec.arch, steps_per_execution=steps)
    features = spec.target.features
    keras.utils.set_random_seed(spec.init_seed)
    fresh = models.build_head(n_inputs, features, **options)
    key = (n_inputs, tuple(models.head_names(features).values()) if features else (),
           tuple(sorted(options.items())))
    model = _HEADS.setdefault(key, fresh)
    if model is not fresh:
        fresh.optimizer.build(fresh.trainable_variables)
        model.set_weights(fresh.get_weights())
        for variable, start in zip(model.optimizer.variables, fresh.optimizer.variables,
                                   strict=True):
            variable.assign(start)
    return model


def feature_dataset(table: np.ndarray, labels, heads: dict, class_weights: dict | None,
                    batch_size: int, training: bool = False, seed: int = 0):
    """Batches of ``(features, targets, sample_weights)`` from a features table ``(views,
    lesions, dim)``, targets and weights as :func:`pipeline.make_dataset` makes them.

    Training data is shuffled (seeded by ``seed``, reshuffled each epoch) and each lesion
    takes one view per epoch, drawn from a seeded stream re-randomized each epoch
    (``tf.data.Dataset.random``), so epoch *k* of a run reads the same views on every rerun;
    otherwise lesions come in order, each in view 0.
    """
    import tensorflow as tf

    from .pipeline import targets_and_weights

    targets, weights = targets_and_weights(labels, heads, class_weights)
    n_views, n = table.shape[:2]
    values = tf.constant(np.asarray(table, np.float32))
    data = tf.data.Dataset.from_tensor_slices((np.arange(n, dtype=np.int64), targets, weights))
    if training:
        data = data.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        views = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).map(
            lambda key: tf.math.floormod(key, n_views))
    else:
        views = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).repeat()
    data = tf.data.Dataset.zip((data, views)).batch(batch_size)

    def gather(batch, view):
        index, target, weight = batch
        return tf.gather_nd(values, tf.stack([view, index], axis=1)), target, weight

    return data.map(gather).prefetch(2).with_options(_lean_options())


def _lean_options():
    """tf.data options for a pipeline whose batches cost next to nothing (a gather from a
    table in memory): no autotuning (its background thread), one thread of its own, none of
    the default graph rewrites. They change how the batches are made, not which: the same
    elements in the same order. Measured on two CPUs, one run of the ``lite`` head for ten
    epochs: about a sixth less CPU time (``benchmarks/bench_lite.py``), which two runs side
    by side share."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1
    options.experimental_optimization.apply_default_optimizations = False
    return options
