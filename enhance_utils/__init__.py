"""Helpers for the ENHANCE interactive paper (Raumanns et al., MELBA 2021).

One module per concern, in the order of the book's chapters:
:mod:`~enhance_utils.datasets` (chapter 01), :mod:`~enhance_utils.annotations` (chapter 02),
with :mod:`~enhance_utils.fetch` and :mod:`~enhance_utils.config` for the data itself.
"""
import os as _os

# TensorFlow's C++ start-up messages would otherwise fill the chapters' outputs (stderr).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"


def setup_chapter(chapter: str, profile: str, **options):
    """A chapter's setup cell: in Colab add what Colab lacks, then get the chapter's files.

    In Colab (``google.colab`` imported) the book is first installed from the checkout this
    package was imported from, leaving Colab's own packages as they are
    (:func:`enhance_utils.colab.install`); elsewhere that step is skipped. Then
    :func:`enhance_utils.chapter_data.ensure` checks (``ENHANCE_DATA_DIR``) or downloads the
    files ``chapter`` reads in ``profile``; ``options`` are the chapter's parameters that change
    them (:attr:`enhance_utils.manifest.Chapter.data_parameters`). Returns the data root.
    """
    import sys
    from pathlib import Path

    if "google.colab" in sys.modules:
        from . import colab  # the standard library only: nothing is installed yet

        added = colab.install(Path(__file__).resolve().parents[1])
        print("installed:", ", ".join(added) or "nothing new")
    from . import chapter_data

    return chapter_data.ensure(chapter, profile, **options)
