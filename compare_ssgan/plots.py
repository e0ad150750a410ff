"""PNG plots of metrics over steps and sample grids, for one or several runs (`plot`).

Metrics come from `scores.csv` (FID / IS / KID means, drawn with their std as a band) and the
TensorBoard event files of the run (`model_dir/events.*` written by training: `loss/d_loss`,
`loss/g_loss`, `accuracy/d_rotation_real`, `accuracy/d_rotation_fake`, `loss/penalty`, ...;
and `model_dir/eval/` score summaries) and `linear_eval.csv` (`linear_eval/<block>` and
`linear_eval/final`: probe accuracy per checkpoint). One panel per metric, one line per run;
metrics no run has are skipped. The figure is --width x --height inches at --dpi, so the PNG is exactly
(width*dpi) x (height*dpi) pixels.
Sample grids: the newest `samples/grid-<step>.png` of each run side by side, or with
--from_checkpoint an 8x8 grid generated from the newest (or --step) checkpoint with the
fixed z of the training grids (EMA weights when present).
Needs matplotlib: `pip install "compare_ssgan[plots]"`. Inputs and outputs go through
tf.io.gfile (remote runs work).
"""

import io
import math
import os

import numpy as np
import tensorflow as tf

from compare_ssgan import errors, images, runs

DEFAULT_METRICS = ("fid_score_mean", "inception_score_mean", "kid_score_mean",
                   "accuracy/d_rotation_real", "accuracy/d_rotation_fake",
                   "loss/d_loss", "loss/g_loss")


def pyplot(advice=""):
  """matplotlib.pyplot on the Agg backend; without matplotlib a one-line error (`advice`
  adds a way out, e.g. a flag that skips the figure)."""
  try:
    import matplotlib  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise errors.Error("plots need matplotlib: pip install matplotlib (or the package's "
                       f"[plots] extra){advice}") from e
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  return plt


def _sorted(pairs):
  last = dict(sorted(pairs))  # a re-evaluated step keeps its last value
  steps = np.array(list(last), np.int64)
  return steps, np.array([last[s] for s in steps], np.float64)


def read_scores(model_dir, filename=runs.SCORES_FILE):
  """{column: (steps, values)} from the run's scores.csv."""
  series = {}
  for row in runs.read_scores(model_dir, filename):
    for key, value in row.items():
      if key != "step":
        series.setdefault(key, []).append((row["step"], value))
  return {k: _sorted(v) for k, v in series.items()}


def read_events(model_dir):
  """{tag: (steps, values)} of the scalar summaries in model_dir and model_dir/eval."""
  files = sorted(tf.io.gfile.glob(os.path.join(model_dir, "events.out.tfevents.*")) +
                 tf.io.gfile.glob(os.path.join(model_dir, "eval", "events.out.tfevents.*")))
  series = {}
  for path in files:
    try:
      for record in tf.data.TFRecordDataset(path):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
          if value.HasField("simple_value"):
            v = float(value.simple_value)
          elif value.HasField("tensor"):
            array = tf.make_ndarray(value.tensor)
            if array.size != 1 or array.dtype.kind not in "fiu":
              continue   # images, text, histograms
            v = float(array.reshape(()))
          else:
            continue
          series.setdefault(value.tag, []).append((int(event.step), v))
    except tf.errors.DataLossError:
      continue  # a file being written: use what was read
  return {k: _sorted(v) for k, v in series.items()}


def read_linear_eval(model_dir):
  """{"linear_eval/<block>": (steps, eval accuracy), "linear_eval_train/<block>": ...} from
  the run's linear_eval.csv (`linear-eval --all_checkpoints`); "final" names D's last block.

  Rows of several probe settings (num_train, num_eval, pool, l2) would mix into one curve:
  the settings of the last row (highest step) win, the others are left out.
  """
  from compare_ssgan import linear_eval  # pylint: disable=import-outside-toplevel
  rows = linear_eval.read_rows(model_dir)
  if not rows:
    return {}
  settings = ("num_train", "num_eval", "pool", "l2")
  keep = [rows[-1][k] for k in settings]
  series = {}
  for r in rows:
    if [r[k] for k in settings] != keep:
      continue
    for name in [r["block"]] + (["final"] if r["is_final"] else []):
      series.setdefault(f"linear_eval/{name}", []).append((r["step"], r["eval_accuracy"]))
      series.setdefault(f"linear_eval_train/{name}", []).append(
          (r["step"], r["train_accuracy"]))
  return {k: _sorted(v) for k, v in series.items()}


def read_run(model_dir):
  """Events first, scores.csv on top (the csv also carries the std columns), then the
  linear-eval curves."""
  series = read_events(model_dir)
  series.update(read_scores(model_dir))
  series.update(read_linear_eval(model_dir))
  return series


def plot_metrics(model_dirs, output, metrics=None, labels=None, width=12.0, height=None,
                 dpi=100, columns=3):
  """Writes the metrics PNG; returns the list of metrics drawn."""
  plt = pyplot()
  runs = [read_run(d) for d in model_dirs]
  labels = list(labels) if labels else [os.path.basename(os.path.normpath(d)) for d in
                                         model_dirs]
  wanted = list(metrics) if metrics else list(DEFAULT_METRICS)
  drawn = [m for m in wanted if any(m in r for r in runs)]
  if not drawn:
    found = sorted(set().union(*runs)) if runs else []
    raise errors.ConfigError(f"none of {wanted} in {model_dirs}; found {found}")
  columns = max(1, min(int(columns), len(drawn)))
  rows = int(math.ceil(len(drawn) / columns))
  height = float(height) if height else 3.5 * rows
  fig, axes = plt.subplots(rows, columns, figsize=(float(width), height), dpi=dpi,
                           squeeze=False)
  for ax, metric in zip(axes.flat, drawn):
    for run, label in zip(runs, labels):
      if metric not in run:
        continue
      steps, values = run[metric]
      ax.plot(steps, values, marker="o" if len(steps) < 20 else None, markersize=3,
              label=label)
      std_key = metric[:-len("_mean")] + "_std" if metric.endswith("_mean") else None
      if std_key and std_key in run and len(run[std_key][0]) == len(steps):
        std = run[std_key][1]
        ax.fill_between(steps, values - std, values + std, alpha=0.25)
    _label_panel(ax, metric, legend=len(model_dirs) > 1)
  _finish(plt, fig, axes, len(drawn), output, dpi)
  return drawn


def _label_panel(ax, metric, legend):
  ax.set_title(metric)
  ax.set_xlabel("step")
  ax.grid(True, alpha=0.3)
  if legend:
    ax.legend(fontsize="small")


def _finish(plt, fig, axes, used, output, dpi):
  """Blanks unused panels, writes the PNG and frees the figure."""
  for ax in list(axes.flat)[used:]:
    ax.axis("off")
  save_figure(fig, output, dpi)
  plt.close(fig)


def save_figure(fig, output, dpi):
  """Saves a figure as PNG through gfile (matplotlib writes local files only)."""
  fig.tight_layout()
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=dpi)
  with tf.io.gfile.GFile(output, "wb") as f:
    f.write(buffer.getvalue())


def latest_sample_grid(model_dir):
  """(step, uint8 [H, W, 3]) of the run's newest sample grid."""
  found = runs.grid_steps(model_dir)
  if not found:
    raise errors.RunNotFoundError(f"no sample grids in {model_dir}/{runs.SAMPLES_DIR}; use "
                                  "--from_checkpoint")
  step = max(found)
  return step, images.read_png(found[step])


def checkpoint_sample_grid(model_dir, step=None):
  """(step, uint8 grid) generated from a checkpoint with the training grids' fixed z."""
  from compare_ssgan import runner  # pylint: disable=import-outside-toplevel
  gan, _, step = runs.restore_gan(model_dir, step)
  return step, runner.sample_grid(gan)


def plot_samples(model_dirs, output, labels=None, from_checkpoint=False, step=None,
                 panel_inches=4.0, dpi=100):
  """One titled panel per run; returns [(model_dir, step)]."""
  plt = pyplot()
  labels = list(labels) if labels else [os.path.basename(os.path.normpath(d)) for d in
                                         model_dirs]
  grids = [checkpoint_sample_grid(d, step) if from_checkpoint else latest_sample_grid(d)
           for d in model_dirs]
  fig, axes = plt.subplots(1, len(grids), figsize=(panel_inches * len(grids), panel_inches),
                           dpi=dpi, squeeze=False)
  for ax, (s, grid), label in zip(axes.flat, grids, labels):
    ax.imshow(grid, interpolation="nearest")
    ax.set_title(f"{label} (step {s})")
    ax.axis("off")
  save_figure(fig, output, dpi)
  plt.close(fig)
  return [(d, s) for d, (s, _) in zip(model_dirs, grids)]


def _group_curve(runs, metric):
  """(steps, mean, std) over the runs that have `metric`, on the steps all of them share."""
  series = [r[metric] for r in runs if metric in r]
  if not series:
    return None
  common = sorted(set.intersection(*[set(s.tolist()) for s, _ in series]))
  if not common:
    return None
  stack = np.array([[dict(zip(s.tolist(), v.tolist()))[c] for c in common]
                    for s, v in series])
  return np.array(common), stack.mean(axis=0), stack.std(axis=0)


def plot_groups(groups, output, metrics, width=12.0, dpi=100, columns=2, exclude=()):
  """One panel per metric, one line per group of runs (e.g. an arm over seeds): the mean
  over the group's runs with a +-std band, on the steps every run of the group has.
  `groups` maps a legend label to model_dirs; `exclude` lists (metric, label) pairs not to
  draw (e.g. the rotation accuracy an Uncond-GAN logs as 0). Returns the metrics drawn."""
  plt = pyplot()
  read = {label: [read_run(d) for d in dirs] for label, dirs in groups.items()}
  curves = {m: {label: None if (m, label) in set(exclude) else _group_curve(r, m)
                for label, r in read.items()} for m in metrics}
  drawn = [m for m in metrics if any(c is not None for c in curves[m].values())]
  if not drawn:
    raise errors.ConfigError(f"none of {list(metrics)} in the runs of {list(groups)}")
  columns = max(1, min(int(columns), len(drawn)))
  rows = int(math.ceil(len(drawn) / columns))
  fig, axes = plt.subplots(rows, columns, figsize=(float(width), 3.5 * rows), dpi=dpi,
                           squeeze=False)
  for ax, metric in zip(axes.flat, drawn):
    for index, (label, curve) in enumerate(curves[metric].items()):
      if curve is None:
        continue
      steps, mean, std = curve
      n = sum(metric in r for r in read[label])
      colour = f"C{index}"     # one colour per group in every panel
      ax.plot(steps, mean, marker="o", markersize=3, label=f"{label} (n={n})", color=colour)
      ax.fill_between(steps, mean - std, mean + std, alpha=0.25, color=colour)
    _label_panel(ax, metric, legend=True)
  _finish(plt, fig, axes, len(drawn), output, dpi)
  return drawn
