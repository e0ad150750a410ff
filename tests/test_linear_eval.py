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
