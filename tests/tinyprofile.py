"""A tiny training profile for the tests that train for real: the small CNN, one split,
32-pixel images, 60 lesions, one epoch (seconds per run on two cores).

Subprocess scripts import it too (``sys.path`` holds ``tests/``), so that the profile they
register is the one their test reads.
"""
from __future__ import annotations

from enhance_utils.profiles import Profile, Training


def tiny_profile(name: str = "tiny", targets=("baseline", "crowd:A"), **training) -> Profile:
    """A profile called ``name`` training ``targets``; ``training`` overrides any
    :class:`~enhance_utils.profiles.Training` field."""
    settings = dict(archs=("small",), targets=tuple(targets), split_seeds=(1970,), image_size=32,
                    n_lesions=60, epochs=1, batch_size=20, learning_rate=1e-3, weights=None)
    return Profile(name=name, description="tests", n_examples=1,
                   training=Training(**{**settings, **training}))
