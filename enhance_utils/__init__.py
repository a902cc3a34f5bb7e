"""Helpers for the ENHANCE interactive paper (Raumanns et al., MELBA 2021).

One module per concern, in the order of the book's chapters:
:mod:`~enhance_utils.datasets` (chapter 01), :mod:`~enhance_utils.annotations` (chapter 02),
with :mod:`~enhance_utils.fetch` and :mod:`~enhance_utils.config` for the data itself.
"""
__version__ = "0.1.0"
