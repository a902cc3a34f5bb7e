"""Helpers for the ENHANCE interactive paper (Raumanns et al., MELBA 2021).

The package mirrors the paper's parts; every subpackage imports nothing on its own:

* :mod:`enhance_utils.data`: the files (registry, download, paths), the two image datasets,
  the ENHANCE annotations, what each chapter reads, and the paper's published numbers;
* :mod:`enhance_utils.abc`: the automated ABC algorithms (chapter 03);
* :mod:`enhance_utils.stats`: correlation with the diagnosis (04), agreement (05), paired
  statistics and what a design can detect (07–08);
* :mod:`enhance_utils.learning`: models, input pipeline, splits, targets, the experiment store,
  training, executors, ensembles, verdicts, the evidence on the paper's claims and
  explanations (06–09);
* :mod:`enhance_utils.book`: the chapter manifest, the build, glued prose, the scorecard,
  teaching, Colab and the chapters' figures and explorers.

:mod:`enhance_utils.tfstart` (how an entry point starts TensorFlow),
:mod:`enhance_utils.profiles` (how much work a chapter does), :mod:`enhance_utils.options` (the
command line's choices) and :mod:`enhance_utils.cli` (``enhance``) sit at the top.

The chapters import modules by short names (``from enhance_utils import correlation``):
:data:`CHAPTER_MODULES` maps each to its home, imported on first use.
"""
from .version import __version__ as __version__
from .tfstart import (TF_LOG_LEVEL, TF_STARTUP_NOTES, quiet_tensorflow,  # noqa: F401
                      start_tensorflow_quietly)

#: the short names the chapters import, and the module each one stands for
CHAPTER_MODULES = {
    "config": "data.paths", "datasets": "data.datasets", "annotations": "data.annotations",
    "reference": "data.paper", "correlation": "stats.correlation",
    "agreement": "stats.agreement", "paired": "stats.paired", "evidence": "learning.claims",
    "multitask": "learning.models", "pipeline": "learning.pipeline",
    "splits": "learning.splits", "targets": "learning.targets",
    "experiments": "learning.training", "results": "learning.results",
    "ensembles": "learning.ensembles", "verdicts": "learning.verdicts",
    "explain": "learning.explanations", "gradcam": "learning.gradcam",
    "variants": "learning.variants", "designs": "learning.designs",
    "figures": "book.figures",
    "explorers": "book.explorers", "prose": "book.prose", "prose_training": "book.prose_training",
}


def __getattr__(name: str):
    """``from enhance_utils import correlation`` in a chapter: the module it stands for."""
    if name in CHAPTER_MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{CHAPTER_MODULES[name]}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def setup_chapter(chapter: str, profile: str, data_dir=None, **options):
    """A chapter's setup cell, its entry point: in Colab add what Colab lacks, then resolve the
    chapter's folders and get its files.

    In Colab (``google.colab`` imported) the book is first installed from the checkout this
    package was imported from, leaving Colab's own packages as they are
    (:func:`enhance_utils.book.colab.install`); elsewhere that step is skipped. The folders are
    resolved once (:func:`enhance_utils.data.paths.resolve`: ``data_dir``, the chapter's
    parameter that the book build sets, else ``ENHANCE_DATA_DIR`` or the downloads) and made
    this kernel's (:func:`enhance_utils.data.paths.use`). Then
    :func:`enhance_utils.book.chapter_data.ensure` checks (a named data tree) or downloads the
    files ``chapter`` reads in ``profile``; ``options`` are the chapter's parameters that change
    them (:attr:`enhance_utils.book.manifest.Chapter.data_parameters`). Returns the workspace.
    """
    import sys
    from pathlib import Path

    quiet_tensorflow()
    if "google.colab" in sys.modules:
        from .book import colab  # the standard library only: nothing is installed yet

        added = colab.install(Path(__file__).resolve().parents[1])
        print("installed:", ", ".join(added) or "nothing new")
    from .book import chapter_data
    from .data import paths

    workspace = paths.resolve(data=data_dir)
    paths.use(workspace)
    chapter_data.ensure(chapter, profile, workspace=workspace, **options)
    return workspace
