"""resnet_cifar_arch: the 32x32 SNGAN-style ResNet the paper uses for CIFAR-10.

G: z -> fc_noise 4x4xch -> 3 "up" blocks -> final_norm -> ReLU -> conv3x3 -> sigmoid.
D: 2 "down" + 2 "none" blocks of ch channels -> ReLU -> mean over H,W -> fc -> 1.
compare_gan's widths: G ch=256, D ch=128 (G 5,846,019 params without BN, D 1,483,137).
"""

import gin
import tensorflow as tf

from compare_ssgan.architectures.abstract_arch import Discriminator, Generator
from compare_ssgan.architectures.resnet_ops import ResNetBlock
from compare_ssgan.ops import Conv2D, Linear, make_norm


def _unsupported(**flags):
  bad = [k for k, v in flags.items() if v]
  if bad:
    raise ValueError(f"resnet_cifar.Generator: {', '.join(bad)}=True is not implemented in "
                     "compare_ssgan (the paper's configs leave it False).")


class ResNetCifarGenerator(Generator):
  def __init__(self, ch=256, **kwargs):
    super().__init__(**kwargs)
    h, w, colors = self.image_shape
    if h != w or h % 8:
      raise ValueError(f"resnet_cifar_arch needs square images divisible by 8, got {h}x{w}")
    self.ch = int(ch)
    self.start = h // 8
    sn = self.spectral_norm
    self.fc_noise = Linear(self.start * self.start * self.ch, use_sn=sn, name="fc_noise")
    self.blocks = [ResNetBlock(self.ch, "up", True, self.batch_norm_fn, spectral_norm=sn,
                               name=f"B{i + 1}") for i in range(3)]
    self.final_norm = make_norm(self.batch_norm_fn, "final_norm", use_sn=sn)
    self.final_conv = Conv2D(colors, 3, use_sn=sn, name="final_conv")

  def call(self, z, y=None, training=False):
    net = self.fc_noise(z, training=training)
    net = tf.reshape(net, [-1, self.start, self.start, self.ch])
    for block in self.blocks:
      net = block(net, z=z, y=y, training=training)
    net = self.final_norm(net, z=z, y=y, training=training)
    net = self.final_conv(tf.nn.relu(net), training=training)
    return tf.nn.sigmoid(net)


class ResNetCifarDiscriminator(Discriminator):
  def __init__(self, ch=128, project_y=False, **kwargs):
    super().__init__(**kwargs)
    self.ch = int(ch)
    sn = self.spectral_norm
    self.blocks = [ResNetBlock(self.ch, "down" if i < 2 else "none", False, self.batch_norm_fn,
                               layer_norm=self.layer_norm, spectral_norm=sn, name=f"B{i + 1}")
                   for i in range(4)]
    self.final_fc = Linear(1, use_sn=sn, name="disc_final_fc")
    self.project_y = bool(project_y)
    self.embedding = Linear(self.ch, use_sn=sn, use_bias=False, name="embedding_fc") \
        if self.project_y else None

  @property
  def feature_dim(self):
    return self.ch

  def call(self, x, y=None, training=False):
    net = x
    for block in self.blocks:
      net = block(net, y=y, training=training)
    h = tf.reduce_mean(tf.nn.relu(net), axis=[1, 2])
    logits = self.final_fc(h, training=training)
    if self.embedding is not None:
      if y is None:
        raise ValueError("resnet_cifar.Discriminator.project_y needs labels y.")
      logits += tf.reduce_sum(self.embedding(y, training=training) * h, axis=1, keepdims=True)
    return tf.nn.sigmoid(logits), logits, h


@gin.configurable("Generator", module="resnet_cifar")
def generator(image_shape, z_dim, num_classes, batch_norm_fn, spectral_norm,
              hierarchical_z=False, embed_z=False, embed_y=False, ch=256):
  _unsupported(hierarchical_z=hierarchical_z, embed_z=embed_z, embed_y=embed_y)
  return ResNetCifarGenerator(ch=ch, image_shape=image_shape, z_dim=z_dim,
                              num_classes=num_classes, batch_norm_fn=batch_norm_fn,
                              spectral_norm=spectral_norm)


@gin.configurable("Discriminator", module="resnet_cifar")
def discriminator(image_shape, num_classes, batch_norm_fn, layer_norm, spectral_norm,
                  project_y=False, ch=128):
  return ResNetCifarDiscriminator(ch=ch, project_y=project_y, image_shape=image_shape,
                                  num_classes=num_classes, batch_norm_fn=batch_norm_fn,
                                  layer_norm=layer_norm, spectral_norm=spectral_norm)
