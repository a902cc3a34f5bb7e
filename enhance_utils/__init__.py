"""Helpers for the ENHANCE interactive paper (Raumanns et al., MELBA 2021).

One module per concern, in the order of the book's chapters:
:mod:`~enhance_utils.datasets` (chapter 01), :mod:`~enhance_utils.annotations` (chapter 02),
with :mod:`~enhance_utils.fetch` and :mod:`~enhance_utils.config` for the data itself.
"""
import os as _os

# TensorFlow's C++ start-up messages would otherwise fill the chapters' outputs (stderr).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
