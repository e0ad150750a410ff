"""Images/s of the input pipelines (`compare_ssgan benchmark-input`), so we know whether they
can keep an accelerator fed.

Measures three pipelines through the real `ImageDataset.input_fn` code:
  * builtin_32: the in-memory, random-access path (CIFAR-shaped: 32x32x3, 10 classes);
  * cifar10 (PNG): the TFDS streaming path on CIFAR-shaped PNG records served by
    `tfds.testing.mock_data` (decode, block shuffle and batching as for real CIFAR-10, but no
    disk reads), so it runs offline;
  * image_folder: a generated folder of JPEG/PNG files (read, decode, crop, resize).
"""

import io
import os
import tempfile
import time

PIPELINES = ("builtin_32", "cifar10_png", "image_folder")


def _time(ds, batch_size, num_batches, warmup):
  it = iter(ds)
  for _ in range(warmup):
    next(it)
  start = time.perf_counter()
  for _ in range(num_batches):
    batch = next(it)
  _ = batch["images"].numpy()
  return num_batches * batch_size / (time.perf_counter() - start)


def _png(array):
  from PIL import Image  # pylint: disable=import-outside-toplevel
  buf = io.BytesIO()
  Image.fromarray(array).save(buf, "PNG")
  return buf.getvalue()


def bench_builtin(bs, nb, wu):
  from compare_ssgan import datasets  # pylint: disable=import-outside-toplevel
  ds = datasets.get_dataset("builtin_32")
  ds.source("train")  # generate the arrays before timing
  return _time(ds.input_fn("train", bs, seed=0), bs, nb, wu)


def bench_cifar_png(bs, nb, wu, num_records=5000):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  from compare_ssgan import datasets  # pylint: disable=import-outside-toplevel
  from compare_ssgan.datasets import builtin  # pylint: disable=import-outside-toplevel
  images, labels = builtin.generate(32, num_records, 0)
  encoded = tf.constant([_png(x) for x in images])

  def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False, **kw):
    del self, split, decoders, read_config, shuffle_files, kw
    ds = tf.data.Dataset.from_tensor_slices({"image": encoded,
                                             "label": tf.constant(labels, tf.int64)})
    return ds.apply(tf.data.experimental.assert_cardinality(num_records))

  with tfds.testing.mock_data(as_dataset_fn=as_dataset):
    ds = datasets.get_dataset("cifar10")
    return _time(ds.input_fn("train", bs, seed=0), bs, nb, wu)


def make_folder(root, n, size):
  """n images (alternately JPEG and PNG, 4:3, some grayscale) under two class folders."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  from compare_ssgan.datasets import builtin  # pylint: disable=import-outside-toplevel
  scenes, _ = builtin.generate(32, min(n, 1000), 1)
  for i in range(n):
    img = Image.fromarray(scenes[i % len(scenes)]).resize((size * 4 // 3, size))
    if i % 10 == 9:
      img = img.convert("L")
    sub = os.path.join(root, f"class{i % 2}")
    os.makedirs(sub, exist_ok=True)
    if i % 2:
      img.save(os.path.join(sub, f"{i}.jpg"), quality=90)
    else:
      img.save(os.path.join(sub, f"{i}.png"))


def bench_folder(bs, nb, wu, n, size, resolution):
  import gin  # pylint: disable=import-outside-toplevel
  from compare_ssgan import datasets  # pylint: disable=import-outside-toplevel
  with tempfile.TemporaryDirectory() as root:
    make_folder(root, n, size)
    gin.bind_parameter("image_folder.path", root)
    gin.bind_parameter("image_folder.resolution", resolution)
    gin.bind_parameter("image_folder.use_class_subfolders", True)
    start = time.perf_counter()
    ds = datasets.get_dataset("image_folder")
    scan_s = time.perf_counter() - start
    rate = _time(ds.input_fn("train", bs, seed=0), bs, nb, wu)
    gin.clear_config()
  return rate, scan_s


def run_input_benchmark(batch_size=64, num_batches=200, warmup_batches=20,
                        folder_images=2000, folder_size=256, folder_resolution=64,
                        pipelines=PIPELINES, out=print):
  """Times the chosen pipelines and prints one line each; returns {pipeline: images/s}."""
  bs, nb, wu = batch_size, num_batches, warmup_batches
  out(f"batch_size {bs}, {nb} timed batches, {os.cpu_count()} CPU cores")
  rates = {}
  if "builtin_32" in pipelines:
    rates["builtin_32"] = bench_builtin(bs, nb, wu)
    out(f"builtin_32 (in memory, 32x32)        {rates['builtin_32']:10.0f} images/s")
  if "cifar10_png" in pipelines:
    rates["cifar10_png"] = bench_cifar_png(bs, nb, wu)
    out(f"cifar10 TFDS path (PNG, 32x32)        {rates['cifar10_png']:10.0f} images/s")
  if "image_folder" in pipelines:
    rate, scan_s = bench_folder(bs, nb, wu, folder_images, folder_size, folder_resolution)
    rates["image_folder"] = rate
    out(f"image_folder ({folder_images} files {folder_size * 4 // 3}x{folder_size} -> "
        f"{folder_resolution}) {rate:10.0f} images/s (scan+validate {scan_s:.1f} s)")
  return rates
