"""`image_folder`: train on your own directory of images (gin `dataset.name = "image_folder"`).

Files (PNG/JPEG/WebP/BMP, recursively) are validated up front with the very decoder the
pipeline uses, in a parallel tf.data pass: a file that would crash training mid-run (corrupt,
empty, not really an image) is skipped with a warning and counted instead. Images are
decoded with `channels=0` (TF's `decode_image(channels=3)` rejects RGBA WebP) and converted
to RGB, centre-cropped to a square and resized.

The eval split is a stable hold-out: the `eval_fraction` of files with the smallest hash of
their relative path, so adding files never moves an old file between splits.
"""

import hashlib
import math

import gin
import numpy as np
import tensorflow as tf
from absl import logging

from compare_ssgan import errors
from compare_ssgan.datasets import core
from compare_ssgan.datasets import registry

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
_MAX_NAMES_IN_WARNING = 10


@gin.configurable("image_folder")
def image_folder_options(path=gin.REQUIRED, resolution=64, eval_fraction=0.05,
                         use_class_subfolders=False, eval_test_samples=None,
                         alpha_background=1.0):
  """The folder dataset's settings (gin `image_folder.*`).

  Args:
    path: the folder; searched recursively.
    resolution: output side; images are centre-cropped to a square, then resized.
    eval_fraction: share of files held out as the eval split (0: eval on all train files).
    use_class_subfolders: label = index of the first-level subfolder (sorted by name); the
      class count then reaches a conditional G/D through `num_classes`.
    eval_test_samples: real images for FID/KID (default: the eval split, at most 10,000).
    alpha_background: grey level that transparent pixels are composited over (None: drop
      alpha).
  """
  if not 0 <= eval_fraction < 1:
    raise errors.ConfigError(f"image_folder.eval_fraction must be in [0, 1), got {eval_fraction}")
  return dict(path=str(path), resolution=int(resolution), eval_fraction=float(eval_fraction),
              use_class_subfolders=bool(use_class_subfolders),
              eval_test_samples=eval_test_samples, alpha_background=alpha_background)


def scan(path, use_class_subfolders=False):
  """Sorted relative paths ("/"-separated) of candidate image files, and the other files.

  Walks with `tf.io.gfile`, so `path` may be a URL (gs://, ram://). With class subfolders,
  files directly under `path` have no class and are left out (they are counted with the
  other files).
  """
  if not tf.io.gfile.isdir(path):
    raise errors.ConfigError(f"image_folder.path {path!r} is not a directory")
  prefix = path.rstrip("/") + "/"
  images, others = [], []
  for dirpath, dirnames, files in tf.io.gfile.walk(path):
    dirnames.sort()
    rel_dir = (dirpath.rstrip("/") + "/")[len(prefix):]
    for f in sorted(files):
      rel = rel_dir + f
      if f.startswith("."):
        continue
      is_image = f.lower().endswith(IMAGE_EXTENSIONS)
      if is_image and use_class_subfolders and "/" not in rel:
        is_image = False
      (images if is_image else others).append(rel)
  return sorted(images), others


def _decode(contents, min_side=None):
  """Bytes -> float32 [H, W, C] in [0, 1], C in 1..4 (PNG/JPEG/WebP/BMP/GIF first frame).

  With `min_side`, a JPEG is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling)
  while its shorter side stays >= `min_side`: photos are usually far larger than the
  training resolution, and full-size decoding dominates the pipeline's cost.
  """
  def any_format():
    return tf.io.decode_image(contents, channels=0, expand_animations=False, dtype=tf.uint8)

  def jpeg():
    shape = tf.io.extract_jpeg_shape(contents)
    short = tf.minimum(shape[0], shape[1])
    index = tf.add_n([tf.cast(short >= k * min_side, tf.int32) for k in (2, 4, 8)])
    return tf.switch_case(index, [lambda r=r: tf.io.decode_jpeg(contents, ratio=r)
                                  for r in (1, 2, 4, 8)])

  if min_side is None:
    image = any_format()
  else:
    is_jpeg = tf.equal(tf.strings.substr(contents, 0, 3), b"\xff\xd8\xff")
    image = tf.cond(is_jpeg, jpeg, any_format)
  return tf.cast(image, tf.float32) / 255.0


def file_sizes(paths, min_side=None, num_parallel_calls=core.AUTOTUNE):
  """Byte sizes of the files, -1 where the pipeline's decoder does not read a non-empty
  1-4 channel image. One parallel tf.data pass reads each file once (a bucket answers a
  read as fast as a stat)."""
  sizes = np.full((len(paths),), -1, np.int64)
  if not paths:
    return sizes

  def check(i, p):
    contents = tf.io.read_file(p)
    shape = tf.shape(_decode(contents, min_side))
    ok = tf.reduce_all([shape[0] > 0, shape[1] > 0, shape[2] >= 1, shape[2] <= 4])
    with tf.control_dependencies([tf.debugging.Assert(ok, [p, shape])]):
      return tf.identity(i), tf.cast(tf.strings.length(contents), tf.int64)

  ds = tf.data.Dataset.from_tensor_slices((tf.range(len(paths), dtype=tf.int64),
                                           tf.constant(paths)))
  ds = ds.map(check, num_parallel_calls=num_parallel_calls)
  ds = ds.ignore_errors()
  for i, size in ds.as_numpy_iterator():
    sizes[i] = size
  return sizes


def validate(paths, min_side=None, num_parallel_calls=core.AUTOTUNE):
  """Boolean mask of the files the pipeline's decoder reads as a non-empty 1-4 channel image."""
  return file_sizes(paths, min_side, num_parallel_calls) >= 0


def _join(root, rel):
  """`root`/`rel` for local folders and URLs alike (`rel` is "/"-separated)."""
  return root.rstrip("/") + "/" + rel


def _eval_rank(rel):
  return hashlib.sha1(rel.encode("utf-8")).hexdigest()


def _readable_files(root, opts, num_parallel_calls):
  """(files, byte sizes, unreadable, other files) under `root`, warning about the last two."""
  candidates, others = scan(root, opts["use_class_subfolders"])
  all_sizes = file_sizes([_join(root, r) for r in candidates], opts["resolution"],
                         num_parallel_calls)
  bad = [r for r, n in zip(candidates, all_sizes) if n < 0]
  if bad:
    logging.warning("image_folder: skipped %d unreadable/corrupt/empty image file(s) of %d "
                    "in %s: %s%s", len(bad), len(candidates), root,
                    ", ".join(bad[:_MAX_NAMES_IN_WARNING]),
                    " ..." if len(bad) > _MAX_NAMES_IN_WARNING else "")
  if others:
    logging.warning("image_folder: ignored %d file(s) that are not %s images%s in %s: %s%s",
                    len(others), "/".join(e[1:] for e in IMAGE_EXTENSIONS),
                    " inside a class subfolder" if opts["use_class_subfolders"] else "",
                    root, ", ".join(others[:_MAX_NAMES_IN_WARNING]),
                    " ..." if len(others) > _MAX_NAMES_IN_WARNING else "")
  files = [r for r, n in zip(candidates, all_sizes) if n >= 0]
  if not files:
    raise errors.ConfigError(
        f"image_folder: no readable images in {root!r} (looked for "
        f"{', '.join(IMAGE_EXTENSIONS)} recursively"
        f"{', inside class subfolders' if opts['use_class_subfolders'] else ''}; "
        f"{len(bad)} unreadable, {len(others)} other files)")
  return files, [int(n) for n in all_sizes if n >= 0], bad, others


def _labels(files, use_class_subfolders):
  """(class names, int32 labels): the first path component is the class."""
  if not use_class_subfolders:
    return [], np.zeros((len(files),), np.int32)
  class_names = sorted({r.split("/", 1)[0] for r in files})
  index = {c: i for i, c in enumerate(class_names)}
  return class_names, np.array([index[r.split("/", 1)[0]] for r in files], np.int32)


def _split_indices(files, eval_fraction):
  """({split: indices}, number held out): a stable, hash-ranked hold-out."""
  num_eval = 0
  if eval_fraction > 0 and len(files) > 1:
    num_eval = min(len(files) - 1, max(1, int(math.ceil(eval_fraction * len(files)))))
  held_out = set(sorted(files, key=_eval_rank)[:num_eval])
  is_eval = np.array([r in held_out for r in files])
  if num_eval:
    return {core.TRAIN: np.nonzero(~is_eval)[0], core.EVAL: np.nonzero(is_eval)[0]}, num_eval
  # No hold-out: statistics are computed on the training files.
  return {core.TRAIN: np.arange(len(files)), core.EVAL: np.arange(len(files))}, 0


def make_image_folder(name="image_folder", seed=core.DEFAULT_SEED, shuffle_buffer_size=10000,
                      num_parallel_calls=core.AUTOTUNE, **unused):
  """An `ImageDataset` over `image_folder.path` (see the module docstring)."""
  del unused
  opts = image_folder_options()
  root, resolution = opts["path"], opts["resolution"]
  files, sizes, bad, others = _readable_files(root, opts, num_parallel_calls)
  class_names, labels = _labels(files, opts["use_class_subfolders"])
  split_idx, num_eval = _split_indices(files, opts["eval_fraction"])
  eval_test_samples = opts["eval_test_samples"]
  if eval_test_samples is None:
    eval_test_samples = min(len(split_idx[core.EVAL]), 10000)

  digest = hashlib.sha256()
  for r, s, lab in zip(files, sizes, labels):
    digest.update(f"{r}\t{s}\t{lab}\n".encode("utf-8"))
  digest.update(repr((resolution, num_eval, opts["use_class_subfolders"],
                      opts["alpha_background"])).encode("utf-8"))
  identity = f"image_folder:{root.rstrip('/').rsplit('/', 1)[-1]}:{digest.hexdigest()[:16]}"
  alpha_background = opts["alpha_background"]

  def source(split):
    idx = split_idx[split]
    paths = tf.constant([_join(root, files[i]) for i in idx] or [""])
    labs = tf.constant(labels[idx] if len(idx) else np.zeros((1,), np.int32))

    def fetch(i):
      return {"path": tf.gather(paths, i), "label": tf.gather(labs, i)}

    def decode(record, key, training):
      del key, training
      image = core.to_rgb(_decode(tf.io.read_file(record["path"]), resolution),
                           alpha_background)
      image = core.resize(core.center_crop_square(image), resolution, antialias=True)
      return {"images": tf.clip_by_value(image, 0.0, 1.0), "labels": record["label"]}

    return lambda: core.ArraySource(len(idx), fetch, decode)

  ds = core.ImageDataset(
      name=name, resolution=resolution, num_classes=len(class_names),
      eval_test_samples=eval_test_samples, identity=identity,
      sources={core.TRAIN: source(core.TRAIN), core.EVAL: source(core.EVAL)}, seed=seed,
      shuffle_buffer_size=shuffle_buffer_size, num_parallel_calls=num_parallel_calls)
  ds.class_names = class_names
  ds.files = {s: [files[i] for i in idx] for s, idx in split_idx.items()}
  ds.skipped_files = bad
  ds.ignored_files = others
  return ds


registry.register("image_folder", make_image_folder)
