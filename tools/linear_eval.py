"""Linear evaluation of a frozen discriminator (the paper's representation-quality test).

    python tools/linear_eval.py --model_dir DIR [--step S] [--num_train 10000] \
        [--num_eval 10000] [--pool avg|adaptive] [--max_dim 9216] [--l2 1e-3] [--output F.json]

Restores the checkpoint through the checkpoint contract, takes every D block's output
(ReLU, then global average pooling or adaptive area pooling to at most --max_dim features),
fits a multinomial logistic regression per block on --num_train labelled TRAIN images
(full-batch L-BFGS, standardised features, L2 --l2) and prints top-1 accuracy on the first
--num_eval EVAL images, per block, as JSON (also written to --output, default
model_dir/linear_eval-<step>.json). Details: compare_ssgan/linear_eval.py.
The dataset must have labels (cifar10, imagenet_*, builtin_*, image folders with classes).
"""

import json
import os
import sys

from absl import app
from absl import flags
from absl import logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# A private flag registry, like tools/sample.py, so other tools and tests can import this.
FLAGS = flags.FlagValues()
flags.DEFINE_string("model_dir", None, "The run's model directory.", flag_values=FLAGS)
flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).", flag_values=FLAGS)
flags.DEFINE_integer("num_train", 10000, "Labelled train images for the fit.", flag_values=FLAGS)
flags.DEFINE_integer("num_eval", 10000, "Eval images (capped at the eval split's size).",
                     flag_values=FLAGS)
flags.DEFINE_enum("pool", "avg", ["avg", "adaptive"], "Pooling of each block's output.",
                  flag_values=FLAGS)
flags.DEFINE_integer("max_dim", 9216, "Feature cap for --pool adaptive.", flag_values=FLAGS)
flags.DEFINE_float("l2", 1e-3, "L2 weight of the logistic regression.", flag_values=FLAGS)
flags.DEFINE_integer("max_iterations", 500, "L-BFGS iterations.", flag_values=FLAGS)
flags.DEFINE_string("output", None, "JSON output (default model_dir/linear_eval-<step>.json).",
                    flag_values=FLAGS)
flags.DEFINE_multi_string("gin_config", [], "Gin configs (default: the run's operative one).",
                          flag_values=FLAGS)
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=FLAGS)


def run(model_dir, step=None, num_train=10000, num_eval=10000, pool="avg", max_dim=9216,
        l2=1e-3, max_iterations=500, gin_configs=(), gin_bindings=()):
  """{"step", "num_train", "num_eval", "pool", "blocks": {name: {...accuracies...}}}."""
  import sample  # tools/sample.py  pylint: disable=import-outside-toplevel
  from compare_ssgan import linear_eval  # pylint: disable=import-outside-toplevel
  gan, dataset, step = sample.restore_gan(model_dir, step, gin_configs, gin_bindings)
  if not dataset.num_classes:
    raise ValueError(f"dataset {dataset.name!r} has no labels: linear evaluation needs them")
  train_x, train_y = linear_eval.labelled_images(dataset, "train", num_train)
  eval_x, eval_y = linear_eval.labelled_images(dataset, "eval", num_eval)
  blocks = linear_eval.linear_eval(gan.discriminator, train_x, train_y, eval_x, eval_y,
                                   dataset.num_classes, pool=pool, max_dim=max_dim, l2=l2,
                                   max_iterations=max_iterations)
  return {"model_dir": model_dir, "step": step, "dataset": dataset.name,
          "num_classes": dataset.num_classes, "num_train": len(train_y),
          "num_eval": len(eval_y), "pool": pool, "l2": l2, "blocks": blocks}


def main(argv):
  FLAGS(argv)
  if not FLAGS.model_dir:
    raise app.UsageError("--model_dir is required")
  logging.set_verbosity(logging.INFO)
  results = run(FLAGS.model_dir, FLAGS.step, FLAGS.num_train, FLAGS.num_eval, FLAGS.pool,
                FLAGS.max_dim, FLAGS.l2, FLAGS.max_iterations, FLAGS.gin_config,
                FLAGS.gin_bindings)
  output = FLAGS.output or os.path.join(FLAGS.model_dir, f"linear_eval-{results['step']}.json")
  with open(output, "w") as f:
    json.dump(results, f, indent=1, sort_keys=True)
  for name, r in results["blocks"].items():
    print(f"{name}: top-1 eval {r['eval_accuracy']:.4f} (train {r['train_accuracy']:.4f}, "
          f"{r['feature_dim']} features)")
  print(json.dumps(results, indent=1, sort_keys=True))
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
