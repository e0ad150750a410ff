"""GAN losses and penalties against NumPy hand computations."""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import ops
from compare_ssgan.gans import loss_lib, penalty_lib

_REAL = np.array([[2.0], [-1.0], [0.5], [0.0]], np.float32)
_FAKE = np.array([[-3.0], [1.5], [0.25], [-0.5]], np.float32)


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def _np_losses(name, lr, lf):
  pr, pf = _sigmoid(lr), _sigmoid(lf)
  if name == "non_saturating":
    real = -np.mean(np.log(pr))
    fake = -np.mean(np.log(1 - pf))
    return real + fake, real, fake, -np.mean(np.log(pf))
  if name == "wasserstein":
    return -lr.mean() + lf.mean(), -lr.mean(), lf.mean(), -lf.mean()
  if name == "least_squares":
    real, fake = np.mean((pr - 1) ** 2), np.mean(pf ** 2)
    return 0.5 * (real + fake), real, fake, 0.5 * np.mean((pf - 1) ** 2)
  if name == "hinge":
    real = np.mean(np.maximum(0, 1 - lr))
    fake = np.mean(np.maximum(0, 1 + lf))
    return real + fake, real, fake, -lf.mean()
  raise ValueError(name)


def _call(fn):
  return fn(d_real=tf.constant(_sigmoid(_REAL)), d_fake=tf.constant(_sigmoid(_FAKE)),
            d_real_logits=tf.constant(_REAL), d_fake_logits=tf.constant(_FAKE))


@pytest.mark.parametrize("name", ["non_saturating", "wasserstein", "least_squares", "hinge"])
def test_loss_against_numpy(name):
  got = [t.numpy() for t in _call(getattr(loss_lib, name))]
  expected = _np_losses(name, _REAL.astype(np.float64), _FAKE.astype(np.float64))
  assert len(got) == 4
  for g, e in zip(got, expected):
    assert np.shape(g) == ()
    np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_hand_values():
  # A few values written out by hand, independent of the helper above.
  d, dr, df, g = [t.numpy() for t in _call(loss_lib.hinge)]
  # relu(1 - [2, -1, .5, 0]) = [0, 2, .5, 1] -> .875; relu(1 + [-3, 1.5, .25, -.5]) =
  # [0, 2.5, 1.25, .5] -> 1.0625
  np.testing.assert_allclose([dr, df, d, g], [0.875, 1.0625, 1.9375, 0.4375], rtol=1e-6)
  d, dr, df, g = [t.numpy() for t in _call(loss_lib.wasserstein)]
  np.testing.assert_allclose([dr, df, d, g], [-0.375, -0.4375, -0.8125, 0.4375], rtol=1e-6)


def test_get_losses_selected_by_gin():
  got = _call(loss_lib.get_losses)  # default: non_saturating
  np.testing.assert_allclose(got[0].numpy(), _call(loss_lib.non_saturating)[0].numpy())
  gin.parse_config("loss.fn = @hinge")
  got = _call(loss_lib.get_losses)
  np.testing.assert_allclose(got[0].numpy(), 1.9375, rtol=1e-6)


@pytest.mark.parametrize("name", ["non_saturating", "wasserstein", "least_squares", "hinge"])
def test_loss_shape_check(name):
  fn = getattr(loss_lib, name)
  flat = tf.constant(_REAL[:, 0])
  with pytest.raises(ValueError, match="shape"):
    fn(d_real=flat, d_fake=flat, d_real_logits=flat, d_fake_logits=flat)
  wide = tf.zeros([4, 2])
  with pytest.raises(ValueError, match="shape"):
    fn(d_real=wide, d_fake=wide, d_real_logits=wide, d_fake_logits=wide)


def test_loss_float32_from_float16():
  out = loss_lib.wasserstein(d_real_logits=tf.constant(_REAL, tf.float16),
                             d_fake_logits=tf.constant(_FAKE, tf.float16))
  assert all(t.dtype == tf.float32 for t in out)


# --- penalties --------------------------------------------------------------------------

class _LinearD:
  """logits = sum(A * x) + b: dD/dx = A for every example."""

  def __init__(self, a):
    self.a = tf.constant(a)

  def __call__(self, x, y=None, training=False):
    del y, training
    logits = tf.reduce_sum(x * self.a, axis=[1, 2, 3])[:, None] + 0.3
    return tf.sigmoid(logits), logits, tf.reshape(x, [tf.shape(x)[0], -1])


class _QuadraticD:
  """logits = sum(A * x^2) / 2: dD/dx = A * x, so the penalty depends on where it is taken."""

  def __init__(self, a):
    self.a = tf.constant(a)

  def __call__(self, x, y=None, training=False):
    del y, training
    logits = 0.5 * tf.reduce_sum(self.a * tf.square(x), axis=[1, 2, 3])[:, None]
    return tf.sigmoid(logits), logits, tf.reshape(x, [tf.shape(x)[0], -1])


def _slope_np(grads):
  slopes = np.sqrt(1e-4 + np.sum(grads.astype(np.float64) ** 2, axis=(1, 2, 3)))
  return np.mean((slopes - 1.0) ** 2)


_SHAPE = (3, 2, 2, 2)


def _data(seed=0):
  rng = np.random.RandomState(seed)
  x = rng.uniform(0, 1, size=_SHAPE).astype(np.float32)
  x_fake = rng.uniform(0, 1, size=_SHAPE).astype(np.float32)
  a = rng.normal(size=_SHAPE[1:]).astype(np.float32) * 0.4
  return x, x_fake, a


def test_no_penalty():
  x, x_fake, a = _data()
  p = penalty_lib.no_penalty(discriminator=_LinearD(a), x=x, x_fake=x_fake)
  assert float(p) == 0.0
  assert float(penalty_lib.get_penalty_loss()) == 0.0


def test_wgangp_linear_d():
  x, x_fake, a = _data()
  seed = tf.constant([1, 2], tf.int32)
  p = penalty_lib.wgangp_penalty(_LinearD(a), tf.constant(x), tf.constant(x_fake), seed=seed)
  grads = np.broadcast_to(a, _SHAPE)
  np.testing.assert_allclose(p.numpy(), _slope_np(grads), rtol=1e-5)


def test_wgangp_quadratic_d_fixed_seed():
  x, x_fake, a = _data()
  seed = tf.constant([7, 11], tf.int32)
  d = _QuadraticD(a)
  p = penalty_lib.wgangp_penalty(d, tf.constant(x), tf.constant(x_fake), seed=seed).numpy()
  alpha = tf.random.stateless_uniform([3, 1, 1, 1], seed=seed).numpy()
  assert 0.0 <= alpha.min() and alpha.max() < 1.0
  x_hat = x + alpha * (x_fake - x)
  np.testing.assert_allclose(p, _slope_np(a * x_hat), rtol=1e-5)
  # Reproducible for a seed, different for another.
  again = penalty_lib.wgangp_penalty(d, tf.constant(x), tf.constant(x_fake), seed=seed).numpy()
  assert p == again
  other = penalty_lib.wgangp_penalty(d, tf.constant(x), tf.constant(x_fake),
                                     seed=tf.constant([8, 11])).numpy()
  assert other != p
  # Interpolates between real and fake: alpha = 0 would give the penalty at x.
  assert not np.isclose(p, _slope_np(a * x))


def test_dragan_fixed_seed():
  x, _, a = _data(1)
  seed = tf.constant([3, 4], tf.int32)
  d = _QuadraticD(a)
  p = penalty_lib.dragan_penalty(d, tf.constant(x), seed=seed).numpy()
  noise = tf.random.stateless_uniform(_SHAPE, seed=seed).numpy()
  std = np.std(x.astype(np.float64))   # over ALL axes: a scalar
  x_noisy = np.clip(x + std * (noise - 0.5), 0.0, 1.0)
  np.testing.assert_allclose(p, _slope_np(a * x_noisy), rtol=1e-4)
  # Linear D: the gradient is A wherever the penalty is taken.
  p_lin = penalty_lib.dragan_penalty(_LinearD(a), tf.constant(x), seed=seed).numpy()
  np.testing.assert_allclose(p_lin, _slope_np(np.broadcast_to(a, _SHAPE)), rtol=1e-5)


def test_penalty_selected_by_gin_drops_extra_args():
  x, x_fake, a = _data()
  gin.parse_config("penalty.fn = @dragan_penalty")
  seed = tf.constant([3, 4], tf.int32)
  p = penalty_lib.get_penalty_loss(discriminator=_LinearD(a), x=tf.constant(x),
                                   x_fake=tf.constant(x_fake), y=None, seed=seed,
                                   is_training=True)
  np.testing.assert_allclose(p.numpy(), _slope_np(np.broadcast_to(a, _SHAPE)), rtol=1e-5)


class _SmallD(keras.Model):
  def __init__(self):
    super().__init__()
    self.conv = ops.Conv2D(3, 3, use_sn=True, name="conv")
    self.fc = ops.Linear(1, name="fc")

  def call(self, x, y=None, training=False):
    h = self.conv(x, training=training)
    logits = self.fc(h, training=training)
    return tf.sigmoid(logits), logits, h


def test_l2_penalty_mean_over_kernels():
  d = _SmallD()
  d(tf.zeros([1, 4, 4, 2]))
  d.fc.bias.assign([5.0])   # biases do not count
  kernels = [d.conv.kernel.numpy(), d.fc.kernel.numpy()]
  expected = np.mean([np.sum(k.astype(np.float64) ** 2) / 2 for k in kernels])
  p = penalty_lib.l2_penalty(d)
  np.testing.assert_allclose(p.numpy(), expected, rtol=1e-5)
  # SN's u is not a kernel; gin selection works too.
  gin.parse_config("penalty.fn = @l2_penalty")
  np.testing.assert_allclose(penalty_lib.get_penalty_loss(discriminator=d, x=None).numpy(),
                             expected, rtol=1e-5)
