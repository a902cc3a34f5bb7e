"""Helpers for the ENHANCE interactive paper (Raumanns et al., MELBA 2021).

One module per concern, in the order of the book's chapters:
:mod:`~enhance_utils.datasets` (chapter 01), :mod:`~enhance_utils.annotations` (chapter 02),
with :mod:`~enhance_utils.fetch` and :mod:`~enhance_utils.config` for the data itself.
"""
__version__ = "0.1.0"

#: TensorFlow's C++ log level in the entry points (chapters, ``enhance``): errors only, so that
#: its start-up messages do not fill the chapters' outputs (stderr). Read when TensorFlow is
#: imported, so an entry point sets it first (:func:`quiet_tensorflow`).
TF_LOG_LEVEL = "2"


def quiet_tensorflow() -> None:
    """Set ``TF_CPP_MIN_LOG_LEVEL`` to :data:`TF_LOG_LEVEL` unless it is set; for entry points
    only (a chapter's setup, the command line), before TensorFlow is imported."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)


def setup_chapter(chapter: str, profile: str, data_dir=None, **options):
    """A chapter's setup cell, its entry point: in Colab add what Colab lacks, then resolve the
    chapter's folders and get its files.

    In Colab (``google.colab`` imported) the book is first installed from the checkout this
    package was imported from, leaving Colab's own packages as they are
    (:func:`enhance_utils.colab.install`); elsewhere that step is skipped. The folders are
    resolved once (:func:`enhance_utils.config.resolve`: ``data_dir``, the chapter's parameter
    that the book build sets, else ``ENHANCE_DATA_DIR`` or the downloads) and made this
    kernel's (:func:`enhance_utils.config.use`). Then :func:`enhance_utils.chapter_data.ensure`
    checks (a named data tree) or downloads the files ``chapter`` reads in ``profile``;
    ``options`` are the chapter's parameters that change them
    (:attr:`enhance_utils.manifest.Chapter.data_parameters`). Returns the workspace.
    """
    import sys
    from pathlib import Path

    quiet_tensorflow()
    if "google.colab" in sys.modules:
        from . import colab  # the standard library only: nothing is installed yet

        added = colab.install(Path(__file__).resolve().parents[1])
        print("installed:", ", ".join(added) or "nothing new")
    from . import chapter_data, config

    workspace = config.resolve(data=data_dir)
    config.use(workspace)
    chapter_data.ensure(chapter, profile, workspace=workspace, **options)
    return workspace
