"""The export and evaluate-module verbs on a 2-step tiny SS-GAN run.

The exported SavedModels are loaded in a fresh process that cannot import compare_ssgan
(its module entry is set to None before anything else), with tf.saved_model.load and
tensorflow_hub.load, and must reproduce the in-package samples and rotation logits.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import gin_utils

from compare_ssgan import export as export_lib
from compare_ssgan.metrics import hub_generator as evaluate_hub_generator

from shared_runs import RUN_BINDINGS, tiny_run  # noqa: E402


BINDINGS = RUN_BINDINGS

_LOADER = r"""
import sys
# Installed (editable or not) beside TensorFlow: block the package itself, so any import of
# compare_ssgan or a submodule fails, while site-packages (numpy, TF) stay importable.
sys.modules["compare_ssgan"] = None
sys.path = [p for p in sys.path if p not in ("", ".")]
import json
import numpy as np
import tensorflow as tf
import tensorflow_hub as hub
gen_dir, disc_dir, z_path, x_path, out_path = sys.argv[1:6]
z, x = np.load(z_path), np.load(x_path)
g = tf.saved_model.load(gen_dir)
h = hub.load(gen_dir)
d = tf.saved_model.load(disc_dir)
out = d(tf.constant(x))
np.savez(out_path, call=g(tf.constant(z)).numpy(),
         hub=h.signatures["default"](z=tf.constant(z))["images"].numpy(),
         rotation_logits=out["rotation_logits"].numpy(), logits=out["logits"].numpy(),
         features=out["features"].numpy(),
         sig_rotation=d.signatures["serving_default"](images=tf.constant(x))[
             "rotation_logits"].numpy())
bad = [m for m in sys.modules if m.startswith("compare_ssgan") and sys.modules[m] is not None]
print(json.dumps({"z_dim": int(g.z_dim.numpy()), "leaked": bad,
                  "sigs": sorted(d.signatures)}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  root = tmp_path_factory.mktemp("export")
  model_dir = tiny_run(tmp_path_factory)
  gan, export_dir = export_lib.export_run(model_dir, export_dir=str(root / "export"))
  z = gan.sample_eval_z(16, 7)
  x = np.asarray(gan.generate(z, use_ema=False))  # some images for D
  ref = {"ema": np.asarray(gan.generate(z, use_ema=True)),
         "raw": np.asarray(gan.generate(z, use_ema=False))}
  _, _, features = gan.discriminator(tf.constant(x), training=False)
  ref["rotation_logits"] = np.asarray(gan.rotation_head(features, training=False))
  ref["features"] = np.asarray(features)
  np.save(root / "z.npy", z)
  np.save(root / "x.npy", x)
  return dict(root=root, export_dir=export_dir, model_dir=model_dir, gan=gan, ref=ref)


def test_export_loads_without_package(exported):
  root, export_dir, ref = exported["root"], exported["export_dir"], exported["ref"]
  assert not exported["gan"].has_bn_accumulators()
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  env["TF_CPP_MIN_LOG_LEVEL"] = "3"
  proc = subprocess.run(
      [sys.executable, "-c", _LOADER, os.path.join(export_dir, "generator"),
       os.path.join(export_dir, "discriminator"), str(root / "z.npy"), str(root / "x.npy"),
       str(root / "out.npz")], capture_output=True, text=True, cwd="/", env=env, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  info = json.loads(proc.stdout.strip().splitlines()[-1])
  assert info["leaked"] == [] and info["z_dim"] == 8
  assert {"default", "serving_default", "discriminator"} <= set(info["sigs"])
  out = np.load(root / "out.npz")
  # The EMA generator was exported: equal to gan.generate(use_ema=True), not to the raw G.
  np.testing.assert_allclose(out["call"], ref["ema"], atol=1e-6, rtol=0)
  np.testing.assert_allclose(out["hub"], ref["ema"], atol=1e-6, rtol=0)
  # (the tiny G barely moves in 2 steps: EMA and raw outputs differ by ~5e-5 >> 1e-6)
  assert np.max(np.abs(out["call"] - ref["raw"])) > 1e-5
  print("export max |diff|: G", np.max(np.abs(out["call"] - ref["ema"])), "hub",
        np.max(np.abs(out["hub"] - ref["ema"])), "rotation",
        np.max(np.abs(out["rotation_logits"] - ref["rotation_logits"])))
  assert out["call"].min() >= 0.0 and out["call"].max() <= 1.0
  np.testing.assert_allclose(out["rotation_logits"], ref["rotation_logits"], atol=1e-5)
  np.testing.assert_allclose(out["sig_rotation"], ref["rotation_logits"], atol=1e-5)
  np.testing.assert_allclose(out["features"], ref["features"], atol=1e-5)
  assert out["rotation_logits"].shape == (16, 4) and out["logits"].shape == (16, 1)
  with open(os.path.join(export_dir, "generator", "assets.extra", "compare_ssgan.json")) as f:
    meta = json.load(f)
  assert meta["ema"] and meta["step"] == 2 and meta["z_dim"] == 8


class _FakeClassifier:
  """images -> {"pool_3": 4x4 colour thumbnails (48-d), "logits": a fixed projection}."""
  name = "fake_thumbnails"

  def __call__(self, images):
    x = tf.image.resize(tf.constant(images, tf.float32), [4, 4], method="area")
    pool = tf.reshape(x, [len(images), -1]).numpy().astype(np.float64)
    proj = np.random.default_rng(0).standard_normal((pool.shape[1], 10))
    return {"pool_3": pool, "logits": pool @ proj}


def test_evaluate_hub_generator_offline(exported, tmp_path):
  """Scoring the exported module (a local path handle) equals scoring the checkpoint."""
  from compare_ssgan import metrics  # pylint: disable=import-outside-toplevel
  gin_utils.parse(["test_tiny"], BINDINGS)
  dataset = exported["gan"].dataset
  handle = os.path.join(exported["export_dir"], "generator")
  classifier = _FakeClassifier()
  got = evaluate_hub_generator.evaluate_module(handle, dataset, num_samples=128,
                                               num_averaging_runs=2, classifier=classifier,
                                               cache_dir=str(tmp_path))
  assert got["signature"] == "generator" and got["z_dim"] == 8
  want = metrics.evaluate_checkpoint(exported["gan"], dataset, 2, num_samples=128,
                                     num_averaging_runs=2, classifier=classifier,
                                     cache_dir=str(tmp_path))
  for key in metrics.SCORE_KEYS:
    assert np.isfinite(got[key])
    np.testing.assert_allclose(got[key], want[key], rtol=1e-4, atol=1e-6)
