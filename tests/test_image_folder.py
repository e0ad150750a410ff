"""`image_folder`: odd files are skipped with a count, every image becomes RGB, splits are stable."""

import logging
import os

import gin
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from compare_ssgan import datasets
from compare_ssgan.datasets import image_folder


def _save(path, array, fmt=None, **kw):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path, fmt, **kw)


def _rgb(h, w, colour):
  return np.full((h, w, 3), colour, np.uint8)


def _folder(root):
  """A folder with every kind of file the loader must survive."""
  _save(f"{root}/a/red.png", _rgb(40, 40, [255, 0, 0]))
  _save(f"{root}/a/wide.jpg", _rgb(30, 90, [0, 0, 255]), quality=100)   # non-square
  _save(f"{root}/a/deep/gray.png", np.full((20, 20), 128, np.uint8))   # grayscale, nested
  rgba = np.zeros((24, 24, 4), np.uint8)
  rgba[..., 1] = 255
  rgba[..., 3] = 255
  rgba[:, :12, 3] = 0                                                    # left half clear
  _save(f"{root}/b/rgba.png", rgba)
  _save(f"{root}/b/rgba.webp", rgba, lossless=True)
  _save(f"{root}/b/green.bmp", _rgb(16, 16, [0, 255, 0]))
  with open(f"{root}/b/corrupt.png", "wb") as f:
    f.write(open(f"{root}/a/red.png", "rb").read()[:40])                 # truncated
  big = np.zeros((240, 320, 3), np.uint8)
  big[:, :160, 0] = 255
  big[:, 160:, 2] = 255
  _save(f"{root}/a/big.jpg", big, quality=95)          # decoded at reduced DCT scale
  with open(f"{root}/b/cut.jpg", "wb") as f:
    f.write(open(f"{root}/a/big.jpg", "rb").read()[:700])   # truncated JPEG
  open(f"{root}/b/empty.jpg", "wb").close()
  with open(f"{root}/b/notes.png", "w") as f:
    f.write("not an image at all\n")
  with open(f"{root}/readme.txt", "w") as f:
    f.write("text\n")


def _configure(root, **kw):
  gin.bind_parameter("image_folder.path", str(root))
  gin.bind_parameter("image_folder.resolution", kw.pop("resolution", 16))
  for k, v in kw.items():
    gin.bind_parameter(f"image_folder.{k}", v)
  return datasets.get_dataset("image_folder")


def _image(ds, rel):
  """The pipeline's decoded output for file `rel` (whichever split holds it)."""
  for split in ("train", "eval"):
    if rel in ds.files[split]:
      src = ds.source(split)
      index = tf.constant(ds.files[split].index(rel))
      return src.decode(src.fetch(index), None, False)["images"].numpy()
  raise KeyError(rel)


def test_odd_files_skipped_and_everything_rgb(tmp_path, caplog):
  _folder(tmp_path)
  with caplog.at_level(logging.WARNING):
    ds = _configure(tmp_path, eval_fraction=0.2)
  assert sorted(ds.skipped_files) == ["b/corrupt.png", "b/cut.jpg", "b/empty.jpg",
                                      "b/notes.png"]
  assert ds.ignored_files == ["readme.txt"]
  assert "skipped 4" in caplog.text and "ignored 1" in caplog.text
  files = sorted(ds.files["train"] + ds.files["eval"])
  assert files == ["a/big.jpg", "a/deep/gray.png", "a/red.png", "a/wide.jpg", "b/green.bmp",
                   "b/rgba.png", "b/rgba.webp"]
  assert len(ds.files["eval"]) == 2 and ds.eval_test_samples == 2 and ds.num_classes == 0
  big = _image(ds, "a/big.jpg")     # centre square of a 320x240 photo: left red, right blue
  np.testing.assert_allclose(big[:, :6], np.broadcast_to([1, 0, 0], (16, 6, 3)), atol=0.06)
  np.testing.assert_allclose(big[:, -6:], np.broadcast_to([0, 0, 1], (16, 6, 3)), atol=0.06)
  np.testing.assert_allclose(_image(ds, "a/red.png"), np.broadcast_to([1, 0, 0], (16, 16, 3)),
                             atol=1e-6)
  np.testing.assert_allclose(_image(ds, "a/deep/gray.png"), 128 / 255, atol=1e-6)
  wide = _image(ds, "a/wide.jpg")
  assert wide.shape == (16, 16, 3) and wide[..., 2].min() > 0.95 and wide[..., 0].max() < 0.05
  for rel in ("b/rgba.png", "b/rgba.webp"):   # transparent half composited over white
    img = _image(ds, rel)
    np.testing.assert_allclose(img[:, 0], 1.0, atol=1e-2)
    np.testing.assert_allclose(img[:, -1], np.broadcast_to([0, 1, 0], (16, 3)), atol=1e-2)
  batch = next(iter(ds.input_fn("train", 4, seed=0)))
  assert batch["images"].shape == (4, 16, 16, 3) and batch["images"].dtype.name == "float32"
  assert batch["labels"].dtype.name == "int32"


def test_class_subfolders_labels_and_identity(tmp_path):
  for c, colour in (("cat", 0), ("dog", 255)):
    for i in range(5):
      _save(f"{tmp_path}/{c}/{i}.png", _rgb(8, 8, [colour, i * 10, 0]))
  _save(f"{tmp_path}/loose.png", _rgb(8, 8, [9, 9, 9]))    # no class: left out
  ds = _configure(tmp_path, use_class_subfolders=True, eval_fraction=0.2, resolution=8)
  assert ds.num_classes == 2 and ds.class_names == ["cat", "dog"]
  assert "loose.png" in ds.ignored_files
  assert len(ds.files["eval"]) == 2
  for split in ("train", "eval"):
    src = ds.source(split)
    for i, rel in enumerate(ds.files[split]):
      e = src.decode(src.fetch(tf.constant(i)), None, False)
      assert e["labels"].numpy() == (0 if rel.startswith("cat") else 1)
      assert e["images"].numpy()[0, 0, 0] == (0.0 if rel.startswith("cat") else 1.0)
  batch = next(iter(ds.input_fn("train", 8, seed=0)))
  expect = sorted(0 if r.startswith("cat") else 1 for r in ds.files["train"])
  assert sorted(batch["labels"].numpy().tolist()) == expect
  ident = ds.identity
  gin.clear_config()
  assert _configure(tmp_path, use_class_subfolders=True, eval_fraction=0.2,
                    resolution=8).identity == ident
  _save(f"{tmp_path}/dog/5.png", _rgb(8, 8, [255, 0, 0]))
  gin.clear_config()
  ds2 = _configure(tmp_path, use_class_subfolders=True, eval_fraction=0.2, resolution=8)
  assert ds2.identity != ident
  # the hold-out is stable: old eval files stay in eval, or the new file took the slot
  assert set(ds.files["eval"]) - set(ds2.files["eval"]) <= set(ds2.files["train"])


def test_order_and_resume(tmp_path):
  for i in range(10):
    _save(f"{tmp_path}/{i}.png", _rgb(8, 8, [i * 20, 0, 0]))
  ds = _configure(tmp_path, resolution=8, eval_fraction=0.0)
  assert len(ds.files["train"]) == len(ds.files["eval"]) == 10
  full = [b["images"].numpy() for b in ds.input_fn("train", 3, seed=2).take(9)]
  resumed = [b["images"].numpy() for b in ds.input_fn("train", 3, seed=2, start_batch=4).take(5)]
  for a, b in zip(full[4:], resumed):
    np.testing.assert_array_equal(a, b)


def test_empty_and_missing_folder(tmp_path):
  (tmp_path / "empty").mkdir()
  with open(tmp_path / "empty" / "x.txt", "w") as f:
    f.write("x")
  with pytest.raises(ValueError, match="no readable images"):
    _configure(tmp_path / "empty")
  gin.clear_config()
  with pytest.raises(ValueError, match="not a directory"):
    _configure(tmp_path / "missing")


def test_template_config_dataset_part(tmp_path):
  """The template's dataset bindings parse and build (the GAN part is another module's)."""
  from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
  for i in range(4):
    _save(f"{tmp_path}/{i}.png", _rgb(40, 30, [i * 50, 0, 0]))
  path = gin_utils.resolve_config("image_folder/ssgan.gin")
  lines = [l for l in open(path) if l.startswith(("dataset.", "image_folder."))]
  assert any(l.startswith("image_folder.path") for l in lines)
  gin.parse_config(lines)
  gin.bind_parameter("image_folder.path", str(tmp_path))
  ds = datasets.get_dataset()
  assert ds.name == "image_folder" and ds.resolution == 32
  assert image_folder.IMAGE_EXTENSIONS
