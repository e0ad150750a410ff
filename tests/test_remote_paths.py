"""Caches, image folders and exports on a URL filesystem (`ram://`, a stand-in for gs://).

Whatever `os`, `open` or `np.savez` would do with such a path lands in a local folder named
`ram:`; so each test also checks that the working directory stays empty.
"""

import io
import json
import os
import subprocess
import sys

import gin
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from compare_ssgan import datasets
from compare_ssgan.metrics import cache, domain_classifier

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path, monkeypatch):
  cwd = tmp_path / "cwd"
  cwd.mkdir()
  monkeypatch.chdir(cwd)
  yield
  assert os.listdir(cwd) == []


def _png(array):
  buf = io.BytesIO()
  Image.fromarray(array).save(buf, "PNG")
  return buf.getvalue()


def _write(path, data):
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(data)


def test_npz_cache_round_trips_on_ram():
  path = "ram://cache_rt/real_activations/abc.npz"
  arrays = {"pool_3": np.arange(12, dtype=np.float32).reshape(3, 4), "key": np.array("k")}
  assert not cache.exists(path)
  cache.save_npz_atomic(path, **arrays)
  cache.save_npz_atomic(path, **arrays)                     # overwriting works too
  assert cache.exists(path)
  back = cache.load_npz(path)
  np.testing.assert_array_equal(back["pool_3"], arrays["pool_3"])
  assert str(back["key"]) == "k"
  assert tf.io.gfile.listdir("ram://cache_rt/real_activations") == ["abc.npz"]  # no temps


def test_image_folder_on_ram_is_scanned_and_read():
  root = "ram://imgs_rf"
  colours = {"cats/a.png": [255, 0, 0], "cats/b.png": [0, 255, 0], "dogs/c.png": [0, 0, 255],
             "dogs/deep/d.png": [255, 255, 0]}
  for rel, colour in colours.items():
    _write(f"{root}/{rel}", _png(np.full((20, 24, 3), colour, np.uint8)))
  _write(f"{root}/dogs/notes.txt", b"text")
  gin.bind_parameter("image_folder.path", root)
  gin.bind_parameter("image_folder.resolution", 8)
  gin.bind_parameter("image_folder.eval_fraction", 0.0)
  gin.bind_parameter("image_folder.use_class_subfolders", True)
  ds = datasets.get_dataset("image_folder")
  assert ds.files["train"] == sorted(colours) and ds.ignored_files == ["dogs/notes.txt"]
  assert ds.class_names == ["cats", "dogs"]
  images = ds.eval_images(4)
  np.testing.assert_allclose(images[:, 0, 0], np.array(list(colours.values())) / 255.0,
                             atol=1e-6)
  np.testing.assert_array_equal(ds.eval_labels(4), [0, 0, 1, 1])
  assert ds.identity.startswith("image_folder:imgs_rf:")


def test_domain_classifier_caches_on_ram_and_loads_without_training(monkeypatch):
  rng = np.random.default_rng(0)
  images = rng.uniform(size=(64, 16, 16, 3)).astype(np.float32)
  labels = np.arange(64) % 2
  kw = dict(images=images, labels=labels, num_classes=2, cache_dir="ram://dc_cache",
            steps=3, batch_size=16, feature_dim=8)
  first = domain_classifier.make_domain_classifier(**kw)
  stored = tf.io.gfile.listdir("ram://dc_cache/domain_classifier")
  assert stored == [f"{first.name}.weights.h5"]
  monkeypatch.setattr(domain_classifier, "train_model",
                      lambda *a, **k: pytest.fail("retrained instead of loading"))
  second = domain_classifier.make_domain_classifier(**kw)
  a, b = first.model(images[:4]), second.model(images[:4])
  for x, y in zip(a, b):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6)


_SCRIPT = r"""
import io, json, os, sys
import numpy as np, tensorflow as tf
from PIL import Image
from compare_ssgan import datasets, export, gin_utils, runner
from compare_ssgan.metrics import cache, domain_classifier

out = {}
cache.save_npz_atomic("ram://c/x.npz", a=np.ones(3))
out["npz"] = cache.load_npz("ram://c/x.npz")["a"].tolist()
for i in range(3):
  buf = io.BytesIO()
  Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(buf, "PNG")
  with tf.io.gfile.GFile(f"ram://f/{i}.png", "wb") as f:
    f.write(buf.getvalue())
gin_utils.parse(["test_tiny"], ['image_folder.path = "ram://f"',
                                "image_folder.resolution = 8"])
out["folder"] = datasets.get_dataset("image_folder").num_examples("train")  # 1 held out
kw = dict(images=np.zeros((8, 8, 8, 3), np.float32), cache_dir="ram://dc", steps=2,
          batch_size=4, feature_dim=4)
domain_classifier.make_domain_classifier(**kw)
domain_classifier.make_domain_classifier(**kw)
gin_utils.parse(["test_tiny"], [])
gan = runner.Experiment("ram://run").gan
export.export_generator(gan, "ram://export/generator", metadata={"step": 0})
export.export_discriminator(gan, "ram://export/discriminator")
z = gan.sample_eval_z(2, 0)
loaded = tf.saved_model.load("ram://export/generator")
out["export_diff"] = float(np.abs(loaded(z).numpy() - np.asarray(gan.generate(z))).max())
with tf.io.gfile.GFile("ram://export/discriminator/assets.extra/compare_ssgan.json") as f:
  out["meta"] = json.load(f)["part"]
print("RESULT " + json.dumps(out))
"""

# What third-party libraries create in a fresh HOME on import: Keras' config file and
# matplotlib's font cache.
_THIRD_PARTY_HOME = (".keras/", ".cache/matplotlib/", ".config/matplotlib/")


def test_no_files_in_cwd_or_fresh_home(tmp_path):
  """Caches, image folders, domain classifiers and exports on ram:// in a fresh process."""
  cwd, home = tmp_path / "work", tmp_path / "home"
  cwd.mkdir()
  home.mkdir()
  env = {k: v for k, v in os.environ.items() if not k.startswith("COMPARE_SSGAN")}
  env.update(HOME=str(home), PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3",
             CUDA_VISIBLE_DEVICES="", XDG_CACHE_HOME=str(home / ".cache"))
  proc = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=cwd, env=env, timeout=300,
                        capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr[-3000:]
  line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
  out = json.loads(line[len("RESULT "):])
  assert out == {"npz": [1.0, 1.0, 1.0], "folder": 2, "export_diff": 0.0,
                 "meta": "discriminator"}
  assert os.listdir(cwd) == []
  created = [os.path.relpath(os.path.join(d, f), home) for d, _, fs in os.walk(home)
             for f in fs]
  assert [f for f in created if not f.startswith(_THIRD_PARTY_HOME)] == [], created


_CLI_SCRIPT = r"""
import json, sys
import tensorflow as tf
from compare_ssgan import cli

codes = {}
codes["train"] = cli.main([
    "train", "--gin_config", "test_tiny", "--model_dir", "ram://run",
    "--gin_bindings", "options.training_steps = 2", "--schedule", "eval_after_train",
    "--eval_every_steps", "2", "--gin_bindings", 'evaluation.classifier = "domain"',
    "--gin_bindings", "builtin.num_train = 256", "--gin_bindings", "builtin.num_eval = 64",
    "--gin_bindings", "builtin.eval_test_samples = 64",
    "--gin_bindings", "domain_classifier.num_train = 256",
    "--gin_bindings", "domain_classifier.steps = 5",
    "--num_eval_averaging_runs", "1"])
codes["sample"] = cli.main(["sample", "--model_dir", "ram://run", "--num_samples", "8"])
codes["export"] = cli.main(["export", "--model_dir", "ram://run"])
files = []
for root in ("ram://run", "ram://cache"):
  if tf.io.gfile.exists(root):
    for d, _, fs in tf.io.gfile.walk(root):
      files += [d.rstrip("/") + "/" + f for f in fs]
print("RESULT " + json.dumps({"codes": codes, "files": sorted(files)}))
"""


def test_train_sample_export_through_the_cli_on_ram(tmp_path):
  """train (eval_after_train, domain classifier), sample and export on ram:// in one
  process: everything lands on ram://, nothing in cwd, TMPDIR or a fresh HOME."""
  cwd, home, tmp = tmp_path / "work", tmp_path / "home", tmp_path / "tmp"
  for d in (cwd, home, tmp):
    d.mkdir()
  env = {k: v for k, v in os.environ.items() if not k.startswith("COMPARE_SSGAN")}
  env.update(HOME=str(home), PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3", TMPDIR=str(tmp),
             CUDA_VISIBLE_DEVICES="", XDG_CACHE_HOME=str(home / ".cache"),
             COMPARE_SSGAN_CACHE_DIR="ram://cache")
  proc = subprocess.run([sys.executable, "-c", _CLI_SCRIPT], cwd=cwd, env=env, timeout=600,
                        capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr[-3000:]
  line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
  out = json.loads(line[len("RESULT "):])
  assert out["codes"] == {"train": 0, "sample": 0, "export": 0}, proc.stderr[-3000:]
  files = out["files"]
  for expected in ("ram://run/ckpt-2.index", "ram://run/scores.csv", "ram://run/TRAIN_DONE",
                   "ram://run/samples/grid-00000002.png", "ram://run/operative_config-0.gin"):
    assert expected in files, files
  assert any(f.startswith("ram://run/eval_cache/domain_classifier/") for f in files), files
  assert any(f.startswith("ram://run/samples/ckpt-2/") for f in files), files
  assert any(f.startswith("ram://run/export-2/") and f.endswith("saved_model.pb")
             for f in files), files
  assert "Summary:" in proc.stdout and "compare_ssgan plot --model_dir ram://run" in proc.stdout
  assert os.listdir(cwd) == [] and os.listdir(tmp) == []
  created = [os.path.relpath(os.path.join(d, f), home) for d, _, fs in os.walk(home)
             for f in fs]
  assert [f for f in created if not f.startswith(_THIRD_PARTY_HOME)] == [], created
