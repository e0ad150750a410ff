"""A run folder (`model_dir`): what training leaves there and the one way to read it back.

    ckpt-<step>.*, checkpoint      checkpoints (compare_ssgan.checkpointing's layout)
    operative_config-<step>.gin    every gin value the run used, per (re)start
    scores.csv                     one row per evaluated checkpoint (SCORE_KEYS)
    samples/grid-<step>.png        the fixed-z sample grid of each checkpoint
    samples/ckpt-<step>/           sample dumps (`compare_ssgan sample`)
    TRAIN_DONE                     written when training reached options.training_steps
All access goes through `tf.io.gfile`, so the folder may be remote.
"""

import csv
import io
import os
import re

from absl import logging
import tensorflow as tf

from compare_ssgan import errors

TRAIN_DONE = "TRAIN_DONE"
SCORES_FILE = "scores.csv"
METRICS = ("fid_score", "inception_score", "kid_score")
SCORE_KEYS = tuple(f"{m}_{s}" for m in METRICS for s in ("mean", "std"))
SAMPLES_DIR = "samples"
_GRID_RE = re.compile(r"(?:grid-|samples_)(\d+)\.png$")   # samples_<step>: older runs


def eval_cache_dir(model_dir):
  """Real activations and domain classifiers of a run's evaluations (training's and
  `compare_ssgan evaluate`'s share it, so they are computed once)."""
  return os.path.join(model_dir, "eval_cache")


def grid_path(model_dir, step):
  return os.path.join(model_dir, SAMPLES_DIR, f"grid-{int(step):08d}.png")


def samples_dump_dir(model_dir, step):
  return os.path.join(model_dir, SAMPLES_DIR, f"ckpt-{int(step)}")


def grid_steps(model_dir):
  """{step: path} of the sample grids in a run."""
  found = {}
  for path in tf.io.gfile.glob(os.path.join(model_dir, SAMPLES_DIR, "*.png")):
    m = _GRID_RE.search(path)
    if m:
      found[int(m.group(1))] = path
  return found


def is_done(model_dir):
  return tf.io.gfile.exists(os.path.join(model_dir, TRAIN_DONE))


def mark_done(model_dir):
  with tf.io.gfile.GFile(os.path.join(model_dir, TRAIN_DONE), "w") as f:
    f.write("done\n")


# --- checkpoints and configs ------------------------------------------------------------

def checkpoint_steps(model_dir):
  """Steps of the checkpoints present in model_dir, ascending."""
  state = tf.train.get_checkpoint_state(model_dir)
  if not state:
    return []
  steps = []
  for path in state.all_model_checkpoint_paths:
    try:
      steps.append(int(path.rsplit("-", 1)[1]))
    except (IndexError, ValueError):
      continue
  return sorted(set(steps))


def checkpoint_path(model_dir, step=None):
  """(path, step) of `ckpt-<step>` (the newest when step is None); errors name the run."""
  if not tf.io.gfile.isdir(model_dir):
    raise errors.RunNotFoundError(f"no run folder {model_dir!r}")
  steps = checkpoint_steps(model_dir)
  if not steps:
    raise errors.RunNotFoundError(f"no checkpoint in {model_dir!r} (train first: "
                                  f"compare_ssgan train --model_dir {model_dir} ...)")
  if step is None:
    step = steps[-1]
  elif int(step) not in steps:
    raise errors.RunNotFoundError(f"no checkpoint of step {step} in {model_dir!r}; it has "
                                  f"steps {', '.join(str(s) for s in steps)}")
  return os.path.join(model_dir, f"ckpt-{int(step)}"), int(step)


def operative_config(model_dir, step=None):
  """The newest `operative_config-<s>.gin` with s <= step (any s when step is None)."""
  found = []
  for path in tf.io.gfile.glob(os.path.join(model_dir, "operative_config-*.gin")):
    m = re.search(r"operative_config-(\d+)\.gin$", path)
    if m and (step is None or int(m.group(1)) <= step):
      found.append((int(m.group(1)), path))
  if not found:
    raise errors.RunNotFoundError(f"no operative_config-*.gin in {model_dir!r}: pass "
                                  "--gin_config")
  return max(found)[1]


def restore_gan(model_dir, step=None, gin_configs=(), gin_bindings=(), strategy=None):
  """(gan, dataset, step) with the weights of the run's checkpoint (the newest if None).

  The config is the run's own operative config unless `gin_configs` are given;
  `gin_bindings` apply on top. Remote configs are staged to a local file for gin.
  """
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import checkpointing, gin_utils, options
  from compare_ssgan.datasets import get_dataset
  path, step = checkpoint_path(model_dir, step)
  configs = list(gin_configs) or [operative_config(model_dir, step)]
  gin_utils.parse(configs, gin_bindings)
  with gin_utils.configuration_errors():
    dataset = get_dataset()
    opts = options.options()
    gan = opts["gan_class"](dataset=dataset, strategy=strategy or tf.distribute.get_strategy())
    gan.build()
  checkpointing.restore(gan, path)
  logging.info("Restored %s (step %d)", path, step)
  return gan, dataset, step


# --- scores.csv ---------------------------------------------------------------------------

def read_csv(path):
  """The rows of a CSV file at any gfile path, as dicts of strings; [] when absent."""
  if not tf.io.gfile.exists(path):
    return []
  with tf.io.gfile.GFile(path) as f:
    return list(csv.DictReader(io.StringIO(f.read())))


def read_scores(model_dir, filename=SCORES_FILE):
  """Rows of scores.csv as dicts (step int, scores float; NaN kept); [] when absent."""
  path = os.path.join(model_dir, filename)
  rows = read_csv(path)
  out = []
  for row in rows:
    try:
      parsed = {k: float(v) for k, v in row.items() if k != "step" and v not in (None, "")}
      parsed["step"] = int(float(row["step"]))
    except (KeyError, TypeError, ValueError) as e:
      raise errors.DataError(f"{path}: unreadable row {row}: {e}") from e
    out.append(parsed)
  return out


def evaluated_steps(model_dir, filename=SCORES_FILE):
  return {row["step"] for row in read_scores(model_dir, filename)}


def append_scores(model_dir, step, results, filename=SCORES_FILE):
  """Appends `step` and SCORE_KEYS to scores.csv (header on creation); 6 decimals
  (compare_gan used 3, too few for KID); NaN as "nan". Returns the path."""
  path = os.path.join(model_dir, filename)
  header = ["step", *SCORE_KEYS]
  text = ""
  if tf.io.gfile.exists(path):
    with tf.io.gfile.GFile(path) as f:
      text = f.read()
    first = text.split("\n", 1)[0].strip()
    if first and first.split(",") != header:
      raise errors.DataError(f"{path} has columns {first!r}, expected {','.join(header)}")
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  if not text:
    writer.writerow(header)
  writer.writerow([int(step)] + [f"{float(results[k]):.6f}" for k in SCORE_KEYS])
  tf.io.gfile.makedirs(model_dir)
  # Rewritten whole: appending is not supported by every gfile filesystem.
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(text + out.getvalue())
  return path
