"""The study verb (compare_ssgan.study): plan, verdict rule, table, resume, unlabelled data.

The runs are 2-step test_tiny trainings run in-process, scored with a fixed random projection
instead of the domain classifier (the scoring math is real; training a classifier per run
would dominate the test's time).
"""

import math
import os

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import cli, linear_eval, runs, study
from compare_ssgan import metrics as metrics_lib

from fake_classifier import Projection as _Projection
from compare_ssgan.cli import study as study_cli

TINY = ["builtin.num_train = 256", "builtin.num_eval = 128", "builtin.eval_test_samples = 64",
        "builtin.colour_by_class = False"]




def _tiny_study(output_dir, log=None):
  return study_cli.run(output_dir, "test_tiny", seeds=[0], steps=2, checkpoints=2,
                       gin_bindings=TINY, num_train=128, num_eval=64,
                       extra_flags=["--num_eval_averaging_runs=1"], in_process=True,
                       log=log or (lambda _: None))


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
  """One 2-step study (1 seed, both arms); the classifier is patched for the module."""
  patch = pytest.MonkeyPatch()
  classifier = _Projection()
  patch.setattr(metrics_lib.evaluation, "get_classifier", lambda *a, **k: classifier)
  output_dir = str(tmp_path_factory.mktemp("study"))
  first = _tiny_study(output_dir)
  yield output_dir, first
  patch.undo()


def test_plan_is_the_sweep_grid_over_self_supervision_and_seeds(tmp_path):
  planned = study.plan(str(tmp_path), "study/builtin", seeds=[0, 1, 2], steps=1000,
                       checkpoints=5, python="python")
  assert len(planned) == 6
  assert [r["arm"] for r in planned[:2]] == ["none", "none"]
  assert {r["arm"] for r in planned} == {"none", "rotation_gan"}
  first = planned[0]
  assert first["model_dir"] == os.path.join(str(tmp_path), "runs", "study/builtin",
                                            "self_supervision-none", "seed0")
  assert first["checkpoint_steps"] == [200, 400, 600, 800, 1000]
  train, probe = first["commands"]
  for binding in ("options.training_steps=1000", "run_config.save_checkpoints_steps=200",
                  "run_config.keep_checkpoint_max=6", 'SSGAN.self_supervision="none"',
                  "options.seed=0"):
    assert binding in train
  assert train[3] == "train" and probe[3] == "linear-eval" and "--all_checkpoints" in probe
  line = study.command_line(first)
  assert " && " in line and line.count("compare_ssgan") == 2


def test_plan_only_prints_one_line_per_run(tmp_path, capsys):
  out = str(tmp_path / "s")
  assert cli.main(["study", f"--output_dir={out}", "--seeds=0,1", "--plan_only"]) == 0
  lines = capsys.readouterr().out.strip().splitlines()
  assert len(lines) == 4 and all("linear-eval" in l for l in lines)
  assert not os.path.exists(out)


@pytest.mark.parametrize("direction,uncond,ssgan,expected", [
    ("lower", (20.0, 1.0, 3), (17.0, 1.0, 3), "clearly agrees"),      # |diff| 3 > 1 + 1
    ("lower", (20.0, 1.0, 3), (19.0, 1.0, 3), "agrees"),              # right sign, 1 < 2
    ("lower", (20.0, 0.5, 3), (23.0, 0.5, 3), "clearly disagrees"),
    ("higher", (0.50, 0.02, 3), (0.49, 0.02, 3), "disagrees"),
    ("higher", (0.50, 0.0, 1), (0.60, 0.0, 1), "agrees"),             # 1 seed: never clearly
    ("higher", (0.50, 0.0, 3), (0.50, 0.0, 3), "no difference"),
    ("above_chance", (math.nan, math.nan, 0), (0.9, 0.05, 3), "clearly agrees"),
    ("above_chance", (math.nan, math.nan, 0), (0.2, 0.1, 3), "disagrees"),
    ("lower", (math.nan, math.nan, 0), (17.0, 1.0, 3), "n/a"),
])
def test_verdict_rule(direction, uncond, ssgan, expected):
  assert study.verdict(direction, uncond, ssgan) == expected


def test_table_from_hand_made_runs():
  collected = []
  for fid_u, fid_s, p_u, p_s in ((20, 15, .5, .7), (22, 16, .6, .5), (21, 17, .4, .9)):
    collected.append(dict(arm="none", fid=fid_u, fid_best=fid_u, kid=0.1, rotation_real=math.nan,
                          rotation_fake=math.nan, probe=p_u, probe_from_best=-0.1))
    collected.append(dict(arm="rotation_gan", fid=fid_s, fid_best=fid_s, kid=0.2, rotation_real=0.9,
                          rotation_fake=0.8, probe=p_s, probe_from_best=0.0))
  rows = {r["key"]: r for r in study.summarise(collected)}
  assert rows["fid"]["uncond"][0] == 21 and rows["fid"]["ssgan"][0] == 16
  assert rows["fid"]["verdict"] == "clearly agrees"
  assert rows["kid"]["verdict"] == "clearly disagrees"
  assert rows["probe"]["verdict"] == "agrees"     # +0.2, but the stds sum to 0.08 + 0.16
  assert rows["rotation_real"]["uncond"][2] == 0
  assert rows["rotation_real"]["difference"] == pytest.approx(0.65)
  text = study.markdown(study.summarise(collected), "header")
  assert "| FID, final checkpoint | 21.0000 ± 0.8165 (n=3) | 16.0000 ± 0.8165 (n=3) | " \
         "-5.0000 |" in text
  assert "Table 1" in text and "Verdict rule" in text


def test_study_writes_table_and_resumes_without_retraining(tiny_study):
  output_dir, first = tiny_study
  assert len(first["executed"]) == 2 and not first["failed"] and not first["skipped"]
  for name in (study.TABLE_MD, study.TABLE_JSON, study.FIGURE):
    assert os.path.exists(os.path.join(output_dir, name)), name
  by_arm = {r["arm"]: r for r in first["planned"]}
  for run in first["planned"]:
    assert runs.checkpoint_steps(run["model_dir"]) == [1, 2]
    assert sorted(runs.evaluated_steps(run["model_dir"])) == [1, 2]
  rows = {r["key"]: r for r in first["result"]["rows"]}
  assert rows["fid"]["uncond"][2] == 1 and rows["fid"]["ssgan"][2] == 1
  # Drop the SS-GAN run's probes: the rerun probes it again, trains nothing, skips the other.
  ssgan_dir = by_arm["rotation_gan"]["model_dir"]
  ckpt = os.path.join(ssgan_dir, "ckpt-2.index")
  before = {d: os.path.getmtime(os.path.join(d, "ckpt-2.index")) for d in
            (r["model_dir"] for r in first["planned"])}
  os.remove(os.path.join(ssgan_dir, linear_eval.LINEAR_EVAL_FILE))
  lines = []
  second = _tiny_study(output_dir, log=lines.append)
  assert second["skipped"] == [by_arm["none"]["model_dir"]]
  assert second["executed"] == [ssgan_dir] and not second["failed"]
  assert {d: os.path.getmtime(os.path.join(d, "ckpt-2.index")) for d in before} == before
  assert os.path.getmtime(ckpt) == before[ssgan_dir]
  assert [r["step"] for r in linear_eval.read_rows(ssgan_dir)] == [1, 2]
  assert any("finished, skipped" in l for l in lines)
  # Nothing left to do: a third run executes nothing.
  third = _tiny_study(output_dir)
  assert not third["executed"] and len(third["skipped"]) == 2


def _save_png(path, colour):
  Image = pytest.importorskip("PIL.Image")
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(np.full((20, 20, 3), colour, np.uint8)).save(path)


def test_unlabelled_dataset_is_refused_in_one_line(tmp_path, capsys):
  for i in range(4):
    _save_png(str(tmp_path / "data" / f"x{i}.png"), 40 * i)
  out = str(tmp_path / "out")
  code = cli.main(["study", f"--output_dir={out}", "--gin_config=image_folder/ssgan",
                   f"--gin_bindings=image_folder.path = '{tmp_path / 'data'}'",
                   "--gin_bindings=image_folder.resolution = 16"])
  err = [l for l in capsys.readouterr().err.splitlines() if l.startswith("compare_ssgan")]
  assert code == 2
  assert len(err) == 1 and "has no labels" in err[0]
  assert not os.path.exists(out)


def test_a_config_that_is_not_ssgan_is_refused(tmp_path):
  with pytest.raises(study.errors.ConfigError, match="SS-GAN config"):
    study.run_study(str(tmp_path / "o"), "cifar10/uncond_gan", seeds=[0], steps=2)
