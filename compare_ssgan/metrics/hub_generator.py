"""A released generator module (TF-Hub handle or SavedModel path) behind the GAN evaluation
interface, so `evaluate_checkpoint` scores it (`compare_ssgan evaluate-module`).

End-to-end check, to run on a machine with network access (and the ImageNet validation
set prepared for tensorflow-datasets): compare_gan's released SS-GAN module reports FID 20.6
and IS 24.9 on ImageNet 128x128. Our number for that module, with our Inception path
(WORKSPACE_NOTES.md "Evaluation protocol"), should land close to those; a large gap means
the evaluation pipeline (resize, input range, Inception weights, real split) differs.
Not run on the development machine (no network there); the offline test scores a module
exported by compare_ssgan export with the domain classifier instead.

How a module is called (`tensorflow_hub.load(handle)`):
  * TF1 Hub format (compare_gan's modules): the signature --signature (default: the first of
    "generator", "default", "serving_default" that exists) is called with its float input
    (z, [None, z_dim]) and, when it has one, its integer labels input; the output is the one
    named "generated", "images" or "default", or the only one.
  * TF2 SavedModels from compare_ssgan export: the same signatures exist ("default", output
    "images").
z is drawn U(-1, 1) (compare_gan's modules were trained with it; --z_distribution normal
for N(0, 1)) from the eval seeds 42 + r, r < --num_averaging_runs, with the same stateless
draws as `ModularGAN.sample_eval_z`: a module exported by compare_ssgan export scores exactly
what `evaluate_checkpoint` gives its checkpoint. Labels (conditional modules) are uniform
over --num_classes.
"""

import numpy as np

from compare_ssgan import errors

SIGNATURES = ("generator", "default", "serving_default")
OUTPUT_NAMES = ("generated", "images", "default")


class HubGenerator:
  """A generator module behind the GAN evaluation interface `evaluate_checkpoint` uses."""

  def __init__(self, handle, signature=None, num_classes=None, z_distribution="uniform"):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    import tensorflow_hub as hub  # pylint: disable=import-outside-toplevel
    self.handle = handle
    try:
      self.module = hub.load(handle)
    except Exception as e:  # pylint: disable=broad-except
      raise errors.DataError(f"could not load the generator module {handle!r} "
                             f"({type(e).__name__}: {e})") from e
    sigs = getattr(self.module, "signatures", {}) or {}
    names = [signature] if signature else [s for s in SIGNATURES if s in sigs]
    if not names or names[0] not in sigs:
      raise errors.ConfigError(f"{handle}: no signature {signature or SIGNATURES}; it has "
                       f"{sorted(sigs)}")
    self.signature_name = names[0]
    self.fn = sigs[self.signature_name]
    inputs = self.fn.structured_input_signature[1]
    floats = [k for k, s in inputs.items() if s.dtype.is_floating]
    ints = [k for k, s in inputs.items() if s.dtype.is_integer]
    if len(floats) != 1 or len(ints) > 1:
      raise errors.ConfigError(f"{handle}:{self.signature_name}: expected one float input (z) and at "
                       f"most one integer input (labels), got {inputs}")
    self.z_name, self.z_dim = floats[0], int(inputs[floats[0]].shape[-1])
    self.labels_name = ints[0] if ints else None
    self.num_classes = 0
    if self.labels_name is not None:
      if num_classes is None:
        raise errors.ConfigError(f"{handle} is conditional: pass num_classes")
      self.num_classes = int(num_classes)
    self.z_distribution = z_distribution
    self._tf = tf

  def _output(self, out):
    if not isinstance(out, dict):
      return out
    for name in OUTPUT_NAMES:
      if name in out:
        return out[name]
    if len(out) == 1:
      return next(iter(out.values()))
    raise errors.ConfigError(f"{self.handle}: cannot tell the images among outputs {sorted(out)}")

  # -- the GAN evaluation interface ------------------------------------------------------

  def generate(self, z, y=None, use_ema=True):
    del use_ema  # a released module has one set of weights
    tf = self._tf
    kwargs = {self.z_name: tf.convert_to_tensor(z, tf.float32)}
    if self.labels_name is not None:
      labels = tf.argmax(y, axis=1, output_type=tf.int32) if y is not None else \
          tf.zeros([tf.shape(z)[0]], tf.int32)
      kwargs[self.labels_name] = tf.cast(labels, self.fn.structured_input_signature[1][
          self.labels_name].dtype)
    return self._output(self.fn(**kwargs))

  def sample_eval_z(self, num, seed):
    """The same stateless draws as `ModularGAN.sample_eval_z` with default `eval_z.*`."""
    from compare_ssgan import random as rng  # pylint: disable=import-outside-toplevel
    shape, key = [int(num), self.z_dim], rng.key(seed, 0, rng.EVAL_Z)
    if self.z_distribution == "normal":
      return rng.normal_distribution(shape, key).numpy()
    return rng.uniform_distribution(shape, key).numpy()

  def sample_labels(self, num, seed):
    """As `ModularGAN.sample_labels`: uniform class ids from a stateless key."""
    from compare_ssgan import random as rng  # pylint: disable=import-outside-toplevel
    if not self.num_classes:
      return np.zeros([int(num)], np.int32)
    return self._tf.random.stateless_uniform(
        [int(num)], rng.key(seed, 0, rng.EVAL_LABELS), minval=0, maxval=self.num_classes,
        dtype=self._tf.int32).numpy()

  def has_bn_accumulators(self):
    return False

  def update_bn_accumulators(self, *args, **kwargs):
    del args, kwargs


def evaluate_module(handle, dataset, num_samples=None, num_averaging_runs=3, classifier=None,
                    cache_dir=None, signature=None, num_classes=None,
                    z_distribution="uniform"):
  """`metrics.evaluate_checkpoint` on a module; returns its results dict plus facts."""
  from compare_ssgan import metrics  # pylint: disable=import-outside-toplevel
  gen = HubGenerator(handle, signature,
                     num_classes if num_classes is not None else dataset.num_classes,
                     z_distribution)
  probe = np.asarray(gen.generate(gen.sample_eval_z(2, 0),
                                  metrics_one_hot(gen, gen.sample_labels(2, 0))))
  if probe.shape[1:] != (dataset.resolution, dataset.resolution, 3):
    raise errors.ConfigError(f"{handle} makes images of shape {probe.shape[1:]}, dataset "
                     f"{dataset.name!r} has {dataset.resolution}x{dataset.resolution}x3")
  results = metrics.evaluate_checkpoint(gen, dataset, step=0, num_samples=num_samples,
                                        num_averaging_runs=num_averaging_runs,
                                        classifier=classifier, cache_dir=cache_dir)
  results.update(module=handle, signature=gen.signature_name, z_dim=gen.z_dim,
                 dataset=dataset.name,
                 num_samples=int(num_samples or dataset.eval_test_samples))
  return results


def metrics_one_hot(gen, labels):
  if not gen.num_classes:
    return None
  return np.eye(gen.num_classes, dtype=np.float32)[labels]
