"""The plain, readable reference implementation of the automated ABC scores: the *oracle*.

It favours clarity over speed and calls scikit-image exactly as the published procedure
did, so the fast implementation (:mod:`enhance_utils.abc.fast`) is tested against it. Every
function takes arrays (decoding and input checks live in :mod:`enhance_utils.abc.inputs`)
and returns a :class:`~enhance_utils.abc.core.Result`, or raises
:class:`~enhance_utils.abc.core.Skip` when the algorithm cannot score the lesion; each also
has a ``*_steps`` twin in its module that returns the intermediate steps with the result,
which the chapter's figures draw.

Two modes per feature (one module each: :mod:`.asymmetry`, :mod:`.border`, :mod:`.colour`):

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
from .asymmetry import asymmetry_described, asymmetry_published
from .border import border_described, border_published
from .colour import colour_described, colour_published

__all__ = ["asymmetry_published", "asymmetry_described", "border_published",
           "border_described", "colour_published", "colour_described"]
