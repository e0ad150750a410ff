"""Every config in gin_configs/ parses and builds; one training step per (architecture, GAN
class) at reduced width on in-memory data (all configs: `-m slow`).

No config is trained at its real size: widths are bound small (`<module>.Generator.ch`),
batches to 4, and the dataset is replaced by 8 random images at the config's resolution
and class count (the real datasets need downloads).
"""

import os
import re

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import gin_utils
from compare_ssgan.architectures import build_architecture
from compare_ssgan.architectures.registry import ARCHITECTURES
from compare_ssgan.datasets import core, registry
from compare_ssgan.datasets.tfds_datasets import SPECS

# Training experiments; base/ holds fragments and forgetting/ the forgetting verb's configs
# (tests/test_forgetting.py runs those).
ALL = [c for c in gin_utils.list_configs()
       if not c.startswith(("base" + os.sep, "forgetting" + os.sep))]
FRAGMENTS = [c for c in gin_utils.list_configs() if c.startswith("base" + os.sep)]
PAPER_CELLS = [
    "cifar10/uncond_gan.gin", "cifar10/ssgan.gin", "cifar10/ssgan_sbn.gin",
    "cifar10/cond_gan.gin", "imagenet128/uncond_gan.gin", "imagenet128/ssgan.gin",
    "imagenet128/ssgan_sbn.gin", "imagenet128/cond_gan.gin",
    "imagenet128/ssgan_large_biggan.gin", "lsun_bedroom128/uncond_gan.gin",
    "lsun_bedroom128/ssgan.gin", "lsun_bedroom128/ssgan_sbn.gin",
    "celeba_hq128/uncond_gan.gin", "celeba_hq128/ssgan.gin", "celeba_hq128/ssgan_sbn.gin",
]
EXAMPLES = ["biggan_imagenet128", "dcgan_celeba64", "resnet_cifar10",
            "resnet_lsun-bedroom128", "sndcgan_celebahq128"]
# Reduced widths per architecture module (resnet_biggan's attention needs >= 8 channels).
SMALL_CH = {"resnet_cifar": 8, "resnet5": 4, "resnet_biggan": 8, "sndcgan": 4, "dcgan": 4,
            "tiny": 8, "resnet_stl": 8}


def _skip_symbolic_build(model):
  """Marks composite sub-layers (no own `build`) as built: Keras 3 otherwise traces their
  `call()` symbolically first, several times the CPU of the eager call (same trick and
  reasoning as tests/test_architectures.py). Weight layers still create their weights."""
  # pylint: disable=protected-access
  for layer in [model] + list(model._flatten_layers(include_self=False)):
    if getattr(layer.build, "_is_default", False) and not layer.built:
      layer.built = True
  return model


def _fast_build_architecture(*args, build=True, **kwargs):
  gen, disc = build_architecture(*args, build=False, **kwargs)
  if build:
    for model in (gen, disc):
      if model is not None:
        _skip_symbolic_build(model).build_for_inputs(batch_size=1)
  return gen, disc


class _FakeDataset:
  """Just what a GAN constructor reads."""

  def __init__(self, name, resolution, num_classes):
    self.name, self.resolution, self.num_classes = name, resolution, num_classes


def _parse(config, extra=()):
  gin_utils.parse([config], list(extra), finalize=False)
  from compare_ssgan.options import options  # pylint: disable=import-outside-toplevel
  return options()


def _module(options):
  return ARCHITECTURES[options["architecture"]]


def _small_bindings(module):
  ch = SMALL_CH[module]
  return [f"{module}.Generator.ch = {ch}", f"{module}.Discriminator.ch = {ch}"]


def _data_shape(config):
  """(resolution, num_classes) of the config's dataset, without loading it."""
  name = gin_utils.query("dataset.name")
  if name in SPECS:
    return SPECS[name].resolution, SPECS[name].num_classes
  if name and name.startswith("builtin_"):
    return int(name.split("_")[1]), 10
  if name == "image_folder":
    return int(gin_utils.query("image_folder.resolution", 128)), 0
  raise AssertionError(f"{config}: unexpected dataset {name!r}")


def test_every_paper_cell_and_example_exists():
  for cell in PAPER_CELLS:
    assert cell in ALL, cell
  for name in EXAMPLES:
    assert f"compare_gan_examples/{name}.gin" in ALL, name
  assert "demo_cpu.gin" in ALL and "test_tiny.gin" in ALL


def test_unverified_values_are_marked():
  """Every binding in the paper configs' shared files carries a source tag or is a name."""
  root = gin_utils.config_root()
  for name in FRAGMENTS + [c for c in PAPER_CELLS]:
    with open(os.path.join(root, name)) as f:
      text = f.read()
    for line in text.splitlines():
      code = line.split("#")[0].strip()
      if "=" not in code or code.startswith("include"):
        continue
      key = code.split("=")[0].strip()
      # Choices that name the experiment itself (the cell) need no tag.
      if key in ("options.gan_class", "ModularGAN.conditional", "SSGAN.self_supervision",
                 "G.batch_norm_fn", "resnet_biggan.Generator.embed_y",
                 "resnet_biggan.Discriminator.project_y", "ModularGAN.g_optimizer_fn",
                 "ModularGAN.d_optimizer_fn", "eval_z.distribution_fn", "dataset.name",
                 "SSGAN.rotated_batch_size", "options.training_steps"):
        continue
      assert re.search(r"\[[VNSUP]", line), f"{name}: {line!r} has no [V]/[S]/[U] tag"


@pytest.mark.parametrize("config", ALL)
def test_config_parses(config):
  """Parse, names, and the GAN's own checks (batch vs rotated batch, labels, losses)."""
  from compare_ssgan.options import run_config  # pylint: disable=import-outside-toplevel
  opts = _parse(config)
  assert opts["gan_class"].__name__ in ("ModularGAN", "SSGAN"), config
  assert opts["architecture"] in ARCHITECTURES, config
  name = gin_utils.query("dataset.name")
  assert name in registry.DATASETS, config
  resolution, num_classes = _data_shape(config)
  gan = opts["gan_class"](dataset=_FakeDataset(name, resolution, num_classes),
                          strategy=tf.distribute.get_strategy(), options=opts)
  if gan.conditional:
    assert gan.num_classes >= 2, f"{config}: conditional on an unlabelled dataset"
  run_config()


@pytest.mark.parametrize("config", ALL)
def test_config_builds(config):
  """G and D at reduced width (`<module>.Generator.ch`), on the config's image size."""
  opts = _parse(config)
  resolution, num_classes = _data_shape(config)
  conditional = bool(gin_utils.query("ModularGAN.conditional", False))
  opts = _parse(config, _small_bindings(_module(opts)))
  gen, disc = _fast_build_architecture(opts["architecture"], resolution, z_dim=opts["z_dim"],
                                       num_classes=num_classes if conditional else 0)
  z = tf.zeros([2, opts["z_dim"]])
  y = tf.one_hot([0, 1], num_classes) if conditional else None
  images = gen(z, y, training=False)
  assert images.shape == (2, resolution, resolution, 3)
  _, logits, features = disc(images, y, training=False)
  assert logits.shape == (2, 1) and len(features.shape) == 2


def test_fragments_only_set_what_configs_share():
  """base/ files parse (they are included, never run alone)."""
  for name in FRAGMENTS:
    gin_utils.parse([name], finalize=False)


def test_uncond_and_cond_cells_differ_as_intended():
  opts = _parse("cifar10/cond_gan")
  assert opts["gan_class"].__name__ == "ModularGAN"
  assert gin_utils.query("ModularGAN.conditional") is True
  assert gin_utils.query("resnet_cifar.Discriminator.project_y") is True
  assert gin.query_parameter("G.batch_norm_fn").selector == "conditional_batch_norm"
  opts = _parse("cifar10/uncond_gan")
  assert opts["gan_class"].__name__ == "ModularGAN"
  assert not gin_utils.query("ModularGAN.conditional", False)
  opts = _parse("cifar10/ssgan_sbn")
  assert opts["gan_class"].__name__ == "SSGAN"
  assert gin.query_parameter("G.batch_norm_fn").selector == "self_modulated_batch_norm"
  assert gin_utils.query("SSGAN.rotated_batch_size") == 4 * opts["batch_size"]
  opts = _parse("imagenet128/ssgan_large_biggan")
  assert opts["architecture"] == "resnet_biggan_arch" and opts["batch_size"] == 2048
  assert gin_utils.query("resnet_biggan.Generator.embed_y") is False
  assert gin_utils.query("resnet_biggan.Discriminator.project_y") is False
  assert gin.query_parameter("z.distribution_fn").selector == "tf.random.normal"


# --- one training step ------------------------------------------------------------------

def _fake_dataset_name(resolution, num_classes):
  """Registers (once) an in-memory dataset of 8 random images; returns its name."""
  name = f"_test_fake_{resolution}_{num_classes}"
  if name not in registry.DATASETS:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, resolution, resolution, 3), dtype=np.uint8)
    labels = (np.arange(8) % max(num_classes, 1)).astype(np.int32)

    def factory(seed=547, **_):
      src = core.array_source(images, labels)
      return core.ImageDataset(name=name, resolution=resolution, num_classes=num_classes,
                               eval_test_samples=8, identity=name,
                               sources={core.TRAIN: lambda: src, core.EVAL: lambda: src},
                               seed=seed)
    registry.register(name, factory)
  return name


def _train_one_step(config, tmp_path, monkeypatch):
  from compare_ssgan import runner  # pylint: disable=import-outside-toplevel
  from compare_ssgan.gans import modular_gan  # pylint: disable=import-outside-toplevel
  monkeypatch.setattr(modular_gan, "build_architecture", _fast_build_architecture)
  opts = _parse(config)
  module = _module(opts)
  resolution, num_classes = _data_shape(config)
  conditional = bool(gin_utils.query("ModularGAN.conditional", False))
  fake = _fake_dataset_name(resolution, num_classes if conditional else 0)
  extra = _small_bindings(module) + [
      f'dataset.name = "{fake}"', "options.batch_size = 4", "options.training_steps = 1",
      "options.disc_iters = 1",   # one D trace instead of disc_iters: the code is the same
      "run_config.iterations_per_loop = 1"]
  if opts["gan_class"].__name__ == "SSGAN":
    extra.append("SSGAN.rotated_batch_size = 8")
  gin_utils.parse([config], extra, finalize=False)
  # Templates bind their real dataset (an image folder, the built-in variant): unused here.
  for key in list(gin.config._CONFIG):  # pylint: disable=protected-access
    if key[1].split(".")[-1] in ("image_folder", "builtin"):
      del gin.config._CONFIG[key]  # pylint: disable=protected-access
  exp = runner.Experiment(str(tmp_path))
  iterator = iter(runner._train_dataset(exp, 0))  # pylint: disable=protected-access
  metrics = exp.gan.train_loop(iterator, 1)
  assert int(exp.gan.global_step.numpy()) == 1
  assert all(np.isfinite(v) for v in metrics.values()), metrics
  return metrics


def _pairs():
  """{(architecture, GAN class): the first config (in name order) that uses it}."""
  seen = {}
  for config in ALL:
    opts = _parse(config)
    seen.setdefault((opts["architecture"], opts["gan_class"].__name__), config)
  gin.clear_config()
  return seen


PAIRS = _pairs()
# One step of these pairs takes 30-110 s each on 2 shared cores (BigGAN at 128 px; resnet5's
# ModularGAN path is the same GAN code as resnet_cifar's; tiny_arch runs in test_runner.py):
# they run with the slow sweep. Measured default part: about 2 minutes on a loaded machine.
SLOW_PAIRS = {("resnet_biggan_arch", "ModularGAN"), ("resnet_biggan_arch", "SSGAN"),
              ("resnet5_arch", "ModularGAN"), ("tiny_arch", "SSGAN")}
DEFAULT_STEPS = sorted(c for key, c in PAIRS.items() if key not in SLOW_PAIRS)


def test_pairs_cover_the_paper_architectures():
  assert ("resnet_cifar_arch", "SSGAN") in PAIRS and ("resnet5_arch", "SSGAN") in PAIRS
  assert ("resnet_biggan_arch", "SSGAN") in PAIRS


@pytest.mark.parametrize("config", DEFAULT_STEPS)
def test_one_step_per_architecture_and_gan_class(config, tmp_path, monkeypatch):
  _train_one_step(config, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("config", [c for c in ALL if c not in DEFAULT_STEPS])
def test_one_step_every_config(config, tmp_path, monkeypatch):
  _train_one_step(config, tmp_path, monkeypatch)
