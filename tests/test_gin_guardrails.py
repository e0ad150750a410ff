"""Gin guardrails: misspellings and unused bindings fail loudly; configs are found by name."""

import os

import gin
import pytest

from compare_ssgan import gin_utils
from compare_ssgan.architectures import discriminator_options, generator_options
from compare_ssgan.gin_utils import GinConfigError
from compare_ssgan.ops import normalization


@pytest.mark.parametrize("binding,culprit", [
    ("G.spectral_nrm = True", "spectral_nrm"),
    ("standardize_batch.decai = 0.9", "decai"),
    ("D.layer_nrm = True", "layer_nrm"),
])
def test_misspelled_parameter_names_it(binding, culprit):
  with pytest.raises(GinConfigError, match=culprit):
    gin_utils.parse(bindings=[binding])


def test_unknown_configurable_names_it():
  with pytest.raises(GinConfigError, match="Gee"):
    gin_utils.parse(bindings=["Gee.spectral_norm = True"])


def test_unknown_reference_names_it():
  with pytest.raises(GinConfigError, match="batch_nrm"):
    gin_utils.parse(bindings=["G.batch_norm_fn = @batch_nrm"])


def test_misspelling_in_a_file_names_it(tmp_path):
  cfg = tmp_path / "bad.gin"
  cfg.write_text("D.spectral_norm = True\nstandardize_batch.decai = 0.9\n")
  with pytest.raises(GinConfigError, match="decai"):
    gin_utils.parse([str(cfg)])


def test_correct_bindings_parse_and_apply():
  gin_utils.parse(bindings=["standardize_batch.decay = 0.9", "G.spectral_norm = True"])
  assert normalization.standardize_batch_settings()["decay"] == 0.9
  assert generator_options()["spectral_norm"] is True


def test_check_bindings_used_names_unused_binding():
  gin_utils.parse(bindings=["G.spectral_norm = True", "D.spectral_norm = True",
                            "standardize_batch.decay = 0.9"])
  generator_options()
  with pytest.raises(GinConfigError) as info:
    gin_utils.check_bindings_used()
  msg = str(info.value)
  assert "D.spectral_norm" in msg and "standardize_batch.decay" in msg
  assert "G.spectral_norm" not in msg
  assert gin_utils.unused_bindings() == ["D.spectral_norm", "standardize_batch.decay"]
  assert gin_utils.unused_bindings(ignore=["standardize_batch"]) == ["D.spectral_norm"]
  discriminator_options()
  normalization.standardize_batch_settings()
  gin_utils.check_bindings_used()   # everything consumed: no error


def test_check_bindings_used_scoped():
  gin_utils.parse(bindings=["eval/standardize_batch.decay = 0.5"])
  normalization.standardize_batch_settings()   # unscoped call does not use the scoped binding
  with pytest.raises(GinConfigError, match="eval/standardize_batch.decay"):
    gin_utils.check_bindings_used()
  with gin.config_scope("eval"):
    assert normalization.standardize_batch_settings()["decay"] == 0.5
  gin_utils.check_bindings_used()


def test_parse_clears_previous_config():
  gin_utils.parse(bindings=["D.spectral_norm = True"])
  gin_utils.parse(bindings=["G.spectral_norm = True"])
  assert discriminator_options()["spectral_norm"] is False


# --- finding configs --------------------------------------------------------------------

@pytest.fixture
def config_tree(tmp_path, monkeypatch):
  root = tmp_path / "root"
  (root / "base").mkdir(parents=True)
  (root / "cifar10").mkdir()
  (root / "base" / "common.gin").write_text("standardize_batch.decay = 0.9\n")
  (root / "cifar10" / "exp.gin").write_text(
      'include "base/common.gin"\nD.spectral_norm = True\n')
  monkeypatch.setattr(gin_utils, "config_root", lambda: str(root))
  return root


def test_resolve_config_by_name_with_and_without_extension(config_tree, tmp_path,
                                                           monkeypatch):
  elsewhere = tmp_path / "elsewhere"
  elsewhere.mkdir()
  monkeypatch.chdir(elsewhere)
  expected = str(config_tree / "cifar10" / "exp.gin")
  assert gin_utils.resolve_config("cifar10/exp") == expected
  assert gin_utils.resolve_config("cifar10/exp.gin") == expected
  assert gin_utils.resolve_config(expected) == expected
  assert gin_utils.list_configs() == ["base/common.gin", "cifar10/exp.gin"]


def test_resolve_config_relative_path_from_cwd(config_tree, tmp_path, monkeypatch):
  local = tmp_path / "mine"
  local.mkdir()
  (local / "x.gin").write_text("G.spectral_norm = True\n")
  monkeypatch.chdir(tmp_path)
  assert gin_utils.resolve_config("mine/x.gin") == str(local / "x.gin")
  assert gin_utils.resolve_config("mine/x") == str(local / "x.gin")


def test_resolve_config_missing_names_it(config_tree):
  with pytest.raises(GinConfigError, match="cifar10/nope"):
    gin_utils.resolve_config("cifar10/nope")


def test_parse_by_name_with_include_from_another_cwd(config_tree, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  gin_utils.parse(["cifar10/exp"])
  assert discriminator_options()["spectral_norm"] is True
  assert normalization.standardize_batch_settings()["decay"] == 0.9
  gin_utils.check_bindings_used()


def test_real_config_root_exists():
  root = gin_utils.config_root()
  assert os.path.isdir(root)
  assert os.path.basename(root.rstrip(os.sep)) == "gin_configs"
  for name in gin_utils.list_configs():
    assert gin_utils.resolve_config(name) == os.path.join(root, name)
    assert gin_utils.resolve_config(name[:-len(".gin")]) == os.path.join(root, name)


def test_write_operative_config_and_query(tmp_path):
  gin_utils.parse(bindings=["standardize_batch.decay = 0.9"], finalize=False)
  assert gin_utils.query("standardize_batch.decay") == 0.9
  assert gin_utils.query("standardize_batch.epsilon", default="absent") == "absent"
  normalization.standardize_batch_settings()
  path = gin_utils.write_operative_config(str(tmp_path / "model"), 7)
  assert path.endswith("operative_config-7.gin")
  text = open(path).read()
  assert "standardize_batch.decay = 0.9" in text
