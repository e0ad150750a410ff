"""A short CPU training run: D learns rotations of the built-in data; losses stay finite."""

import numpy as np
import tensorflow as tf

from compare_ssgan import gin_utils, rotation, runner


def _rotation_accuracy(gan, images):
  rotated = tf.concat([images, rotation.rotate_images(images)], axis=0)
  _, _, features = gan.discriminator(rotated, None, training=False)
  logits = gan.rotation_head(features, training=False)
  return float(rotation.rotation_accuracy(logits, rotation.rotation_labels(len(images))))


def test_rotation_accuracy_rises_well_above_chance(tmp_path):
  # A larger step than the paper's 2e-4 so 40 tiny steps suffice (the D rotation task is
  # easy on this data: sky above, ground below).
  gin_utils.parse(["test_tiny"], ["options.training_steps = 40", "ModularGAN.g_lr = 0.001"])
  exp = runner.Experiment(str(tmp_path))
  gan = exp.gan
  held_out = tf.constant(exp.dataset.eval_images(64))
  before = _rotation_accuracy(gan, held_out)
  iterator = iter(exp.dataset.input_fn("train", gan.per_replica_batch))
  metrics = gan.train_loop(iterator, 40)
  after = _rotation_accuracy(gan, held_out)
  assert all(np.isfinite(v) for v in metrics.values()), metrics
  assert before < 0.45, before            # an untrained head is near chance (0.25)
  assert after > 0.8, (before, after)      # measured: 0.91-1.0 from step 20 on
