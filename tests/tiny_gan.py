"""A tiny SS-GAN set-up shared by the step tests (test_ssgan, test_fidelity)."""

import types

import numpy as np

from compare_ssgan import gin_utils

FAKE_DATA = types.SimpleNamespace(name="fake", resolution=8, num_classes=0)


def parse_tiny(bs=2, rotated=4, disc_iters=1, extra=()):
  """tiny_arch at 8 channels, 8x8 images, z_dim 8: a step costs milliseconds."""
  gin_utils.parse([], [
      f"options.batch_size = {bs}", "options.gan_class = @SSGAN",
      "options.architecture = 'tiny_arch'", "options.training_steps = 10",
      f"options.disc_iters = {disc_iters}", "options.z_dim = 8",
      f"SSGAN.rotated_batch_size = {rotated}", "tiny.Generator.ch = 8",
      "tiny.Discriminator.ch = 8"] + list(extra))


def random_images(n, res=8, seed=0):
  return np.random.RandomState(seed).rand(n, res, res, 3).astype(np.float32)
