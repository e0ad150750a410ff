"""The offline built-in dataset: deterministic, upright, and served per the element contract."""

import numpy as np
import pytest

from compare_ssgan.datasets import builtin


@pytest.mark.parametrize("resolution", [16, 32])
def test_generate_deterministic_per_seed(resolution):
  x1, y1 = builtin.generate(resolution, 200, 1)
  builtin.generate.cache_clear()
  x2, y2 = builtin.generate(resolution, 200, 1)
  x3, y3 = builtin.generate(resolution, 200, 2)
  assert x1.shape == (200, resolution, resolution, 3) and x1.dtype == np.uint8
  assert y1.dtype == np.int32 and set(np.unique(y1)) == set(range(10))
  np.testing.assert_array_equal(x1, x2)
  np.testing.assert_array_equal(y1, y2)
  assert np.abs(x1.astype(int) - x3.astype(int)).mean() > 5


def test_generate_prefix_stable_and_splits_differ():
  x_small, _ = builtin.generate(32, 50, 547)
  x_big, _ = builtin.generate(32, 1200, 547)
  np.testing.assert_array_equal(x_small, x_big[:50])
  x_eval, _ = builtin.generate(32, 50, 547, "eval")
  assert np.abs(x_eval.astype(int) - x_small.astype(int)).mean() > 5


def test_not_rotation_invariant():
  x, _ = builtin.generate(32, 500, 547)
  x = x.astype(np.float32) / 255
  top, bottom = x[:, :6].mean(axis=(0, 1, 2)), x[:, -6:].mean(axis=(0, 1, 2))
  assert top[2] - bottom[2] > 0.3          # blue sky above, ground below
  assert top.mean() - bottom.mean() > 0.2
  for k in (1, 2, 3):
    rotated = np.rot90(x, k, axes=(1, 2))
    per_image = np.abs(rotated - x).mean(axis=(1, 2, 3))
    assert per_image.min() > 0.1, k          # every image changes when rotated
