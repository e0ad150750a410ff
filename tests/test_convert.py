"""compare_ssgan.convert (the convert-config verb): the five compare_gan example configs convert, parse
and build (reduced width); what cannot be mapped fails naming the line and binding."""

import os
import subprocess
import sys

import pytest

from compare_ssgan import gin_utils
from compare_ssgan.architectures import build_architecture
from compare_ssgan.architectures.registry import ARCHITECTURES
from compare_ssgan.datasets.tfds_datasets import SPECS

from compare_ssgan import convert

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EXAMPLES_DIR = os.path.join(os.path.dirname(REPO), "shared", "reference",
                            "compare_gan_example_configs")
EXAMPLES = ["biggan_imagenet128.gin", "dcgan_celeba64.gin", "resnet_cifar10.gin",
            "resnet_lsun-bedroom128.gin", "sndcgan_celebahq128.gin"]
SMALL_CH = {"resnet_cifar": 8, "resnet5": 4, "resnet_biggan": 8, "sndcgan": 4, "dcgan": 4}


def _example(name):
  path = os.path.join(EXAMPLES_DIR, name)
  if not os.path.isfile(path):
    pytest.skip(f"{path} not available")
  with open(path) as f:
    return f.read()


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_converts_parses_and_builds(name, tmp_path):
  out = convert.convert(_example(name), source=name)
  path = tmp_path / name
  path.write_text(out)
  gin_utils.parse([str(path)], finalize=False)
  from compare_ssgan.options import options  # pylint: disable=import-outside-toplevel
  opts = options()
  module = ARCHITECTURES[opts["architecture"]]
  ch = SMALL_CH[module]
  gin_utils.parse([str(path)], [f"{module}.Generator.ch = {ch}",
                                f"{module}.Discriminator.ch = {ch}"], finalize=False)
  spec = SPECS[gin_utils.query("dataset.name")]
  conditional = bool(gin_utils.query("ModularGAN.conditional", False))
  # BigGAN at 128 px is the slowest build (a few seconds at ch=8): generator only there.
  parts = ("G",) if module == "resnet_biggan" else ("G", "D")
  gen, disc = build_architecture(opts["architecture"], spec.resolution, z_dim=opts["z_dim"],
                                 num_classes=spec.num_classes if conditional else 0,
                                 parts=parts)
  assert gen is not None and (disc is not None or parts == ("G",))


@pytest.mark.parametrize("name", EXAMPLES)
def test_shipped_conversion_is_current(name):
  """gin_configs/compare_gan_examples/ holds exactly what the converter writes."""
  text = _example(name)
  note = (f"google/compare_gan example_configs/{name} at 19922d3 (Apache License 2.0, "
          "Copyright 2018 Google LLC)")
  expected = convert.convert(text, source=name, source_note=note)
  with open(os.path.join(gin_utils.config_root(), "compare_gan_examples", name)) as f:
    assert f.read() == expected


def test_drops_what_compare_gan_ignored():
  out = convert.convert('options.discriminator_normalization = "spectral_norm"\n'
                        "ModularGAN.deprecated_split_disc_calls = False\n"
                        "ModularGAN.experimental_force_graph_unroll = True\n"
                        "run_config.single_core = True\n"
                        "z.distribution_fn = @tf.random.normal\n", check=False)
  kept = [l for l in out.splitlines() if l and not l.startswith("#")]
  assert kept == ["z.distribution_fn = @tf.random.normal"]
  assert out.count("[converted] dropped") == 4


def test_weights_stddev_is_dropped_with_a_warning():
  """compare_gan's linear/conv2d/deconv2d pass stddev=0.02 explicitly, so the binding did
  nothing there; kept, it would fail compare_ssgan's unused-binding check."""
  with pytest.warns(UserWarning, match=r"in.gin:2: weights.stddev = 0.05: had no effect"):
    out = convert.convert("# header\nweights.stddev = 0.05\nweights.initializer = "
                          "'truncated'\n", source="in.gin")
  kept = [l for l in out.splitlines() if l and not l.startswith("#")]
  assert kept == ["weights.initializer = 'truncated'"]
  assert "# weights.stddev = 0.05" in out


def test_multiline_and_scoped_bindings():
  stmts = convert.split_statements('a/ModularGAN.g_lr = 0.1  # c\nresnet_biggan.Generator.'
                                   'blocks_with_attention = (\n  "B4")\n# x\n')
  kinds = [(s.kind, s.first_line) for s in stmts]
  assert kinds == [("binding", 1), ("binding", 2), ("comment", 4)]
  assert stmts[0].scope == "a" and stmts[0].selector == "ModularGAN"
  assert stmts[1].param == "blocks_with_attention"


@pytest.mark.parametrize("line,message", [
    ('include "other.gin"', "include"),
    ("ModularGAN.deprecated_split_disc_calls = True", "deprecated_split_disc_calls"),
    ("options.gan_class = @S3GAN", "S3GAN"),
    ("S3GAN.sparse = True", "S3GAN.sparse"),
    ('options.architecture = "resnet30_arch"', "resnet30_arch"),
    ('dataset.name = "soft_labeled_imagenet_128"', "soft_labeled_imagenet_128"),
    ('replace_labels.file_pattern = "x"', "replace_labels.file_pattern"),
    ("ModularGAN.g_optimizer_fn = @tf.train.RMSPropOptimizer", "RMSPropOptimizer"),
    ("G.no_such_option = 1", "G.no_such_option"),
    ("tf.train.AdamOptimizer.use_locking = True", "use_locking"),
])
def test_unmappable_fails_naming_the_line(line, message):
  with pytest.raises(convert.ConversionError) as e:
    convert.convert("# header\n" + line + "\n", source="in.gin")
  assert "in.gin:2" in str(e.value) and message in str(e.value)


def test_cli_exit_status(tmp_path):
  bad = tmp_path / "bad.gin"
  bad.write_text('options.architecture = "resnet30_arch"\n')
  proc = subprocess.run([sys.executable, "-m", "compare_ssgan", "convert-config", str(bad)],
                        capture_output=True, text=True, timeout=300)
  assert proc.returncode == 2
  lines = [l for l in proc.stderr.splitlines() if l.startswith("compare_ssgan convert-config")]
  assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
  assert lines[0].startswith("compare_ssgan convert-config: error: cannot convert:")
  assert "bad.gin:1" in proc.stderr and "resnet30_arch" in proc.stderr
