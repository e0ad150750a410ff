r"""Score a released generator module (TF-Hub handle or SavedModel) with our evaluation.

    compare_ssgan evaluate-module --module https://tfhub.dev/google/compare_gan/ssgan_128x128/1 \
        --dataset imagenet_128 --num_samples 50000 [--classifier inception] \
        [--inception_handle /path/to/inception] [--write_json F]

An end-to-end check of the evaluation pipeline where the network (and the dataset) is
available: compare_gan reports FID 20.6 and IS 24.9 for that module. z is U(-1, 1) from the
same eval seeds as `evaluate_checkpoint`, so a module written by `compare_ssgan export`
scores exactly what its checkpoint scores (`--classifier domain` works offline).
"""

import json

from absl import flags

from compare_ssgan.cli import command
from compare_ssgan.cli import evaluate


def define_flags(fv):
  flags.DEFINE_string("module", None, "TF-Hub handle or local SavedModel / Hub module path.",
                      flag_values=fv)
  flags.DEFINE_string("signature", None, "Signature to call (default: the first of "
                      "generator, default, serving_default).", flag_values=fv)
  flags.DEFINE_integer("num_classes", None, "Classes of a conditional module (default: the "
                       "dataset's).", flag_values=fv)
  flags.DEFINE_enum("z_distribution", "uniform", ["uniform", "normal"], "z prior.",
                    flag_values=fv)
  flags.DEFINE_string("write_json", None, "Also write the results here.", flag_values=fv)
  evaluate.define_reference_flags(fv)


def run(module, dataset=None, split="eval", num_samples=None, num_averaging_runs=3,
        classifier="inception", inception_handle=None, inception_graph=None,
        cache_dir=None, signature=None, num_classes=None, z_distribution="uniform",
        gin_configs=(), gin_bindings=(), resize=None):
  """The results dict of `evaluate_checkpoint` on the module, plus module facts."""
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import errors, gin_utils, metrics
  from compare_ssgan.datasets import get_dataset
  from compare_ssgan.metrics import hub_generator
  if not module:
    raise errors.ConfigError("--module is required")
  gin_utils.parse(gin_configs, evaluate.reference_bindings(gin_bindings, dataset, split))
  data = get_dataset()
  the_classifier = metrics.get_classifier(classifier, data, cache_dir, inception_handle,
                                          inception_graph, resize)
  return hub_generator.evaluate_module(module, data, num_samples, num_averaging_runs,
                                       the_classifier, cache_dir, signature, num_classes,
                                       z_distribution)


def main(fv, args):
  del args
  results = run(fv.module, fv.dataset, fv.split, fv.num_samples, fv.num_averaging_runs,
                fv.classifier, fv.inception_handle, fv.inception_graph, fv.cache_dir,
                fv.signature, fv.num_classes, fv.z_distribution, fv.gin_config,
                fv.gin_bindings, fv.resize)
  text = json.dumps(results, indent=1, sort_keys=True)
  if fv.write_json:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    with tf.io.gfile.GFile(fv.write_json, "w") as f:
      f.write(text)
  print(text)


COMMAND = command.Command("evaluate-module", __doc__, define_flags, main)
