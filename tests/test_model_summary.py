"""tools/model_summary.py: parameter tables and the three closing count lines."""

import importlib.util
import os
import re

import gin
import pytest

from compare_ssgan import gin_utils
from compare_ssgan.architectures import build_architecture

_TOOL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools",
                     "model_summary.py")


@pytest.fixture(scope="module")
def tool():
  spec = importlib.util.spec_from_file_location("model_summary_under_test", _TOOL)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


_TINY = """
options.architecture = "tiny_arch"
options.z_dim = 16
options.batch_size = 4
options.training_steps = 1
dataset.name = "builtin_16"
G.batch_norm_fn = @batch_norm
D.spectral_norm = True
"""


def _counts(text):
  lines = text.strip().splitlines()
  assert len(lines) >= 3, text
  tail = lines[-3:]
  keys = ["generator_params", "discriminator_params", "rotation_head_params"]
  counts = {}
  for key, line in zip(keys, tail):
    m = re.fullmatch(rf"{key} (\d+)", line)
    assert m, f"expected '{key} N', got {line!r}"
    counts[key] = int(m.group(1))
  return counts


_EXPECTED = {}


def _expected_tiny(resolution):
  """(G, D) trainable counts of tiny_arch built directly (cached: builds cost seconds)."""
  if resolution in _EXPECTED:
    return _EXPECTED[resolution]
  gin_utils.parse(bindings=["G.batch_norm_fn = @batch_norm", "D.spectral_norm = True"])
  g, d = build_architecture("tiny_arch", resolution=resolution, z_dim=16)
  gin.clear_config()
  _EXPECTED[resolution] = (sum(int(v.numpy().size) for v in g.trainable_variables),
                           sum(int(v.numpy().size) for v in d.trainable_variables))
  return _EXPECTED[resolution]


def test_main_on_tiny_config(tool, tmp_path, capsys):
  cfg = tmp_path / "tiny.gin"
  cfg.write_text(_TINY)
  rc = tool.main(["model_summary", "--gin_config", str(cfg)])
  assert rc in (0, None)
  out = capsys.readouterr().out
  counts = _counts(out)
  g, d = _expected_tiny(16)
  assert counts == {"generator_params": g, "discriminator_params": d,
                    "rotation_head_params": 16 * 4 + 4}
  assert "generator/fc_noise" in out          # the per-layer table
  assert "score_classify" in out
  assert "resolution 16" in out


def test_bindings_and_resolution_flags(tool, tmp_path, capsys):
  cfg = tmp_path / "tiny.gin"
  cfg.write_text(_TINY)
  tool.main(["model_summary", "--gin_config", str(cfg), "--resolution", "32",
             "--gin_bindings", "D.spectral_norm = False"])
  counts = _counts(capsys.readouterr().out)
  g, d = _expected_tiny(32)
  assert counts["generator_params"] == g and counts["discriminator_params"] == d
  assert g != _expected_tiny(16)[0]     # the resolution really changed G
  # Flags from an earlier call do not leak into the next one.
  assert tool.main(["model_summary"]) == 2      # usage error: no config
  assert tool.FLAGS.resolution is None and tool.FLAGS.gin_bindings == []


def test_misspelled_binding_is_an_error(tool, tmp_path):
  cfg = tmp_path / "tiny.gin"
  cfg.write_text(_TINY)
  with pytest.raises(gin_utils.GinConfigError, match="spectral_nrm"):
    tool.main(["model_summary", "--gin_config", str(cfg), "--gin_bindings",
               "D.spectral_nrm = True"])


def test_unavailable_gan_class_is_not_needed(tool, tmp_path, capsys, monkeypatch):
  monkeypatch.setattr(tool, "MAYBE_UNAVAILABLE", tool.MAYBE_UNAVAILABLE + ("NotYetGAN",))
  cfg = tmp_path / "tiny.gin"
  cfg.write_text(_TINY + "options.gan_class = @NotYetGAN\nNotYetGAN.rotated_batch_size = 4\n")
  tool.main(["model_summary", "--gin_config", str(cfg), "--resolution", "8"])  # 8: fast
  out = capsys.readouterr().out
  assert _counts(out)["rotation_head_params"] == 68
  assert "NotYetGAN" in out
  # A strict parse still refuses the unknown configurable.
  with pytest.raises(gin_utils.GinConfigError, match="NotYetGAN"):
    gin_utils.parse([str(cfg)])


def test_unknown_dataset_needs_resolution(tool, tmp_path):
  cfg = tmp_path / "x.gin"
  cfg.write_text(_TINY.replace("builtin_16", "no_such_dataset"))
  with pytest.raises(Exception, match="resolution"):
    tool.summarize(str(cfg))


def test_dataset_table():
  spec = importlib.util.spec_from_file_location("model_summary_table", _TOOL)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  assert module.DATASET_TABLE["cifar10"] == (32, 10)
  assert module.DATASET_TABLE["lsun-bedroom"][0] == 128
  assert module.DATASET_TABLE["imagenet_128"] == (128, 1000)


def test_resnet_cifar_counts(tool, tmp_path):
  g_bn, g_params = "@batch_norm", 5_849_603   # compare_gan's count with batch_norm
  cfg = tmp_path / "cifar.gin"
  cfg.write_text(f"""
options.architecture = "resnet_cifar_arch"
options.z_dim = 128
options.batch_size = 64
options.training_steps = 1
dataset.name = "cifar10"
G.batch_norm_fn = {g_bn}
D.spectral_norm = True
""")
  counts = tool.summarize(str(cfg), resolution=32, out=open(os.devnull, "w"))
  assert counts["generator_params"] == g_params
  assert counts["discriminator_params"] == 1_483_137
  assert counts["rotation_head_params"] == 516
