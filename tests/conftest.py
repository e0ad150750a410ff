"""Test set-up: two logical CPU devices (so multi-replica tests are real) and clean gin."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

import gin  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
  tf.config.set_logical_device_configuration(
      _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
except RuntimeError:  # devices already initialised by another conftest import
  pass


@pytest.fixture(autouse=True)
def _clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


@pytest.fixture(scope="session")
def two_replicas():
  """One MirroredStrategy over the two logical CPUs for the whole session. Each new strategy
  numbers its collective ops from the same keys, and the runtime refuses a key reused with
  another shape, so tests that all-reduce must share one strategy."""
  return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
