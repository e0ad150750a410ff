"""compare_ssgan.linear_eval and the linear-eval verb on a 2-step tiny SS-GAN checkpoint."""

import json

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import cli, linear_eval, runs

from shared_runs import tiny_run  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
  return tiny_run(tmp_path_factory)


def test_logistic_regression_fits_separable_data():
  """The fitter itself: 3 Gaussian blobs in 5-d are learnt almost perfectly, deterministically."""
  rng = np.random.default_rng(0)
  centres = rng.normal(0, 3, (3, 5))
  labels = np.repeat(np.arange(3), 100).astype(np.int32)
  x = centres[labels] + rng.normal(0, 1, (300, 5))
  a = linear_eval.LogisticRegression(3, l2=1e-3).fit(x, labels)
  b = linear_eval.LogisticRegression(3, l2=1e-3).fit(x, labels)
  assert a.accuracy(x, labels) > 0.95 and a.converged
  np.testing.assert_array_equal(a.w, b.w)


def test_last_block_features_are_d_features(model_dir):
  gan, dataset, _ = runs.restore_gan(model_dir)
  x = dataset.eval_images(8)
  feats = linear_eval.block_features(gan.discriminator, x)
  assert list(feats) == [b.name for b in gan.discriminator.blocks]
  _, _, d_features = gan.discriminator(tf.constant(x), training=False)
  np.testing.assert_allclose(list(feats.values())[-1], d_features.numpy(), atol=1e-6)
  adaptive = linear_eval.block_features(gan.discriminator, x, pool="adaptive", max_dim=64)
  assert all(f.shape[1] <= 64 for f in adaptive.values())


def test_linear_eval_tool(model_dir, tmp_path):
  out = str(tmp_path / "le.json")
  assert cli.main(["linear-eval", f"--model_dir={model_dir}", "--num_train=600",
                   "--num_eval=300", f"--output={out}"]) == 0
  with open(out) as f:
    results = json.load(f)
  assert results["step"] == 2 and results["num_eval"] == 300 and results["num_classes"] == 10
  blocks = results["blocks"]
  assert len(blocks) == 3
  for r in blocks.values():
    assert 0.0 <= r["eval_accuracy"] <= 1.0 and np.isfinite(r["eval_accuracy"])
  # The builtin glyph classes are easy: even a 2-step D gives linearly separable-ish
  # features (measured 0.55-0.63 eval top-1 with 600-2,000 train images); chance is 0.1.
  assert max(r["eval_accuracy"] for r in blocks.values()) > 0.3
  assert max(r["train_accuracy"] for r in blocks.values()) > 0.3


@pytest.fixture(scope="module")
def two_checkpoint_run(tmp_path_factory):
  """test_tiny for 2 steps with a checkpoint after each: ckpt-1 and ckpt-2."""
  from compare_ssgan import gin_utils, runner  # pylint: disable=import-outside-toplevel
  path = str(tmp_path_factory.mktemp("le_all") / "run")
  gin_utils.parse(["test_tiny"], ["options.training_steps = 2",
                                  "run_config.save_checkpoints_steps = 1",
                                  "run_config.iterations_per_loop = 1"])
  runner.train(runner.Experiment(path), log=lambda _: None)
  return path


def test_all_checkpoints_one_row_per_checkpoint(two_checkpoint_run, capsys):
  d = two_checkpoint_run
  assert runs.checkpoint_steps(d) == [1, 2]
  assert cli.main(["linear-eval", f"--model_dir={d}", "--all_checkpoints",
                   "--num_train=200", "--num_eval=100"]) == 0
  rows = linear_eval.read_rows(d)
  assert [(r["step"], r["is_final"]) for r in rows] == [(1, True), (2, True)]
  assert all(r["num_train"] == 200 and r["num_eval"] == 100 and 0 <= r["eval_accuracy"] <= 1
             for r in rows)
  assert len({r["block"] for r in rows}) == 1
  # The weights differ between checkpoints, so the probes do too.
  assert rows[0]["train_accuracy"] != rows[1]["train_accuracy"] or \
      rows[0]["eval_accuracy"] != rows[1]["eval_accuracy"]
  # A rerun probes nothing; --blocks all adds the other blocks' rows, keeping one per block.
  probed = []
  again = linear_eval.evaluate_checkpoints(d, num_train=200, num_eval=100, log=probed.append)
  assert not probed and len(again) == 2
  assert cli.main(["linear-eval", f"--model_dir={d}", "--all_checkpoints", "--blocks=all",
                   "--num_train=200", "--num_eval=100"]) == 0
  rows = linear_eval.read_rows(d)
  assert [(r["step"], r["block_index"]) for r in rows] == [(s, b) for s in (1, 2)
                                                          for b in range(3)]
  capsys.readouterr()


def test_all_checkpoints_errors(two_checkpoint_run, capsys):
  d = two_checkpoint_run
  assert cli.main(["linear-eval", f"--model_dir={d}", "--all_checkpoints", "--step=1"]) == 2
  assert cli.main(["linear-eval", f"--model_dir={d}", "--all_checkpoints",
                   "--blocks=no_such_block", "--num_train=20", "--num_eval=20"]) == 2
  err = capsys.readouterr().err
  assert "exclude each other" in err and "unknown ['no_such_block']" in err


def test_select_blocks():
  names = ["B1", "B2", "B3"]
  assert linear_eval.select_blocks(names) == names
  assert linear_eval.select_blocks(names, "final") == ["B3"]
  assert linear_eval.select_blocks(names, "B1,final") == ["B1", "B3"]
  with pytest.raises(ValueError, match="unknown"):
    linear_eval.select_blocks(names, "B4")
