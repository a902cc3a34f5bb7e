"""Fast published border score: the same :class:`Result` as the oracle's, bit for bit.

The published procedure translates (bilinear) and rotates (bilinear) the full-resolution
mask with scikit-image and scans the result for values exactly 1.0. Here only those exact
1.0 pixels are found, inside a window around the lesion: the translation is evaluated
lazily and exactly (:class:`_Translated`), the rotation is done by OpenCV on a code image
and the pixels next to an edge are recomputed with scikit-image's arithmetic
(:func:`rotated_ones`); the scans along the box are vectorised (:func:`border_profile`).
Masks that this path does not cover (non-binary masks, ties between regions) go to the
reference implementation.
"""
from __future__ import annotations

import math
from functools import partial

import cv2
import numpy as np
from skimage.draw import line
from skimage.transform import SimilarityTransform

from ..core import Result, Skip
from ..reference import border as reference
from .geometry import (centroid_orientation, code_image, count_regions, region_moments,
                       rotation_transform, uncertain, warp_codes)
from .prepared import Prepared


class _Translated:
    """The published bilinear translation of a 0/1 mask, evaluated lazily and exactly."""

    def __init__(self, mask: np.ndarray, t_col: float, t_row: float, offset=(0, 0),
                 shape=None):
        # ``mask`` is the lesion's box at ``offset`` (row, col) of an image of ``shape``;
        # every pixel outside the box is 0
        self.mask, self.offset = mask, offset
        rows, cols = shape if shape is not None else mask.shape
        y = np.arange(rows, dtype=float) + t_row
        x = np.arange(cols, dtype=float) + t_col
        self.r0, self.r1 = np.floor(y).astype(np.int64), np.ceil(y).astype(np.int64)
        self.c0, self.c1 = np.floor(x).astype(np.int64), np.ceil(x).astype(np.int64)
        self.dr, self.dc = y - self.r0, x - self.c0
        self.shape = (rows, cols)

    def _pixel(self, r, c):
        rows, cols = self.mask.shape
        r, c = r - self.offset[0], c - self.offset[1]
        ok = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        out = np.zeros(r.shape, dtype=float)
        out[ok] = self.mask[r[ok], c[ok]]
        return out

    def values(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Translated image at integer pixels (r, c); 0 outside."""
        rows, cols = self.shape
        inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        out = np.zeros(r.shape, dtype=float)
        r, c = r[inside], c[inside]
        r0, r1, c0, c1 = self.r0[r], self.r1[r], self.c0[c], self.c1[c]
        dr, dc = self.dr[r], self.dc[c]
        top = (1 - dc) * self._pixel(r0, c0) + dc * self._pixel(r0, c1)
        bottom = (1 - dc) * self._pixel(r1, c0) + dc * self._pixel(r1, c1)
        out[inside] = (1 - dr) * top + dr * bottom
        return np.clip(out, 0.0, 1.0)

    def ones(self, rows: slice, cols: slice) -> np.ndarray:
        """Boolean window of pixels whose translated value is exactly 1.0 (all neighbours
        with a weight are lesion; see the module notes)."""
        r = np.arange(rows.start, rows.stop)
        c = np.arange(cols.start, cols.stop)
        out = None
        for rr in (self.r0[r], self.r1[r]):
            for cc in (self.c0[c], self.c1[c]):
                part = _take2d(self.mask, rr - self.offset[0], cc - self.offset[1])
                out = part if out is None else (out & part)
        return out


def _take2d(image: np.ndarray, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """``image[rr][:, cc]`` with False outside the image; slicing when rr, cc are runs."""
    rows, cols = image.shape
    if (rr.size > 1 and np.all(np.diff(rr) == 1)) and (cc.size > 1 and np.all(np.diff(cc) == 1)):
        out = np.zeros((rr.size, cc.size), dtype=image.dtype)
        a0, a1 = max(rr[0], 0), min(rr[-1] + 1, rows)
        b0, b1 = max(cc[0], 0), min(cc[-1] + 1, cols)
        if a1 > a0 and b1 > b0:
            out[a0 - rr[0]:a1 - rr[0], b0 - cc[0]:b1 - cc[0]] = image[a0:a1, b0:b1]
        return out
    okr = (rr >= 0) & (rr < rows)
    okc = (cc >= 0) & (cc < cols)
    out = np.zeros((rr.size, cc.size), dtype=image.dtype)
    out[np.ix_(okr, okc)] = image[np.ix_(rr[okr], cc[okc])]
    return out


def _bilinear_exact(source: _Translated, tform, out_r, out_c):
    """Rotated value at output pixels, with scikit-image's arithmetic (``_warp_fast``)."""
    m = tform.params
    c = out_c.astype(float)
    r = out_r.astype(float)
    x = m[0, 0] * c + m[0, 1] * r + m[0, 2]
    y = m[1, 0] * c + m[1, 1] * r + m[1, 2]
    minr, minc = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
    maxr, maxc = np.ceil(y).astype(np.int64), np.ceil(x).astype(np.int64)
    dr, dc = y - minr, x - minc
    top = (1 - dc) * source.values(minr, minc) + dc * source.values(minr, maxc)
    bottom = (1 - dc) * source.values(maxr, minc) + dc * source.values(maxr, maxc)
    return (1 - dr) * top + dr * bottom


class _Window:
    """Exact-1.0 pixels of the rotated image inside a window of the full output."""

    def __init__(self, ones: np.ndarray, origin, full_shape):
        self.ones, self.origin, self.full_shape = ones, origin, full_shape

    def at(self, r: int, c: int) -> bool:
        if r >= self.full_shape[0] or c >= self.full_shape[1]:
            raise IndexError
        r, c = r - self.origin[0], c - self.origin[1]
        if 0 <= r < self.ones.shape[0] and 0 <= c < self.ones.shape[1]:
            return bool(self.ones[r, c])
        return False

    def block(self, r0, r1, c0, c1) -> np.ndarray:
        """Window [r0, r1) × [c0, c1) of the full output (False outside the crop)."""
        out = np.zeros((max(r1 - r0, 0), max(c1 - c0, 0)), dtype=bool)
        if out.size == 0:
            return out
        if r1 > self.full_shape[0] or c1 > self.full_shape[1]:
            raise IndexError
        sr0, sc0 = r0 - self.origin[0], c0 - self.origin[1]
        a0, b0 = max(sr0, 0), max(sc0, 0)
        a1 = min(sr0 + out.shape[0], self.ones.shape[0])
        b1 = min(sc0 + out.shape[1], self.ones.shape[1])
        if a1 > a0 and b1 > b0:
            out[a0 - sr0:a1 - sr0, b0 - sc0:b1 - sc0] = self.ones[a0:a1, b0:b1]
        return out


def _first_on_line(win: _Window, start, end):
    rr, cc = line(start[0], start[1], end[0], end[1])
    for r, c in zip(rr, cc):
        if win.at(int(r), int(c)):
            return int(r), int(c)
    raise Skip("a line from a bounding-box corner to its centre meets no lesion pixel")


def _first_index(block: np.ndarray, axis: int):
    """First True along ``axis`` and whether there is one."""
    return block.argmax(axis=axis), block.any(axis=axis)


def border_profile(win: _Window, bbox):
    """:func:`enhance_utils.abc.reference.border.border_profile_published` on a window of
    exact-1.0 pixels, the four scans vectorised."""
    minr, minc, maxr, maxc = bbox
    try:
        m, w, v, u, t = reference.published_corners(bbox, partial(_first_on_line, win))
        top = right = bottom = left = np.zeros(0, dtype=np.int64)
        if v[1] > w[1] and m[0] > minr:
            first, hit = _first_index(win.block(minr, m[0], w[1], v[1]), 0)
            top = (minr + first[hit]).astype(np.int64)
        if u[0] > v[0] and maxc - m[1] > 0:
            # columns maxc, maxc-1, ..., m+1 (maxc first)
            block = win.block(v[0], u[0], m[1] + 1, maxc + 1)[:, ::-1]
            first, hit = _first_index(block, 1)
            right = (2 * m[1] - (maxc - first[hit])).astype(np.int64)
        if u[1] > t[1] and maxr - m[0] > 0:
            block = win.block(m[0] + 1, maxr + 1, t[1], u[1])[::-1, :]
            first, hit = _first_index(block, 0)
            bottom = (2 * m[0] - (maxr - first[hit])).astype(np.int64)
        if t[0] > w[0] and m[1] > minc:
            # rows t, t-1, ..., w+1
            block = win.block(w[0] + 1, t[0] + 1, minc, m[1])[::-1, :]
            first, hit = _first_index(block, 1)
            left = (minc + first[hit]).astype(np.int64)
    except IndexError:
        raise Skip("the border scan leaves the rotated image (lesion at the image edge)") from None
    parts = [top, right, bottom, left]
    if any(len(p) == 0 for p in parts):
        raise Skip("one of the four border parts is empty")
    pieces = [top]
    last = top[-1]
    for part in parts[1:]:
        shifted = part + (last - part[0])
        pieces.append(shifted)
        last = shifted[-1]
    box = reference.published_box(bbox, m, w, v, u, t, parts)
    return np.concatenate(pieces).astype(np.int64), box


def rotated_ones(gray):
    """The exact-1.0 pixels of the published centred and rotated mask, in a window.

    Returns a :class:`_Window`, or ``None`` when the fast path does not apply (the caller
    then uses the reference implementation). ``gray`` may be a :class:`Prepared`.
    """
    prep = Prepared.of(gray)
    gray = prep.gray
    if not prep.binary:
        return None
    # binary mask: the lesion (== 255) is the shared crop of the pixels > 127
    box, crop = prep.lesion
    if box is None:
        raise Skip("mask has no lesion pixel")
    if prep.n_components == 1:
        moments = prep.lesion_moments
    else:
        box_u8 = np.ascontiguousarray(crop).view(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(box_u8, connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        if np.count_nonzero(areas == areas.max()) > 1:
            return None  # tie: the reference decides by label order
        k = 1 + int(np.argmax(areas))
        x0, y0, w0, h0 = (int(v) for v in stats[k, :4])
        region = labels[y0:y0 + h0, x0:x0 + w0] == k
        moments = region_moments(region, (y0 + box[0], x0 + box[2]))
    centroid, orientation = centroid_orientation(moments)
    rows, cols = gray.shape
    lr0, lr_last, lc0, lc_last = box[0], box[1] - 1, box[2], box[3] - 1
    source = _Translated(crop, rows / 2 - centroid[0], cols / 2 - centroid[1],
                         offset=(box[0], box[2]), shape=gray.shape)
    # pixels of the translated image that can be non-zero: the lesion box shifted back
    t_row, t_col = cols / 2 - centroid[1], rows / 2 - centroid[0]
    r_lo = max(int(math.floor(lr0 - t_row)) - 2, 0)
    r_hi = min(int(math.ceil(lr_last - t_row)) + 3, rows)
    c_lo = max(int(math.floor(lc0 - t_col)) - 2, 0)
    c_hi = min(int(math.ceil(lc_last - t_col)) + 3, cols)
    if r_hi <= r_lo or c_hi <= c_lo:
        raise Skip("no pixel of the rotated mask is exactly 1.0")
    ones1 = source.ones(slice(r_lo, r_hi), slice(c_lo, c_hi))
    tform, out_shape = rotation_transform(gray.shape, -orientation * (180 / math.pi))
    # output window: forward-map the corners of the source window
    corners = np.array([[c_lo - 2, r_lo - 2], [c_hi + 1, r_lo - 2], [c_lo - 2, r_hi + 1],
                        [c_hi + 1, r_hi + 1]], dtype=float)
    out_corners = tform.inverse(corners)
    o_r0 = max(int(math.floor(out_corners[:, 1].min())) - 2, 0)
    o_c0 = max(int(math.floor(out_corners[:, 0].min())) - 2, 0)
    o_r1 = min(int(math.ceil(out_corners[:, 1].max())) + 3, out_shape[0])
    o_c1 = min(int(math.ceil(out_corners[:, 0].max())) + 3, out_shape[1])
    pad = 2
    code = code_image(ones1, pad)
    shift = SimilarityTransform(translation=(-c_lo, -r_lo)) if (r_lo or c_lo) else None
    local = tform + shift if shift is not None else tform
    codes = warp_codes(code, local, (o_r0, o_c0), (o_r1 - o_r0, o_c1 - o_c0), pad)
    ones = codes & 1
    ur, uc = uncertain(codes)
    if ur.size:
        exact = _bilinear_exact(source, tform, ur + o_r0, uc + o_c0)
        ones[ur, uc] = np.clip(exact, 0.0, 1.0) >= 1.0
    return _Window(ones.view(bool), (o_r0, o_c0), out_shape)


def border_published(gray, sigma: float = 0.5, width: int = 15) -> Result:
    """Fast :func:`enhance_utils.abc.reference.border.border_published` (``gray`` may be a
    :class:`Prepared`)."""
    prep = Prepared.of(gray)
    win = rotated_ones(prep)
    if win is None:
        return reference.border_published(prep.gray, sigma, width)
    ones_u8 = win.ones.view(np.uint8)
    n = count_regions(ones_u8) + 1
    if n < 2:
        raise Skip("no pixel of the rotated mask is exactly 1.0")
    if n == 2:
        # one region: its box is the box of all exact-1.0 pixels
        x0, y0, w0, h0 = cv2.boundingRect(ones_u8)
    else:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(ones_u8, connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        if np.count_nonzero(areas == areas.max()) > 1:
            return reference.border_published(prep.gray, sigma, width)
        k = 1 + int(np.argmax(areas))
        x0, y0, w0, h0 = (int(v) for v in stats[k, :4])
    bbox = (y0 + win.origin[0], x0 + win.origin[1], y0 + h0 + win.origin[0],
            x0 + w0 + win.origin[1])
    profile, box = border_profile(win, bbox)
    return reference.published_border_result(profile, box, sigma, width)[2]
