"""Discriminator forgetting: a classifier on a sequence of 1-vs-all tasks, with and without
the rotation loss (Chen et al., CVPR 2019, section 2, Figure 3).

Why: SS-GAN's argument is that a discriminator in a non-stationary setting forgets, and that
the self-supervised rotation task keeps useful features. The experiment makes the shift
explicit: task t is "class t mod C vs all others", switching every `steps_per_task` steps for
`cycles` passes over the C classes. It runs twice from the SAME initial weights on the SAME
batches: "plain" (the task loss only) and "rotation" (plus `rotation_weight` times SS-GAN's
rotation cross-entropy from a `RotationHead` on the same trunk). If the rotation arm keeps
what it learnt, its accuracy early in each task is higher in the second cycle than in the
first; the plain arm's is not.

The classifier is the configured discriminator (gin, as in training): its real/fake logit is
the 1-vs-all logit, its penultimate features feed the rotation head. Batches are balanced
(half the current class, half the others spread evenly over them) and drawn from
`np.random.SeedSequence([seed, 1, step])`, so they are a pure function of (seed, step).
"""

import hashlib
import json
import os
import time

import gin
import keras
import numpy as np
import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan import gin_utils
from compare_ssgan import plots
from compare_ssgan import rotation
from compare_ssgan.options import DEFAULT_SEED
from compare_ssgan.architectures import build_architecture, discriminator_options
from compare_ssgan.datasets import get_dataset
from compare_ssgan.gans.modular_gan import adam_optimizer

DEFAULT_CONFIG = "forgetting/builtin.gin"
EARLY_FRACTION = 0.1      # "the first 10% of each task's steps"
ARMS = ("plain", "rotation")
_PURPOSE_BATCH = 1        # SeedSequence entry of the batch draws


class ForgettingError(errors.ConfigError):
  """A setting or dataset the experiment cannot run with (one line, names the culprit)."""


@gin.configurable("forgetting")
def forgetting_options(architecture="tiny_arch", optimizer_fn=adam_optimizer,
                       learning_rate=0.0002, num_train_per_class=None):
  """The choices the flags do not cover (gin `forgetting.*`).

  Args:
    architecture: the discriminator trunk, a compare_gan architecture name; its `D.*` and
      `<arch>.Discriminator.*` bindings apply.
    optimizer_fn: optimizer factory taking `learning_rate` (`tf.train.AdamOptimizer.*`).
    learning_rate: the optimizer's step size.
    num_train_per_class: training images kept per class (None: all, one pass over the split).
  """
  return dict(architecture=architecture, optimizer_fn=optimizer_fn,
              learning_rate=float(learning_rate),
              num_train_per_class=None if num_train_per_class is None
              else int(num_train_per_class))


# -- tasks and batches -------------------------------------------------------------------

def task_of_step(step, steps_per_task, num_classes):
  """The positive class of the task that update `step` (0-based) trains on."""
  return (int(step) // int(steps_per_task)) % int(num_classes)


def batch_indices(pool_sizes, task, step, batch_size, seed):
  """(classes [B], indices [B], labels [B]) of one balanced batch of `task`.

  The first B/2 rows are the task's class (label 1); the other B/2 cycle through the other
  classes in a random order, so each appears floor or ceil(B/2/(C-1)) times (label 0).
  """
  num_classes, half = len(pool_sizes), batch_size // 2
  rng = np.random.default_rng(np.random.SeedSequence([int(seed), _PURPOSE_BATCH, int(step)]))
  others = np.array([c for c in range(num_classes) if c != task])
  classes = np.concatenate([np.full(half, task), np.resize(rng.permutation(others), half)])
  sizes = np.asarray(pool_sizes)[classes]
  indices = np.floor(rng.random(batch_size) * sizes).astype(np.int64)
  labels = np.concatenate([np.ones(half), np.zeros(half)]).astype(np.float32)
  return classes, indices, labels


def gather(pools, classes, indices):
  """uint8 images [B, H, W, 3] for (class, index) pairs."""
  return np.stack([pools[c][i] for c, i in zip(classes, indices)])


# -- data ------------------------------------------------------------------------------

def read_class_pools(dataset, split, per_class, seed):
  """uint8 images [n_c, H, W, 3] per class: at most `per_class` each, from one pass.

  Images are stored as round(255 * x): exact for uint8 sources (built-in, TFDS), within
  1/510 for resized image folders. The eval split is read in batches that divide its size
  (batches drop their remainder), the repeating train split in batches of 100.
  """
  num_classes = dataset.num_classes
  total = dataset.num_examples(split)
  batch = max(1, min(100, total))
  if split == "eval":
    batch = max(d for d in range(1, batch + 1) if total % d == 0)
  per_class = total if per_class is None else int(per_class)
  pools = [[] for _ in range(num_classes)]
  counts = np.zeros(num_classes, np.int64)
  for b, element in enumerate(dataset.input_fn(split, batch, seed=seed)):
    images = np.round(element["images"].numpy() * 255).astype(np.uint8)
    labels = element["labels"].numpy()
    for image, label in zip(images, labels):
      if not 0 <= label < num_classes:
        raise ForgettingError(f"{dataset.name}: label {label} outside [0, {num_classes})")
      if counts[label] < per_class:
        pools[label].append(image)
        counts[label] += 1
    if counts.min() >= per_class or (b + 1) * batch >= total:
      break
  if counts.min() == 0:
    missing = [int(c) for c in np.nonzero(counts == 0)[0]]
    raise ForgettingError(f"{dataset.name}: no {split} images of class(es) {missing}")
  return [np.stack(p) for p in pools]


def eval_sets(pools, num_per_class):
  """Per task: (uint8 images [2k, ...], labels [2k]): k of the class, k of the others.

  The negatives take the other classes in turn, so every task's held-out set is balanced
  (chance accuracy 0.5).
  """
  num_classes = len(pools)
  k = min(int(num_per_class), min(len(p) for p in pools))
  sets = []
  for task in range(num_classes):
    others = [c for c in range(num_classes) if c != task]
    neg = [pools[others[j % len(others)]][j // len(others)] for j in range(k)]
    images = np.concatenate([pools[task][:k], np.stack(neg)])
    sets.append((images, np.concatenate([np.ones(k), np.zeros(k)]).astype(np.float32)))
  return sets, k


# -- the classifier ----------------------------------------------------------------------

def classifier_losses(discriminator, rotation_head, images, labels, rotation_weight,
                      training=True):
  """{"loss", "task_loss", "accuracy"} (+ "rotation_loss" when `rotation_weight` > 0).

  images float [B, H, W, 3] in [0, 1], labels float [B] (1 = the task's class). The rotation
  arm rotates every image by 90/180/270 degrees and runs ONE trunk call on the 4B images,
  as SS-GAN's discriminator does; the task loss reads the upright rows only.
  """
  batch = images.shape[0]
  if batch is None:
    raise ValueError("classifier_losses needs a static batch size")
  if rotation_weight:
    images = tf.concat([images, rotation.rotate_images(images)], 0)
  _, logits, features = discriminator(images, training=training)
  task_logits = tf.cast(logits[:batch, 0], tf.float32)
  task_loss = tf.reduce_mean(
      tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=task_logits))
  accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.cast(task_logits > 0, tf.float32), labels),
                                    tf.float32))
  out = {"loss": task_loss, "task_loss": task_loss, "accuracy": accuracy}
  if rotation_weight:
    rot_logits = rotation_head(features, training=training)
    rot_loss = rotation.rotation_cross_entropy(rot_logits, rotation.rotation_labels(batch))
    out["rotation_loss"] = rot_loss
    out["loss"] = task_loss + float(rotation_weight) * rot_loss
  return out


def build_classifier(resolution, architecture, seed):
  """(discriminator trunk, rotation head), weights created from `keras` seed `seed`."""
  keras.utils.set_random_seed(int(seed))
  _, disc = build_architecture(architecture, resolution, parts=("D",))
  head = rotation.RotationHead(use_sn=discriminator_options()["spectral_norm"])
  head.build_for_features(disc.feature_dim)
  return disc, head


def weights_digest(variables):
  """sha1 of the variables' values, in order (to show two arms started equal)."""
  h = hashlib.sha1()
  for v in variables:
    h.update(np.ascontiguousarray(v.numpy()).tobytes())
  return h.hexdigest()


def make_train_step(disc, head, optimizer, variables, rotation_weight):
  """A compiled update on (uint8 images, labels) returning the loss dict."""
  @tf.function
  def step(images, labels):
    x = tf.cast(images, tf.float32) / 255.0
    with tf.GradientTape() as tape:
      losses = classifier_losses(disc, head, x, labels, rotation_weight, training=True)
    grads = tape.gradient(losses["loss"], variables)
    optimizer.apply_gradients(zip(grads, variables))
    return losses
  return step


def make_eval_fn(disc, batch_size=500):
  """Accuracy of the 1-vs-all logit (> 0 means "the task's class") on a held-out set."""
  @tf.function(reduce_retracing=True)
  def logits_of(images):
    _, logits, _ = disc(tf.cast(images, tf.float32) / 255.0, training=False)
    return logits[:, 0]

  def accuracy(images, labels):
    logits = np.concatenate([logits_of(tf.constant(images[i:i + batch_size])).numpy()
                             for i in range(0, len(images), batch_size)])
    return float(np.mean((logits > 0) == (labels > 0.5)))
  return accuracy


# -- one arm -----------------------------------------------------------------------------

def run_arm(name, model, initial_weights, data, settings, log=print):
  """Trains one arm from `initial_weights`; returns its curves and digests.

  model: (disc, head); data: (train pools, per-task eval sets); settings: dict with
  steps_per_task, cycles, rotation_weight, eval_every, batch_size, seed, optimizer_fn,
  learning_rate, class_names.
  """
  disc, head = model
  pools, sets = data
  weight = settings["rotation_weight"] if name == "rotation" else 0.0
  for v, value in zip(disc.weights + head.weights, initial_weights):
    v.assign(value)
  variables = disc.trainable_variables + (head.trainable_variables if weight else [])
  optimizer = settings["optimizer_fn"](learning_rate=settings["learning_rate"])
  optimizer.build(variables)
  train_step = make_train_step(disc, head, optimizer, variables, weight)
  accuracy_of = make_eval_fn(disc)
  spt, num_classes = settings["steps_per_task"], len(pools)
  curve = {"rotation_weight": weight, "initial_weights_sha1":
           weights_digest(disc.weights + head.weights)}
  for key in ("step", "task", "accuracy", "train_loss", "train_rotation_loss"):
    curve[key] = []
  batches = hashlib.sha1()
  start = time.time()
  for step in range(spt * num_classes * settings["cycles"]):
    task = task_of_step(step, spt, num_classes)
    classes, indices, labels = batch_indices([len(p) for p in pools], task, step,
                                             settings["batch_size"], settings["seed"])
    batches.update(np.stack([classes, indices]).tobytes())
    losses = train_step(gather(pools, classes, indices), labels)
    if (step % spt + 1) % settings["eval_every"] == 0:
      curve["step"].append(step + 1)
      curve["task"].append(task)
      curve["accuracy"].append(accuracy_of(*sets[task]))
      curve["train_loss"].append(float(losses["task_loss"]))
      rot = losses.get("rotation_loss")
      curve["train_rotation_loss"].append(None if rot is None else float(rot))
    if (step + 1) % spt == 0:
      log(f"[{name}] step {step + 1}: task {task} ({settings['class_names'][task]}) "
          f"held-out accuracy {curve['accuracy'][-1]:.3f}, "
          f"{(step + 1) / (time.time() - start):.1f} steps/s")
  curve["batches_sha1"] = batches.hexdigest()
  curve["seconds"] = time.time() - start
  return curve


def summarise(curve, steps_per_task, num_classes, cycles):
  """Per cycle: mean accuracy over the first 10% of each task's steps, averaged over its
  tasks ("early"), and over whole tasks ("all"); also per task."""
  steps = np.asarray(curve["step"])
  acc = np.asarray(curve["accuracy"])
  local = (steps - 1) % steps_per_task + 1          # updates done on the current task
  occurrence = (steps - 1) // steps_per_task        # which task occurrence (0-based)
  early_mask = local <= max(1, int(round(EARLY_FRACTION * steps_per_task)))
  out = {"early_per_task": [], "early": [], "all": []}
  for cycle in range(cycles):
    per_task, whole = [], []
    for t in range(num_classes):
      sel = occurrence == cycle * num_classes + t
      per_task.append(float(acc[sel & early_mask].mean()))
      whole.append(float(acc[sel].mean()))
    out["early_per_task"].append(per_task)
    out["early"].append(float(np.mean(per_task)))
    out["all"].append(float(np.mean(whole)))
  return out


# -- outputs -----------------------------------------------------------------------------

_NO_FIGURE = " or pass figure=False (--nofigure)"


def plot_forgetting(result, path, dpi=100):
  """The paper's layout: one panel per arm (plain left), held-out accuracy of the current
  task against the step, thin lines at task switches, a dashed line where cycle 1 ends."""
  plt = plots.pyplot(_NO_FIGURE)
  cfg = result["config"]
  spt, num_classes = cfg["steps_per_task"], cfg["num_classes"]
  total = spt * num_classes * cfg["cycles"]
  fig, axes = plt.subplots(1, len(ARMS), figsize=(6 * len(ARMS), 3.6), sharey=True)
  titles = {"plain": "Classifier", "rotation":
            f"Classifier + rotation loss (weight {cfg['rotation_weight']:g})"}
  for ax, arm in zip(axes, ARMS):
    curve = result["arms"][arm]
    for s in range(spt, total, spt):
      ax.axvline(s, color="0.85", lw=0.6, zorder=0)
    for s in range(spt * num_classes, total, spt * num_classes):
      ax.axvline(s, color="k", ls="--", lw=1.2,
                 label="end of a cycle" if s == spt * num_classes else None)
    ax.plot(curve["step"], curve["accuracy"], lw=1.0, color="C0" if arm == "plain" else "C3")
    ax.axhline(0.5, color="0.6", ls=":", lw=0.8)
    ax.set_title(titles[arm], fontsize=10)
    ax.set_xlabel("iteration (task switches every %d)" % spt)
    ax.set_xlim(0, total)
  axes[0].set_ylabel("held-out accuracy, current task")
  axes[0].set_ylim(0.3, 1.0)
  if cfg["cycles"] > 1:
    axes[0].legend(loc="lower right", fontsize=8)
  fig.suptitle(f"1-vs-all tasks on {cfg['dataset']} ({cfg['architecture']})", fontsize=10)
  plots.save_figure(fig, path, dpi)
  plt.close(fig)
  return path


def _write_json(result, path):
  with tf.io.gfile.GFile(path, "w") as f:
    json.dump(result, f, indent=1)
  return path


def summary_lines(result):
  """One line per arm: early accuracy per cycle (the paper's comparison)."""
  pct = int(round(100 * EARLY_FRACTION))
  lines = []
  for arm in ARMS:
    s = result["summary"][arm]
    early = ", ".join(f"cycle {i + 1} {v:.3f}" for i, v in enumerate(s["early"]))
    whole = ", ".join(f"{v:.3f}" for v in s["all"])
    lines.append(f"{arm:8s}: mean accuracy over the first {pct}% of each task's steps: "
                 f"{early} (whole tasks: {whole})")
  return lines


def _check_settings(steps_per_task, cycles, rotation_weight, eval_every, num_eval_per_class,
                    batch_size):
  window = max(1, int(round(EARLY_FRACTION * steps_per_task)))
  checks = [
      (steps_per_task >= 1, f"steps_per_task must be >= 1, got {steps_per_task}"),
      (cycles >= 1, f"cycles must be >= 1, got {cycles}"),
      (rotation_weight > 0, f"rotation_weight must be > 0, got {rotation_weight}"),
      (1 <= eval_every <= window, f"eval_every must be in [1, {window}] (10% of "
       f"steps_per_task) so the start of every task is measured, got {eval_every}"),
      (num_eval_per_class >= 1, f"num_eval_per_class must be >= 1, got {num_eval_per_class}"),
      (batch_size >= 2 and batch_size % 2 == 0,
       f"batch_size must be even and >= 2 (half positives), got {batch_size}"),
  ]
  for ok, message in checks:
    if not ok:
      raise ForgettingError(message)


# -- the experiment ----------------------------------------------------------------------

def default_config():
  """`forgetting/builtin.gin` of THIS source tree when it has one (a git worktree's
  editable install maps `compare_ssgan.gin_configs` elsewhere), else by name."""
  here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "gin_configs", DEFAULT_CONFIG)
  return here if os.path.isfile(here) else DEFAULT_CONFIG


def _prepare_data(dataset, num_train_per_class, num_eval_per_class, seed, log):
  """(train pools, per-task eval sets, k): fails in one line on unlabelled data."""
  if dataset.num_classes < 2:
    raise ForgettingError(
        f"dataset {dataset.name!r} has no class labels (num_classes={dataset.num_classes}); "
        "the forgetting experiment needs a labelled dataset (built-in, a labelled TFDS "
        "dataset, or image_folder.use_class_subfolders = True)")
  pools = read_class_pools(dataset, "train", num_train_per_class, seed)
  eval_pools = read_class_pools(dataset, "eval", num_eval_per_class, seed)
  sets, k = eval_sets(eval_pools, num_eval_per_class)
  if k < num_eval_per_class:
    log(f"note: the eval split has only {k} images of its smallest class; each task is "
        f"evaluated on {k} + {k} images instead of {num_eval_per_class} + {num_eval_per_class}")
  log(f"{dataset.name}: {dataset.num_classes} classes, "
      f"{min(len(p) for p in pools)}-{max(len(p) for p in pools)} train images per class, "
      f"{2 * k} held-out images per task")
  return pools, sets, k


def _write_outputs(output_dir, config, arms, figure):
  """Summarises the arms, writes the JSON (then the figure); returns the JSON's content."""
  summary = {arm: summarise(arms[arm], config["steps_per_task"], config["num_classes"],
                            config["cycles"]) for arm in ARMS}
  files = {"json": os.path.join(output_dir, "forgetting.json")}
  if figure:
    files["figure"] = os.path.join(output_dir, "forgetting.png")
  result = {"config": config, "arms": arms, "summary": summary, "files": files}
  _write_json(result, files["json"])
  if figure:
    plot_forgetting(result, files["figure"])
  return result


def run_forgetting(output_dir, gin_configs=(), gin_bindings=(), steps_per_task=200, cycles=2,
                   rotation_weight=1.0, eval_every=4, num_eval_per_class=100, batch_size=32,
                   seed=DEFAULT_SEED, figure=True, log=print):
  """Runs both arms and writes `forgetting.json` (+ `forgetting.png`) into `output_dir`.

  Args:
    output_dir: where the JSON, the figure and `operative_config.gin` go (created).
    gin_configs, gin_bindings: gin files (names under gin_configs/ or paths) and bindings;
      no files means `forgetting/builtin.gin` (offline, colour-free built-in dataset).
    steps_per_task: updates per 1-vs-all task before the class switches (paper: 1000).
    cycles: passes over all classes (paper: 2).
    rotation_weight: weight of the rotation cross-entropy in the rotation arm (SS-GAN's
      beta, 1.0).
    eval_every: updates between held-out evaluations, counted within each task; at most
      10% of `steps_per_task`.
    num_eval_per_class: held-out images of the task's class per evaluation; as many from
      the other classes (balanced: chance is 0.5).
    batch_size: images per update, half of them the task's class.
    seed: weights, data order and batches.
    figure: also write the figure (needs matplotlib).
    log: where progress and the summary lines go.
  Returns:
    the JSON's content: {"config", "arms": {"plain", "rotation"}, "summary", "files"}.
  """
  _check_settings(steps_per_task, cycles, rotation_weight, eval_every, num_eval_per_class,
                  batch_size)
  if figure:
    plots.pyplot(_NO_FIGURE)   # fail before training, not after
  gin_utils.parse(list(gin_configs) or [default_config()], list(gin_bindings))
  opts = forgetting_options()
  dataset = get_dataset()
  pools, sets, k = _prepare_data(dataset, opts["num_train_per_class"], num_eval_per_class,
                                 seed, log)
  model = build_classifier(dataset.resolution, opts["architecture"], seed)
  opts["optimizer_fn"](learning_rate=opts["learning_rate"])   # reads its gin bindings
  # The default config's `builtin.*` lines are moot when a binding picks another dataset.
  gin_utils.check_bindings_used(ignore=() if gin_configs else ("builtin",))
  tf.io.gfile.makedirs(output_dir)
  with tf.io.gfile.GFile(os.path.join(output_dir, "operative_config.gin"), "w") as f:
    f.write(gin.operative_config_str())
  num_classes = dataset.num_classes
  names = list(getattr(dataset, "class_names", None) or [str(c) for c in range(num_classes)])
  settings = dict(steps_per_task=int(steps_per_task), cycles=int(cycles),
                  rotation_weight=float(rotation_weight), eval_every=int(eval_every),
                  batch_size=int(batch_size), seed=int(seed), class_names=names,
                  optimizer_fn=opts["optimizer_fn"], learning_rate=opts["learning_rate"])
  initial = [v.numpy() for v in model[0].weights + model[1].weights]
  arms = {arm: run_arm(arm, model, initial, (pools, sets), settings, log) for arm in ARMS}
  config = {key: v for key, v in settings.items() if key != "optimizer_fn"}
  config.update(num_eval_per_class=k, num_classes=num_classes, dataset=dataset.name,
                dataset_identity=dataset.identity, architecture=opts["architecture"],
                train_images_per_class=[len(p) for p in pools], early_fraction=EARLY_FRACTION)
  result = _write_outputs(output_dir, config, arms, figure)
  for line in summary_lines(result):
    log(line)
  return result
