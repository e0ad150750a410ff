"""GAN classes, losses and penalties (gin `@ModularGAN`, `@SSGAN`, `loss.fn`, `penalty.fn`)."""

from compare_ssgan.gans import loss_lib, penalty_lib  # noqa: F401
from compare_ssgan.gans.modular_gan import ModularGAN, adam_optimizer  # noqa: F401
from compare_ssgan.gans.ssgan import SSGAN  # noqa: F401
