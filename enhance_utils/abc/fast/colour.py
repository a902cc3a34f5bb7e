"""Fast colour scores: per-label sums replace the per-segment loops and the ``np.unique``
over every pixel; they give bit-identical mean colours, so the same :class:`Result`."""
from __future__ import annotations

import numpy as np
from skimage.segmentation import slic

from ..core import Result, Skip
from ..reference.colour import described_colour_result, published_colour_result, published_mask


def _segment_colours(segments: np.ndarray, image: np.ndarray):
    """Per-label mean colour (float, bit-identical to ``image[mask].mean(axis=0)``) and size."""
    flat = segments.ravel()
    n = int(flat.max()) + 1
    sizes = np.bincount(flat, minlength=n)
    sums = np.stack([np.bincount(flat, weights=image[..., k].ravel(), minlength=n)
                     for k in range(3)], axis=1)
    present = np.flatnonzero(sizes)
    return present, sums[present] / sizes[present, None], sizes[present]


def colour_published(image: np.ndarray, gray: np.ndarray, n_segments: int = 100,
                     distance: float = 0.4, fraction: float = 0.05,
                     mask_level: int = 250) -> Result:
    """Fast :func:`enhance_utils.abc.reference.colour.colour_published`."""
    segments = slic(image, n_segments=n_segments, mask=published_mask(gray, mask_level),
                    start_label=1)
    _, means, _ = _segment_colours(segments, image)
    painted = means.astype(image.dtype)  # label2rgb(kind='avg') stores means in the image dtype
    return published_colour_result(np.unique(painted, axis=0), distance, fraction)


def colour_described(image: np.ndarray, mask: np.ndarray, n_segments: int = 100,
                     distance: float = 0.4, fraction: float = 0.05) -> Result:
    """Fast :func:`enhance_utils.abc.reference.colour.colour_described`."""
    if not mask.any():
        raise Skip("empty mask")
    segments = slic(image, n_segments=n_segments, mask=mask, start_label=1)
    labels, means, sizes = _segment_colours(segments, image)
    keep = labels > 0
    return described_colour_result(means[keep], sizes[keep], int(mask.sum()), distance,
                                   fraction)
