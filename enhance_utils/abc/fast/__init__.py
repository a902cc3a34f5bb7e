"""Fast implementation of the automated ABC scores: the same outputs as the oracle
(:mod:`enhance_utils.abc.reference`), bit for bit, at a fraction of the cost.

The published asymmetry and border procedures warp full-resolution masks (up to 30 Mpx)
with scikit-image; here (one module per feature, :mod:`.geometry` for what they share):

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
regions) fall back to the reference implementation. The described asymmetry and border
already work on the lesion's crop with OpenCV warps: the reference functions serve as they
are. A :class:`~.prepared.Prepared` mask lets A and B share their work on one mask.
"""
from ..reference.asymmetry import asymmetry_described
from ..reference.border import border_described
from .asymmetry import asymmetry_published
from .border import border_published
from .colour import colour_described, colour_published
from .prepared import Prepared

__all__ = ["asymmetry_published", "asymmetry_described", "border_published",
           "border_described", "colour_published", "colour_described", "Prepared"]
