"""TFDS datasets through the real loading code, with `tfds.testing.mock_data` (no network).

mock_data ignores split slicing and serves tiny random images, so each test passes
controlled examples at realistic sizes through `as_dataset_fn`, records which split
strings were asked for, and the split strings are checked on their own.
"""

import io

import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from compare_ssgan import datasets
from compare_ssgan.datasets import tfds_datasets

N = 12


def _png(array):
  buf = io.BytesIO()
  Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array).save(buf, "PNG")
  return buf.getvalue()


def _mock(make_image, calls):
  """mock_data whose examples are PNG bytes of `make_image(i)` (uint8 HxWxC), labels i%10."""
  encoded = [_png(make_image(i)) for i in range(N)]

  def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False, **kw):
    del self, read_config, kw
    assert not shuffle_files
    assert isinstance(decoders["image"], tfds.decode.SkipDecoding)
    calls.append(str(split))
    ds = tf.data.Dataset.from_tensor_slices(
        {"image": tf.constant(encoded), "label": tf.range(N, dtype=tf.int64) % 10,
         "id": tf.constant([f"x{i}" for i in range(N)])})
    return ds.apply(tf.data.experimental.assert_cardinality(N))

  return tfds.testing.mock_data(as_dataset_fn=as_dataset)


def _framed(h, w, ch, cw):
  """A red image whose central ch x cw box (top-left at ((h-ch)//2, (w-cw)//2)) is green."""
  def make(i):
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = 200
    top, left = (h - ch) // 2, (w - cw) // 2
    img[top:top + ch, left:left + cw] = [0, 180 + i, 0]
    return img
  return make


def _first_batch(ds, split="train", batch=4, seed=0):
  b = next(iter(ds.input_fn(split, batch, seed=seed)))
  return b["images"].numpy(), b["labels"].numpy()


def test_split_strings():
  expect = {"cifar10": ("train", "test"), "celeb_a": ("train", "test"),
            "lsun-bedroom": ("train[:99%]", "train[99%:]"),
            "imagenet_128": ("train", "validation"), "mnist": ("train", "test"),
            "fashion-mnist": ("train", "test"), "stl10": ("train+unlabelled", "test"),
            "celeb_a_hq_128": ("train[:90%]", "train[90%:]")}
  for name, (train, ev) in expect.items():
    assert tfds_datasets.tfds_split(name, "train") == train
    assert tfds_datasets.tfds_split(name, "eval") == ev
  # LSUN bedroom's 3,033,042 train images: 1% (~30k, compare_gan's eval size) held out.
  info = {"train": tfds.core.SplitInfo(name="train", shard_lengths=[3033042], num_bytes=0)}
  tr = tfds.core.ReadInstruction.from_spec("train[:99%]").to_absolute(info)[0]
  ev = tfds.core.ReadInstruction.from_spec("train[99%:]").to_absolute(info)[0]
  assert tr.from_ is None and tr.to == ev.from_ and 3033042 - ev.from_ >= 30000
  info = {"train": tfds.core.SplitInfo(name="train", shard_lengths=[30000], num_bytes=0)}
  ev = tfds.core.ReadInstruction.from_spec("train[90%:]").to_absolute(info)[0]
  assert 30000 - ev.from_ == 3000


def test_all_compare_gan_names_registered():
  for name in ("cifar10", "celeb_a", "lsun-bedroom", "imagenet_64", "imagenet_128",
               "imagenet_256", "celeb_a_hq_128", "mnist", "fashion-mnist", "stl10"):
    assert name in datasets.DATASETS


def test_cifar10_exact_values_labels_and_resume():
  calls = []
  make = lambda i: (np.arange(32 * 32 * 3).reshape(32, 32, 3) * (i + 1) % 256).astype(np.uint8)
  with _mock(make, calls):
    ds = datasets.get_dataset("cifar10")
    assert (ds.resolution, ds.num_classes, ds.eval_test_samples) == (32, 10, 10000)
    ev = ds.eval_images(5)
    np.testing.assert_allclose(ev, np.stack([make(i) for i in range(5)]) / 255.0, atol=1e-6)
    full = [b for b in ds.input_fn("train", 5, seed=3).take(8)]
    again = [b for b in ds.input_fn("train", 5, seed=3).take(8)]
    other = next(iter(ds.input_fn("train", 5, seed=4)))
    resumed = [b for b in ds.input_fn("train", 5, seed=3, start_batch=5).take(3)]
  assert set(calls) == {"train", "test"}
  for a, b in zip(full, again):
    np.testing.assert_array_equal(a["images"], b["images"])
  assert not np.array_equal(full[0]["labels"], other["labels"]) or not np.array_equal(
      full[0]["images"], other["images"])
  for a, b in zip(full[5:], resumed):
    np.testing.assert_array_equal(a["images"], b["images"])
    np.testing.assert_array_equal(a["labels"], b["labels"])
  assert full[0]["labels"].dtype == np.int32
  # one epoch (12 examples) = a permutation of the split
  labels = np.concatenate([b["labels"] for b in full])[:N]
  assert sorted(labels.tolist()) == sorted((np.arange(N) % 10).tolist())


def test_celeb_a_crop_160_resize_64():
  calls = []
  with _mock(_framed(218, 178, 160, 160), calls):
    ds = datasets.get_dataset("celeb_a")
    images, labels = _first_batch(ds)
  assert images.shape == (4, 64, 64, 3) and ds.num_classes == 0
  assert np.all(labels == 0)
  assert images[..., 0].max() < 1e-6          # the red border was cropped away
  assert images[..., 1].min() > 0.69


def test_lsun_central_128_crop_without_resize():
  calls = []

  def ramp(i):
    r = np.arange(256)[:, None] * np.ones((1, 341))
    g = np.ones((256, 1)) * (np.arange(341)[None, :] % 256)
    return np.stack([r, g, np.full_like(r, i)], -1).astype(np.uint8)

  with _mock(ramp, calls):
    ds = datasets.get_dataset("lsun-bedroom")
    images, _ = _first_batch(ds)
    ev = ds.eval_images(2)
  assert calls[0] in ("train[:99%]", "train[99%:]") and set(calls) == {"train[:99%]",
                                                                      "train[99%:]"}
  assert images.shape == (4, 128, 128, 3) and ds.eval_test_samples == 30000
  top, left = (256 - 128) // 2, (341 - 128) // 2
  np.testing.assert_allclose(ev[0, 0, 0, :2], [top / 255, left / 255], atol=1e-6)
  np.testing.assert_allclose(ev[0, -1, -1, :2], [(top + 127) / 255, (left + 127) / 255],
                             atol=1e-6)


def test_imagenet_middle_eval_and_distorted_train():
  calls = []
  with _mock(_framed(300, 400, 300, 300), calls):
    gin.bind_parameter("eval_imagenet_transform.crop_method", "middle")
    ds = datasets.get_dataset("imagenet_64")
    ev = ds.eval_images(3)
    tr1, labels = _first_batch(ds, seed=1)
    tr2, _ = _first_batch(ds, seed=1)
  assert set(calls) == {"train", "validation"}
  assert ds.num_classes == 1000 and ds.eval_test_samples == 50000
  assert ev.shape == (3, 64, 64, 3) and ev[..., 0].max() < 1e-6
  assert tr1.shape == (4, 64, 64, 3) and labels.dtype == np.int32
  np.testing.assert_array_equal(tr1, tr2)      # stateless: same seed, same crops
  with _mock(_framed(300, 400, 300, 300), []):
    gin.bind_parameter("train_imagenet_transform.crop_method", "none")
    whole, _ = _first_batch(datasets.get_dataset("imagenet_64"), seed=1)
  assert whole[..., 0].max() > 0.5             # no crop: the red sides are still there
  with pytest.raises(ValueError, match="crop_method"):
    tfds_datasets.train_imagenet_crop_method("bogus")


def test_mnist_and_fashion_gray_to_rgb():
  make = lambda i: np.full((28, 28, 1), 10 * i, np.uint8)
  for name in ("mnist", "fashion-mnist"):
    with _mock(make, []):
      ds = datasets.get_dataset(name)
      images, labels = _first_batch(ds, "eval")
    assert images.shape == (4, 28, 28, 3)
    np.testing.assert_allclose(images[:, 0, 0], np.repeat(np.arange(4)[:, None] * 10 / 255,
                                                           3, 1), atol=1e-6)
    np.testing.assert_array_equal(labels, np.arange(4))


def test_stl10_48_and_celeb_a_hq():
  calls = []
  with _mock(lambda i: np.full((96, 96, 3), i, np.uint8), calls):
    images, labels = _first_batch(datasets.get_dataset("stl10"))
  assert images.shape == (4, 48, 48, 3) and np.all(labels == 0)
  assert "train+unlabelled" in calls
  with _mock(lambda i: np.full((128, 128, 3), i, np.uint8), []):
    ds = datasets.get_dataset("celeb_a_hq_128")
    images, _ = _first_batch(ds)
  assert images.shape == (4, 128, 128, 3) and ds.eval_test_samples == 3000


def test_manual_download_error_is_clear(monkeypatch, tmp_path):
  def fail(self, *a, **k):
    raise AssertionError("Manual directory /x does not exist or is empty")

  with _mock(lambda i: np.zeros((128, 128, 3), np.uint8), []):
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", fail)
    ds = datasets.get_dataset("celeb_a_hq_128")
    with pytest.raises(tfds_datasets.DatasetUnavailableError) as e:
      ds.eval_images(1)
  msg = str(e.value)
  assert "manual download" in msg and "tfds build celeb_a_hq" in msg
  assert "dataset.tfds_data_dir" in msg and "--manual_dir" in msg


def test_tfds_data_dir_is_passed(monkeypatch):
  seen = []
  real = tfds.builder
  monkeypatch.setattr(tfds, "builder", lambda n, data_dir=None, **k: seen.append(data_dir)
                      or real(n, data_dir=data_dir, **k))
  with _mock(lambda i: np.zeros((32, 32, 3), np.uint8), []):
    gin.bind_parameter("dataset.tfds_data_dir", "/data/tfds")
    datasets.get_dataset("cifar10")
  assert seen == ["/data/tfds"]


def test_celeb_a_resize_is_tf1_bilinear():
  """compare_gan resized with TF1's resize_images: source x = j * scale (no half pixels)."""
  def ramp(i):
    img = np.zeros((218, 178, 3), np.uint8)
    img[..., 1] = np.clip(np.arange(178) - 9, 0, 255)[None, :]   # crop columns 9..168 -> 0..159
    return img

  with _mock(ramp, []):
    ev = datasets.get_dataset("celeb_a").eval_images(1)
  np.testing.assert_allclose(ev[0, 10, :, 1], 2.5 * np.arange(64) / 255, atol=1e-5)
