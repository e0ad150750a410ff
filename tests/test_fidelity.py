"""Where the port must match compare_gan (19922d3) exactly, checked on the real GAN classes.

Each test names what it compares with: compare_gan's code (read, cited by file), or a
hand computation in NumPy of what that code does.
"""

import re
import types

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import checkpointing, gin_utils, rotation
from compare_ssgan.architectures import build_architecture
from compare_ssgan.gans import SSGAN
from compare_ssgan.ops import inventory
from compare_ssgan.ops import layers
from compare_ssgan.ops.normalization import StandardizeBatch

from tiny_gan import FAKE_DATA, parse_tiny as _parse, random_images as _images  # noqa: E402


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


class _LabelFeaturesD(keras.layers.Layer):
  """A D whose features depend on the labels: [quadrant means of x, 2 * y]."""

  def __init__(self, num_classes):
    super().__init__(name="label_features_d")
    self.feature_dim = 12 + num_classes
    self.built_layers = inventory.Recorded([])   # no weight or normalisation layers

  def call(self, x, y=None, training=False):
    h = x.shape[1] // 2
    quads = [tf.reduce_mean(x[:, a * h:(a + 1) * h, b * h:(b + 1) * h], [1, 2])
             for a in (0, 1) for b in (0, 1)]
    features = tf.concat(quads + [2.0 * tf.cast(y, tf.float32)], 1)
    logits = tf.reduce_sum(features, 1, keepdims=True)
    return tf.sigmoid(logits), logits, features


@pytest.mark.parametrize("prune", [True, False])
def test_conditional_rotated_fakes_carry_the_sampled_labels(prune):
  """The fakes were generated from y_fake, so their rotated copies are shown to D with
  y_fake (compare_gan ssgan.py tiled the REAL labels there, a bug S3GAN does not have).
  With a D whose features depend on y, c_fake_loss equals a NumPy-side recomputation with
  y_fake and differs from the one with the real labels."""
  _parse(4, 8, extra=["ModularGAN.conditional = True",
                      f"ModularGAN.prune_discriminator_rows = {prune}"])
  gan = SSGAN(types.SimpleNamespace(name="fake", resolution=8, num_classes=3)).build()
  gan.discriminator = _LabelFeaturesD(3)
  gan.rotation_head = rotation.RotationHead().build_for_features(gan.discriminator.feature_dim)
  kernel = gan.rotation_head.score_classify.kernel
  kernel.assign(np.random.RandomState(0).randn(*kernel.shape).astype(np.float32))
  assert gan.prune_rows == prune
  real, fake = tf.constant(_images(4, seed=1)), tf.constant(_images(4, seed=2))
  y, y_fake = tf.one_hot([0, 0, 1, 1], 3), tf.one_hot([2, 2, 2, 0], 3)
  losses = gan.g_update_loss(real, y, fake, y_fake)

  def c_fake_loss(labels):
    n = 2
    rows = tf.concat([fake[-n:], rotation.rotate_images(fake[-n:])], 0)
    _, _, features = gan.discriminator(rows, tf.tile(labels[-n:], [4, 1]))
    logits = features.numpy().astype(np.float64) @ kernel.numpy()
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return -np.mean(np.log(p[np.arange(4 * n), np.repeat(np.arange(4), n)] + 1e-10))

  np.testing.assert_allclose(float(losses["c_fake_loss"]), c_fake_loss(y_fake), rtol=1e-5)
  assert abs(c_fake_loss(y_fake) - c_fake_loss(y)) > 0.1


def test_rotation_only_pruned_path_has_no_gan_term():
  """compare_gan ssgan.py, rotation_only: d_loss and g_loss are multiplied by 0 before the
  rotation terms are added. On the pruned fast path: d_loss = CE(real rotations),
  g_loss = 0.2 CE(fake rotations), and D's GAN output layer gets exactly zero gradient."""
  _parse(4, 8, extra=["SSGAN.self_supervision = 'rotation_only'", "D.spectral_norm = True"])
  gan = SSGAN(FAKE_DATA).build()
  assert gan.prune_rows
  batch = {"images": _images(4, seed=3), "labels": np.zeros(4, np.int32)}
  step = tf.constant(0, tf.int64)
  d_losses, d_grads = gan.d_gradients(batch, step, 0)
  assert float(d_losses["d_loss_real"]) > 0   # the GAN term exists, and is dropped
  np.testing.assert_allclose(float(d_losses["d_loss"]), float(d_losses["c_real_loss"]),
                             rtol=1e-7)
  final = [g for g, v in zip(d_grads, gan.d_variables) if "final_fc" in v.path]
  assert final and all(np.all(g.numpy() == 0) for g in final)
  g_losses, _ = gan.g_gradients(batch, step)
  np.testing.assert_allclose(float(g_losses["g_loss"]), 0.2 * float(g_losses["c_fake_loss"]),
                             rtol=1e-6)


def _checkpoint_value(reader, prefix, variable):
  """The stored value of `variable` under `prefix`, found by listing the file's keys."""
  name = re.sub(r"[^A-Za-z0-9_.-]", ".", variable.path)
  suffix = "/.ATTRIBUTES/VARIABLE_VALUE"
  for key in reader.get_variable_to_shape_map():
    if key.startswith(prefix + "/") and key.endswith(suffix):
      # tf.train.Checkpoint escapes "." in object names as "..".
      if key[len(prefix) + 1:-len(suffix)].replace("..", ".") == name:
        return reader.get_tensor(key)
  raise KeyError(f"{prefix}/{name} not in the checkpoint")


def test_generate_with_ema_and_accumulators_equals_hand_computation(tmp_path):
  """A real SS-GAN with BN accumulators (compare_gan's standing statistics) and EMA:
  restore a checkpoint, fill the accumulators, generate. Compared with (1) the first BN's
  accumulated mean computed in NumPy from the checkpointed EMA fc_noise weights and the
  fill's z, and (2) a separately built G holding the checkpointed EMA weights, with
  moving averages set to accumulated sum / count, in inference mode."""
  bindings = ["G.batch_norm_fn = @batch_norm", "standardize_batch.use_moving_averages = False",
              "ModularGAN.g_use_ema = True", "ModularGAN.ema_start_step = 0",
              "ModularGAN.ema_decay = 0.5"]
  _parse(4, 8, extra=bindings)
  gan = SSGAN(FAKE_DATA).build()
  gan.train_loop(_iterator(gan, _images(8, seed=4)), 1)
  path = checkpointing.make_checkpoint(gan).save(str(tmp_path / "ckpt"))
  _parse(4, 8, extra=bindings)
  gan = SSGAN(FAKE_DATA).build()
  checkpointing.restore(gan, path)
  reader = tf.train.load_checkpoint(path)
  ema = gan.generator_ema
  gan.update_bn_accumulators(128, batch_size=64, seed=0)
  # (1) B1/bn1 standardises fc_noise's output: its accumulator is the sum of batch means.
  fc_w = _checkpoint_value(reader, "generator_ema", ema.fc_noise.kernel)
  fc_b = _checkpoint_value(reader, "generator_ema", ema.fc_noise.bias)
  bn1 = ema.blocks[0].bn1.standardize
  means = [(gan.sample_eval_z(64, 1000003 * (i + 1)) @ fc_w + fc_b).reshape(
      64, 4, 4, -1).mean((0, 1, 2)) for i in range(2)]
  np.testing.assert_allclose(float(bn1.accu_counter.numpy()), 2.0)
  np.testing.assert_allclose(bn1.accu_mean.numpy(), np.sum(means, 0), rtol=1e-4, atol=1e-6)
  # (2) The same network with moving averages = accumulated averages.
  with gin.unlock_config():
    gin.bind_parameter("standardize_batch.use_moving_averages", True)
  ref, _ = build_architecture("tiny_arch", 8, z_dim=8, parts=("G",))
  for v_ref, v_ema in zip(ref.trainable_variables, ema.trainable_variables):
    v_ref.assign(_checkpoint_value(reader, "generator_ema", v_ema))
  ref_bns = [l for l in ref._flatten_layers() if isinstance(l, StandardizeBatch)]  # pylint: disable=protected-access
  ema_bns = [l for l in ema._flatten_layers() if isinstance(l, StandardizeBatch)]  # pylint: disable=protected-access
  assert len(ref_bns) == len(ema_bns) > 0
  for r, e in zip(ref_bns, ema_bns):
    r.moving_mean.assign(e.accu_mean / e.accu_counter)
    r.moving_variance.assign(e.accu_variance / e.accu_counter)
  z = gan.sample_eval_z(6, 5)
  out = gan.generate(z, use_ema=True).numpy()
  np.testing.assert_allclose(out, ref(tf.constant(z), training=False).numpy(), rtol=1e-5,
                             atol=1e-6)
  assert np.abs(out - gan.generate(z, use_ema=False).numpy()).max() > 1e-4
