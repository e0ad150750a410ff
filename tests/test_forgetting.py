"""The 1-vs-all forgetting experiment (compare_ssgan.forgetting), at toy sizes."""

import hashlib
import json
import os

import gin
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from compare_ssgan import forgetting as F
from compare_ssgan import gin_utils
from compare_ssgan.datasets import builtin, get_dataset

# builtin_16 with a tiny trunk: seconds per run.
TINY = ["dataset.name = 'builtin_16'", "builtin.num_train = 200", "builtin.num_eval = 100",
        "builtin.eval_test_samples = 100", "tiny.Discriminator.ch = 8"]


def test_tasks_cycle_through_the_classes_in_order():
  tasks = [F.task_of_step(s, 3, 4) for s in range(30)]
  assert tasks[:15] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 0, 0]
  assert tasks[12:24] == tasks[:12]   # the second cycle repeats the first


def test_batches_are_balanced_deterministic_and_per_step():
  sizes = [50, 60, 70, 80, 90]
  classes, indices, labels = F.batch_indices(sizes, 2, 7, 16, seed=3)
  assert (classes[:8] == 2).all() and (labels[:8] == 1).all()
  assert (classes[8:] != 2).all() and (labels[8:] == 0).all()
  counts = np.bincount(classes[8:], minlength=5)[[0, 1, 3, 4]]
  assert counts.max() - counts.min() <= 1 and counts.sum() == 8   # 8 negatives over 4
  assert ((0 <= indices) & (indices < np.asarray(sizes)[classes])).all()
  again = F.batch_indices(sizes, 2, 7, 16, seed=3)
  for a, b in zip((classes, indices, labels), again):
    np.testing.assert_array_equal(a, b)
  other_step = F.batch_indices(sizes, 2, 8, 16, seed=3)
  assert not np.array_equal(indices, other_step[1])


def test_eval_sets_are_balanced_over_the_other_classes():
  pools = [np.full((6, 2, 2, 3), c, np.uint8) for c in range(4)]
  sets, k = F.eval_sets(pools, 6)
  assert k == 6 and len(sets) == 4
  images, labels = sets[1]
  assert labels.tolist() == [1] * 6 + [0] * 6
  assert (images[:6] == 1).all()
  assert sorted(images[6:, 0, 0, 0].tolist()) == [0, 0, 2, 2, 3, 3]


def _tiny_classifier():
  gin_utils.parse([], ["D.spectral_norm = True"])
  disc, head = F.build_classifier(16, "tiny_arch", seed=1)
  images = tf.random.stateless_uniform([4, 16, 16, 3], seed=[1, 2])
  return disc, head, images, tf.constant([1.0, 1.0, 0.0, 0.0])


def test_only_the_rotation_arm_has_the_rotation_term():
  disc, head, images, labels = _tiny_classifier()
  plain = F.classifier_losses(disc, head, images, labels, 0.0, training=False)
  rot = F.classifier_losses(disc, head, images, labels, 0.5, training=False)
  assert "rotation_loss" not in plain
  np.testing.assert_allclose(plain["loss"], plain["task_loss"])
  assert float(rot["rotation_loss"]) > 0.1
  np.testing.assert_allclose(rot["loss"], rot["task_loss"] + 0.5 * rot["rotation_loss"],
                             rtol=1e-6)
  # Same upright rows, same task loss (no batch norm in the trunk).
  np.testing.assert_allclose(plain["task_loss"], rot["task_loss"], rtol=1e-5)
  with tf.GradientTape(persistent=True) as tape:
    p = F.classifier_losses(disc, head, images, labels, 0.0)["loss"]
    r = F.classifier_losses(disc, head, images, labels, 0.5)["loss"]
  assert all(g is None for g in tape.gradient(p, head.trainable_variables))
  assert all(g is not None for g in tape.gradient(r, head.trainable_variables))


def _expected_batches_sha1(result):
  cfg = result["config"]
  h = hashlib.sha1()
  for step in range(cfg["steps_per_task"] * cfg["num_classes"] * cfg["cycles"]):
    task = F.task_of_step(step, cfg["steps_per_task"], cfg["num_classes"])
    c, i, _ = F.batch_indices(cfg["train_images_per_class"], task, step, cfg["batch_size"],
                              cfg["seed"])
    h.update(np.stack([c, i]).tobytes())
  return h.hexdigest()


@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory):
  pytest.importorskip("matplotlib")
  out = str(tmp_path_factory.mktemp("forgetting"))
  lines = []
  result = F.run_forgetting(out, gin_bindings=TINY, steps_per_task=10, cycles=2,
                            rotation_weight=1.0, eval_every=1, num_eval_per_class=5,
                            batch_size=4, seed=3, log=lines.append)
  gin.clear_config()
  return out, result, lines


def test_run_writes_json_figure_and_summary(tiny_result):
  out, result, lines = tiny_result
  with open(os.path.join(out, "forgetting.json")) as f:
    saved = json.load(f)
  assert saved["summary"] == result["summary"]
  assert saved["config"]["dataset_identity"].endswith("-colourfree")   # the default config
  for arm in F.ARMS:
    curve = saved["arms"][arm]
    assert curve["step"] == list(range(1, 201))
    assert curve["task"] == [F.task_of_step(s - 1, 10, 10) for s in curve["step"]]
    assert all(0 <= a <= 1 for a in curve["accuracy"])
    assert len(saved["summary"][arm]["early"]) == 2
    # The first 10% of a 10-step task is its first step: "early" averages those evaluations.
    first = np.asarray(curve["accuracy"])[::10]
    np.testing.assert_allclose(saved["summary"][arm]["early"],
                               [first[:10].mean(), first[10:].mean()])
  assert all(r is None for r in saved["arms"]["plain"]["train_rotation_loss"])
  assert all(r > 0 for r in saved["arms"]["rotation"]["train_rotation_loss"])
  with Image.open(os.path.join(out, "forgetting.png")) as im:
    assert im.format == "PNG" and im.size[0] > im.size[1]
  assert os.path.exists(os.path.join(out, "operative_config.gin"))
  assert any(l.startswith("plain") and "cycle 2" in l for l in lines)
  assert any(l.startswith("rotation") and "cycle 2" in l for l in lines)


def test_arms_start_equal_and_see_the_same_batches(tiny_result):
  _, result, _ = tiny_result
  plain, rot = result["arms"]["plain"], result["arms"]["rotation"]
  assert plain["batches_sha1"] == rot["batches_sha1"] == _expected_batches_sha1(result)
  gin_utils.parse([F.default_config()], TINY)
  disc, head = F.build_classifier(16, "tiny_arch", seed=3)
  fresh = F.weights_digest(disc.weights + head.weights)
  assert plain["initial_weights_sha1"] == rot["initial_weights_sha1"] == fresh
  # ... and the arms then diverge: the rotation term changes the trajectory.
  assert plain["accuracy"] != rot["accuracy"] or plain["train_loss"] != rot["train_loss"]


def _save_png(path, colour):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(np.full((20, 20, 3), colour, np.uint8)).save(path)


def test_unlabelled_dataset_is_refused_in_one_line(tmp_path):
  for i in range(4):
    _save_png(str(tmp_path / f"x{i}.png"), 40 * i)
  bindings = ["dataset.name = 'image_folder'", f"image_folder.path = '{tmp_path}'",
              "image_folder.resolution = 16"]
  with pytest.raises(F.ForgettingError, match="no class labels") as e:
    F.run_forgetting(str(tmp_path / "out"), gin_bindings=bindings, figure=False)
  assert isinstance(e.value, ValueError) and "\n" not in str(e.value)
  assert not os.path.exists(tmp_path / "out")


def test_image_folder_with_class_subfolders_runs(tmp_path):
  for c, colour in enumerate((30, 220)):
    for i in range(8):
      _save_png(str(tmp_path / "data" / f"class{c}" / f"{i}.png"), colour + i)
  bindings = ["dataset.name = 'image_folder'", f"image_folder.path = '{tmp_path / 'data'}'",
              "image_folder.resolution = 16", "image_folder.use_class_subfolders = True",
              "image_folder.eval_fraction = 0.25", "tiny.Discriminator.ch = 8"]
  result = F.run_forgetting(str(tmp_path / "out"), gin_bindings=bindings, steps_per_task=10,
                            cycles=1, eval_every=1, num_eval_per_class=2, batch_size=4,
                            figure=False, log=lambda *_: None)
  assert result["config"]["num_classes"] == 2
  assert result["arms"]["rotation"]["task"] == [0] * 10 + [1] * 10
  assert "figure" not in result["files"]


def test_bad_settings_fail_before_any_work(tmp_path):
  with pytest.raises(F.ForgettingError, match="eval_every"):
    F.run_forgetting(str(tmp_path), steps_per_task=100, eval_every=20)
  with pytest.raises(F.ForgettingError, match="batch_size"):
    F.run_forgetting(str(tmp_path), batch_size=7)
  with pytest.raises(F.ForgettingError, match="rotation_weight"):
    F.run_forgetting(str(tmp_path), rotation_weight=0)


def test_tfds_dataset_runs(tmp_path):
  import io  # pylint: disable=import-outside-toplevel
  tfds = pytest.importorskip("tensorflow_datasets")
  n = 40
  encoded = []
  for i in range(n):
    buf = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), 20 * (i % 10), np.uint8)).save(buf, "PNG")
    encoded.append(buf.getvalue())

  def as_dataset(self, split, **kw):
    del self, split, kw
    ds = tf.data.Dataset.from_tensor_slices(
        {"image": tf.constant(encoded), "label": tf.range(n, dtype=tf.int64) % 10,
         "id": tf.constant([f"x{i}" for i in range(n)])})
    return ds.apply(tf.data.experimental.assert_cardinality(n))

  with tfds.testing.mock_data(as_dataset_fn=as_dataset):
    result = F.run_forgetting(str(tmp_path), gin_bindings=["dataset.name = 'cifar10'",
                                                           "tiny.Discriminator.ch = 8"],
                              steps_per_task=10, cycles=1, eval_every=1,
                              num_eval_per_class=2, batch_size=4, figure=False,
                              log=lambda *_: None)
  assert result["config"]["dataset"] == "cifar10"
  assert result["config"]["train_images_per_class"] == [4] * 10
  assert result["config"]["num_eval_per_class"] == 2
  assert len(result["arms"]["plain"]["step"]) == 100


def test_same_seed_same_curves_other_seed_other_batches(tmp_path):
  def run(seed, sub):
    return F.run_forgetting(str(tmp_path / sub), gin_bindings=TINY, steps_per_task=10,
                            cycles=1, eval_every=1, num_eval_per_class=5, batch_size=4,
                            seed=seed, figure=False, log=lambda *_: None)["arms"]
  a, b, c = run(5, "a"), run(5, "b"), run(6, "c")
  for arm in F.ARMS:
    assert a[arm]["accuracy"] == b[arm]["accuracy"]
    assert a[arm]["train_loss"] == b[arm]["train_loss"]
    assert a[arm]["batches_sha1"] != c[arm]["batches_sha1"]
    assert a[arm]["initial_weights_sha1"] != c[arm]["initial_weights_sha1"]


def test_class_pools_read_the_whole_eval_split_and_cap_per_class():
  gin_utils.parse([], ["builtin.num_train = 200", "builtin.num_eval = 150",
                       "builtin.eval_test_samples = 100"])
  ds = get_dataset("builtin_16")
  pools = F.read_class_pools(ds, "eval", None, seed=0)
  assert sum(len(p) for p in pools) == 150   # 150 is no multiple of 100: nothing dropped
  images, labels = builtin.generate(16, 150, 547, "eval")
  for c, pool in enumerate(pools):
    np.testing.assert_array_equal(pool, images[labels == c])   # file order, exact pixels
  capped = F.read_class_pools(ds, "train", 7, seed=0)
  assert [len(p) for p in capped] == [7] * 10
