"""How the book writes numbers inside sentences: small counts in words, signed differences
with a typographic minus, ranges.

At the bottom of the package (beside :mod:`enhance_utils.options`), so that the analysis
(:mod:`enhance_utils.learning.designs`) and the book's prose
(:mod:`enhance_utils.book.prose_training`) write a number the same way.
"""
from __future__ import annotations

import numpy as np

#: small counts read better as words ("five splits")
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
#: the typographic minus sign (U+2212)
MINUS = "\u2212"


def number_word(n: int) -> str:
    """``n`` in words up to ten ("five"), else in digits."""
    n = int(n)
    return WORDS[n] if 0 <= n < len(WORDS) else str(n)


def signed(value: float, decimals: int = 1) -> str:
    """A difference with its sign and a typographic minus: ``+3.9``, ``−1.3``."""
    text = f"{value:+.{decimals}f}"
    return text.replace("-", MINUS)


def span(values, decimals: int = 1, sign: bool = True) -> str:
    """The range of ``values`` in words: ``−1.3 to +3.9`` (or one value when all agree);
    without ``sign``, ``1.0 to 3.0``."""
    low, high = float(np.min(values)), float(np.max(values))
    fmt = (lambda v: signed(v, decimals)) if sign else (lambda v: f"{v:.{decimals}f}")
    return fmt(low) if fmt(low) == fmt(high) else f"{fmt(low)} to {fmt(high)}"
