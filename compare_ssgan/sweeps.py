"""Sweeps for the paper's tables: plan (and run) one training per cell and seed, then tabulate.

Plan: one run per (config, grid point, seed), each in its own model_dir
    ROOT/<config>/<grid label>/seed<k>          (grid label "default" without --grid)

    compare_ssgan reproduce plan --root runs --configs "cifar10/*" --seeds 0,1,2
    compare_ssgan reproduce plan --root runs --configs cifar10/ssgan --seeds 0,1,2 \\
        --grid "loss.fn=@non_saturating,@hinge" --grid "tf.train.AdamOptimizer.beta1=0.0,0.5"
    ... --run          # run the commands one after the other instead of printing them

  --grid NAME=V1,V2,...     one axis; several --grid give their cartesian product.
  --grid A+B=a1/b1,a2/b2    a tied axis: A and B change together (e.g. beta1, beta2, n_disc).
  --seeds 0,1,2             binds options.seed and dataset.seed to each value.

Table: every scores.csv under ROOT, one row per (config, grid label), with
  best FID over checkpoints and last-checkpoint FID, each as best-of-seeds and
  mean +- std over seeds (population std, ddof=0), beside the paper's numbers
  (compare_ssgan/paper_scores.py: each with its source and [P]/[V]/[S]/[U] status).

    compare_ssgan reproduce table --root runs [--output table.md]
"""

import fnmatch
import itertools
import json
import math
import os
import re
import shlex
import subprocess
import sys
import time

import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.runs import read_scores

META_FILE = "reproduce.json"
DEFAULT_GRID_LABEL = "default"


# --- plan -----------------------------------------------------------------------------

def split_values(text, sep=","):
  """Splits on `sep` outside brackets and quotes: "(1, 2),3" -> ["(1, 2)", "3"]."""
  parts, depth, quote, cur = [], 0, None, []
  for c in text:
    if quote:
      if c == quote:
        quote = None
    elif c in "'\"":
      quote = c
    elif c in "([{":
      depth += 1
    elif c in ")]}":
      depth -= 1
    elif c == sep and depth == 0:
      parts.append("".join(cur).strip())
      cur = []
      continue
    cur.append(c)
  parts.append("".join(cur).strip())
  return [p for p in parts if p != ""]


def parse_grid(spec):
  """`NAME=V1,V2` or `A+B=a1/b1,a2/b2` -> list of points, each a list of (name, value)."""
  if "=" not in spec:
    raise errors.ConfigError(f"--grid {spec!r}: expected NAME=V1,V2,... or A+B=a1/b1,a2/b2")
  names, values = spec.split("=", 1)
  names = [n.strip() for n in names.split("+")]
  if not all(names):
    raise errors.ConfigError(f"--grid {spec!r}: empty binding name")
  points = []
  for value in split_values(values):
    parts = split_values(value, "/") if len(names) > 1 else [value]
    if len(parts) != len(names):
      raise errors.ConfigError(f"--grid {spec!r}: value {value!r} has {len(parts)} parts for "
                       f"{len(names)} names (separate tied values with '/')")
    points.append(list(zip(names, parts)))
  if not points:
    raise errors.ConfigError(f"--grid {spec!r}: no values")
  return points


def _label_part(name, value):
  short = name.split(".")[-1]
  value = value.strip().lstrip("@").strip("'\"")
  return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{short}-{value}")


def grid_points(specs):
  """[(label, [binding, ...])] for the cartesian product of the --grid axes."""
  if not specs:
    return [(DEFAULT_GRID_LABEL, [])]
  axes = [parse_grid(s) for s in specs]
  out = []
  for combo in itertools.product(*axes):
    pairs = [pair for point in combo for pair in point]
    label = "_".join(_label_part(n, v) for n, v in pairs)
    out.append((label, [f"{n}={v}" for n, v in pairs]))
  labels = [label for label, _ in out]
  if len(set(labels)) != len(labels):
    raise errors.ConfigError(f"--grid values give clashing model_dir names: {labels}")
  return out


def expand_configs(patterns):
  """Config names (no .gin) from names, paths or globs over gin_configs/ (base/ excluded)."""
  from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
  available = [c[:-4] for c in gin_utils.list_configs() if not c.startswith("base" + os.sep)]
  names = []
  for pattern in patterns:
    pattern = pattern[:-4] if pattern.endswith(".gin") else pattern
    if os.path.isfile(pattern + ".gin"):
      names.append(pattern)
      continue
    matched = sorted(c for c in available if fnmatch.fnmatch(c, pattern))
    if not matched:
      raise errors.ConfigError(f"--configs {pattern!r} matches no config under "
                       f"{gin_utils.config_root()}")
    names.extend(m for m in matched if m not in names)
  return names


def _config_dir(config):
  """model_dir part for a config: its name under gin_configs/ (or a path's stem)."""
  if os.path.isabs(config) or config.startswith("."):
    return os.path.basename(config)
  return config


def plan(configs, root, seeds=(), grids=(), schedule="eval_after_train", extra_bindings=(),
         extra_flags=(), python=None):
  """The runs as dicts: config, seed, grid label, bindings, model_dir, argv."""
  python = python or sys.executable
  runs = []
  for config in configs:
    for label, bindings in grid_points(grids):
      for seed in (list(seeds) or [None]):
        seed_dir = f"seed{seed}" if seed is not None else "seed-default"
        model_dir = os.path.join(root, _config_dir(config), label, seed_dir)
        all_bindings = list(extra_bindings) + list(bindings)
        if seed is not None:
          all_bindings += [f"options.seed={seed}", f"dataset.seed={seed}"]
        argv = [python, "-m", "compare_ssgan", "train", "--gin_config", config,
                "--model_dir", model_dir, "--schedule", schedule]
        for b in all_bindings:
          argv += ["--gin_bindings", b]
        argv += list(extra_flags)
        runs.append(dict(config=config, grid=label, grid_bindings=bindings, seed=seed,
                         model_dir=model_dir, argv=argv))
  return runs


def _write_meta(run):
  tf.io.gfile.makedirs(run["model_dir"])
  meta = {k: run[k] for k in ("config", "grid", "grid_bindings", "seed")}
  with tf.io.gfile.GFile(os.path.join(run["model_dir"], META_FILE), "w") as f:
    json.dump(meta, f, indent=1)


def run_plan(runs, keep_going=False, log=print):
  """Runs each command in turn (resuming runs resume); returns the failed model_dirs."""
  return run_runs(runs, keep_going=keep_going, log=log)[2]


def run_runs(planned, keep_going=False, skip=None, execute=subprocess.call, log=print):
  """Runs each planned run's commands (`run["commands"]`, else its one `argv`) in turn.

  `skip(run)` True: the run is left alone (e.g. already finished). `execute(argv)` returns
  an exit status (default: a subprocess). A failed command ends its run; the sweep goes on
  with `keep_going`, else stops. Returns (executed, skipped, failed) model_dirs."""
  executed, skipped, failed = [], [], []
  for i, run in enumerate(planned):
    head = f"[{i + 1}/{len(planned)}] {run['model_dir']}"
    if skip is not None and skip(run):
      skipped.append(run["model_dir"])
      log(f"{head}: finished, skipped")
      continue
    _write_meta(run)
    start = time.time()
    status = 0
    for argv in run.get("commands", [run["argv"]]):
      log(f"{head}: {shlex.join(argv)}")
      status = execute(argv)
      if status:
        break
    if not status:
      executed.append(run["model_dir"])
      log(f"{head}: done in {time.time() - start:.0f} s")
      continue
    failed.append(run["model_dir"])
    log(f"{head}: failed with status {status}")
    if not keep_going:
      break
  return executed, skipped, failed


# --- table ----------------------------------------------------------------------------

def _identify(model_dir, root):
  """(config, grid label, seed) of a run folder, from reproduce.json or its path."""
  meta_path = os.path.join(model_dir, META_FILE)
  if tf.io.gfile.exists(meta_path):
    with tf.io.gfile.GFile(meta_path) as f:
      meta = json.load(f)
    return meta["config"], meta.get("grid", DEFAULT_GRID_LABEL), meta.get("seed")
  parts = os.path.relpath(model_dir, root).split(os.sep)
  seed = None
  if parts and re.fullmatch(r"seed(-?\d+|-default)", parts[-1]):
    tail = parts.pop()[4:]
    seed = None if tail == "-default" else int(tail)
  grid = DEFAULT_GRID_LABEL
  if len(parts) >= 2:
    grid = parts.pop()
  config = "/".join(parts) if parts and parts != ["."] else os.path.basename(model_dir)
  return config, grid, seed


def collect(root, score_filename="scores.csv"):
  """{(config, grid): [run, ...]} with, per run, seed, best and last FID and steps."""
  groups = {}
  for dirpath, _, files in sorted(tf.io.gfile.walk(root)):
    if score_filename not in files:
      continue
    rows = read_scores(dirpath, score_filename)
    if not rows:
      continue
    config, grid, seed = _identify(dirpath, root)
    finite = [r for r in rows if math.isfinite(r.get("fid_score_mean", math.nan))]
    best = min(finite, key=lambda r: r["fid_score_mean"]) if finite else None
    last = max(rows, key=lambda r: r["step"])
    groups.setdefault((config, grid), []).append(dict(
        model_dir=dirpath, seed=seed, num_checkpoints=len(rows),
        best_fid=best["fid_score_mean"] if best else math.nan,
        best_step=best["step"] if best else None,
        last_fid=last.get("fid_score_mean", math.nan), last_step=last["step"],
        last_is=last.get("inception_score_mean", math.nan)))
  return groups


def _fmt(x, digits=2):
  return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _stats(values):
  finite = [v for v in values if math.isfinite(v)]
  if not finite:
    return math.nan, math.nan, math.nan
  mean = sum(finite) / len(finite)
  std = math.sqrt(sum((v - mean) ** 2 for v in finite) / len(finite))
  return min(finite), mean, std


def _paper_cell(config, used):
  from compare_ssgan.paper_scores import scores_for  # pylint: disable=import-outside-toplevel
  cells = []
  for e in scores_for(config, "fid"):
    used.append(e)
    value = f"{e['value']:g}" + (f" ± {e['std']:g}" if e["std"] is not None else "")
    agg = {"best_of_3_seeds": "best of 3", "mean_std_3_seeds": "mean ± std",
           "single_model": "released model", "reported": "reported"}[e["aggregate"]]
    cells.append(f"{value} ({agg}) [{e['status']}]")
  return "; ".join(cells) or "—"


def markdown_table(groups):
  """The markdown table (and footnotes) for `collect`'s groups."""
  header = ["config", "grid", "seeds", "last step", "best FID: best of seeds",
            "best FID: mean ± std", "last FID: best of seeds", "last FID: mean ± std",
            "last IS: mean", "paper FID"]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  used = []
  for (config, grid), runs in sorted(groups.items()):
    runs = sorted(runs, key=lambda r: (r["seed"] is None, r["seed"] or 0))
    b_min, b_mean, b_std = _stats([r["best_fid"] for r in runs])
    l_min, l_mean, l_std = _stats([r["last_fid"] for r in runs])
    _, is_mean, _ = _stats([r["last_is"] for r in runs])
    seeds = ",".join("?" if r["seed"] is None else str(r["seed"]) for r in runs)
    steps = sorted({r["last_step"] for r in runs})
    row = [config, grid, f"{len(runs)} ({seeds})", "/".join(str(s) for s in steps),
           _fmt(b_min), f"{_fmt(b_mean)} ± {_fmt(b_std)}", _fmt(l_min),
           f"{_fmt(l_mean)} ± {_fmt(l_std)}", _fmt(is_mean),
           _paper_cell(config, used) if grid == DEFAULT_GRID_LABEL else "—"]
    lines.append("| " + " | ".join(row) + " |")
  notes = [
      "",
      "Best FID: the lowest `fid_score_mean` over a run's evaluated checkpoints (the "
      "paper's protocol picks the best checkpoint); last FID: the highest step's. "
      "Across seeds: the best run, and mean ± population std (ddof=0). Runs with NaN "
      "scores are left out of those statistics.",
      "Paper numbers are Inception FIDs at the paper's sample sizes (10k for CIFAR-10, 50k "
      "ImageNet, 30k LSUN-Bedroom); rows evaluated with another classifier (e.g. "
      "`evaluation.classifier = \"domain\"`) or fewer samples are not comparable. Status: "
      "[P] paper text, [V] compare_gan code/colab, [S] second-hand, [U] unverified "
      "(compare_ssgan/paper_scores.py).",
  ]
  seen = set()
  for e in used:
    key = (e["config"], e["value"], e["source"])
    if key in seen:
      continue
    seen.add(key)
    notes.append(f"- {e['config']} {e['value']:g} [{e['status']}]: {e['source']}")
  return "\n".join(lines + notes) + "\n"
