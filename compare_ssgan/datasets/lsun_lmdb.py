"""`lsun-bedroom` from the LMDB files the LSUN project publishes (gin `lsun_lmdb.path`).

TFDS's `lsun` builder reads the same LMDB through tensorflow-io, which does not load on
TensorFlow 2.21, so on a fresh install TFDS cannot prepare LSUN at all. With
`lsun_lmdb.path` bound to the unzipped `bedroom_train_lmdb` folder (data.mdb, lock.mdb; or
the data.mdb file itself), `dataset.name = "lsun-bedroom"` reads the database directly;
unbound, the name keeps meaning the TFDS dataset. Everything else is as in the TFDS path:
images /255, then compare_gan's central 128x128 crop (the TFDS spec's transform), label 0.

Split: compare_gan split TFDS's train split 99/1 (`tfds.Split.TRAIN.subsplit([99, 1])`,
the first 99% for training, the last 1%, about 30k images, for FID). Here the records are
in key order and the boundary uses TFDS's "closest" percent rounding; a database of 2 to
50 images keeps one image for eval so that the eval split is never empty.

The database is memory-mapped, so it must be on a local disk: copy it from a bucket first.
"""

import os

import gin
import numpy as np
import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.datasets import core
from compare_ssgan.datasets import registry
from compare_ssgan.datasets import tfds_datasets

NAME = "lsun-bedroom"
_ENVS = {}   # realpath -> open lmdb.Environment (LMDB forbids opening one twice per process)


@gin.configurable("lsun_lmdb")
def lsun_lmdb_path(path=None):
  """The LSUN LMDB to read for `lsun-bedroom` (None: use TFDS). gin `lsun_lmdb.path`."""
  return None if path is None else str(path)


def split_sizes(num_records):
  """(train, eval) record counts of compare_gan's 99/1 split (see the module docstring)."""
  n = int(num_records)
  num_train = int(round(99 * n / 100.0))
  if n >= 2:
    num_train = min(num_train, n - 1)
  return num_train, n - num_train


def open_lmdb(path):
  """A read-only `lmdb.Environment` for a folder with data.mdb, or the data.mdb file."""
  import lmdb  # pylint: disable=import-outside-toplevel
  if "://" in path:
    raise errors.ConfigError(f"lsun_lmdb.path must be on a local disk (LMDB memory-maps its file), "
                     f"got {path!r}: copy the folder to this machine first")
  if not os.path.exists(path):
    raise errors.ConfigError(f"lsun_lmdb.path {path!r} does not exist: unzip LSUN's "
                     f"bedroom_train_lmdb.zip and point at the folder holding data.mdb")
  real = os.path.realpath(path)
  if real not in _ENVS:
    _ENVS[real] = lmdb.open(real, subdir=os.path.isdir(real), readonly=True, lock=False,
                            readahead=False, meminit=False, max_readers=256)
  return _ENVS[real]


def read_keys(env):
  """All keys in the database's (sorted) order, as a numpy bytes array."""
  with env.begin() as txn:
    keys = list(txn.cursor().iternext(keys=True, values=False))
  if not keys:
    raise errors.DataError(f"the LSUN LMDB {env.path()!r} holds no records")
  return np.array(keys, dtype=object)


def _source(env, keys, resolution, transform):
  """An `ArraySource` over `keys`: values fetched by index, decoded as in the TFDS path."""
  def get(index):
    with env.begin(buffers=False) as txn:
      value = txn.get(keys[int(index)])
    return b"" if value is None else value

  def fetch(i):
    value = tf.py_function(get, [i], tf.string)
    value.set_shape([])
    return {"image": value}

  def decode(record, key, training):
    image = tf.io.decode_image(record["image"], channels=0, expand_animations=False,
                               dtype=tf.uint8)
    image = core.to_rgb(tf.cast(image, tf.float32) / 255.0)
    image = transform(image, key, training, resolution)
    return {"images": image, "labels": tf.constant(0, tf.int32)}

  return core.ArraySource(len(keys), fetch, decode)


def make_lsun_lmdb(path, name=NAME, seed=core.DEFAULT_SEED, shuffle_buffer_size=10000,
                   num_parallel_calls=core.AUTOTUNE):
  """An `ImageDataset` reading LSUN-Bedroom from the LMDB at `path`."""
  spec = tfds_datasets.SPECS[NAME]
  env = open_lmdb(path)
  keys = read_keys(env)
  num_train, num_eval = split_sizes(len(keys))
  splits = {core.TRAIN: keys[:num_train], core.EVAL: keys[num_train:]}
  identity = (f"lsun_lmdb:{NAME}:{len(keys)}:{keys[0].decode(errors='replace')}:"
              f"{keys[-1].decode(errors='replace')}:eval={num_eval}:{spec.resolution}")
  return core.ImageDataset(
      name=name, resolution=spec.resolution, num_classes=0,
      eval_test_samples=min(spec.eval_test_samples, num_eval), identity=identity,
      sources={s: (lambda k=k: _source(env, k, spec.resolution, spec.transform))
               for s, k in splits.items()},
      seed=seed, shuffle_buffer_size=shuffle_buffer_size,
      num_parallel_calls=num_parallel_calls)


def make_lsun_bedroom(name=NAME, seed=core.DEFAULT_SEED, tfds_data_dir=None,
                      tfds_manual_dir=None, shuffle_buffer_size=10000,
                      num_parallel_calls=core.AUTOTUNE):
  """`lsun-bedroom`: the LMDB when gin `lsun_lmdb.path` is set, else TFDS."""
  path = lsun_lmdb_path()
  if path is None:
    return tfds_datasets.make_tfds(name, seed=seed, tfds_data_dir=tfds_data_dir,
                                   tfds_manual_dir=tfds_manual_dir,
                                   shuffle_buffer_size=shuffle_buffer_size,
                                   num_parallel_calls=num_parallel_calls)
  return make_lsun_lmdb(path, name=name, seed=seed, shuffle_buffer_size=shuffle_buffer_size,
                        num_parallel_calls=num_parallel_calls)


registry.register(NAME, make_lsun_bedroom, tfds_datasets.SPECS[NAME].resolution,
                  tfds_datasets.SPECS[NAME].num_classes)
