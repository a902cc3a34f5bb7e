"""Asymmetry (A), the oracle: the published procedure and Appendix C's description.

``published`` works on the Otsu *background* of the mask and counts the zero padding of the
warps as lesion; ``described`` mirrors the lesion across its own major and minor axis
through its centre of mass. The ``*_steps`` functions return every intermediate image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.filters import threshold_otsu
from skimage.measure import label, regionprops
from skimage.transform import AffineTransform, rotate, warp

from ..core import Result, Skip


@dataclass(frozen=True)
class AsymmetryPublishedSteps:
    """The published asymmetry of one mask, step by step."""

    background: np.ndarray   #: pixels at or below the Otsu threshold (one region)
    centroid: tuple          #: (row, col) of the background region
    orientation: float       #: of the background region, radians
    rotated: np.ndarray      #: the background centred and rotated (float)
    lesion: np.ndarray       #: ``rotated < 0.5``: the lesion and the warps' padding
    result: Result


@dataclass(frozen=True)
class AsymmetryDescribedSteps:
    """Appendix C's asymmetry of one lesion, step by step (all in the crop's pixels)."""

    crop: np.ndarray            #: the lesion's box with a one-pixel empty frame
    centre: np.ndarray          #: centre of mass (x, y) = (col, row)
    major: np.ndarray           #: unit vector (dx, dy) of the major axis
    minor: np.ndarray           #: unit vector of the minor axis
    mirrored_major: np.ndarray  #: the crop mirrored across the major axis
    mirrored_minor: np.ndarray  #: the crop mirrored across the minor axis
    result: Result


def asymmetry_result(first: float, second: float, level: float,
                     names=("ratio_ud", "ratio_lr")) -> Result:
    """Score (axes whose overlap ratio is below ``level``) and raw ratios of two axes."""
    score = int(first < level) + int(second < level)
    return Result(score=score, raw={"ii": (first + second) / 2.0, names[0]: first,
                                    names[1]: second})


def flip_ratios(lesion: np.ndarray) -> tuple[float, float]:
    """Overlap of a binary image with its up-down and left-right mirror, over its area."""
    area = lesion.sum()
    ratio_ud = (lesion & np.flipud(lesion)).sum() / area
    ratio_lr = (lesion & np.fliplr(lesion)).sum() / area
    return float(ratio_ud), float(ratio_lr)


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


def asymmetry_published_steps(gray: np.ndarray,
                              symmetry_level: float = 0.9) -> AsymmetryPublishedSteps:
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
    result = asymmetry_result(*flip_ratios(lesion), symmetry_level)
    return AsymmetryPublishedSteps(background, region.centroid, region.orientation, rotated,
                                   lesion, result)


def asymmetry_published(gray: np.ndarray, symmetry_level: float = 0.9) -> Result:
    """The :class:`Result` of :func:`asymmetry_published_steps`."""
    return asymmetry_published_steps(gray, symmetry_level).result


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


def mirror(crop: np.ndarray, centre, direction) -> np.ndarray:
    """The crop mirrored across the line (centre, direction), each pixel's mirror point
    rounded to the nearest pixel (mirror points outside the crop are not lesion)."""
    d = np.asarray(direction, dtype=float)
    reflect = 2 * np.outer(d, d) - np.eye(2)          # reflection across the line, in (x, y)
    matrix = np.hstack([reflect, (centre - reflect @ centre)[:, None]])
    return cv2.warpAffine(crop, matrix, (crop.shape[1], crop.shape[0]),
                          flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def overlap(crop: np.ndarray, mirrored: np.ndarray) -> float:
    """Share of the lesion pixels whose mirror image is lesion too."""
    return cv2.countNonZero(crop & mirrored) / cv2.countNonZero(crop)


def asymmetry_described_steps(mask: np.ndarray,
                              symmetry_level: float = 0.9) -> AsymmetryDescribedSteps:
    """Appendix C: mirror the lesion across its major and its minor axis (both through the
    centre of mass) and divide the overlap by the lesion's own area (no padding counted)."""
    crop = lesion_crop(mask)
    centre, major = principal_axes(crop)
    minor = np.array([-major[1], major[0]])
    mirrored_major = mirror(crop, centre, major)
    mirrored_minor = mirror(crop, centre, minor)
    result = asymmetry_result(overlap(crop, mirrored_major), overlap(crop, mirrored_minor),
                              symmetry_level, names=("ratio_major", "ratio_minor"))
    return AsymmetryDescribedSteps(crop, centre, major, minor, mirrored_major, mirrored_minor,
                                   result)


def asymmetry_described(mask: np.ndarray, symmetry_level: float = 0.9) -> Result:
    """The :class:`Result` of :func:`asymmetry_described_steps`."""
    return asymmetry_described_steps(mask, symmetry_level).result
