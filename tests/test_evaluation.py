"""The evaluation loop on a fake GAN (the GAN evaluation protocol with a tiny Keras G)."""

import csv
import os

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import errors, metrics, runs
from compare_ssgan.metrics import domain_classifier as dc

RES = 16


def quadrant_images(n, seed):
  """4 classes: which quadrant of a dim noisy image is bright."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, 4, n).astype(np.int32)
  images = rng.random((n, RES, RES, 3)).astype(np.float32) * 0.3
  half = RES // 2
  for i, c in enumerate(labels):
    a, b = divmod(int(c), 2)
    images[i, a * half:(a + 1) * half, b * half:(b + 1) * half] += 0.6
  return images, labels


class FakeDataset:
  """The ImageDataset attributes the evaluation uses."""

  name = "fake_quadrants"
  resolution = RES
  colors = 3
  num_classes = 4
  eval_test_samples = 256
  identity = "fake_quadrants-v1"

  seed = 547

  def first_examples(self, split, num, seed=None):
    if split == "eval":
      return quadrant_images(num, seed=123)
    images, labels = quadrant_images(2048, seed=self.seed if seed is None else seed)
    return images[:num], labels[:num]

  def input_fn(self, split, batch_size, seed, start_batch=0, input_context=None):
    del split, start_batch, input_context
    images, labels = quadrant_images(2048, seed=seed)
    ds = tf.data.Dataset.from_tensor_slices({"images": images, "labels": labels})
    return ds.repeat().batch(batch_size, drop_remainder=True)


class FakeGAN:
  """The GAN evaluation helpers around a tiny Keras generator z -> [B, 16, 16, 3]."""

  z_dim = 8

  def __init__(self, num_classes=0, nan=False):
    self.num_classes = num_classes
    self.nan = nan
    self.generator = keras.Sequential([
        keras.Input([self.z_dim + num_classes]),
        keras.layers.Dense(RES * RES * 3, activation="sigmoid",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=1)),
        keras.layers.Reshape([RES, RES, 3])])
    self.bn_filled_with = None
    self.ema_flags = set()

  def generate(self, z, y=None, use_ema=True):
    self.ema_flags.add(use_ema)
    z = tf.convert_to_tensor(z, tf.float32)
    if self.num_classes:
      assert y is not None and y.shape[-1] == self.num_classes  # one-hot, per the contract
      z = tf.concat([z, tf.cast(y, tf.float32)], axis=1)
    images = self.generator(z, training=False)
    return images * np.nan if self.nan else images

  def sample_eval_z(self, num, seed):
    return tf.random.stateless_uniform([num, self.z_dim], [seed, 0], -1.0, 1.0).numpy()

  def sample_labels(self, num, seed):
    if not self.num_classes:
      return np.zeros([num], np.int32)
    return np.random.default_rng(seed).integers(0, self.num_classes, num).astype(np.int32)

  def has_bn_accumulators(self):
    return True

  def update_bn_accumulators(self, num_samples, batch_size=64, seed=0):
    self.bn_filled_with = (num_samples, batch_size, seed)


class RealishGAN(FakeGAN):
  """A 'trained' G: returns fresh draws of the data distribution."""

  def generate(self, z, y=None, use_ema=True):
    seed = int(abs(float(np.asarray(z)[0, 0])) * 1e6)
    return quadrant_images(len(z), seed)[0]


class CountingClassifier(metrics.inception.BatchedClassifier):
  """A fixed random projection; counts the images it sees."""

  name = "counting-projection"

  def __init__(self):
    super().__init__(batch_size=128)
    rng = np.random.default_rng(0)
    self.w = tf.constant(rng.normal(size=(RES * RES * 3, 24)).astype(np.float32) * 0.05)
    self.v = tf.constant(rng.normal(size=(24, 5)).astype(np.float32))

  def _forward(self, images):
    pool = tf.reshape(images, [tf.shape(images)[0], -1]) @ self.w
    return {"pool_3": pool, "logits": pool @ self.v}


@pytest.fixture(autouse=True)
def _small_bn_fill():
  # autouse _clean_gin in conftest runs first and clears afterwards.
  gin.parse_config("evaluation.bn_accumulator_samples = 128")


def test_evaluate_with_domain_classifier_and_scores_csv(tmp_path):
  gin.parse_config("domain_classifier.steps = 60\ndomain_classifier.num_train = 512")
  gan, dataset = FakeGAN(), FakeDataset()
  results = metrics.evaluate_checkpoint(gan, dataset, 100, num_averaging_runs=2,
                                        classifier="domain", cache_dir=str(tmp_path / "c"))
  for key in metrics.SCORE_KEYS:
    assert np.isfinite(results[key]), key
  assert results["fid_score_mean"] > 0 and results["inception_score_mean"] >= 1.0
  assert len(results["fid_score_list"]) == 2
  assert gan.bn_filled_with == (128, 64, 42)  # accumulators filled first, gin-sized
  assert gan.ema_flags == {True}
  model_dir = str(tmp_path / "run")
  runs.append_scores(model_dir, 100, results)
  runs.append_scores(model_dir, 200, results)
  with open(os.path.join(model_dir, "scores.csv")) as f:
    rows = list(csv.reader(f))
  assert rows[0] == ["step", "fid_score_mean", "fid_score_std", "inception_score_mean",
                     "inception_score_std", "kid_score_mean", "kid_score_std"]
  assert [r[0] for r in rows[1:]] == ["100", "200"]
  assert float(rows[1][1]) == pytest.approx(results["fid_score_mean"], abs=1e-6)
  metrics.write_score_summaries(model_dir, 100, results)
  assert os.listdir(os.path.join(model_dir, "eval"))


def test_domain_fid_lower_for_a_better_generator(tmp_path):
  gin.parse_config("domain_classifier.steps = 60\ndomain_classifier.num_train = 512")
  dataset, cache_dir = FakeDataset(), str(tmp_path)
  bad = metrics.evaluate_checkpoint(FakeGAN(), dataset, 1, num_averaging_runs=1,
                                    classifier="domain", cache_dir=cache_dir)
  good = metrics.evaluate_checkpoint(RealishGAN(), dataset, 2, num_averaging_runs=1,
                                     classifier="domain", cache_dir=cache_dir)
  assert good["fid_score_mean"] < 0.2 * bad["fid_score_mean"]


def test_real_activations_cache_is_reused(tmp_path):
  dataset, classifier, n = FakeDataset(), CountingClassifier(), 200
  first = metrics.evaluate_checkpoint(FakeGAN(), dataset, 1, num_samples=n,
                                      num_averaging_runs=2, classifier=classifier,
                                      cache_dir=str(tmp_path))
  assert classifier.num_calls == 3 * n  # reals + 2 fake sets
  again = metrics.evaluate_checkpoint(FakeGAN(), dataset, 1, num_samples=n,
                                      num_averaging_runs=2, classifier=classifier,
                                      cache_dir=str(tmp_path))
  assert classifier.num_calls == 5 * n  # fakes only: reals came from the cache
  assert again["fid_score_list"] == first["fid_score_list"]  # seeded eval z
  assert first["fid_score_list"][0] != first["fid_score_list"][1]  # runs use different z
  # A different N is a different cache entry.
  metrics.evaluate_checkpoint(FakeGAN(), dataset, 1, num_samples=n // 2,
                              num_averaging_runs=1, classifier=classifier,
                              cache_dir=str(tmp_path))
  assert classifier.num_calls == 5 * n + 2 * (n // 2)
  assert len(os.listdir(os.path.join(str(tmp_path), "real_activations"))) == 2


def test_conditional_gan_gets_one_hot_labels(tmp_path):
  results = metrics.evaluate_checkpoint(FakeGAN(num_classes=4), FakeDataset(), 1,
                                        num_samples=130, num_averaging_runs=1,
                                        classifier=CountingClassifier(),
                                        cache_dir=str(tmp_path))
  assert np.isfinite(results["fid_score_mean"])


def test_nan_samples_give_nan_scores_and_a_warning(tmp_path):
  with pytest.warns(UserWarning, match="NaN"):
    results = metrics.evaluate_checkpoint(FakeGAN(nan=True), FakeDataset(), 7,
                                          num_samples=64, num_averaging_runs=2,
                                          classifier=CountingClassifier(),
                                          cache_dir=str(tmp_path))
  assert np.isnan(results["fid_score_mean"]) and np.isnan(results["inception_score_mean"])
  assert len(results["kid_score_list"]) == 2
  path = runs.append_scores(str(tmp_path), 7, results)
  with open(path) as f:
    assert f.read().splitlines()[1].startswith("7,nan,")


def test_scores_csv_refuses_foreign_columns(tmp_path):
  with open(tmp_path / "scores.csv", "w") as f:
    f.write("checkpoint_path,step,fid\n")
  results = {k: 1.0 for k in metrics.SCORE_KEYS}
  with pytest.raises(errors.Error, match="columns"):
    runs.append_scores(str(tmp_path), 1, results)


def test_domain_classifier_is_deterministic_and_cached(tmp_path):
  images, labels = quadrant_images(512, seed=0)
  kwargs = dict(images=images, labels=labels, num_classes=4, steps=30)
  first = dc.make_domain_classifier(cache_dir=str(tmp_path / "a"), **kwargs)
  second = dc.make_domain_classifier(cache_dir=str(tmp_path / "b"), **kwargs)
  assert first.name == second.name
  for w1, w2 in zip(first.model.get_weights(), second.model.get_weights()):
    np.testing.assert_allclose(w1, w2, atol=1e-5)
  loaded = dc.make_domain_classifier(cache_dir=str(tmp_path / "a"), **kwargs)
  assert loaded.accuracy is None  # came from disk, not trained
  out = loaded(images[:10])
  np.testing.assert_allclose(out["pool_3"], first(images[:10])["pool_3"], atol=1e-6)
  assert out["logits"].shape == (10, 4)
  # Unlabelled data: rotation prediction, 4 outputs.
  rot = dc.make_domain_classifier(images=images[:128], cache_dir=str(tmp_path / "a"), steps=5)
  assert rot(images[:3])["logits"].shape == (3, 4) and rot.name != first.name


def test_real_split_train_is_a_separate_cache_entry(tmp_path):
  gin.parse_config('evaluation.real_split = "train"')
  classifier = CountingClassifier()
  results = metrics.evaluate_checkpoint(FakeGAN(), FakeDataset(), 1, num_samples=300,
                                        num_averaging_runs=1, classifier=classifier,
                                        cache_dir=str(tmp_path))
  assert np.isfinite(results["fid_score_mean"]) and classifier.num_calls == 600
  train = metrics.real_images(FakeDataset(), 300, split="train")
  np.testing.assert_array_equal(train, quadrant_images(2048, seed=547)[0][:300])
