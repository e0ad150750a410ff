"""Representation quality of a frozen discriminator: linear probes on each D block.

Chen et al. (2019), section "Representation quality": freeze D, take the output of each
ResNet block, pool it, and fit a multinomial logistic regression on labelled training
images; report top-1 accuracy on held-out images, per block.

Here:
  * features of block b = pool(ReLU(output of block b)), run in inference mode (SN uses the
    stored `u`, no BN statistics move). The ReLU is what the next block (or D's head) applies
    first, so for the last block with `pool="avg"` the features are exactly D's own
    `features` output (tested) for the mean-pooled ResNet discriminators.
  * pool "avg": global average over H, W -> [N, C]. pool "adaptive": area average to an
    s x s grid, with s the largest divisor-free size such that s*s*C <= `max_dim`
    (the paper reduces large maps by average pooling before the probe; its exact target size
    is not established by our sources, so "adaptive" is offered, "avg" is the default).
  * features are standardised with the TRAIN mean / std, then W, b minimise
    mean cross-entropy + l2/2 * ||W||^2 with full-batch L-BFGS (tensorflow-probability),
    from zeros: deterministic for given features.
Over training (`evaluate_checkpoints`, `linear-eval --all_checkpoints`): every checkpoint
of a run is probed (the final block by default) and each (checkpoint, block) becomes one row
of model_dir/linear_eval.csv, so `plot --metrics linear_eval/final` can overlay runs; the
paper's Figure 4 reads representation quality this way.
Architectures whose discriminator keeps `self.blocks` (tiny, resnet_cifar, resnet5,
resnet_stl, resnet_biggan with its attention sites) are supported.
"""

import csv
import io
import os

import numpy as np
import tensorflow as tf

from compare_ssgan import checkpointing, errors, runs

POOLS = ("avg", "adaptive")


def discriminator_stages(discriminator):
  """[(name, fn(net, training) -> net)] for D's blocks (attention folded into its block)."""
  blocks = getattr(discriminator, "blocks", None)
  if not blocks:
    raise errors.ConfigError(f"{type(discriminator).__name__} has no `blocks`: linear evaluation "
                     "supports the ResNet-family discriminators (tiny_arch, resnet_cifar_arch, "
                     "resnet5_arch, resnet_stl_arch, resnet_biggan_arch)")
  attention = getattr(discriminator, "attention", None) or [None] * len(blocks)
  stages = []
  for i, (block, attn) in enumerate(zip(blocks, attention)):
    def stage(net, training=False, block=block, attn=attn):
      net = block(net, y=None, training=training)
      if attn is not None:
        net = attn(net, training=training)
      return net
    stages.append((getattr(block, "name", None) or f"block{i}", stage))
  return stages


def adaptive_size(height, channels, max_dim):
  """Largest s <= height with s*s*channels <= max_dim (at least 1)."""
  s = int(height)
  while s > 1 and s * s * channels > max_dim:
    s -= 1
  return s


def pool_features(net, pool="avg", max_dim=9216):
  """[N, H, W, C] -> [N, F]: ReLU then global average ("avg") or area pooling ("adaptive")."""
  net = tf.nn.relu(tf.cast(net, tf.float32))
  if pool == "avg":
    return tf.reduce_mean(net, axis=[1, 2])
  if pool == "adaptive":
    h, c = int(net.shape[1]), int(net.shape[-1])
    s = adaptive_size(h, c, max_dim)
    if s != h:
      net = tf.image.resize(net, [s, s], method="area")
    return tf.reshape(net, [-1, s * s * c])
  raise errors.ConfigError(f"pool must be one of {POOLS}, got {pool!r}")


def block_features(discriminator, images, pool="avg", max_dim=9216, batch_size=256):
  """{block name: float32 numpy [N, F_b]} for images [N, H, W, 3] in [0, 1]."""
  stages = discriminator_stages(discriminator)

  @tf.function(input_signature=[tf.TensorSpec([None, *np.shape(images)[1:]], tf.float32)])
  def forward(x):
    outs, net = [], x
    for _, stage in stages:
      net = stage(net, training=False)
      outs.append(pool_features(net, pool, max_dim))
    return outs

  chunks = [[] for _ in stages]
  images = np.asarray(images, np.float32)
  for start in range(0, len(images), batch_size):
    for i, f in enumerate(forward(tf.constant(images[start:start + batch_size]))):
      chunks[i].append(f.numpy())
  return {name: np.concatenate(c, axis=0) for (name, _), c in zip(stages, chunks)}


def labelled_images(dataset, split, num):
  """(images, labels) for a probe: eval capped at the split's size, train exactly `num`."""
  if split == "eval":
    num = min(int(num), dataset.num_examples("eval"))
  return dataset.first_examples(split, num)


@tf.function(input_signature=[tf.TensorSpec([None, None], tf.float64),
                              tf.TensorSpec([None, None], tf.float64),
                              tf.TensorSpec([], tf.float64), tf.TensorSpec([], tf.int32),
                              tf.TensorSpec([], tf.float64)])
def _lbfgs_fit(x, y, l2, max_iterations, tolerance):
  """L-BFGS on mean CE + l2/2 ||W||^2 from zeros; traced once per process (dynamic shapes).

  Returns (params [D*K + K] = flattened W then b, converged, iterations).
  """
  import tensorflow_probability as tfp  # pylint: disable=import-outside-toplevel
  d, k = tf.shape(x)[1], tf.shape(y)[1]

  def loss_and_grad(params):
    with tf.GradientTape() as tape:
      tape.watch(params)
      w = tf.reshape(params[:d * k], [d, k])
      logits = x @ w + params[d * k:]
      loss = (tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, logits))
              + 0.5 * l2 * tf.reduce_sum(w * w))
    return loss, tape.gradient(loss, params)

  result = tfp.optimizer.lbfgs_minimize(
      loss_and_grad, initial_position=tf.zeros([d * k + k], tf.float64),
      max_iterations=max_iterations, tolerance=tolerance)
  return result.position, result.converged, result.num_iterations


class LogisticRegression:
  """Multinomial logistic regression, full-batch L-BFGS on standardised features."""

  def __init__(self, num_classes, l2=1e-3, max_iterations=500, tolerance=1e-6):
    self.num_classes = int(num_classes)
    self.l2 = float(l2)
    self.max_iterations = int(max_iterations)
    self.tolerance = float(tolerance)
    self.mean = self.std = self.w = self.b = None
    self.converged = None
    self.num_iterations = None

  def _standardise(self, x):
    return (np.asarray(x, np.float64) - self.mean) / self.std

  def fit(self, features, labels):
    features = np.asarray(features, np.float64)
    self.mean = features.mean(axis=0)
    self.std = features.std(axis=0) + 1e-6
    x = tf.constant(self._standardise(features))
    y = tf.one_hot(np.asarray(labels, np.int32), self.num_classes, dtype=tf.float64)
    position, converged, iterations = _lbfgs_fit(
        x, y, tf.constant(self.l2, tf.float64), tf.constant(self.max_iterations, tf.int32),
        tf.constant(self.tolerance, tf.float64))
    d, k = features.shape[1], self.num_classes
    params = position.numpy()
    self.w, self.b = params[:d * k].reshape(d, k), params[d * k:]
    self.converged = bool(converged.numpy())
    self.num_iterations = int(iterations.numpy())
    return self

  def predict(self, features):
    return np.argmax(self._standardise(features) @ self.w + self.b, axis=1).astype(np.int32)

  def accuracy(self, features, labels):
    return float(np.mean(self.predict(features) == np.asarray(labels)))


def select_blocks(names, blocks=None):
  """The block names to probe: "all" (or None), "final" (the last block), or a list of names.

  The final block is the default over training because it is what D's head sees, and one
  probe per checkpoint keeps `--all_checkpoints` cheap; "all" is the paper's per-block view.
  """
  names = list(names)
  if blocks is None or blocks == "all":
    return names
  if blocks == "final":
    return names[-1:]
  wanted = [b.strip() for b in (blocks.split(",") if isinstance(blocks, str) else blocks)]
  wanted = [names[-1] if b == "final" else b for b in wanted if b]
  unknown = [b for b in wanted if b not in names]
  if unknown or not wanted:
    raise errors.ConfigError(f"blocks {blocks!r}: unknown {unknown}; D has "
                             f"{', '.join(names)} (or say final / all)")
  return list(dict.fromkeys(wanted))


def linear_eval(discriminator, train_images, train_labels, eval_images, eval_labels,
                num_classes, pool="avg", max_dim=9216, l2=1e-3, max_iterations=500,
                blocks=None):
  """Per D block: {name: {"eval_accuracy", "train_accuracy", "feature_dim", ...}}.

  `blocks`: which blocks get a probe (`select_blocks`; default all of them).
  """
  train_f = block_features(discriminator, train_images, pool, max_dim)
  eval_f = block_features(discriminator, eval_images, pool, max_dim)
  chosen = select_blocks(train_f, blocks)
  results = {}
  for name, features in train_f.items():
    if name not in chosen:
      continue
    clf = LogisticRegression(num_classes, l2=l2, max_iterations=max_iterations)
    clf.fit(features, train_labels)
    results[name] = {"eval_accuracy": clf.accuracy(eval_f[name], eval_labels),
                     "train_accuracy": clf.accuracy(features, train_labels),
                     "feature_dim": int(features.shape[1]),
                     "lbfgs_iterations": clf.num_iterations,
                     "converged": clf.converged}
  return results


# --- over training: one row per (checkpoint, block) in model_dir/linear_eval.csv -------------

LINEAR_EVAL_FILE = "linear_eval.csv"
CSV_COLUMNS = ("step", "block", "block_index", "is_final", "eval_accuracy", "train_accuracy",
               "feature_dim", "num_train", "num_eval", "pool", "l2")
# Columns that say which probe a row is: a rerun with the same settings skips such rows.
_SETTINGS = ("num_train", "num_eval", "pool", "l2")


def read_rows(model_dir, filename=LINEAR_EVAL_FILE):
  """The rows of model_dir/linear_eval.csv (numbers parsed); [] when absent."""
  path = os.path.join(model_dir, filename)
  rows = runs.read_csv(path)
  try:
    return [dict(row, step=int(row["step"]), block_index=int(row["block_index"]),
                 is_final=row["is_final"] == "1", eval_accuracy=float(row["eval_accuracy"]),
                 train_accuracy=float(row["train_accuracy"]),
                 feature_dim=int(row["feature_dim"]), num_train=int(row["num_train"]),
                 num_eval=int(row["num_eval"]), l2=float(row["l2"])) for row in rows]
  except (KeyError, TypeError, ValueError) as e:
    raise errors.DataError(f"{path}: unreadable linear-eval row: {e}") from e


def write_rows(model_dir, rows, filename=LINEAR_EVAL_FILE):
  """Rewrites the whole CSV (gfile has no append everywhere), rows sorted by step, block."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  writer.writerow(CSV_COLUMNS)
  for row in sorted(rows, key=lambda r: (r["step"], r["block_index"])):
    writer.writerow([int(row["is_final"]) if c == "is_final" else row[c] for c in CSV_COLUMNS])
  path = os.path.join(model_dir, filename)
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(out.getvalue())
  return path


def _settings_key(row):
  return (row["num_train"], row["num_eval"], row["pool"], float(row["l2"]))


def probed_steps(model_dir, block_names, settings, filename=LINEAR_EVAL_FILE):
  """Steps whose rows already cover every name in `block_names` ("final" allowed) with
  `settings` (num_train, num_eval, pool, l2)."""
  covered = {}
  for row in read_rows(model_dir, filename):
    if _settings_key(row) == tuple(settings):
      names = covered.setdefault(row["step"], set())
      names.add(row["block"])
      if row["is_final"]:
        names.add("final")
  return {s for s, names in covered.items() if set(block_names) <= names}


def restore_for_probes(model_dir, step, num_train, num_eval, gin_configs=(), gin_bindings=()):
  """(gan, dataset, step, (train images, labels), (eval images, labels)) of a run's
  checkpoint, for linear probes; a dataset without labels is a one-line error."""
  gan, dataset, step = runs.restore_gan(model_dir, step, gin_configs, gin_bindings)
  if not dataset.num_classes:
    raise errors.DataError(f"dataset {dataset.name!r} has no labels: linear evaluation "
                           "needs them")
  return (gan, dataset, step, labelled_images(dataset, "train", num_train),
          labelled_images(dataset, "eval", num_eval))


def evaluate_checkpoints(model_dir, steps=None, blocks="final", num_train=10000,
                         num_eval=10000, pool="avg", max_dim=9216, l2=1e-3, max_iterations=500,
                         gin_configs=(), gin_bindings=(), filename=LINEAR_EVAL_FILE,
                         log=print):
  """Probes every checkpoint in model_dir (or `steps`); returns all rows of the CSV.

  The GAN is built once and each checkpoint restored into it; the probe images are read
  once. Steps whose rows (same blocks and settings) are already in the CSV are skipped, so
  a rerun only probes new checkpoints; the CSV is rewritten after every checkpoint, so an
  interrupted call keeps what it finished. Only checkpoints still on disk can be probed:
  train with run_config.keep_checkpoint_max above the number of checkpoints.
  """
  available = runs.checkpoint_steps(model_dir)
  if not available:
    runs.checkpoint_path(model_dir)   # raises the "no checkpoint" error naming the run
  wanted = sorted(available if steps is None else {int(s) for s in steps})
  missing = [s for s in wanted if s not in available]
  if missing:
    raise errors.RunNotFoundError(f"no checkpoint of step(s) {missing} in {model_dir!r}; it "
                                  f"has {available} (older ones deleted: keep_checkpoint_max)")
  gan, dataset, _, (train_x, train_y), (eval_x, eval_y) = restore_for_probes(
      model_dir, wanted[0], num_train, num_eval, gin_configs, gin_bindings)
  names = [n for n, _ in discriminator_stages(gan.discriminator)]
  chosen = select_blocks(names, blocks)
  settings = (len(train_y), len(eval_y), pool, float(l2))
  done = probed_steps(model_dir, chosen, settings, filename)
  rows = read_rows(model_dir, filename)
  for step in wanted:
    if step in done:
      continue
    checkpointing.restore(gan, os.path.join(model_dir, f"ckpt-{step}"))
    results = linear_eval(gan.discriminator, train_x, train_y, eval_x, eval_y,
                          dataset.num_classes, pool, max_dim, l2, max_iterations, chosen)
    new = [dict(step=step, block=name, block_index=names.index(name),
                is_final=name == names[-1], feature_dim=r["feature_dim"],
                eval_accuracy=r["eval_accuracy"], train_accuracy=r["train_accuracy"],
                num_train=settings[0], num_eval=settings[1], pool=pool, l2=float(l2))
           for name, r in results.items()]
    keys = {(r["step"], r["block"]) + _settings_key(r) for r in new}
    rows = [r for r in rows if (r["step"], r["block"]) + _settings_key(r) not in keys] + new
    write_rows(model_dir, rows, filename)
    log(f"step {step}: " + ", ".join(f"{r['block']} {r['eval_accuracy']:.4f}" for r in new))
  return rows
