"""tf-gan's evaluation math on TF >= 2.16, without importing the tensorflow_gan package.

`import tensorflow_gan` fails on TF >= 2.16: its package `__init__` imports its estimator
module and `tf.estimator` is gone (tensorflow/gan#55, #59). Its metric math,
`tensorflow_gan/python/eval/classifier_metrics.py`, only needs TensorFlow, TF-Probability and
the sibling `eval_utils`, and runs on TF 2.21. We therefore register bare module objects for
`tensorflow_gan`, `tensorflow_gan.python` and `tensorflow_gan.python.eval` whose `__path__`
is the installed folder (so their `__init__` files never run) and import the submodule.

We keep tf-gan's numerics (float64 FID via its trace-sqrt product, its IS and KID estimators)
rather than our own so scores stay comparable with compare_gan and tf-gan users.
"""

import importlib
import importlib.util
import os
import sys
import types

_PACKAGES = ("tensorflow_gan", "tensorflow_gan.python", "tensorflow_gan.python.eval")
_METRICS_MODULE = "tensorflow_gan.python.eval.classifier_metrics"

_classifier_metrics = None


def _installed_root():
  """The folder of the installed tensorflow_gan package, found without importing it."""
  spec = importlib.util.find_spec("tensorflow_gan")
  if spec is None or not spec.submodule_search_locations:
    raise ImportError(
        "tensorflow-gan is not installed; compare_ssgan's metrics need its classifier_metrics "
        "module (pip install 'tensorflow-gan==2.1.0').")
  return list(spec.submodule_search_locations)[0]


def _register_bare_packages():
  """Puts namespace-like stand-ins for tf-gan's packages into sys.modules.

  A stand-in is only added when the real package is not imported already (e.g. on an old TF
  where `import tensorflow_gan` works), so we never shadow a working install.
  """
  root = _installed_root()
  for name in _PACKAGES:
    if name in sys.modules:
      continue
    parts = name.split(".")[1:]
    module = types.ModuleType(name, "compare_ssgan stand-in: package __init__ not executed")
    module.__path__ = [os.path.join(root, *parts)]
    module.__package__ = name
    sys.modules[name] = module
    if parts:  # make `tensorflow_gan.python.eval` reachable as attributes too
      setattr(sys.modules[".".join(name.split(".")[:-1])], parts[-1], module)


def classifier_metrics():
  """tf-gan's `classifier_metrics` module (loaded once)."""
  global _classifier_metrics
  if _classifier_metrics is None:
    if _METRICS_MODULE not in sys.modules:
      _register_bare_packages()
    _classifier_metrics = importlib.import_module(_METRICS_MODULE)
  return _classifier_metrics


def frechet_classifier_distance_from_activations(activations1, activations2):
  return classifier_metrics().frechet_classifier_distance_from_activations(
      activations1, activations2)


def classifier_score_from_logits(logits):
  return classifier_metrics().classifier_score_from_logits(logits)


def kernel_classifier_distance_and_std_from_activations(activations1, activations2,
                                                        max_block_size=1024, dtype=None):
  # tf-gan's KID calls `.shape.assert_has_rank`: it needs tensors, not arrays.
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return classifier_metrics().kernel_classifier_distance_and_std_from_activations(
      tf.convert_to_tensor(activations1), tf.convert_to_tensor(activations2),
      max_block_size=max_block_size, dtype=dtype)


def trace_sqrt_product(sigma, sigma_v):
  """Tr(sqrt(sigma @ sigma_v)), tf-gan's way; for FID from stored (mu, sigma)."""
  return classifier_metrics().trace_sqrt_product(sigma, sigma_v)
