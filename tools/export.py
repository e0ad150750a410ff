"""Exports a checkpoint as two SavedModels that load without compare_ssgan.

    python tools/export.py --model_dir DIR [--step S] [--export_dir DIR/export-S] [--noema]

Writes
  <export_dir>/generator       z [None, z_dim] float32 (+ labels [None] int32 when
                               conditional) -> images [None, H, W, 3] in [0, 1]; EMA weights
                               when the run has them (--noema for the raw G); BN accumulators
                               filled first when G has them (as the evaluation does)
  <export_dir>/discriminator   images [None, H, W, 3] in [0, 1] (+ labels when conditional)
                               -> {"probabilities", "logits", "features", "rotation_logits"}
                               (the rotation head is included; ModularGAN runs have none)
Load with TensorFlow (or TF-Hub) alone:
    import tensorflow as tf                  # or: import tensorflow_hub as hub; hub.load(p)
    g = tf.saved_model.load("DIR/export-S/generator")
    z = tf.random.uniform([16, int(g.z_dim)], -1, 1)
    images = g(z)                            # g(z, labels) for a conditional GAN
    d = tf.saved_model.load("DIR/export-S/discriminator")
    rot = d(images)["rotation_logits"]
Signatures "default" / "serving_default" ("generator" / "discriminator") give the same with
named inputs and dict outputs ({"images"} for G). See compare_ssgan/export.py.
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FLAGS = flags.FlagValues()
flags.DEFINE_string("model_dir", None, "The run's model directory.", flag_values=FLAGS)
flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).", flag_values=FLAGS)
flags.DEFINE_string("export_dir", None, "Output (default: model_dir/export-<step>).",
                    flag_values=FLAGS)
flags.DEFINE_boolean("ema", True, "Export the EMA generator when the run has one.",
                     flag_values=FLAGS)
flags.DEFINE_integer("bn_accumulator_samples", None,
                     "Samples filling BN accumulators (default: gin evaluation.*, 204,800).",
                     flag_values=FLAGS)
flags.DEFINE_multi_string("gin_config", [], "Gin configs (default: the run's operative one).",
                          flag_values=FLAGS)
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=FLAGS)


def export(model_dir, step=None, export_dir=None, use_ema=True, bn_accumulator_samples=None,
           gin_configs=(), gin_bindings=()):
  """Restores `model_dir/ckpt-<step>` and writes both SavedModels; returns (gan, export_dir)."""
  import sample  # tools/sample.py  pylint: disable=import-outside-toplevel
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import export as export_lib
  from compare_ssgan import options
  from compare_ssgan.metrics import eval_options
  gan, dataset, step = sample.restore_gan(model_dir, step, gin_configs, gin_bindings)
  if gan.has_bn_accumulators():
    opts = eval_options()
    n = bn_accumulator_samples or opts["bn_accumulator_samples"]
    logging.info("Filling BN accumulators with %d samples", n)
    gan.update_bn_accumulators(n, batch_size=opts["batch_size"], seed=opts["seed"])
  export_dir = export_dir or os.path.join(model_dir, f"export-{step}")
  metadata = {"step": int(step), "model_dir": os.path.abspath(model_dir),
              "architecture": options.options()["architecture"], "dataset": dataset.name,
              "gan_class": type(gan).__name__}
  export_lib.export_generator(gan, os.path.join(export_dir, "generator"), use_ema=use_ema,
                              metadata=metadata)
  export_lib.export_discriminator(gan, os.path.join(export_dir, "discriminator"),
                                  metadata=metadata)
  return gan, export_dir


def main(argv):
  FLAGS(argv)
  if not FLAGS.model_dir:
    raise app.UsageError("--model_dir is required")
  logging.set_verbosity(logging.INFO)
  _, export_dir = export(FLAGS.model_dir, FLAGS.step, FLAGS.export_dir, FLAGS.ema,
                         FLAGS.bn_accumulator_samples, FLAGS.gin_config, FLAGS.gin_bindings)
  print(f"exported {os.path.join(export_dir, 'generator')} and "
        f"{os.path.join(export_dir, 'discriminator')}")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
