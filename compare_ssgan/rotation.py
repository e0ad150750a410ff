"""The self-supervised part of SS-GAN: rotations, their labels, the head and the loss.

Chen et al. 2019: D gets a second head that predicts by how much (0, 90, 180, 270 degrees)
an image was rotated. compare_gan rotates the LAST n images of a batch by 90/180/270
degrees, grouped by angle, and trains on `[upright n, 90 n, 180 n, 270 n]` with labels
`repeat(arange(4), n)`.
"""

import keras
import numpy as np
import tensorflow as tf

from compare_ssgan.ops import Linear, inventory

NUM_ROTATIONS = 4


def rotate_images(images, rot90_scalars=(1, 2, 3)):
  """Rotates every image by each k*90 degrees (counter-clockwise, as `tf.image.rot90`).

  Args:
    images: [B, H, W, C] with H == W.
    rot90_scalars: the multiples of 90 degrees, in output order.
  Returns:
    [len(rot90_scalars) * B, H, W, C], grouped by angle: all images at the first angle,
    then all at the second, ...
  """
  h, w = images.shape[1], images.shape[2]
  if h is None or w is None or h != w:
    raise ValueError(f"rotate_images needs square images with static H == W, got {h}x{w}")
  rotated = []
  for k in rot90_scalars:
    k = int(k) % 4
    if k == 0:
      r = images
    elif k == 1:   # transpose then flip up-down
      r = tf.reverse(tf.transpose(images, [0, 2, 1, 3]), axis=[1])
    elif k == 2:
      r = tf.reverse(images, axis=[1, 2])
    else:          # flip up-down then transpose
      r = tf.transpose(tf.reverse(images, axis=[1]), [0, 2, 1, 3])
    rotated.append(r)
  return tf.concat(rotated, axis=0)


def rotation_labels(n):
  """Labels of `[upright n, 90 n, 180 n, 270 n]`: repeat(arange(4), n)."""
  return tf.constant(np.repeat(np.arange(NUM_ROTATIONS), n), dtype=tf.int32)


def rotation_cross_entropy(logits, labels):
  """compare_gan's form: -mean(sum(onehot * log(softmax(logits) + 1e-10))).

  Computed in float32 whatever the compute dtype.
  """
  logits = tf.cast(logits, tf.float32)
  onehot = tf.one_hot(labels, NUM_ROTATIONS, dtype=tf.float32)
  return -tf.reduce_mean(tf.reduce_sum(onehot * tf.math.log(tf.nn.softmax(logits) + 1e-10),
                                       axis=1))


def rotation_accuracy(logits, labels):
  return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32),
                                         labels), tf.float32))


class RotationHead(keras.layers.Layer):
  """One dense layer, D features [B, F] -> 4 rotation logits; SN iff D uses SN.

  compare_gan: `linear(features, 4, scope="score_classify", use_sn=D.spectral_norm)`, kernel
  from `weights.initializer`, bias 0. F*4 + 4 parameters (516 for resnet_cifar's F=128).
  """

  def __init__(self, use_sn=False, name="discriminator_rotation", **kwargs):
    super().__init__(name=name, **kwargs)
    self.use_sn = bool(use_sn)
    self.score_classify = Linear(NUM_ROTATIONS, use_sn=use_sn, name="score_classify")

  def call(self, features, training=False):
    return self.score_classify(features, training=training)

  def build_for_features(self, feature_dim):
    with inventory.recording() as layers:
      self(tf.zeros([2, int(feature_dim)]), training=False)
    self.built_layers = inventory.Recorded(layers)
    return self
