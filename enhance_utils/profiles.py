"""Run profiles: how much of the work a chapter does.

``smoke``
    for CI and a first look: every chapter runs in minutes on a laptop (2 cores, no GPU);
    training chapters use a few hundred lesions at low resolution.
``cpu``
    the whole mirror on a CPU machine; training uses small CNNs at reduced size.
``paper``
    the paper's settings (VGG16 / Inception v3 / ResNet50 at 384 px); needs a GPU.

Chapters take ``profile`` as a papermill parameter and look their settings up here.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    #: how many example lesions a chapter draws in its figures
    n_examples: int


PROFILES = {
    "smoke": Profile("smoke", "minutes on any laptop or CI machine; small samples", 2),
    "cpu": Profile("cpu", "all the data on a CPU machine; small models", 4),
    "paper": Profile("paper", "the paper's settings; a GPU machine", 4),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; a clear error for an unknown one."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(PROFILES)}") from None
