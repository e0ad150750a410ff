"""The fast step against the project's own reference step: fused resampling convs, pruned
D rows, mixed precision.

The reference is this port's unfused path (unpool + conv, conv + avg-pool, every D row),
the literal form of compare_gan's graph; it is compared with compare_gan only by reading
the code (and by the ported vectors in test_compare_gan_vectors.py), not here. No timing
asserts here; `compare_ssgan benchmark` measures speed.
"""

import types

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import gin_utils
from compare_ssgan.gans import SSGAN
from compare_ssgan.ops import normalization
from compare_ssgan.ops.layers import Conv2D, avg_pool2x2, unpool

FAKE_DATA = types.SimpleNamespace(name="fake", resolution=8, num_classes=0)
REFERENCE = ["resnet_ops.fused_upsample_conv = False", "resnet_ops.fused_downsample_conv = False",
             "ModularGAN.prune_discriminator_rows = False", "standardize_batch.fused = False"]


def _parse(extra=(), bs=4, rotated=8):
  gin_utils.parse([], [
      f"options.batch_size = {bs}", "options.gan_class = @SSGAN",
      "options.architecture = 'tiny_arch'", "options.training_steps = 10",
      "options.disc_iters = 1", "options.z_dim = 8", f"SSGAN.rotated_batch_size = {rotated}",
      "tiny.Generator.ch = 8", "tiny.Discriminator.ch = 8", "D.spectral_norm = True",
      "G.batch_norm_fn = @batch_norm"] + list(extra))


def _gan(extra=()):
  _parse(extra)
  return SSGAN(FAKE_DATA).build()


def _copy_weights(src, dst):
  for a, b in [(src.generator, dst.generator), (src.discriminator, dst.discriminator),
               (src.rotation_head, dst.rotation_head)]:
    assert [v.path for v in a.variables] == [v.path for v in b.variables]
    for va, vb in zip(a.variables, b.variables):
      vb.assign(va)


def _images(n, res=8, seed=0):
  return np.random.RandomState(seed).rand(n, res, res, 3).astype(np.float32)


def _iterator(gan, images):
  data = tf.data.Dataset.from_tensor_slices(
      {"images": images, "labels": np.zeros(len(images), np.int32)}).repeat()
  return iter(data.batch(gan.batch_size, drop_remainder=True))


def _close(a, b, rtol=1e-4, name=""):
  a, b = np.asarray(a), np.asarray(b)
  np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(np.abs(b).max(), 1e-3),
                             err_msg=name)


@pytest.mark.parametrize("use_sn", [False, True])
def test_fused_conv_equals_unpool_conv_and_conv_pool(use_sn):
  rs = np.random.RandomState(1)
  for resample, shape in (("up", (3, 4, 5, 6)), ("down", (3, 8, 6, 6))):
    layer = Conv2D(7, 3, use_sn=use_sn)
    x = tf.constant(rs.randn(*shape).astype(np.float32))
    layer(x)
    layer.kernel.assign(rs.randn(3, 3, 6, 7).astype(np.float32))
    layer.bias.assign(rs.randn(7).astype(np.float32))
    u0 = layer.sn.u.numpy() if use_sn else None
    results = []
    for fused in (True, False):
      if use_sn:
        layer.sn.u.assign(u0)   # a training call advances u: start both from the same u
      with tf.GradientTape() as tape:
        tape.watch(x)
        if fused:
          y = layer(x, training=True, resample=resample)
        elif resample == "up":
          y = layer(unpool(x), training=True)
        else:
          y = avg_pool2x2(layer(x, training=True))
        loss = tf.reduce_sum(y * tf.cos(y))
      grads = tape.gradient(loss, [x, layer.kernel, layer.bias])
      results.append([y] + grads + ([layer.sn.u.numpy()] if use_sn else []))
    expected_shape = (3, 8, 10, 7) if resample == "up" else (3, 4, 3, 7)
    assert results[0][0].shape == expected_shape
    for i, (a, b) in enumerate(zip(*results)):
      _close(a, b, 1e-5, f"{resample} output/grad {i}")


def _batch_norm_derivatives(bn, x, w):
  """Output, first derivatives (x, gamma, beta) and second derivatives of a
  gradient-penalty-like term (x, gamma), then the moving statistics: what WGAN-GP or DRAGAN
  would differentiate if the layer sat in D."""
  with tf.GradientTape() as outer:
    outer.watch(x)
    with tf.GradientTape() as inner:
      inner.watch(x)
      y = bn(x, training=True)
      loss = tf.reduce_sum(tf.nn.relu(y) * w)
    dx, dgamma, dbeta = inner.gradient(loss, [x, bn.gamma, bn.beta])
    penalty = tf.reduce_sum(tf.square(dx))
  ddx, ddgamma = outer.gradient(penalty, [x, bn.gamma])
  return [y, dx, dgamma, dbeta, ddx, ddgamma]


@pytest.mark.parametrize("function", [False, True])
def test_fused_batch_norm_equals_moments_chain(function):
  """`standardize_batch.fused`: the fused kernel against compare_gan's chain of moments and
  element-wise ops, eagerly and in a tf.function: outputs, gradients, second derivatives
  and the moving statistics (the kernel's Bessel-corrected variance is scaled back)."""
  rs = np.random.RandomState(7)
  x = tf.constant(rs.randn(6, 4, 5, 7).astype(np.float32) * 2 + 1)
  w = tf.constant(rs.randn(6, 4, 5, 7).astype(np.float32))
  gamma, beta = rs.rand(7).astype(np.float32) + 0.5, rs.randn(7).astype(np.float32)
  results = []
  for fused in (True, False):
    bn = normalization.BatchNorm(name="bn")
    bn.standardize.fused = fused
    bn(x)
    bn.gamma.assign(gamma)
    bn.beta.assign(beta)
    fn = tf.function(_batch_norm_derivatives) if function else _batch_norm_derivatives
    stats = [bn.standardize.moving_mean, bn.standardize.moving_variance]
    results.append(fn(bn, x, w) + [v.numpy() for v in stats])
  names = ["y", "dx", "dgamma", "dbeta", "ddx", "ddgamma", "moving_mean", "moving_variance"]
  for name, a, b in zip(names, *results):
    _close(a, b, 1e-5, name)
  assert np.abs(results[1][-1] - 1.0).max() > 1e-4   # the statistics did move


def test_fused_batch_norm_is_the_default_and_falls_back():
  """Fused by default; bf16 maps and rank-2 inputs take the literal chain."""
  gin_utils.parse([], [])
  bn = normalization.batch_norm(name="bn")
  assert bn.standardize.fused
  assert bn.standardize._can_fuse(tf.zeros([2, 3, 3, 4]))
  assert not bn.standardize._can_fuse(tf.zeros([2, 3, 3, 4], tf.bfloat16))
  assert not bn.standardize._can_fuse(tf.zeros([2, 4]))
  assert not bn.standardize._can_fuse(tf.zeros([1, 1, 1, 4]))


def test_fast_and_reference_paths_agree():
  """Fast vs the port's reference path: same G output, losses and gradients (D and G
  updates) on a fixed batch, and the same SN vectors and BN statistics afterwards."""
  fast = _gan()
  ref = _gan(REFERENCE)
  assert fast.prune_rows and not ref.prune_rows
  _copy_weights(ref, fast)
  z = tf.constant(np.random.RandomState(2).uniform(-1, 1, (4, 8)).astype(np.float32))
  for training in (False, True):
    _close(fast.generator(z, training=training), ref.generator(z, training=training),
           name=f"G output training={training}")
  batch = {"images": _images(4, seed=3), "labels": np.zeros(4, np.int32)}
  step = tf.constant(5, tf.int64)
  for name in ("d", "g"):
    if name == "d":
      (lf, gf), (lr, gr) = fast.d_gradients(batch, step, 0), ref.d_gradients(batch, step, 0)
      keys, variables = fast.d_metric_keys(), fast.d_variables
    else:
      (lf, gf), (lr, gr) = fast.g_gradients(batch, step), ref.g_gradients(batch, step)
      keys, variables = fast.g_metric_keys(), fast.g_variables
    for k in keys:
      _close(lf[k], lr[k], name=f"{name} {k}")
    for a, b, v in zip(gf, gr, variables):
      _close(a, b, name=f"{name} grad {v.path}")
  # SN vectors and BN statistics advanced identically.
  for a, b in zip(fast.discriminator.non_trainable_variables + fast.generator.non_trainable_variables,
                  ref.discriminator.non_trainable_variables + ref.generator.non_trainable_variables):
    _close(a.numpy(), b.numpy(), name=a.path)


def test_fast_and_reference_training_steps_agree():
  """Fast vs the port's reference path: the metrics of two full training steps."""
  fast, ref = _gan(), _gan(REFERENCE)
  _copy_weights(ref, fast)
  images = _images(8, seed=4)
  mf = fast.train_loop(_iterator(fast, images), 2)
  mr = ref.train_loop(_iterator(ref, images), 2)
  for k in mr:
    _close(mf[k], mr[k], rtol=1e-3, name=k)


def _check_float32_state(gan):
  for model in (gan.generator, gan.discriminator, gan.rotation_head):
    for v in model.variables:
      if "update_accus" in v.path:
        continue
      assert v.dtype == "float32", v.path
  for opt in (gan.g_optimizer, gan.d_optimizer):
    for v in opt.variables:
      if v.dtype not in ("int64", "int32"):
        assert v.dtype == "float32", v.path


def test_mixed_bfloat16_first_losses_and_20_steps():
  ref = _gan()
  bf16 = _gan(["ModularGAN.mixed_precision = 'mixed_bfloat16'"])
  assert bf16.generator.compute_dtype == "bfloat16"
  assert bf16.generator.fc_noise.kernel.dtype == "float32"
  _copy_weights(ref, bf16)
  _check_float32_state(bf16)
  images = _images(16, seed=5)
  m32 = ref.train_loop(_iterator(ref, images), 1)
  it = _iterator(bf16, images)
  m16 = bf16.train_loop(it, 1)
  for k in ("d_loss", "g_loss", "d_loss_real", "d_loss_fake", "c_real_loss", "c_fake_loss"):
    np.testing.assert_allclose(m16[k], m32[k], rtol=0.02, err_msg=k)
  m = bf16.train_loop(it, 19)
  assert int(bf16.global_step.numpy()) == 20
  assert np.all(np.isfinite(list(m.values())))
  _check_float32_state(bf16)
  out = bf16.generate(bf16.sample_eval_z(2, 0))
  assert out.dtype == tf.float32


def test_mixed_float16_uses_loss_scaling_and_float32_state():
  gan = _gan(["ModularGAN.mixed_precision = 'mixed_float16'"])
  import keras  # pylint: disable=import-outside-toplevel
  assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
  assert gan.discriminator.compute_dtype == "float16"
  m = gan.train_loop(_iterator(gan, _images(8, seed=6)), 2)
  assert np.all(np.isfinite(list(m.values())))
  _check_float32_state(gan)
  # The global policy is untouched outside the GAN's models.
  assert keras.config.dtype_policy().name == "float32"
