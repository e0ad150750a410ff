"""The built-in dataset's colour-free variant: colour must carry no class information."""

import gin
import numpy as np
import pytest

from compare_ssgan import datasets
from compare_ssgan.datasets import builtin


def _mean_colour_nearest_centroid_accuracy(images, labels, num_train):
  """Accuracy of a nearest-class-centroid rule on each image's mean RGB (chance: 0.1)."""
  f = images.astype(np.float32).mean(axis=(1, 2)) / 255
  ftr, ytr, fte, yte = f[:num_train], labels[:num_train], f[num_train:], labels[num_train:]
  centroids = np.stack([ftr[ytr == c].mean(0) for c in range(builtin.NUM_CLASSES)])
  pred = np.argmin(((fte[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
  return float((pred == yte).mean())


def test_colour_ids_are_independent_of_labels():
  # Chi-square test of independence on the (label, palette index) table of 10k glyphs.
  _, labels = builtin.generate(16, 10000, 547, "train", False)
  ids = np.concatenate([builtin.colour_ids(547, "train", c) for c in range(10)])
  table = np.zeros((10, 10))
  np.add.at(table, (labels, ids), 1)
  expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
  chi2 = ((table - expected) ** 2 / expected).sum()
  assert chi2 < 130        # 81 degrees of freedom: P(chi2 > 130) < 0.001 if independent
  assert table.min() > 50  # every colour is used by every class


def test_colour_does_not_predict_class_in_variant_but_does_by_default():
  by_class = builtin.generate(32, 3000, 547, "train", True)
  free = builtin.generate(32, 3000, 547, "train", False)
  np.testing.assert_array_equal(by_class[1], free[1])  # same labels, only colours move
  assert _mean_colour_nearest_centroid_accuracy(*by_class, 2000) > 0.3
  assert _mean_colour_nearest_centroid_accuracy(*free, 2000) < 0.2
  # Per-class mean colours agree within a tolerance (glyph areas still differ a little).
  x = free[0].astype(np.float32) / 255
  means = np.stack([x[free[1] == c].mean(axis=(0, 1, 2)) for c in range(10)])
  assert np.abs(means[:, None] - means[None]).max() < 0.04


def test_default_unchanged_and_variant_has_its_own_identity():
  gin.bind_parameter("builtin.num_train", 100)
  gin.bind_parameter("builtin.num_eval", 40)
  gin.bind_parameter("builtin.eval_test_samples", 30)
  default = datasets.get_dataset("builtin_16")
  assert default.identity == "builtin_16-v1-seed547-train100-eval40"
  gin.bind_parameter("builtin.colour_by_class", False)
  free = datasets.get_dataset("builtin_16")
  assert free.identity == default.identity + "-colourfree"
  a = free.eval_images(40)
  b = default.eval_images(40)
  np.testing.assert_array_equal(free.eval_labels(40), default.eval_labels(40))
  assert np.abs(a - b).max() > 0.3
  np.testing.assert_array_equal(b, builtin.generate(16, 40, 547, "eval")[0] / np.float32(255))


@pytest.mark.parametrize("by_class", [True, False])
def test_variant_is_deterministic_and_prefix_stable(by_class):
  small = builtin.generate(16, 30, 5, "train", by_class)[0]
  big = builtin.generate(16, 1100, 5, "train", by_class)[0]
  np.testing.assert_array_equal(small, big[:30])
