"""Name -> (generator factory, discriminator factory), and `build_architecture`.

Each architecture module registers gin factories `<module>.Generator` and
`<module>.Discriminator`; this table maps compare_gan's architecture names onto them.
"""

import importlib

from compare_ssgan import errors
from compare_ssgan.architectures.abstract_arch import (discriminator_options,
                                                       generator_options)

# compare_gan name -> module under compare_ssgan.architectures.
ARCHITECTURES = {
    "resnet_cifar_arch": "resnet_cifar",
    "tiny_arch": "tiny",
    "resnet5_arch": "resnet5",
    "resnet_stl_arch": "resnet_stl",
    "sndcgan_arch": "sndcgan",
    "dcgan_arch": "dcgan",
    "resnet_biggan_arch": "resnet_biggan",
}


def _import_all():
  """Imports every architecture module so gin knows all their bindings before parsing."""
  for module in sorted(set(ARCHITECTURES.values())):
    importlib.import_module(f"compare_ssgan.architectures.{module}")


_import_all()


def _module(name):
  if name not in ARCHITECTURES:
    raise errors.ConfigError(f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}")
  return importlib.import_module(f"compare_ssgan.architectures.{ARCHITECTURES[name]}")


def build_architecture(name, resolution, colors=3, z_dim=128, num_classes=0, build=True,
                       parts=("G", "D")):
  """Builds (generator, discriminator) for `name`, reading `G.*`, `D.*` and the
  architecture's own gin bindings. With `build`, weights are created on zeros.
  `parts=("G",)` builds only the generator (the other is None)."""
  module = _module(name)
  g_opts, d_opts = generator_options(), discriminator_options()
  image_shape = (int(resolution), int(resolution), int(colors))
  gen = disc = None
  if "G" in parts:
    gen = module.generator(image_shape=image_shape, z_dim=z_dim, num_classes=num_classes,
                           batch_norm_fn=g_opts["batch_norm_fn"],
                           spectral_norm=g_opts["spectral_norm"])
    if build:
      gen.build_for_inputs()
  if "D" in parts:
    disc = module.discriminator(image_shape=image_shape, num_classes=num_classes,
                                batch_norm_fn=d_opts["batch_norm_fn"],
                                layer_norm=d_opts["layer_norm"],
                                spectral_norm=d_opts["spectral_norm"])
    if build:
      disc.build_for_inputs()
  return gen, disc
