"""Name -> architecture module, and `build_architecture`.

Each architecture module defines gin factories `generator(...)` and `discriminator(...)`
(registered as `<module>.Generator` / `<module>.Discriminator`) and ends with
`registry.register("<compare_gan name>")`. The package imports every module, so a new
architecture is one new file: no table here to edit.
"""

import importlib
import sys
from typing import Dict

from compare_ssgan import errors
from compare_ssgan.architectures.abstract_arch import (discriminator_options,
                                                       generator_options)

# compare_gan name (`options.architecture`) -> module name under compare_ssgan.architectures.
ARCHITECTURES: Dict[str, str] = {}


def register(name, module=None):
  """Registers `module` (default: the calling module) under the architecture `name`."""
  module = module or sys._getframe(1).f_globals["__name__"]  # pylint: disable=protected-access
  ARCHITECTURES[name] = module.rsplit(".", 1)[-1]


def _module(name):
  if name not in ARCHITECTURES:
    raise errors.ConfigError(f"unknown architecture {name!r}; known: "
                             f"{', '.join(sorted(ARCHITECTURES))}")
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
