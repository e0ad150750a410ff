r"""The paper's 1-vs-all forgetting experiment, with and without the rotation loss.

    compare_ssgan forgetting --output_dir runs/forgetting            # offline defaults
    compare_ssgan forgetting --output_dir runs/forgetting_c10 --gin_config forgetting/cifar10 \
        --steps_per_task 1000 --cycles 2                             # the paper's scale

Trains a classifier (the configured discriminator trunk with a 1-vs-all head) on tasks
"class t mod C vs the rest", switching every --steps_per_task updates for --cycles cycles,
twice from the same weights and batches: without and with the rotation loss. Writes
forgetting.json (both curves) and forgetting.png into --output_dir and prints, per arm,
the mean accuracy over the first 10% of each task, first cycle against second.
"""

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_string("output_dir", None, "Where the JSON and figure go.", flag_values=fv)
  flags.DEFINE_multi_string("gin_config", [], "Gin configs (default: forgetting/builtin, the "
                            "colour-free built-in dataset).", flag_values=fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=fv)
  flags.DEFINE_integer("steps_per_task", 200, "Updates per task (paper: 1000).",
                       flag_values=fv)
  flags.DEFINE_integer("cycles", 2, "Passes over all classes (paper: 2).", flag_values=fv)
  flags.DEFINE_float("rotation_weight", 1.0, "Weight of the rotation loss in the rotation "
                     "arm.", flag_values=fv)
  flags.DEFINE_integer("eval_every", 4, "Updates between held-out evaluations.",
                       flag_values=fv)
  flags.DEFINE_integer("num_eval_per_class", 100, "Held-out images of the task's class per "
                       "evaluation (as many of the others).", flag_values=fv)
  flags.DEFINE_integer("batch_size", 32, "Images per update (half of the task's class).",
                       flag_values=fv)
  flags.DEFINE_integer("seed", 547, "Weights, data order and batches.", flag_values=fv)
  flags.DEFINE_boolean("figure", True, "Also write the figure (needs matplotlib).",
                       flag_values=fv)


def run(output_dir, **kwargs):
  """`compare_ssgan.forgetting.run_forgetting` (see it for the arguments)."""
  from compare_ssgan import errors, forgetting  # pylint: disable=import-outside-toplevel
  if not output_dir:
    raise errors.ConfigError("--output_dir is required")
  return forgetting.run_forgetting(output_dir, **kwargs)


def main(fv, args):
  del args
  run(fv.output_dir, gin_configs=fv.gin_config, gin_bindings=fv.gin_bindings,
      steps_per_task=fv.steps_per_task, cycles=fv.cycles, rotation_weight=fv.rotation_weight,
      eval_every=fv.eval_every, num_eval_per_class=fv.num_eval_per_class,
      batch_size=fv.batch_size, seed=fv.seed, figure=fv.figure)


COMMAND = command.Command("forgetting", __doc__, define_flags, main)
