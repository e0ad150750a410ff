"""Classifiers that turn images into activations: Inception (TF-Hub or frozen graph).

A classifier here is any callable `classifier(images) -> {"pool_3": [N, D], "logits": [N, C]}`
taking NumPy images `[N, H, W, 3]` in [0, 1] and returning NumPy float32, with a `name` that
identifies it (the real-statistics cache is keyed by it).

Preprocessing follows compare_gan (`eval_utils` + tf-gan 0.0.0.dev0's `preprocess_image`):
x255, bilinear resize to 299x299, then (x - 128) / 128, i.e. the module's [-1, 1] range.
compare_gan resized with TF1's `resize_bilinear` (align_corners=False, no half-pixel centres);
TF2's `tf.image.resize` uses half-pixel centres and gives slightly different pixels, so the
default `resize="tf1_bilinear"` calls the TF1 kernel explicitly. `resize="bilinear"` is TF2's
(what tf-gan's current examples use).

tf-gan's `classifier_fn_from_tfhub` fails under Keras 3 (`tf.compat.v1.layers.flatten`), so
the TF-Hub path is our own function around `tensorflow_hub.load(handle)(images)`.
"""

import os

import gin
import numpy as np
import tensorflow as tf

from compare_ssgan import errors

INCEPTION_TFHUB = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
INCEPTION_SIZE = 299
# Environment override of the TF-Hub handle, for clusters without internet.
HANDLE_ENV = "COMPARE_SSGAN_INCEPTION"
GRAPH_ENV = "COMPARE_SSGAN_INCEPTION_GRAPH"
FROZEN_GRAPH_URL = "http://download.tensorflow.org/models/frozen_inception_v1_2015_12_05.tar.gz"
FROZEN_GRAPH_FILE = "inceptionv1_for_inception_score.pb"
RESIZE_METHODS = ("tf1_bilinear", "bilinear")


def preprocess_images(images, size=INCEPTION_SIZE, resize="tf1_bilinear"):
  """[B, H, W, C] in [0, 1] -> [B, size, size, 3] in [-1, 1], compare_gan's way."""
  x = tf.cast(images, tf.float32) * 255.0
  if x.shape[-1] == 1:
    x = tf.tile(x, [1, 1, 1, 3])
  if resize == "tf1_bilinear":
    x = tf.raw_ops.ResizeBilinear(images=x, size=[size, size], align_corners=False,
                                  half_pixel_centers=False)
  elif resize == "bilinear":
    x = tf.image.resize(x, [size, size], method="bilinear")
  else:
    raise errors.ConfigError(f"resize must be one of {RESIZE_METHODS}, got {resize!r}")
  return (x - 128.0) / 128.0


def _check_range(images):
  # compare_gan asserts 0 <= x <= 255 before Inception; out-of-range inputs are a bug upstream.
  lo, hi = float(np.nanmin(images)), float(np.nanmax(images))
  if lo < -1e-3 or hi > 1.0 + 1e-3:
    raise ValueError(f"classifier inputs must be in [0, 1], got range [{lo:.4f}, {hi:.4f}]")


class BatchedClassifier:
  """Runs `_forward` over batches of `batch_size` and concatenates NumPy outputs.

  Subclasses implement `_forward(x)` on preprocessed float32 tensors and set `name`.
  Runs eagerly outside any distribution strategy, so it works whichever strategy trained G.
  """

  name = "classifier"

  def __init__(self, batch_size=64):
    self.batch_size = int(batch_size)
    self.num_calls = 0  # images seen; tests use it to prove caches are hit

  def _forward(self, images):
    raise NotImplementedError

  def __call__(self, images):
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
      raise ValueError(f"images must be [N, H, W, C], got shape {images.shape}")
    _check_range(images)
    self.num_calls += len(images)
    outputs = {"pool_3": [], "logits": []}
    for start in range(0, len(images), self.batch_size):
      out = self._forward(tf.constant(images[start:start + self.batch_size]))
      for key in outputs:
        value = out[key]
        outputs[key].append(tf.reshape(value, [tf.shape(value)[0], -1]).numpy())
    return {k: np.concatenate(v, axis=0).astype(np.float32) for k, v in outputs.items()}


def _load_error(handle, error):
  cache = os.environ.get("TFHUB_CACHE_DIR", "(unset: a temp dir)")
  return errors.ClassifierUnavailableError(
      f"Could not load the Inception module {handle!r} ({type(error).__name__}: {error}).\n"
      "Without internet, provide a local copy: on a machine with internet, download "
      f"{INCEPTION_TFHUB}?tf-hub-format=compressed (the same module is on Kaggle Models as "
      "tensorflow/tfgan/eval/inception), extract the .tar.gz into a directory that then holds "
      "saved_model.pb and variables/, copy it over and pass that directory as the handle: "
      f"gin `inception_classifier.handle = \"/path/dir\"`, `--inception_handle=/path/dir` "
      f"for tools/evaluate.py, or the environment variable {HANDLE_ENV}=/path/dir. "
      "A copied TF-Hub cache also works: set TFHUB_CACHE_DIR to it "
      f"(currently {cache}).")


class TFHubInception(BatchedClassifier):
  """`tensorflow_hub.load(handle)(images)` -> {"pool_3": [N, 2048], "logits": [N, 1008]}.

  `handle` may be a URL (TF-Hub caches it under TFHUB_CACHE_DIR) or a local SavedModel dir.
  The module is loaded on first use, so building the object never touches the network.
  """

  def __init__(self, handle=None, batch_size=64, resize="tf1_bilinear"):
    super().__init__(batch_size)
    self.handle = handle or os.environ.get(HANDLE_ENV) or INCEPTION_TFHUB
    if resize not in RESIZE_METHODS:
      raise errors.ConfigError(f"resize must be one of {RESIZE_METHODS}, got {resize!r}")
    self.resize = resize
    self.name = f"inception-tfhub-{self.handle}-{resize}"
    self._module = None
    self._fn = None

  def _load(self):
    import tensorflow_hub as hub  # pylint: disable=import-outside-toplevel
    try:
      module = hub.load(self.handle)
    except Exception as e:  # pylint: disable=broad-except
      raise _load_error(self.handle, e) from e
    self._module = module

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.float32)])
    def forward(images):
      out = module(preprocess_images(images, resize=self.resize))
      return {"pool_3": out["pool_3"], "logits": out["logits"]}
    self._fn = forward

  def _forward(self, images):
    if self._fn is None:
      self._load()
    return self._fn(images)


class FrozenGraphInception(BatchedClassifier):
  """compare_gan's frozen graph (`inceptionv1_for_inception_score.pb`) through TF2.

  The GraphDef is imported inside `tf.compat.v1.wrap_function` with the preprocessed batch
  mapped onto `input_tensor` (tf-gan 0.0.0.dev0 fed `Mul:0`), fetching `pool_3:0` and
  `logits:0`. For exact comparisons with the paper's numbers.
  """

  def __init__(self, graph_path=None, batch_size=64, resize="tf1_bilinear",
               input_tensor="Mul:0", pool_tensor="pool_3:0", logits_tensor="logits:0"):
    super().__init__(batch_size)
    self.graph_path = graph_path or os.environ.get(GRAPH_ENV)
    if not self.graph_path:
      raise errors.ConfigError(
          f"the frozen-graph Inception needs `graph_path` (gin inception_classifier.graph_path "
          f"or {GRAPH_ENV}): the {FROZEN_GRAPH_FILE} file from {FROZEN_GRAPH_URL}")
    if resize not in RESIZE_METHODS:
      raise errors.ConfigError(f"resize must be one of {RESIZE_METHODS}, got {resize!r}")
    self.resize = resize
    self.tensors = (input_tensor, pool_tensor, logits_tensor)
    self.name = f"inception-graph-{os.path.abspath(self.graph_path)}-{resize}"
    self._fn = None

  def _load(self):
    if not tf.io.gfile.exists(self.graph_path):
      raise errors.ClassifierUnavailableError(
          f"frozen Inception graph {self.graph_path!r} not found: extract {FROZEN_GRAPH_FILE} "
          f"from {FROZEN_GRAPH_URL} and point gin inception_classifier.graph_path at it")
    graph_def = tf.compat.v1.GraphDef()
    with tf.io.gfile.GFile(self.graph_path, "rb") as f:
      graph_def.ParseFromString(f.read())
    input_tensor, pool_tensor, logits_tensor = self.tensors

    def imported(images):
      pool, logits = tf.compat.v1.import_graph_def(
          graph_def, input_map={input_tensor: images},
          return_elements=[pool_tensor, logits_tensor], name="inception")
      return {"pool_3": pool, "logits": logits}

    graph_fn = tf.compat.v1.wrap_function(
        imported, [tf.TensorSpec([None, INCEPTION_SIZE, INCEPTION_SIZE, 3], tf.float32)])

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.float32)])
    def forward(images):
      return graph_fn(preprocess_images(images, resize=self.resize))
    self._fn = forward

  def _forward(self, images):
    if self._fn is None:
      self._load()
    return self._fn(images)


@gin.configurable("inception_classifier")
def inception_classifier(source="tfhub", handle=None, graph_path=None, batch_size=64,
                         resize="tf1_bilinear"):
  """The Inception network for FID/IS/KID. gin: `inception_classifier.*`.

  Args:
    source: "tfhub" (default; tf-gan's module) or "frozen_graph" (compare_gan's .pb).
    handle: TF-Hub URL or local SavedModel directory; default $COMPARE_SSGAN_INCEPTION, then
      tf-gan's module URL.
    graph_path: path of `inceptionv1_for_inception_score.pb` for source="frozen_graph".
    batch_size: images per forward pass (compare_gan: 64).
    resize: "tf1_bilinear" (compare_gan's kernel) or "bilinear" (TF2's half-pixel centres).
  """
  if source == "tfhub":
    return TFHubInception(handle=handle, batch_size=batch_size, resize=resize)
  if source == "frozen_graph":
    return FrozenGraphInception(graph_path=graph_path, batch_size=batch_size, resize=resize)
  raise errors.ConfigError(f"inception_classifier.source must be 'tfhub' or 'frozen_graph', "
                   f"got {source!r}")
