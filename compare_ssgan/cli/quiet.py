"""Keeps TensorFlow's start-up chatter and third-party log lines off a user's terminal.

TensorFlow's C++ runtime writes its banner (oneDNN, CUDA probing, the absl pre-init line)
straight to the process's stderr while it loads, so `TF_CPP_MIN_LOG_LEVEL` set late does not
remove it all: the loading itself runs with file descriptor 2 captured, and only lines that
are not known noise are written back. Python-side, log records from outside compare_ssgan
below ERROR (tf-gan's deprecation block, checkpoint sharding lines) are dropped.
`--verbosity=1` turns all of this off. A user who set `TF_CPP_MIN_LOG_LEVEL` keeps it.
"""

import logging as py_logging
import os
import re
import sys
import tempfile
import warnings

from absl import logging

_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|port\.cc:\d+\] oneDNN custom operations|"
    r"cudart_stub|cuda_platform|cuda_executor|cuda_dnn|cuda_blas|cuda_fft|failed call to cuInit|"
    r"cpu_feature_guard|This TensorFlow binary is optimized|rebuild TensorFlow with the|"
    r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered|"
    r"TF-TRT Warning|oneDNN custom operations are on")
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_tensorflow():
  """Imports TensorFlow and initialises its devices with stderr captured; returns `tf`."""
  user_level = "TF_CPP_MIN_LOG_LEVEL" in os.environ
  if "tensorflow" in sys.modules:
    return sys.modules["tensorflow"]
  if not user_level:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
  with _captured_stderr() as lines:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    tf.config.list_physical_devices()
  for line in lines():
    if user_level or not _NOISE.search(line):
      sys.stderr.write(line)
  return tf


class _captured_stderr:  # pylint: disable=invalid-name
  """Context manager redirecting file descriptor 2 to a temp file; yields a line reader."""

  def __enter__(self):
    sys.stderr.flush()
    self._saved = os.dup(2)
    self._file = tempfile.TemporaryFile(mode="w+b")
    os.dup2(self._file.fileno(), 2)
    self._text = []
    return lambda: self._text

  def __exit__(self, *exc):
    sys.stderr.flush()
    os.dup2(self._saved, 2)
    os.close(self._saved)
    self._file.seek(0)
    self._text.extend(self._file.read().decode("utf-8", "replace").splitlines(True))
    self._file.close()
    if exc[0] is not None:  # an import that failed: show everything it said
      for line in self._text:
        sys.stderr.write(line)
    return False


class _OwnRecordsOnly(py_logging.Filter):
  """Passes compare_ssgan's records and anything at ERROR or above."""

  def filter(self, record):
    return (record.levelno >= py_logging.ERROR or
            os.path.abspath(record.pathname).startswith(_PACKAGE_DIR))


def silence_third_party():
  """Filters other packages' log records and deprecation warnings (idempotent)."""
  handler = logging.get_absl_handler()
  if not any(isinstance(f, _OwnRecordsOnly) for f in handler.filters):
    handler.addFilter(_OwnRecordsOnly())
  for name in ("tensorflow", "tensorflow_gan", "tensorflow_hub", "tensorflow_datasets",
               "h5py", "matplotlib"):
    py_logging.getLogger(name).setLevel(py_logging.ERROR)
  warnings.filterwarnings("ignore", category=DeprecationWarning)
  warnings.filterwarnings("ignore", category=FutureWarning)
  warnings.filterwarnings("ignore", module="tensorflow_gan")
  warnings.filterwarnings("ignore", module="keras")
