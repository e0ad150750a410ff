"""compare_gan's datasets through tensorflow-datasets, under compare_gan's names.

Preprocessing follows compare_gan's `datasets.py` (spec section 4): images /255 to [0, 1]
first, then the dataset's crop/resize. Records are read with `SkipDecoding` so the
stateless block shuffle and `start_batch` skipping move encoded bytes; images are decoded
only when they are used.
"""

import collections
import importlib

import gin
import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.datasets import core
from compare_ssgan.datasets import download_check
from compare_ssgan.datasets import registry

Spec = collections.namedtuple(
    "Spec", "tfds_name resolution num_classes train_split eval_split eval_test_samples "
            "transform")

CROP_METHODS = ("distorted", "random", "middle", "none")


class DatasetUnavailableError(errors.DataError):
  """A TFDS dataset that is not prepared and cannot be prepared automatically."""


_PREPARE_HINTS = {
    "lsun-bedroom": (". Or read LSUN's own release instead: download and unzip "
                     "bedroom_train_lmdb.zip from the LSUN project, then set gin "
                     "`lsun_lmdb.path = \"<folder with data.mdb>\"`"),
}


@gin.configurable("train_imagenet_transform")
def train_imagenet_crop_method(crop_method="distorted"):
  """ImageNet's training crop (compare_gan's gin name): distorted, random, middle or none."""
  return _check_crop(crop_method)


@gin.configurable("eval_imagenet_transform")
def eval_imagenet_crop_method(crop_method="middle"):
  """ImageNet's eval crop (compare_gan's gin name): distorted, random, middle or none."""
  return _check_crop(crop_method)


def _check_crop(crop_method):
  if crop_method not in CROP_METHODS:
    raise errors.ConfigError(f"crop_method must be one of {CROP_METHODS}, got {crop_method!r}")
  return crop_method


def imagenet_crop(image, key, crop_method, resolution):
  """compare_gan's ImageNet transform, with stateless randomness keyed by `key`.

  distorted: `sample_distorted_bounding_box` (aspect 1.0, area [0.5, 1.0]); random: a random
  square of side min(H, W); middle: the central such square; none: no crop. Then TF1-style
  bilinear resize to `resolution`.
  """
  if crop_method == "distorted":
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), bounding_boxes=tf.zeros([1, 0, 4], tf.float32), seed=key,
        aspect_ratio_range=[1.0, 1.0], area_range=[0.5, 1.0],
        use_image_if_no_bounding_boxes=True)
    image = tf.slice(image, begin, size)
  elif crop_method == "random":
    shape = tf.shape(image)
    h, w = shape[0], shape[1]
    side = tf.minimum(h, w)
    frac = tf.random.stateless_uniform([2], seed=key)
    off = tf.cast(tf.cast(tf.stack([h - side, w - side]), tf.float32) * frac, tf.int32)
    image = tf.image.crop_to_bounding_box(image, off[0], off[1], side, side)
  elif crop_method == "middle":
    image = core.center_crop_square(image)
  image.set_shape([None, None, 3])
  return core.resize(image, resolution, tf1=True)


def _celeb_a(image, key, training, resolution):
  del key, training
  image = tf.image.resize_with_crop_or_pad(image, 160, 160)
  return core.resize(image, resolution, tf1=True)


def _lsun(image, key, training, resolution):
  del key, training
  return tf.image.resize_with_crop_or_pad(image, resolution, resolution)


def _stl10(image, key, training, resolution):
  del key, training
  return core.resize(image, resolution, antialias=True)


# ImageNet's transform depends on gin crop methods read when the dataset is built.
_IMAGENET = "imagenet"


SPECS = {
    "cifar10": Spec("cifar10", 32, 10, "train", "test", 10000, None),
    "celeb_a": Spec("celeb_a", 64, 0, "train", "test", 10000, _celeb_a),
    "lsun-bedroom": Spec("lsun/bedroom", 128, 0, "train[:99%]", "train[99%:]", 30000, _lsun),
    "imagenet_64": Spec("imagenet2012", 64, 1000, "train", "validation", 50000, _IMAGENET),
    "imagenet_128": Spec("imagenet2012", 128, 1000, "train", "validation", 50000, _IMAGENET),
    "imagenet_256": Spec("imagenet2012", 256, 1000, "train", "validation", 50000, _IMAGENET),
    # TFDS celeb_a_hq has one 30k split; compare_gan's v2 branch held out 10% (3000 eval).
    "celeb_a_hq_128": Spec("celeb_a_hq/128", 128, 0, "train[:90%]", "train[90%:]", 3000,
                           None),
    "mnist": Spec("mnist", 28, 10, "train", "test", 10000, None),
    "fashion-mnist": Spec("fashion_mnist", 28, 10, "train", "test", 10000, None),
    # STL-10 as in the SN-GAN line of work: the 100k unlabelled + 5k train images, 48x48.
    "stl10": Spec("stl10", 48, 0, "train+unlabelled", "test", 8000, _stl10),
}


def tfds_split(name, split):
  """The TFDS split string of our 'train'/'eval' split of dataset `name`."""
  spec = SPECS[name]
  return spec.train_split if core.canonical_split(split) == core.TRAIN else spec.eval_split


def _manual_message(name, builder, data_dir, manual_dir, error):
  instructions = (builder.MANUAL_DOWNLOAD_INSTRUCTIONS or "").strip()
  return (
      f"dataset {name!r} (TFDS {builder.info.full_name}) is not prepared in "
      f"{data_dir or '~/tensorflow_datasets'} and TFDS cannot download it: it needs a "
      f"manual download.\n"
      f"  1. Get the files as TFDS explains:\n     {instructions}\n"
      f"  2. Put them in a folder, then build the dataset:\n"
      f"     tfds build {builder.info.full_name.rsplit('/', 1)[0]} --manual_dir=<that folder>"
      f"{' --data_dir=' + data_dir if data_dir else ''}\n"
      f"     (or pass gin `dataset.tfds_manual_dir = \"<that folder>\"`)\n"
      f"  3. Point runs at it with gin `dataset.tfds_data_dir` (or --tfds_data_dir).\n"
      f"(manual_dir was {manual_dir!r}; TFDS said: {error})")


def _tensorflow_io_reads_lmdb():
  """Reads one record of a throw-away LMDB the way TFDS's lsun builder does.

  Importing tensorflow_io is not enough: a build for another TensorFlow imports with a
  warning and fails (undefined symbol) only when an op runs.
  """
  import tempfile  # pylint: disable=import-outside-toplevel
  import lmdb  # pylint: disable=import-outside-toplevel
  tfio = importlib.import_module("tensorflow_io")
  with tempfile.TemporaryDirectory() as folder:
    env = lmdb.open(folder, map_size=1 << 20)
    with env.begin(write=True) as txn:
      txn.put(b"k", b"v")
    env.close()
    for _ in tfio.IODataset.from_lmdb(f"{folder}/data.mdb").take(1):
      pass


# Checks of what a TFDS builder needs only while it prepares data: a missing piece would
# surface after the whole download (LSUN: tens of GB).
_PREPARE_NEEDS = {"lsun-bedroom": ("tensorflow-io", _tensorflow_io_reads_lmdb)}


def _first_line(error):
  return (str(error).strip().splitlines() or [""])[0]


def _offline_message(name, builder, data_dir, why):
  return (f"dataset {name!r}: TFDS {builder.info.full_name} is not prepared in "
          f"{data_dir or '~/tensorflow_datasets'} and {why}; copy a prepared TFDS folder to "
          f"this machine and pass --tfds_data_dir (gin `dataset.tfds_data_dir`)")


def _download_urls(builder):
  """The URLs TFDS will download for `builder` (from its checksums file; none if manual)."""
  if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
    return []
  try:
    return list(builder.url_infos or ())
  except Exception:  # pylint: disable=broad-except  (no checksums file: nothing to check)
    return []


def _check_before_download(name, builder, data_dir):
  """Fails in seconds, with one actionable line, where TFDS would fail after minutes."""
  if name in _PREPARE_NEEDS:
    needed, probe = _PREPARE_NEEDS[name]
    try:
      probe()
    except Exception as e:  # pylint: disable=broad-except  (a broken build raises anything)
      raise DatasetUnavailableError(
          _offline_message(name, builder, data_dir,
                           f"TFDS cannot prepare it here: its builder needs {needed} "
                           f"({type(e).__name__}: {_first_line(e)})")
          + _PREPARE_HINTS.get(name, "")) from e
  why = download_check.unreachable(_download_urls(builder))
  if why:
    raise DatasetUnavailableError(_offline_message(name, builder, data_dir, why))


def _checked_downloads(name, builder, data_dir):
  """Runs `_check_before_download` where TFDS starts its real work.

  TFDS calls `_download_and_prepare` only when the data is missing (and `mock_data` never
  calls it), so prepared datasets and tests with mock data contact no host.
  """
  original = builder._download_and_prepare  # pylint: disable=protected-access

  def download_and_prepare(*args, **kwargs):
    _check_before_download(name, builder, data_dir)
    return original(*args, **kwargs)

  builder._download_and_prepare = download_and_prepare  # pylint: disable=protected-access


def _prepare(name, builder, data_dir, manual_dir):
  """`download_and_prepare` (a no-op when prepared) with one clear error when it cannot."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  _checked_downloads(name, builder, data_dir)
  try:
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  except DatasetUnavailableError:
    raise
  except ModuleNotFoundError as e:
    raise DatasetUnavailableError(
        f"dataset {name!r}: TFDS could not prepare {builder.info.full_name} because the "
        f"Python module {e.name!r} is missing; install it (pip install {e.name}) or "
        f"reinstall compare_ssgan, whose setup.py declares what TFDS needs") from e
  except Exception as e:  # pylint: disable=broad-except
    if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
      raise DatasetUnavailableError(
          _manual_message(name, builder, data_dir, manual_dir, e)) from e
    raise DatasetUnavailableError(
        f"dataset {name!r}: TFDS could not download/prepare {builder.info.full_name} into "
        f"{data_dir or '~/tensorflow_datasets'} ({e}). Without network, copy a prepared "
        f"TFDS folder and set gin `dataset.tfds_data_dir`.") from e


def make_tfds(name, seed=core.DEFAULT_SEED, tfds_data_dir=None, tfds_manual_dir=None,
              shuffle_buffer_size=10000, num_parallel_calls=core.AUTOTUNE):
  """An `ImageDataset` reading TFDS dataset `SPECS[name]`."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  spec = SPECS[name]
  resolution = spec.resolution
  transforms = {core.TRAIN: spec.transform, core.EVAL: spec.transform}
  extra = ""
  if spec.transform == _IMAGENET:
    crops = {core.TRAIN: train_imagenet_crop_method(), core.EVAL: eval_imagenet_crop_method()}
    transforms = {s: (lambda image, key, training, res, m=m: imagenet_crop(image, key, m, res))
                  for s, m in crops.items()}
    extra = f":eval_crop={crops[core.EVAL]}"
  builder = tfds.builder(spec.tfds_name, data_dir=tfds_data_dir)
  image_feature = builder.info.features["image"]
  has_label = spec.num_classes > 0 and "label" in builder.info.features
  prepared = []

  def records_fn(split_str):
    def records(shard_id, num_shards):
      if not prepared:
        _prepare(name, builder, tfds_data_dir, tfds_manual_dir)
        prepared.append(True)
      ds = builder.as_dataset(split=split_str, shuffle_files=False,
                              decoders={"image": tfds.decode.SkipDecoding()})
      ds = ds.map(lambda ex: {"image": ex["image"],
                              "label": tf.cast(ex["label"], tf.int32) if has_label
                              else tf.constant(0, tf.int32)})
      if num_shards > 1:
        ds = ds.shard(num_shards, shard_id)
      return ds
    return records

  def source(split):
    split_str = tfds_split(name, split)
    transform = transforms[split]

    def decode(record, key, training):
      image = image_feature.decode_example(record["image"])
      image = core.to_rgb(tf.cast(image, tf.float32) / 255.0)
      if transform is not None:
        image = transform(image, key, training, resolution)
      return {"images": image, "labels": record["label"]}

    # The size comes from the record dataset's cardinality (TFDS knows it; no read).
    return lambda: core.StreamSource(records_fn(split_str), decode)

  identity = (f"tfds:{name}:{builder.info.full_name}:{tfds_split(name, 'eval')}:"
              f"{resolution}{extra}")
  return core.ImageDataset(
      name=name, resolution=resolution, num_classes=spec.num_classes,
      eval_test_samples=spec.eval_test_samples, identity=identity,
      sources={core.TRAIN: source(core.TRAIN), core.EVAL: source(core.EVAL)}, seed=seed,
      shuffle_buffer_size=shuffle_buffer_size, num_parallel_calls=num_parallel_calls)


for _name in SPECS:
  registry.register(_name, make_tfds, SPECS[_name].resolution, SPECS[_name].num_classes)
