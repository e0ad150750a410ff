"""Schedules (train, eval_after_train, continuous_eval), checkpoints, progress and scores.

compare_gan's runner_lib, for `tf.distribute`: a run is a model_dir. Training resumes from
the newest `ckpt-<step>` there; the input pipeline is keyed by the step (no iterator
state), so a resumed run sees exactly the batches an uninterrupted one would have.
Everything that is not per-replica math (logging, NaN checks, summaries, checkpoints,
sample grids) happens between host calls of `iterations_per_loop` G steps.
"""

import os
import time

from absl import logging
import numpy as np
import tensorflow as tf

from compare_ssgan import checkpointing, distribute, errors, gin_utils, images, runs
from compare_ssgan.datasets import get_dataset
from compare_ssgan.options import options as get_options
from compare_ssgan.options import run_config as get_run_config

SAMPLE_SEED = 12345          # fixed z of the sample grids
NUM_SAMPLES = 64             # an 8x8 grid


class TrainingDiverged(errors.Error, RuntimeError):
  """A loss became NaN or Inf; the last good checkpoint is kept."""


class Experiment:
  """Everything a schedule needs, built from the parsed gin config."""

  def __init__(self, model_dir, strategy=None, evaluating=False):
    self.model_dir = model_dir
    self.strategy = strategy or tf.distribute.get_strategy()
    self.options = get_options()
    self.run_config = get_run_config()
    self.dataset = get_dataset()
    gan_class = self.options["gan_class"]
    if not callable(gan_class):
      raise errors.ConfigError(f"options.gan_class must be @ModularGAN or @SSGAN, got {gan_class!r}")
    self.gan = gan_class(dataset=self.dataset, strategy=self.strategy, options=self.options)
    self.gan.build()
    self.evaluating = evaluating
    # z and eval_z are first drawn inside a step, after this check: draw one of each now so
    # their gin bindings (e.g. `z.distribution_fn = @tf.random.normal`) count as used.
    from compare_ssgan import random as rng  # pylint: disable=import-outside-toplevel
    rng.sample_z([1, self.options["z_dim"]], seed=[0, 0])
    rng.sample_eval_z([1, self.options["z_dim"]], seed=[0, 0])
    ignore = ()
    if evaluating:
      from compare_ssgan.metrics import eval_options  # pylint: disable=import-outside-toplevel
      self.eval_options = eval_options()
    else:
      # Evaluation settings may sit in a shared config; a training-only run does not use them.
      ignore = ("evaluation", "inception_classifier", "domain_classifier")
    gin_utils.check_bindings_used(ignore=ignore)
    self.is_chief = distribute.is_chief(self.strategy)


def _write_dir(exp):
  """Where this process writes checkpoints: non-chief workers write to a scratch copy
  (MultiWorkerMirroredStrategy needs every worker to take part in a save)."""
  if exp.is_chief:
    return exp.model_dir
  return os.path.join(exp.model_dir, "workers_tmp",
                      f"worker_{distribute.worker_index(exp.strategy)}")


def check_model_dir_writable(model_dir):
  """Fails early, with the path in the message, if model_dir cannot be written."""
  try:
    tf.io.gfile.makedirs(model_dir)
    probe = os.path.join(model_dir, ".write_probe")
    with tf.io.gfile.GFile(probe, "w") as f:
      f.write("ok")
    tf.io.gfile.remove(probe)
  except (tf.errors.OpError, OSError) as e:
    raise errors.ConfigError(f"model_dir {model_dir!r} is not writable: {e}") from e


def _train_dataset(exp, start_step):
  gan, strategy = exp.gan, exp.strategy

  def input_fn(ctx):
    per_replica = ctx.get_per_replica_batch_size(gan.batch_size)
    replicas_per_pipeline = ctx.num_replicas_in_sync // ctx.num_input_pipelines
    start_batch = start_step * gan.num_sub_steps * replicas_per_pipeline
    return exp.dataset.input_fn("train", per_replica, start_batch=start_batch,
                                input_context=ctx if ctx.num_input_pipelines > 1 else None)

  return strategy.distribute_datasets_from_function(input_fn)


def _check_finite(metrics, step):
  bad = [k for k, v in metrics.items() if not np.isfinite(v)]
  if bad:
    raise TrainingDiverged(
        f"non-finite {', '.join(bad)} at step {step} ({metrics}); stopping. The last good "
        "checkpoint is kept; lower the learning rate or check the data.")


def _format(metrics, step, total, steps_per_s, images_per_s, eta_s):
  keys = [("d_loss", "d_loss"), ("g_loss", "g_loss"), ("rot_acc_real", "accuracy/d_rotation_real"),
          ("rot_acc_fake", "accuracy/d_rotation_fake"), ("penalty", "penalty")]
  parts = [f"step {step}/{total}"]
  parts += [f"{short} {metrics[k]:.4f}" for short, k in keys if k in metrics]
  eta = time.strftime("%H:%M:%S", time.gmtime(max(0.0, eta_s))) if np.isfinite(eta_s) else "?"
  parts += [f"{steps_per_s:.2f} steps/s", f"{images_per_s:.1f} images/s", f"ETA {eta}"]
  return " | ".join(parts)


class _Writer:
  """TensorBoard summaries, on the chief only."""

  def __init__(self, model_dir, enabled):
    self.writer = tf.summary.create_file_writer(model_dir) if enabled else None

  def scalars(self, step, values):
    if self.writer is None:
      return
    with self.writer.as_default(step=step):
      for k, v in values.items():
        tf.summary.scalar(k, v)
    self.writer.flush()

  def images(self, step, name, grid):
    if self.writer is None:
      return
    with self.writer.as_default(step=step):
      tf.summary.image(name, grid[None], max_outputs=1)
    self.writer.flush()


def sample_grid(gan):
  """The 8x8 grid of the fixed sample z (EMA weights when the GAN has them)."""
  z = gan.sample_eval_z(NUM_SAMPLES, SAMPLE_SEED)
  y = gan.one_hot(gan.sample_labels(NUM_SAMPLES, SAMPLE_SEED))
  return images.image_grid(gan.generate(z, y, use_ema=True).numpy())


def _write_samples(exp, writer, step):
  grid = sample_grid(exp.gan)
  path = runs.grid_path(exp.model_dir, step)
  tf.io.gfile.makedirs(os.path.dirname(path))
  images.save_png(grid, path)
  writer.images(step, "fake_images", grid)


def train(exp, log=logging.info):
  """Trains until `options.training_steps` G steps, resuming from the newest checkpoint."""
  gan, rc = exp.gan, exp.run_config
  total = exp.options["training_steps"]
  write_dir = _write_dir(exp)
  manager = checkpointing.checkpoint_manager(gan, write_dir,
                                             max_to_keep=rc["keep_checkpoint_max"])
  # Every process restores from the chief's checkpoints.
  latest = tf.train.latest_checkpoint(exp.model_dir)
  if latest:
    checkpointing.restore(gan, latest)
    gan.apply_configured_learning_rates()
    log(f"Resumed from {latest} at step {int(gan.global_step.numpy())}")
  step = int(gan.global_step.numpy())
  if exp.is_chief:
    gin_utils.write_operative_config(exp.model_dir, step)
  writer = _Writer(exp.model_dir, exp.is_chief)
  if step >= total:
    log(f"Nothing to train: step {step} >= options.training_steps {total}")
    _mark_done(exp)
    return step
  iterator = iter(_train_dataset(exp, step))
  if step == 0 and exp.is_chief:
    real = next(iter(exp.dataset.input_fn("train", NUM_SAMPLES)))["images"].numpy()
    writer.images(0, "real_images", images.image_grid(real))
  save_every = rc["save_checkpoints_steps"]
  images_per_step = gan.batch_size * gan.num_sub_steps
  start_time, start_step = time.time(), step
  while step < total:
    n = min(rc["iterations_per_loop"], total - step, save_every - step % save_every)
    t0 = time.time()
    metrics = gan.train_loop(iterator, n)
    elapsed = time.time() - t0
    step = int(gan.global_step.numpy())
    _check_finite(metrics, step)
    rate = (step - start_step) / max(time.time() - start_time, 1e-9)
    log(_format(metrics, step, total, n / max(elapsed, 1e-9),
                n * images_per_step / max(elapsed, 1e-9), (total - step) / max(rate, 1e-9)))
    lrs = {"learning_rate/g": float(gan.g_optimizer.learning_rate.numpy()),
           "learning_rate/d": float(gan.d_optimizer.learning_rate.numpy())}
    writer.scalars(step, {**{f"loss/{k}" if "/" not in k else k: v
                             for k, v in metrics.items()}, **lrs,
                          "steps_per_sec": n / max(elapsed, 1e-9)})
    if step % save_every == 0 or step == total:
      path = manager.save(checkpoint_number=step)
      if exp.is_chief:
        _write_samples(exp, writer, step)
        log(f"Saved {path}")
  _mark_done(exp)
  return step


def _mark_done(exp):
  if exp.is_chief:
    runs.mark_done(exp.model_dir)


def evaluate_step(exp, step, score_filename="scores.csv", num_averaging_runs=3, log=logging.info):
  """Restores ckpt-<step>, scores it and appends a row to scores.csv."""
  from compare_ssgan import metrics  # pylint: disable=import-outside-toplevel
  path = os.path.join(exp.model_dir, f"ckpt-{step}")
  checkpointing.restore(exp.gan, path)
  results = metrics.evaluate_checkpoint(exp.gan, exp.dataset, step,
                                        num_averaging_runs=num_averaging_runs,
                                        cache_dir=os.path.join(exp.model_dir, "eval_cache"))
  if exp.is_chief:
    runs.append_scores(exp.model_dir, step, results, filename=score_filename)
    metrics.write_score_summaries(exp.model_dir, step, results)
  log(f"Evaluated step {step}: " + ", ".join(
      f"{k} {results[k]:.4f}" for k in runs.SCORE_KEYS if k in results))
  return results


def _steps_to_evaluate(model_dir, eval_every_steps, score_filename):
  """Checkpoints at multiples of eval_every_steps, plus the last one once training is done."""
  done = runs.evaluated_steps(model_dir, score_filename)
  steps = runs.checkpoint_steps(model_dir)
  wanted = {s for s in steps if s > 0 and (not eval_every_steps or s % eval_every_steps == 0)}
  if steps and runs.is_done(model_dir):
    wanted.add(steps[-1])
  return sorted(wanted - done)


def eval_after_train(exp, eval_every_steps, score_filename="scores.csv", num_averaging_runs=3,
                     log=logging.info):
  train(exp, log=log)
  for step in _steps_to_evaluate(exp.model_dir, eval_every_steps, score_filename):
    evaluate_step(exp, step, score_filename, num_averaging_runs, log=log)


def continuous_eval(exp, eval_every_steps, score_filename="scores.csv", num_averaging_runs=3,
                    poll_seconds=30, timeout_seconds=None, log=logging.info):
  """Evaluates new checkpoints as they appear, until TRAIN_DONE and nothing is left."""
  start = time.time()
  while True:
    finished = runs.is_done(exp.model_dir)
    for step in _steps_to_evaluate(exp.model_dir, eval_every_steps, score_filename):
      evaluate_step(exp, step, score_filename, num_averaging_runs, log=log)
    if finished:
      return
    if timeout_seconds is not None and time.time() - start > timeout_seconds:
      raise errors.Error(f"continuous_eval: no {runs.TRAIN_DONE} in {exp.model_dir} after "
                         f"{timeout_seconds} s")
    time.sleep(poll_seconds)


SCHEDULES = ("train", "eval_after_train", "continuous_eval")


def run_with_schedule(schedule, model_dir, strategy=None, eval_every_steps=5000,
                      score_filename="scores.csv", num_eval_averaging_runs=3):
  if schedule not in SCHEDULES:
    raise errors.ConfigError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
  created = not tf.io.gfile.exists(model_dir)
  check_model_dir_writable(model_dir)
  try:
    with gin_utils.configuration_errors():
      exp = Experiment(model_dir, strategy, evaluating=schedule != "train")
  except errors.Error:
    if created:   # a run that cannot start leaves no folder behind
      tf.io.gfile.rmtree(model_dir)
    raise
  if schedule == "train":
    return train(exp)
  kwargs = dict(eval_every_steps=eval_every_steps, score_filename=score_filename,
                num_averaging_runs=num_eval_averaging_runs)
  if schedule == "eval_after_train":
    return eval_after_train(exp, **kwargs)
  return continuous_eval(exp, **kwargs)

