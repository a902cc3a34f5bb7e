"""What one run and the whole grid of the ``paper`` profile cost: measured on this CPU, and
estimated for a GPU by scaling the measured costs.

Usage: ``python benchmarks/bench_paper_step.py [--batch 2] [--steps 3] [--gpu-tflops 20]
[--cpus-per-run 4] [--gpus 1,4,8,16]`` (``ENHANCE_DATA_DIR`` for the decoding time).

Measured here, per architecture of the profile (random weights, the profile's input size and
variant, a baseline model):

* ``cpu_s_per_image``: seconds of one training step per image on this machine's CPU (median
  of ``--steps`` steps of ``--batch`` images after a first, untimed step);
* ``train_gflop_per_image``: floating-point operations of one training step per image, taken
  as three times the forward pass counted by TensorFlow's profiler (forward, and a backward
  pass of about twice its cost);
* ``decode_s_per_image``: reading, decoding and resizing one ISIC image (the pipeline's
  ``_load``), which the first epoch of a run does once per image on the CPUs.

The CPU's sustained rate is ``train_gflop_per_image / cpu_s_per_image``. The GPU estimate
scales the measured step by ``--gpu-tflops`` (an assumed sustained rate, not a measurement:
no GPU was available) over that rate; a run is 30 × 100 steps of 20 images, a validation
pass per epoch, the final predictions, and the first epoch's decoding on ``--cpus-per-run``
cores. The grid is spread over N GPUs in waves of N runs. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import numpy as np


def forward_gflop(model, image_size: int) -> float:
    """Floating-point operations of one forward pass of one image (TensorFlow's profiler)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    call = tf.function(lambda x: model(x, training=False))
    concrete = call.get_concrete_function(tf.TensorSpec([1, image_size, image_size, 3]))
    graph = convert_variables_to_constants_v2(concrete).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    stats = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(),
                                          cmd="op", options=options)
    return stats.total_float_ops / 1e9


def cpu_seconds_per_image(model, image_size: int, batch: int, steps: int) -> float:
    """Median seconds of a training step on this CPU, per image."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, image_size, image_size, 3)).astype("float32")
    y = {"diagnosis": rng.integers(0, 2, (batch, 1)).astype("float32")}
    model.train_on_batch(x, y)  # builds and traces
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / batch


def decode_seconds_per_image(image_size: int, n: int = 20) -> float:
    """Seconds to read, decode and resize one ISIC image (first ``n`` training images)."""
    from enhance_utils.data import datasets
    from enhance_utils.learning import pipeline

    paths = [str(datasets.isic_image_path(i)) for i in datasets.isic_ground_truth().lesion_id[:n]]
    pipeline._load(paths[0], image_size)  # warm up
    start = time.perf_counter()
    for path in paths:
        pipeline._load(path, image_size)
    return (time.perf_counter() - start) / len(paths)


def measure(arch: str, settings, batch: int, steps: int) -> dict:
    import keras

    from enhance_utils.learning import models

    model, _ = models.build_model(arch, settings.image_size, (), weights=None,
                                     learning_rate=settings.learning_rate,
                                     variant=settings.variant)
    row = {"arch": arch, "train_gflop_per_image": 3 * forward_gflop(model, settings.image_size),
           "cpu_s_per_image": cpu_seconds_per_image(model, settings.image_size, batch, steps)}
    keras.backend.clear_session()
    return row


def run_seconds(per_image: float, decode: float, settings, sizes: dict, cpus: int) -> float:
    """Estimated seconds of one run whose training step costs ``per_image`` seconds per
    image (a forward pass a third of it) and whose decoding ``decode`` per image and core."""
    forward = per_image / 3
    steps = settings.epochs * settings.steps_per_epoch * settings.batch_size * per_image
    validation = settings.epochs * sizes["validation"] * forward
    predictions = 2 * (sizes["validation"] + sizes["test"]) * forward  # last and best epoch
    return steps + validation + predictions + sum(sizes.values()) * decode / cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--gpu-tflops", type=float, default=20.0)
    parser.add_argument("--cpus-per-run", type=int, default=4)
    parser.add_argument("--gpus", default="1,4,8,16")
    opts = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from enhance_utils import profiles
    from enhance_utils.learning import splits

    settings = profiles.get_profile("paper").training
    split = splits.paper_splits(splits.training_lesions(None), [settings.split_seeds[0]])[0]
    sizes = {"train": len(split.train), "validation": len(split.validation),
             "test": len(split.test)}
    decode = decode_seconds_per_image(settings.image_size)
    runs_per_arch = len(settings.targets) * len(settings.split_seeds)
    gpus = [int(n) for n in opts.gpus.split(",")]
    print(f"paper profile: {runs_per_arch} runs per architecture, split sizes {sizes}, "
          f"decode {decode:.3f} s/image on this CPU; GPU assumed at {opts.gpu_tflops:g} "
          f"TFLOP/s sustained\n")
    print("| arch | training GFLOP/image | CPU s/image | CPU GFLOP/s | GPU s/step (est.) "
          "| run on 1 GPU (est., min) | run on this CPU (est., h) |")
    print("|---|---|---|---|---|---|---|")
    total = []
    for arch in settings.archs:
        row = measure(arch, settings, opts.batch, opts.steps)
        rate = row["train_gflop_per_image"] / row["cpu_s_per_image"]
        gpu_per_image = row["train_gflop_per_image"] / (opts.gpu_tflops * 1e3)
        seconds = run_seconds(gpu_per_image, decode, settings, sizes, opts.cpus_per_run)
        cpu_hours = run_seconds(row["cpu_s_per_image"], decode, settings, sizes, 2) / 3600
        step = settings.batch_size * gpu_per_image
        total += [seconds] * runs_per_arch
        print(f"| {arch} | {row['train_gflop_per_image']:.0f} | {row['cpu_s_per_image']:.2f} "
              f"| {rate:.0f} | {step:.2f} | {seconds / 60:.0f} | {cpu_hours:.0f} |", flush=True)
    total.sort(reverse=True)
    print(f"\n{len(total)} runs; the grid on N GPUs (est., runs dealt out longest first):")
    for n in gpus:
        loads = [0.0] * n
        for seconds in total:
            loads[loads.index(min(loads))] += seconds
        print(f"- {n} GPU(s): {max(loads) / 3600:.1f} h ({math.ceil(len(total) / n)} runs "
              f"per GPU at most)")


if __name__ == "__main__":
    main()
