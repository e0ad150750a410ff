"""The offline built-in dataset: coloured glyphs standing on the ground under a sky.

Why it exists: the demo, the CPU tests and newcomers need data without a download. SS-GAN's
self-supervision asks "which way is up?", so every image has an unambiguous orientation:
a sky gradient on top (with a sun in it), ground below, and one of 10 upright glyph shapes
(the class) standing on the ground. Rotating an image by 90/180/270 degrees is therefore
always detectable, as on natural images.

Everything is drawn with vectorised NumPy from `np.random.SeedSequence([seed, split, chunk])`,
so the data is a pure function of (seed, split, index) and does not depend on how many
images are asked for (chunks of `_CHUNK` images are generated independently). Scenes are
drawn at 64x64 and box-filtered down to 32x32 or 16x16 (anti-aliased edges), then stored as
uint8 like any real dataset.

`builtin.colour_by_class = False` gives each glyph a colour drawn from the same palette by an
RNG seeded apart from the labels, so colour carries no class information (a 1-vs-all task
could otherwise be solved from colour alone: see `compare_ssgan.forgetting`).
"""

import functools

import gin
import numpy as np

from compare_ssgan import errors
from compare_ssgan.options import DEFAULT_SEED

NUM_CLASSES = 10
RESOLUTIONS = (16, 32)
_CANVAS = 64           # drawing resolution; 32 and 16 divide it
_CHUNK = 1000          # images per independently seeded chunk
_SPLIT_IDS = {"train": 0, "eval": 1}
_COLOUR_STREAM = 1     # extra SeedSequence entry of the class-free colour draws
VERSION = 1            # bump when the drawing changes: it is part of the dataset identity

# One colour per class (RGB in [0, 1]); none of them is sky blue, sun yellow or grass green.
CLASS_COLOURS = np.array([
    [0.85, 0.10, 0.10],  # 0 triangle: red
    [0.95, 0.55, 0.05],  # 1 house: orange
    [0.95, 0.95, 0.95],  # 2 pillar: white
    [0.10, 0.10, 0.10],  # 3 tree: black
    [0.60, 0.15, 0.75],  # 4 T: purple
    [0.95, 0.40, 0.70],  # 5 cross: pink
    [0.05, 0.70, 0.75],  # 6 L: cyan
    [0.45, 0.25, 0.10],  # 7 arch: dark brown
    [0.20, 0.20, 0.85],  # 8 mushroom: blue
    [0.55, 0.55, 0.55],  # 9 arrow: grey
], np.float32)

CLASS_NAMES = ("triangle", "house", "pillar", "tree", "T", "cross", "L", "arch", "mushroom",
               "arrow")


def _glyph_mask(cls, a, b):
  """Mask of glyph `cls` in its box coordinates: `a` left->right, `b` bottom->top, in [0, 1].

  Every shape is upright: its bottom rests on b = 0 and none is symmetric under a
  180-degree turn.
  """
  inside = (a >= 0) & (a <= 1) & (b >= 0) & (b <= 1)
  c = np.abs(a - 0.5)
  if cls == 0:    # triangle, apex up
    m = c < 0.5 * (1 - b)
  elif cls == 1:  # house: walls and a roof
    m = ((b < 0.6) & (c < 0.4)) | ((b >= 0.6) & (c < 0.5 * (1 - b) / 0.4))
  elif cls == 2:  # pillar with a capital and a wider base
    m = (c < 0.2) | ((b > 0.85) & (c < 0.4)) | ((b < 0.08) & (c < 0.3))
  elif cls == 3:  # tree: trunk and round crown
    m = ((c < 0.08) & (b < 0.5)) | ((a - 0.5) ** 2 + ((b - 0.68) * 1.2) ** 2 < 0.1)
  elif cls == 4:  # T
    m = (c < 0.12) | (b > 0.8)
  elif cls == 5:  # cross with a long lower arm
    m = (c < 0.1) | ((b > 0.6) & (b < 0.76) & (c < 0.4))
  elif cls == 6:  # L
    m = (a < 0.3) | (b < 0.22)
  elif cls == 7:  # arch (an upside-down U)
    m = (a < 0.28) | (a > 0.72) | (b > 0.72)
  elif cls == 8:  # mushroom: stem and half-disc cap
    m = ((c < 0.12) & (b < 0.55)) | ((b >= 0.5) & ((a - 0.5) ** 2 / 0.25 +
                                                   (b - 0.5) ** 2 / 0.25 < 1))
  else:           # arrow pointing up
    m = ((c < 0.12) & (b < 0.6)) | ((b >= 0.6) & (c < 0.5 * (1 - b) / 0.4))
  return inside & m


def _draw_chunk(rng, n, colour_ids=None):
  """Draws n scenes at `_CANVAS` resolution: float32 [n, S, S, 3] in [0, 1], labels [n].

  Glyph i gets `CLASS_COLOURS[colour_ids[i]]`; None means the colour of its class.
  """
  s = _CANVAS
  v = ((np.arange(s, dtype=np.float32) + 0.5) / s)[None, :, None]  # rows, top -> bottom
  u = ((np.arange(s, dtype=np.float32) + 0.5) / s)[None, None, :]  # columns

  labels = rng.permutation(np.arange(n) % NUM_CLASSES).astype(np.int32)
  col = lambda x: np.asarray(x, np.float32)[:, None, None]  # per-image scalar -> [n,1,1]

  horizon = col(rng.uniform(0.56, 0.70, n))
  # Sky: deep blue at the top to pale at the horizon, hue jittered per image.
  top = np.array([0.10, 0.30, 0.75], np.float32) + rng.uniform(-0.08, 0.08, (n, 3))
  low = np.array([0.70, 0.85, 0.97], np.float32) + rng.uniform(-0.05, 0.03, (n, 3))
  t = np.clip(v / horizon, 0, 1)[..., None]                               # [n, S, 1, 1]
  sky = top[:, None, None, :] * (1 - t) + low[:, None, None, :] * t       # [n, S, 1, 3]
  # Ground: between grass and earth, darker towards the bottom.
  mix = rng.uniform(0, 1, (n, 1))
  ground_col = (np.array([0.25, 0.55, 0.20], np.float32) * (1 - mix) +
                np.array([0.50, 0.36, 0.18], np.float32) * mix)
  depth = np.clip((v - horizon) / (1 - horizon), 0, 1)[..., None]
  ground = ground_col[:, None, None, :] * (1 - 0.45 * depth)             # [n, S, 1, 3]
  img = np.empty((n, s, s, 3), np.float32)
  img[:] = np.where((v < horizon)[..., None], sky, ground)              # broadcast over columns

  # Sun: a yellow disc high in the sky.
  sun_u, sun_v = col(rng.uniform(0.1, 0.9, n)), col(rng.uniform(0.08, 0.25, n))
  sun_r = col(rng.uniform(0.06, 0.10, n))
  sun = ((u - sun_u) ** 2 + (v - sun_v) ** 2 < sun_r ** 2) & (v < horizon - 0.05)
  img[sun] = np.array([1.0, 0.88, 0.30], np.float32)

  # Glyph: standing on the ground a little in front of the horizon.
  base = horizon + col(rng.uniform(0.03, 0.12, n))
  height = col(rng.uniform(0.36, 0.50, n))
  width = height * col(rng.uniform(0.65, 0.95, n))
  centre = col(rng.uniform(0.28, 0.72, n))
  a = (u - centre) / width + 0.5
  b = (base - v) / height
  shade = rng.uniform(0.85, 1.0, (n, 1)).astype(np.float32)
  colour = CLASS_COLOURS[labels if colour_ids is None else colour_ids] * shade
  for cls in range(NUM_CLASSES):
    idx = np.nonzero(labels == cls)[0]
    if idx.size:
      sub = img[idx]
      mask = _glyph_mask(cls, a[idx], b[idx])
      sub[mask] = np.repeat(colour[idx], mask.reshape(idx.size, -1).sum(1), axis=0)
      img[idx] = sub
  return img, labels


def _downsample(images, resolution):
  """Box filter from `_CANVAS` to `resolution` (anti-aliased edges), by repeated halving
  (strided adds are several times faster than a reshape-mean)."""
  while images.shape[1] > resolution:
    images = 0.25 * (images[:, 0::2, 0::2] + images[:, 1::2, 0::2] +
                     images[:, 0::2, 1::2] + images[:, 1::2, 1::2])
  return images


def colour_ids(seed, split, chunk, n=_CHUNK):
  """Palette indices of one chunk's glyphs when colour is independent of the class.

  Drawn from their own SeedSequence (`[seed, split, chunk, _COLOUR_STREAM]`), never from the
  stream that draws the labels, so colour and class are independent by construction.
  """
  rng = np.random.default_rng(
      np.random.SeedSequence([int(seed), _SPLIT_IDS[split], chunk, _COLOUR_STREAM]))
  return rng.integers(0, NUM_CLASSES, n).astype(np.int32)


@functools.lru_cache(maxsize=8)
def generate(resolution, num_examples, seed, split="train", colour_by_class=True):
  """Returns (uint8 images [N, R, R, 3], int32 labels [N]); a pure function of the args.

  Image i is the same for any `num_examples > i` (chunks are seeded independently).
  `colour_by_class=False` recolours the glyphs from `colour_ids` (everything else, labels
  included, stays the same). Cached: the arrays are read-only.
  """
  if resolution not in RESOLUTIONS:
    raise errors.ConfigError(f"builtin dataset resolution must be one of {RESOLUTIONS}, got {resolution}")
  if split not in _SPLIT_IDS:
    raise errors.ConfigError(f"builtin split must be one of {sorted(_SPLIT_IDS)}, got {split!r}")
  images = np.empty((num_examples, resolution, resolution, 3), np.uint8)
  labels = np.empty((num_examples,), np.int32)
  for chunk, start in enumerate(range(0, num_examples, _CHUNK)):
    n = min(_CHUNK, num_examples - start)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _SPLIT_IDS[split], chunk]))
    ids = None if colour_by_class else colour_ids(seed, split, chunk)
    img, lab = _draw_chunk(rng, _CHUNK, ids)   # always a full chunk: prefix-stable
    img = _downsample(img[:n], resolution)
    img += 0.015 * rng.standard_normal(img.shape, dtype=np.float32)
    np.clip(img, 0, 1, out=img)
    images[start:start + n] = np.round(img * 255).astype(np.uint8)
    labels[start:start + n] = lab[:n]
  images.flags.writeable = False
  labels.flags.writeable = False
  return images, labels


@gin.configurable("builtin")
def builtin_sizes(num_train=10000, num_eval=1000, eval_test_samples=1000, colour_by_class=True):
  """Split sizes and variant of `builtin_16` / `builtin_32` (gin `builtin.*`).

  `colour_by_class=False`: glyph colours independent of the class (see the module docstring).
  """
  if eval_test_samples > num_eval:
    raise errors.ConfigError(f"builtin.eval_test_samples={eval_test_samples} exceeds "
                     f"builtin.num_eval={num_eval}")
  return dict(num_train=int(num_train), num_eval=int(num_eval),
              eval_test_samples=int(eval_test_samples), colour_by_class=bool(colour_by_class))


def make_builtin(name, resolution, seed=DEFAULT_SEED, **pipeline_kwargs):
  """`builtin_16` / `builtin_32` as an `ImageDataset` (arrays generated on first use)."""
  from compare_ssgan.datasets import core  # pylint: disable=import-outside-toplevel
  sizes = builtin_sizes()
  pipeline_kwargs = {k: v for k, v in pipeline_kwargs.items()
                     if k in ("shuffle_buffer_size", "num_parallel_calls")}

  by_class = sizes["colour_by_class"]

  def split_source(split, num):
    return lambda: core.array_source(*generate(resolution, num, seed, split, by_class))

  identity = (f"{name}-v{VERSION}-seed{seed}-train{sizes['num_train']}-"
              f"eval{sizes['num_eval']}" + ("" if by_class else "-colourfree"))
  dataset = core.ImageDataset(
      name=name, resolution=resolution, num_classes=NUM_CLASSES,
      eval_test_samples=sizes["eval_test_samples"], identity=identity, seed=seed,
      sources={core.TRAIN: split_source("train", sizes["num_train"]),
               core.EVAL: split_source("eval", sizes["num_eval"])},
      **pipeline_kwargs)
  dataset.class_names = list(CLASS_NAMES)   # as image_folder's datasets carry theirs
  return dataset
