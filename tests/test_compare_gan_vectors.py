"""compare_gan's own numeric test expectations (19922d3), ported where they apply.

Each test cites its source file. Already ported elsewhere: arch_ops_test.py::testBatchNorm
(tests/test_ops.py, `_BN_EXPECTED`). Not applicable: tpu_ops_test.py::testCrossReplicaConcat
(no such op here), testCrossReplicaMean's `group_size` (no gin counterpart, see
WORKSPACE_NOTES.md), arch_ops_tpu_test.py (TPU only).
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import gin_utils
from compare_ssgan import metrics
from compare_ssgan.architectures import build_architecture
from compare_ssgan.ops import normalization


def test_fid_of_the_two_fixed_sets():
  """metrics/fid_score_test.py::test_fid_computation: 89.091 (to 1e-4)."""
  real = np.ones((100, 2))
  real[:50, 0] = 2
  fake = np.ones((100, 2)) * 9
  fake[50:, 0] = 2
  assert metrics.frechet_distance(real, fake) == pytest.approx(89.091, abs=1e-4)


def _moments_batch(mean, variance):
  """Two rows whose biased batch moments are exactly (mean, variance)."""
  mean, std = np.asarray(mean, np.float32), np.sqrt(np.asarray(variance, np.float32))
  return np.stack([mean - std, mean + std])


def _accumulating_layer():
  layer = normalization.StandardizeBatch(use_moving_averages=False, epsilon=1e-3)
  layer.build((2, 2))
  return layer


def _moments_seen(layer, mean, variance, training):
  """(mean, variance) the layer normalised with, recovered from its output."""
  x = _moments_batch(mean, variance)
  out = layer(tf.constant(x), training=training).numpy()
  # out = (x - m) / sqrt(v + eps): two rows give m and v.
  scale = (x[1] - x[0]) / (out[1] - out[0])
  return x[0] - out[0] * scale, scale ** 2 - 1e-3


def test_accumulated_moments_during_training():
  """architectures/arch_ops_test.py::testAccumulatedMomentsDuringTraing: training uses the
  batch moments ([1, 2], [3, 4] then [5, 6], [7, 8]) and leaves the accumulators at 0."""
  layer = _accumulating_layer()
  for mean, var in (([1.0, 2.0], [3.0, 4.0]), ([5.0, 6.0], [7.0, 8.0])):
    m, v = _moments_seen(layer, mean, var, training=True)
    np.testing.assert_allclose(m, mean, rtol=1e-5)
    np.testing.assert_allclose(v, var, rtol=1e-4)
  np.testing.assert_allclose(layer.accu_mean.numpy(), [0.0, 0.0])
  np.testing.assert_allclose(layer.accu_variance.numpy(), [0.0, 0.0])
  np.testing.assert_allclose([layer.accu_counter.numpy()], [0.0], atol=1e-6)


def test_accumulated_moments_during_eval():
  """architectures/arch_ops_test.py::testAccumulatedMomentsDuringEal: filling returns the
  running averages ([1, 2], [3, 4]; then [3, 4], [5, 6]); the accumulators hold [6, 8],
  [10, 12], counter 2; with update_accus = 0 a third batch reads [3, 4], [5, 6] unchanged."""
  layer = _accumulating_layer()
  layer.update_accus.assign(1)
  expected = [(([1.0, 2.0], [3.0, 4.0]), ([1.0, 2.0], [3.0, 4.0])),
              (([5.0, 6.0], [7.0, 8.0]), ([3.0, 4.0], [5.0, 6.0]))]
  for (mean, var), (want_m, want_v) in expected:
    m, v = _moments_seen(layer, mean, var, training=False)
    np.testing.assert_allclose(m, want_m, rtol=1e-5)
    np.testing.assert_allclose(v, want_v, rtol=1e-4)
  np.testing.assert_allclose(layer.accu_mean.numpy(), [6.0, 8.0], rtol=1e-6)
  np.testing.assert_allclose(layer.accu_variance.numpy(), [10.0, 12.0], rtol=1e-5)
  np.testing.assert_allclose([layer.accu_counter.numpy()], [2.0], rtol=1e-6)
  layer.update_accus.assign(0)
  m, v = _moments_seen(layer, [2.0, 2.0], [3.0, 3.0], training=False)
  np.testing.assert_allclose(m, [3.0, 4.0], rtol=1e-5)
  np.testing.assert_allclose(v, [5.0, 6.0], rtol=1e-4)
  np.testing.assert_allclose(layer.accu_mean.numpy(), [6.0, 8.0], rtol=1e-6)
  np.testing.assert_allclose([layer.accu_counter.numpy()], [2.0], rtol=1e-6)


def test_cross_replica_mean_of_two_vectors(two_replicas):
  """tpu/tpu_ops_test.py::testCrossReplicaMean: replicas holding [0.55, 0.70, -1.29, 0.502]
  and [0.57, 0.90, 1.290, 0.202] both get [0.56, 0.8, 0.0, 0.352] (here: the batch mean BN
  pools over 2 replicas by default)."""
  inputs = np.asarray([[0.55, 0.70, -1.29, 0.502], [0.57, 0.90, 1.290, 0.202]], np.float32)
  strategy = two_replicas
  values = strategy.experimental_distribute_values_from_function(
      lambda ctx: tf.constant(inputs[ctx.replica_id_in_sync_group:][:1]))

  @tf.function
  def means():
    def replica(x):
      cross = normalization._use_cross_replica(None)  # pylint: disable=protected-access
      return normalization.batch_moments(x, [0], cross)[0]
    return strategy.experimental_local_results(strategy.run(replica, args=(values,)))

  for mean in means():
    np.testing.assert_allclose(mean.numpy(), [0.56, 0.8, 0.0, 0.352], rtol=1e-6, atol=1e-7)


def _g_names(norm):
  """resnet_norm_test.py's expected G variables for one normalisation, in its order.

  compare_ssgan drops compare_gan's extra scopes inside a norm layer (`bn1/condition/...`,
  `bn1/sbn/...` are `bn1/...` here); names and shapes are otherwise the same."""
  norm_vars = {
      None: lambda c: [],
      "bn": lambda c: [("gamma", [c]), ("beta", [c])],
      "cbn": lambda c: [("gamma/kernel", [10, c]), ("beta/kernel", [10, c])],
      "sbn": lambda c: [("hidden/kernel", [128, 32]), ("hidden/bias", [32]),
                        ("gamma/kernel", [32, c]), ("gamma/bias", [c]),
                        ("beta/kernel", [32, c]), ("beta/bias", [c])],
  }[norm]
  names = [("generator/fc_noise/kernel", [128, 4096]), ("generator/fc_noise/bias", [4096])]
  for b in ("B1", "B2", "B3"):
    names += [(f"generator/{b}/up_conv_shortcut/kernel", [3, 3, 256, 256]),
              (f"generator/{b}/up_conv_shortcut/bias", [256])]
    names += [(f"generator/{b}/bn1/{n}", s) for n, s in norm_vars(256)]
    names += [(f"generator/{b}/up_conv1/kernel", [3, 3, 256, 256]),
              (f"generator/{b}/up_conv1/bias", [256])]
    names += [(f"generator/{b}/bn2/{n}", s) for n, s in norm_vars(256)]
    names += [(f"generator/{b}/same_conv2/kernel", [3, 3, 256, 256]),
              (f"generator/{b}/same_conv2/bias", [256])]
  names += [(f"generator/final_norm/{n}", s) for n, s in norm_vars(256)]
  names += [("generator/final_conv/kernel", [3, 3, 256, 3]), ("generator/final_conv/bias", [3])]
  return names


@pytest.mark.parametrize("norm,binding", [
    (None, None), ("bn", "@batch_norm"), ("cbn", "@conditional_batch_norm"),
    ("sbn", "@self_modulated_batch_norm")])
def test_resnet_cifar_generator_variables(norm, binding):
  """architectures/resnet_norm_test.py::testDefaultGenerator[With*BatchNorm]: the same
  (name, shape) set at compare_gan's width (the order of creation differs)."""
  gin_utils.parse([], [f"G.batch_norm_fn = {binding}"] if binding else [])
  gen, _ = build_architecture("resnet_cifar_arch", 32, z_dim=128, num_classes=10,
                              parts=("G",))
  actual = sorted((v.path, list(v.shape)) for v in gen.trainable_variables)
  assert actual == sorted(_g_names(norm))


def test_resnet_cifar_discriminator_variables():
  """architectures/resnet_norm_test.py::testDefaultDiscriminator."""
  gin_utils.parse([], [])
  _, disc = build_architecture("resnet_cifar_arch", 32, z_dim=128, num_classes=10,
                               parts=("D",))
  expected = []
  for b, cin, kind in (("B1", 3, "down"), ("B2", 128, "down"), ("B3", 128, "same"),
                       ("B4", 128, "same")):
    conv2 = "down_conv2" if kind == "down" else "same_conv2"
    expected += [(f"discriminator/{b}/{kind}_conv_shortcut/kernel", [3, 3, cin, 128]),
                 (f"discriminator/{b}/{kind}_conv_shortcut/bias", [128]),
                 (f"discriminator/{b}/same_conv1/kernel", [3, 3, cin, 128]),
                 (f"discriminator/{b}/same_conv1/bias", [128]),
                 (f"discriminator/{b}/{conv2}/kernel", [3, 3, 128, 128]),
                 (f"discriminator/{b}/{conv2}/bias", [128])]
  expected += [("discriminator/disc_final_fc/kernel", [128, 1]),
               ("discriminator/disc_final_fc/bias", [1])]
  actual = sorted((v.path, list(v.shape)) for v in disc.trainable_variables)
  assert actual == sorted(expected)
