"""dcgan_arch: Radford et al.'s DCGAN as in compare_gan (any resolution divisible by 16).

G: z -> linear (res/16)^2 x 8ch -> reshape -> BN -> ReLU -> deconv5x5/2 to 4ch, 2ch, ch
   (each BN -> ReLU) -> deconv5x5/2 to colors -> 0.5 tanh + 0.5. G never uses SN.
D: conv5x5/2 ch -> lrelu -> conv5x5/2 2ch -> BN -> lrelu -> conv5x5/2 4ch -> BN -> lrelu
   -> conv5x5/2 8ch -> BN -> lrelu -> flatten -> fc -> 1 (lrelu 0.2; BN from D.batch_norm_fn,
   SN iff D.spectral_norm). compare_gan returns the 4-D map as features; we flatten it
   ((res/16)^2 x 8ch), which is what SSGAN's rotation head does with it anyway.
compare_gan's widths: ch = 64 (gf_dim = df_dim = 64).
"""

import gin
import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.architectures import registry
from compare_ssgan.architectures.abstract_arch import Discriminator, Generator
from compare_ssgan.ops import Conv2D, Deconv2D, Linear, lrelu, make_norm


def _check_resolution(image_shape):
  h, w = image_shape[0], image_shape[1]
  if h % 16 or w % 16:
    raise errors.ConfigError(f"dcgan_arch needs sides divisible by 16, got {h}x{w}")


class DCGANGenerator(Generator):
  def __init__(self, ch=64, **kwargs):
    super().__init__(**kwargs)
    _check_resolution(self.image_shape)
    h, w, colors = self.image_shape
    self.ch = int(ch)
    self.start = (h // 16, w // 16)
    self.fc = Linear(self.start[0] * self.start[1] * 8 * self.ch, name="g_fc1")
    self.norms = [make_norm(self.batch_norm_fn, f"g_bn{i}", use_sn=self.spectral_norm)
                  for i in range(1, 5)]
    self.deconvs = [Deconv2D(self.ch * m, 5, 2, name=f"g_dc{i + 1}")
                    for i, m in enumerate((4, 2, 1))]
    self.final_deconv = Deconv2D(colors, 5, 2, name="g_dc4")

  def call(self, z, y=None, training=False):
    net = tf.reshape(self.fc(z, training=training),
                     [-1, self.start[0], self.start[1], 8 * self.ch])
    net = tf.nn.relu(self.norms[0](net, z=z, y=y, training=training))
    for deconv, norm in zip(self.deconvs, self.norms[1:]):
      net = tf.nn.relu(norm(deconv(net, training=training), z=z, y=y, training=training))
    return 0.5 * tf.nn.tanh(self.final_deconv(net, training=training)) + 0.5


class DCGANDiscriminator(Discriminator):
  def __init__(self, ch=64, **kwargs):
    super().__init__(**kwargs)
    _check_resolution(self.image_shape)
    self.ch = int(ch)
    sn = self.spectral_norm
    self.convs = [Conv2D(self.ch * m, 5, 2, use_sn=sn, name=f"d_conv{i + 1}")
                  for i, m in enumerate((1, 2, 4, 8))]
    # None for the first conv: compare_gan normalises only layers 2-4.
    self.norms = [None] + [make_norm(self.batch_norm_fn, f"d_bn{i}", use_sn=sn)
                           for i in range(1, 4)]
    self.final_fc = Linear(1, use_sn=sn, name="d_fc4")

  @property
  def feature_dim(self):
    return (self.image_shape[0] // 16) * (self.image_shape[1] // 16) * 8 * self.ch

  def call(self, x, y=None, training=False):
    net = x
    for conv, norm in zip(self.convs, self.norms):
      net = conv(net, training=training)
      if norm is not None:
        net = norm(net, y=y, training=training)
      net = lrelu(net)
    h = tf.reshape(net, [-1, self.feature_dim])
    logits = self.final_fc(h, training=training)
    return tf.nn.sigmoid(logits), logits, h


@gin.configurable("Generator", module="dcgan")
def generator(image_shape, z_dim, num_classes, batch_norm_fn, spectral_norm, ch=64):
  return DCGANGenerator(ch=ch, image_shape=image_shape, z_dim=z_dim, num_classes=num_classes,
                        batch_norm_fn=batch_norm_fn, spectral_norm=spectral_norm)


@gin.configurable("Discriminator", module="dcgan")
def discriminator(image_shape, num_classes, batch_norm_fn, layer_norm, spectral_norm, ch=64):
  return DCGANDiscriminator(ch=ch, image_shape=image_shape, num_classes=num_classes,
                            batch_norm_fn=batch_norm_fn, layer_norm=layer_norm,
                            spectral_norm=spectral_norm)


registry.register("dcgan_arch")
