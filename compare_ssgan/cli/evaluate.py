"""Score generated images (a run's checkpoint, a folder or an .npz) with FID, IS and KID.

Fakes (one of):
  --model_dir DIR     a run: its checkpoint (--step, default newest) is scored the way
                      training's evaluation does (--write_scores appends to scores.csv)
  --images PATH       a folder of PNG/JPEG images or an .npz with `images`
Reference (one of):
  --dataset NAME      real images of --split (eval: compare_gan/paper; train: Mimicry),
                      activations cached under --cache_dir
  --stats FILE.npz    TTUR-style `mu`, `sigma` (FID only; from the SAME network and resize)

    compare_ssgan evaluate --model_dir runs/demo --classifier domain --write_scores
    compare_ssgan evaluate --images samples/ --dataset cifar10 --num_samples 10000
    compare_ssgan evaluate --images samples.npz --stats fid_stats_cifar10_train.npz

Prints the scores as JSON. Network: --classifier inception (TF-Hub; --inception_handle for a
local copy), inception_graph (--inception_graph=.../inceptionv1_for_inception_score.pb) or
domain (trained offline on the dataset; not comparable with Inception scores).
"""

import json

from absl import flags

from compare_ssgan.cli import command


def define_reference_flags(fv):
  """Flags shared with `evaluate-module`: the real data and the scoring network."""
  flags.DEFINE_string("dataset", None, "Reference dataset (binds dataset.name).",
                      flag_values=fv)
  flags.DEFINE_enum("split", "eval", ["eval", "train"], "Reference split.", flag_values=fv)
  flags.DEFINE_integer("num_samples", None, "N (default: all images / the dataset's "
                       "eval_test_samples).", flag_values=fv)
  flags.DEFINE_integer("num_averaging_runs", 3, "Fake sets for a run or module.",
                       flag_values=fv)
  flags.DEFINE_enum("classifier", "inception", ["inception", "inception_graph", "domain"],
                    "Network that makes activations.", flag_values=fv)
  flags.DEFINE_string("inception_handle", None, "TF-Hub handle or local Inception copy.",
                      flag_values=fv)
  flags.DEFINE_string("inception_graph", None, "Path of inceptionv1_for_inception_score.pb.",
                      flag_values=fv)
  flags.DEFINE_enum("resize", None, ["tf1_bilinear", "bilinear"], "Resize to 299 "
                    "(default: gin inception_classifier.resize, compare_gan's tf1_bilinear).",
                    flag_values=fv)
  flags.DEFINE_string("cache_dir", None, "Cache of real activations / domain classifiers "
                      "(default: the run's eval_cache with --model_dir, else ~/.cache).",
                      flag_values=fv)
  flags.DEFINE_multi_string("gin_config", [], "Gin configs (for --model_dir: default its "
                            "own operative config).", flag_values=fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=fv)


def reference_bindings(gin_bindings, dataset, split):
  bindings = list(gin_bindings) + [f"evaluation.real_split = {split!r}"]
  if dataset:
    bindings.append(f"dataset.name = {dataset!r}")
  return bindings


def define_flags(fv):
  flags.DEFINE_string("model_dir", None, "A run to restore and score.", flag_values=fv)
  flags.DEFINE_integer("step", None, "Checkpoint step for --model_dir (default: newest).",
                       flag_values=fv)
  flags.DEFINE_string("images", None, "Folder of images or .npz with `images`.",
                      flag_values=fv)
  flags.DEFINE_string("stats", None, "Reference statistics .npz with `mu` and `sigma`.",
                      flag_values=fv)
  flags.DEFINE_string("save_stats", None, "Write the fakes' `mu`, `sigma` to this .npz.",
                      flag_values=fv)
  flags.DEFINE_integer("is_splits", 10, "Also report IS mean/std over this many splits.",
                       flag_values=fv)
  flags.DEFINE_boolean("write_scores", False, "Append to model_dir/scores.csv.",
                       flag_values=fv)
  define_reference_flags(fv)


def run(model_dir=None, images=None, step=None, dataset=None, split="eval", stats=None,
        save_stats=None, num_samples=None, num_averaging_runs=3, classifier="inception",
        inception_handle=None, inception_graph=None, cache_dir=None, is_splits=10,
        write_scores=False, gin_configs=(), gin_bindings=(), resize=None):
  """Scores a run or an image set; returns the results dict."""
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import errors, images as image_io
  if bool(images) == bool(model_dir):
    raise errors.ConfigError("give exactly one of --images and --model_dir")
  stats_arrays = image_io.load_npz(stats) if stats else None
  bindings = reference_bindings(gin_bindings, dataset, split)
  network = dict(classifier=classifier, inception_handle=inception_handle,
                 inception_graph=inception_graph, cache_dir=cache_dir, resize=resize)
  if model_dir:
    return _score_run(model_dir, step, gin_configs, bindings, stats_arrays, num_samples,
                      num_averaging_runs, write_scores, is_splits, save_stats, network)
  return _score_images(images, gin_configs, bindings, stats_arrays, num_samples, split,
                       is_splits, save_stats, network)


def _score_run(model_dir, step, gin_configs, bindings, stats, num_samples,
               num_averaging_runs, write_scores, is_splits, save_stats, network):
  from compare_ssgan import metrics, runs  # pylint: disable=import-outside-toplevel
  gan, dataset, step = runs.restore_gan(model_dir, step, gin_configs, bindings)
  network = dict(network, cache_dir=network["cache_dir"] or runs.eval_cache_dir(model_dir))
  classifier = _classifier(network, dataset)
  if stats is None and not save_stats:
    results = metrics.evaluate_checkpoint(
        gan, dataset, step, num_samples=num_samples, num_averaging_runs=num_averaging_runs,
        classifier=classifier, cache_dir=network["cache_dir"])
    if write_scores:
      runs.append_scores(model_dir, step, results)
    return results
  metrics.fill_bn_accumulators(gan)
  fakes, _ = metrics.generate_images(gan, num_samples or dataset.eval_test_samples,
                                     metrics.eval_options()["seed"])
  results, moments = metrics.evaluation.score_image_set(
      fakes, classifier, dataset if stats is None else None, stats, is_splits,
      network["cache_dir"])
  _save_stats(save_stats, moments)
  return results


def _score_images(path, gin_configs, bindings, stats, num_samples, split, is_splits,
                  save_stats, network):
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import gin_utils, images as image_io, metrics
  from compare_ssgan.datasets import get_dataset
  gin_utils.parse(gin_configs, bindings)
  fakes = image_io.load_images(path)
  if num_samples:
    fakes = fakes[:num_samples]
  need_data = stats is None or network["classifier"] == "domain"
  dataset = get_dataset() if need_data else None
  classifier = _classifier(network, dataset)
  results, moments = metrics.evaluation.score_image_set(
      fakes, classifier, dataset if stats is None else None, stats, is_splits,
      network["cache_dir"], split)
  _save_stats(save_stats, moments)
  return results


def _classifier(network, dataset):
  from compare_ssgan import metrics  # pylint: disable=import-outside-toplevel
  return metrics.get_classifier(network["classifier"], dataset, network["cache_dir"],
                                network["inception_handle"], network["inception_graph"],
                                network["resize"])


def _save_stats(path, moments):
  if not path:
    return
  from compare_ssgan import images  # pylint: disable=import-outside-toplevel
  images.save_npz(path, mu=moments[0], sigma=moments[1])


def main(fv, args):
  del args
  results = run(fv.model_dir, fv.images, fv.step, fv.dataset, fv.split, fv.stats,
                fv.save_stats, fv.num_samples, fv.num_averaging_runs, fv.classifier,
                fv.inception_handle, fv.inception_graph, fv.cache_dir, fv.is_splits,
                fv.write_scores, fv.gin_config, fv.gin_bindings, fv.resize)
  print(json.dumps(results, indent=1, sort_keys=True))


COMMAND = command.Command("evaluate", __doc__, define_flags, main)
