r"""Write N samples of a checkpoint as PNGs and one .npz (for clean-fid / pytorch-fid checks).

    compare_ssgan sample --model_dir DIR [--step S] [--num_samples 10000] \
        [--output_dir DIR/samples/ckpt-S] [--seed 42] [--noema] [--max_png 10000]

Samples come from the seeded eval z, the EMA generator when the run has one, and BN
accumulators filled first when G uses them: exactly the images the evaluation scores for
the same seed. samples.npz holds `images` (uint8 [N, H, W, 3], rounded) and `labels`.
"""

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_string("model_dir", None, "The run folder.", flag_values=fv)
  flags.DEFINE_integer("step", None, "Checkpoint step (default: the newest).", flag_values=fv)
  flags.DEFINE_integer("num_samples", 10000, "Number of samples.", flag_values=fv)
  flags.DEFINE_string("output_dir", None, "Where to write (default: "
                      "model_dir/samples/ckpt-<step>).", flag_values=fv)
  flags.DEFINE_integer("seed", 42, "Eval z seed (the evaluation's run r uses seed + r).",
                       flag_values=fv)
  flags.DEFINE_boolean("ema", True, "Use the EMA generator when the run has one.",
                       flag_values=fv)
  flags.DEFINE_integer("max_png", None, "Write at most this many PNGs (default: all).",
                       flag_values=fv)
  flags.DEFINE_multi_string("gin_config", [], "Gin configs (default: the run's operative "
                            "config).", flag_values=fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=fv)


def run(model_dir, step=None, num_samples=10000, output_dir=None, seed=42, use_ema=True,
        max_png=None, gin_configs=(), gin_bindings=()):
  """Generates and writes the samples; returns (output_dir, step, uint8 images, labels)."""
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import errors, images, metrics, runs
  if not model_dir:
    raise errors.ConfigError("--model_dir is required")
  gan, _, step = runs.restore_gan(model_dir, step, gin_configs, gin_bindings)
  metrics.fill_bn_accumulators(gan)
  fakes, labels = metrics.generate_images(gan, num_samples, seed, use_ema=use_ema)
  output_dir = output_dir or runs.samples_dump_dir(model_dir, step)
  as_uint8 = images.write_samples(fakes, labels, output_dir, max_png)
  return output_dir, step, as_uint8, labels


def main(fv, args):
  del args
  output_dir, step, written, _ = run(fv.model_dir, fv.step, fv.num_samples, fv.output_dir,
                                     fv.seed, fv.ema, fv.max_png, fv.gin_config,
                                     fv.gin_bindings)
  print(f"wrote {len(written)} samples of step {step} to {output_dir}")


COMMAND = command.Command("sample", __doc__, define_flags, main)
