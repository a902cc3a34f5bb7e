"""tf.data input pipeline against the original one-image-at-a-time generator (issue: ≥ 5×).

Both produce augmented batches of the same ISIC images at the same size; the tf.data pipeline
decodes each image once (cache), augments whole batches and prefetches, the generator loads,
resizes and augments every image in Python on every epoch, as the published code did.

Usage: ``ENHANCE_DATA_DIR=../shared/data python benchmarks/bench_pipeline.py [--images 200]
[--epochs 10] [--size 384] [--batch 20]``

Run it on an otherwise idle machine: the tf.data pipeline uses every core, the generator one,
so a busy machine understates the difference.
"""
from __future__ import annotations

import argparse
import statistics
import time

from enhance_utils.data import datasets
from enhance_utils.learning import models, pipeline


def _time_tfdata(paths, labels, args) -> list[float]:
    """Seconds per epoch; the first one also decodes and caches the images."""
    data = pipeline.make_dataset(paths, labels, args.size, args.batch,
                                 models.preprocess_input("small"), training=True)
    seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        for _batch in data:
            pass
        seconds.append(time.perf_counter() - start)
    return seconds


def _time_naive(paths, args) -> float:
    batches = pipeline.naive_batches(paths, args.size, args.batch)
    per_epoch = -(-len(paths) // args.batch)
    start = time.perf_counter()
    for _ in range(args.epochs * per_epoch):
        next(batches)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    gt = datasets.isic_ground_truth().head(args.images)
    paths = [datasets.isic_image_path(i) for i in gt.lesion_id]
    epochs = _time_tfdata(paths, gt.label, args)
    fast = sum(epochs)
    slow = _time_naive(paths, args)
    n = args.images * args.epochs
    print(f"{args.images} images x {args.epochs} epochs at {args.size} px, batch {args.batch}")
    print(f"naive generator: {slow:7.1f} s  ({n / slow:6.1f} images/s)")
    print(f"tf.data:         {fast:7.1f} s  ({n / fast:6.1f} images/s; first epoch "
          f"{epochs[0]:.1f} s with decoding and tracing, later epochs "
          f"{statistics.median(epochs[1:] or epochs):.2f} s median)")
    steady = statistics.median(epochs[1:] or epochs)
    naive_epoch = slow / args.epochs
    print(f"speed-up over the whole run: {slow / fast:.1f}x; per epoch once cached: "
          f"{naive_epoch / steady:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
