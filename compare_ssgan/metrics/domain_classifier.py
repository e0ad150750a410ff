"""A small CNN trained on the dataset itself: offline FID/IS for the built-in dataset.

The demo runs without internet, so it cannot download Inception. Instead we train a small
Keras CNN on the dataset's labelled training images (or, for an unlabelled dataset, on the
self-supervised task of predicting rotations), deterministically and in a few seconds, cache
its weights on disk, and use its penultimate layer as `pool_3` and its class scores as
`logits`. Its Frechet distance is not comparable with an Inception FID; it is comparable
across checkpoints of one run, which is what the demo needs (it should fall as G improves).
"""

import hashlib
import os
import shutil
import tempfile

import gin
import keras
import numpy as np
import tensorflow as tf

from compare_ssgan.metrics import cache
from compare_ssgan.metrics.cache import default_cache_dir, key_digest
from compare_ssgan.metrics.inception import BatchedClassifier

_ARCH_VERSION = "v3"  # bump when the network or training changes: invalidates caches


class FeatureScale(keras.layers.Layer):
  """Multiplies by a stored scalar, set after training so features have unit RMS.

  KID's kernel (a.b/d + 1)^3 assumes Inception-sized activations; unscaled ReLU features of
  a small CNN are large and make the unbiased estimate swing by thousands.
  """

  def build(self, input_shape):
    self.scale = self.add_weight(shape=(), initializer="ones", trainable=False, name="scale")

  def call(self, x):
    return x * self.scale


def build_model(resolution, num_classes, feature_dim=64, seed=0):
  """Conv net [B, R, R, 3] in [0, 1] -> (features [B, feature_dim], logits [B, classes])."""
  def init(i):
    return keras.initializers.GlorotUniform(seed=seed * 100 + i)
  inputs = keras.Input([resolution, resolution, 3])
  x = (inputs - 0.5) * 2.0
  # 32x32 and up: stride 2 at once, so training stays a few seconds on a CPU.
  x = keras.layers.Conv2D(32, 3, strides=2 if resolution >= 32 else 1, padding="same",
                          activation="relu", kernel_initializer=init(0))(x)
  x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu",
                          kernel_initializer=init(1))(x)
  x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu",
                          kernel_initializer=init(2))(x)
  x = keras.layers.GlobalAveragePooling2D()(x)
  features = keras.layers.Dense(feature_dim, activation="relu", kernel_initializer=init(3),
                                name="pool_3")(x)
  logits = keras.layers.Dense(num_classes, kernel_initializer=init(4), name="logits")(features)
  scaled = FeatureScale(name="feature_scale")(features)
  return keras.Model(inputs, [scaled, logits], name="domain_classifier")


def _rotation_task(images):
  """Unlabelled data: each image at 0/90/180/270 degrees, labelled by its rotation."""
  rotated = [np.rot90(images, k, axes=(1, 2)) for k in range(4)]
  labels = np.repeat(np.arange(4), len(images)).astype(np.int32)
  return np.concatenate(rotated, axis=0), labels


def train_model(images, labels, num_classes, steps=400, batch_size=64, learning_rate=2e-3,
                feature_dim=64, seed=0):
  """Trains `build_model` with Adam on a fixed, seeded batch order. Returns (model, accuracy).

  No global seeds are touched: initialisers carry their own seeds and batches come from a
  NumPy generator, so two calls give the same weights on the same machine.
  """
  images = np.asarray(images, np.float32)
  labels = np.asarray(labels, np.int32)
  model = build_model(images.shape[1], num_classes, feature_dim=feature_dim, seed=seed)
  optimizer = keras.optimizers.Adam(learning_rate)
  optimizer.build(model.trainable_variables)

  @tf.function
  def step(x, y):
    with tf.GradientTape() as tape:
      _, logits = model(x, training=True)
      loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  rng = np.random.default_rng(seed)
  order = np.array([], np.int64)
  for _ in range(int(steps)):
    if len(order) < batch_size:
      order = np.concatenate([order, rng.permutation(len(images))])
    idx, order = order[:batch_size], order[batch_size:]
    step(tf.constant(images[idx]), tf.constant(labels[idx]))
  features, logits = model(images[:1024], training=False)
  rms = float(np.sqrt(np.mean(np.square(features.numpy()))))
  model.get_layer("feature_scale").scale.assign(1.0 / max(rms, 1e-6))
  accuracy = float(np.mean(np.argmax(logits, axis=1) == labels[:1024]))
  return model, accuracy


class DomainClassifier(BatchedClassifier):
  """Callable classifier around a trained `build_model` network (inputs resized to it)."""

  def __init__(self, model, name, accuracy=None, batch_size=256):
    super().__init__(batch_size)
    self.model = model
    self.name = name
    self.accuracy = accuracy
    self.resolution = int(model.inputs[0].shape[1])

  def _forward(self, images):
    if images.shape[1] != self.resolution or images.shape[2] != self.resolution:
      images = tf.image.resize(images, [self.resolution, self.resolution], method="bilinear")
    features, logits = self.model(images, training=False)
    return {"pool_3": features, "logits": logits}


@gin.configurable("domain_classifier")
def make_domain_classifier(dataset=None, images=None, labels=None, num_classes=None,
                           cache_dir=None, num_train=4096, steps=300, batch_size=64,
                           feature_dim=64, seed=0):
  """Trains (or loads from the cache) the domain classifier. gin: `domain_classifier.*`.

  Give either `dataset` (an ImageDataset: its train split is used, cache keyed by
  `dataset.identity`) or `images` [N, R, R, 3] in [0, 1] with `labels` (cache keyed by a
  hash of the arrays). `num_classes` 0 or no labels: trains on rotation prediction instead.
  """
  if dataset is not None:
    num_classes = dataset.num_classes if num_classes is None else num_classes
    data_key = f"{dataset.identity}|train|{num_train}"
  elif images is not None:
    images = np.asarray(images, np.float32)
    digest = hashlib.sha1(images.tobytes())
    if labels is not None:
      digest.update(np.asarray(labels, np.int64).tobytes())
    data_key = "arrays|" + digest.hexdigest()
  else:
    raise ValueError("make_domain_classifier needs a dataset or (images, labels) arrays")
  rotation = not num_classes or (dataset is None and labels is None)
  name = "domain-" + key_digest(_ARCH_VERSION, data_key, num_classes, rotation, steps,
                                batch_size, feature_dim, seed)
  path = os.path.join(cache_dir or default_cache_dir(), "domain_classifier",
                      f"{name}.weights.h5")

  if dataset is not None:
    resolution = dataset.resolution
  else:
    resolution = images.shape[1]
  num_outputs = 4 if rotation else int(num_classes)
  if cache.exists(path):
    model = build_model(resolution, num_outputs, feature_dim=feature_dim, seed=seed)
    load_weights(model, path)
    return DomainClassifier(model, name)

  if dataset is not None:
    images, labels = dataset.first_examples("train", num_train, seed=seed)
  if rotation:
    images, labels = _rotation_task(images)
  model, accuracy = train_model(images, labels, num_outputs, steps=steps,
                                batch_size=batch_size, feature_dim=feature_dim, seed=seed)
  save_weights(model, path)
  return DomainClassifier(model, name, accuracy=accuracy)


def save_weights(model, path):
  """`model.save_weights` to any gfile path (Keras writes .h5 only to a local file).

  Staged in a local temporary folder, then written with a temporary name and renamed, so a
  concurrent evaluator never reads half a file.
  """
  local_dir = tempfile.mkdtemp(prefix="compare_ssgan_weights_")
  try:
    local = os.path.join(local_dir, "model.weights.h5")
    model.save_weights(local)
    with open(local, "rb") as f:
      cache.write_bytes_atomic(path, f.read())
  finally:
    shutil.rmtree(local_dir, ignore_errors=True)


def load_weights(model, path):
  """`model.load_weights` from any gfile path, through a local temporary copy."""
  local_dir = tempfile.mkdtemp(prefix="compare_ssgan_weights_")
  try:
    local = os.path.join(local_dir, "model.weights.h5")
    tf.io.gfile.copy(path, local, overwrite=True)
    model.load_weights(local)
  finally:
    shutil.rmtree(local_dir, ignore_errors=True)
