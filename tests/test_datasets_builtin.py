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


# -- the ImageDataset API on the built-in dataset ------------------------------------------

import gin  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_ssgan import datasets  # noqa: E402


def _small(res=16):
  gin.bind_parameter("builtin.num_train", 100)
  gin.bind_parameter("builtin.num_eval", 40)
  gin.bind_parameter("builtin.eval_test_samples", 30)
  return datasets.get_dataset(f"builtin_{res}")


def _batches(ds, k):
  return [{key: v.numpy() for key, v in b.items()} for b in ds.take(k)]


def test_get_dataset_attributes_and_gin():
  gin.parse_config(["dataset.name = 'builtin_32'", "dataset.seed = 3",
                    "builtin.num_train = 100", "builtin.num_eval = 40",
                    "builtin.eval_test_samples = 30"])
  ds = datasets.get_dataset()
  assert isinstance(ds, datasets.ImageDataset)
  assert (ds.name, ds.resolution, ds.colors, ds.num_classes, ds.eval_test_samples) == (
      "builtin_32", 32, 3, 10, 30)
  assert ds.seed == 3 and "seed3" in ds.identity
  assert "builtin_16" in datasets.DATASETS and "builtin_32" in datasets.DATASETS
  with pytest.raises(ValueError, match="unknown dataset"):
    datasets.get_dataset("nope")


def test_input_fn_elements_contract():
  ds = _small(16)
  b = _batches(ds.input_fn("train", 8, seed=0), 1)[0]
  assert b["images"].shape == (8, 16, 16, 3) and b["images"].dtype == np.float32
  assert b["labels"].shape == (8,) and b["labels"].dtype == np.int32
  assert 0 <= b["images"].min() and b["images"].max() <= 1
  spec = ds.input_fn("train", 8, seed=0).element_spec
  assert spec["images"].shape.as_list() == [8, 16, 16, 3]   # static: drop_remainder


def test_order_pure_function_of_seed_and_epochs_reshuffle():
  ds = _small(16)
  a = _batches(ds.input_fn("train", 10, seed=5), 25)   # 2.5 epochs
  b = _batches(ds.input_fn("train", 10, seed=5), 25)
  c = _batches(ds.input_fn("train", 10, seed=6), 1)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x["images"], y["images"])
  assert not np.array_equal(a[0]["images"], c[0]["images"])
  # each epoch is a permutation of the split, and epochs differ in order
  x, _ = builtin.generate(16, 100, 547)
  ref = np.sort((x.astype(np.float32) / 255).reshape(100, -1).sum(1))
  for e in range(2):
    epoch = np.concatenate([bb["images"] for bb in a[10 * e:10 * e + 10]])
    np.testing.assert_allclose(np.sort(epoch.reshape(100, -1).sum(1)), ref, rtol=1e-5)
  assert not np.array_equal(a[0]["images"], a[10]["images"])


def test_start_batch_equals_skipping():
  ds = _small(16)
  full = _batches(ds.input_fn("train", 7, seed=1), 40)
  for k in (3, 14, 29):   # inside epoch 0, crossing into epoch 1, epoch 2
    resumed = _batches(ds.input_fn("train", 7, seed=1, start_batch=k), 5)
    for x, y in zip(full[k:k + 5], resumed):
      np.testing.assert_array_equal(x["images"], y["images"])
      np.testing.assert_array_equal(x["labels"], y["labels"])


def test_eval_split_and_eval_images():
  ds = _small(32)
  imgs = ds.eval_images(30)
  x, _ = builtin.generate(32, 40, 547, "eval")
  assert imgs.shape == (30, 32, 32, 3) and imgs.dtype == np.float32
  np.testing.assert_allclose(imgs, x[:30] / 255.0, atol=1e-6)
  batches = _batches(ds.input_fn("eval", 16, seed=0), 10)
  assert len(batches) == 2                    # one pass, remainder dropped
  np.testing.assert_allclose(batches[0]["images"], imgs[:16], atol=1e-6)
  with pytest.raises(ValueError, match="eval split has 40"):
    ds.eval_images(41)


def test_input_context_shards_and_offsets_seed():
  ds = _small(16)
  ctx = [tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=i)
         for i in range(2)]
  evals = [np.concatenate([b["images"] for b in _batches(ds.input_fn("eval", 5, 0,
                                                                      input_context=c), 10)])
           for c in ctx]
  full = ds.eval_images(40)
  np.testing.assert_allclose(evals[0], full[0::2], atol=1e-6)
  np.testing.assert_allclose(evals[1], full[1::2], atol=1e-6)
  t0 = _batches(ds.input_fn("train", 5, 0, input_context=ctx[1]), 10)
  sums = np.sort(np.concatenate([b["images"] for b in t0]).reshape(50, -1).sum(1))
  x, _ = builtin.generate(16, 100, 547)
  shard = np.sort((x[1::2].astype(np.float32) / 255).reshape(50, -1).sum(1))
  np.testing.assert_allclose(sums, shard, rtol=1e-5)
