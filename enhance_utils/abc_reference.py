"""Plain, readable reference implementation of the automated ABC scores (chapter 03).

This module is the *oracle*: it favours clarity over speed and calls scikit-image exactly
as the published procedure did, so the fast implementation (:mod:`enhance_utils.abc_fast`)
is tested against it. Every function takes arrays (the loading, input checks and caching
live in :mod:`enhance_utils.automated_abc`) and returns a :class:`Result`, or raises
:class:`Skip` when the algorithm cannot score the lesion.

Two modes per feature:

``published``
    what produced the CSVs in ``enhance/automated/`` (recipe of issue 3): asymmetry works on
    the Otsu *background* of the mask and counts the zero padding of the warps as lesion;
    border scans the rotated float image for values exactly 1.0 and counts peaks; colour
    counts unique superpixel colours, with the six reference colours appended to that list.
``described``
    Appendix C of the paper as written: the lesion's own major axis through its centre of
    mass, lesion pixels only, turning points of the border function beyond the one per part
    that any convex outline has, and a unique colour covering "five per cent of the total
    amount of pixels of the region of interest" for colour.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks
from skimage.color import label2rgb
from skimage.draw import line
from skimage.filters import threshold_otsu
from skimage.measure import label, regionprops
from skimage.segmentation import slic
from skimage.transform import AffineTransform, rotate, warp

#: the six suspicious colours (RGB, 0..255) of Kasmi and Mokrani (2016), in the order the
#: published code appended them to the list of unique colours.
REFERENCE_COLOURS = {
    "white": (197, 188, 217),
    "black": (41, 31, 30),
    "red": (118, 21, 17),
    "light_brown": (163, 82, 16),
    "dark_brown": (135, 44, 5),
    "blue_gray": (113, 108, 139),
}

#: default parameters; every entry can be overridden per call (the chapter's explorer does)
DEFAULTS = {
    "A": {"symmetry_level": 0.9},
    "B": {"sigma": 0.5, "width": 15},
    "C": {"n_segments": 100, "distance": 0.4, "fraction": 0.05, "mask_level": 250},
}


class Skip(Exception):
    """The algorithm cannot score this lesion; the message says why."""


@dataclass
class Result:
    """One automated score: the score, its raw value(s) and notes on the input."""

    score: float
    raw: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


# =========================================================================== asymmetry
def _flip_ratios(lesion: np.ndarray) -> tuple[float, float]:
    """Overlap of a binary image with its up-down and left-right mirror, over its area."""
    area = lesion.sum()
    ratio_ud = (lesion & np.flipud(lesion)).sum() / area
    ratio_lr = (lesion & np.fliplr(lesion)).sum() / area
    return float(ratio_ud), float(ratio_lr)


def _asymmetry_result(ratio_ud: float, ratio_lr: float, level: float) -> Result:
    score = int(ratio_ud < level) + int(ratio_lr < level)
    return Result(score=score, raw={"ii": (ratio_ud + ratio_lr) / 2.0, "ratio_ud": ratio_ud,
                                    "ratio_lr": ratio_lr})


def centre_and_rotate(image: np.ndarray, centroid, orientation: float) -> np.ndarray:
    """The published pre-processing: translate, then rotate by -orientation, resizing.

    The translation is ``(rows/2 - centroid_row, cols/2 - centroid_col)`` passed to
    ``AffineTransform(translation=...)``, whose first component is the *column* shift: the
    published code mixed the axes, and this keeps that.
    """
    rows, cols = image.shape
    shift = (rows / 2 - centroid[0], cols / 2 - centroid[1])
    centred = warp(image, AffineTransform(translation=shift))
    angle = -orientation * (180 / math.pi)
    return rotate(centred, angle=angle, resize=True)


def asymmetry_published(gray: np.ndarray, symmetry_level: float = 0.9) -> Result:
    """Published asymmetry on a grey mask: ``raw['ii']`` is the mean flip-overlap ratio.

    The Otsu threshold keeps the pixels at or below it, the *background*; it must be one
    connected region. After centring and rotating that region, every pixel below 0.5 (the
    lesion and the zero padding of the warps) counts as lesion.
    """
    background = gray <= threshold_otsu(gray)
    labels, n_regions = label(background, return_num=True)
    if n_regions != 1:
        raise Skip(f"thresholded mask has {n_regions} connected background regions, not 1 "
                   "(lesion touching the border, holes, or several lesions)")
    region = regionprops(labels)[0]
    rotated = centre_and_rotate(background, region.centroid, region.orientation)
    lesion = rotated < 0.5
    return _asymmetry_result(*_flip_ratios(lesion), symmetry_level)


def lesion_crop(mask: np.ndarray, margin: int = 1) -> np.ndarray:
    """The lesion's bounding box with an empty frame of ``margin`` pixels, as ``uint8``."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise Skip("empty mask")
    crop = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return np.pad(crop, margin).astype(np.uint8)


def principal_axes(crop: np.ndarray):
    """Centre of mass (x, y) = (col, row) and unit vector (dx, dy) of the major axis."""
    m = cv2.moments(crop, binaryImage=True)
    centre = np.array([m["m10"] / m["m00"], m["m01"] / m["m00"]])
    theta = 0.5 * math.atan2(2 * m["mu11"], m["mu20"] - m["mu02"])
    return centre, np.array([math.cos(theta), math.sin(theta)])


def mirror_overlap(crop: np.ndarray, centre, direction) -> float:
    """Share of lesion pixels whose mirror image across the line (centre, direction), rounded
    to the nearest pixel, is lesion too (mirror points outside the crop are not lesion)."""
    d = np.asarray(direction, dtype=float)
    reflect = 2 * np.outer(d, d) - np.eye(2)          # reflection across the line, in (x, y)
    matrix = np.hstack([reflect, (centre - reflect @ centre)[:, None]])
    mirrored = cv2.warpAffine(crop, matrix, (crop.shape[1], crop.shape[0]),
                              flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return cv2.countNonZero(crop & mirrored) / cv2.countNonZero(crop)


def asymmetry_described(mask: np.ndarray, symmetry_level: float = 0.9) -> Result:
    """Appendix C: mirror the lesion across its major and its minor axis (both through the
    centre of mass) and divide the overlap by the lesion's own area (no padding counted)."""
    crop = lesion_crop(mask)
    centre, major = principal_axes(crop)
    minor = np.array([-major[1], major[0]])
    ratio_major = mirror_overlap(crop, centre, major)
    ratio_minor = mirror_overlap(crop, centre, minor)
    result = _asymmetry_result(ratio_major, ratio_minor, symmetry_level)
    result.raw = {"ii": result.raw["ii"], "ratio_major": ratio_major, "ratio_minor": ratio_minor}
    return result


# =========================================================================== border
def _largest_region(labels: np.ndarray):
    """The region of largest area; ties go to the later label, as the published code did."""
    best, best_area = None, 0
    for region in regionprops(labels):
        if region.area >= best_area:
            best, best_area = region, region.area
    return best


def _first_on_line(image, start, end):
    rr, cc = line(start[0], start[1], end[0], end[1])
    for r, c in zip(rr, cc):
        if image[r, c] == 1.0:
            return int(r), int(c)
    raise Skip("a line from a bounding-box corner to its centre meets no lesion pixel")


def border_profile_published(rotated: np.ndarray):
    """Bounding box, corner points and the concatenated border profile (published rules)."""
    labels = label(rotated)
    if labels.max() == 0:
        raise Skip("no pixel of the rotated mask is exactly 1.0")
    minr, minc, maxr, maxc = _largest_region(labels).bbox
    m = (int(minr + (maxr - minr) / 2), int(minc + (maxc - minc) / 2))
    try:
        w = _first_on_line(rotated, (minr, minc), m)
        v = _first_on_line(rotated, (minr, maxc), m)
        u = _first_on_line(rotated, (maxr, maxc), m)
        t = _first_on_line(rotated, (maxr, minc), m)
        top, right, bottom, left = [], [], [], []
        for col in range(w[1], v[1]):
            for row in range(minr, m[0]):
                if rotated[row, col] == 1.0:
                    top.append(row)
                    break
        for row in range(v[0], u[0]):
            for k in range(0, maxc - m[1]):
                if rotated[row, maxc - k] == 1.0:
                    right.append(2 * m[1] - (maxc - k))
                    break
        for k in range(0, u[1] - t[1]):
            for j in range(0, maxr - m[0]):
                if rotated[maxr - j, t[1] + k] == 1.0:
                    bottom.append(2 * m[0] - (maxr - j))
                    break
        for k in range(0, t[0] - w[0]):
            for j in range(0, m[1] - minc):
                if rotated[t[0] - k, minc + j] == 1.0:
                    left.append(minc + j)
                    break
    except IndexError:
        raise Skip("the border scan leaves the rotated image (lesion at the image edge)") from None
    parts = [top, right, bottom, left]
    if any(len(p) == 0 for p in parts):
        raise Skip("one of the four border parts is empty")
    profile = list(top)
    for part in parts[1:]:
        delta = profile[-1] - part[0]
        profile += [value + delta for value in part]
    box = {"bbox": [int(minr), int(minc), int(maxr), int(maxc)], "M": list(m),
           "W": list(w), "V": list(v), "U": list(u), "T": list(t),
           "lengths": [len(p) for p in parts]}
    return np.asarray(profile, dtype=np.int64), box


def smooth(profile: np.ndarray, sigma: float = 0.5, width: int = 15) -> np.ndarray:
    """The published Gaussian smoothing: window ``width`` expressed as a truncate factor."""
    truncate = ((width - 1) / 2 - 0.5) / sigma
    return gaussian_filter1d(profile, sigma=sigma, truncate=truncate)


def border_published(gray: np.ndarray, sigma: float = 0.5, width: int = 15) -> Result:
    """Published border score: peaks of the smoothed border profile of the rotated mask."""
    labels = label(gray)
    if labels.max() == 0:
        raise Skip("mask has no lesion pixel")
    region = _largest_region(labels)
    rotated = centre_and_rotate(gray, region.centroid, region.orientation)
    profile, box = border_profile_published(rotated)
    smoothed = smooth(profile, sigma, width)
    peaks, _ = find_peaks(smoothed, height=0)
    return Result(score=int(len(peaks)), raw={"n_profile": int(profile.size), **box})


def rotate_lesion(mask: np.ndarray):
    """Described pre-processing: the lesion rotated so that its major axis is horizontal and
    passes through its centre of mass (nearest neighbour), cropped to the rotated lesion.

    Returns the rotated binary lesion and the (row, col) of the centre of mass in it.
    """
    crop = lesion_crop(mask)
    centre, major = principal_axes(crop)
    minor = np.array([-major[1], major[0]])
    corners = np.array([[0, 0], [crop.shape[1] - 1, 0], [0, crop.shape[0] - 1],
                        [crop.shape[1] - 1, crop.shape[0] - 1]], dtype=float) - centre
    along, across = corners @ major, corners @ minor
    x0, y0 = math.floor(along.min()) - 1, math.floor(across.min()) - 1
    width = math.ceil(along.max()) + 2 - x0
    height = math.ceil(across.max()) + 2 - y0
    # canvas (u, v) -> crop (x, y) = centre + (u + x0) * major + (v + y0) * minor
    matrix = np.array([[major[0], minor[0], centre[0] + x0 * major[0] + y0 * minor[0]],
                       [major[1], minor[1], centre[1] + x0 * major[1] + y0 * minor[1]]])
    rotated = cv2.warpAffine(crop, matrix, (width, height),
                             flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    radius_r, radius_c = -y0, -x0
    rows, cols = np.flatnonzero(rotated.any(axis=1)), np.flatnonzero(rotated.any(axis=0))
    if rows.size == 0:
        raise Skip("empty mask after rotation")
    r0, c0 = max(rows[0] - 1, 0), max(cols[0] - 1, 0)
    rotated = rotated[r0:rows[-1] + 2, c0:cols[-1] + 2]
    return rotated, (radius_r - r0, radius_c - c0)


def _first_true(values: np.ndarray) -> int | None:
    hits = np.flatnonzero(values)
    return int(hits[0]) if hits.size else None


def border_profile_described(rotated: np.ndarray, centre):
    """Four border parts cut by the lines from the bounding-box corners to the centre of mass;
    each part's distance from the border to the box edge, in its outward direction."""
    rows, cols = np.nonzero(rotated)
    minr, maxr, minc, maxc = rows.min(), rows.max(), cols.min(), cols.max()
    cr, cc = int(round(centre[0])), int(round(centre[1]))
    corners = {"W": (minr, minc), "V": (minr, maxc), "U": (maxr, maxc), "T": (maxr, minc)}
    points = {}
    for name, corner in corners.items():
        rr, ccs = line(int(corner[0]), int(corner[1]), cr, cc)
        hit = _first_true(rotated[rr, ccs])
        if hit is None:
            raise Skip(f"the line from corner {name} to the centre of mass meets no lesion pixel")
        points[name] = (int(rr[hit]), int(ccs[hit]))
    w, v, u, t = points["W"], points["V"], points["U"], points["T"]
    top, right, bottom, left = [], [], [], []
    for col in range(w[1], v[1] + 1):            # clockwise: left to right along the top
        hit = _first_true(rotated[minr:cr + 1, col])
        if hit is not None:
            top.append(hit)
    for row in range(v[0], u[0] + 1):            # top to bottom along the right
        hit = _first_true(rotated[row, cc:maxc + 1][::-1])
        if hit is not None:
            right.append(hit)
    for col in range(u[1], t[1] - 1, -1):        # right to left along the bottom
        hit = _first_true(rotated[cr:maxr + 1, col][::-1])
        if hit is not None:
            bottom.append(hit)
    for row in range(t[0], w[0] - 1, -1):        # bottom to top along the left
        hit = _first_true(rotated[row, minc:cc + 1])
        if hit is not None:
            left.append(hit)
    profile = np.asarray(top + right + bottom + left, dtype=float)
    box = {"bbox": [int(minr), int(minc), int(maxr) + 1, int(maxc) + 1], "M": [cr, cc],
           "W": list(w), "V": list(v), "U": list(u), "T": list(t),
           "lengths": [len(top), len(right), len(bottom), len(left)]}
    return profile, box


def smooth_parts(profile: np.ndarray, lengths, sigma: float, width: int) -> np.ndarray:
    """:func:`smooth` applied to each part of a border function on its own (edges repeated),
    so that the jumps where two parts meet do not bleed into their neighbours."""
    truncate = ((width - 1) / 2 - 0.5) / sigma
    bounds = np.cumsum([0, *lengths])
    return np.concatenate([gaussian_filter1d(profile[a:b], sigma=sigma, truncate=truncate,
                                             mode="nearest")
                           for a, b in zip(bounds[:-1], bounds[1:]) if b > a])


def turning_points(values: np.ndarray, threshold: float | None = 1.0) -> int:
    """Number of turning points of a signal: the times it turns from rising to falling or
    back after moving by at least ``threshold`` from its last extreme (a zig-zag count).

    A run of equal or jittering values at the bottom of one dip is one turning point, not
    one per sample; the two ends of the signal are not turning points. ``None`` counts every
    strict reversal.
    """
    threshold = threshold or 1e-9
    count, direction = 0, 0
    high = low = values[0]
    for value in values[1:]:
        high, low = max(high, value), min(low, value)
        if direction >= 0 and value <= high - threshold:
            count += direction == 1
            direction, low = -1, value
        elif direction <= 0 and value >= low + threshold:
            count += direction == -1
            direction, high = 1, value
    return int(count)


def part_turning_points(smoothed: np.ndarray, lengths, prominence: float | None) -> list[int]:
    """:func:`turning_points` of each of the four parts of a border function on its own: the
    joins between parts are turns of the way the border was cut, not of the outline."""
    bounds = np.cumsum([0, *lengths])
    return [turning_points(smoothed[a:b], prominence) if b > a else 0
            for a, b in zip(bounds[:-1], bounds[1:])]


def border_described(mask: np.ndarray, sigma: float = 0.5, width: int = 15,
                     prominence: float = 1.0) -> Result:
    """Appendix C: turning points of the smoothed border function, beyond those of a convex
    outline.

    Each of the four parts (top, right, bottom, left) of the distance function of a convex
    lesion falls to one extremum, where the outline comes closest to that side of the box,
    and rises again: that one turning point per part is the box's, and a disc or an ellipse
    has nothing else. The score counts the turning points each part has beyond that one,
    so it is 0 for a smooth convex outline and grows with every notch and lobe. A turning
    point must stand out by ``prominence`` pixels, so that the one-pixel staircase of a
    digital border does not count.
    """
    rotated, centre = rotate_lesion(mask)
    profile, box = border_profile_described(rotated, centre)
    if profile.size < 3:
        raise Skip("border profile shorter than 3 samples")
    smoothed = smooth_parts(profile, box["lengths"], sigma, width)
    per_part = part_turning_points(smoothed, box["lengths"], prominence)
    extra = [max(count - 1, 0) for count in per_part]
    return Result(score=int(sum(extra)),
                  raw={"n_profile": int(profile.size), "turning_points": per_part, **box})


# =========================================================================== colour
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


def superpixel_image(image: np.ndarray, mask: np.ndarray, n_segments: int = 100):
    """SLIC superpixels inside ``mask`` and the image painted with each segment's mean colour
    (the outside of the mask is one more segment, as in the published code)."""
    segments = slic(image, n_segments=n_segments, mask=mask, start_label=1)
    painted = label2rgb(segments, image, kind="avg", bg_label=-1)
    return segments, painted


def colour_published(image: np.ndarray, gray: np.ndarray, n_segments: int = 100,
                     distance: float = 0.4, fraction: float = 0.05,
                     mask_level: int = 250) -> Result:
    """Published colour score: reference colours close to ≥ 5 % of the unique colours.

    As published, the six reference colours are appended to the unique colours before the
    counting, and only the reference colour itself is subtracted from its own count.
    """
    mask = gray > mask_level
    if not mask.any():
        raise Skip(f"no mask pixel above {mask_level}")
    _, painted = superpixel_image(image, mask, n_segments)
    unique = np.unique(painted.reshape(-1, 3), axis=0)
    refs = np.array(list(REFERENCE_COLOURS.values()))
    distances = colour_distances(np.vstack([unique, refs]))
    level = len(unique) * fraction
    counts = (distances <= distance).sum(axis=0) - 1
    present = [name for name, n in zip(REFERENCE_COLOURS, counts) if n >= level]
    return Result(score=len(present), raw={"colours": present, "n_unique": int(len(unique)),
                                           "counts": {k: int(n) for k, n in
                                                      zip(REFERENCE_COLOURS, counts)}})


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


def colour_described(image: np.ndarray, mask: np.ndarray, n_segments: int = 100,
                     distance: float = 0.4, fraction: float = 0.05) -> Result:
    """Appendix C: superpixels of the lesion only; a suspicious colour is present when one
    unique superpixel colour linked to it covers more than ``fraction`` of the lesion's
    pixels (:func:`present_colours`)."""
    if not mask.any():
        raise Skip("empty mask")
    segments = slic(image, n_segments=n_segments, mask=mask, start_label=1)
    labels = np.unique(segments[segments > 0])
    means = np.array([image[segments == k].mean(axis=0) for k in labels])
    sizes = np.array([(segments == k).sum() for k in labels])
    return colour_result(means, sizes, int(mask.sum()), distance, fraction)


def colour_result(means: np.ndarray, sizes: np.ndarray, total: int, distance: float,
                  fraction: float) -> Result:
    """The described colour score from superpixel mean colours and sizes."""
    colours, inverse = np.unique(means, axis=0, return_inverse=True)
    pixels = np.bincount(inverse.ravel(), weights=sizes, minlength=len(colours))
    present, share = present_colours(colours, pixels, total, distance, fraction)
    return Result(score=len(present), raw={"colours": present, "n_unique": int(len(colours)),
                                           "share": share})
