"""`lsun-bedroom` from an LMDB made here in LSUN's layout (a folder with data.mdb)."""

import io

import lmdb
import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from compare_ssgan import datasets, gin_utils, runner, runs
from compare_ssgan.datasets import lsun_lmdb, tfds_datasets

H, W = 256, 341          # LSUN images have a short side of 256


def _ramp(i):
  """Red = row, green = column % 256, blue = i: a crop's position is readable from pixels."""
  r = np.arange(H)[:, None] * np.ones((1, W))
  g = np.ones((H, 1)) * (np.arange(W)[None, :] % 256)
  return np.stack([r, g, np.full_like(r, i)], -1).astype(np.uint8)


def _encode(array, fmt):
  buf = io.BytesIO()
  Image.fromarray(array).save(buf, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
  return buf.getvalue()


def _make_lmdb(folder, values):
  """LSUN's layout: keys are hex ids, values encoded image bytes; returns the sorted keys."""
  keys = [f"{(i * 7919) % 10007:040x}".encode() for i in range(len(values))]
  env = lmdb.open(str(folder), map_size=1 << 28)
  with env.begin(write=True) as txn:
    for k, v in zip(keys, values):
      txn.put(k, v)
  env.close()
  return sorted(keys)


@pytest.fixture
def lsun_folder(tmp_path):
  folder = tmp_path / "bedroom_train_lmdb"
  values = [_encode(_ramp(i), "PNG") for i in range(10)]
  order = _make_lmdb(folder, values)
  return folder, values, order


def test_split_follows_compare_gan_99_1_with_tfds_rounding():
  n = 3033042       # LSUN-Bedroom's train images
  info = {"train": tfds.core.SplitInfo(name="train", shard_lengths=[n], num_bytes=0)}
  boundary = tfds.core.ReadInstruction.from_spec("train[99%:]").to_absolute(info)[0].from_
  assert lsun_lmdb.split_sizes(n) == (boundary, n - boundary)
  assert n - boundary >= 30000
  assert lsun_lmdb.split_sizes(10) == (9, 1) and lsun_lmdb.split_sizes(1) == (1, 0)
  assert lsun_lmdb.split_sizes(1000) == (990, 10)


def test_reads_lmdb_with_the_tfds_crop(lsun_folder, gin_lsun):
  folder, values, order = lsun_folder
  ds = datasets.get_dataset("lsun-bedroom")
  assert (ds.resolution, ds.num_classes, ds.eval_test_samples) == (128, 0, 1)
  assert ds.identity.startswith("lsun_lmdb:") and ds.num_examples("train") == 9
  ev = ds.eval_images(1)
  # The eval split is the last key; its image is _ramp(i) for that key's value index.
  blue = {v: i for i, v in enumerate(values)}
  env = lsun_lmdb.open_lmdb(str(folder))
  with env.begin() as txn:
    i = blue[txn.get(order[-1])]
  top, left = (H - 128) // 2, (W - 128) // 2
  np.testing.assert_allclose(ev[0], _ramp(i)[top:top + 128, left:left + 128] / 255.0,
                             atol=1e-6)
  epoch = list(ds.input_fn("train", 3, seed=1).take(3))     # 9 train images: one epoch
  assert epoch[0]["images"].shape == (3, 128, 128, 3)
  assert all(b["labels"].dtype == np.int32 and np.all(b["labels"] == 0) for b in epoch)
  seen = sorted(int(round(float(x) * 255)) for b in epoch for x in b["images"][:, 0, 0, 2])
  assert seen == sorted(set(range(10)) - {i})    # each train image once, never the eval one


def test_jpeg_webp_and_gray_values_decode_to_rgb(tmp_path, gin_lsun):
  gray = np.full((200, 300), 77, np.uint8)
  buf = io.BytesIO()
  Image.fromarray(gray).save(buf, "JPEG", quality=100)
  values = [_encode(_ramp(1), "JPEG"), _encode(_ramp(2), "WEBP"), buf.getvalue()]
  gin_lsun(tmp_path / "mixed")
  _make_lmdb(tmp_path / "mixed", values)
  ds = datasets.get_dataset("lsun-bedroom")
  images = np.concatenate([b["images"] for b in ds.input_fn("train", 2, seed=0).take(3)])
  assert images.shape == (6, 128, 128, 3) and 0.0 <= images.min() and images.max() <= 1.0
  flat = [im for im in images if np.ptp(im) < 0.05]        # the gray one, tiled to RGB
  assert flat and np.allclose(flat[0], 77 / 255.0, atol=3 / 255.0)


def test_unset_path_keeps_tfds_and_bad_paths_are_clear(tmp_path):
  ds = datasets.get_dataset("lsun-bedroom", tfds_data_dir=str(tmp_path / "tfds"))
  assert ds.identity.startswith("tfds:lsun-bedroom")
  with pytest.raises(ValueError, match="local disk"):
    lsun_lmdb.make_lsun_lmdb("gs://bucket/bedroom_train_lmdb")
  with pytest.raises(ValueError, match="bedroom_train_lmdb.zip"):
    lsun_lmdb.make_lsun_lmdb(str(tmp_path / "missing"))


def test_lsun_bedroom_trains_from_a_small_lmdb(lsun_folder, tmp_path):
  folder, _, _ = lsun_folder
  gin_utils.parse(["test_tiny"], ['dataset.name = "lsun-bedroom"',
                                  f'lsun_lmdb.path = "{folder}"',
                                  "options.training_steps = 2"])
  exp = runner.Experiment(str(tmp_path / "run"))
  assert exp.dataset.resolution == 128
  assert runner.train(exp, log=lambda _: None) == 2
  assert runs.checkpoint_steps(str(tmp_path / "run")) == [2]


@pytest.fixture
def gin_lsun(lsun_folder):
  """Binds `lsun_lmdb.path` (to the 10-image folder, or to a folder given by the test)."""
  import gin  # pylint: disable=import-outside-toplevel

  def bind(folder):
    gin.bind_parameter("lsun_lmdb.path", str(folder))

  bind(lsun_folder[0])
  return bind

