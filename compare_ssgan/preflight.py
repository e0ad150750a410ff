"""Checks run before the first training step, so a run that cannot finish fails in seconds.

Without them an unreachable Inception module, an eval split that is too small or a bucket
that cannot be written surfaces at the first evaluation, hours into training. Each check
logs one line; a failure raises one `errors.Error` (one line on the terminal), and the
runner then removes whatever the run created. `compare_ssgan train --nopreflight` skips
them (e.g. when the classifier is known to load and every second of start-up counts).
The domain classifier is not trained here: that takes minutes and happens at the first
evaluation, as before; only its data is checked.
"""

import os

from absl import logging
import numpy as np
import tensorflow as tf

from compare_ssgan import errors, runs

PREFIX = "preflight: "


def run(exp, evaluating, log=logging.info):
  """All checks for an `runner.Experiment`; `evaluating`: the schedule scores checkpoints.
  Leaves no file behind, and stores the loaded classifier in `exp.classifier`. (model_dir
  itself is checked by the runner before the Experiment is built, preflight or not.)"""
  check_training_data(exp, log)
  if evaluating:
    check_eval_data(exp, log)
    check_classifier(exp, log)
    check_writable(runs.eval_cache_dir(exp.model_dir), "evaluation cache", log)


def check_writable(path, what, log=logging.info):
  """Creates `path` if needed, writes and removes a probe file; a folder created here is
  removed again (it is made for real when first used). Works for any tf.io.gfile URL."""
  existed = tf.io.gfile.isdir(path)
  probe = os.path.join(path, ".preflight_probe")
  try:
    tf.io.gfile.makedirs(path)
    with tf.io.gfile.GFile(probe, "w") as f:
      f.write("ok")
    tf.io.gfile.remove(probe)
  except (tf.errors.OpError, OSError) as e:
    raise errors.ConfigError(f"{PREFIX}{what} {path!r} is not writable: "
                             f"{type(e).__name__}: {_first_line(e)}") from e
  finally:
    if not existed and tf.io.gfile.isdir(path):
      tf.io.gfile.rmtree(path)
  log(f"{PREFIX}{what} {path} is writable")


def check_training_data(exp, log=logging.info):
  """The first training batch decodes to finite images of the configured resolution."""
  ds = exp.dataset
  try:
    batch = next(iter(ds.input_fn("train", 2)))
    images = batch["images"].numpy()
  except (tf.errors.OpError, StopIteration, ValueError) as e:
    raise errors.DataError(f"{PREFIX}the first training batch of {ds.name} does not decode: "
                           f"{type(e).__name__}: {_first_line(e)}") from e
  if not np.all(np.isfinite(images)):
    raise errors.DataError(f"{PREFIX}the first training batch of {ds.name} has NaN/Inf pixels")
  log(f"{PREFIX}training data decodes ({ds.name}: {images.shape[1]}x{images.shape[2]} "
      f"images, first batch read)")


def check_eval_data(exp, log=logging.info):
  """The split evaluation reads has `eval_test_samples` images, and labels in range when
  the domain classifier will train on them."""
  ds, opts = exp.dataset, exp.eval_options
  split, needed = opts["real_split"], int(ds.eval_test_samples)
  try:
    available = ds.num_examples(split) if split == "eval" else None
    images, labels = ds.first_examples(split, 1 if available is None else min(needed, 8))
  except (KeyError, tf.errors.OpError, ValueError) as e:
    raise errors.DataError(f"{PREFIX}the {split} split of {ds.name}, which evaluation "
                           f"scores against, cannot be read: {type(e).__name__}: "
                           f"{_first_line(e)}") from e
  if available is not None and available < needed:
    raise errors.DataError(
        f"{PREFIX}the eval split of {ds.name} has {available} images but evaluation scores "
        f"against the first {needed} (the dataset's eval_test_samples); give a larger eval "
        "split, or score against training images: evaluation.real_split = \"train\"")
  if opts["classifier"] == "domain" and ds.num_classes > 0:
    if len(labels) and (labels.min() < 0 or labels.max() >= ds.num_classes):
      raise errors.DataError(f"{PREFIX}{ds.name} labels {sorted(set(labels.tolist()))} are "
                             f"outside 0..{ds.num_classes - 1}; the domain classifier "
                             "trains on them")
  count = f"{available} images" if available is not None else "readable"
  log(f"{PREFIX}{split} split for evaluation: {count}, {needed} used (first "
      f"{len(images)} decode)")


def check_classifier(exp, log=logging.info):
  """Loads the configured Inception by calling it once on a tiny batch (the module loads
  lazily); the domain classifier is only announced."""
  if exp.classifier is None:
    log(f"{PREFIX}classifier: the domain classifier (trained or loaded from the cache at "
        "the first evaluation)")
    return
  r = exp.dataset.resolution
  try:
    out = exp.classifier(np.full((1, r, r, 3), 0.5, np.float32))
    if out["pool_3"].shape[0] != 1 or out["logits"].shape[0] != 1:
      raise ValueError(f"expected one row of pool_3 and logits, got {out['pool_3'].shape} "
                       f"and {out['logits'].shape}")
  except Exception as e:  # pylint: disable=broad-except
    raise errors.ClassifierUnavailableError(_classifier_advice(exp.classifier, e)) from e
  log(f"{PREFIX}classifier {exp.classifier.name} loads and runs")


def _classifier_advice(classifier, error):
  """The one-line error: what failed, and the three ways out."""
  cause = error.__cause__ if isinstance(error, errors.Error) and error.__cause__ else error
  where = getattr(classifier, "handle", None) or getattr(classifier, "graph_path", None)
  graph = "" if getattr(classifier, "graph_path", None) is None else (
      " (frozen graph: `inception_classifier.graph_path`)")
  return (f"{PREFIX}the Inception classifier did not load from {where!r} "
          f"({type(cause).__name__}: {_first_line(cause)[:300]}). Point "
          f"`inception_classifier.handle` at a local copy (--gin_bindings "
          f"\"inception_classifier.handle = '/path/to/copy'\"){graph} or set "
          "$COMPARE_SSGAN_INCEPTION=/path/to/copy, or score with the offline classifier: "
          "--gin_bindings 'evaluation.classifier = \"domain\"'")


def _first_line(error):
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__
