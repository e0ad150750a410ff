"""The one checkpoint layout every tool uses (runner, evaluation, export, sampling)."""

import tensorflow as tf


def make_checkpoint(gan):
  """A `tf.train.Checkpoint` of everything that defines a run's state.

  G, D, the rotation head, both optimizers (slots and iteration counts), the EMA
  generator, the counters, and so all SN `u` vectors and BN statistics (they are model
  variables). Data position needs no entry: the input pipeline is keyed by step.
  """
  items = dict(generator=gan.generator, discriminator=gan.discriminator,
               g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer,
               global_step=gan.global_step, disc_step=gan.disc_step)
  if gan.rotation_head is not None:
    items["rotation_head"] = gan.rotation_head
  if gan.generator_ema is not None:
    items["generator_ema"] = gan.generator_ema
  return tf.train.Checkpoint(**items)


def checkpoint_manager(gan, model_dir, max_to_keep=10):
  """`CheckpointManager` writing `model_dir/ckpt-<global_step>`."""
  return tf.train.CheckpointManager(make_checkpoint(gan), model_dir, max_to_keep=max_to_keep,
                                    checkpoint_name="ckpt", step_counter=gan.global_step)
