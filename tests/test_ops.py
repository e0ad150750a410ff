"""Layers and normalisation ops against compare_gan's behaviour and hand computations."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import ops
from compare_ssgan.ops import layers as layers_lib
from compare_ssgan.ops import normalization as norm_lib

# --- batch norm: compare_gan arch_ops_test.py::testBatchNorm fixture -----------------------

_BN_X = np.array([
    [[[5, 7, 2]], [[5, 8, 8]]],
    [[[1, 2, 0]], [[4, 0, 4]]],
    [[[6, 2, 6]], [[5, 0, 5]]],
    [[[2, 4, 2]], [[6, 4, 1]]],
], dtype=np.float32)  # [4, 2, 1, 3]

_BN_EXPECTED = np.array([
    [[[0.4375205, 1.30336881, -0.58830315]], [[0.4375205, 1.66291881, 1.76490951]]],
    [[[-1.89592218, -0.49438119, -1.37270737]], [[-0.14584017, -1.21348119, 0.19610107]]],
    [[[1.02088118, -0.49438119, 0.98050523]], [[0.4375205, -1.21348119, 0.58830321]]],
    [[[-1.31256151, 0.22471881, -0.58830315]], [[1.02088118, 0.22471881, -0.98050523]]],
], dtype=np.float32)


def _np_moments(x):
  axes = tuple(range(x.ndim - 1))
  return x.mean(axis=axes), x.var(axis=axes)


def test_batch_norm_fixture_training():
  bn = ops.batch_norm(name="bn")
  out = bn(tf.constant(_BN_X), training=True)
  assert out.shape == _BN_X.shape
  np.testing.assert_allclose(out.numpy(), _BN_EXPECTED, rtol=1e-5, atol=1e-5)


def test_batch_norm_fixture_is_eps_1e3_biased_variance():
  # The fixture itself: (x - mean) / sqrt(var_biased + 1e-3); guards the expectation above.
  mean, var = _np_moments(_BN_X)
  np.testing.assert_allclose((_BN_X - mean) / np.sqrt(var + 1e-3), _BN_EXPECTED, atol=1e-5)
  # With another epsilon the fixture does not hold: the test above can fail.
  assert np.abs((_BN_X - mean) / np.sqrt(var + 1e-5) - _BN_EXPECTED).max() > 1e-4


def test_batch_norm_moving_averages_update_with_decay():
  gin.bind_parameter("standardize_batch.decay", 0.9)
  bn = ops.batch_norm(name="bn")
  x = tf.constant(_BN_X)
  bn(x, training=True)
  mean, var = _np_moments(_BN_X)
  sb = bn.standardize
  np.testing.assert_allclose(sb.moving_mean.numpy(), 0.1 * mean, rtol=1e-5)
  np.testing.assert_allclose(sb.moving_variance.numpy(), 0.9 * 1.0 + 0.1 * var, rtol=1e-5)
  bn(x, training=True)
  np.testing.assert_allclose(sb.moving_mean.numpy(), 0.9 * 0.1 * mean + 0.1 * mean, rtol=1e-5)
  # Inference reads the moving averages and does not change them.
  before = sb.moving_mean.numpy().copy()
  out = bn(x, training=False).numpy()
  np.testing.assert_allclose(sb.moving_mean.numpy(), before)
  expected = (_BN_X - sb.moving_mean.numpy()) / np.sqrt(sb.moving_variance.numpy() + 1e-3)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_standardize_batch_default_decay_is_0999():
  bn = ops.batch_norm(name="bn")
  bn(tf.constant(_BN_X), training=True)
  mean, _ = _np_moments(_BN_X)
  np.testing.assert_allclose(bn.standardize.moving_mean.numpy(), 0.001 * mean, rtol=1e-4)


def test_batch_norm_gamma_beta():
  bn = ops.batch_norm(name="bn")
  x = tf.constant(_BN_X)
  bn(x, training=True)
  assert bn.gamma.shape == (3,) and bn.beta.shape == (3,)
  np.testing.assert_allclose(bn.gamma.numpy(), 1.0)
  np.testing.assert_allclose(bn.beta.numpy(), 0.0)
  bn.gamma.assign([2.0, 1.0, 0.5])
  bn.beta.assign([1.0, 0.0, -1.0])
  out = bn(x, training=True).numpy()
  np.testing.assert_allclose(out, _BN_EXPECTED * [2.0, 1.0, 0.5] + [1.0, 0.0, -1.0],
                             rtol=1e-5, atol=1e-5)
  # 2 trainable (gamma, beta), moving stats non-trainable.
  assert len(bn.trainable_variables) == 2


def _accu_layer():
  gin.bind_parameter("standardize_batch.use_moving_averages", False)
  bn = ops.batch_norm(name="bn", center=False, scale=False)
  bn(tf.zeros([2, 2, 1, 3]), training=True)  # build
  return bn, bn.standardize


def test_accumulators_training_uses_batch_moments_and_leaves_them_untouched():
  bn, sb = _accu_layer()
  assert not hasattr(sb, "moving_mean")
  out = bn(tf.constant(_BN_X), training=True).numpy()
  np.testing.assert_allclose(out, _BN_EXPECTED, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(sb.accu_mean.numpy(), 0.0)
  np.testing.assert_allclose(sb.accu_variance.numpy(), 0.0)
  np.testing.assert_allclose(sb.accu_counter.numpy(), 1e-12)
  assert int(sb.update_accus.numpy()) == 0


def test_accumulators_accumulate_then_read():
  """compare_gan's testAccumulatedMomentsDuringEal semantics."""
  bn, sb = _accu_layer()
  rng = np.random.RandomState(0)
  batches = [rng.normal(loc=i, scale=1 + i, size=(5, 2, 1, 3)).astype(np.float32)
             for i in range(3)]
  sb.update_accus.assign(1)
  sum_mean, sum_var = np.zeros(3), np.zeros(3)
  for i, b in enumerate(batches):
    out = bn(tf.constant(b), training=False).numpy()
    m, v = _np_moments(b)
    sum_mean += m
    sum_var += v
    counter = (i + 1) + 1e-12
    np.testing.assert_allclose(sb.accu_counter.numpy(), counter, rtol=1e-6)
    np.testing.assert_allclose(sb.accu_mean.numpy(), sum_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sb.accu_variance.numpy(), sum_var, rtol=1e-5, atol=1e-6)
    # The returned normalisation uses the accumulated averages (including this batch).
    expected = (b - sum_mean / counter) / np.sqrt(sum_var / counter + 1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
  # update_accus = 0: reading does not accumulate.
  sb.update_accus.assign(0)
  new = rng.normal(size=(5, 2, 1, 3)).astype(np.float32)
  out = bn(tf.constant(new), training=False).numpy()
  np.testing.assert_allclose(sb.accu_counter.numpy(), 3 + 1e-12, rtol=1e-6)
  np.testing.assert_allclose(sb.accu_mean.numpy(), sum_mean, rtol=1e-5, atol=1e-6)
  expected = (new - sum_mean / 3) / np.sqrt(sum_var / 3 + 1e-3)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_accumulators_in_tf_function():
  bn, sb = _accu_layer()
  f = tf.function(lambda x: bn(x, training=False))
  sb.update_accus.assign(1)
  f(tf.constant(_BN_X))
  f(tf.constant(_BN_X))
  np.testing.assert_allclose(sb.accu_counter.numpy(), 2.0, rtol=1e-6)
  sb.update_accus.assign(0)
  f(tf.constant(_BN_X))
  np.testing.assert_allclose(sb.accu_counter.numpy(), 2.0, rtol=1e-6)


def test_standardize_variable_aggregations():
  bn = ops.batch_norm(name="bn")
  bn(tf.constant(_BN_X), training=True)
  agg = bn.standardize.moving_mean.aggregation
  assert "mean" in str(agg).lower()
  _, sb = _accu_layer()
  assert "first" in str(sb.accu_counter.aggregation).lower()
  assert "mean" in str(sb.accu_mean.aggregation).lower()


# --- unpool -----------------------------------------------------------------------------

def test_unpool_zero_insertion_2x2():
  x = tf.constant([[1.0, 2.0], [3.0, 4.0]])[None, :, :, None]
  out = ops.unpool(x).numpy()[0, :, :, 0]
  np.testing.assert_array_equal(
      out, [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])


def test_unpool_batch_and_channels():
  rng = np.random.RandomState(1)
  x = rng.normal(size=(3, 2, 3, 5)).astype(np.float32)
  out = ops.unpool(tf.constant(x)).numpy()
  assert out.shape == (3, 4, 6, 5)
  expected = np.zeros((3, 4, 6, 5), np.float32)
  expected[:, ::2, ::2, :] = x
  np.testing.assert_array_equal(out, expected)
  # Not nearest-neighbour upsampling.
  assert not np.allclose(out, np.repeat(np.repeat(x, 2, axis=1), 2, axis=2))


# --- spectral norm ----------------------------------------------------------------------

def _fixed_matrix(rows, cols, singular_values, seed=0):
  rng = np.random.RandomState(seed)
  u, _ = np.linalg.qr(rng.normal(size=(rows, rows)))
  v, _ = np.linalg.qr(rng.normal(size=(cols, cols)))
  s = np.zeros((rows, cols))
  for i, sv in enumerate(singular_values):
    s[i, i] = sv
  return (u @ s @ v.T).astype(np.float32)


def _sn_linear(w, **kwargs):
  layer = ops.Linear(w.shape[1], use_sn=True, **kwargs)
  layer(tf.zeros([1, w.shape[0]]))
  layer.kernel.assign(w)
  return layer


@pytest.mark.parametrize("side", ["left", "right"])
def test_spectral_norm_converges_to_top_singular_value(side):
  gin.bind_parameter("spectral_norm.singular_value", side)
  w = _fixed_matrix(6, 4, [3.0, 1.5, 1.0, 0.5])
  top = np.linalg.svd(w, compute_uv=False)[0]
  layer = _sn_linear(w)
  x = tf.ones([2, 6])
  for _ in range(30):
    layer(x, training=True)
  eff = layer.effective_kernel(training=False).numpy()
  sigma = w / np.where(eff == 0, 1, eff)
  np.testing.assert_allclose(sigma[np.abs(eff) > 1e-3], top, rtol=1e-4)
  np.testing.assert_allclose(np.linalg.svd(eff, compute_uv=False)[0], 1.0, rtol=1e-4)


def test_spectral_norm_u_persists_and_updates_only_in_training():
  w = _fixed_matrix(6, 4, [3.0, 1.5, 1.0, 0.5])
  layer = _sn_linear(w)
  u_var = layer.sn.u
  assert not u_var.trainable
  assert u_var in layer.non_trainable_variables
  assert u_var.shape == (6, 1)
  x = tf.ones([2, 6])
  u0 = u_var.numpy().copy()
  layer(x, training=False)
  np.testing.assert_array_equal(u_var.numpy(), u0)
  layer(x, training=True)
  u1 = u_var.numpy().copy()
  assert not np.allclose(u1, u0)
  # The stored u is exactly one power iteration from u0.
  v = w.T @ u0
  v /= np.linalg.norm(v)
  u = w @ v
  u /= np.linalg.norm(u)
  np.testing.assert_allclose(u1, u, rtol=1e-5, atol=1e-6)
  layer(x, training=False)
  np.testing.assert_array_equal(u_var.numpy(), u1)
  layer(x, training=True)
  assert not np.allclose(u_var.numpy(), u1)
  # Also inside a tf.function.
  f = tf.function(lambda t: layer(t, training=True))
  u2 = u_var.numpy().copy()
  f(x)
  assert not np.allclose(u_var.numpy(), u2)


def test_spectral_norm_gradient_flows_through_sigma():
  w = _fixed_matrix(5, 3, [2.0, 1.0, 0.5], seed=3)
  layer = _sn_linear(w)
  u0 = layer.sn.u.numpy().astype(np.float64)
  c = np.random.RandomState(4).normal(size=w.shape).astype(np.float32)
  with tf.GradientTape() as tape:
    eff = layer.effective_kernel(training=False)
    loss = tf.reduce_sum(eff * c)
  grad = tape.gradient(loss, layer.kernel).numpy()
  # Analytic gradient of sum(C * W / sigma(W)) with u, v held fixed.
  w64, c64 = w.astype(np.float64), c.astype(np.float64)
  v = w64.T @ u0
  v /= np.linalg.norm(v)
  u = w64 @ v
  u /= np.linalg.norm(u)
  sigma = (u.T @ w64 @ v).item()
  analytic = c64 / sigma - np.sum(w64 * c64) / sigma ** 2 * (u @ v.T)
  np.testing.assert_allclose(grad, analytic, rtol=1e-4, atol=1e-5)
  # ... which is not the gradient you get when sigma is treated as a constant.
  assert np.abs(grad - c64 / sigma).max() > 1e-2


@pytest.mark.parametrize("side,units,in_dim,expected", [
    ("left", 3, 5, (5, 1)),
    ("right", 3, 5, (1, 3)),
    ("auto", 3, 5, (1, 3)),   # rows 5 > cols 3: the smaller side is the right one
    ("auto", 7, 4, (4, 1)),
])
def test_singular_value_side_shapes(side, units, in_dim, expected):
  gin.bind_parameter("spectral_norm.singular_value", side)
  layer = ops.Linear(units, use_sn=True)
  layer(tf.zeros([1, in_dim]), training=True)
  assert tuple(layer.sn.u.shape) == expected


def test_singular_value_rejects_unknown_side():
  gin.bind_parameter("spectral_norm.singular_value", "middle")
  with pytest.raises(ValueError, match="singular_value"):
    ops.Linear(2, use_sn=True)(tf.zeros([1, 3]))


def test_conv_kernel_reshaped_for_spectral_norm():
  conv = ops.Conv2D(4, 3, use_sn=True)
  conv(tf.zeros([1, 5, 5, 2]), training=False)
  assert conv.kernel.shape == (3, 3, 2, 4)
  assert tuple(conv.sn.u.shape) == (18, 1)
  w = conv.kernel.numpy().reshape(18, 4).astype(np.float64)
  u0 = conv.sn.u.numpy().astype(np.float64)
  v = w.T @ u0
  v /= np.linalg.norm(v)
  u = w @ v
  u /= np.linalg.norm(u)
  sigma = (u.T @ w @ v).item()
  eff = conv.effective_kernel(training=False).numpy()
  np.testing.assert_allclose(eff, conv.kernel.numpy() / sigma, rtol=1e-4)
  # Deconv kernels use conv2d_transpose layout (k, k, cout, cin).
  deconv = ops.Deconv2D(6, 4, use_sn=True)
  y = deconv(tf.zeros([1, 3, 3, 2]), training=False)
  assert y.shape == (1, 6, 6, 6)
  assert tuple(deconv.sn.u.shape) == (4 * 4 * 6, 1)


def test_sn_layers_without_sn_have_no_u():
  layer = ops.Linear(3)
  layer(tf.zeros([1, 4]))
  assert layer.sn is None
  assert not layer.non_trainable_variables
  np.testing.assert_array_equal(layer.effective_kernel(True).numpy(), layer.kernel.numpy())


# --- layers -----------------------------------------------------------------------------

def test_linear_and_conv_match_numpy():
  lin = ops.Linear(3)
  x = np.random.RandomState(0).normal(size=(2, 2, 2)).astype(np.float32)
  out = lin(tf.constant(x)).numpy()
  assert lin.kernel.shape == (4, 3)
  np.testing.assert_allclose(out, x.reshape(2, 4) @ lin.kernel.numpy() + lin.bias.numpy(),
                             rtol=1e-5, atol=1e-6)
  conv = ops.Conv2D(3, 3, bias_start=0.5)
  y = conv(tf.zeros([1, 4, 4, 2]))
  assert y.shape == (1, 4, 4, 3)   # SAME padding
  np.testing.assert_allclose(y.numpy(), 0.5)


def test_lrelu():
  np.testing.assert_allclose(ops.lrelu(tf.constant([-1.0, 2.0])).numpy(), [-0.2, 2.0])


# --- normalisation variants -------------------------------------------------------------

def test_conditional_batch_norm_faithful_starts_with_gamma_near_zero():
  cbn = ops.conditional_batch_norm(name="cbn")
  rng = np.random.RandomState(0)
  x = tf.constant(rng.normal(size=(8, 4, 4, 16)).astype(np.float32) * 3 + 1)
  y = tf.one_hot(np.arange(8) % 5, 5)
  out = cbn(x, y=y, training=True).numpy()
  gamma = cbn.gamma_fc(y).numpy()
  beta = cbn.beta_fc(y).numpy()
  assert cbn.gamma_fc.bias is None and cbn.beta_fc.bias is None   # no bias, no +1
  assert np.abs(gamma).max() < 0.1
  assert np.abs(gamma).max() > 0.0
  assert np.abs(out).max() < 0.5   # ~ 0 * x_hat + small beta
  x_hat = (x.numpy() - x.numpy().mean((0, 1, 2))) / np.sqrt(x.numpy().var((0, 1, 2)) + 1e-3)
  np.testing.assert_allclose(out, x_hat * gamma[:, None, None, :] + beta[:, None, None, :],
                             rtol=1e-4, atol=1e-5)
  with pytest.raises(ValueError, match="labels"):
    cbn(x, training=True)


def test_conditional_batch_norm_gamma_plus_one():
  gin.bind_parameter("conditional_batch_norm.gamma_plus_one", True)
  cbn = ops.conditional_batch_norm(name="cbn")
  rng = np.random.RandomState(0)
  x = tf.constant(rng.normal(size=(8, 4, 4, 16)).astype(np.float32) * 3 + 1)
  y = tf.one_hot(np.arange(8) % 5, 5)
  out = cbn(x, y=y, training=True).numpy()
  x_hat = (x.numpy() - x.numpy().mean((0, 1, 2))) / np.sqrt(x.numpy().var((0, 1, 2)) + 1e-3)
  gamma = 1.0 + cbn.gamma_fc(y).numpy()
  assert np.abs(gamma - 1.0).max() < 0.1
  assert np.abs(out - x_hat).max() < 0.5
  np.testing.assert_allclose(out, x_hat * gamma[:, None, None, :]
                             + cbn.beta_fc(y).numpy()[:, None, None, :], rtol=1e-4, atol=1e-5)


def test_self_modulated_batch_norm_shapes_and_init():
  sbn = ops.self_modulated_batch_norm(name="sbn")
  rng = np.random.RandomState(0)
  x = tf.constant(rng.normal(size=(4, 4, 4, 8)).astype(np.float32))
  z = tf.constant(rng.uniform(-1, 1, size=(4, 16)).astype(np.float32))
  out = sbn(x, z=z, training=True)
  assert out.shape == x.shape
  assert sbn.hidden.kernel.shape == (16, 32)
  assert sbn.gamma_fc.kernel.shape == (32, 8)
  assert sbn.beta_fc.kernel.shape == (32, 8)
  np.testing.assert_allclose(sbn.gamma_fc.bias.numpy(), 1.0)
  np.testing.assert_allclose(sbn.beta_fc.bias.numpy(), 0.0)
  np.testing.assert_allclose(sbn.hidden.bias.numpy(), 0.0)
  # 16*32+32 + 2 * (32*8+8) trainable parameters.
  assert sum(int(np.prod(v.shape)) for v in sbn.trainable_variables) == 16 * 32 + 32 + 2 * 264
  # Starts close to plain standardisation (gamma ~ 1, beta ~ 0).
  xn = x.numpy()
  x_hat = (xn - xn.mean((0, 1, 2))) / np.sqrt(xn.var((0, 1, 2)) + 1e-3)
  assert np.abs(out.numpy() - x_hat).max() < 0.5
  # Hand computation of the modulation.
  h = np.maximum(z.numpy() @ sbn.hidden.kernel.numpy() + sbn.hidden.bias.numpy(), 0)
  gamma = h @ sbn.gamma_fc.kernel.numpy() + sbn.gamma_fc.bias.numpy()
  beta = h @ sbn.beta_fc.kernel.numpy() + sbn.beta_fc.bias.numpy()
  np.testing.assert_allclose(out.numpy(), x_hat * gamma[:, None, None] + beta[:, None, None],
                             rtol=1e-4, atol=1e-5)
  with pytest.raises(ValueError, match="z"):
    sbn(x, training=True)


def test_self_modulated_batch_norm_sn_and_no_hidden():
  sbn = ops.self_modulated_batch_norm(name="sbn", use_sn=True)
  sbn(tf.zeros([2, 2, 2, 4]), z=tf.ones([2, 3]), training=True)
  assert sbn.hidden.sn is not None and sbn.gamma_fc.sn is not None
  assert sbn.beta_fc.sn is not None
  gin.bind_parameter("self_modulated_batch_norm.num_hidden", 0)
  sbn0 = ops.self_modulated_batch_norm(name="sbn0")
  sbn0(tf.zeros([2, 2, 2, 4]), z=tf.ones([2, 3]), training=True)
  assert sbn0.hidden is None and sbn0.gamma_fc.kernel.shape == (3, 4)


def test_make_norm_passes_use_sn_only_when_accepted():
  assert isinstance(ops.make_norm(None, "n"), ops.Identity)
  layer = ops.make_norm(ops.batch_norm, "bn", use_sn=True)   # batch_norm takes no use_sn
  assert isinstance(layer, ops.BatchNorm)
  layer = ops.make_norm(ops.self_modulated_batch_norm, "sbn", use_sn=True)
  assert layer.use_sn


def test_layer_norm_matches_numpy():
  ln = ops.LayerNorm()
  x = np.random.RandomState(0).normal(size=(3, 4, 4, 5)).astype(np.float32) * 2 + 3
  out = ln(tf.constant(x)).numpy()
  mean = x.mean(axis=(1, 2, 3), keepdims=True)
  var = x.var(axis=(1, 2, 3), keepdims=True)
  np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-12), rtol=1e-4, atol=1e-4)
  assert ln.gamma.shape == (5,) and ln.beta.shape == (5,)


# --- initialisers -----------------------------------------------------------------------

def _kernel(shape=(256, 256)):
  layer = ops.Linear(shape[1], use_bias=False)
  layer(tf.zeros([1, shape[0]]))
  return layer.kernel.numpy()


def test_weight_initializer_normal_default():
  w = _kernel()
  assert abs(w.mean()) < 1e-3
  assert abs(w.std() - 0.02) < 1e-3
  assert np.abs(w).max() > 0.07   # untruncated tails at 65k samples (> 3.5 sigma)
  assert isinstance(layers_lib.weight_initializer(),
                    __import__("keras").initializers.RandomNormal)


def test_weight_initializer_truncated():
  gin.bind_parameter("weights.initializer", "truncated")
  w = _kernel()
  assert np.abs(w).max() <= 0.04 + 1e-6   # within two standard deviations
  assert 0.012 < w.std() < 0.02


def test_weight_initializer_orthogonal():
  gin.bind_parameter("weights.initializer", "orthogonal")
  w = _kernel((64, 64)).astype(np.float64)
  np.testing.assert_allclose(w.T @ w, np.eye(64), atol=1e-4)
  w = _kernel((96, 32)).astype(np.float64)
  np.testing.assert_allclose(w.T @ w, np.eye(32), atol=1e-4)


def test_weight_initializer_unknown():
  with pytest.raises(ValueError, match="initializer"):
    layers_lib.weight_initializer(initializer="xavier")


def test_bias_start_zero_by_default():
  lin = ops.Linear(4)
  lin(tf.zeros([1, 3]))
  np.testing.assert_array_equal(lin.bias.numpy(), 0.0)


def test_standardize_settings_defaults():
  s = norm_lib.standardize_batch_settings()
  assert s == dict(decay=0.999, epsilon=1e-3, use_moving_averages=True,
                   use_cross_replica_mean=None, fused=True)
