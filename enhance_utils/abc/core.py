"""What every ABC module shares: features, modes, default parameters, results.

The features and modes are those of :mod:`enhance_utils.options` (the command line's choices).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..options import ABC_MODES as MODES
from ..options import FEATURES

__all__ = ["FEATURES", "MODES", "FEATURE_NAMES", "REFERENCE_COLOURS", "DEFAULTS", "Skip",
           "Result"]

FEATURE_NAMES = {"A": "asymmetry", "B": "border", "C": "colour"}

#: the six suspicious colours (RGB, 0..255) of Kasmi and Mokrani (2016), in the order the
#: published code appended them to the list of unique colours.
REFERENCE_COLOURS = {
    "white": (197, 188, 217),
    "black": (41, 31, 30),
    "red": (118, 21, 17),
    "light_brown": (163, 82, 16),
    "dark_brown": (135, 44, 5),
    "blue_gray": (113, 108, 139),
}

#: default parameters; every entry can be overridden per call (the chapter's explorer does)
DEFAULTS = {
    "A": {"symmetry_level": 0.9},
    "B": {"sigma": 0.5, "width": 15},
    "C": {"n_segments": 100, "distance": 0.4, "fraction": 0.05, "mask_level": 250},
}


class Skip(Exception):
    """The algorithm cannot score this lesion; the message says why."""


@dataclass
class Result:
    """One automated score: the score, its raw value(s) and notes on the input.

    ``raw`` is a plain mapping because it is written as it is to the cache and to the CSV
    files (``enhance abc``).
    """

    score: float
    raw: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
