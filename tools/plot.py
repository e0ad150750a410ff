"""PNG plots of metrics over steps and sample grids, for one or several runs.

    python tools/plot.py --model_dir runs/a --model_dir runs/b --output curves.png \
        [--metrics fid_score_mean,loss/d_loss] [--samples_output grids.png] [--from_checkpoint]

Metrics come from `scores.csv` (FID / IS / KID means, drawn with their std as a band) and the
TensorBoard event files of the run (`model_dir/events.*` written by training: `loss/d_loss`,
`loss/g_loss`, `accuracy/d_rotation_real`, `accuracy/d_rotation_fake`, `loss/penalty`, ...;
and `model_dir/eval/` score summaries). One panel per metric, one line per run; metrics no
run has are skipped. The figure is --width x --height inches at --dpi, so the PNG is exactly
(width*dpi) x (height*dpi) pixels.
Sample grids: the newest `samples/samples_<step>.png` of each run side by side, or with
--from_checkpoint an 8x8 grid generated from the newest (or --step) checkpoint with the
fixed z of the training grids (EMA weights when present).
Needs matplotlib: `pip install -e ".[plots]"`.
"""

import csv
import glob
import math
import os
import re
import sys

from absl import app
from absl import flags
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FLAGS = flags.FlagValues()
flags.DEFINE_multi_string("model_dir", [], "Run directories (repeat or comma-separate).",
                          flag_values=FLAGS)
flags.DEFINE_string("output", None, "Metrics PNG (default: plots.png in the first model_dir).",
                    flag_values=FLAGS)
flags.DEFINE_list("metrics", None, "Metrics to plot (default: DEFAULT_METRICS).",
                  flag_values=FLAGS)
flags.DEFINE_list("labels", None, "Legend names of the runs (default: directory names).",
                  flag_values=FLAGS)
flags.DEFINE_string("samples_output", None, "Also write a sample-grid PNG here.",
                    flag_values=FLAGS)
flags.DEFINE_boolean("from_checkpoint", False, "Generate the sample grids from checkpoints.",
                     flag_values=FLAGS)
flags.DEFINE_integer("step", None, "Checkpoint step for --from_checkpoint.", flag_values=FLAGS)
flags.DEFINE_float("width", 12.0, "Figure width, inches.", flag_values=FLAGS)
flags.DEFINE_float("height", None, "Figure height, inches (default: 3.5 per panel row).",
                   flag_values=FLAGS)
flags.DEFINE_integer("dpi", 100, "Pixels per inch.", flag_values=FLAGS)
flags.DEFINE_integer("columns", 3, "Panels per row.", flag_values=FLAGS)

DEFAULT_METRICS = ("fid_score_mean", "inception_score_mean", "kid_score_mean",
                   "accuracy/d_rotation_real", "accuracy/d_rotation_fake",
                   "loss/d_loss", "loss/g_loss")
SCORES_FILE = "scores.csv"


def _matplotlib():
  try:
    import matplotlib  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError("tools/plot.py needs matplotlib: pip install -e \".[plots]\"") from e
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  return plt


def read_scores(model_dir, filename=SCORES_FILE):
  """{column: (steps int array, values float array)} from model_dir/scores.csv (sorted)."""
  path = os.path.join(model_dir, filename)
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    rows = list(csv.DictReader(f))
  series = {}
  for row in rows:
    step = int(row["step"])
    for key, value in row.items():
      if key == "step" or value in (None, ""):
        continue
      try:
        series.setdefault(key, []).append((step, float(value)))
      except ValueError:
        continue
  return {k: _sorted(v) for k, v in series.items()}


def _sorted(pairs):
  last = dict(sorted(pairs))  # a re-evaluated step keeps its last value
  steps = np.array(list(last), np.int64)
  return steps, np.array([last[s] for s in steps], np.float64)


def read_events(model_dir):
  """{tag: (steps, values)} of the scalar summaries in model_dir and model_dir/eval."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  files = sorted(glob.glob(os.path.join(model_dir, "events.out.tfevents.*")) +
                 glob.glob(os.path.join(model_dir, "eval", "events.out.tfevents.*")))
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


def read_run(model_dir):
  """Events first, scores.csv on top (the csv also carries the std columns)."""
  series = read_events(model_dir)
  series.update(read_scores(model_dir))
  return series


def plot_metrics(model_dirs, output, metrics=None, labels=None, width=12.0, height=None,
                 dpi=100, columns=3):
  """Writes the metrics PNG; returns the list of metrics drawn."""
  plt = _matplotlib()
  runs = [read_run(d) for d in model_dirs]
  labels = list(labels) if labels else [os.path.basename(os.path.normpath(d)) for d in
                                         model_dirs]
  wanted = list(metrics) if metrics else list(DEFAULT_METRICS)
  drawn = [m for m in wanted if any(m in r for r in runs)]
  if not drawn:
    found = sorted(set().union(*runs)) if runs else []
    raise ValueError(f"none of {wanted} in {model_dirs}; found {found}")
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
    ax.set_title(metric)
    ax.set_xlabel("step")
    ax.grid(True, alpha=0.3)
    if len(model_dirs) > 1:
      ax.legend(fontsize="small")
  for ax in list(axes.flat)[len(drawn):]:
    ax.axis("off")
  fig.tight_layout()
  fig.savefig(output, dpi=dpi)
  plt.close(fig)
  return drawn


def latest_sample_grid(model_dir):
  """(step, uint8 [H, W, 3]) of the newest samples/samples_<step>.png."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  found = []
  for path in glob.glob(os.path.join(model_dir, "samples", "samples_*.png")):
    m = re.search(r"samples_(\d+)\.png$", path)
    if m:
      found.append((int(m.group(1)), path))
  if not found:
    raise FileNotFoundError(f"no samples/samples_*.png in {model_dir}; use --from_checkpoint")
  step, path = max(found)
  return step, np.asarray(Image.open(path).convert("RGB"))


def checkpoint_sample_grid(model_dir, step=None):
  """(step, uint8 grid) generated from a checkpoint with the training grids' fixed z."""
  import sample  # tools/sample.py  pylint: disable=import-outside-toplevel
  from compare_ssgan import runner  # pylint: disable=import-outside-toplevel
  gan, _, step = sample.restore_gan(model_dir, step)
  z = gan.sample_eval_z(runner.NUM_SAMPLES, runner.SAMPLE_SEED)
  y = gan.one_hot(gan.sample_labels(runner.NUM_SAMPLES, runner.SAMPLE_SEED))
  return step, runner.image_grid(np.asarray(gan.generate(z, y, use_ema=True)))


def plot_samples(model_dirs, output, labels=None, from_checkpoint=False, step=None,
                 panel_inches=4.0, dpi=100):
  """One titled panel per run; returns [(model_dir, step)]."""
  plt = _matplotlib()
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
  fig.tight_layout()
  fig.savefig(output, dpi=dpi)
  plt.close(fig)
  return [(d, s) for d, (s, _) in zip(model_dirs, grids)]


def main(argv):
  FLAGS(argv)
  model_dirs = [d for arg in FLAGS.model_dir for d in arg.split(",") if d]
  if not model_dirs:
    raise app.UsageError("give at least one --model_dir")
  output = FLAGS.output or os.path.join(model_dirs[0], "plots.png")
  drawn = plot_metrics(model_dirs, output, FLAGS.metrics, FLAGS.labels, FLAGS.width,
                       FLAGS.height, FLAGS.dpi, FLAGS.columns)
  print(f"wrote {output} ({', '.join(drawn)})")
  if FLAGS.samples_output:
    plot_samples(model_dirs, FLAGS.samples_output, FLAGS.labels, FLAGS.from_checkpoint,
                 FLAGS.step, dpi=FLAGS.dpi)
    print(f"wrote {FLAGS.samples_output}")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
