"""Where the port must match compare_gan (19922d3) exactly, checked on the real GAN classes.

Each test names what it compares with: compare_gan's code (read, cited by file), or a
hand computation in NumPy of what that code does.
"""

import types

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import gin_utils
from compare_ssgan import random as rng
from compare_ssgan import rotation
from compare_ssgan.gans import SSGAN
from compare_ssgan.ops import layers

FAKE_DATA = types.SimpleNamespace(name="fake", resolution=8, num_classes=0)


def _parse(bs=2, rotated=4, disc_iters=1, extra=()):
  gin_utils.parse([], [
      f"options.batch_size = {bs}", "options.gan_class = @SSGAN",
      "options.architecture = 'tiny_arch'", "options.training_steps = 10",
      f"options.disc_iters = {disc_iters}", "options.z_dim = 8",
      f"SSGAN.rotated_batch_size = {rotated}", "tiny.Generator.ch = 8",
      "tiny.Discriminator.ch = 8"] + list(extra))


def _images(n, res=8, seed=0):
  return np.random.RandomState(seed).rand(n, res, res, 3).astype(np.float32)


def _iterator(gan, images, labels=None):
  labels = np.zeros(len(images), np.int32) if labels is None else labels
  data = tf.data.Dataset.from_tensor_slices({"images": images, "labels": labels}).repeat()
  return iter(data.batch(gan.batch_size, drop_remainder=True))


def _l2n(x, eps=1e-12):
  return x / np.sqrt(max(np.sum(x * x), eps))


def _one_iteration(kernel, u):
  """compare_gan arch_ops.spectral_norm ("left"): v = l2n(W^T u), u' = l2n(W v)."""
  w = kernel.reshape(-1, kernel.shape[-1]).astype(np.float64)
  v = _l2n(w.T @ u)
  return _l2n(w @ v)


class _KernelRecorder:
  """Records the normalised kernel of every training call, per SN layer."""

  def __init__(self, monkeypatch):
    self.calls = {}
    original = layers.SpectralNormalizer.__call__

    def recording(sn, kernel, training):
      out = original(sn, kernel, training)
      if training:
        self.calls.setdefault(id(sn), []).append(out.numpy())
      return out

    monkeypatch.setattr(layers.SpectralNormalizer, "__call__", recording)


def test_wgangp_d_update_shares_one_power_iteration(monkeypatch):
  """compare_gan: D's main and penalty calls of one D update both read the u stored before
  the update (no ordering between them in its graph). After the update u is exactly one
  power iteration from its previous value (NumPy), and both calls normalised the kernel
  bitwise identically."""
  _parse(extra=["D.spectral_norm = True", "penalty.fn = @wgangp_penalty",
                "ModularGAN.prune_discriminator_rows = False"])
  gan = SSGAN(FAKE_DATA).build()
  d_layers = [l for l in gan.discriminator._flatten_layers() if getattr(l, "sn", None)]  # pylint: disable=protected-access
  before = {id(l.sn): (l.kernel.numpy(), l.sn.u.numpy()) for l in d_layers}
  recorder = _KernelRecorder(monkeypatch)
  batch = {"images": _images(2), "labels": np.zeros(2, np.int32)}
  losses, _ = gan.d_gradients(batch, tf.constant(0, tf.int64), 0)
  assert float(losses["penalty"]) > 0
  for layer in d_layers:
    kernel, u0 = before[id(layer.sn)]
    np.testing.assert_allclose(layer.sn.u.numpy(), _one_iteration(kernel, u0), rtol=1e-5,
                               atol=1e-6, err_msg=layer.path)
    main, penalty = recorder.calls[id(layer.sn)]   # exactly two training calls
    np.testing.assert_array_equal(penalty, main, err_msg=layer.path)


def test_g_step_advances_g_u_once(monkeypatch):
  """compare_gan's unrolled graph computes every G forward pass of a step (disc_iters for D,
  one for G) before any update, all from the u stored at the step's start: G's u moves one
  power iteration per G step (NumPy), and all three calls normalise identically."""
  _parse(disc_iters=2, extra=["G.spectral_norm = True"])
  gan = SSGAN(FAKE_DATA).build()
  g_layers = [l for l in gan.generator._flatten_layers() if getattr(l, "sn", None)]  # pylint: disable=protected-access
  assert g_layers
  before = {id(l.sn): (l.kernel.numpy(), l.sn.u.numpy()) for l in g_layers}
  recorder = _KernelRecorder(monkeypatch)
  batches = tuple({"images": tf.constant(_images(2, seed=s)),
                   "labels": tf.zeros([2], tf.int32)} for s in range(3))
  gan._replica_step(batches, tf.constant(0, tf.int64))  # pylint: disable=protected-access
  for layer in g_layers:
    kernel, u0 = before[id(layer.sn)]
    np.testing.assert_allclose(layer.sn.u.numpy(), _one_iteration(kernel, u0), rtol=1e-5,
                               atol=1e-6, err_msg=layer.path)
    calls = recorder.calls[id(layer.sn)]
    assert len(calls) == 3, layer.path
    for other in calls[1:]:
      np.testing.assert_array_equal(other, calls[0], err_msg=layer.path)


def test_d_u_advances_once_per_d_update_inside_a_compiled_step():
  """Per G step D's u moves once per D update (disc_iters = 2, each with a penalty call)
  and once in the G update: 3 iterations (NumPy), as compare_gan's control dependencies
  order its D updates. d_lr = 0 keeps D's kernel fixed so the count is exact."""
  _parse(disc_iters=2, extra=["D.spectral_norm = True", "penalty.fn = @wgangp_penalty",
                              "ModularGAN.d_lr = 0.0"])
  gan = SSGAN(FAKE_DATA).build()
  d_layers = [l for l in gan.discriminator._flatten_layers() if getattr(l, "sn", None)]  # pylint: disable=protected-access
  start = [(l.kernel.numpy(), l.sn.u.numpy()) for l in d_layers]
  gan.train_loop(_iterator(gan, _images(6)), 1)
  for layer, (kernel, u) in zip(d_layers, start):
    for _ in range(3):
      u = _one_iteration(kernel, u)
    np.testing.assert_allclose(layer.sn.u.numpy(), u, rtol=1e-5, atol=1e-6, err_msg=layer.path)


def test_weights_stddev_binding_does_not_reach_kernels():
  """compare_gan arch_ops.linear/conv2d/deconv2d pass stddev=0.02 to weight_initializer,
  overriding a `weights.stddev` binding. Here too the kernels are N(0, 0.02), and the
  binding is reported as unused instead of being silently ignored."""
  gin_utils.parse([], ["weights.stddev = 0.5"])
  layer = layers.Conv2D(64, 3)
  layer(tf.zeros([1, 4, 4, 64]))
  assert abs(float(np.std(layer.kernel.numpy())) - 0.02) < 0.002
  with pytest.raises(gin_utils.GinConfigError, match="weights.stddev"):
    gin_utils.check_bindings_used()


def test_l2_penalty_includes_the_rotation_head():
  """compare_gan penalty_lib.l2_penalty: mean of l2_loss over every '/kernel:0' whose name
  contains 'discriminator', which includes `discriminator_rotation/score_classify`
  (abstract_arch.trainable_variables). NumPy over D's and the head's kernels."""
  _parse(extra=["penalty.fn = @l2_penalty", "options.lamba = 1.0"])
  gan = SSGAN(FAKE_DATA).build()
  x = tf.constant(_images(2))
  losses = gan.create_loss(x, None, x[::-1], None)
  kernels = [v.numpy().astype(np.float64) for v in gan.d_variables
             if v.path.endswith("/kernel")]
  assert any("score_classify" in v.path for v in gan.rotation_head.trainable_variables)
  expected = np.mean([np.sum(k ** 2) / 2 for k in kernels])
  np.testing.assert_allclose(float(losses["penalty"]), expected, rtol=1e-5)
  d_only = np.mean([np.sum(v.numpy().astype(np.float64) ** 2) / 2
                    for v in gan.discriminator.trainable_variables if v.path.endswith("/kernel")])
  assert abs(d_only - expected) > 1e-4 * expected


@pytest.mark.parametrize("binding", ["batch_norm.center = False", "batch_norm.scale = False",
                                     "self_modulated_batch_norm.use_sn = True",
                                     "conditional_batch_norm.use_sn = True"])
def test_gin_surface_of_batch_norm_matches_compare_gan(binding):
  """compare_gan arch_ops: batch_norm blacklists center/scale/name; sBN whitelists only
  num_hidden, cBN only use_bias. Binding anything else is refused at parse time."""
  with pytest.raises(Exception, match="denylisted|blacklisted"):
    gin_utils.parse([], [binding])
