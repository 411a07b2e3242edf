"""Import TensorFlow without its start-up block on the terminal.

TensorFlow's C++ libraries print a block of absl/oneDNN/CUDA lines to file descriptor 2 while
they load ("All log messages before absl::InitializeLog() ...", "oneDNN custom operations are
on ...", "Could not find cuda drivers ..."), twice, whatever ``TF_CPP_MIN_LOG_LEVEL`` says.
:func:`import_tensorflow` catches descriptor 2 while TensorFlow loads and runs its first op,
then passes on every line that is not one of those known notices: real errors still show.
"""

from __future__ import annotations

import os
import sys
import tempfile

__all__ = ["import_tensorflow", "without_startup_notices", "STARTUP_NOTICES"]

#: Fragments of the start-up lines that say nothing is wrong.
STARTUP_NOTICES = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "Could not find cuda drivers",
    "cpu_feature_guard.cc",
    "To enable the following instructions",
    "failed call to cuInit",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning",
)


def without_startup_notices(text: str) -> list:
    """The lines of ``text`` that are not TensorFlow's known start-up notices."""
    return [line for line in text.splitlines()
            if line.strip() and not any(notice in line for notice in STARTUP_NOTICES)]


def import_tensorflow(setup=None):
    """``import tensorflow`` (and Keras), with TensorFlow's start-up notices filtered out of
    standard error; returns the module.  ``setup(tensorflow)`` runs before the first op (for
    settings that must precede it, such as thread counts).  Does nothing special once
    TensorFlow is loaded."""
    if "tensorflow" in sys.modules:
        import tensorflow

        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow

            if setup is not None:
                setup(tensorflow)
            tensorflow.constant(0).numpy()  # the first op initialises the devices
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            for line in without_startup_notices(text):
                print(line, file=sys.stderr)
    return tensorflow
