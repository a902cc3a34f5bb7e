"""The inputs of the ABC scores: decoding a mask or an image, and the one input-check path.

Unusable inputs raise :class:`InputError` (the runner turns it into a row with status
``error``): a missing or unreadable file, a special file (a FIFO or a device: refused before
any read, which could block), an image beyond Pillow's pixel limit, an empty mask, a mask
covering the whole image, and for A and B a mask smaller than its image
(:func:`check_mask_size`). Usable inputs with something to say get notes: a resized, 24-bit
or non-binary mask, a lesion touching the image border, several lesion regions
(:func:`mask_notes`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from ..data import datasets
from .fast.prepared import Prepared
from .lesions import input_paths


class InputError(Exception):
    """The input files cannot be used (the message says why)."""


#: what Pillow raises for a file it cannot decode, or whose header claims more pixels than
#: its limit (``DecompressionBombError``)
DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError)


def check_file(path: Path, what: str) -> None:
    """:class:`InputError` unless ``path`` is a regular file; a FIFO or a device is refused
    without opening it (reading one could block forever)."""
    if not path.exists():
        raise InputError(f"{what} file not found: {path.name}")
    if not path.is_file():
        raise InputError(f"{what} {path.name} is not a regular file (a FIFO, a device or a "
                         "folder)")


@dataclass(frozen=True)
class DecodedMask:
    """A mask file as the algorithms see it."""

    gray: np.ndarray   #: 2-D ``uint8``; lesion = 255 for binary masks
    notes: list = field(default_factory=list)  #: what was done to the file's pixels
    hist: np.ndarray | None = None             #: 256-bin histogram of ``gray``

    def prepared(self) -> Prepared:
        """The mask with its histogram, ready for the fast scores and :func:`mask_notes`."""
        return Prepared(self.gray, self.hist)


def _is_grey8_png(path: Path) -> bool:
    """Whether the file starts as an 8-bit greyscale, non-interlaced PNG (the ISIC masks)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(29)
    except OSError:
        return False
    return (len(head) == 29 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
            and head[24] == 8 and head[25] == 0 and head[28] == 0)


def _decode(path: Path) -> tuple[np.ndarray, str]:
    """The file's pixels and its Pillow mode; OpenCV for 8-bit grey PNGs, Pillow otherwise."""
    if _is_grey8_png(path):
        # OpenCV decodes an 8-bit grey PNG to the same array as Pillow, faster; anything
        # it cannot read goes through Pillow, which gives the error message
        array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if array is not None and array.dtype == np.uint8 and array.ndim == 2:
            return array, "L"
    try:
        with Image.open(path) as image:
            return np.asarray(image), image.mode
    except DECODE_ERRORS as err:
        raise InputError(f"unreadable mask {path.name}: {err}") from None


def read_mask(path) -> DecodedMask:
    """A mask file as a 2-D ``uint8`` grey array (lesion = 255 for binary masks), with notes.

    1-bit masks become 0/255; RGB(A) masks (24-bit) are merged by the channel maximum;
    anything else that is not 0/255 is kept as it is and noted as non-binary.
    """
    path = Path(path)
    check_file(path, "mask")
    array, mode = _decode(path)
    notes = []
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim == 3:
        notes.append(f"{array.shape[2] * 8}-bit {mode} mask: channels merged by their maximum")
        array = array[..., :3].max(axis=2)
    if array.dtype != np.uint8:
        top = float(array.max()) or 1.0
        notes.append(f"{array.dtype} mask rescaled to 0..255")
        array = np.round(array.astype(float) / top * 255).astype(np.uint8)
    if array.ndim != 2 or array.size == 0:
        raise InputError(f"mask {path.name} has shape {array.shape}, expected a 2-D image")
    array = np.ascontiguousarray(array)
    hist = cv2.calcHist([array], [0], None, [256], [0, 256]).ravel()
    if hist[1:255].any():
        notes.append("non-binary mask (grey levels between 0 and 255)")
    return DecodedMask(array, notes, hist)


def read_image(path) -> np.ndarray:
    """A dermoscopic image as an RGB ``uint8`` array."""
    path = Path(path)
    check_file(path, "image")
    try:
        return datasets.load_image(path)
    except DECODE_ERRORS as err:
        raise InputError(f"unreadable image {path.name}: {err}") from None


def image_size(path) -> tuple[int, int] | None:
    """``(rows, cols)`` of an image from its header (nothing decoded); None if it is missing or
    unreadable. :class:`InputError` for a special file (:func:`check_file`) and for a header
    claiming more pixels than Pillow's limit."""
    path = Path(path)
    if not path.exists():
        return None
    check_file(path, "image")
    try:
        with Image.open(path) as image:
            return image.height, image.width
    except Image.DecompressionBombError as err:
        raise InputError(f"unreadable image {path.name}: {err}") from None
    except (OSError, ValueError, UnidentifiedImageError):
        return None


def check_mask_size(mask_shape, image_shape) -> None:
    """:class:`InputError` when a mask is smaller than its image in either dimension.

    A and B are computed on the mask at its own resolution, and both depend on it (a border
    count of 19 on the full mask can be 7 on a downscaled copy). The official masks have
    their image's size; an image may be a downsized copy (the mirror's 256 x 256 ISIC
    images, whose aspect ratio is not kept), so a mask larger than its image is accepted.
    A mask smaller than its image has lost resolution and is refused.
    """
    if image_shape is None:
        return
    (rows, cols), (image_rows, image_cols) = mask_shape[:2], image_shape[:2]
    if rows < image_rows or cols < image_cols:
        raise InputError(f"mask {cols}x{rows} is smaller than its image {image_cols}x{image_rows}:"
                         " not a full-resolution mask, A and B would change")


def resize_mask(gray: np.ndarray, shape) -> tuple[np.ndarray, list[str]]:
    """The mask at the image's ``shape`` (nearest neighbour) and a note if it was resized;
    colour reads the image and its mask pixel by pixel."""
    if gray.shape == tuple(shape[:2]):
        return gray, []
    note = (f"mask {gray.shape[1]}x{gray.shape[0]} resized (nearest) to the image "
            f"{shape[1]}x{shape[0]}")
    return datasets.resize_mask(gray, shape), [note]


def mask_notes(mask) -> list[str]:
    """Checks on the lesion (pixels above 127) of a grey mask or a :class:`Prepared` one.

    Raises :class:`InputError` for an empty mask and for a mask covering the whole image;
    returns notes for a lesion touching the image border and for several lesion regions.
    """
    mask = Prepared.of(mask)
    box, _ = mask.lesion
    if box is None:
        raise InputError("empty mask (no lesion pixel)")
    if mask.covers_image:
        raise InputError("mask covers the whole image")
    notes = []
    rows, cols = mask.gray.shape[:2]
    if box[0] == 0 or box[1] == rows or box[2] == 0 or box[3] == cols:
        notes.append("lesion touches the image border")
    if mask.n_components > 1:
        notes.append(f"mask has {mask.n_components} separate lesion regions")
    return notes


class LesionArrays(NamedTuple):
    """One lesion's files as arrays: what the step-by-step figures and timings use."""

    gray: np.ndarray   #: the mask at full resolution (A and B read it so)
    image: np.ndarray  #: the dermoscopic image
    small: np.ndarray  #: the mask resized to the image (C reads it so)


def read_lesion(dataset: str, lesion_id: str, root=None) -> LesionArrays:
    """The mask, the image and the mask at the image's size of one lesion."""
    paths = input_paths(dataset, lesion_id, "C", root)
    gray = read_mask(paths["mask"]).gray
    image = read_image(paths["image"])
    return LesionArrays(gray, image, resize_mask(gray, image.shape)[0])
