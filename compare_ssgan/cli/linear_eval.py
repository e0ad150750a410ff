r"""Linear evaluation of a frozen discriminator (the paper's representation-quality test).

    compare_ssgan linear-eval --model_dir DIR [--step S] [--num_train 10000] \
        [--num_eval 10000] [--pool avg|adaptive] [--max_dim 9216] [--l2 1e-3] [--output F.json]
    compare_ssgan linear-eval --model_dir DIR --all_checkpoints [--blocks final|all|NAMES]

Takes every D block's output (ReLU, then global average pooling or adaptive area pooling
to at most --max_dim features), fits a multinomial logistic regression per block on
--num_train labelled TRAIN images (full-batch L-BFGS, standardised features) and reports
top-1 accuracy on the first --num_eval EVAL images, per block, as JSON (also written to
--output, default model_dir/linear_eval-<step>.json). Needs a labelled dataset.

--all_checkpoints probes every checkpoint still in model_dir (the final block by default;
--blocks all, or block names) and writes one row per (checkpoint, block) to
model_dir/linear_eval.csv: step, block, eval and train accuracy, settings. Rows already there
with the same settings are kept, so a rerun only probes new checkpoints. `plot --metrics
linear_eval/final` draws the curve. Keep the checkpoints: train with
run_config.keep_checkpoint_max above the number of checkpoints (`study` does).
"""

import json
import os

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_string("model_dir", None, "The run folder.", flag_values=fv)
  flags.DEFINE_integer("step", None, "Checkpoint step (default: the newest).", flag_values=fv)
  flags.DEFINE_integer("num_train", 10000, "Labelled train images for the fit.",
                       flag_values=fv)
  flags.DEFINE_integer("num_eval", 10000, "Eval images (capped at the eval split's size).",
                       flag_values=fv)
  flags.DEFINE_enum("pool", "avg", ["avg", "adaptive"], "Pooling of each block's output.",
                    flag_values=fv)
  flags.DEFINE_integer("max_dim", 9216, "Feature cap for --pool adaptive.", flag_values=fv)
  flags.DEFINE_float("l2", 1e-3, "L2 weight of the logistic regression.", flag_values=fv)
  flags.DEFINE_integer("max_iterations", 500, "L-BFGS iterations.", flag_values=fv)
  flags.DEFINE_string("output", None, "JSON output (default "
                      "model_dir/linear_eval-<step>.json).", flag_values=fv)
  flags.DEFINE_boolean("all_checkpoints", False, "Probe every checkpoint; rows go to "
                       "model_dir/linear_eval.csv.", flag_values=fv)
  flags.DEFINE_string("blocks", None, "Blocks to probe: final, all or comma-separated names "
                      "(default: final with --all_checkpoints, else all).", flag_values=fv)
  flags.DEFINE_multi_string("gin_config", [], "Gin configs (default: the run's operative "
                            "config).", flag_values=fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=fv)


def run(model_dir, step=None, num_train=10000, num_eval=10000, pool="avg", max_dim=9216,
        l2=1e-3, max_iterations=500, gin_configs=(), gin_bindings=(), blocks=None):
  """{"step", "num_train", "num_eval", "pool", "blocks": {name: {...accuracies...}}, ...}."""
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import errors, linear_eval
  if not model_dir:
    raise errors.ConfigError("--model_dir is required")
  gan, dataset, step, (train_x, train_y), (eval_x, eval_y) = linear_eval.restore_for_probes(
      model_dir, step, num_train, num_eval, gin_configs, gin_bindings)
  blocks = linear_eval.linear_eval(gan.discriminator, train_x, train_y, eval_x, eval_y,
                                   dataset.num_classes, pool=pool, max_dim=max_dim, l2=l2,
                                   max_iterations=max_iterations, blocks=blocks)
  return {"model_dir": model_dir, "step": step, "dataset": dataset.name,
          "num_classes": dataset.num_classes, "num_train": len(train_y),
          "num_eval": len(eval_y), "pool": pool, "l2": l2, "blocks": blocks}


def run_all_checkpoints(model_dir, blocks="final", num_train=10000, num_eval=10000,
                        pool="avg", max_dim=9216, l2=1e-3, max_iterations=500,
                        gin_configs=(), gin_bindings=(), log=print):
  """Probes every checkpoint of the run; returns all rows of model_dir/linear_eval.csv."""
  from compare_ssgan import errors, linear_eval  # pylint: disable=import-outside-toplevel
  if not model_dir:
    raise errors.ConfigError("--model_dir is required")
  return linear_eval.evaluate_checkpoints(
      model_dir, blocks=blocks or "final", num_train=num_train, num_eval=num_eval, pool=pool,
      max_dim=max_dim, l2=l2, max_iterations=max_iterations, gin_configs=gin_configs,
      gin_bindings=gin_bindings, log=log)


def main(fv, args):
  del args
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if fv.all_checkpoints:
    if fv.step is not None:
      from compare_ssgan import errors  # pylint: disable=import-outside-toplevel
      raise errors.ConfigError("--step and --all_checkpoints exclude each other")
    rows = run_all_checkpoints(fv.model_dir, fv.blocks, fv.num_train, fv.num_eval, fv.pool,
                               fv.max_dim, fv.l2, fv.max_iterations, fv.gin_config,
                               fv.gin_bindings)
    from compare_ssgan import linear_eval  # pylint: disable=import-outside-toplevel
    print(f"{len(rows)} rows in {os.path.join(fv.model_dir, linear_eval.LINEAR_EVAL_FILE)}")
    return
  results = run(fv.model_dir, fv.step, fv.num_train, fv.num_eval, fv.pool, fv.max_dim,
                fv.l2, fv.max_iterations, fv.gin_config, fv.gin_bindings, fv.blocks)
  output = fv.output or os.path.join(fv.model_dir, f"linear_eval-{results['step']}.json")
  with tf.io.gfile.GFile(output, "w") as f:
    json.dump(results, f, indent=1, sort_keys=True)
  for name, r in results["blocks"].items():
    print(f"{name}: top-1 eval {r['eval_accuracy']:.4f} (train {r['train_accuracy']:.4f}, "
          f"{r['feature_dim']} features)")
  print(json.dumps(results, indent=1, sort_keys=True))


COMMAND = command.Command("linear-eval", __doc__, define_flags, main)
