"""Architectures selected by compare_gan's names (`options.architecture`).

Every module of this package is imported here, so a new architecture module registers
itself (`registry.register(name)` at its end) with no list to edit.
"""

import importlib
import pkgutil

from compare_ssgan.architectures.abstract_arch import (Discriminator, Generator,
                                                       discriminator_options,
                                                       generator_options, trainable_count)
from compare_ssgan.architectures.registry import ARCHITECTURES, build_architecture, register

for _module in pkgutil.iter_modules(__path__):
  importlib.import_module(f"{__name__}.{_module.name}")
