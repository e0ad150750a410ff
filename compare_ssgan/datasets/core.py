"""`ImageDataset` and the input pipeline shared by every dataset.

Why not compare_gan's pipeline (`repeat -> shuffle(buffer, seed) -> batch`)? Its order
depends on a stateful shuffle buffer, so resuming means checkpointing the iterator (which
`tf.distribute` iterators cannot do, and which stores the whole buffer). Here the order is a
pure function of `(seed, split, position)`:

* random-access sources (in-memory arrays, file lists) map a stream position p to
  epoch e = p // N and `tf.random.experimental.index_shuffle(p % N, key(seed, e), N - 1)`:
  a full per-epoch permutation computed by index arithmetic, so `start_batch` costs nothing;
* streaming sources (TFDS record files) are shuffled in blocks of `shuffle_buffer_size`
  records with a stateless permutation keyed by `(seed, epoch, block)`; whole epochs are
  skipped by arithmetic, and inside an epoch records are skipped before they are decoded.

Per-example randomness (ImageNet's distorted crop) is keyed by `(seed, position)`, never by a
stateful op, so it does not depend on `tf.random.set_seed` either.
"""

from typing import Callable, Dict, Optional

import numpy as np
import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.options import DEFAULT_SEED

AUTOTUNE = tf.data.AUTOTUNE
TRAIN, EVAL = "train", "eval"
_SPLIT_ALIASES = {"train": TRAIN, "eval": EVAL, "test": EVAL, "validation": EVAL}

# Purposes folded into the seed so the shuffles and the crops never share random numbers.
_PURPOSE_SHUFFLE = 1
_PURPOSE_BLOCK = 2
_PURPOSE_EXAMPLE = 3


def canonical_split(split):
  """'train' or 'eval' ('test' and 'validation' are accepted for eval)."""
  key = str(split).lower()
  if key not in _SPLIT_ALIASES:
    raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
  return _SPLIT_ALIASES[key]


def stateless_key(seed, *data):
  """A stateless-RNG key [2] (int64) from an int seed and any int tensors, folded in order."""
  key = tf.stack([tf.constant(0, tf.int64), tf.cast(seed, tf.int64)])
  for d in data:
    key = tf.random.experimental.stateless_fold_in(key, tf.cast(d, tf.int64))
  return key


def to_rgb(image, alpha_background=1.0):
  """Any decoded image [H, W, C in 1..4] (float [0, 1]) -> [H, W, 3].

  Gray is tiled; an alpha channel is composited over a constant background (`alpha_background`
  in [0, 1]; None drops alpha as PIL's `convert("RGB")` does).
  """
  channels = tf.shape(image)[-1]

  def gray():
    return tf.tile(image[..., :1], [1, 1, 3])

  def rgba():
    rgb = image[..., :3]
    if alpha_background is None:
      return rgb
    alpha = image[..., 3:4]
    return rgb * alpha + float(alpha_background) * (1.0 - alpha)

  def gray_alpha():
    g = tf.tile(image[..., :1], [1, 1, 3])
    if alpha_background is None:
      return g
    alpha = image[..., 1:2]
    return g * alpha + float(alpha_background) * (1.0 - alpha)

  branches = [gray, gray_alpha, lambda: image[..., :3], rgba]
  static = image.shape[-1]
  if static is not None:
    if not 1 <= static <= 4:
      raise ValueError(f"images must have 1 to 4 channels, got {static}")
    out = branches[static - 1]()
  else:
    out = tf.switch_case(tf.clip_by_value(channels, 1, 4) - 1, branches)
  out.set_shape([None, None, 3])
  return out


def center_crop_square(image):
  """The largest central square of an [H, W, C] image."""
  shape = tf.shape(image)
  h, w = shape[0], shape[1]
  size = tf.minimum(h, w)
  return tf.image.crop_to_bounding_box(image, (h - size) // 2, (w - size) // 2, size, size)


def resize(image, resolution, antialias=False, tf1=False):
  """Bilinear resize to [resolution, resolution] (skipped when already that size).

  `tf1=True` reproduces TF1's `tf.image.resize_images` (compare_gan's): no half-pixel
  centres, no antialiasing. TF2's `tf.image.resize` samples at half-pixel centres and gives
  different pixels, which would shift real-image FID statistics.
  """
  shape = tf.shape(image)
  same = tf.logical_and(tf.equal(shape[0], resolution), tf.equal(shape[1], resolution))

  def do_resize():
    if tf1:
      return tf.raw_ops.ResizeBilinear(images=tf.cast(image, tf.float32)[None],
                                       size=[resolution, resolution], align_corners=False,
                                       half_pixel_centers=False)[0]
    return tf.image.resize(image, [resolution, resolution], method="bilinear",
                           antialias=antialias)

  out = tf.cond(same, lambda: tf.cast(image, tf.float32), do_resize)
  out.set_shape([resolution, resolution, image.shape[-1]])
  return out


class ArraySource:
  """A random-access split: `num_examples` records fetched by index inside the pipeline.

  `fetch(index) -> record` and `decode(record, key, training) -> element` are graph
  functions; `key` is a stateless-RNG key for per-example randomness.
  """

  random_access = True

  def __init__(self, num_examples: int, fetch: Callable, decode: Callable):
    self.num_examples = int(num_examples)
    self.fetch = fetch
    self.decode = decode


class StreamSource:
  """A split read in a fixed order from files (TFDS): `records(shard_id, num_shards)` gives a
  deterministic `tf.data.Dataset` of undecoded records; `decode` as in `ArraySource`."""

  random_access = False

  def __init__(self, records: Callable, decode: Callable, num_examples: Optional[int] = None):
    self.records = records
    self.decode = decode
    self.num_examples = num_examples


def _shard_size(n, shard_id, num_shards):
  return max(0, (n - shard_id + num_shards - 1) // num_shards)


def _count(ds):
  n = int(ds.cardinality())
  if n >= 0:
    return n
  if n == tf.data.INFINITE_CARDINALITY:
    raise ValueError("a dataset split is infinite")
  return int(ds.reduce(tf.constant(0, tf.int64), lambda c, _: c + 1))


class ImageDataset:
  """A dataset per the element contract (WORKSPACE_NOTES.md, Interfaces).

  Attributes: `name`, `resolution`, `colors` (3), `num_classes` (0 = unconditional),
  `eval_test_samples`, `identity` (changes when the data changes), `seed` (gin
  `dataset.seed`), `shuffle_buffer_size` (block size of streaming sources).
  """

  colors = 3

  def __init__(self, name: str, resolution: int, num_classes: int, eval_test_samples: int,
               identity: str, sources: Dict[str, Callable], seed: int = DEFAULT_SEED,
               shuffle_buffer_size: int = 10000, num_parallel_calls=AUTOTUNE):
    self.name = name
    self.resolution = int(resolution)
    self.num_classes = int(num_classes)
    self.eval_test_samples = int(eval_test_samples)
    self.identity = identity
    self.seed = int(seed)
    self.shuffle_buffer_size = int(shuffle_buffer_size)
    self.num_parallel_calls = num_parallel_calls
    self._source_fns = sources   # split -> () -> ArraySource | StreamSource (built lazily)
    self._sources = {}

  def __repr__(self):
    return (f"ImageDataset({self.name!r}, resolution={self.resolution}, "
            f"num_classes={self.num_classes}, eval_test_samples={self.eval_test_samples})")

  def source(self, split):
    split = canonical_split(split)
    if split not in self._sources:
      self._sources[split] = self._source_fns[split]()
    return self._sources[split]

  def num_examples(self, split):
    """Examples in a split (counted once for streaming sources of unknown size)."""
    src = self.source(split)
    if src.num_examples is None:
      src.num_examples = _count(src.records(0, 1))
    return src.num_examples

  # -- pipelines -------------------------------------------------------------------------

  def _positions_and_records(self, src, training, seed, start, shard_id, num_shards):
    """(position, record) pairs of one shard, starting at example `start` of its stream."""
    seed = int(seed)
    if src.random_access:
      n = _shard_size(src.num_examples, shard_id, num_shards)
      if n == 0:
        raise ValueError(f"{self.name}: shard {shard_id}/{num_shards} of the split is empty")
      positions = tf.data.Dataset.range(start, tf.int64.max if training else n)

      def fetch(pos):
        if training:
          epoch, i = pos // n, pos % n
          i = tf.random.experimental.index_shuffle(
              i, stateless_key(seed, _PURPOSE_SHUFFLE, epoch), tf.cast(n - 1, tf.int64))
        else:
          i = pos
        return pos, src.fetch(i * num_shards + shard_id)

      return positions.map(fetch, num_parallel_calls=self.num_parallel_calls)

    records = src.records(shard_id, num_shards)
    if not training:
      return tf.data.Dataset.zip(tf.data.Dataset.range(start, tf.int64.max),
                                 records.skip(start))
    n = src.num_examples
    if n is None:
      n = src.num_examples = _count(src.records(0, 1))
    n = _shard_size(n, shard_id, num_shards)
    if n == 0:
      raise ValueError(f"{self.name}: shard {shard_id}/{num_shards} of the split is empty")
    block = max(1, min(self.shuffle_buffer_size, n))
    first_epoch, offset = divmod(start, n)
    first_block, offset = divmod(offset, block)

    def epoch_stream(epoch, skip_blocks):
      def shuffle_block(b, recs):
        size = tf.shape(tf.nest.flatten(recs)[0])[0]
        perm = tf.random.experimental.index_shuffle(
            tf.range(size, dtype=tf.int64), stateless_key(seed, _PURPOSE_BLOCK, epoch, b),
            tf.cast(size - 1, tf.int64))
        return tf.nest.map_structure(lambda t: tf.gather(t, perm), recs)
      blocks = records.skip(skip_blocks * block).batch(block)
      blocks = tf.data.Dataset.zip(tf.data.Dataset.range(skip_blocks, tf.int64.max), blocks)
      return blocks.map(shuffle_block).unbatch()

    stream = epoch_stream(tf.constant(first_epoch, tf.int64),
                          tf.constant(first_block, tf.int64)).skip(offset)
    rest = tf.data.Dataset.range(first_epoch + 1, tf.int64.max).flat_map(
        lambda e: epoch_stream(e, tf.constant(0, tf.int64)))
    return tf.data.Dataset.zip(tf.data.Dataset.range(start, tf.int64.max),
                               stream.concatenate(rest))

  def _elements(self, split, seed, start=0, input_context=None):
    split = canonical_split(split)
    training = split == TRAIN
    shard_id, num_shards = 0, 1
    if input_context is not None:
      shard_id = int(input_context.input_pipeline_id)
      num_shards = int(input_context.num_input_pipelines)
      seed = int(seed) + shard_id
    src = self.source(split)
    pairs = self._positions_and_records(src, training, seed, start, shard_id, num_shards)

    def decode(pos, record):
      element = src.decode(record, stateless_key(seed, _PURPOSE_EXAMPLE, pos), training)
      images = tf.cast(element["images"], tf.float32)
      images.set_shape([self.resolution, self.resolution, 3])
      labels = tf.cast(element.get("labels", 0), tf.int32)
      labels.set_shape([])
      return {"images": images, "labels": labels}

    return pairs.map(decode, num_parallel_calls=self.num_parallel_calls, deterministic=True)

  def input_fn(self, split, batch_size, seed=None, start_batch=0, input_context=None):
    """A batched `tf.data.Dataset` of `{"images", "labels"}` (see the class docstring).

    Args:
      split: "train" (repeated, shuffled per epoch) or "eval" (one pass, file order).
      batch_size: examples per element of THIS pipeline (with `input_context`, the caller
        passes the per-pipeline batch size); `drop_remainder=True`.
      seed: the order's seed (default: gin `dataset.seed`); with `input_context` pipeline
        i uses `seed + i` and reads shard i of `num_input_pipelines`.
      start_batch: the first batch to emit, as if `start_batch` batches had been consumed.
    """
    seed = self.seed if seed is None else int(seed)
    start = int(start_batch) * int(batch_size)
    ds = self._elements(split, seed, start, input_context)
    ds = ds.batch(int(batch_size), drop_remainder=True)
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(AUTOTUNE)

  def eval_images(self, n, batch_size=256):
    """The first `n` eval images, unshuffled: float32 numpy [n, H, W, 3] in [0, 1]."""
    n = int(n)
    available = self.num_examples(EVAL)
    if n > available:
      raise errors.ConfigError(f"{self.name}: asked for {n} eval images but the eval split has "
                       f"{available}")
    ds = self._elements(EVAL, self.seed).take(n).batch(min(batch_size, max(n, 1)))
    chunks = [b["images"].numpy() for b in ds.prefetch(AUTOTUNE)]
    if not chunks:
      return np.zeros((0, self.resolution, self.resolution, 3), np.float32)
    return np.concatenate(chunks, axis=0)

  def first_examples(self, split, num, seed=None, batch_size=250):
    """(images float32 [num, H, W, 3] in [0, 1], labels int32 [num]): the first `num`
    examples of a split. Eval: file order, at most the split's size (asking for more is an
    error). Train: the order training sees for `seed` (default `dataset.seed`), repeating
    epochs, so always exactly `num`. The one definition of "the first N images" that
    evaluation, linear probes and the domain classifier share."""
    num = int(num)
    if canonical_split(split) == EVAL:
      available = self.num_examples(EVAL)
      if num > available:
        raise errors.ConfigError(f"{self.name}: asked for {num} eval images but the eval split "
                               f"has {available}")
      ds = self._elements(EVAL, self.seed).take(num).batch(batch_size)
    else:
      ds = self.input_fn(TRAIN, batch_size, self.seed if seed is None else seed)
      ds = ds.take(-(-num // batch_size))
    images, labels = [], []
    for batch in ds.prefetch(AUTOTUNE):
      images.append(batch["images"].numpy())
      labels.append(batch["labels"].numpy())
    if not images:
      return (np.zeros((0, self.resolution, self.resolution, 3), np.float32),
              np.zeros((0,), np.int32))
    return (np.concatenate(images)[:num].astype(np.float32),
            np.concatenate(labels)[:num].astype(np.int32))

  def eval_labels(self, n):
    """Labels of the first `n` eval examples (int32 numpy [n])."""
    ds = self._elements(EVAL, self.seed).take(int(n)).map(lambda e: e["labels"])
    return np.fromiter(ds.as_numpy_iterator(), np.int32, count=-1)


def array_source(images: np.ndarray, labels: Optional[np.ndarray] = None) -> ArraySource:
  """An in-memory uint8 [N, H, W, C] split (already at the target resolution)."""
  images_t = tf.constant(images)
  labels_t = tf.constant(np.zeros(len(images), np.int32) if labels is None else labels,
                         tf.int32)

  def fetch(i):
    return {"image": tf.gather(images_t, i), "label": tf.gather(labels_t, i)}

  def decode(record, key, training):
    del key, training
    image = tf.cast(record["image"], tf.float32) / 255.0
    return {"images": to_rgb(image), "labels": record["label"]}

  return ArraySource(len(images), fetch, decode)
