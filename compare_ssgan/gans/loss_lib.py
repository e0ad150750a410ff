"""GAN losses selected by gin `loss.fn` (compare_gan's loss_lib).

Each returns `(d_loss, d_loss_real, d_loss_fake, g_loss)` from D's outputs on real and
fake images, all of shape [B, 1]. Computed in float32.
"""

import gin
import tensorflow as tf


def _check(*tensors):
  shapes = [t.shape for t in tensors]
  for s in shapes:
    if s.rank != 2 or s[1] != 1:
      raise ValueError(f"loss inputs must have shape [batch, 1], got {shapes}")
  return [tf.cast(t, tf.float32) for t in tensors]


def _sigmoid_ce(logits, label):
  return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
      labels=tf.fill(tf.shape(logits), float(label)), logits=logits))


@gin.configurable("non_saturating", allowlist=[])
def non_saturating(d_real_logits, d_fake_logits, d_real=None, d_fake=None):
  """d = CE(real, 1) + CE(fake, 0); g = CE(fake, 1) (Goodfellow et al., NS variant)."""
  del d_real, d_fake
  d_real_logits, d_fake_logits = _check(d_real_logits, d_fake_logits)
  d_loss_real = _sigmoid_ce(d_real_logits, 1.0)
  d_loss_fake = _sigmoid_ce(d_fake_logits, 0.0)
  return d_loss_real + d_loss_fake, d_loss_real, d_loss_fake, _sigmoid_ce(d_fake_logits, 1.0)


@gin.configurable("wasserstein", allowlist=[])
def wasserstein(d_real_logits, d_fake_logits, d_real=None, d_fake=None):
  """d = -mean(real) + mean(fake); g = -mean(fake)."""
  del d_real, d_fake
  d_real_logits, d_fake_logits = _check(d_real_logits, d_fake_logits)
  d_loss_real = -tf.reduce_mean(d_real_logits)
  d_loss_fake = tf.reduce_mean(d_fake_logits)
  return d_loss_real + d_loss_fake, d_loss_real, d_loss_fake, -d_loss_fake


@gin.configurable("least_squares", allowlist=[])
def least_squares(d_real_logits=None, d_fake_logits=None, d_real=None, d_fake=None):
  """On probabilities: d = 0.5(mean((p_r-1)^2) + mean(p_f^2)); g = 0.5 mean((p_f-1)^2)."""
  del d_real_logits, d_fake_logits
  d_real, d_fake = _check(d_real, d_fake)
  d_loss_real = tf.reduce_mean(tf.square(d_real - 1.0))
  d_loss_fake = tf.reduce_mean(tf.square(d_fake))
  d_loss = 0.5 * (d_loss_real + d_loss_fake)
  return d_loss, d_loss_real, d_loss_fake, 0.5 * tf.reduce_mean(tf.square(d_fake - 1.0))


@gin.configurable("hinge", allowlist=[])
def hinge(d_real_logits, d_fake_logits, d_real=None, d_fake=None):
  """d = mean(relu(1 - real)) + mean(relu(1 + fake)); g = -mean(fake)."""
  del d_real, d_fake
  d_real_logits, d_fake_logits = _check(d_real_logits, d_fake_logits)
  d_loss_real = tf.reduce_mean(tf.nn.relu(1.0 - d_real_logits))
  d_loss_fake = tf.reduce_mean(tf.nn.relu(1.0 + d_fake_logits))
  return d_loss_real + d_loss_fake, d_loss_real, d_loss_fake, -tf.reduce_mean(d_fake_logits)


@gin.configurable("loss")
def loss_fn(fn=non_saturating):
  """The loss function chosen by gin `loss.fn` (read when a GAN is built)."""
  return fn


def get_losses(fn=None, **kwargs):
  """The loss `fn` (default: gin's `loss.fn`) applied to D's real/fake outputs."""
  return (fn or loss_fn())(**kwargs)
