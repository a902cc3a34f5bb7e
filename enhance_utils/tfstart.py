"""How the entry points start TensorFlow: its C++ log level (:func:`quiet_tensorflow`) and
its runtime started without the notes it writes to stderr whatever that level says
(:func:`start_tensorflow_quietly`). A bottom module: the command line, the chapters' setup
and the local executor's worker processes (:mod:`enhance_utils.learning.executors`) call it;
:mod:`enhance_utils` re-exports its names.
"""
from __future__ import annotations

#: TensorFlow's C++ log level in the entry points (chapters, ``enhance``): errors only, so that
#: its start-up messages do not fill the chapters' outputs (stderr). Read when TensorFlow is
#: imported, so an entry point sets it first (:func:`quiet_tensorflow`).
TF_LOG_LEVEL = "2"


def quiet_tensorflow() -> None:
    """Set ``TF_CPP_MIN_LOG_LEVEL`` to :data:`TF_LOG_LEVEL` unless it is set; for entry points
    only (a chapter's setup, the command line), before TensorFlow is imported."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)


#: the notes TensorFlow writes to the process's stderr while it starts, whatever
#: ``TF_CPP_MIN_LOG_LEVEL`` says (it applies once absl's log is initialised; TensorFlow 2.19+,
#: tensorflow/tensorflow#100442): absl's own warning, oneDNN being on, no CUDA driver
TF_STARTUP_NOTES = ("All log messages before absl::InitializeLog() is called",
                    "oneDNN custom operations are on", "Could not find cuda drivers",
                    "failed call to cuInit")


def start_tensorflow_quietly(threads: int | None = None) -> None:
    """Import TensorFlow and start its eager runtime with the process's stderr (file
    descriptor 2) captured, then write back every line but :data:`TF_STARTUP_NOTES`; for the
    command line's training, whose output should be its own. ``threads``: the size of the
    runtime's thread pools, which cannot change once it runs (a training process passes its
    runs', :func:`enhance_utils.learning.run.pin_threads`). Does nothing when TensorFlow
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

            if threads:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            tf.constant(0) + 0  # the eager runtime and its devices start here
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines
                                     if not any(note in line for note in TF_STARTUP_NOTES)))
