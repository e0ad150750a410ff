"""tiny_arch: compare_gan's ResNet blocks at 16 channels, for fast CPU tests and the demo.

G: z -> 4x4xch -> log2(res/4) "up" blocks -> norm -> ReLU -> conv3x3 -> sigmoid.
D: log2(res/4) "down" blocks then one "none" block -> ReLU -> mean -> fc.
"""

import math

import gin

from compare_ssgan import errors
from compare_ssgan.architectures import registry
from compare_ssgan.architectures.resnet_base import ResNetDiscriminator, ResNetGenerator
from compare_ssgan.architectures.resnet_ops import ResNetBlock
from compare_ssgan.ops import Conv2D, Linear, make_norm


def _num_blocks(resolution):
  n = int(round(math.log2(resolution / 4)))
  if resolution != 4 * 2 ** n or n < 1:
    raise errors.ConfigError(f"tiny_arch needs a resolution of 4*2^k (8, 16, 32, ...), got {resolution}")
  return n


class TinyGenerator(ResNetGenerator):
  def __init__(self, ch=16, **kwargs):
    super().__init__(**kwargs)
    h, _, colors = self.image_shape
    self.ch = int(ch)
    sn = self.spectral_norm
    self.seed_shape = (4, 4, self.ch)
    self.fc_noise = Linear(4 * 4 * self.ch, use_sn=sn, name="fc_noise")
    self.blocks = [ResNetBlock(self.ch, "up", True, self.batch_norm_fn, spectral_norm=sn,
                               name=f"B{i + 1}") for i in range(_num_blocks(h))]
    self.final_norm = make_norm(self.batch_norm_fn, "final_norm", use_sn=sn)
    self.final_conv = Conv2D(colors, 3, use_sn=sn, name="final_conv")


class TinyDiscriminator(ResNetDiscriminator):
  def __init__(self, ch=16, project_y=False, **kwargs):
    super().__init__(**kwargs)
    self.ch = self.feature_width = int(ch)
    sn = self.spectral_norm
    n = _num_blocks(self.image_shape[0])
    self.blocks = [ResNetBlock(self.ch, "down" if i < n else "none", False, self.batch_norm_fn,
                               layer_norm=self.layer_norm, spectral_norm=sn, name=f"B{i + 1}")
                   for i in range(n + 1)]
    self.final_fc = Linear(1, use_sn=sn, name="disc_final_fc")
    if project_y:
      self.embedding = Linear(self.ch, use_sn=sn, use_bias=False, name="embedding_fc")


@gin.configurable("Generator", module="tiny")
def generator(image_shape, z_dim, num_classes, batch_norm_fn, spectral_norm, ch=16):
  return TinyGenerator(ch=ch, image_shape=image_shape, z_dim=z_dim, num_classes=num_classes,
                       batch_norm_fn=batch_norm_fn, spectral_norm=spectral_norm)


@gin.configurable("Discriminator", module="tiny")
def discriminator(image_shape, num_classes, batch_norm_fn, layer_norm, spectral_norm,
                  project_y=False, ch=16):
  return TinyDiscriminator(ch=ch, project_y=project_y, image_shape=image_shape,
                           num_classes=num_classes, batch_norm_fn=batch_norm_fn,
                           layer_norm=layer_norm, spectral_norm=spectral_norm)


registry.register("tiny_arch")
