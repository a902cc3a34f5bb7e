"""Fast published asymmetry: the same :class:`Result` as the oracle's, bit for bit.

The published procedure warps the full-resolution background (up to 30 Mpx) twice with
scikit-image. Here the translation is an integer shift (nearest neighbour, done by
slicing), the centroid and orientation come from exact integer moments, and the flip
overlaps are counted on a window around the lesion: the rotated background is the rotated
support of the translated image (a rotated rectangle, counted row by row) minus the rotated
lesion (:func:`flip_counts_window`). When a condition of that path does not hold, the whole
rotated image is built (:func:`flip_counts_full`).
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from skimage.transform import SimilarityTransform

from ..core import Result, Skip
from ..reference.asymmetry import asymmetry_result
from .geometry import (centroid_orientation, code_image, count_regions, nearest_index,
                       rectangle_moments, region_moments, rotation_transform, source_points,
                       uncertain, warp_codes)
from .prepared import Prepared


def _lesion_above(prep: Prepared, threshold: float):
    """``(box, crop, background)``: the box and crop of the pixels above the Otsu threshold,
    and the whole background (``None`` when the shared lesion crop of a binary mask serves)."""
    if prep.binary and 0 <= threshold < 255:
        # the pixels above the threshold are the non-zero ones: the shared lesion crop
        box, crop = prep.lesion
        return box, crop, None
    background = prep.gray <= threshold
    lesion = ~background
    lr = np.flatnonzero(lesion.any(axis=1))
    if not lr.size:
        return None, None, background
    lc = np.flatnonzero(lesion.any(axis=0))
    box = (int(lr[0]), int(lr[-1]) + 1, int(lc[0]), int(lc[-1]) + 1)
    return box, lesion[box[0]:box[1], box[2]:box[3]], background


def _background_regions(gray: np.ndarray, box, background) -> int:
    """Connected (8) background regions, counted in the lesion's box plus a frame."""
    if box is None:
        return 1
    rows, cols = gray.shape
    r0, r1 = max(box[0] - 1, 0), min(box[1] + 1, rows)
    c0, c1 = max(box[2] - 1, 0), min(box[3] + 1, cols)
    frame = gray[r0:r1, c0:c1] == 0 if background is None else background[r0:r1, c0:c1]
    return count_regions(frame)


def asymmetry_published(gray, symmetry_level: float = 0.9) -> Result:
    """Fast :func:`enhance_utils.abc.reference.asymmetry.asymmetry_published` (``gray`` may
    be a :class:`Prepared`)."""
    prep = Prepared.of(gray)
    gray = prep.gray
    threshold = prep.otsu
    box, crop, background = _lesion_above(prep, threshold)
    n_regions = _background_regions(gray, box, background)
    if n_regions != 1:
        raise Skip(f"thresholded mask has {n_regions} connected background regions, not 1 "
                   "(lesion touching the border, holes, or several lesions)")
    if box is None:
        inner = (0,) * 6
    elif background is None:
        inner = prep.lesion_moments
    else:
        inner = region_moments(np.ascontiguousarray(crop), (box[0], box[2]))
    moments = tuple(f - i for f, i in zip(rectangle_moments(*gray.shape), inner))
    centroid, orientation = centroid_orientation(moments)
    counts = None
    if box is not None:
        counts = flip_counts_window(crop, box, gray.shape, centroid, orientation)
    if counts is None:
        if background is None:
            background = gray <= threshold
        counts = flip_counts_full(background, centroid, orientation)
    total, kept, rr_ud, rr_lr = counts
    # lesion L = 1 - rotated R, so |L| = N - |R| and |L & flip L| = N - 2|R| + |R & flip R|
    area = np.int64(total - kept)
    ud = total - 2 * kept + rr_ud
    lr_ = total - 2 * kept + rr_lr
    return asymmetry_result(float(np.int64(ud) / area), float(np.int64(lr_) / area),
                            symmetry_level)


def _shift_nearest(image: np.ndarray, t_col: float, t_row: float) -> np.ndarray:
    """``warp(image, AffineTransform(translation=(t_col, t_row)))`` for a boolean image."""
    rows, cols = image.shape
    ri = nearest_index(np.arange(rows, dtype=float) + t_row, rows)
    ci = nearest_index(np.arange(cols, dtype=float) + t_col, cols)
    out = np.zeros_like(image)
    vr, vc = np.flatnonzero(ri >= 0), np.flatnonzero(ci >= 0)
    if vr.size == 0 or vc.size == 0:
        return out
    r_src, c_src = ri[vr], ci[vc]
    if (np.all(np.diff(r_src) == 1) and np.all(np.diff(vr) == 1)
            and np.all(np.diff(c_src) == 1) and np.all(np.diff(vc) == 1)):
        out[vr[0]:vr[-1] + 1, vc[0]:vc[-1] + 1] = \
            image[r_src[0]:r_src[-1] + 1, c_src[0]:c_src[-1] + 1]
    else:
        out[np.ix_(vr, vc)] = image[np.ix_(r_src, c_src)]
    return out


def flip_counts_full(background: np.ndarray, centroid, orientation):
    """``(N, |R|, |R & flipud R|, |R & fliplr R|)`` of the rotated background R, computed
    on the whole rotated image (the general path)."""
    rows, cols = background.shape
    shifted = _shift_nearest(background, rows / 2 - centroid[0], cols / 2 - centroid[1])
    tform, out_shape = rotation_transform(shifted.shape, -orientation * (180 / math.pi))
    pad = 2
    codes = warp_codes(code_image(shifted, pad), tform, (0, 0), out_shape, pad)
    rotated = codes & 1
    ur, uc = uncertain(codes)
    if ur.size:
        sr, sc = source_points(tform, ur.astype(float), uc.astype(float))
        ir, ic = nearest_index(sr, rows), nearest_index(sc, cols)
        ok = (ir >= 0) & (ic >= 0)
        values = np.zeros(ur.size, dtype=np.uint8)
        values[ok] = shifted[ir[ok], ic[ok]]
        rotated[ur, uc] = values
    total = rotated.size
    kept = cv2.countNonZero(rotated)
    ud = cv2.countNonZero(cv2.bitwise_and(rotated, cv2.flip(rotated, 0)))
    lr_ = cv2.countNonZero(cv2.bitwise_and(rotated, cv2.flip(rotated, 1)))
    return total, kept, ud, lr_


def _run(index: np.ndarray):
    """``(first, last, offset)`` of the valid entries of a nearest-index map when they form
    one run of consecutive sources (``index[i] = i + offset``), else ``None``."""
    valid = np.flatnonzero(index >= 0)
    if valid.size == 0:
        return None
    if valid[-1] - valid[0] + 1 != valid.size or np.any(np.diff(index[valid]) != 1):
        return None
    return int(valid[0]), int(valid[-1]), int(index[valid[0]] - valid[0])


def _support_rows(tform, out_shape, shape, vr, vc):
    """Per output row, the columns ``[start, end)`` where the rotation reads a pixel of the
    translated image's support ``vr`` × ``vc`` (inclusive source ranges), or ``None``.

    The support is a rectangle, so its rotated image is one run per row. The run's ends are
    solved from the affine map, then every column within 3 pixels of them (24 columns for
    short runs) is decided with scikit-image's own arithmetic; the pattern must be one run,
    or the caller falls back to the general path.
    """
    rows_out, cols_out = out_shape
    m = tform.params
    r = np.arange(rows_out, dtype=float)
    lo = np.full(rows_out, -np.inf)
    hi = np.full(rows_out, np.inf)
    empty = np.zeros(rows_out, dtype=bool)
    for axis, (a, b, d, v0, v1, size) in enumerate(
            ((m[0, 0], m[0, 1], m[0, 2], vc[0], vc[1], shape[1]),
             (m[1, 0], m[1, 1], m[1, 2], vr[0], vr[1], shape[0]))):
        if a == 0:
            # constant along the row: decide each row exactly at column 0
            src = source_points(tform, r, np.zeros_like(r))
            idx = nearest_index(src[1 - axis], size)
            empty |= (idx < v0) | (idx > v1)
            continue
        if abs(a) < 1e-6:
            return None
        beta = b * r + d
        lower, upper = (v0 - 0.5 - beta) / a, (v1 + 0.5 - beta) / a
        if a < 0:
            lower, upper = upper, lower
        lo = np.maximum(lo, lower)
        hi = np.minimum(hi, upper)
    s = np.ceil(np.clip(lo, -30, cols_out + 30)).astype(np.int64)
    e = np.ceil(np.clip(hi, -30, cols_out + 30)).astype(np.int64)
    s, e = np.clip(s, 0, cols_out), np.clip(e, 0, cols_out)
    start = np.zeros(rows_out, dtype=np.int64)
    end = np.zeros(rows_out, dtype=np.int64)

    def member(rr, cc):
        src_r, src_c = source_points(tform, rr.ravel().astype(float), cc.ravel().astype(float))
        ir = nearest_index(src_r, shape[0])
        ic = nearest_index(src_c, shape[1])
        inside = (cc.ravel() >= 0) & (cc.ravel() < cols_out)
        out = inside & (ir >= vr[0]) & (ir <= vr[1]) & (ic >= vc[0]) & (ic <= vc[1])
        return out.reshape(cc.shape)

    width = e - s
    long_ = ~empty & (width >= 8)
    short = ~empty & (width < 8) & (width >= -14)
    k7 = np.arange(-3, 4)
    if long_.any():
        rows_l = np.flatnonzero(long_)
        left = s[rows_l, None] + k7
        right = e[rows_l, None] + k7
        rr = np.repeat(rows_l[:, None], 7, axis=1)
        ml, mr = member(rr, left), member(rr, right)
        ok = (~ml[:, 0] & ml[:, -1] & np.all(np.diff(ml.view(np.int8), axis=1) >= 0, axis=1)
              & mr[:, 0] & ~mr[:, -1] & np.all(np.diff(mr.view(np.int8), axis=1) <= 0, axis=1))
        if not ok.all():
            return None
        start[rows_l] = left[:, 0] + np.argmax(ml, axis=1)
        end[rows_l] = right[:, 0] + mr.sum(axis=1)
    if short.any():
        rows_s = np.flatnonzero(short)
        cc = np.minimum(s, e)[rows_s, None] - 3 + np.arange(24)
        rr = np.repeat(rows_s[:, None], 24, axis=1)
        ms = member(rr, cc)
        steps = np.count_nonzero(np.diff(ms.view(np.int8), axis=1), axis=1)
        if ms[:, 0].any() or ms[:, -1].any() or np.any(steps > 2):
            return None
        has = ms.any(axis=1)
        first = np.argmax(ms, axis=1)
        start[rows_s] = np.where(has, cc[:, 0] + first, 0)
        end[rows_s] = np.where(has, cc[:, 0] + first + ms.sum(axis=1), 0)
    return start, end


def flip_counts_window(crop: np.ndarray, box, shape, centroid, orientation):
    """Same as :func:`flip_counts_full`, without touching the whole rotated image.

    The rotated background is R = S − L: S, the rotated support of the translated image (a
    rotated rectangle, counted row by row from its runs) minus L, the rotated lesion
    (warped in a window around it). Then :math:`|R| = |S| - |L|` and
    :math:`|R ∧ fR| = |S ∧ fS| - 2|L ∧ fS| + |L ∧ fL|` for either flip
    :math:`f`. Returns ``None`` when a
    condition of this path does not hold (the caller uses the general path).
    """
    rows, cols = shape
    ri = nearest_index(np.arange(rows, dtype=float) + (cols / 2 - centroid[1]), rows)
    ci = nearest_index(np.arange(cols, dtype=float) + (rows / 2 - centroid[0]), cols)
    run_r, run_c = _run(ri), _run(ci)
    if run_r is None or run_c is None:
        return None
    vr0, vr1, d_r = run_r
    vc0, vc1, d_c = run_c
    tform, out_shape = rotation_transform(shape, -orientation * (180 / math.pi))
    H, W = out_shape
    runs = _support_rows(tform, out_shape, shape, (vr0, vr1), (vc0, vc1))
    if runs is None:
        return None
    s, e = runs
    total = H * W
    n_s = int((e - s).sum())
    s_ud, e_ud = s[::-1], e[::-1]
    ss_ud = int(np.maximum(np.minimum(e, e_ud) - np.maximum(s, s_ud), 0).sum())
    ss_lr = int(np.maximum(np.minimum(e, W - s) - np.maximum(s, W - e), 0).sum())
    # the lesion in the translated image's coordinates, inside the support
    b_r0, b_r1, b_c0, b_c1 = box
    a0, a1 = max(b_r0 - d_r, vr0), min(b_r1 - d_r, vr1 + 1)
    c0, c1 = max(b_c0 - d_c, vc0), min(b_c1 - d_c, vc1 + 1)
    if a1 <= a0 or c1 <= c0:
        return total, n_s, ss_ud, ss_lr
    lesion = np.ascontiguousarray(crop[a0 + d_r - b_r0:a1 + d_r - b_r0,
                                       c0 + d_c - b_c0:c1 + d_c - b_c0]).view(np.uint8)
    corners = np.array([[c0 - 2, a0 - 2], [c1 + 1, a0 - 2], [c0 - 2, a1 + 1], [c1 + 1, a1 + 1]],
                       dtype=float)
    out_corners = tform.inverse(corners)
    o_r0 = max(int(math.floor(out_corners[:, 1].min())) - 2, 0)
    o_c0 = max(int(math.floor(out_corners[:, 0].min())) - 2, 0)
    o_r1 = min(int(math.ceil(out_corners[:, 1].max())) + 3, H)
    o_c1 = min(int(math.ceil(out_corners[:, 0].max())) + 3, W)
    if o_r1 <= o_r0 or o_c1 <= o_c0:
        return None
    pad = 2
    local = tform + SimilarityTransform(translation=(-c0, -a0))
    codes = warp_codes(code_image(lesion, pad), local, (o_r0, o_c0),
                        (o_r1 - o_r0, o_c1 - o_c0), pad)
    win = codes & 1
    ur, uc = uncertain(codes)
    if ur.size:
        sr, sc = source_points(tform, (ur + o_r0).astype(float), (uc + o_c0).astype(float))
        ir, ic = nearest_index(sr, rows), nearest_index(sc, cols)
        ok = (ir >= a0) & (ir < a1) & (ic >= c0) & (ic < c1)
        values = np.zeros(ur.size, dtype=np.uint8)
        values[ok] = lesion[ir[ok] - a0, ic[ok] - c0]
        win[ur, uc] = values
    h, w = win.shape
    n_l = cv2.countNonZero(win)
    # |L ∧ fS|: the lesion pixels of each window row inside the flipped support's run;
    # counted as all of them minus those left of the run and right of it (thin strips)
    out_rows = np.arange(h) + o_r0

    def in_run(lo_, hi_):
        lo_ = np.clip(lo_ - o_c0, 0, w)
        hi_ = np.maximum(np.clip(hi_ - o_c0, 0, w), lo_)
        outside = 0
        left = int(lo_.max())
        if left > 0:
            outside += int(np.count_nonzero(win[:, :left] & (np.arange(left) < lo_[:, None])))
        right = int(hi_.min())
        if right < w:
            outside += int(np.count_nonzero(
                win[:, right:] & (np.arange(right, w) >= hi_[:, None])))
        return n_l - outside

    ls_ud = in_run(s[H - 1 - out_rows], e[H - 1 - out_rows])
    ls_lr = in_run(W - e[out_rows], W - s[out_rows])
    # |L ∧ fL|: the window against its own mirror image
    g_r0 = H - o_r0 - h
    lo_r, hi_r = max(o_r0, g_r0), min(o_r0 + h, g_r0 + h)
    ll_ud = 0
    if hi_r > lo_r:
        ll_ud = int(np.count_nonzero(win[lo_r - o_r0:hi_r - o_r0]
                                     & win[::-1][lo_r - g_r0:hi_r - g_r0]))
    g_c0 = W - o_c0 - w
    lo_c, hi_c = max(o_c0, g_c0), min(o_c0 + w, g_c0 + w)
    ll_lr = 0
    if hi_c > lo_c:
        ll_lr = int(np.count_nonzero(win[:, lo_c - o_c0:hi_c - o_c0]
                                     & win[:, ::-1][:, lo_c - g_c0:hi_c - g_c0]))
    kept = n_s - n_l
    return (total, kept, ss_ud - 2 * ls_ud + ll_ud, ss_lr - 2 * ls_lr + ll_lr)
