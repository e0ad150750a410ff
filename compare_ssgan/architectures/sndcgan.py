"""sndcgan_arch: Miyato et al.'s SN-DCGAN as in compare_gan (any resolution divisible by 8).

G: z -> linear (res/8)^2 x 8ch -> BN on the FLAT vector -> ReLU -> reshape -> deconv4x4/2
   to 4ch, 2ch, ch (each BN -> ReLU) -> deconv3x3/1 to colors -> (tanh + 1) / 2.
   G never uses SN, whatever G.spectral_norm says (compare_gan does not pass it on).
D: x*2-1 (the authors trained on [-1, 1]) -> seven convs (3x3/1 ch, 4x4/2 2ch, 3x3/1 2ch,
   4x4/2 4ch, 3x3/1 4ch, 4x4/2 8ch, 3x3/1 8ch), each lrelu(0.1) -> flatten -> fc -> 1.
   SN iff D.spectral_norm; no BN. Features are the flattened map ((res/8)^2 x 8ch).
compare_gan's widths: ch = 64.
"""

import gin
import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.architectures import registry
from compare_ssgan.architectures.abstract_arch import Discriminator, Generator
from compare_ssgan.ops import Conv2D, Deconv2D, Linear, lrelu, make_norm


def _check_resolution(image_shape):
  h, w = image_shape[0], image_shape[1]
  if h % 8 or w % 8:
    raise errors.ConfigError(f"sndcgan_arch needs sides divisible by 8, got {h}x{w}")


class SNDCGANGenerator(Generator):
  def __init__(self, ch=64, **kwargs):
    super().__init__(**kwargs)
    _check_resolution(self.image_shape)
    h, w, colors = self.image_shape
    self.ch = int(ch)
    self.start = (h // 8, w // 8)
    bn = self.batch_norm_fn
    # No SN in G: compare_gan calls linear/deconv2d without use_sn. BN sees use_sn=G's flag.
    self.fc = Linear(self.start[0] * self.start[1] * 8 * self.ch, name="g_fc1")
    self.norms = [make_norm(bn, f"g_bn{i}", use_sn=self.spectral_norm) for i in range(1, 5)]
    self.deconvs = [Deconv2D(self.ch * m, 4, 2, name=f"g_dc{i + 2}")
                    for i, m in enumerate((4, 2, 1))]
    self.final_deconv = Deconv2D(colors, 3, 1, name="g_dc5")

  def call(self, z, y=None, training=False):
    net = self.fc(z, training=training)
    net = tf.nn.relu(self.norms[0](net, z=z, y=y, training=training))
    net = tf.reshape(net, [-1, self.start[0], self.start[1], 8 * self.ch])
    for deconv, norm in zip(self.deconvs, self.norms[1:]):
      net = tf.nn.relu(norm(deconv(net, training=training), z=z, y=y, training=training))
    net = self.final_deconv(net, training=training)
    return (tf.nn.tanh(net) + 1.0) / 2.0


class SNDCGANDiscriminator(Discriminator):
  LAYOUT = ((1, 3, 1), (2, 4, 2), (2, 3, 1), (4, 4, 2), (4, 3, 1), (8, 4, 2), (8, 3, 1))

  def __init__(self, ch=64, **kwargs):
    super().__init__(**kwargs)
    _check_resolution(self.image_shape)
    self.ch = int(ch)
    sn = self.spectral_norm
    self.convs = [Conv2D(self.ch * m, k, s, use_sn=sn, name=f"d_conv{i + 1}")
                  for i, (m, k, s) in enumerate(self.LAYOUT)]
    self.final_fc = Linear(1, use_sn=sn, name="d_fc1")

  @property
  def feature_dim(self):
    h, w = self.image_shape[0] // 8, self.image_shape[1] // 8
    return h * w * 8 * self.ch

  def call(self, x, y=None, training=False):
    del y
    net = x * 2.0 - 1.0
    for conv in self.convs:
      net = lrelu(conv(net, training=training), leak=0.1)
    h = tf.reshape(net, [-1, self.feature_dim])
    logits = self.final_fc(h, training=training)
    return tf.nn.sigmoid(logits), logits, h


@gin.configurable("Generator", module="sndcgan")
def generator(image_shape, z_dim, num_classes, batch_norm_fn, spectral_norm, ch=64):
  return SNDCGANGenerator(ch=ch, image_shape=image_shape, z_dim=z_dim,
                          num_classes=num_classes, batch_norm_fn=batch_norm_fn,
                          spectral_norm=spectral_norm)


@gin.configurable("Discriminator", module="sndcgan")
def discriminator(image_shape, num_classes, batch_norm_fn, layer_norm, spectral_norm, ch=64):
  return SNDCGANDiscriminator(ch=ch, image_shape=image_shape, num_classes=num_classes,
                              batch_norm_fn=batch_norm_fn, layer_norm=layer_norm,
                              spectral_norm=spectral_norm)


registry.register("sndcgan_arch")
