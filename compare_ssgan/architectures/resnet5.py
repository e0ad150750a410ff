"""resnet5_arch: compare_gan's 5-block ResNet (Gulrajani et al. 2017), 32/64/128 pixels.

G: z -> fc_noise 4x4x(8ch) -> B1..B5 (ch * (8,8,4,4,2,1)); block i is "up" while
   i < log2(res/4), else "none" -> final_norm -> ReLU -> conv3x3 -> sigmoid.
   fc_noise and final_conv never use SN (compare_gan does not pass G.spectral_norm to them).
D: B0 colors->ch, B1..B5 (ch * (1,2,4,4,8,8)), all "down" -> ReLU -> mean -> fc -> 1.
At 128 with ch=64: G 13,786,115 (batch_norm), D 15,086,529.
"""

import math

import gin

from compare_ssgan import errors
from compare_ssgan.architectures import registry
from compare_ssgan.architectures.resnet_base import ResNetDiscriminator, ResNetGenerator
from compare_ssgan.architectures.resnet_ops import ResNetBlock
from compare_ssgan.ops import Conv2D, Linear, make_norm

SEED_SIZE = 4


def _up_layers(resolution):
  n = math.log2(resolution / SEED_SIZE)
  if not n.is_integer() or not 0 <= n <= 5:
    raise errors.ConfigError(f"resnet5_arch needs a resolution of 4*2^k, k <= 5 (32, 64, 128), "
                     f"got {resolution}")
  return int(n)


class ResNet5Generator(ResNetGenerator):
  def __init__(self, ch=64, channels=(8, 8, 4, 4, 2, 1), **kwargs):
    super().__init__(**kwargs)
    h, w, colors = self.image_shape
    if h != w:
      raise errors.ConfigError(f"resnet5_arch needs square images, got {h}x{w}")
    up_layers = _up_layers(h)
    self.ch, self.channels = int(ch), tuple(int(c) for c in channels)
    if len(self.channels) != 6:
      raise errors.ConfigError(f"resnet5.Generator.channels needs 6 multipliers, got {channels}")
    sn = self.spectral_norm
    self.seed_channels = self.ch * self.channels[0]
    self.seed_shape = (SEED_SIZE, SEED_SIZE, self.seed_channels)
    self.fc_noise = Linear(SEED_SIZE * SEED_SIZE * self.seed_channels, name="fc_noise")
    self.blocks = [ResNetBlock(self.ch * self.channels[i + 1], "up" if i < up_layers else "none",
                               True, self.batch_norm_fn, spectral_norm=sn, name=f"B{i + 1}")
                   for i in range(5)]
    self.final_norm = make_norm(self.batch_norm_fn, "final_norm", use_sn=sn)
    self.final_conv = Conv2D(colors, 3, name="final_conv")


class ResNet5Discriminator(ResNetDiscriminator):
  def __init__(self, ch=64, channels=(1, 2, 4, 4, 8, 8), **kwargs):
    super().__init__(**kwargs)
    self.ch, self.channels = int(ch), tuple(int(c) for c in channels)
    if len(self.channels) != 6:
      raise errors.ConfigError(f"resnet5.Discriminator.channels needs 6 multipliers, got {channels}")
    _up_layers(self.image_shape[0])
    sn = self.spectral_norm
    widths = [self.ch] + [self.ch * c for c in self.channels[1:]]
    # Six "down" blocks; past 1x1 the SAME avg-pool keeps 1x1, as in compare_gan at 32px.
    self.blocks = [ResNetBlock(width, "down", False, self.batch_norm_fn,
                               layer_norm=self.layer_norm, spectral_norm=sn, name=f"B{i}")
                   for i, width in enumerate(widths)]
    self.final_fc = Linear(1, use_sn=sn, name="disc_final_fc")
    self.feature_width = self.ch * self.channels[-1]


@gin.configurable("Generator", module="resnet5")
def generator(image_shape, z_dim, num_classes, batch_norm_fn, spectral_norm, ch=64,
              channels=(8, 8, 4, 4, 2, 1)):
  return ResNet5Generator(ch=ch, channels=channels, image_shape=image_shape, z_dim=z_dim,
                          num_classes=num_classes, batch_norm_fn=batch_norm_fn,
                          spectral_norm=spectral_norm)


@gin.configurable("Discriminator", module="resnet5")
def discriminator(image_shape, num_classes, batch_norm_fn, layer_norm, spectral_norm, ch=64,
                  channels=(1, 2, 4, 4, 8, 8)):
  return ResNet5Discriminator(ch=ch, channels=channels, image_shape=image_shape,
                              num_classes=num_classes, batch_norm_fn=batch_norm_fn,
                              layer_norm=layer_norm, spectral_norm=spectral_norm)


registry.register("resnet5_arch")
