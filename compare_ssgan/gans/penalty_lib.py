"""Penalties selected by gin `penalty.fn`, weighted by `options.lamba` (compare_gan's).

Random draws are stateless, keyed by the `seed` tensor the training step passes, so a
penalty is reproducible and independent of the replica count.
"""

import gin
import tensorflow as tf


def _slope_penalty(discriminator, x_hat, y):
  """mean((sqrt(1e-4 + sum_hwc (dD/dx)^2) - 1)^2) on D's logits."""
  with tf.GradientTape() as tape:
    tape.watch(x_hat)
    _, logits, _ = discriminator(x_hat, y, training=True)
    # The sum must be recorded by the tape, or the gradient is None.
    total = tf.reduce_sum(tf.cast(logits, tf.float32))
  grads = tape.gradient(total, x_hat)
  grads = tf.cast(grads, tf.float32)
  slopes = tf.sqrt(1e-4 + tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
  return tf.reduce_mean(tf.square(slopes - 1.0))


@gin.configurable("no_penalty", allowlist=[])
def no_penalty(**kwargs):
  del kwargs
  return tf.constant(0.0)


@gin.configurable("wgangp_penalty", allowlist=[])
def wgangp_penalty(discriminator, x, x_fake, y=None, seed=None, **kwargs):
  """WGAN-GP (Gulrajani et al.): slopes at x + alpha (x_fake - x), alpha ~ U[0, 1)."""
  del kwargs
  alpha = tf.random.stateless_uniform([tf.shape(x)[0], 1, 1, 1], seed=seed, dtype=x.dtype)
  x_hat = x + alpha * (x_fake - x)
  return _slope_penalty(discriminator, x_hat, y)


@gin.configurable("dragan_penalty", allowlist=[])
def dragan_penalty(discriminator, x, y=None, seed=None, **kwargs):
  """DRAGAN (Kodali et al.): slopes at clip(x + std(x) * (U[0, 1) - 0.5), 0, 1).

  std is over ALL axes of the (per-replica) batch, a scalar, as in compare_gan.
  """
  del kwargs
  _, variance = tf.nn.moments(x, axes=list(range(len(x.shape))))
  noise = tf.random.stateless_uniform(tf.shape(x), seed=seed, dtype=x.dtype)
  x_noisy = tf.clip_by_value(x + tf.sqrt(variance) * (noise - 0.5), 0.0, 1.0)
  return _slope_penalty(discriminator, x_noisy, y)


@gin.configurable("l2_penalty", allowlist=[])
def l2_penalty(discriminator, rotation_head=None, **kwargs):
  """sum(w^2)/2 (tf.nn.l2_loss) per D kernel, averaged over kernels.

  compare_gan selects D's variables by the substring "discriminator" in their names, which
  includes SS-GAN's rotation head (`discriminator_rotation/score_classify/kernel`): so
  does this, when the GAN passes its head.
  """
  del kwargs
  variables = list(discriminator.trainable_variables)
  if rotation_head is not None:
    variables += list(rotation_head.trainable_variables)
  kernels = [v for v in variables if v.path.split("/")[-1] == "kernel"]
  if not kernels:
    raise ValueError("l2_penalty found no D kernel variables")
  return tf.reduce_mean([tf.nn.l2_loss(tf.convert_to_tensor(v)) for v in kernels])


@gin.configurable("penalty")
def penalty_fn(fn=no_penalty):
  """The penalty function chosen by gin `penalty.fn` (read when a GAN is built)."""
  return fn


def get_penalty_loss(fn=None, **kwargs):
  """The penalty `fn` (default: gin's `penalty.fn`); arguments it does not accept are
  dropped, as compare_gan's `call_with_accepted_args` did."""
  from compare_ssgan.ops import call_with_accepted_args  # pylint: disable=import-outside-toplevel
  return call_with_accepted_args(fn or penalty_fn(), **kwargs)
