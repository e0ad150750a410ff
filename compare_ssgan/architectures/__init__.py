"""Architectures selected by compare_gan's names (`options.architecture`)."""

from compare_ssgan.architectures.abstract_arch import (Discriminator, Generator,
                                                       discriminator_options,
                                                       generator_options, trainable_count)
from compare_ssgan.architectures.registry import ARCHITECTURES, build_architecture
