"""Border (B), the oracle: the published procedure and Appendix C's description.

``published`` scans the rotated float mask for values exactly 1.0 from lines to the centre
of the bounding box and counts the peaks of the joined profile; ``described`` measures the
border from lines to the centre of mass and counts, part by part, the turning points beyond
the one that any convex outline has. The ``*_steps`` functions return every intermediate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks
from skimage.draw import line
from skimage.measure import label, regionprops

from ..core import Result, Skip
from .asymmetry import centre_and_rotate, lesion_crop, principal_axes


@dataclass(frozen=True)
class BorderPublishedSteps:
    """The published border score of one mask, step by step."""

    rotated: np.ndarray   #: the mask centred and rotated (float); 1.0 = lesion for the scan
    profile: np.ndarray   #: the four border parts joined
    box: dict             #: bounding box, its centre M and the corner points W, V, U, T
    smoothed: np.ndarray  #: the profile smoothed (:func:`smooth`)
    peaks: np.ndarray     #: indices of the peaks; their number is the score
    result: Result


@dataclass(frozen=True)
class BorderDescribedSteps:
    """Appendix C's border score of one lesion, step by step."""

    rotated: np.ndarray     #: the lesion with its major axis horizontal (:func:`rotate_lesion`)
    centre: tuple           #: (row, col) of the centre of mass in ``rotated``
    profile: np.ndarray     #: distance of the border to the box edge, clockwise
    box: dict               #: bounding box, centre of mass M, corner points, part lengths
    smoothed: np.ndarray    #: the profile smoothed part by part (:func:`smooth_parts`)
    turning_points: list    #: per part (:func:`part_turning_points`)
    result: Result


# =========================================================================== published
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


def published_corners(bbox, first_hit):
    """``(M, W, V, U, T)``: the centre M of the box ``(minr, minc, maxr, maxc)`` and the points
    where the lines from its corners to M first meet the lesion (``first_hit(start, end)``)."""
    minr, minc, maxr, maxc = bbox
    m = (int(minr + (maxr - minr) / 2), int(minc + (maxc - minc) / 2))
    corners = [(minr, minc), (minr, maxc), (maxr, maxc), (maxr, minc)]
    return (m, *[first_hit(corner, m) for corner in corners])


def _published_parts(rotated, minr, minc, maxr, maxc, m, w, v, u, t):
    """The four border parts (top, right, bottom, left) as the published loops scan them."""
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
    return [top, right, bottom, left]


def published_box(bbox, m, w, v, u, t, parts) -> dict:
    """The published scan as ``raw`` records it: the bounding box, its centre M, the corner
    points W, V, U, T and the lengths of the four border parts."""
    minr, minc, maxr, maxc = bbox
    return {"bbox": [int(minr), int(minc), int(maxr), int(maxc)], "M": list(m),
            "W": list(w), "V": list(v), "U": list(u), "T": list(t),
            "lengths": [len(p) for p in parts]}


def border_profile_published(rotated: np.ndarray):
    """Bounding box, corner points and the concatenated border profile (published rules)."""
    labels = label(rotated)
    if labels.max() == 0:
        raise Skip("no pixel of the rotated mask is exactly 1.0")
    minr, minc, maxr, maxc = bbox = _largest_region(labels).bbox
    try:
        m, w, v, u, t = published_corners(bbox, partial(_first_on_line, rotated))
        parts = _published_parts(rotated, minr, minc, maxr, maxc, m, w, v, u, t)
    except IndexError:
        raise Skip("the border scan leaves the rotated image (lesion at the image edge)") from None
    if any(len(p) == 0 for p in parts):
        raise Skip("one of the four border parts is empty")
    profile = list(parts[0])
    for part in parts[1:]:
        delta = profile[-1] - part[0]
        profile += [value + delta for value in part]
    box = published_box((minr, minc, maxr, maxc), m, w, v, u, t, parts)
    return np.asarray(profile, dtype=np.int64), box


def smooth(profile: np.ndarray, sigma: float = 0.5, width: int = 15) -> np.ndarray:
    """The published Gaussian smoothing: window ``width`` expressed as a truncate factor."""
    truncate = ((width - 1) / 2 - 0.5) / sigma
    return gaussian_filter1d(profile, sigma=sigma, truncate=truncate)


def published_border_result(profile: np.ndarray, box: dict, sigma: float, width: int):
    """``(smoothed, peaks, result)``: the published score of a border profile."""
    smoothed = smooth(profile, sigma, width)
    peaks, _ = find_peaks(smoothed, height=0)
    result = Result(score=int(len(peaks)), raw={"n_profile": int(profile.size), **box})
    return smoothed, peaks, result


def border_published_steps(gray: np.ndarray, sigma: float = 0.5,
                           width: int = 15) -> BorderPublishedSteps:
    """Published border score: peaks of the smoothed border profile of the rotated mask."""
    labels = label(gray)
    if labels.max() == 0:
        raise Skip("mask has no lesion pixel")
    region = _largest_region(labels)
    rotated = centre_and_rotate(gray, region.centroid, region.orientation)
    profile, box = border_profile_published(rotated)
    smoothed, peaks, result = published_border_result(profile, box, sigma, width)
    return BorderPublishedSteps(rotated, profile, box, smoothed, peaks, result)


def border_published(gray: np.ndarray, sigma: float = 0.5, width: int = 15) -> Result:
    """The :class:`Result` of :func:`border_published_steps`."""
    return border_published_steps(gray, sigma, width).result


# =========================================================================== described
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


def _corner_points(rotated, minr, minc, maxr, maxc, cr, cc):
    """Where the lines from the box corners to the centre of mass first meet the lesion."""
    corners = {"W": (minr, minc), "V": (minr, maxc), "U": (maxr, maxc), "T": (maxr, minc)}
    points = {}
    for name, corner in corners.items():
        rr, ccs = line(int(corner[0]), int(corner[1]), cr, cc)
        hit = _first_true(rotated[rr, ccs])
        if hit is None:
            raise Skip(f"the line from corner {name} to the centre of mass meets no lesion pixel")
        points[name] = (int(rr[hit]), int(ccs[hit]))
    return points


def border_profile_described(rotated: np.ndarray, centre):
    """Four border parts cut by the lines from the bounding-box corners to the centre of mass;
    each part's distance from the border to the box edge, in its outward direction."""
    rows, cols = np.nonzero(rotated)
    minr, maxr, minc, maxc = rows.min(), rows.max(), cols.min(), cols.max()
    cr, cc = int(round(centre[0])), int(round(centre[1]))
    points = _corner_points(rotated, minr, minc, maxr, maxc, cr, cc)
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


def border_described_steps(mask: np.ndarray, sigma: float = 0.5, width: int = 15,
                           prominence: float = 1.0) -> BorderDescribedSteps:
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
    result = Result(score=int(sum(extra)),
                    raw={"n_profile": int(profile.size), "turning_points": per_part, **box})
    return BorderDescribedSteps(rotated, centre, profile, box, smoothed, per_part, result)


def border_described(mask: np.ndarray, sigma: float = 0.5, width: int = 15,
                     prominence: float = 1.0) -> Result:
    """The :class:`Result` of :func:`border_described_steps`."""
    return border_described_steps(mask, sigma, width, prominence).result
