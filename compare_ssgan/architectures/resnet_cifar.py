"""resnet_cifar_arch: the 32x32 SNGAN-style ResNet the paper uses for CIFAR-10.

G: z -> fc_noise 4x4xch -> 3 "up" blocks -> final_norm -> ReLU -> conv3x3 -> sigmoid.
D: 2 "down" + 2 "none" blocks of ch channels -> ReLU -> mean over H,W -> fc -> 1.
compare_gan's widths: G ch=256, D ch=128 (G 5,846,019 params without BN, D 1,483,137).
"""

import gin

from compare_ssgan import errors
from compare_ssgan.architectures import registry
from compare_ssgan.architectures.resnet_base import ResNetDiscriminator, ResNetGenerator
from compare_ssgan.architectures.resnet_ops import ResNetBlock
from compare_ssgan.ops import Conv2D, Linear, make_norm


def _unsupported(**flags):
  bad = [k for k, v in flags.items() if v]
  if bad:
    raise errors.ConfigError(f"resnet_cifar.Generator: {', '.join(bad)}=True is not implemented in "
                     "compare_ssgan (the paper's configs leave it False).")


class ResNetCifarGenerator(ResNetGenerator):
  def __init__(self, ch=256, **kwargs):
    super().__init__(**kwargs)
    h, w, colors = self.image_shape
    if h != w or h % 8:
      raise errors.ConfigError(f"resnet_cifar_arch needs square images divisible by 8, got {h}x{w}")
    self.ch = int(ch)
    self.seed_shape = (h // 8, h // 8, self.ch)
    sn = self.spectral_norm
    self.fc_noise = Linear((h // 8) ** 2 * self.ch, use_sn=sn, name="fc_noise")
    self.blocks = [ResNetBlock(self.ch, "up", True, self.batch_norm_fn, spectral_norm=sn,
                               name=f"B{i + 1}") for i in range(3)]
    self.final_norm = make_norm(self.batch_norm_fn, "final_norm", use_sn=sn)
    self.final_conv = Conv2D(colors, 3, use_sn=sn, name="final_conv")


class ResNetCifarDiscriminator(ResNetDiscriminator):
  def __init__(self, ch=128, project_y=False, **kwargs):
    super().__init__(**kwargs)
    self.ch = self.feature_width = int(ch)
    sn = self.spectral_norm
    self.blocks = [ResNetBlock(self.ch, "down" if i < 2 else "none", False, self.batch_norm_fn,
                               layer_norm=self.layer_norm, spectral_norm=sn, name=f"B{i + 1}")
                   for i in range(4)]
    self.final_fc = Linear(1, use_sn=sn, name="disc_final_fc")
    if project_y:
      self.embedding = Linear(self.ch, use_sn=sn, use_bias=False, name="embedding_fc")


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


registry.register("resnet_cifar_arch")
