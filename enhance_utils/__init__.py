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

:mod:`enhance_utils.profiles` (how much work a chapter does), :mod:`enhance_utils.options` (the
command line's choices) and :mod:`enhance_utils.cli` (``enhance``) sit at the top.

The chapters import modules by short names (``from enhance_utils import correlation``):
:data:`CHAPTER_MODULES` maps each to its home, imported on first use.
"""
from .version import __version__ as __version__

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


#: the notes TensorFlow writes to the process's stderr while it starts, whatever
#: ``TF_CPP_MIN_LOG_LEVEL`` says (it applies once absl's log is initialised; TensorFlow 2.19+,
#: tensorflow/tensorflow#100442): absl's own warning, oneDNN being on, no CUDA driver
TF_STARTUP_NOTES = ("All log messages before absl::InitializeLog() is called",
                    "oneDNN custom operations are on", "Could not find cuda drivers",
                    "failed call to cuInit")


def start_tensorflow_quietly() -> None:
    """Import TensorFlow and start its eager runtime with the process's stderr (file
    descriptor 2) captured, then write back every line but :data:`TF_STARTUP_NOTES`; for the
    command line's training, whose output should be its own. Does nothing when TensorFlow
    is imported already."""
    import os
    import sys
    import tempfile

    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf

            tf.constant(0) + 0  # the eager runtime and its devices start here
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines
                                     if not any(note in line for note in TF_STARTUP_NOTES)))
