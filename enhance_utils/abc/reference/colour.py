"""Colour (C), the oracle: the published procedure and Appendix C's description.

Both paint SLIC superpixels with their mean colour and compare the colours with the six
reference colours (:data:`~enhance_utils.abc.core.REFERENCE_COLOURS`). ``published`` counts
unique colours with the six references appended to that list; ``described`` needs one unique
colour linked to a reference colour to cover five per cent of the lesion's pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.color import label2rgb
from skimage.segmentation import slic

from ..core import REFERENCE_COLOURS, Result, Skip


@dataclass(frozen=True)
class ColourPublishedSteps:
    """The published colour score of one lesion, step by step."""

    mask: np.ndarray      #: pixels of the grey mask above ``mask_level``
    segments: np.ndarray  #: SLIC labels (the outside of the mask is one more segment)
    painted: np.ndarray   #: the image painted with each segment's mean colour
    unique: np.ndarray    #: the unique colours of ``painted``
    result: Result


@dataclass(frozen=True)
class ColourDescribedSteps:
    """Appendix C's colour score of one lesion, step by step."""

    segments: np.ndarray  #: SLIC labels inside the lesion (0 outside)
    means: np.ndarray     #: mean colour of each superpixel
    sizes: np.ndarray     #: pixels of each superpixel
    result: Result


def colour_distances(colours: np.ndarray) -> np.ndarray:
    """Euclidean distance in RGB/255 of each colour (rows) to each reference colour (cols)."""
    norm = np.asarray(colours, dtype=float) / 255.0
    out = np.empty((len(norm), len(REFERENCE_COLOURS)))
    for j, ref in enumerate(REFERENCE_COLOURS.values()):
        ref_norm = np.asarray(ref, dtype=float) / 255.0
        diff = ref_norm[None, :] - norm
        out[:, j] = np.sqrt((diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1])
                            + diff[:, 2] * diff[:, 2])
    return out


# =========================================================================== published
def published_mask(gray: np.ndarray, mask_level: int = 250) -> np.ndarray:
    """The pixels the published colour score reads: those of the mask above ``mask_level``."""
    mask = gray > mask_level
    if not mask.any():
        raise Skip(f"no mask pixel above {mask_level}")
    return mask


def superpixel_image(image: np.ndarray, mask: np.ndarray, n_segments: int = 100):
    """SLIC superpixels inside ``mask`` and the image painted with each segment's mean colour
    (the outside of the mask is one more segment, as in the published code)."""
    segments = slic(image, n_segments=n_segments, mask=mask, start_label=1)
    painted = label2rgb(segments, image, kind="avg", bg_label=-1)
    return segments, painted


def published_colour_result(unique: np.ndarray, distance: float, fraction: float) -> Result:
    """The published count from the unique painted colours: a reference colour is present
    when at least ``fraction`` of the unique colours lie within ``distance`` of it.

    As published, the six reference colours are appended to the unique colours before the
    counting, and only the reference colour itself is subtracted from its own count.
    """
    refs = np.array(list(REFERENCE_COLOURS.values()))
    distances = colour_distances(np.vstack([unique, refs]))
    level = len(unique) * fraction
    counts = (distances <= distance).sum(axis=0) - 1
    present = [name for name, n in zip(REFERENCE_COLOURS, counts) if n >= level]
    return Result(score=len(present), raw={"colours": present, "n_unique": int(len(unique)),
                                           "counts": {k: int(n) for k, n in
                                                      zip(REFERENCE_COLOURS, counts)}})


def colour_published_steps(image: np.ndarray, gray: np.ndarray, n_segments: int = 100,
                           distance: float = 0.4, fraction: float = 0.05,
                           mask_level: int = 250) -> ColourPublishedSteps:
    """Published colour score: reference colours close to ≥ 5 % of the unique colours."""
    mask = published_mask(gray, mask_level)
    segments, painted = superpixel_image(image, mask, n_segments)
    unique = np.unique(painted.reshape(-1, 3), axis=0)
    result = published_colour_result(unique, distance, fraction)
    return ColourPublishedSteps(mask, segments, painted, unique, result)


def colour_published(image: np.ndarray, gray: np.ndarray, n_segments: int = 100,
                     distance: float = 0.4, fraction: float = 0.05,
                     mask_level: int = 250) -> Result:
    """The :class:`Result` of :func:`colour_published_steps`."""
    return colour_published_steps(image, gray, n_segments, distance, fraction,
                                  mask_level).result


# =========================================================================== described
def present_colours(colours: np.ndarray, pixels: np.ndarray, total: int,
                    distance: float = 0.4, fraction: float = 0.05):
    """Appendix C, steps 4 to 6: which suspicious colours a lesion shows.

    Each unique colour is linked to its nearest suspicious colour when their distance is
    below ``distance`` (step 5); a suspicious colour is present when at least one unique
    colour linked to it covers more than ``fraction`` of the ``total`` lesion pixels on its
    own (step 6), not when the linked colours do together.

    Returns the names present and, per suspicious colour, the largest share of the lesion
    that one linked unique colour covers.
    """
    distances = colour_distances(colours)
    nearest = distances.argmin(axis=1)
    linked = distances[np.arange(len(colours)), nearest] < distance
    shares = np.asarray(pixels, dtype=float) / total
    largest = {}
    for j, name in enumerate(REFERENCE_COLOURS):
        mine = shares[linked & (nearest == j)]
        largest[name] = float(mine.max()) if mine.size else 0.0
    present = [name for name, share in largest.items() if share > fraction]
    return present, largest


def described_colour_result(means: np.ndarray, sizes: np.ndarray, total: int,
                            distance: float, fraction: float) -> Result:
    """The described colour score from superpixel mean colours and sizes."""
    colours, inverse = np.unique(means, axis=0, return_inverse=True)
    pixels = np.bincount(inverse.ravel(), weights=sizes, minlength=len(colours))
    present, share = present_colours(colours, pixels, total, distance, fraction)
    return Result(score=len(present), raw={"colours": present, "n_unique": int(len(colours)),
                                           "share": share})


def colour_described_steps(image: np.ndarray, mask: np.ndarray, n_segments: int = 100,
                           distance: float = 0.4, fraction: float = 0.05) -> ColourDescribedSteps:
    """Appendix C: superpixels of the lesion only; a suspicious colour is present when one
    unique superpixel colour linked to it covers more than ``fraction`` of the lesion's
    pixels (:func:`present_colours`)."""
    if not mask.any():
        raise Skip("empty mask")
    segments = slic(image, n_segments=n_segments, mask=mask, start_label=1)
    labels = np.unique(segments[segments > 0])
    means = np.array([image[segments == k].mean(axis=0) for k in labels])
    sizes = np.array([(segments == k).sum() for k in labels])
    result = described_colour_result(means, sizes, int(mask.sum()), distance, fraction)
    return ColourDescribedSteps(segments, means, sizes, result)


def colour_described(image: np.ndarray, mask: np.ndarray, n_segments: int = 100,
                     distance: float = 0.4, fraction: float = 0.05) -> Result:
    """The :class:`Result` of :func:`colour_described_steps`."""
    return colour_described_steps(image, mask, n_segments, distance, fraction).result
