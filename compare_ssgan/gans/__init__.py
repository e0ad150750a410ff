"""GAN classes, losses and penalties."""

from compare_ssgan.gans import loss_lib, penalty_lib  # noqa: F401
