"""resnet_stl_arch: compare_gan's 48x48 ResNet (SNGAN, Miyato et al. 2018, Table 5).

G: z -> fc_noise (res/8)^2 x 8ch -> B1..B3 "up" (8ch->4ch->2ch->ch) -> final_norm -> ReLU
   -> conv3x3 -> sigmoid. fc_noise and final_conv never use SN (as in compare_gan).
D: B0 colors->ch, B1..B3 "down" (2ch, 4ch, 8ch), B4 "none" (16ch) -> ReLU -> mean -> fc -> 1.
compare_gan fixes ch=64 and 48x48 (6x6 seed); any multiple of 8 works here.
"""

import gin

from compare_ssgan import errors
from compare_ssgan.architectures import registry
from compare_ssgan.architectures.resnet_base import ResNetDiscriminator, ResNetGenerator
from compare_ssgan.architectures.resnet_ops import ResNetBlock
from compare_ssgan.ops import Conv2D, Linear, make_norm


class ResNetStlGenerator(ResNetGenerator):
  def __init__(self, ch=64, **kwargs):
    super().__init__(**kwargs)
    h, w, colors = self.image_shape
    if h != w or h % 8:
      raise errors.ConfigError(f"resnet_stl_arch needs square images divisible by 8, got {h}x{w}")
    self.ch = int(ch)
    self.seed_shape = (h // 8, h // 8, 8 * self.ch)
    sn = self.spectral_norm
    self.fc_noise = Linear((h // 8) ** 2 * 8 * self.ch, name="fc_noise")
    self.blocks = [ResNetBlock(self.ch * m, "up", True, self.batch_norm_fn, spectral_norm=sn,
                               name=f"B{i + 1}") for i, m in enumerate((4, 2, 1))]
    self.final_norm = make_norm(self.batch_norm_fn, "final_norm", use_sn=sn)
    self.final_conv = Conv2D(colors, 3, name="final_conv")


class ResNetStlDiscriminator(ResNetDiscriminator):
  def __init__(self, ch=64, **kwargs):
    super().__init__(**kwargs)
    self.ch = int(ch)
    sn = self.spectral_norm
    layout = [(1, "down"), (2, "down"), (4, "down"), (8, "down"), (16, "none")]
    self.blocks = [ResNetBlock(self.ch * m, scale, False, self.batch_norm_fn,
                               layer_norm=self.layer_norm, spectral_norm=sn, name=f"B{i}")
                   for i, (m, scale) in enumerate(layout)]
    self.final_fc = Linear(1, use_sn=sn, name="disc_final_fc")
    self.feature_width = 16 * self.ch


@gin.configurable("Generator", module="resnet_stl")
def generator(image_shape, z_dim, num_classes, batch_norm_fn, spectral_norm, ch=64):
  return ResNetStlGenerator(ch=ch, image_shape=image_shape, z_dim=z_dim,
                            num_classes=num_classes, batch_norm_fn=batch_norm_fn,
                            spectral_norm=spectral_norm)


@gin.configurable("Discriminator", module="resnet_stl")
def discriminator(image_shape, num_classes, batch_norm_fn, layer_norm, spectral_norm, ch=64):
  return ResNetStlDiscriminator(ch=ch, image_shape=image_shape, num_classes=num_classes,
                                batch_norm_fn=batch_norm_fn, layer_norm=layer_norm,
                                spectral_norm=spectral_norm)


registry.register("resnet_stl_arch")
