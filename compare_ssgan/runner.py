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

from compare_ssgan import checkpointing, distribute, errors, gin_utils, images
from compare_ssgan import interrupts, preflight, runs
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
    self.classifier = None
    self.start_step = None             # set by train(): the step it resumed from
    self.announced_evaluation = False  # the first evaluation logs what it will compute
    if evaluating:
      self._configure_evaluation()
    # A training-only run ignores evaluation settings (they may sit in a shared config); an
    # evaluating run has read `evaluation.*` and built its Inception, and the domain
    # classifier reads `domain_classifier.*` only when it is first trained or loaded.
    ignore = (("inception_classifier", "domain_classifier") if evaluating else
              ("evaluation", "inception_classifier", "domain_classifier"))
    gin_utils.check_bindings_used(ignore=ignore)
    self.is_chief = distribute.is_chief(self.strategy)

  def _configure_evaluation(self):
    """Reads `evaluation.*` and builds (without loading) the configured Inception, so its
    bindings are checked and recorded now; preflight then loads it once."""
    from compare_ssgan import metrics  # pylint: disable=import-outside-toplevel
    self.eval_options = metrics.eval_options()
    if self.eval_options["classifier"] != "domain":
      self.classifier = metrics.evaluation.get_classifier(self.eval_options["classifier"],
                                                          self.dataset)


def _write_dir(exp):
  """Where this process writes checkpoints: non-chief workers write to a scratch copy
  (MultiWorkerMirroredStrategy needs every worker to take part in a save)."""
  if exp.is_chief:
    return exp.model_dir
  return os.path.join(exp.model_dir, "workers_tmp",
                      f"worker_{distribute.worker_index(exp.strategy)}")


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


def train(exp, log=logging.info, stop=None):
  """Trains until `options.training_steps` G steps, resuming from the newest checkpoint.

  `stop` (an `interrupts.StopSignals`) ends training early: the loop stops after the G step
  in progress, a checkpoint of that step is saved and `errors.Interrupted` is raised.
  Returns the step reached."""
  stop = stop or interrupts.NoStop()
  gan, total = exp.gan, exp.options["training_steps"]
  manager = checkpointing.checkpoint_manager(gan, _write_dir(exp),
                                             max_to_keep=exp.run_config["keep_checkpoint_max"])
  resumed_from = _restore_latest(exp, log)
  step = exp.start_step = int(gan.global_step.numpy())
  if exp.is_chief:
    gin_utils.write_operative_config(exp.model_dir, step)
  writer = _Writer(exp.model_dir, exp.is_chief)
  if step >= total:
    log(f"Nothing to train: step {step} >= options.training_steps {total}")
    _mark_done(exp)
    return step
  if hasattr(gan, "stop_flag"):       # the loop checks it before each G step
    gan.stop_flag = stop.flag()
  iterator = iter(_train_dataset(exp, step))
  if step == 0 and exp.is_chief:
    real = next(iter(exp.dataset.input_fn("train", NUM_SAMPLES)))["images"].numpy()
    writer.images(0, "real_images", images.image_grid(real))
  log("Building the networks and tracing the training step (the first call takes a while)")
  with stop.raising("while building the training step"):
    gan.train_loop(iterator, 0)   # traces; zero steps, so stopping here loses nothing
  log(f"Training from step {step} to {total}: up to {exp.run_config['iterations_per_loop']} "
      "steps per host call, a progress line after each")
  saver = _Saver(exp, manager, writer, resumed_from, log)
  step = _train_loop(exp, iterator, writer, saver, step, stop, log)
  _mark_done(exp)
  return step


def _restore_latest(exp, log):
  """Restores the newest checkpoint (the one `checkpoint` names: periodic or interrupt);
  returns its path or None. Every process restores from the chief's checkpoints."""
  latest = tf.train.latest_checkpoint(exp.model_dir)
  if latest:
    checkpointing.restore(exp.gan, latest)
    exp.gan.apply_configured_learning_rates()
    log(f"Resumed from {latest} at step {int(exp.gan.global_step.numpy())}")
  return latest


def _train_loop(exp, iterator, writer, saver, step, stop, log):
  """Host calls of up to `iterations_per_loop` G steps until the total or a stop."""
  gan, rc, total = exp.gan, exp.run_config, exp.options["training_steps"]
  save_every = rc["save_checkpoints_steps"]
  images_per_step = gan.batch_size * gan.num_sub_steps
  start_time, start_step = time.time(), step
  preemption = _preemption_handler(exp, saver.manager)
  while step < total:
    if stop.requested:
      saver.interrupted(step, stop)
    n = min(rc["iterations_per_loop"], total - step, save_every - step % save_every)
    t0 = time.time()
    metrics = gan.train_loop(iterator, n)
    elapsed = time.time() - t0
    done, step = step, int(gan.global_step.numpy())
    if step > done:
      _check_finite(metrics, step)
      rate = (step - start_step) / max(time.time() - start_time, 1e-9)
      per_s = (step - done) / max(elapsed, 1e-9)
      log(_format(metrics, step, total, per_s, per_s * images_per_step,
                  (total - step) / max(rate, 1e-9)))
      lrs = {"learning_rate/g": float(gan.g_optimizer.learning_rate.numpy()),
             "learning_rate/d": float(gan.d_optimizer.learning_rate.numpy())}
      writer.scalars(step, {**{f"loss/{k}" if "/" not in k else k: v
                               for k, v in metrics.items()}, **lrs, "steps_per_sec": per_s})
    if step > done and (step % save_every == 0 or step == total):
      saver.periodic(step)
    if preemption is not None:
      preemption.save_checkpoint_if_preempted()
  return step


def _preemption_handler(exp, manager):
  """TensorFlow's PreemptionCheckpointHandler for multi-worker and TPU runs: it watches for
  the platform's termination notice on every worker, has all of them save at the same step
  (through `manager`, so that save counts against keep_checkpoint_max) and exits; the
  signal-based stop below is for single-process runs. None elsewhere."""
  strategy = exp.strategy
  if not _workers_stop_together(strategy):
    return None
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None:
    return None
  return tf.distribute.experimental.PreemptionCheckpointHandler(resolver, manager)


class _Saver:
  """Periodic checkpoints (kept by the CheckpointManager, `keep_checkpoint_max` of them)
  and the interrupt checkpoint, which stays outside the manager's list.

  The interrupt checkpoint is written as `ckpt-<step>` and the `checkpoint` file's
  `model_checkpoint_path` points at it, so `tf.train.latest_checkpoint` (and a rerun)
  finds it; `all_model_checkpoint_paths`, which the manager counts and prunes from, keeps
  only periodic checkpoints, so it never pushes one of those out. A resumed run deletes it
  once its next periodic checkpoint exists.
  """

  def __init__(self, exp, manager, writer, resumed_from, log):
    self.exp, self.manager, self.writer, self.log = exp, manager, writer, log
    self.last_saved = int(exp.gan.global_step.numpy()) if resumed_from else None
    self.stale = resumed_from if resumed_from and not _managed(manager, resumed_from) else None

  def periodic(self, step):
    path = self.manager.save(checkpoint_number=step)
    self.last_saved = step
    if self.exp.is_chief:
      _write_samples(self.exp, self.writer, step)
      if self.stale and os.path.basename(self.stale) != os.path.basename(path):
        _delete_checkpoint_files(self.stale)
      self.stale = None
      self.log(f"Saved {path}")

  def interrupted(self, step, stop):
    """Saves ckpt-<step> unless it exists, then raises errors.Interrupted."""
    if self.last_saved != step:
      ckpt = self.manager.checkpoint
      _ = ckpt.save_counter   # created by a save(), which write() is not; restore expects it
      path = ckpt.write(os.path.join(_write_dir(self.exp), f"ckpt-{step}"))
      if self.exp.is_chief:
        _point_latest_at(self.exp.model_dir, path)
        if self.stale:   # an earlier interrupt checkpoint, superseded by this one
          _delete_checkpoint_files(self.stale)
          self.stale = None
      self.last_saved = step
    raise stop.interrupted(f"interrupted at step {step}: saved ckpt-{step}")


def _managed(manager, path):
  return any(os.path.basename(p) == os.path.basename(path) for p in manager.checkpoints)


def _point_latest_at(model_dir, path):
  """Rewrites `model_dir/checkpoint` so that `model_checkpoint_path` is `path` while
  `all_model_checkpoint_paths` and their timestamps stay the periodic ones (TF's own
  writer would append `path` to that list). Written to a temp file, then renamed."""
  from google.protobuf import text_format  # pylint: disable=import-outside-toplevel
  state = tf.train.get_checkpoint_state(model_dir)
  proto = tf.compat.v1.train.generate_checkpoint_state_proto(model_dir, path)
  proto.model_checkpoint_path = os.path.basename(path)   # relative, like the manager's
  del proto.all_model_checkpoint_paths[:]
  if state is not None:
    proto.all_model_checkpoint_paths.extend(
        os.path.basename(p) for p in state.all_model_checkpoint_paths)
    proto.all_model_checkpoint_timestamps.extend(state.all_model_checkpoint_timestamps)
    proto.last_preserved_timestamp = state.last_preserved_timestamp
  target = os.path.join(model_dir, "checkpoint")
  with tf.io.gfile.GFile(target + ".tmp", "w") as f:
    f.write(text_format.MessageToString(proto))
  tf.io.gfile.rename(target + ".tmp", target, overwrite=True)


def _delete_checkpoint_files(path):
  for name in tf.io.gfile.glob(path + ".*"):
    tf.io.gfile.remove(name)


def _mark_done(exp):
  if exp.is_chief:
    runs.mark_done(exp.model_dir)


def evaluate_step(exp, step, score_filename="scores.csv", num_averaging_runs=3, log=logging.info):
  """Restores ckpt-<step>, scores it and appends a row to scores.csv."""
  from compare_ssgan import metrics  # pylint: disable=import-outside-toplevel
  path = os.path.join(exp.model_dir, f"ckpt-{step}")
  checkpointing.restore(exp.gan, path)
  if not exp.announced_evaluation:
    first = ["computing the real images' statistics (cached in "
             f"{runs.eval_cache_dir(exp.model_dir)})"]
    if exp.classifier is None:
      first.insert(0, "training the domain classifier (or loading it from that cache)")
    log(f"Evaluating step {step}: {' and '.join(first)} first; this takes a while")
    exp.announced_evaluation = True
  results = metrics.evaluate_checkpoint(exp.gan, exp.dataset, step,
                                        num_averaging_runs=num_averaging_runs,
                                        classifier=exp.classifier,
                                        cache_dir=runs.eval_cache_dir(exp.model_dir))
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
                     log=logging.info, stop=None):
  stop = stop or interrupts.NoStop()
  train(exp, log=log, stop=stop)
  with stop.raising("while evaluating"):   # a rerun evaluates what has no score yet
    for step in _steps_to_evaluate(exp.model_dir, eval_every_steps, score_filename):
      evaluate_step(exp, step, score_filename, num_averaging_runs, log=log)


def continuous_eval(exp, eval_every_steps, score_filename="scores.csv", num_averaging_runs=3,
                    poll_seconds=30, timeout_seconds=None, log=logging.info, stop=None):
  """Evaluates new checkpoints as they appear, until TRAIN_DONE and nothing is left."""
  stop = stop or interrupts.NoStop()
  start = time.time()
  with stop.raising("while evaluating"):
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
                      score_filename="scores.csv", num_eval_averaging_runs=3,
                      run_preflight=True, log=logging.info):
  """Runs a schedule; returns `summary()` of the run. Bad input, a failed preflight or an
  interrupt before training raise `errors.Error` and remove a model_dir created here."""
  if schedule not in SCHEDULES:
    raise errors.ConfigError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
  start = time.time()
  strategy = strategy or tf.distribute.get_strategy()
  with _stop_signals(strategy) as stop:
    exp = _start(schedule, model_dir, strategy, run_preflight, stop, log)
    if schedule == "train":
      train(exp, log=log, stop=stop)
    else:
      run = eval_after_train if schedule == "eval_after_train" else continuous_eval
      run(exp, eval_every_steps=eval_every_steps, score_filename=score_filename,
          num_averaging_runs=num_eval_averaging_runs, log=log, stop=stop)
  return summary(exp, schedule, time.time() - start, score_filename)


def _stop_signals(strategy):
  """SIGINT/SIGTERM handling for single-process runs; multi-worker and TPU runs leave
  SIGTERM to TensorFlow's PreemptionCheckpointHandler (see `_preemption_handler`)."""
  return interrupts.NoStop() if _workers_stop_together(strategy) else interrupts.StopSignals()


def _workers_stop_together(strategy):
  """Multi-worker and TPU runs: one worker leaving a collective would hang the others."""
  return isinstance(strategy, (tf.distribute.MultiWorkerMirroredStrategy,
                               tf.distribute.TPUStrategy))


def _start(schedule, model_dir, strategy, run_preflight, stop, log):
  """The Experiment, after the preflight; on failure nothing new is left in model_dir."""
  created = not tf.io.gfile.exists(model_dir)
  # Always, --nopreflight or not: nothing else may be written before this holds.
  preflight.check_writable(model_dir, "model_dir", log if run_preflight else lambda _: None)
  evaluating = schedule != "train"
  try:
    with stop.raising("before training"):
      with gin_utils.configuration_errors():
        exp = Experiment(model_dir, strategy, evaluating=evaluating)
      if run_preflight:
        preflight.run(exp, evaluating, log)
  except errors.Error:
    if created and tf.io.gfile.exists(model_dir):   # a run that cannot start leaves no
      tf.io.gfile.rmtree(model_dir)                  # folder behind
    raise
  return exp


# --- the end-of-run summary ---------------------------------------------------------------

_BEST = {"fid_score_mean": min, "inception_score_mean": max, "kid_score_mean": min}
_SHORT = {"fid_score_mean": "FID", "inception_score_mean": "IS", "kid_score_mean": "KID"}


def summary(exp, schedule, wall_time_s, score_filename="scores.csv"):
  """What a finished run has to show: steps, wall time, scores and where things are."""
  model_dir = exp.model_dir
  rows = runs.read_scores(model_dir, score_filename)
  best = {}
  for key, pick in _BEST.items():
    scored = [r for r in rows if key in r and np.isfinite(r[key])]
    if scored:
      row = pick(scored, key=lambda r, k=key: r[k])
      best[key] = (row["step"], row[key])
  latest = tf.train.latest_checkpoint(model_dir)
  return dict(schedule=schedule, model_dir=model_dir,
              step=int(exp.gan.global_step.numpy()),
              total=int(exp.options["training_steps"]),
              start_step=exp.start_step, wall_time_s=float(wall_time_s),
              checkpoint=latest, samples=os.path.join(model_dir, runs.SAMPLES_DIR, "grid-*.png"),
              scores_csv=os.path.join(model_dir, score_filename) if rows else None,
              last_scores=rows[-1] if rows else None, best_scores=best)


def format_summary(s):
  """The summary as a few lines for the terminal."""
  wall = time.strftime("%H:%M:%S", time.gmtime(s["wall_time_s"]))
  lines = ["Summary:"]
  if s["schedule"] != "continuous_eval":
    this_run = "" if s["start_step"] is None else f", {s['step'] - s['start_step']} this run"
    lines.append(f"  steps: {s['step']}/{s['total']}{this_run}; wall time {wall}")
  else:
    lines.append(f"  wall time {wall}")
  if s["last_scores"]:
    last = s["last_scores"]
    lines.append(f"  last scores (step {last['step']}): " + ", ".join(
        f"{_SHORT[k]} {last[k]:.4f}" for k in _SHORT if k in last))
    lines.append("  best scores: " + ", ".join(
        f"{_SHORT[k]} {v:.4f} (step {st})" for k, (st, v) in s["best_scores"].items()))
  lines.append(f"  checkpoints: {s['checkpoint'] or 'none'}")
  lines.append(f"  samples: {s['samples']}")
  if s["scores_csv"]:
    lines.append(f"  scores: {s['scores_csv']}")
    lines.append(f"  plot: compare_ssgan plot --model_dir {s['model_dir']}")
  return lines
