"""Stateless, index-keyed randomness: results do not depend on the replica count.

Every draw in a training step (z, sampled labels, penalty noise) comes from a key
`fold_in(fold_in(fold_in([seed, 0], step), purpose), sub)`. The step draws the values of
the WHOLE global batch and replica r keeps rows [r*b, (r+1)*b), so the z of example i at
step s is the same on 1 or N replicas (the global batch is cheap to draw: B x z_dim).
"""

import gin
import tensorflow as tf

# Purposes: which part of a step a draw belongs to.
Z_D = 1          # z of D sub-step `sub`
Z_G = 2          # z of the G update
LABELS_D = 3     # sampled labels of D sub-step `sub`
LABELS_G = 4
PENALTY = 5      # penalty noise of D sub-step `sub`
EVAL_Z = 6
EVAL_LABELS = 7


def key(seed, step, purpose, sub=0):
  """A stateless seed (int32 [2]) for (seed, step, purpose, sub)."""
  base = tf.stack([tf.cast(seed, tf.int32), tf.constant(0, tf.int32)])
  k = tf.random.experimental.stateless_fold_in(base, tf.cast(step, tf.int32))
  k = tf.random.experimental.stateless_fold_in(k, purpose)
  return tf.random.experimental.stateless_fold_in(k, sub)


def replica_slice(global_values, per_replica_batch):
  """Rows of this replica: [r*b, (r+1)*b) of a value drawn for the global batch."""
  ctx = tf.distribute.get_replica_context()
  if ctx is None or ctx.num_replicas_in_sync == 1:
    return global_values
  r = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
  return tf.gather(global_values, r * per_replica_batch + tf.range(per_replica_batch))


@gin.configurable("uniform", module="tf.random")
def uniform_distribution(shape, seed, minval=-1.0, maxval=1.0):
  """`@tf.random.uniform` in configs: U(minval, maxval), drawn statelessly."""
  return tf.random.stateless_uniform(shape, seed=seed, minval=minval, maxval=maxval)


@gin.configurable("normal", module="tf.random")
def normal_distribution(shape, seed, stddev=1.0):
  """`@tf.random.normal` in configs: N(0, stddev^2), drawn statelessly."""
  return tf.random.stateless_normal(shape, seed=seed, stddev=stddev)


def _draw(distribution_fn, shape, seed, minval, maxval, stddev):
  # Like compare_gan, pass each distribution only the arguments it accepts.
  from compare_ssgan.ops import call_with_accepted_args  # pylint: disable=import-outside-toplevel
  return call_with_accepted_args(distribution_fn, shape=shape, seed=seed, minval=minval,
                                 maxval=maxval, stddev=stddev)


@gin.configurable("z")
def sample_z(shape, seed, distribution_fn=uniform_distribution, minval=-1.0, maxval=1.0,
             stddev=1.0):
  """Training z (compare_gan `z.*`; default U(-1, 1))."""
  return _draw(distribution_fn, shape, seed, minval, maxval, stddev)


@gin.configurable("eval_z")
def sample_eval_z(shape, seed, distribution_fn=uniform_distribution, minval=-1.0, maxval=1.0,
                  stddev=1.0):
  """Evaluation z (compare_gan `eval_z.*`; default U(-1, 1))."""
  return _draw(distribution_fn, shape, seed, minval, maxval, stddev)
