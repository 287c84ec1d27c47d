"""Importing TensorFlow without its C++ start-up notes, for the command line."""

import logging
import os


class _NoRetracingNote(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning.

    A search builds a new model every trial, so new traces are what it should do;
    the warning's advice (define the function outside the loop) does not apply.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def import_tensorflow_quietly():
    """Imports TensorFlow, Keras and KerasTuner with file descriptor 2 sent to /dev/null.

    TensorFlow 2.21 logs "oneDNN custom operations are on" from a static initialiser,
    before it reads TF_CPP_MIN_LOG_LEVEL, so that variable cannot silence it (measured).
    Only the import is silenced: an import error is raised as usual, and every later
    message (errors included) prints.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # later C++ notes (CPU features)
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        import keras  # noqa: F401
        import keras_tuner  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
    logging.getLogger("tensorflow").addFilter(_NoRetracingNote())
