"""The summary verb (compare_ssgan.summary): parameter tables and the three count lines."""

import io
import re

import gin
import pytest

from compare_ssgan import cli, errors, gin_utils, summary
from compare_ssgan.architectures import build_architecture
from compare_ssgan.datasets import dataset_shape

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
  keys = ["generator_params", "discriminator_params", "rotation_head_params"]
  counts = {}
  for key, line in zip(keys, lines[-3:]):
    m = re.fullmatch(rf"{key} (\d+)", line)
    assert m, f"expected '{key} N', got {line!r}"
    counts[key] = int(m.group(1))
  return counts


_EXPECTED = {}


def _expected_tiny(resolution):
  """(G, D) trainable counts of tiny_arch built directly (cached: builds cost seconds)."""
  if resolution not in _EXPECTED:
    gin_utils.parse(bindings=["G.batch_norm_fn = @batch_norm", "D.spectral_norm = True"])
    g, d = build_architecture("tiny_arch", resolution=resolution, z_dim=16)
    gin.clear_config()
    _EXPECTED[resolution] = (sum(int(v.numpy().size) for v in g.trainable_variables),
                             sum(int(v.numpy().size) for v in d.trainable_variables))
  return _EXPECTED[resolution]


def test_verb_on_tiny_config(tmp_path, capsys):
  cfg = tmp_path / "tiny.gin"
  cfg.write_text(_TINY)
  assert cli.main(["summary", "--gin_config", str(cfg)]) == 0
  out = capsys.readouterr().out
  g, d = _expected_tiny(16)
  assert _counts(out) == {"generator_params": g, "discriminator_params": d,
                          "rotation_head_params": 16 * 4 + 4}
  assert "generator/fc_noise" in out and "score_classify" in out   # the per-layer table
  assert "resolution 16" in out


def test_bindings_and_resolution_flags(tmp_path, capsys):
  cfg = tmp_path / "tiny.gin"
  cfg.write_text(_TINY)
  cli.main(["summary", "--gin_config", str(cfg), "--resolution", "32",
            "--gin_bindings", "D.spectral_norm = False"])
  counts = _counts(capsys.readouterr().out)
  g, d = _expected_tiny(32)
  assert counts["generator_params"] == g and counts["discriminator_params"] == d
  assert g != _expected_tiny(16)[0]     # the resolution really changed G
  # Flags of an earlier call do not leak into the next one: no config is a usage error.
  assert cli.main(["summary"]) == 2


def test_misspelled_binding_is_one_error_line(tmp_path, capsys):
  cfg = tmp_path / "tiny.gin"
  cfg.write_text(_TINY)
  assert cli.main(["summary", "--gin_config", str(cfg), "--gin_bindings",
                   "D.spectral_nrm = True"]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert err[-1].startswith("compare_ssgan summary: error:") and "spectral_nrm" in err[-1]


def test_unknown_dataset_needs_resolution(tmp_path):
  cfg = tmp_path / "x.gin"
  cfg.write_text(_TINY.replace("builtin_16", "no_such_dataset"))
  with pytest.raises(errors.ConfigError, match="resolution"):
    summary.summarize(str(cfg), out=io.StringIO())


def test_shapes_come_from_the_dataset_registry():
  assert dataset_shape("cifar10") == (32, 10)
  assert dataset_shape("lsun-bedroom")[0] == 128
  assert dataset_shape("imagenet_128") == (128, 1000)
  assert dataset_shape("builtin_16") == (16, 10)


def test_resnet_cifar_counts(tmp_path):
  """compare_gan's own counts for resnet_cifar (G with batch_norm, D with SN, head)."""
  cfg = tmp_path / "cifar.gin"
  cfg.write_text("""
options.architecture = "resnet_cifar_arch"
options.z_dim = 128
options.batch_size = 64
options.training_steps = 1
dataset.name = "cifar10"
G.batch_norm_fn = @batch_norm
D.spectral_norm = True
""")
  counts = summary.summarize(str(cfg), out=io.StringIO())
  assert counts["resolution"] == 32
  assert counts["generator_params"] == 5_849_603
  assert counts["discriminator_params"] == 1_483_137
  assert counts["rotation_head_params"] == 516
