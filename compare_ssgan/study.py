"""Uncond-GAN against SS-GAN on one config: train both over seeds, score, probe, tabulate.

Chen et al. (2019) claim that adding the rotation task to an unconditional GAN's D (SS-GAN)
improves sample quality (lower FID, Table 1) and D's representations (higher linear-probe
accuracy, Figure 4 / Table 4). `run_study` tests those claims on any config and labelled
dataset with only the self-supervision changed: the two arms are the sweep planner's grid
`SSGAN.self_supervision = "none", "rotation_gan"` (Uncond-GAN is SS-GAN's code with the
rotation losses off, exactly as in compare_gan) crossed with the seeds.

Each run is two independent commands (`compare_ssgan train --schedule eval_after_train`, then
`compare_ssgan linear-eval --all_checkpoints`), so `--plan_only` can hand them to any
scheduler and a rerun of the study only collects. They run as subprocesses by default: a
crash or a leak in one run cannot take the study down, each run starts with clean gin and
TensorFlow state, and what runs is literally what `--plan_only` prints. `in_process=True`
runs the same argv through `compare_ssgan.cli.main` (tests, notebooks: no interpreter start).

Layout of `output_dir`:
    runs/<config>/self_supervision-<none|rotation_gan>/seed<k>/   one run folder each
    study.md, study.json, study.png                               the table and the curves
"""

import json
import math
import os
import shlex
import subprocess
import sys
import time

import tensorflow as tf

from compare_ssgan import errors, linear_eval, runs, sweeps

DEFAULT_CONFIG = "study/builtin"
# (SSGAN.self_supervision value, the paper's name of the arm); the order of the table columns.
ARMS = (("none", "Uncond-GAN"), ("rotation_gan", "SS-GAN"))
GRID = "SSGAN.self_supervision=" + ",".join(f'"{value}"' for value, _ in ARMS)
RUNS_DIR = "runs"
TABLE_MD, TABLE_JSON, FIGURE = "study.md", "study.json", "study.png"
CHANCE_ROTATION = 0.25


def arm_of(run):
  """The SSGAN.self_supervision value of a planned run (from its grid bindings)."""
  for binding in run["grid_bindings"]:
    name, value = binding.split("=", 1)
    if name.strip() == "SSGAN.self_supervision":
      return value.strip().strip("'\"")
  raise errors.ConfigError(f"run {run['model_dir']} has no SSGAN.self_supervision binding")


def plan(output_dir, config=DEFAULT_CONFIG, seeds=(0, 1, 2), steps=1000, checkpoints=5,
         gin_bindings=(), num_train=2000, num_eval=1000, extra_flags=(), python=None):
  """The study's runs: `sweeps.plan` dicts plus `arm`, `steps`, `checkpoint_steps` and
  `commands` (the train argv, then the linear-eval argv).

  A checkpoint every steps // checkpoints G steps, each evaluated (FID/KID) and probed; the
  runs keep all of them (run_config.keep_checkpoint_max = checkpoints + 1), else the
  linear probe over training would find only the newest ones.
  """
  if int(steps) < 1 or int(checkpoints) < 1:
    raise errors.ConfigError(f"steps ({steps}) and checkpoints ({checkpoints}) must be >= 1")
  if not seeds:
    raise errors.ConfigError("give at least one seed")
  python = python or sys.executable
  every = max(1, int(steps) // int(checkpoints))
  ckpt_steps = sorted({s for s in range(every, int(steps) + 1, every)} | {int(steps)})
  bindings = [f"options.training_steps={int(steps)}",
              f"run_config.save_checkpoints_steps={every}",
              f"run_config.keep_checkpoint_max={len(ckpt_steps) + 1}"] + list(gin_bindings)
  flags = ["--eval_every_steps", str(every)] + list(extra_flags)
  planned = sweeps.plan([config], os.path.join(output_dir, RUNS_DIR), list(seeds), [GRID],
                        "eval_after_train", bindings, flags, python)
  for run in planned:
    run["arm"] = arm_of(run)
    run["steps"] = int(steps)
    run["checkpoint_steps"] = ckpt_steps
    probe = [python, "-m", "compare_ssgan", "linear-eval", "--model_dir", run["model_dir"],
             "--all_checkpoints", "--blocks", "final", "--num_train", str(num_train),
             "--num_eval", str(num_eval)]
    run["commands"] = [run["argv"], probe]
  return planned


def command_line(run):
  """One shell line per run (train && linear-eval): what a scheduler gets."""
  return " && ".join(shlex.join(argv) for argv in run["commands"])


def is_finished(run):
  """Trained to the end, every checkpoint scored and probed (final block): skip it."""
  d = run["model_dir"]
  if not runs.is_done(d):
    return False
  wanted = set(run["checkpoint_steps"])
  if not wanted <= runs.evaluated_steps(d):
    return False
  probed = {r["step"] for r in linear_eval.read_rows(d) if r["is_final"]}
  return wanted <= probed


def _execute(argv, in_process):
  """Exit status of one command: a subprocess, or `cli.main` on the same arguments."""
  if not in_process:
    return subprocess.call(argv)
  from compare_ssgan import cli  # pylint: disable=import-outside-toplevel
  return cli.main(argv[3:])     # drop `python -m compare_ssgan`


def run_runs(planned, in_process=False, log=print):
  """Runs every unfinished run's commands in turn; returns (executed, skipped, failed)
  model_dirs. A failed run is reported and the others go on."""
  return sweeps.run_runs(planned, keep_going=True, skip=is_finished,
                         execute=lambda argv: _execute(argv, in_process), log=log)


# --- checks ---------------------------------------------------------------------------

def check_config(config, gin_bindings=()):
  """One-line errors before any training: the config must be an SS-GAN (the arms differ in
  SSGAN.self_supervision) on a labelled dataset (the linear probe needs labels)."""
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import gin_utils, options
  from compare_ssgan.datasets import get_dataset
  gin_utils.parse([config], list(gin_bindings))
  with gin_utils.configuration_errors():
    gan_class = options.options()["gan_class"]
    if getattr(gan_class, "__name__", "") != "SSGAN":
      raise errors.ConfigError(f"{config}: options.gan_class is {gan_class!r}; the study "
                               "needs an SS-GAN config (e.g. cifar10/ssgan): its arms differ "
                               "only in SSGAN.self_supervision")
    dataset = get_dataset()
  if not dataset.num_classes:
    raise errors.DataError(f"dataset {dataset.name!r} has no labels: the study's linear "
                           "probe needs them (e.g. image_folder.use_class_subfolders = True)")
  return dataset


# --- collect --------------------------------------------------------------------------

def _tail_mean(series, fraction=0.2):
  """Mean of the values logged in the last `fraction` of training (at least the last one):
  the logged rotation accuracies are single training batches, so one value is noisy."""
  steps, values = series
  if not len(steps):
    return math.nan
  cut = steps[-1] - fraction * steps[-1]
  tail = [v for s, v in zip(steps, values) if s >= cut]
  return float(sum(tail) / len(tail))


def collect_run(model_dir, arm):
  """Per run: final step, FID/KID of the final checkpoint, the best FID over checkpoints,
  rotation accuracies (SS-GAN arm
  only: Uncond-GAN has no rotation head), final-block probe at the final checkpoint and its
  change from the best checkpoint."""
  from compare_ssgan import plots  # pylint: disable=import-outside-toplevel
  scores = runs.read_scores(model_dir)
  out = {"model_dir": model_dir, "arm": arm}
  last = max(scores, key=lambda r: r["step"]) if scores else {}
  out["step"] = last.get("step")
  out["fid"] = last.get("fid_score_mean", math.nan)
  out["kid"] = last.get("kid_score_mean", math.nan)
  fids = [r.get("fid_score_mean", math.nan) for r in scores]
  fids = [f for f in fids if math.isfinite(f)]
  out["fid_best"] = min(fids) if fids else math.nan
  events = plots.read_events(model_dir) if arm != "none" else {}
  for key, tag in (("rotation_real", "accuracy/d_rotation_real"),
                   ("rotation_fake", "accuracy/d_rotation_fake")):
    out[key] = _tail_mean(events[tag]) if tag in events else math.nan
  probe = sorted((r["step"], r["eval_accuracy"]) for r in linear_eval.read_rows(model_dir)
                 if r["is_final"])
  out["probe"] = probe[-1][1] if probe else math.nan
  out["probe_from_best"] = probe[-1][1] - max(v for _, v in probe) if probe else math.nan
  return out


def mean_std(values):
  """(mean, population std, n) of the finite values; NaNs when there are none."""
  finite = [float(v) for v in values if v is not None and math.isfinite(v)]
  if not finite:
    return math.nan, math.nan, 0
  mean = sum(finite) / len(finite)
  return mean, math.sqrt(sum((v - mean) ** 2 for v in finite) / len(finite)), len(finite)


# --- the table ------------------------------------------------------------------------

# (key in collect_run, what it is, the paper's direction, the paper's claim). Direction:
# "lower"/"higher" compares SS-GAN with Uncond-GAN; "above_chance" compares SS-GAN with 0.25.
ROWS = (
    ("fid", "FID, final checkpoint", "lower",
     "SS-GAN lower than Uncond-GAN (Table 1: CIFAR-10, ImageNet, LSUN-Bedroom; not "
     "CelebA-HQ) [P]"),
    ("fid_best", "FID, best checkpoint", "lower",
     "SS-GAN lower than Uncond-GAN (Table 1 scores each run's best checkpoint) [P]"),
    ("kid", "KID, final checkpoint", "lower",
     "not reported; same direction as FID expected [U]"),
    ("rotation_real", "D rotation accuracy, real (training batches)", "above_chance",
     "SS-GAN's D learns to predict the rotation of real images (chance 0.25) [P]"),
    ("rotation_fake", "D rotation accuracy, fake (training batches)", "above_chance",
     "G is rewarded for fakes whose rotation D predicts (chance 0.25) [P]"),
    ("probe", "linear probe top-1, final block, final checkpoint", "higher",
     "SS-GAN's D features classify better than Uncond-GAN's (Figure 4, Table 4) [P]"),
    ("probe_from_best", "probe change from its best checkpoint to the final one", "higher",
     "Uncond-GAN's representation degrades late in training, SS-GAN's does not (Figure 4) "
     "[P]"),
)
RULE = ("difference = mean(SS-GAN) - mean(Uncond-GAN) (for rotation rows: mean(SS-GAN) - "
        "0.25). 'agrees' when the difference has the paper's sign, 'disagrees' when it has "
        "the other sign; 'clearly' only when |difference| exceeds the sum of the two arms' "
        "population stds over seeds and there are at least 2 seeds per arm; 'no difference' "
        "when it is exactly 0; 'n/a' when a value is missing.")


def verdict(direction, uncond, ssgan):
  """The verdict of one row by RULE; `uncond` and `ssgan` are (mean, std, n) tuples."""
  if direction == "above_chance":
    uncond = (CHANCE_ROTATION, 0.0, math.inf)
    sign = 1.0
  elif direction in ("lower", "higher"):
    sign = -1.0 if direction == "lower" else 1.0
  else:
    raise errors.ConfigError(f"unknown direction {direction!r}")
  diff = ssgan[0] - uncond[0]
  if not math.isfinite(diff):
    return "n/a"
  if diff == 0:
    return "no difference"
  word = "agrees" if diff * sign > 0 else "disagrees"
  if min(uncond[2], ssgan[2]) >= 2 and abs(diff) > uncond[1] + ssgan[1]:
    word = "clearly " + word
  return word


def summarise(collected):
  """Table rows from `collect_run` dicts: per ROW, each arm's (mean, std, n), the
  difference and the verdict."""
  rows = []
  for key, what, direction, claim in ROWS:
    stats = {arm: mean_std([r[key] for r in collected if r["arm"] == arm]) for arm, _ in ARMS}
    uncond, ssgan = stats["none"], stats["rotation_gan"]
    reference = CHANCE_ROTATION if direction == "above_chance" else uncond[0]
    rows.append(dict(key=key, what=what, direction=direction, claim=claim,
                     uncond=uncond, ssgan=ssgan, difference=ssgan[0] - reference,
                     verdict=verdict(direction, uncond, ssgan)))
  return rows


def _cell(stat, digits=4):
  mean, std, n = stat
  if not n:
    return "—"
  return f"{mean:.{digits}f} ± {std:.{digits}f} (n={n})"


def markdown(rows, header):
  """The study's Markdown: a header paragraph, the table, the rule."""
  names = [name for _, name in ARMS]
  lines = [header, "", f"| quantity | {names[0]} | {names[1]} | difference | paper's claim "
           "| verdict |", "|---|---|---|---|---|---|"]
  for r in rows:
    diff = "—" if not math.isfinite(r["difference"]) else f"{r['difference']:+.4f}"
    lines.append(f"| {r['what']} | {_cell(r['uncond'])} | {_cell(r['ssgan'])} | {diff} | "
                 f"{r['claim']} | {r['verdict']} |")
  lines += ["", "mean ± population std over seeds (n runs). Verdict rule: " + RULE, ""]
  return "\n".join(lines)


# --- the study ------------------------------------------------------------------------

FIGURE_METRICS = ("fid_score_mean", "kid_score_mean", "accuracy/d_rotation_real",
                  "linear_eval/final")


def write_outputs(output_dir, planned, config, seeds, steps, extra=None, figure=True,
                  log=print):
  """Collects the finished runs, writes study.md / study.json (and study.png); returns
  (markdown text, json dict)."""
  finished = [r for r in planned if is_finished(r)]
  collected = [dict(collect_run(r["model_dir"], r["arm"]), seed=r["seed"]) for r in finished]
  rows = summarise(collected)
  missing = [r["model_dir"] for r in planned if not is_finished(r)]
  header = (f"Study of `{config}`: Uncond-GAN vs SS-GAN (SSGAN.self_supervision none vs "
            f"rotation_gan), seeds {', '.join(str(s) for s in seeds)}, {steps} steps; "
            f"{len(finished)} of {len(planned)} runs finished.")
  if missing:
    header += " Unfinished (left out): " + ", ".join(missing) + "."
  text = markdown(rows, header)
  result = dict(config=config, seeds=list(seeds), steps=steps, rule=RULE, rows=rows,
                runs=collected, unfinished=missing, **(extra or {}))
  tf.io.gfile.makedirs(output_dir)
  with tf.io.gfile.GFile(os.path.join(output_dir, TABLE_MD), "w") as f:
    f.write(text)
  with tf.io.gfile.GFile(os.path.join(output_dir, TABLE_JSON), "w") as f:
    json.dump(_finite_or_none(result), f, indent=1, allow_nan=False)
  if figure and collected:
    from compare_ssgan import plots  # pylint: disable=import-outside-toplevel
    groups = {name: [r["model_dir"] for r in collected if r["arm"] == arm]
              for arm, name in ARMS}
    try:
      # Uncond-GAN has no rotation head: its logged rotation accuracies are 0 by definition.
      no_head = [(m, name) for m in FIGURE_METRICS if m.startswith("accuracy/d_rotation")
                 for arm, name in ARMS if arm == "none"]
      plots.plot_groups(groups, os.path.join(output_dir, FIGURE), FIGURE_METRICS,
                        exclude=no_head)
    except errors.Error as e:   # no matplotlib, no curves: the table still stands
      log(f"no figure: {e}")
  return text, result


def _finite_or_none(value):
  """NaN/inf -> None (JSON has no NaN), tuples -> lists, recursively."""
  if isinstance(value, float):
    return value if math.isfinite(value) else None
  if isinstance(value, dict):
    return {k: _finite_or_none(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_finite_or_none(v) for v in value]
  return value


def run_study(output_dir, config=DEFAULT_CONFIG, seeds=(0, 1, 2), steps=1000, checkpoints=5,
              gin_bindings=(), num_train=2000, num_eval=1000, extra_flags=(),
              in_process=False, plan_only=False, figure=True, python=None, log=print):
  """Plans, runs what is unfinished, writes the table; returns a dict with `planned`,
  `executed`, `skipped`, `failed`, `markdown`, `result` (the JSON) and `seconds`.
  With `plan_only` nothing runs or is checked: only `planned`."""
  if not output_dir:
    raise errors.ConfigError("--output_dir is required")
  planned = plan(output_dir, config, seeds, steps, checkpoints, gin_bindings, num_train,
                 num_eval, extra_flags, python)
  if plan_only:
    return {"planned": planned}
  check_config(config, gin_bindings)
  start = time.time()
  executed, skipped, failed = run_runs(planned, in_process, log)
  seconds = time.time() - start
  extra = dict(checkpoint_steps=planned[0]["checkpoint_steps"], seconds=seconds,
               executed=executed, skipped=skipped, failed=failed,
               probe=dict(num_train=num_train, num_eval=num_eval, block="final"))
  text, result = write_outputs(output_dir, planned, config, list(seeds), steps, extra, figure,
                               log)
  return dict(planned=planned, executed=executed, skipped=skipped, failed=failed,
              markdown=text, result=result, seconds=seconds)
