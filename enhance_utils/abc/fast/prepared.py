"""One grey mask and what the fast scores and the input checks derive from it, once."""
from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np

from .geometry import count_regions, otsu, region_moments


class Prepared:
    """A grey mask and what the asymmetry, the border and the input checks derive from it.

    Each quantity is computed on first use and kept, so that scoring A and B of one mask
    (a run of ``"AB"``, :func:`enhance_utils.abc.runner.score_lesion_many`) decodes the file
    once, finds the lesion's box once, labels its components once and takes its moments
    once. The fast functions accept a :class:`Prepared` wherever they accept a grey array.

    Parameters
    ----------
    gray : numpy.ndarray
        The mask; the lesion is its pixels above 127.
    hist : numpy.ndarray, optional
        Its 256-bin histogram when the decoder already has it.
    """

    def __init__(self, gray: np.ndarray, hist: np.ndarray | None = None):
        self.gray = gray
        if hist is not None:
            self.hist = hist

    @classmethod
    def of(cls, gray) -> "Prepared":
        """``gray`` itself if it is already prepared, else a :class:`Prepared` of it."""
        return gray if isinstance(gray, Prepared) else cls(gray)

    @property
    def is_uint8(self) -> bool:
        """A 2-D ``uint8`` mask (the fast paths need one)."""
        return self.gray.dtype == np.uint8 and self.gray.ndim == 2

    @cached_property
    def hist(self) -> np.ndarray | None:
        """256-bin histogram of a ``uint8`` mask (``None`` for other arrays)."""
        if not self.is_uint8:
            return None
        return cv2.calcHist([np.ascontiguousarray(self.gray)], [0], None, [256],
                            [0, 256]).ravel()

    @property
    def binary(self) -> bool:
        """``uint8`` mask with values 0 and 255 only."""
        return self.is_uint8 and not self.hist[1:255].any()

    @cached_property
    def otsu(self) -> float:
        """``skimage.filters.threshold_otsu`` of the mask."""
        return otsu(self.gray, self.hist)

    @cached_property
    def lesion(self):
        """``(box, crop)``: the box ``(r0, r1, c0, c1)`` of the pixels ``> 127`` and the
        boolean crop of that box; ``(None, None)`` when there is none."""
        gray = self.gray
        if self.binary:
            x, y, w, h = cv2.boundingRect(np.ascontiguousarray(gray))
            if w == 0:
                return None, None
            return (y, y + h, x, x + w), gray[y:y + h, x:x + w] != 0
        lesion = gray > 127
        rows = np.flatnonzero(lesion.any(axis=1))
        if rows.size == 0:
            return None, None
        cols = np.flatnonzero(lesion.any(axis=0))
        box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
        return box, lesion[box[0]:box[1], box[2]:box[3]]

    @cached_property
    def n_components(self) -> int:
        """Connected (8) lesion regions."""
        _, crop = self.lesion
        return 0 if crop is None else count_regions(crop)

    @cached_property
    def covers_image(self) -> bool:
        """Every pixel of the mask is lesion."""
        box, crop = self.lesion
        rows, cols = self.gray.shape[:2]
        return box == (0, rows, 0, cols) and np.count_nonzero(crop) == crop.size

    @cached_property
    def lesion_moments(self):
        """Exact raw moments of all lesion pixels, in full-image coordinates."""
        box, crop = self.lesion
        return region_moments(np.ascontiguousarray(crop), (box[0], box[2]))
