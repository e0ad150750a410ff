"""Scoring a checkpoint: compare_gan's evaluation protocol on a live GAN object.

compare_gan (`eval_gan_lib.evaluate_tfhub_module`): N = dataset.eval_test_samples; fill BN
accumulators with 204,800 samples first when G has them; generate with the EMA weights in
batches of 64 from a fixed seed; score `num_eval_averaging_runs` (3) fake sets against the
first N eval-split images and report mean/std/list per metric. We keep that protocol and add:
real activations cached on disk across checkpoints (compare_gan recomputed them per
checkpoint), KID by default, NaN samples recorded as NaN (compare_gan wrote 31337.0).
"""

import os
import time
import warnings

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.metrics import cache
from compare_ssgan.metrics import scores
from compare_ssgan.metrics.domain_classifier import make_domain_classifier
from compare_ssgan.metrics.inception import inception_classifier
from compare_ssgan.runs import METRICS, SCORE_KEYS

CLASSIFIERS = ("inception", "inception_graph", "domain")


@gin.configurable("evaluation")
def eval_options(classifier="inception", bn_accumulator_samples=204_800, batch_size=64,
                 seed=42, kid_max_block_size=1024, real_split="eval"):
  """Evaluation knobs not in `evaluate_checkpoint`'s contract. gin: `evaluation.*`.

  Args:
    classifier: "inception" (TF-Hub), "inception_graph" (compare_gan's frozen graph) or
      "domain" (the offline domain classifier).
    bn_accumulator_samples: fakes used to fill BN accumulators (compare_gan: 204,800).
    batch_size: generator batch size (compare_gan: 64).
    seed: eval z/labels of run r use seed + r, so every checkpoint sees the same z
      (compare_gan fixed 42).
    kid_max_block_size: KID block size (compare_gan/tf-gan: 1024).
    real_split: "eval" (compare_gan and the paper: the first N eval-split images) or
      "train" (Mimicry: N training images in the dataset's seeded order).
  """
  return dict(classifier=classifier, bn_accumulator_samples=bn_accumulator_samples,
              batch_size=batch_size, seed=seed, kid_max_block_size=kid_max_block_size,
              real_split=real_split)


def get_classifier(classifier, dataset=None, cache_dir=None, inception_handle=None,
                   inception_graph=None, resize=None):
  """A classifier object from a name in CLASSIFIERS, or `classifier` itself if callable.

  `inception_handle`, `inception_graph` and `resize` override gin `inception_classifier.*`
  (the evaluate verbs' flags)."""
  if callable(classifier):
    return classifier
  overrides = {k: v for k, v in (("handle", inception_handle), ("graph_path", inception_graph),
                                 ("resize", resize)) if v}
  if classifier == "inception":
    overrides.pop("graph_path", None)
    return inception_classifier(**overrides)
  if classifier == "inception_graph":
    overrides.pop("handle", None)
    return inception_classifier(source="frozen_graph", **overrides)
  if classifier == "domain":
    if dataset is None:
      raise errors.ConfigError("the 'domain' classifier is trained on a dataset: pass one")
    return make_domain_classifier(dataset=dataset, cache_dir=cache_dir)
  raise errors.ConfigError(f"unknown classifier {classifier!r}; expected one of {CLASSIFIERS} "
                   "or a callable images -> {'pool_3', 'logits'}")


def real_images(dataset, num_samples, split="eval"):
  """The first N images of a split (`ImageDataset.first_examples`: eval unshuffled, train
  in the dataset's seeded order)."""
  return dataset.first_examples(split, num_samples)[0]


def real_activations(dataset, num_samples, classifier, cache_dir=None, split="eval"):
  """Activations of the first `num_samples` images of `split`, cached on disk.

  Key: dataset identity, split, N, resolution and classifier name. The readable key is stored
  in the file and checked on load, so a hash collision cannot return foreign statistics.
  """
  key = "|".join(str(p) for p in (dataset.identity, split, num_samples, dataset.resolution,
                                  classifier.name))
  path = os.path.join(cache_dir or cache.default_cache_dir(), "real_activations",
                      cache.key_digest(key) + ".npz")
  if tf.io.gfile.exists(path):
    data = cache.load_npz(path)
    if str(data.get("key")) == key:
      logging.info("Real activations from cache %s", path)
      return {"pool_3": data["pool_3"], "logits": data["logits"]}
  acts = classifier(real_images(dataset, num_samples, split))
  cache.save_npz_atomic(path, key=np.array(key), pool_3=acts["pool_3"], logits=acts["logits"])
  logging.info("Real activations cached in %s", path)
  return acts


def fill_bn_accumulators(gan, num_samples=None):
  """compare_gan's standing statistics: G's BN accumulators filled with `num_samples`
  fakes (default gin `evaluation.bn_accumulator_samples`) before images are generated.
  A no-op for a G without accumulators. Every path that generates evaluation images
  (evaluation, `sample`, `export`) calls this first."""
  if not gan.has_bn_accumulators():
    return
  opts = eval_options()
  n = int(num_samples or opts["bn_accumulator_samples"])
  logging.info("Filling BN accumulators with %d samples", n)
  gan.update_bn_accumulators(n, batch_size=opts["batch_size"], seed=opts["seed"])


def generate_images(gan, num_samples, seed, use_ema=True):
  """(images float32 [N, H, W, 3] in [0, 1], labels int32 [N]) from the seeded eval z and
  labels, in batches of gin `evaluation.batch_size` (compare_gan: 64). Call
  `fill_bn_accumulators` first."""
  batch_size = eval_options()["batch_size"]
  z = gan.sample_eval_z(num_samples, seed)
  num_classes = int(getattr(gan, "num_classes", 0) or 0)
  labels = np.asarray(gan.sample_labels(num_samples, seed), np.int32)
  batches = []
  for start in range(0, num_samples, batch_size):
    y = tf.one_hot(labels[start:start + batch_size], num_classes) if num_classes else None
    batches.append(np.asarray(gan.generate(z[start:start + batch_size], y, use_ema=use_ema)))
  return np.concatenate(batches, axis=0)[:num_samples].astype(np.float32), labels


def _score_fake_set(real, fake, kid_block):
  return {"fid_score": scores.frechet_distance(real["pool_3"], fake["pool_3"]),
          "inception_score": scores.inception_score(fake["logits"]),
          "kid_score": scores.kernel_distance(real["pool_3"], fake["pool_3"],
                                              max_block_size=kid_block)[0]}


def evaluate_checkpoint(gan, dataset, step, *, num_samples=None, num_averaging_runs=3,
                        classifier=None, cache_dir=None):
  """Scores the GAN's current weights: FID, IS, KID over `num_averaging_runs` fake sets.

  Args:
    gan: an object with the GAN evaluation helpers (`generate`, `sample_eval_z`,
      `sample_labels`, `has_bn_accumulators`, `update_bn_accumulators`, `num_classes`).
    dataset: an ImageDataset (`eval_images`, `identity`, `resolution`, `eval_test_samples`).
    step: the checkpoint's global step (logged only).
    num_samples: N real and N fake images; default `dataset.eval_test_samples`.
    num_averaging_runs: fake sets, each from seed + r.
    classifier: a name in CLASSIFIERS or a callable; default gin `evaluation.classifier`.
    cache_dir: for real activations and domain classifiers; default
      $COMPARE_SSGAN_CACHE_DIR or ~/.cache/compare_ssgan.
  Returns:
    {"<metric>_mean", "<metric>_std", "<metric>_list"} for fid_score, inception_score and
    kid_score. A fake set with non-finite pixels scores NaN (with a warning).
  """
  opts = eval_options()
  start_time = time.time()
  num_samples = int(num_samples or dataset.eval_test_samples)
  classifier = get_classifier(classifier or opts["classifier"], dataset, cache_dir)
  fill_bn_accumulators(gan)
  real = real_activations(dataset, num_samples, classifier, cache_dir, opts["real_split"])

  per_run = {m: [] for m in METRICS}
  for run in range(int(num_averaging_runs)):
    images, _ = generate_images(gan, num_samples, opts["seed"] + run)
    if not np.all(np.isfinite(images)):
      bad = int(np.sum(~np.all(np.isfinite(images.reshape(len(images), -1)), axis=1)))
      warnings.warn(f"step {step}: {bad} of {num_samples} generated images contain NaN/Inf "
                    f"(run {run}); recording NaN scores for this run")
      for m in METRICS:
        per_run[m].append(float("nan"))
      continue
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-3 or hi > 1.0 + 1e-3:
      warnings.warn(f"step {step}: generated images span [{lo:.3f}, {hi:.3f}], not [0, 1]; "
                    "clipping before the classifier")
    fake = classifier(np.clip(images, 0.0, 1.0))
    for m, value in _score_fake_set(real, fake, opts["kid_max_block_size"]).items():
      per_run[m].append(value)

  results = {}
  for m in METRICS:
    values = np.array(per_run[m], np.float64)
    results[f"{m}_mean"] = float(np.mean(values))
    results[f"{m}_std"] = float(np.std(values))
    results[f"{m}_list"] = [float(v) for v in values]
  logging.info("Step %s (%s, N=%d, %d runs, %.1fs): FID %.3f +- %.3f, IS %.3f +- %.3f, "
               "KID %.5f +- %.5f", step, classifier.name, num_samples, num_averaging_runs,
               time.time() - start_time, *(results[k] for k in SCORE_KEYS))
  return results


def write_score_summaries(model_dir, step, results, subdir="eval"):
  """The six score keys as TensorBoard scalars in `model_dir/subdir`.

  Written with `tf.summary.write` and the scalars plugin's metadata, so TensorBoard need not
  be installed (`tf.summary.scalar` raises without it).
  """
  metadata = tf.compat.v1.SummaryMetadata(
      plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars"))
  writer = tf.summary.create_file_writer(os.path.join(model_dir, subdir))
  with writer.as_default():
    for key in SCORE_KEYS:
      tf.summary.write(key, tf.constant(results[key], tf.float32), step=int(step),
                       metadata=metadata)
  writer.flush()
  writer.close()


def score_image_set(images, classifier, dataset=None, stats=None, is_splits=10,
                    cache_dir=None, split="eval"):
  """Scores one set of images: IS (one split and `is_splits` splits), plus FID (and KID)
  against a dataset split or against stored statistics {"mu", "sigma"}. Returns
  (results dict, (mu, sigma) of the images' activations)."""
  fake = classifier(images)
  results = {"num_samples": len(images), "classifier": classifier.name,
             "inception_score": scores.inception_score(fake["logits"])}
  if is_splits and len(images) >= is_splits:
    mean, std = scores.inception_score_mean_std(fake["logits"], is_splits)
    results[f"inception_score_{is_splits}splits_mean"] = mean
    results[f"inception_score_{is_splits}splits_std"] = std
  mu, sigma = scores.activation_statistics(fake["pool_3"])
  if stats is not None:
    results["fid_score"] = scores.frechet_distance_from_statistics(
        stats["mu"], stats["sigma"], mu, sigma)
  elif dataset is not None:
    real = real_activations(dataset, len(images), classifier, cache_dir, split=split)
    results["fid_score"] = scores.frechet_distance(real["pool_3"], fake["pool_3"])
    results["kid_score"] = scores.kernel_distance(real["pool_3"], fake["pool_3"])[0]
  return results, (mu, sigma)
