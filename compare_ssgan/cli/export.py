"""Export a checkpoint as two SavedModels that load with TensorFlow alone.

    compare_ssgan export --model_dir DIR [--step S] [--export_dir DIR/export-S] [--noema]

<export_dir>/generator: z [None, z_dim] (+ labels [None] int32 when conditional) -> images
[None, H, W, 3] in [0, 1]; EMA weights when the run has them (--noema for the raw G), BN
accumulators filled first as the evaluation does. <export_dir>/discriminator: images (+
labels) -> {"probabilities", "logits", "features", "rotation_logits"}. Load with
`tf.saved_model.load(path)` or `tensorflow_hub.load(path)`; signatures "default" and
"serving_default" take named inputs.
"""

import os

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_string("model_dir", None, "The run folder.", flag_values=fv)
  flags.DEFINE_integer("step", None, "Checkpoint step (default: the newest).", flag_values=fv)
  flags.DEFINE_string("export_dir", None, "Output (default: model_dir/export-<step>).",
                      flag_values=fv)
  flags.DEFINE_boolean("ema", True, "Export the EMA generator when the run has one.",
                       flag_values=fv)
  flags.DEFINE_integer("bn_accumulator_samples", None, "Samples filling BN accumulators "
                       "(default: gin evaluation.bn_accumulator_samples, 204,800).",
                       flag_values=fv)
  flags.DEFINE_multi_string("gin_config", [], "Gin configs (default: the run's operative "
                            "config).", flag_values=fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=fv)


def run(model_dir, step=None, export_dir=None, use_ema=True, bn_accumulator_samples=None,
        gin_configs=(), gin_bindings=()):
  """Writes both SavedModels; returns the export folder."""
  from compare_ssgan import errors, export  # pylint: disable=import-outside-toplevel
  if not model_dir:
    raise errors.ConfigError("--model_dir is required")
  _, export_dir = export.export_run(model_dir, step, export_dir, use_ema,
                                    bn_accumulator_samples, gin_configs, gin_bindings)
  return export_dir


def main(fv, args):
  del args
  export_dir = run(fv.model_dir, fv.step, fv.export_dir, fv.ema, fv.bn_accumulator_samples,
                   fv.gin_config, fv.gin_bindings)
  print(f"exported {os.path.join(export_dir, 'generator')} and "
        f"{os.path.join(export_dir, 'discriminator')}")


COMMAND = command.Command("export", __doc__, define_flags, main)
