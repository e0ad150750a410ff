"""Command line: `python -m compare_ssgan.main --gin_config NAME --model_dir DIR`.

compare_gan's flags, plus `--strategy`, `--tpu` and `--cpu_replicas`. Bad input (an unknown
or unused gin binding, an unknown architecture, dataset or strategy, an unwritable
model_dir, a batch that does not split over the replicas) ends the run with one line
naming the problem and a non-zero exit code, before any checkpoint is touched.
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging

flags.DEFINE_multi_string("gin_config", [], "Gin config: a path or a name under gin_configs/.")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings, e.g. 'options.batch_size=8'.")
flags.DEFINE_string("model_dir", None, "Run folder (local path or any tf.io.gfile URL).")
flags.DEFINE_enum("schedule", "train", ["train", "eval_after_train", "continuous_eval"],
                  "What to run.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy.")
flags.DEFINE_string("tpu", None, "TPU name or address (default: $TPU_NAME).")
flags.DEFINE_integer("cpu_replicas", 0, "Split the CPU into N logical devices (for mirrored).")
flags.DEFINE_string("score_filename", "scores.csv", "Scores file in model_dir.")
flags.DEFINE_integer("num_eval_averaging_runs", 3, "Fake sets per evaluation.")
flags.DEFINE_integer("eval_every_steps", 5000, "Evaluate checkpoints at multiples of this.")
flags.DEFINE_string("tfds_data_dir", None, "tensorflow-datasets data directory.")
flags.mark_flag_as_required("model_dir")

FLAGS = flags.FLAGS


class UsageError(Exception):
  """Bad input; printed as one line."""


def _fail(message):
  print(f"compare_ssgan: error: {message}", file=sys.stderr)
  sys.exit(2)


def main(argv):
  if len(argv) > 1:
    _fail(f"unexpected arguments: {' '.join(argv[1:])}")
  # Logical CPU devices must exist before TensorFlow initialises them.
  from compare_ssgan import distribute  # pylint: disable=import-outside-toplevel
  distribute.set_cpu_replicas(FLAGS.cpu_replicas)
  from compare_ssgan import gin_utils, runner  # pylint: disable=import-outside-toplevel
  from compare_ssgan.datasets import set_tfds_data_dir  # pylint: disable=import-outside-toplevel
  try:
    if FLAGS.tfds_data_dir:
      set_tfds_data_dir(FLAGS.tfds_data_dir)
    if not FLAGS.gin_config and not FLAGS.gin_bindings:
      raise UsageError("give at least one --gin_config (e.g. demo_cpu) or --gin_bindings")
    gin_utils.parse(FLAGS.gin_config, FLAGS.gin_bindings)
    runner.check_model_dir_writable(FLAGS.model_dir)
    strategy = distribute.make_strategy(FLAGS.strategy, tpu=FLAGS.tpu,
                                        cpu_replicas=FLAGS.cpu_replicas)
    logging.info("Strategy %s with %d replica(s)", type(strategy).__name__,
                 strategy.num_replicas_in_sync)
    runner.run_with_schedule(FLAGS.schedule, FLAGS.model_dir, strategy,
                             eval_every_steps=FLAGS.eval_every_steps,
                             score_filename=FLAGS.score_filename,
                             num_eval_averaging_runs=FLAGS.num_eval_averaging_runs)
  except runner.TrainingDiverged as e:
    _fail(str(e))
  except (UsageError, gin_utils.GinConfigError, ValueError, PermissionError, TypeError,
          RuntimeError) as e:
    logging.debug("failure details", exc_info=True)  # --verbosity=1 shows the traceback
    message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    _fail(message)


def run():
  """Console-script entry point (`compare_ssgan ...`)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  app.run(main)


if __name__ == "__main__":
  run()
