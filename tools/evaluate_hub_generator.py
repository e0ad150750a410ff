"""Scores a released generator module (TF-Hub handle or SavedModel path) with our pipeline.

    python tools/evaluate_hub_generator.py \
        --module https://tfhub.dev/google/compare_gan/ssgan_128x128/1 \
        --dataset imagenet_128 --num_samples 50000 [--classifier inception] [--write_json F]

End-to-end check, to run on a machine with network access (and the ImageNet validation
set prepared for tensorflow-datasets): compare_gan's released SS-GAN module reports FID 20.6
and IS 24.9 on ImageNet 128x128. Our number for that module, with our Inception path
(WORKSPACE_NOTES.md "Evaluation protocol"), should land close to those; a large gap means
the evaluation pipeline (resize, input range, Inception weights, real split) differs.
Not run on the development machine (no network there); the offline test scores a module
exported by tools/export.py with the domain classifier instead.

How a module is called (`tensorflow_hub.load(handle)`):
  * TF1 Hub format (compare_gan's modules): the signature --signature (default: the first of
    "generator", "default", "serving_default" that exists) is called with its float input
    (z, [None, z_dim]) and, when it has one, its integer labels input; the output is the one
    named "generated", "images" or "default", or the only one.
  * TF2 SavedModels from tools/export.py: the same signatures exist ("default", output
    "images").
z is drawn U(-1, 1) (compare_gan's modules were trained with it; --z_distribution normal
for N(0, 1)) from the eval seeds 42 + r, r < --num_averaging_runs, with the same stateless
draws as `ModularGAN.sample_eval_z`: a module exported by tools/export.py scores exactly
what `evaluate_checkpoint` gives its checkpoint. Labels (conditional modules) are uniform
over --num_classes.
"""

import json
import os
import sys

from absl import app
from absl import flags
from absl import logging
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FLAGS = flags.FlagValues()
flags.DEFINE_string("module", None, "TF-Hub handle or local SavedModel / Hub module path.",
                    flag_values=FLAGS)
flags.DEFINE_string("signature", None, "Signature to call (default: auto).", flag_values=FLAGS)
flags.DEFINE_string("dataset", None, "Reference dataset name (gin dataset.name).",
                    flag_values=FLAGS)
flags.DEFINE_enum("split", "eval", ["eval", "train"], "Reference split.", flag_values=FLAGS)
flags.DEFINE_integer("num_samples", None, "N (default: dataset.eval_test_samples).",
                     flag_values=FLAGS)
flags.DEFINE_integer("num_averaging_runs", 3, "Fake sets.", flag_values=FLAGS)
flags.DEFINE_integer("num_classes", None, "Classes of a conditional module (default: the "
                     "dataset's).", flag_values=FLAGS)
flags.DEFINE_enum("z_distribution", "uniform", ["uniform", "normal"], "z prior.",
                  flag_values=FLAGS)
flags.DEFINE_enum("classifier", "inception", ["inception", "inception_graph", "domain"],
                  "Network that makes activations.", flag_values=FLAGS)
flags.DEFINE_string("inception_handle", None, "TF-Hub handle or local Inception copy.",
                    flag_values=FLAGS)
flags.DEFINE_string("inception_graph", None, "Path of inceptionv1_for_inception_score.pb.",
                    flag_values=FLAGS)
flags.DEFINE_string("cache_dir", None, "Cache of real activations / domain classifiers.",
                    flag_values=FLAGS)
flags.DEFINE_string("write_json", None, "Also write the results here.", flag_values=FLAGS)
flags.DEFINE_multi_string("gin_config", [], "Gin configs (dataset, evaluation.*).",
                          flag_values=FLAGS)
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=FLAGS)

SIGNATURES = ("generator", "default", "serving_default")
OUTPUT_NAMES = ("generated", "images", "default")


class HubGenerator:
  """A generator module behind the GAN evaluation interface `evaluate_checkpoint` uses."""

  def __init__(self, handle, signature=None, num_classes=None, z_distribution="uniform"):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    import tensorflow_hub as hub  # pylint: disable=import-outside-toplevel
    self.handle = handle
    self.module = hub.load(handle)
    sigs = getattr(self.module, "signatures", {}) or {}
    names = [signature] if signature else [s for s in SIGNATURES if s in sigs]
    if not names or names[0] not in sigs:
      raise ValueError(f"{handle}: no signature {signature or SIGNATURES}; it has "
                       f"{sorted(sigs)}")
    self.signature_name = names[0]
    self.fn = sigs[self.signature_name]
    inputs = self.fn.structured_input_signature[1]
    floats = [k for k, s in inputs.items() if s.dtype.is_floating]
    ints = [k for k, s in inputs.items() if s.dtype.is_integer]
    if len(floats) != 1 or len(ints) > 1:
      raise ValueError(f"{handle}:{self.signature_name}: expected one float input (z) and at "
                       f"most one integer input (labels), got {inputs}")
    self.z_name, self.z_dim = floats[0], int(inputs[floats[0]].shape[-1])
    self.labels_name = ints[0] if ints else None
    self.num_classes = 0
    if self.labels_name is not None:
      if num_classes is None:
        raise ValueError(f"{handle} is conditional: pass num_classes")
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
    raise ValueError(f"{self.handle}: cannot tell the images among outputs {sorted(out)}")

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
    raise ValueError(f"{handle} makes images of shape {probe.shape[1:]}, dataset "
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


def main(argv):
  FLAGS(argv)
  if not FLAGS.module:
    raise app.UsageError("--module is required")
  logging.set_verbosity(logging.INFO)
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import gin_utils, metrics
  from compare_ssgan.datasets import get_dataset
  bindings = list(FLAGS.gin_bindings) + [f'evaluation.real_split = "{FLAGS.split}"']
  if FLAGS.dataset:
    bindings.append(f'dataset.name = "{FLAGS.dataset}"')
  gin_utils.parse(FLAGS.gin_config, bindings)
  dataset = get_dataset()
  if FLAGS.classifier == "inception":
    classifier = metrics.inception_classifier(handle=FLAGS.inception_handle)
  elif FLAGS.classifier == "inception_graph":
    classifier = metrics.inception_classifier(source="frozen_graph",
                                              graph_path=FLAGS.inception_graph)
  else:
    classifier = metrics.get_classifier("domain", dataset, FLAGS.cache_dir)
  results = evaluate_module(FLAGS.module, dataset, FLAGS.num_samples,
                            FLAGS.num_averaging_runs, classifier, FLAGS.cache_dir,
                            FLAGS.signature, FLAGS.num_classes, FLAGS.z_distribution)
  text = json.dumps(results, indent=1, sort_keys=True)
  if FLAGS.write_json:
    with open(FLAGS.write_json, "w") as f:
      f.write(text)
  print(text)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
