"""The reproduce verb (compare_ssgan.sweeps): planning sweeps, and turning run folders into a markdown table."""

import math
import os
import subprocess
import sys

import pytest

from compare_ssgan import paper_scores
from compare_ssgan import sweeps as reproduce
from compare_ssgan.runs import append_scores as append_scores_csv


def _scores(fid, is_=1.0):
  return dict(fid_score_mean=fid, fid_score_std=0.1, inception_score_mean=is_,
              inception_score_std=0.0, kid_score_mean=0.01, kid_score_std=0.001)


def test_plan_seeds_and_grid(tmp_path):
  runs = reproduce.plan(["cifar10/ssgan"], str(tmp_path), seeds=[0, 1],
                        grids=["loss.fn=@non_saturating,@hinge",
                               "tf.train.AdamOptimizer.beta1+tf.train.AdamOptimizer.beta2="
                               "0.0/0.9,0.5/0.999"],
                        extra_flags=["--strategy=mirrored"], python="python")
  assert len(runs) == 2 * 2 * 2
  dirs = {r["model_dir"] for r in runs}
  assert len(dirs) == 8
  first = runs[0]
  assert first["model_dir"] == os.path.join(
      str(tmp_path), "cifar10/ssgan", "fn-non_saturating_beta1-0.0_beta2-0.9", "seed0")
  argv = first["argv"]
  assert argv[:5] == ["python", "-m", "compare_ssgan", "train", "--gin_config"]
  for b in ("loss.fn=@non_saturating", "tf.train.AdamOptimizer.beta1=0.0",
            "tf.train.AdamOptimizer.beta2=0.9", "options.seed=0", "dataset.seed=0"):
    assert b in argv
  assert argv[-1] == "--strategy=mirrored"


def test_plan_rejects_bad_grid():
  with pytest.raises(ValueError):
    reproduce.parse_grid("a+b=1/2,3")
  with pytest.raises(ValueError):
    reproduce.parse_grid("novalue")
  assert reproduce.split_values("(1, 2),'a,b',3") == ["(1, 2)", "'a,b'", "3"]


def test_plan_cli_globs_configs():
  proc = subprocess.run([sys.executable, "-m", "compare_ssgan", "reproduce", "plan",
                         "--root", "runs", "--configs", "cifar10/*", "--seeds", "0,1,2"],
                        capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr
  lines = proc.stdout.strip().splitlines()
  assert len(lines) == 4 * 3
  assert any("runs/cifar10/ssgan_sbn/default/seed2" in l for l in lines)


def test_paper_scores_record_sources():
  for e in paper_scores.PAPER_SCORES:
    assert e["source"] and e["status"] in "PVSU"
    assert e["verified"] == (e["status"] in ("P", "V"))
  large = paper_scores.scores_for("imagenet128/ssgan_large_biggan")
  assert any(e["value"] == 23.4 and e["verified"] for e in large)
  assert not any(e["verified"] for e in paper_scores.scores_for("cifar10/ssgan_sbn"))


def test_table_from_fake_runs(tmp_path):
  root = tmp_path / "runs"
  # Two seeds of one config: best-over-checkpoints and last checkpoint differ.
  for seed, fids in ((0, [30.0, 20.0, 25.0]), (1, [28.0, 22.0, 21.0])):
    d = root / "cifar10/ssgan_sbn/default" / f"seed{seed}"
    for step, fid in zip((1000, 2000, 3000), fids):
      append_scores_csv(str(d), step, _scores(fid))
  # A grid point with a NaN checkpoint.
  d = root / "cifar10/ssgan/fn-hinge" / "seed0"
  append_scores_csv(str(d), 1000, _scores(float("nan")))
  append_scores_csv(str(d), 2000, _scores(40.0))
  groups = reproduce.collect(str(root))
  runs = groups[("cifar10/ssgan_sbn", "default")]
  assert sorted(r["best_fid"] for r in runs) == [20.0, 21.0]
  assert sorted(r["last_fid"] for r in runs) == [21.0, 25.0]
  table = reproduce.markdown_table(groups)
  row = next(l for l in table.splitlines() if l.startswith("| cifar10/ssgan_sbn"))
  cells = [c.strip() for c in row.strip("|").split("|")]
  assert cells[2] == "2 (0,1)" and cells[3] == "3000"
  assert cells[4] == "20.00" and cells[5] == "20.50 ± 0.50"
  assert cells[6] == "21.00" and cells[7] == "23.00 ± 2.00"
  assert "15.65" in cells[9] and "[S]" in cells[9]
  hinge = next(l for l in table.splitlines() if l.startswith("| cifar10/ssgan | fn-hinge"))
  assert "40.00" in hinge
  assert "wizwand" in table   # the source of each paper number is printed


def _cli_table(root):
  return subprocess.run([sys.executable, "-m", "compare_ssgan", "reproduce", "table",
                         "--root", str(root)], capture_output=True, text=True, timeout=300)


def test_table_cli_empty_root(tmp_path):
  proc = _cli_table(tmp_path)
  assert proc.returncode == 2 and "no scores.csv" in proc.stderr


def _tiny_run(model_dir):
  return subprocess.run(
      [sys.executable, "-m", "compare_ssgan", "train", "--gin_config", "test_tiny",
       "--model_dir", str(model_dir), "--gin_bindings", "options.training_steps=2",
       "--schedule", "eval_after_train", "--eval_every_steps", "2",
       "--gin_bindings", "evaluation.classifier='domain'"],
      capture_output=True, text=True, timeout=900,
      env={**os.environ, "COMPARE_SSGAN_CACHE_DIR": str(model_dir.parent / "cache")})


# 39-66 s measured on 2 shared cores (2 steps, the domain classifier, 3 fake sets): under
# the 90 s line for the default run.
def test_table_from_a_real_tiny_run_and_a_fake_one(tmp_path):
  root = tmp_path / "runs"
  real = root / "test_tiny" / "default" / "seed-default"
  proc = _tiny_run(real)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (real / "scores.csv").is_file()
  fake = root / "cifar10/ssgan/default/seed0"
  append_scores_csv(str(fake), 100, _scores(50.0))
  proc = _cli_table(root)
  assert proc.returncode == 0, proc.stderr
  rows = [l for l in proc.stdout.splitlines() if l.startswith("| ")]
  assert rows[0].startswith("| config |")
  tiny = next(l for l in rows if l.startswith("| test_tiny "))
  fid = float(tiny.split("|")[5])
  assert math.isfinite(fid) and "| 2 |" in tiny
