"""The forward pass shared by compare_gan's ResNet family (resnet_cifar, resnet5,
resnet_stl, tiny); each architecture only lays out its layers.

G: fc_noise(z) -> reshape to `seed_shape` -> blocks (given z, y) -> final_norm -> ReLU ->
   final_conv -> sigmoid (images in [0, 1]).
D: blocks -> ReLU -> mean over H, W = features h -> final_fc(h) [+ sum(embed(y) * h) when
   projecting labels] -> (sigmoid(logits), logits, h).
"""

import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.architectures.abstract_arch import Discriminator, Generator


class ResNetGenerator(Generator):
  """Subclasses set `fc_noise`, `seed_shape` (h, w, c), `blocks`, `final_norm`, `final_conv`."""

  def call(self, z, y=None, training=False):
    net = tf.reshape(self.fc_noise(z, training=training), (-1,) + tuple(self.seed_shape))
    for block in self.blocks:
      net = block(net, z=z, y=y, training=training)
    net = self.final_norm(net, z=z, y=y, training=training)
    return tf.nn.sigmoid(self.final_conv(tf.nn.relu(net), training=training))


class ResNetDiscriminator(Discriminator):
  """Subclasses set `blocks`, `final_fc`, `feature_width` and optionally `embedding`."""

  embedding = None

  @property
  def feature_dim(self):
    return self.feature_width

  def call(self, x, y=None, training=False):
    net = x
    for block in self.blocks:
      net = block(net, y=y, training=training)
    h = tf.reduce_mean(tf.nn.relu(net), axis=[1, 2])
    logits = self.final_fc(h, training=training)
    if self.embedding is not None:
      if y is None:
        raise errors.ConfigError(f"{self.name}: projecting labels (project_y) needs labels y")
      logits += tf.reduce_sum(self.embedding(y, training=training) * h, axis=1, keepdims=True)
    return tf.nn.sigmoid(logits), logits, h
