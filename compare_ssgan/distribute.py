"""`tf.distribute` strategies from command-line flags: default, mirrored, multi_worker, tpu."""

import json
import os

import tensorflow as tf

from compare_ssgan import errors

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def set_cpu_replicas(n):
  """Splits the CPU into `n` logical devices; must run before TensorFlow starts its devices."""
  n = int(n)
  if n <= 1:
    return
  cpus = tf.config.list_physical_devices("CPU")
  try:
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * n)
  except RuntimeError as e:
    raise errors.ConfigError(f"--cpu_replicas={n} must be set before TensorFlow initialises its "
                       f"devices ({e})") from e


def make_strategy(name="default", tpu=None, cpu_replicas=0):
  """The strategy called `name`.

  mirrored: all visible GPUs, else the logical CPU devices (`--cpu_replicas`).
  multi_worker: `MultiWorkerMirroredStrategy` from the TF_CONFIG environment variable.
  tpu: `TPUStrategy` on `tpu` (or $TPU_NAME), connecting and initialising the TPU system.
  """
  if name not in STRATEGIES:
    raise errors.ConfigError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
      return tf.distribute.MirroredStrategy()
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    if cpu_replicas and len(cpus) < int(cpu_replicas):
      raise errors.ConfigError(f"asked for {cpu_replicas} CPU replicas but only {len(cpus)} logical "
                       "CPU devices exist")
    return tf.distribute.MirroredStrategy(cpus[:int(cpu_replicas)] if cpu_replicas else cpus)
  if name == "multi_worker":
    if "TF_CONFIG" not in os.environ:
      raise errors.ConfigError("--strategy multi_worker needs the TF_CONFIG environment variable")
    return tf.distribute.MultiWorkerMirroredStrategy()
  tpu = tpu or os.environ.get("TPU_NAME")
  resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
  tf.config.experimental_connect_to_cluster(resolver)
  tf.tpu.experimental.initialize_tpu_system(resolver)
  return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy):
  """Whether this process writes checkpoints, summaries and samples."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
    return True
  task_type, task_id = resolver.task_type, resolver.task_id
  if task_type is None or task_type == "chief":
    return True
  cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
  return task_type == "worker" and task_id == 0 and "chief" not in cluster


def worker_index(strategy):
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or resolver.task_id is None:
    return 0
  return int(resolver.task_id)
