"""Base Generator / Discriminator models and compare_gan's `G.*` / `D.*` gin options."""

import gin
import keras
import tensorflow as tf

from compare_ssgan.ops import inventory


@gin.configurable("G")
def generator_options(batch_norm_fn=None, spectral_norm=False):
  """compare_gan's `G.batch_norm_fn` (None = no BN) and `G.spectral_norm`."""
  return dict(batch_norm_fn=batch_norm_fn, spectral_norm=bool(spectral_norm))


@gin.configurable("D")
def discriminator_options(batch_norm_fn=None, layer_norm=False, spectral_norm=False):
  """compare_gan's `D.batch_norm_fn`, `D.layer_norm` and `D.spectral_norm`."""
  return dict(batch_norm_fn=batch_norm_fn, layer_norm=bool(layer_norm),
              spectral_norm=bool(spectral_norm))


class Generator(keras.Model):
  """z [B, z_dim] (+ one-hot y [B, num_classes]) -> images [B, H, W, colors] in [0, 1]."""

  def __init__(self, image_shape, z_dim, num_classes=0, batch_norm_fn=None,
               spectral_norm=False, name="generator", **kwargs):
    super().__init__(name=name, **kwargs)
    self.image_shape = tuple(int(d) for d in image_shape)
    self.z_dim = int(z_dim)
    self.num_classes = int(num_classes)
    self.batch_norm_fn = batch_norm_fn
    self.spectral_norm = bool(spectral_norm)

  def build_for_inputs(self, batch_size=2):
    """Creates all weights by calling the model once on zeros (training=False)."""
    z = tf.zeros([batch_size, self.z_dim])
    y = tf.zeros([batch_size, self.num_classes]) if self.num_classes else None
    with inventory.recording() as layers:
      self(z, y, training=False)
    self.built_layers = inventory.Recorded(layers)
    return self


class Discriminator(keras.Model):
  """images [B, H, W, C] (+ y) -> (probabilities [B,1], logits [B,1], features [B,F])."""

  def __init__(self, image_shape, num_classes=0, batch_norm_fn=None, layer_norm=False,
               spectral_norm=False, name="discriminator", **kwargs):
    super().__init__(name=name, **kwargs)
    self.image_shape = tuple(int(d) for d in image_shape)
    self.num_classes = int(num_classes)
    self.batch_norm_fn = batch_norm_fn
    self.layer_norm = bool(layer_norm)
    self.spectral_norm = bool(spectral_norm)

  def build_for_inputs(self, batch_size=2):
    x = tf.zeros((batch_size,) + self.image_shape)
    y = tf.zeros([batch_size, self.num_classes]) if self.num_classes else None
    with inventory.recording() as layers:
      self(x, y, training=False)
    self.built_layers = inventory.Recorded(layers)
    return self

  @property
  def feature_dim(self):
    raise NotImplementedError


def trainable_count(model):
  return int(sum(int(tf.size(v)) for v in model.trainable_variables))
