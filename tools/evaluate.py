"""Scores generated images against a dataset split or a statistics file.

Fakes (one of):
  --images PATH       a folder of PNG/JPEG images or an .npz with `images` (uint8 or [0, 1])
  --model_dir DIR     a run: the checkpoint (--step, default latest) is restored through the
                      checkpoint contract and scored with `evaluate_checkpoint`
Reference (one of):
  --dataset NAME      real images of --split (eval: compare_gan/paper; train: Mimicry);
                      activations cached under --cache_dir
  --stats FILE.npz    TTUR-style `mu`, `sigma` (FID only; they must come from the SAME
                      network, resize and input range, or the number means nothing)
Network: --classifier inception (TF-Hub; --inception_handle for a local copy),
inception_graph (--inception_graph=.../inceptionv1_for_inception_score.pb) or domain.

    python tools/evaluate.py --images samples/ --dataset cifar10 --num_samples 10000
    python tools/evaluate.py --model_dir runs/demo --classifier domain --write_scores
    python tools/evaluate.py --images samples.npz --stats fid_stats_cifar10_train.npz
    python tools/evaluate.py --images samples/ --save_stats my_stats.npz

Prints the scores as JSON (and appends to model_dir/scores.csv with --write_scores).
"""

import json
import os
import sys

from absl import app
from absl import flags
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FLAGS = flags.FLAGS
flags.DEFINE_string("images", None, "Folder of images or .npz with `images`.")
flags.DEFINE_string("model_dir", None, "A run to restore and score.")
flags.DEFINE_integer("step", None, "Checkpoint step for --model_dir (default: latest).")
flags.DEFINE_string("dataset", None, "Reference dataset name (default: gin dataset.name).")
flags.DEFINE_enum("split", "eval", ["eval", "train"], "Reference split.")
flags.DEFINE_string("stats", None, "Reference statistics .npz with `mu` and `sigma`.")
flags.DEFINE_string("save_stats", None, "Write the fakes' `mu`, `sigma` to this .npz.")
flags.DEFINE_integer("num_samples", None,
                     "N (default: all images / dataset.eval_test_samples).")
flags.DEFINE_integer("num_averaging_runs", 3, "Fake sets for --model_dir.")
flags.DEFINE_enum("classifier", "inception", ["inception", "inception_graph", "domain"],
                  "Network that makes activations.")
flags.DEFINE_string("inception_handle", None, "TF-Hub handle or local SavedModel directory.")
flags.DEFINE_string("inception_graph", None, "Path of inceptionv1_for_inception_score.pb.")
flags.DEFINE_enum("resize", "tf1_bilinear", ["tf1_bilinear", "bilinear"],
                  "Resize to 299 (compare_gan: tf1_bilinear).")
flags.DEFINE_string("cache_dir", None, "Cache of real activations / domain classifiers.")
flags.DEFINE_integer("is_splits", 10, "Also report IS mean/std over this many splits.")
flags.DEFINE_boolean("write_scores", False, "Append to model_dir/scores.csv.")
flags.DEFINE_multi_string("gin_config", [], "Gin configs (default for --model_dir: its own).")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.")


def load_images(path):
  """float32 [N, H, W, 3] in [0, 1] from a folder of images or an .npz."""
  if path.endswith(".npz"):
    with np.load(path) as data:
      images = data["images"]
  else:
    from PIL import Image  # pylint: disable=import-outside-toplevel
    names = sorted(n for n in os.listdir(path)
                   if n.lower().endswith((".png", ".jpg", ".jpeg", ".webp", ".bmp")))
    if not names:
      raise FileNotFoundError(f"no images in {path}")
    images = np.stack([np.asarray(Image.open(os.path.join(path, n)).convert("RGB"))
                       for n in names])
  if images.dtype == np.uint8:
    return images.astype(np.float32) / 255.0
  images = images.astype(np.float32)
  if images.max() > 1.0 + 1e-3:  # float data stored in [0, 255]
    images = images / 255.0
  return images


def _classifier(dataset):
  # pylint: disable=import-outside-toplevel
  from compare_ssgan.metrics import get_classifier, inception_classifier
  if FLAGS.classifier == "inception":
    return inception_classifier(handle=FLAGS.inception_handle, resize=FLAGS.resize)
  if FLAGS.classifier == "inception_graph":
    return inception_classifier(source="frozen_graph", graph_path=FLAGS.inception_graph,
                                resize=FLAGS.resize)
  return get_classifier("domain", dataset, FLAGS.cache_dir)


def score_images(images, classifier, dataset=None, stats=None):
  """Scores one fake set against a dataset split or (mu, sigma); returns a dict."""
  from compare_ssgan import metrics  # pylint: disable=import-outside-toplevel
  fake = classifier(images)
  results = {"num_samples": len(images), "classifier": classifier.name,
             "inception_score": metrics.inception_score(fake["logits"])}
  if FLAGS.is_splits and len(images) >= FLAGS.is_splits:
    mean, std = metrics.inception_score_mean_std(fake["logits"], FLAGS.is_splits)
    results[f"inception_score_{FLAGS.is_splits}splits_mean"] = mean
    results[f"inception_score_{FLAGS.is_splits}splits_std"] = std
  if FLAGS.save_stats:
    mu, sigma = metrics.activation_statistics(fake["pool_3"])
    np.savez(FLAGS.save_stats, mu=mu, sigma=sigma)
  if stats is not None:
    mu, sigma = metrics.activation_statistics(fake["pool_3"])
    results["fid_score"] = metrics.frechet_distance_from_statistics(
        stats["mu"], stats["sigma"], mu, sigma)
  elif dataset is not None:
    real = metrics.real_activations(dataset, len(images), classifier, FLAGS.cache_dir,
                                    split=FLAGS.split)
    results["fid_score"] = metrics.frechet_distance(real["pool_3"], fake["pool_3"])
    results["kid_score"] = metrics.kernel_distance(real["pool_3"], fake["pool_3"])[0]
  return results


def main(argv):
  del argv
  if bool(FLAGS.images) == bool(FLAGS.model_dir):
    raise app.UsageError("give exactly one of --images and --model_dir")
  # compare_ssgan.metrics is imported before parsing so gin knows `evaluation.*`.
  from compare_ssgan import gin_utils, metrics  # pylint: disable=import-outside-toplevel
  from compare_ssgan.datasets import get_dataset  # pylint: disable=import-outside-toplevel

  bindings = list(FLAGS.gin_bindings)
  if FLAGS.dataset:
    bindings.append(f'dataset.name = "{FLAGS.dataset}"')
  bindings.append(f'evaluation.real_split = "{FLAGS.split}"')
  stats = None
  if FLAGS.stats:
    with np.load(FLAGS.stats) as data:
      stats = {"mu": data["mu"], "sigma": data["sigma"]}

  if FLAGS.model_dir:
    import sample  # tools/sample.py  pylint: disable=import-outside-toplevel
    gan, dataset, step = sample.restore_gan(FLAGS.model_dir, FLAGS.step, FLAGS.gin_config,
                                            bindings)
    classifier = _classifier(dataset)
    if stats is None:
      results = metrics.evaluate_checkpoint(
          gan, dataset, step, num_samples=FLAGS.num_samples,
          num_averaging_runs=FLAGS.num_averaging_runs, classifier=classifier,
          cache_dir=FLAGS.cache_dir)
      if FLAGS.write_scores:
        metrics.append_scores_csv(FLAGS.model_dir, step, results)
    else:
      n = FLAGS.num_samples or dataset.eval_test_samples
      images, _ = sample.sample(gan, n, metrics.eval_options()["seed"])
      results = score_images(images, classifier, stats=stats)
  else:
    gin_utils.parse(FLAGS.gin_config, bindings)
    images = load_images(FLAGS.images)
    if FLAGS.num_samples:
      images = images[:FLAGS.num_samples]
    dataset = get_dataset() if (stats is None or FLAGS.classifier == "domain") else None
    classifier = _classifier(dataset)
    results = score_images(images, classifier, dataset=dataset if stats is None else None,
                           stats=stats)
  print(json.dumps(results, indent=1, sort_keys=True))


if __name__ == "__main__":
  sys.exit(app.run(main))
