"""The SS-GAN training step: batch assembly, loss terms, counters, RNG, replicas, XLA."""

import types

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import gin_utils
from compare_ssgan import random as rng
from compare_ssgan import rotation
from compare_ssgan.gans import SSGAN, ModularGAN

from tiny_gan import FAKE_DATA, parse_tiny as _parse, random_images as _images  # noqa: E402


@pytest.mark.parametrize("bs,rotated,expected", [(2, 4, 10), (64, 256, 512), (8, 16, 40)])
def test_discriminator_batch_size(bs, rotated, expected):
  _parse(bs, rotated)
  gan = SSGAN(FAKE_DATA)
  x = tf.constant(_images(bs))
  all_images, _ = gan.discriminator_batch(x, None, x + 1.0, None)
  assert all_images.shape[0] == expected == 2 * (bs + 3 * (rotated // 4))
  # Layout: [reals, rot90/180/270 of the LAST n reals, fakes, their rotations].
  n = rotated // 4
  np.testing.assert_array_equal(all_images[bs:bs + n], np.rot90(x[-n:], 1, axes=(1, 2)))
  np.testing.assert_array_equal(all_images[bs + 3 * n:2 * bs + 3 * n], x + 1.0)


def test_rotated_batch_size_errors():
  _parse(4, 6)
  with pytest.raises(ValueError, match="multiple of 4"):
    SSGAN(FAKE_DATA)
  _parse(2, 12)
  with pytest.raises(ValueError, match="at most 4"):
    SSGAN(FAKE_DATA)
  _parse(2, 4, extra=["SSGAN.self_supervision = 'rotaton_gan'"])
  with pytest.raises(ValueError, match="self_supervision"):
    SSGAN(FAKE_DATA)


def test_rotation_loss_gradients_match_the_paper():
  """D: no rotation term from fakes. G: 0.2 * CE on fakes. Hand-computed."""
  _parse(2, 4)
  gan = SSGAN(FAKE_DATA)
  c_real = tf.constant(np.random.RandomState(1).randn(4, 4).astype(np.float32))
  c_fake = tf.constant(np.random.RandomState(2).randn(4, 4).astype(np.float32))
  gan_losses = {"d_loss": tf.constant(0.5), "g_loss": tf.constant(0.25)}
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([c_real, c_fake])
    out = gan.assemble_rotation_losses(gan_losses, c_real, c_fake)
  d_real, d_fake = tape.gradient(out["d_loss"], [c_real, c_fake])
  g_real, g_fake = tape.gradient(out["g_loss"], [c_real, c_fake])
  assert d_fake is None or np.all(d_fake.numpy() == 0)
  assert g_real is None or np.all(g_real.numpy() == 0)
  labels = np.repeat(np.arange(4), 1)
  def ce_grad(logits):  # d/dlogits of mean CE = (softmax - onehot) / n (the 1e-10 is tiny)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return (p - np.eye(4)[labels]) / len(labels)
  np.testing.assert_allclose(d_real, 1.0 * ce_grad(c_real.numpy()), atol=1e-6)
  np.testing.assert_allclose(g_fake, 0.2 * ce_grad(c_fake.numpy()), atol=1e-6)
  # Values: d = gan_d + CE(real), g = gan_g + 0.2 CE(fake).
  def ce(logits):
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return -np.mean(np.log(p[np.arange(4), labels] + 1e-10))
  np.testing.assert_allclose(out["d_loss"], 0.5 + ce(c_real.numpy()), rtol=1e-6)
  np.testing.assert_allclose(out["g_loss"], 0.25 + 0.2 * ce(c_fake.numpy()), rtol=1e-6)


def test_zero_logits_cross_entropy():
  ce = rotation.rotation_cross_entropy(tf.zeros([8, 4]), rotation.rotation_labels(2))
  np.testing.assert_allclose(ce, 1.3862944, rtol=1e-6)


def _built(strategy=None, **kw):
  gan = SSGAN(FAKE_DATA, strategy=strategy)
  return gan.build()


def test_self_supervision_modes():
  x = tf.constant(_images(2))
  results = {}
  for mode in ("rotation_gan", "rotation_only", "none"):
    _parse(2, 4, extra=[f"SSGAN.self_supervision = '{mode}'"])
    gan = _built()
    results[mode] = gan.create_loss(x, None, x[::-1], None, compute_penalty=False)
    # Uncond-GAN has no rotation head, so D has no variables without gradients.
    assert (gan.rotation_head is None) == (mode == "none")
    assert all("rotation" not in v.path for v in gan.d_variables) == (mode == "none")
  only, none, full = results["rotation_only"], results["none"], results["rotation_gan"]
  # rotation_only: nothing but the rotation terms.
  np.testing.assert_allclose(only["d_loss"], only["c_real_loss"], rtol=1e-6)
  np.testing.assert_allclose(only["g_loss"], 0.2 * only["c_fake_loss"], rtol=1e-6)
  # none: the plain GAN loss, no rotation term.
  np.testing.assert_allclose(none["d_loss"], none["d_loss_real"] + none["d_loss_fake"],
                             rtol=1e-6)
  assert float(none["c_real_loss"]) == 0.0
  # rotation_gan: both.
  np.testing.assert_allclose(
      full["d_loss"], full["d_loss_real"] + full["d_loss_fake"] + full["c_real_loss"],
      rtol=1e-6)


def _dataset_iterator(gan, images):
  data = tf.data.Dataset.from_tensor_slices(
      {"images": images, "labels": np.zeros(len(images), np.int32)}).repeat()
  data = data.batch(gan.batch_size, drop_remainder=True)
  if gan.num_replicas == 1:
    return iter(data)
  return iter(gan.strategy.experimental_distribute_dataset(data))


def test_counters_after_k_steps():
  _parse(2, 4, disc_iters=3)
  gan = _built()
  metrics = gan.train_loop(_dataset_iterator(gan, _images(16)), 2)
  assert int(gan.global_step.numpy()) == 2
  assert int(gan.disc_step.numpy()) == 6
  assert np.all(np.isfinite(list(metrics.values())))
  assert set(metrics) >= {"d_loss", "g_loss", "c_real_loss", "c_fake_loss",
                          "accuracy/d_rotation_real", "accuracy/d_rotation_fake"}


def test_z_is_independent_of_replica_count(two_replicas):
  _parse(4, 16)
  one = SSGAN(FAKE_DATA)
  z_one = one._z(tf.constant(7, tf.int64), rng.Z_D, 1)  # pylint: disable=protected-access
  strategy = two_replicas
  _parse(4, 16)
  two = SSGAN(FAKE_DATA, strategy=strategy)

  @tf.function
  def draw():
    return strategy.run(lambda: two._z(tf.constant(7, tf.int64), rng.Z_D, 1))  # pylint: disable=protected-access

  parts = strategy.experimental_local_results(draw())
  np.testing.assert_array_equal(np.concatenate([p.numpy() for p in parts]), z_one.numpy())
  # Different steps, purposes and sub-steps give different draws.
  assert not np.allclose(one._z(tf.constant(8, tf.int64), rng.Z_D, 1), z_one)  # pylint: disable=protected-access
  assert not np.allclose(one._z(tf.constant(7, tf.int64), rng.Z_G, 1), z_one)  # pylint: disable=protected-access


def _copy_weights(src, dst):
  for a, b in [(src.generator, dst.generator), (src.discriminator, dst.discriminator),
               (src.rotation_head, dst.rotation_head)]:
    for va, vb in zip(a.variables, b.variables):
      vb.assign(va)


# Default settings (no forced `use_cross_replica_mean`): BN in G, SN in D.
REPLICA_BINDINGS = ["D.spectral_norm = True", "G.batch_norm_fn = @batch_norm"]


def _one_and_two_replicas(bs, rotated, strategy):
  _parse(bs, rotated, extra=REPLICA_BINDINGS)
  one = _built()
  _parse(bs, rotated, extra=REPLICA_BINDINGS)
  two = _built(strategy=strategy)
  _copy_weights(one, two)
  return one, two


def _two_replica_d_gradients(two, images, step):
  """D losses (mean over replicas) and gradients (sum) of one D sub-step; replica r holds
  rows [2r, 2r + 2) of `images`."""
  dist = two.strategy.experimental_distribute_values_from_function(
      lambda ctx: {"images": images[2 * ctx.replica_id_in_sync_group:][:2],
                   "labels": np.zeros(2, np.int32)})

  @tf.function
  def two_d():
    losses, grads = two.strategy.run(two.d_gradients, args=(dist, step, 0))
    red = lambda op, t: two.strategy.reduce(op, t, axis=None)  # noqa: E731
    return ({k: red(tf.distribute.ReduceOp.MEAN, v) for k, v in losses.items()},
            [red(tf.distribute.ReduceOp.SUM, g) for g in grads])

  return two_d()


def _assert_same_d_update(one, losses1, grads1, losses2, grads2):
  for k in ("d_loss", "c_real_loss", "d_loss_real", "d_loss_fake"):
    np.testing.assert_allclose(losses2[k], losses1[k], rtol=1e-5, err_msg=k)
  for g1, g2, v in zip(grads1, grads2, one.d_variables):
    # 1e-5 relative to each gradient tensor's scale: summation order differs between
    # one batch of 4 and two of 2, so tiny entries carry rounding of the large ones.
    np.testing.assert_allclose(g2, g1, rtol=1e-5, atol=1e-5 * np.abs(g1).max(),
                               err_msg=v.path)


def test_two_replicas_rotate_the_last_rows_of_each_shard(two_replicas):
  """rotated_batch_size < 4 * batch_size: like compare_gan on each TPU core, every replica
  rotates the last n = rotated / replicas / 4 images of ITS shard. Compared with one
  replica fed the same images reordered so that its last 2n rows are those rows; G's batch
  norm pools both shards by default, so the fakes are the same."""
  images = _images(4, seed=5)
  # n = 2 on one replica, 1 per replica on two.
  one, two = _one_and_two_replicas(4, 8, two_replicas)
  step = tf.constant(0, tf.int64)
  losses2, grads2 = _two_replica_d_gradients(two, images, step)
  # Shards [0, 1] and [2, 3] rotate rows 1 and 3; one replica rotates its last two rows.
  order = [0, 2, 1, 3]
  losses1, grads1 = one.d_gradients(
      {"images": images[order], "labels": np.zeros(4, np.int32)}, step, 0)
  _assert_same_d_update(one, losses1, grads1, losses2, grads2)
  # Unreordered, one replica rotates rows 2 and 3: a different rotation loss.
  plain, _ = one.d_gradients({"images": images, "labels": np.zeros(4, np.int32)}, step, 0)
  assert abs(float(plain["c_real_loss"]) - float(losses2["c_real_loss"])) > 1e-4


def test_two_replicas_match_one_replica(two_replicas):
  """The port on 2 replicas against the port on 1 (not against compare_gan):
  rotated_batch_size = 4 * batch_size, default BN settings (BN in G pools over the
  replicas by default). Same losses and gradients to 1e-5,
  same weights to 1e-3 * lr after one G step."""
  images = _images(8, seed=3)
  one, two = _one_and_two_replicas(4, 16, two_replicas)
  batch = {"images": images[:4], "labels": np.zeros(4, np.int32)}
  step = tf.constant(0, tf.int64)
  losses1, grads1 = one.d_gradients(batch, step, 0)
  losses2, grads2 = _two_replica_d_gradients(two, images, step)
  _assert_same_d_update(one, losses1, grads1, losses2, grads2)

  # One full G step (1 D + 1 G update) on each; compare every variable.
  it1 = _dataset_iterator(one, images)
  it2 = _dataset_iterator(two, images)
  m1 = one.train_loop(it1, 1)
  m2 = two.train_loop(it2, 1)
  for k in m1:
    np.testing.assert_allclose(m2[k], m1[k], rtol=1e-5, atol=1e-6, err_msg=k)
  lr = one.g_lr
  initial = {v.path: v.numpy() for v in two.generator.variables}
  for a, b in [(one.generator, two.generator), (one.discriminator, two.discriminator),
               (one.rotation_head, two.rotation_head)]:
    for va, vb in zip(a.variables, b.variables):
      if _feeds_batch_norm(va):
        # Exactly zero gradient in exact arithmetic (a bias followed by BN): Adam turns
        # rounding noise into tiny, replica-dependent moves. Both runs must barely move.
        for moved in (va.numpy() - initial[va.path], vb.numpy() - initial[va.path]):
          assert np.abs(moved).max() < 0.05 * lr, va.path  # a real step moves ~lr
        continue
      tol = 1e-3 * lr if va.trainable else 1e-5
      np.testing.assert_allclose(vb.numpy(), va.numpy(), atol=tol, rtol=1e-5, err_msg=va.path)


def _feeds_batch_norm(variable):
  """G biases whose output goes straight into a batch norm (all but final_conv's)."""
  path = variable.path
  return path.startswith("generator/") and path.endswith("/bias") and "final_conv" not in path


def test_xla_step_compiles_on_default_strategy():
  _parse(2, 4, extra=["ModularGAN.jit_compile = True", "D.spectral_norm = True"])
  gan = _built()
  metrics = gan.train_loop(_dataset_iterator(gan, _images(8)), 2)
  assert int(gan.global_step.numpy()) == 2
  assert np.all(np.isfinite(list(metrics.values())))


def test_modular_gan_conditional_uses_sampled_labels():
  gin_utils.parse([], ["options.batch_size = 4", "options.gan_class = @ModularGAN",
                       "options.architecture = 'tiny_arch'", "options.training_steps = 1",
                       "options.z_dim = 8", "ModularGAN.conditional = True",
                       "tiny.Discriminator.project_y = True",
                       "G.batch_norm_fn = @conditional_batch_norm"])
  data = types.SimpleNamespace(name="fake", resolution=8, num_classes=3)
  gan = ModularGAN(data).build()
  y = gan._sampled_y(tf.constant(0, tf.int64), rng.LABELS_G, 0, None)  # pylint: disable=protected-access
  assert y.shape == (4, 3)
  metrics = gan.train_loop(_dataset_iterator(gan, _images(8)), 1)
  assert np.isfinite(metrics["d_loss"])
  gin_utils.check_bindings_used()


def test_ema_follows_generator_after_start_step():
  _parse(2, 4, extra=["ModularGAN.g_use_ema = True", "ModularGAN.ema_start_step = 1",
                      "ModularGAN.ema_decay = 0.5"])
  gan = _built()
  it = _dataset_iterator(gan, _images(8))
  gan.train_loop(it, 1)   # step 0 < start: EMA = raw weights
  for e, v in zip(gan.generator_ema.trainable_variables, gan.generator.trainable_variables):
    np.testing.assert_allclose(e, v, atol=1e-7)
  before = [v.numpy() for v in gan.generator_ema.trainable_variables]
  gan.train_loop(it, 1)   # step 1 >= start: EMA = 0.5 old + 0.5 new
  for e, b, v in zip(gan.generator_ema.trainable_variables, before,
                     gan.generator.trainable_variables):
    np.testing.assert_allclose(e, 0.5 * b + 0.5 * v.numpy(), atol=1e-6)
