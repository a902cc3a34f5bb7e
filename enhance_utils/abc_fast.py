"""Fast implementation of the automated ABC scores, same outputs as :mod:`abc_reference`.

The published asymmetry and border procedures warp full-resolution masks (up to 30 Mpx) with
scikit-image; here the same results are obtained at a fraction of the cost:

* the translation of the published procedure is an integer shift (asymmetry, nearest
  neighbour) or a separable bilinear blend (border) and is done by slicing and indexing;
* the rotation is first done by ``cv2.warpAffine`` (nearest neighbour) on a *code* image
  that marks, besides the value, every pixel whose 3×3 neighbourhood is mixed. Only output
  pixels that land on such a pixel can differ from scikit-image's result; they are
  recomputed exactly with scikit-image's own transform and interpolation formula;
* the border procedure only needs the pixels that are exactly 1.0, inside a crop around
  the lesion, and its scans are vectorised;
* the centroid and orientation come from exact integer moments instead of float sums
  over the whole image (same values up to the last bits; see the tests);
* colour replaces the per-segment loops and the ``np.unique`` over every pixel by per-label
  sums, which give bit-identical means.

Masks that the fast path does not cover (non-binary masks for the border, ties between
regions) fall back to the reference implementation.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from scipy.signal import find_peaks
from skimage.filters import threshold_otsu
from skimage.segmentation import slic
from skimage.transform import SimilarityTransform

from . import abc_reference as ref
from .abc_reference import Result, Skip

cv2.setNumThreads(1)
_KERNEL3 = np.ones((3, 3), np.uint8)


# =========================================================================== shared pieces
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


def _scipy_nearest_index(coord: np.ndarray, size: int):
    """Index that scikit-image's nearest-neighbour ``warp`` reads (``ndimage`` order 0,
    mode ``grid-constant``: round half up, then out of range reads 0), -1 if none."""
    idx = np.floor(coord + 0.5).astype(np.int64)
    return np.where((idx >= 0) & (idx < size), idx, -1)


def _shift_nearest(image: np.ndarray, t_col: float, t_row: float) -> np.ndarray:
    """``warp(image, AffineTransform(translation=(t_col, t_row)))`` for a boolean image."""
    rows, cols = image.shape
    ri = _scipy_nearest_index(np.arange(rows, dtype=float) + t_row, rows)
    ci = _scipy_nearest_index(np.arange(cols, dtype=float) + t_col, cols)
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


def _code_image(binary: np.ndarray, pad: int = 2) -> np.ndarray:
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


def _uncertain(codes: np.ndarray):
    """(rows, cols) of the pixels whose code says 'mixed neighbourhood'."""
    points = cv2.findNonZero(cv2.compare(codes, 2, cv2.CMP_GE))
    if points is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    points = points.reshape(-1, 2).astype(np.int64)
    return points[:, 1], points[:, 0]


def _warp_codes(code: np.ndarray, tform, out_origin, out_size, pad: int) -> np.ndarray:
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


def _source_points(tform, rows: np.ndarray, cols: np.ndarray):
    """Source (row, col) of output pixels, computed as scikit-image computes them."""
    points = np.column_stack([cols, rows]).astype(np.float64)
    mapped = tform(points)
    return mapped[:, 1], mapped[:, 0]


# =========================================================================== one mask, once
class Prepared:
    """A grey mask and what the asymmetry, the border and the input checks derive from it.

    Each quantity is computed on first use and kept, so that scoring A and B of one mask
    (:func:`enhance_utils.automated_abc.score_many`) decodes the file once, finds the lesion's
    box once, labels its components once and takes its moments once. The fast functions
    accept a :class:`Prepared` wherever they accept a grey array.
    """

    def __init__(self, gray: np.ndarray, hist: np.ndarray | None = None):
        self.gray = gray
        self._hist = hist
        self._cache: dict = {}

    @classmethod
    def of(cls, gray) -> "Prepared":
        return gray if isinstance(gray, Prepared) else cls(gray)

    @property
    def is_uint8(self) -> bool:
        return self.gray.dtype == np.uint8 and self.gray.ndim == 2

    @property
    def hist(self) -> np.ndarray | None:
        """256-bin histogram of a ``uint8`` mask (``None`` for other arrays)."""
        if self._hist is None and self.is_uint8:
            self._hist = cv2.calcHist([np.ascontiguousarray(self.gray)], [0], None, [256],
                                      [0, 256]).ravel()
        return self._hist

    @property
    def binary(self) -> bool:
        """``uint8`` mask with values 0 and 255 only."""
        return self.is_uint8 and not self.hist[1:255].any()

    def otsu(self) -> float:
        if "otsu" not in self._cache:
            self._cache["otsu"] = otsu(self.gray, self.hist)
        return self._cache["otsu"]

    def lesion(self):
        """``(box, crop)``: the box ``(r0, r1, c0, c1)`` of the pixels ``> 127`` and the
        boolean crop of that box; ``(None, None)`` when there is none."""
        if "lesion" not in self._cache:
            gray = self.gray
            if self.binary:
                x, y, w, h = cv2.boundingRect(np.ascontiguousarray(gray))
                if w == 0:
                    out = (None, None)
                else:
                    out = ((y, y + h, x, x + w), gray[y:y + h, x:x + w] != 0)
            else:
                lesion = gray > 127
                rows = np.flatnonzero(lesion.any(axis=1))
                if rows.size == 0:
                    out = (None, None)
                else:
                    cols = np.flatnonzero(lesion.any(axis=0))
                    box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
                    out = (box, lesion[box[0]:box[1], box[2]:box[3]])
            self._cache["lesion"] = out
        return self._cache["lesion"]

    def n_components(self) -> int:
        """Connected (8) lesion regions."""
        if "n_components" not in self._cache:
            _, crop = self.lesion()
            if crop is None:
                self._cache["n_components"] = 0
            else:
                self._cache["n_components"] = count_regions(crop)
        return self._cache["n_components"]

    def lesion_moments(self):
        """Exact raw moments of all lesion pixels, in full-image coordinates."""
        if "moments" not in self._cache:
            box, crop = self.lesion()
            self._cache["moments"] = region_moments(np.ascontiguousarray(crop), (box[0], box[2]))
        return self._cache["moments"]


# =========================================================================== asymmetry
def _background_regions_in(frame: np.ndarray) -> int:
    """Connected (8) regions of a background crop that has the lesion's box plus a frame."""
    return count_regions(frame)


def asymmetry_published(gray, symmetry_level: float = 0.9) -> Result:
    """Fast :func:`abc_reference.asymmetry_published` (``gray`` may be a :class:`Prepared`)."""
    prep = Prepared.of(gray)
    gray = prep.gray
    threshold = prep.otsu()
    rows, cols = gray.shape
    if prep.binary and 0 <= threshold < 255:
        # the pixels above the threshold are the non-zero ones: the shared lesion crop
        box, crop = prep.lesion()
        background_full = None
    else:
        background_full = gray <= threshold
        lesion = ~background_full
        lr = np.flatnonzero(lesion.any(axis=1))
        if lr.size:
            lc = np.flatnonzero(lesion.any(axis=0))
            box = (int(lr[0]), int(lr[-1]) + 1, int(lc[0]), int(lc[-1]) + 1)
            crop = lesion[box[0]:box[1], box[2]:box[3]]
        else:
            box, crop = None, None
    if box is None:
        n_regions = 1
    else:
        r0, r1 = max(box[0] - 1, 0), min(box[1] + 1, rows)
        c0, c1 = max(box[2] - 1, 0), min(box[3] + 1, cols)
        if background_full is None:
            frame = gray[r0:r1, c0:c1] == 0
        else:
            frame = background_full[r0:r1, c0:c1]
        n_regions = _background_regions_in(frame)
    if n_regions != 1:
        raise Skip(f"thresholded mask has {n_regions} connected background regions, not 1 "
                   "(lesion touching the border, holes, or several lesions)")
    full = rectangle_moments(rows, cols)
    if box is None:
        inner = (0,) * 6
    elif background_full is None:
        inner = prep.lesion_moments()
    else:
        inner = region_moments(np.ascontiguousarray(crop), (box[0], box[2]))
    moments = tuple(f - i for f, i in zip(full, inner))
    centroid, orientation = centroid_orientation(moments)
    counts = None
    if box is not None:
        counts = _flip_counts_window(crop, box, gray.shape, centroid, orientation)
    if counts is None:
        if background_full is None:
            background_full = gray <= threshold
        counts = _flip_counts_full(background_full, centroid, orientation)
    total, kept, rr_ud, rr_lr = counts
    # lesion L = 1 - rotated R, so |L| = N - |R| and |L & flip L| = N - 2|R| + |R & flip R|
    area = np.int64(total - kept)
    ud = total - 2 * kept + rr_ud
    lr_ = total - 2 * kept + rr_lr
    return ref._asymmetry_result(float(np.int64(ud) / area), float(np.int64(lr_) / area),
                                 symmetry_level)


def _flip_counts_full(background: np.ndarray, centroid, orientation):
    """``(N, |R|, |R & flipud R|, |R & fliplr R|)`` of the rotated background R, computed
    on the whole rotated image (the general path)."""
    rows, cols = background.shape
    shifted = _shift_nearest(background, rows / 2 - centroid[0], cols / 2 - centroid[1])
    tform, out_shape = rotation_transform(shifted.shape, -orientation * (180 / math.pi))
    pad = 2
    codes = _warp_codes(_code_image(shifted, pad), tform, (0, 0), out_shape, pad)
    rotated = codes & 1
    ur, uc = _uncertain(codes)
    if ur.size:
        sr, sc = _source_points(tform, ur.astype(float), uc.astype(float))
        ir, ic = _scipy_nearest_index(sr, rows), _scipy_nearest_index(sc, cols)
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
            src = _source_points(tform, r, np.zeros_like(r))
            idx = _scipy_nearest_index(src[1 - axis], size)
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
        src_r, src_c = _source_points(tform, rr.ravel().astype(float), cc.ravel().astype(float))
        ir = _scipy_nearest_index(src_r, shape[0])
        ic = _scipy_nearest_index(src_c, shape[1])
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


def _flip_counts_window(crop: np.ndarray, box, shape, centroid, orientation):
    """Same as :func:`_flip_counts_full`, without touching the whole rotated image.

    The rotated background is R = S − L: S, the rotated support of the translated image (a
    rotated rectangle, counted row by row from its runs) minus L, the rotated lesion
    (warped in a window around it). Then |R| = |S| − |L| and
    |R ∧ fR| = |S ∧ fS| − 2|L ∧ fS| + |L ∧ fL| for either flip f. Returns ``None`` when a
    condition of this path does not hold (the caller uses the general path).
    """
    rows, cols = shape
    ri = _scipy_nearest_index(np.arange(rows, dtype=float) + (cols / 2 - centroid[1]), rows)
    ci = _scipy_nearest_index(np.arange(cols, dtype=float) + (rows / 2 - centroid[0]), cols)
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
    codes = _warp_codes(_code_image(lesion, pad), local, (o_r0, o_c0),
                        (o_r1 - o_r0, o_c1 - o_c0), pad)
    win = codes & 1
    ur, uc = _uncertain(codes)
    if ur.size:
        sr, sc = _source_points(tform, (ur + o_r0).astype(float), (uc + o_c0).astype(float))
        ir, ic = _scipy_nearest_index(sr, rows), _scipy_nearest_index(sc, cols)
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


#: the described modes already work on the lesion's crop with OpenCV warps; the reference
#: implementation is the fast one.
asymmetry_described = ref.asymmetry_described


# =========================================================================== border
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


def _first_on_line_fast(win: _Window, start, end):
    from skimage.draw import line
    rr, cc = line(start[0], start[1], end[0], end[1])
    for r, c in zip(rr, cc):
        if win.at(int(r), int(c)):
            return int(r), int(c)
    raise Skip("a line from a bounding-box corner to its centre meets no lesion pixel")


def _first_index(block: np.ndarray, axis: int):
    """First True along ``axis`` and whether there is one."""
    return block.argmax(axis=axis), block.any(axis=axis)


def border_profile(win: _Window, bbox):
    minr, minc, maxr, maxc = bbox
    m = (int(minr + (maxr - minr) / 2), int(minc + (maxc - minc) / 2))
    try:
        w = _first_on_line_fast(win, (minr, minc), m)
        v = _first_on_line_fast(win, (minr, maxc), m)
        u = _first_on_line_fast(win, (maxr, maxc), m)
        t = _first_on_line_fast(win, (maxr, minc), m)
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
    box = {"bbox": [int(minr), int(minc), int(maxr), int(maxc)], "M": list(m),
           "W": list(w), "V": list(v), "U": list(u), "T": list(t),
           "lengths": [len(p) for p in parts]}
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
    box, crop = prep.lesion()
    if box is None:
        raise Skip("mask has no lesion pixel")
    if prep.n_components() == 1:
        moments = prep.lesion_moments()
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
    code = _code_image(ones1, pad)
    shift = SimilarityTransform(translation=(-c_lo, -r_lo)) if (r_lo or c_lo) else None
    local = tform + shift if shift is not None else tform
    codes = _warp_codes(code, local, (o_r0, o_c0), (o_r1 - o_r0, o_c1 - o_c0), pad)
    ones = codes & 1
    ur, uc = _uncertain(codes)
    if ur.size:
        exact = _bilinear_exact(source, tform, ur + o_r0, uc + o_c0)
        ones[ur, uc] = np.clip(exact, 0.0, 1.0) >= 1.0
    return _Window(ones.view(bool), (o_r0, o_c0), out_shape)


def border_published(gray, sigma: float = 0.5, width: int = 15) -> Result:
    """Fast :func:`abc_reference.border_published` (``gray`` may be a :class:`Prepared`)."""
    prep = Prepared.of(gray)
    win = rotated_ones(prep)
    if win is None:
        return ref.border_published(prep.gray, sigma, width)
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
            return ref.border_published(prep.gray, sigma, width)
        k = 1 + int(np.argmax(areas))
        x0, y0, w0, h0 = (int(v) for v in stats[k, :4])
    bbox = (y0 + win.origin[0], x0 + win.origin[1], y0 + h0 + win.origin[0],
            x0 + w0 + win.origin[1])
    profile, box = border_profile(win, bbox)
    smoothed = ref.smooth(profile, sigma, width)
    peaks, _ = find_peaks(smoothed, height=0)
    return Result(score=int(len(peaks)), raw={"n_profile": int(profile.size), **box})


border_described = ref.border_described


# =========================================================================== colour
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
    """Fast :func:`abc_reference.colour_published`."""
    mask = gray > mask_level
    if not mask.any():
        raise Skip(f"no mask pixel above {mask_level}")
    segments = slic(image, n_segments=n_segments, mask=mask, start_label=1)
    _, means, _ = _segment_colours(segments, image)
    painted = means.astype(image.dtype)  # label2rgb(kind='avg') stores means in the image dtype
    unique = np.unique(painted, axis=0)
    refs = np.array(list(ref.REFERENCE_COLOURS.values()))
    distances = ref.colour_distances(np.vstack([unique, refs]))
    level = len(unique) * fraction
    counts = (distances <= distance).sum(axis=0) - 1
    present = [name for name, k in zip(ref.REFERENCE_COLOURS, counts) if k >= level]
    return Result(score=len(present), raw={"colours": present, "n_unique": int(len(unique)),
                                           "counts": {k: int(v) for k, v in
                                                      zip(ref.REFERENCE_COLOURS, counts)}})


def colour_described(image: np.ndarray, mask: np.ndarray, n_segments: int = 100,
                     distance: float = 0.4, fraction: float = 0.05) -> Result:
    """Fast :func:`abc_reference.colour_described`."""
    if not mask.any():
        raise Skip("empty mask")
    segments = slic(image, n_segments=n_segments, mask=mask, start_label=1)
    labels, means, sizes = _segment_colours(segments, image)
    keep = labels > 0
    return ref.colour_result(means[keep], sizes[keep], int(mask.sum()), distance, fraction)
