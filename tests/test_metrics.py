"""FID/IS/KID math (through the tf-gan shim) and the Inception classifiers, offline."""

import sys

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from compare_ssgan import metrics
from compare_ssgan.metrics import inception
from compare_ssgan.metrics import tfgan_compat


def scipy_fid(a1, a2):
  """The textbook FID with scipy.linalg.sqrtm (TTUR's formula)."""
  mu1, mu2 = a1.mean(0), a2.mean(0)
  s1, s2 = np.cov(a1, rowvar=False), np.cov(a2, rowvar=False)
  covmean = scipy.linalg.sqrtm(s1 @ s2).real
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


def correlated(rng, n, d, shift=0.0):
  mix = rng.normal(size=(d, d)) / np.sqrt(d)
  return rng.normal(size=(n, d)) @ mix + shift


# --- the shim ---------------------------------------------------------------------------

def test_shim_loads_classifier_metrics_without_package_init():
  cm = tfgan_compat.classifier_metrics()
  assert cm.__name__ == "tensorflow_gan.python.eval.classifier_metrics"
  # The estimator-importing package modules were never executed.
  assert "tensorflow_gan.python.estimator" not in sys.modules
  assert "tensorflow_gan.python.train" not in sys.modules
  for fn in (tfgan_compat.frechet_classifier_distance_from_activations,
             tfgan_compat.classifier_score_from_logits,
             tfgan_compat.kernel_classifier_distance_and_std_from_activations):
    assert callable(fn)


# --- FID ------------------------------------------------------------------------------

def test_fid_of_a_set_with_itself_is_zero():
  a = correlated(np.random.default_rng(0), 500, 64)
  assert abs(metrics.frechet_distance(a, a)) < 1e-6


@pytest.mark.parametrize("d", [16, 256])
def test_fid_matches_scipy_sqrtm(d):
  rng = np.random.default_rng(d)
  a1 = correlated(rng, 2 * d + 100, d)
  a2 = correlated(rng, 2 * d + 50, d, shift=0.3)
  ours, ref = metrics.frechet_distance(a1, a2), scipy_fid(a1, a2)
  assert ref > 1.0
  np.testing.assert_allclose(ours, ref, rtol=1e-5)


def test_fid_from_statistics_equals_fid_from_activations():
  rng = np.random.default_rng(1)
  a1, a2 = correlated(rng, 300, 32), correlated(rng, 300, 32, shift=0.5)
  stats1, stats2 = metrics.activation_statistics(a1), metrics.activation_statistics(a2)
  np.testing.assert_allclose(metrics.frechet_distance_from_statistics(*stats1, *stats2),
                             metrics.frechet_distance(a1, a2), rtol=1e-7)


def test_fid_rejects_bad_shapes():
  with pytest.raises(ValueError, match="dims differ"):
    metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
  with pytest.raises(ValueError, match="2-D"):
    metrics.frechet_distance(np.zeros(5), np.zeros(5))


# --- Inception Score ---------------------------------------------------------------------

def test_inception_score_of_uniform_logits_is_one():
  assert metrics.inception_score(np.zeros((100, 10))) == pytest.approx(1.0, abs=1e-9)
  mean, std = metrics.inception_score_mean_std(np.zeros((100, 10)), num_splits=10)
  assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_of_confident_balanced_predictions_is_class_count():
  num_classes = 10
  logits = 50.0 * np.eye(num_classes)[np.arange(1000) % num_classes]
  assert metrics.inception_score(logits) == pytest.approx(num_classes, rel=1e-6)
  # Each contiguous split of 100 is balanced too.
  assert metrics.inception_score(logits, num_splits=10) == pytest.approx(num_classes, rel=1e-6)


def test_inception_score_splits_are_means_of_independent_scores():
  logits = np.random.default_rng(2).normal(size=(300, 7)) * 3
  per_split = metrics.inception_score_splits(logits, 3)
  assert per_split.shape == (3,)
  np.testing.assert_allclose(per_split[1], metrics.inception_score(logits[100:200]))
  assert metrics.inception_score(logits, 3) == pytest.approx(per_split.mean())


# --- KID ----------------------------------------------------------------------------------

def test_kid_same_distribution_near_zero_shifted_positive():
  rng = np.random.default_rng(3)
  a1, a2 = rng.normal(size=(1000, 32)), rng.normal(size=(1000, 32))
  same, _ = metrics.kernel_distance(a1, a2)
  shifted, _ = metrics.kernel_distance(a1, a2 + 1.0)
  assert abs(same) < 0.01
  assert shifted > 0.5
  # Several blocks give a finite standard error.
  mean, std = metrics.kernel_distance(a1, a2 + 1.0, max_block_size=250)
  assert mean > 0.5 and np.isfinite(std) and std > 0


# --- Inception classifiers, offline -------------------------------------------------------

class _FakeInception(tf.Module):
  """Stands in for tf-gan's module: [B, 299, 299, 3] -> {"pool_3", "logits"}."""

  def __init__(self):
    super().__init__()
    self.w = tf.Variable(tf.random.stateless_normal([3, 16], [1, 2]))
    self.v = tf.Variable(tf.random.stateless_normal([16, 10], [3, 4]))

  @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
  def __call__(self, images):
    pool = tf.reduce_mean(images, axis=[1, 2]) @ self.w
    return {"pool_3": pool, "logits": pool @ self.v}


@pytest.fixture(scope="module")
def fake_hub_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("hub") / "inception")
  tf.saved_model.save(_FakeInception(), path)
  return path


def _images(n=10, size=16, seed=0):
  return np.random.default_rng(seed).random((n, size, size, 3)).astype(np.float32)


def _expected_fake_outputs(images, module, resize="tf1_bilinear"):
  x = inception.preprocess_images(images, resize=resize)
  return {k: v.numpy() for k, v in module(x).items()}


def test_tfhub_classifier_on_local_saved_model(fake_hub_dir):
  classifier = metrics.inception_classifier(handle=fake_hub_dir, batch_size=4)
  images = _images()
  out = classifier(images)
  assert out["pool_3"].shape == (10, 16) and out["logits"].shape == (10, 10)
  # Same as calling hub.load(path)(preprocessed images) in one batch.
  import tensorflow_hub as hub  # pylint: disable=import-outside-toplevel
  expected = _expected_fake_outputs(images, hub.load(fake_hub_dir))
  np.testing.assert_allclose(out["pool_3"], expected["pool_3"], rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(out["logits"], expected["logits"], rtol=1e-5, atol=1e-5)
  assert fake_hub_dir in classifier.name


def test_tfhub_handle_from_gin_and_env(fake_hub_dir, monkeypatch):
  import gin  # pylint: disable=import-outside-toplevel
  monkeypatch.setenv(inception.HANDLE_ENV, fake_hub_dir)
  assert metrics.inception_classifier().handle == fake_hub_dir
  monkeypatch.delenv(inception.HANDLE_ENV)
  assert metrics.inception_classifier().handle == metrics.INCEPTION_TFHUB
  gin.parse_config(f'inception_classifier.handle = "{fake_hub_dir}"')
  assert metrics.inception_classifier().handle == fake_hub_dir


def test_offline_load_failure_names_handle_and_fix(tmp_path):
  missing = str(tmp_path / "no_such_module")
  classifier = metrics.inception_classifier(handle=missing)
  with pytest.raises(RuntimeError) as err:
    classifier(_images(2))
  message = str(err.value)
  assert missing in message and "local copy" in message and "TFHUB_CACHE_DIR" in message


def test_preprocessing_matches_compare_gan():
  images = _images(2, size=8)
  x = inception.preprocess_images(images).numpy()
  assert x.shape == (2, 299, 299, 3)
  assert -1.0 <= x.min() and x.max() <= (255.0 - 128.0) / 128.0 + 1e-6
  # TF1 resize_bilinear without half-pixel centres: output pixel (0, 0) is input pixel (0, 0).
  np.testing.assert_allclose(x[:, 0, 0], (images[:, 0, 0] * 255.0 - 128.0) / 128.0, rtol=1e-5)
  ref = tf.compat.v1.image.resize_bilinear(images * 255.0, [299, 299]).numpy()
  np.testing.assert_allclose(x, (ref - 128.0) / 128.0, atol=1e-5)
  assert not np.allclose(x, inception.preprocess_images(images, resize="bilinear").numpy())
  with pytest.raises(ValueError, match=r"\[0, 1\]"):
    metrics.inception_classifier(handle="unused")(images * 255.0)


def test_frozen_graph_classifier(tmp_path):
  rng = np.random.default_rng(5)
  w = rng.normal(size=(3, 8)).astype(np.float32)
  v = rng.normal(size=(8, 5)).astype(np.float32)
  graph = tf.Graph()
  with graph.as_default():
    inp = tf.compat.v1.placeholder(tf.float32, [None, 299, 299, 3], name="Mul")
    pool = tf.reshape(tf.reduce_mean(inp, axis=[1, 2]) @ w, [-1, 1, 1, 8], name="pool_3")
    tf.identity(tf.reshape(pool, [-1, 8]) @ v, name="logits")
  tf.io.write_graph(graph.as_graph_def(), str(tmp_path), "inception.pb", as_text=False)
  classifier = metrics.inception_classifier(source="frozen_graph",
                                            graph_path=str(tmp_path / "inception.pb"),
                                            batch_size=4)
  images = _images(10)
  out = classifier(images)
  assert out["pool_3"].shape == (10, 8) and out["logits"].shape == (10, 5)
  pooled = np.mean(inception.preprocess_images(images).numpy(), axis=(1, 2)) @ w
  np.testing.assert_allclose(out["pool_3"], pooled, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(out["logits"], pooled @ v, rtol=1e-4, atol=1e-4)
