r"""Train (and/or evaluate) a GAN described by gin configs: compare_gan's main.py.

    compare_ssgan train --gin_config demo_cpu --model_dir runs/demo \
        [--gin_bindings "options.training_steps = 1000"] \
        [--schedule train|eval_after_train|continuous_eval] \
        [--strategy default|mirrored|multi_worker|tpu] [--tpu NAME] [--cpu_replicas N] \
        [--precision fp32|bf16|fp16] [--tfds_data_dir DIR]

Restarting with the same --model_dir resumes exactly from the newest checkpoint. Bad input
(an unknown or unused gin binding, an unknown architecture, dataset or strategy, an
unwritable model_dir, a batch that does not split over the replicas) ends the run with one
line before any checkpoint is touched. A preflight (--nopreflight skips it) checks, one log
line each, that the first batch decodes, the folders are writable and, when the schedule
evaluates, that the eval split and the classifier load. SIGINT/SIGTERM save a checkpoint at
the step reached and exit 130/143; rerun the same command to resume. The run ends with a
summary: steps, wall time, scores, where checkpoints, samples and scores.csv are. `python -m compare_ssgan.main` and a bare
`compare_ssgan --gin_config ...` run this verb too.
"""

from absl import flags

from compare_ssgan.cli import command

SCHEDULES = ("train", "eval_after_train", "continuous_eval")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
# --precision -> ModularGAN.mixed_precision (the paper's numbers were measured in fp32).
PRECISIONS = {"fp32": None, "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def define_flags(fv):
  flags.DEFINE_multi_string("gin_config", [], "Gin config: a path or a name under "
                            "gin_configs/ (repeatable).", flag_values=fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings, e.g. "
                            "'options.batch_size = 8' (repeatable).", flag_values=fv)
  flags.DEFINE_string("model_dir", None, "Run folder (local path or any tf.io.gfile URL).",
                      flag_values=fv)
  flags.DEFINE_enum("schedule", "train", SCHEDULES, "What to run.", flag_values=fv)
  flags.DEFINE_enum("strategy", "default", STRATEGIES, "tf.distribute strategy.",
                    flag_values=fv)
  flags.DEFINE_string("tpu", None, "TPU name or address (default: $TPU_NAME).",
                      flag_values=fv)
  flags.DEFINE_integer("cpu_replicas", 0, "Split the CPU into N logical devices (for "
                       "--strategy mirrored).", flag_values=fv)
  flags.DEFINE_string("score_filename", "scores.csv", "Scores file in model_dir.",
                      flag_values=fv)
  flags.DEFINE_integer("num_eval_averaging_runs", 3, "Fake sets per evaluation.",
                       flag_values=fv)
  flags.DEFINE_integer("eval_every_steps", 5000, "Evaluate checkpoints at multiples of this "
                       "(and the final one).", flag_values=fv)
  flags.DEFINE_string("tfds_data_dir", None, "tensorflow-datasets data directory (binds "
                      "dataset.tfds_data_dir).", flag_values=fv)
  flags.DEFINE_enum("precision", None, list(PRECISIONS), "Compute precision (binds "
                    "ModularGAN.mixed_precision; default: the config's, fp32).",
                    flag_values=fv)
  flags.DEFINE_boolean("preflight", True, "Check before the first step that the data "
                       "decodes, the folders are writable and (when the schedule evaluates) "
                       "the eval split and the classifier load; --nopreflight skips it.",
                       flag_values=fv)


def flag_bindings(gin_bindings=(), tfds_data_dir=None, precision=None):
  """The gin bindings, plus those that `--tfds_data_dir` and `--precision` stand for."""
  bindings = list(gin_bindings)
  if tfds_data_dir:
    bindings.append(f"dataset.tfds_data_dir = {tfds_data_dir!r}")
  if precision is not None:
    if precision not in PRECISIONS:
      from compare_ssgan import errors  # pylint: disable=import-outside-toplevel
      raise errors.ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}")
    bindings.append(f"ModularGAN.mixed_precision = {PRECISIONS[precision]!r}")
  return bindings


def run(gin_configs=(), model_dir=None, gin_bindings=(), schedule="train",
        strategy="default", tpu=None, cpu_replicas=0, score_filename="scores.csv",
        num_eval_averaging_runs=3, eval_every_steps=5000, tfds_data_dir=None,
        precision=None, preflight=True):
  """Parses the config, makes the strategy and runs the schedule; returns the runner's
  summary dict. Raises `compare_ssgan.errors.Error` on bad input, a failed preflight and
  (`errors.Interrupted`) on SIGINT/SIGTERM."""
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import distribute, errors
  if not model_dir:
    raise errors.ConfigError("--model_dir is required")
  if not gin_configs and not gin_bindings:
    raise errors.ConfigError("give at least one --gin_config (e.g. demo_cpu) or "
                             "--gin_bindings")
  distribute.set_cpu_replicas(cpu_replicas)  # before TensorFlow starts its devices
  from compare_ssgan import gin_utils, runner
  gin_utils.parse(gin_configs, flag_bindings(gin_bindings, tfds_data_dir, precision))
  the_strategy = distribute.make_strategy(strategy, tpu=tpu, cpu_replicas=cpu_replicas)
  from absl import logging
  logging.info("Strategy %s with %d replica(s)", type(the_strategy).__name__,
               the_strategy.num_replicas_in_sync)
  return runner.run_with_schedule(schedule, model_dir, the_strategy,
                                   eval_every_steps=eval_every_steps,
                                   score_filename=score_filename,
                                   num_eval_averaging_runs=num_eval_averaging_runs,
                                   run_preflight=preflight)


def main(fv, args):
  del args
  result = run(fv.gin_config, fv.model_dir, fv.gin_bindings, fv.schedule, fv.strategy, fv.tpu,
               fv.cpu_replicas, fv.score_filename, fv.num_eval_averaging_runs,
               fv.eval_every_steps, fv.tfds_data_dir, fv.precision, fv.preflight)
  from compare_ssgan import runner  # pylint: disable=import-outside-toplevel
  print("\n".join(runner.format_summary(result)), flush=True)


COMMAND = command.Command("train", __doc__, define_flags, main)
