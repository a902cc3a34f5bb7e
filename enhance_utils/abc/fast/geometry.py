"""Geometry shared by the fast asymmetry and border: exact moments, scikit-image's rotation
and nearest-neighbour rules, OpenCV warps of *code* images, region counts.

The rotation is done by ``cv2.warpAffine`` (nearest neighbour) on a code image that marks,
besides the value, every pixel whose 3×3 neighbourhood is mixed (:func:`code_image`). Only
output pixels that land on such a pixel (:func:`uncertain`) can differ from
scikit-image's result; the callers recompute them exactly with scikit-image's own transform
(:func:`source_points`) and interpolation formula.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from skimage.filters import threshold_otsu
from skimage.transform import SimilarityTransform

cv2.setNumThreads(1)
_KERNEL3 = np.ones((3, 3), np.uint8)


def otsu(gray: np.ndarray, hist: np.ndarray | None = None) -> float:
    """``threshold_otsu(gray)`` from a 256-bin histogram for ``uint8`` images."""
    if gray.dtype != np.uint8:
        return threshold_otsu(gray)
    if hist is None:
        hist = cv2.calcHist([np.ascontiguousarray(gray)], [0], None, [256], [0, 256])
    counts = hist.ravel().astype(np.int64)
    present = np.flatnonzero(counts)
    if present.size == 1:
        return gray.reshape(-1)[0]
    lo, hi = present[0], present[-1]
    return threshold_otsu(hist=(counts[lo:hi + 1], np.arange(lo, hi + 1)))


def region_moments(mask: np.ndarray, offset=(0, 0)):
    """Exact integer raw moments (n, Σr, Σc, Σr², Σc², Σrc) of a binary mask.

    ``cv2.moments`` sums integer pixel coordinates of a ``uint8`` image in tiles, so its
    sums are exact integers (well below 2**53 for any mask here); ``offset`` (row, col) moves
    them to full-image coordinates with exact integer arithmetic.
    """
    m = cv2.moments(mask.view(np.uint8) if mask.dtype == bool else mask, binaryImage=True)
    n, sc, sr = int(m["m00"]), int(m["m10"]), int(m["m01"])
    scc, srr, src = int(m["m20"]), int(m["m02"]), int(m["m11"])
    o_r, o_c = offset
    srr += 2 * o_r * sr + n * o_r * o_r
    scc += 2 * o_c * sc + n * o_c * o_c
    src += o_r * sc + o_c * sr + n * o_r * o_c
    sr += n * o_r
    sc += n * o_c
    return n, sr, sc, srr, scc, src


def rectangle_moments(rows: int, cols: int):
    """Raw moments of a full ``rows`` × ``cols`` rectangle starting at (0, 0)."""
    sr1, sc1 = rows * (rows - 1) // 2, cols * (cols - 1) // 2
    srr1 = (rows - 1) * rows * (2 * rows - 1) // 6
    scc1 = (cols - 1) * cols * (2 * cols - 1) // 6
    return rows * cols, sr1 * cols, sc1 * rows, srr1 * cols, scc1 * rows, sr1 * sc1


def centroid_orientation(moments):
    """Centroid and orientation as ``regionprops`` defines them, from exact moments."""
    n, sr, sc, srr, scc, src = moments
    centroid = (sr / n, sc / n)
    n2 = n * n
    a = (n * scc - sc * sc) / n2           # mu02 / mu00
    c = (n * srr - sr * sr) / n2           # mu20 / mu00
    b = -((n * src - sr * sc) / n2)        # -mu11 / mu00
    if a - c == 0:
        orientation = math.pi / 4.0 if b < 0 else -math.pi / 4.0
    else:
        orientation = 0.5 * math.atan2(-2 * b, c - a)
    return centroid, orientation


def rotation_transform(shape, angle: float):
    """The transform and output shape of ``skimage.transform.rotate(..., resize=True)``."""
    rows, cols = shape
    center = np.array((cols, rows)) / 2.0 - 0.5
    tform = (SimilarityTransform(translation=-center)
             + SimilarityTransform(rotation=np.deg2rad(angle))
             + SimilarityTransform(translation=center))
    corners = np.array([[0, 0], [0, rows - 1], [cols - 1, rows - 1], [cols - 1, 0]])
    corners = tform.inverse(corners)
    minc, minr = corners[:, 0].min(), corners[:, 1].min()
    maxc, maxr = corners[:, 0].max(), corners[:, 1].max()
    out_shape = np.around((maxr - minr + 1, maxc - minc + 1))
    tform = SimilarityTransform(translation=(minc, minr)) + tform
    tform.params[2] = (0, 0, 1)
    return tform, (int(out_shape[0]), int(out_shape[1]))


def nearest_index(coord: np.ndarray, size: int):
    """Index that scikit-image's nearest-neighbour ``warp`` reads (``ndimage`` order 0,
    mode ``grid-constant``: round half up, then out of range reads 0), -1 if none."""
    idx = np.floor(coord + 0.5).astype(np.int64)
    return np.where((idx >= 0) & (idx < size), idx, -1)


def code_image(binary: np.ndarray, pad: int = 2) -> np.ndarray:
    """uint8 image: 1 where ``binary``, +2 where the 3×3 neighbourhood is mixed; zero-padded."""
    padded = cv2.copyMakeBorder(binary.view(np.uint8) if binary.dtype == bool else binary,
                                pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    gradient = cv2.morphologyEx(padded, cv2.MORPH_GRADIENT, _KERNEL3)
    return cv2.add(padded, cv2.add(gradient, gradient))


def count_regions(binary: np.ndarray) -> int:
    """Number of connected (8) regions of the non-zero pixels of a 2-D image.

    Same count as ``cv2.connectedComponents(binary, connectivity=8)[0] - 1``, from the
    contour tracing of ``cv2.findContours`` (non-zero pixels 8-connected; every region has
    exactly one outer border, the top level of the two-level hierarchy), which only follows
    the borders and is several times faster on large masks.
    """
    image = binary.view(np.uint8) if binary.dtype == bool else binary
    padded = cv2.copyMakeBorder(np.ascontiguousarray(image), 1, 1, 1, 1,
                                cv2.BORDER_CONSTANT, value=0)
    _, hierarchy = cv2.findContours(padded, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return 0
    return int(np.count_nonzero(hierarchy.reshape(-1, 4)[:, 3] < 0))


def uncertain(codes: np.ndarray):
    """(rows, cols) of the pixels whose code says 'mixed neighbourhood'."""
    points = cv2.findNonZero(cv2.compare(codes, 2, cv2.CMP_GE))
    if points is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    points = points.reshape(-1, 2).astype(np.int64)
    return points[:, 1], points[:, 0]


def warp_codes(code: np.ndarray, tform, out_origin, out_size, pad: int) -> np.ndarray:
    """Nearest-neighbour warp of a code image onto an output window.

    ``tform`` maps output (col, row) to source (col, row); the output window starts at
    ``out_origin`` (row, col) of the full output; ``code`` is the source padded by ``pad``.
    """
    m = tform.params
    r0, c0 = out_origin
    matrix = np.array([[m[0, 0], m[0, 1], m[0, 0] * c0 + m[0, 1] * r0 + m[0, 2] + pad],
                       [m[1, 0], m[1, 1], m[1, 0] * c0 + m[1, 1] * r0 + m[1, 2] + pad]])
    return cv2.warpAffine(code, matrix, (out_size[1], out_size[0]),
                          flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def source_points(tform, rows: np.ndarray, cols: np.ndarray):
    """Source (row, col) of output pixels, computed as scikit-image computes them."""
    points = np.column_stack([cols, rows]).astype(np.float64)
    mapped = tform(points)
    return mapped[:, 1], mapped[:, 0]

