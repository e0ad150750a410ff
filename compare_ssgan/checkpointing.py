"""The one checkpoint layout every tool uses (runner, evaluation, export, sampling).

Keras 3 models do not expose all their variables to `tf.train.Checkpoint`'s object graph
(layers kept in Python lists and the spectral-norm `u` vectors go missing, and trainable
weights are only reachable through the optimizer), so the checkpoint lists every variable
explicitly, by its Keras path: `generator/<path>`, `discriminator/<path>`, ...
"""

import re

import tensorflow as tf


def _node(variables):
  """A trackable whose children are `variables`, named by their Keras paths."""
  named = {}
  for v in variables:
    base = re.sub(r"[^A-Za-z0-9_.-]", ".", getattr(v, "path", None) or v.name)
    name, i = base, 1
    while name in named:
      i += 1
      name = f"{base}.{i}"
    named[name] = v
  return tf.train.Checkpoint(**named)


def make_checkpoint(gan):
  """A `tf.train.Checkpoint` of everything that defines a run's state.

  G, D, the rotation head (all variables, so SN `u` vectors and BN statistics too), both
  optimizers (slots, iteration counts, learning rates), the EMA generator and the
  counters. Data position needs no entry: the input pipeline is keyed by the step.
  """
  items = dict(generator=_node(gan.generator.variables),
               discriminator=_node(gan.discriminator.variables),
               g_optimizer=_node(gan.g_optimizer.variables),
               d_optimizer=_node(gan.d_optimizer.variables),
               global_step=gan.global_step, disc_step=gan.disc_step)
  if gan.rotation_head is not None:
    items["rotation_head"] = _node(gan.rotation_head.variables)
  if gan.generator_ema is not None:
    items["generator_ema"] = _node(gan.generator_ema.variables)
  return tf.train.Checkpoint(**items)


def restore(gan, path):
  """Restores `path` into `gan`; every variable of `gan` must be found in the file."""
  make_checkpoint(gan).restore(path).assert_existing_objects_matched()


def checkpoint_manager(gan, model_dir, max_to_keep=10):
  """`CheckpointManager` writing `model_dir/ckpt-<global_step>`."""
  return tf.train.CheckpointManager(make_checkpoint(gan), model_dir, max_to_keep=max_to_keep,
                                    checkpoint_name="ckpt", step_counter=gan.global_step)
