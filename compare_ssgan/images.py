"""Images in and out of run folders: grids, PNGs, sample dumps, image sets to score.

Everything goes through `tf.io.gfile`, so a model_dir on a bucket (`gs://...`) or TensorFlow's
in-memory filesystem (`ram://...`) works like a local folder.
"""

import io
import math
import os

import numpy as np
import tensorflow as tf

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def image_grid(images, rows=8, gutter=1):
  """[N, H, W, 3] floats in [0, 1] -> one uint8 grid, `rows` rows, `gutter` white pixels
  between images (so glyphs and digits of neighbours do not run together)."""
  images = np.clip(np.nan_to_num(np.asarray(images, np.float32)), 0.0, 1.0)
  n, h, w, c = images.shape
  cols = int(math.ceil(n / rows))
  grid = np.ones((rows * (h + gutter) - gutter, cols * (w + gutter) - gutter, c), np.float32)
  for i in range(n):
    r, col = divmod(i, cols)
    top, left = r * (h + gutter), col * (w + gutter)
    grid[top:top + h, left:left + w] = images[i]
  return (grid * 255.0 + 0.5).astype(np.uint8)


def save_png(array, path):
  """Writes a uint8 [H, W, 3] array as PNG to any gfile path."""
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(tf.io.encode_png(np.asarray(array, np.uint8)).numpy())


def read_png(path):
  """uint8 [H, W, 3] from a PNG at any gfile path."""
  with tf.io.gfile.GFile(path, "rb") as f:
    return tf.io.decode_png(f.read(), channels=3).numpy()


def to_uint8(images):
  """Floats in [0, 1] -> uint8, rounded (NaN -> 0)."""
  return np.clip(np.rint(np.nan_to_num(np.asarray(images)) * 255.0), 0, 255).astype(np.uint8)


def write_samples(images, labels, output_dir, max_png=None):
  """PNGs `000000.png`, ... and `samples.npz` (uint8 `images`, int32 `labels`)."""
  tf.io.gfile.makedirs(output_dir)
  as_uint8 = to_uint8(images)
  save_npz(os.path.join(output_dir, "samples.npz"), images=as_uint8,
           labels=np.asarray(labels, np.int32))
  width = max(6, len(str(len(images) - 1)))
  for i, image in enumerate(as_uint8[:max_png]):
    save_png(image, os.path.join(output_dir, f"{i:0{width}d}.png"))
  return as_uint8


def npz_bytes(**arrays):
  """The bytes of an .npz (`np.savez` cannot write to a GFile, so it writes to memory)."""
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  return buffer.getvalue()


def save_npz(path, **arrays):
  """Writes an .npz to any gfile path."""
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(npz_bytes(**arrays))


def load_npz(path):
  """{name: array} of an .npz at any gfile path (no pickles)."""
  with tf.io.gfile.GFile(path, "rb") as f:
    data = np.load(io.BytesIO(f.read()), allow_pickle=False)
    return {k: data[k] for k in data.files}


def load_images(path):
  """float32 [N, H, W, 3] in [0, 1] from a folder of images or an .npz with `images`."""
  if path.endswith(".npz"):
    images = load_npz(path)["images"]
  else:
    names = sorted(n for n in tf.io.gfile.listdir(path)
                   if n.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
      from compare_ssgan import errors  # pylint: disable=import-outside-toplevel
      raise errors.DataError(f"no {'/'.join(IMAGE_EXTENSIONS)} images in {path}")
    images = np.stack([_decode(os.path.join(path, n)) for n in names])
  if images.dtype == np.uint8:
    return images.astype(np.float32) / 255.0
  images = images.astype(np.float32)
  if images.max() > 1.0 + 1e-3:  # float data stored in [0, 255]
    images = images / 255.0
  return images


def _decode(path):
  from PIL import Image  # pylint: disable=import-outside-toplevel
  with tf.io.gfile.GFile(path, "rb") as f:
    return np.asarray(Image.open(io.BytesIO(f.read())).convert("RGB"))
