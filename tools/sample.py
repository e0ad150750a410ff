"""Writes N samples of a checkpoint as PNGs and one .npz (for clean-fid / pytorch-fid checks).

    python tools/sample.py --model_dir DIR [--step S] [--num_samples 10000] \
        [--output_dir DIR/samples-S] [--seed 42] [--noema] [--max_png 10000]

The run's gin config is the latest `operative_config-*.gin` in the model dir (or
`--gin_config`/`--gin_bindings`). Samples come from the seeded eval z (`gan.sample_eval_z`),
the EMA generator when the run has one, and BN accumulators filled first when G uses them:
exactly the images `evaluate_checkpoint` scores for the same seed.
The .npz holds `images` (uint8 [N, H, W, 3], rounded) and `labels` (int32 [N]).
"""

import glob
import os
import re
import sys

from absl import app
from absl import flags
from absl import logging
import numpy as np

# A private flag registry: tools/evaluate.py imports this module beside its own flags.
FLAGS = flags.FlagValues()
flags.DEFINE_string("model_dir", None, "The run's model directory.", flag_values=FLAGS)
flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).", flag_values=FLAGS)
flags.DEFINE_integer("num_samples", 10000, "Number of samples.", flag_values=FLAGS)
flags.DEFINE_string("output_dir", None, "Where to write (default: model_dir/samples-<step>).",
                    flag_values=FLAGS)
flags.DEFINE_integer("seed", 42, "Eval z seed (evaluate_checkpoint's run r uses seed + r).",
                    flag_values=FLAGS)
flags.DEFINE_boolean("ema", True, "Use the EMA generator when the run has one.", flag_values=FLAGS)
flags.DEFINE_integer("max_png", None, "Write at most this many PNGs (default: all).",
                    flag_values=FLAGS)
flags.DEFINE_multi_string("gin_config", [], "Gin configs (default: the run's operative one).",
                    flag_values=FLAGS)
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=FLAGS)


def _latest_operative_config(model_dir, step=None):
  found = []
  for path in glob.glob(os.path.join(model_dir, "operative_config-*.gin")):
    m = re.search(r"operative_config-(\d+)\.gin$", path)
    if m and (step is None or int(m.group(1)) <= step):
      found.append((int(m.group(1)), path))
  if not found:
    raise FileNotFoundError(f"no operative_config-*.gin in {model_dir}: pass --gin_config")
  return max(found)[1]


def restore_gan(model_dir, step=None, gin_configs=(), gin_bindings=()):
  """(gan, dataset, step) with the weights of `model_dir/ckpt-<step>` (latest if None).

  Uses the checkpoint contract (`compare_ssgan.checkpointing.make_checkpoint`).
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  # pylint: disable=import-outside-toplevel,unused-import
  from compare_ssgan import checkpointing, gin_utils, options
  from compare_ssgan.datasets import get_dataset

  if step is None:
    path = tf.train.latest_checkpoint(model_dir)
    if path is None:
      raise FileNotFoundError(f"no checkpoint in {model_dir}")
    step = int(path.rsplit("-", 1)[1])
  else:
    path = os.path.join(model_dir, f"ckpt-{int(step)}")
  configs = list(gin_configs) or [_latest_operative_config(model_dir, step)]
  gin_utils.parse(configs, gin_bindings)
  dataset = get_dataset()
  opts = options.options()
  gan = opts["gan_class"](dataset=dataset, strategy=tf.distribute.get_strategy())
  gan.build()
  checkpointing.restore(gan, path)
  logging.info("Restored %s (step %d)", path, step)
  return gan, dataset, step


def sample(gan, num_samples, seed, use_ema=True, batch_size=64):
  """(images float32 [N, H, W, 3] in [0, 1], labels int32 [N]), the evaluation's way."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from compare_ssgan.metrics import eval_options  # pylint: disable=import-outside-toplevel
  if gan.has_bn_accumulators():
    opts = eval_options()
    gan.update_bn_accumulators(opts["bn_accumulator_samples"], batch_size=batch_size,
                               seed=opts["seed"])
  z = gan.sample_eval_z(num_samples, seed)
  labels = np.asarray(gan.sample_labels(num_samples, seed), np.int32)
  num_classes = int(getattr(gan, "num_classes", 0) or 0)
  chunks = []
  for start in range(0, num_samples, batch_size):
    y = tf.one_hot(labels[start:start + batch_size], num_classes) if num_classes else None
    chunks.append(np.asarray(gan.generate(z[start:start + batch_size], y, use_ema=use_ema)))
  return np.concatenate(chunks)[:num_samples].astype(np.float32), labels


def write_samples(images, labels, output_dir, max_png=None):
  """PNGs `000000.png`, ... and `samples.npz` (uint8 images, labels)."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  os.makedirs(output_dir, exist_ok=True)
  as_uint8 = np.clip(np.rint(np.nan_to_num(images) * 255.0), 0, 255).astype(np.uint8)
  np.savez(os.path.join(output_dir, "samples.npz"), images=as_uint8, labels=labels)
  width = max(6, len(str(len(images) - 1)))
  for i, image in enumerate(as_uint8[:max_png]):
    Image.fromarray(image).save(os.path.join(output_dir, f"{i:0{width}d}.png"))
  return as_uint8


def main(argv):
  FLAGS(argv)
  if not FLAGS.model_dir:
    raise app.UsageError("--model_dir is required")
  logging.set_verbosity(logging.INFO)
  gan, _, step = restore_gan(FLAGS.model_dir, FLAGS.step, FLAGS.gin_config, FLAGS.gin_bindings)
  images, labels = sample(gan, FLAGS.num_samples, FLAGS.seed, use_ema=FLAGS.ema)
  output_dir = FLAGS.output_dir or os.path.join(FLAGS.model_dir, f"samples-{step}")
  write_samples(images, labels, output_dir, FLAGS.max_png)
  print(f"wrote {len(images)} samples of step {step} to {output_dir}")


if __name__ == "__main__":
  main(sys.argv)
