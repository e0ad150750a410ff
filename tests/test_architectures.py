"""Architectures: compare_gan's parameter counts at full width, and a forward pass of every
architecture at every supported resolution at reduced width (fast on CPU)."""

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import gin_utils
from compare_ssgan.architectures import ARCHITECTURES, build_architecture, trainable_count
from compare_ssgan.ops import NonLocalBlock
from compare_ssgan.rotation import RotationHead


def _skip_symbolic_build(model):
  """Marks `model` and its composite sub-layers (those without their own `build`) as built.

  Keras 3 builds such layers on their first call by first tracing `call()` symbolically,
  which here costs 4-5x the CPU of the eager call itself. Weight layers (Linear, Conv2D,
  norms, NonLocalBlock) keep their own `build`, so the first eager call still creates every
  weight with the same shapes. `test_keras_build_path` covers the standard path.
  """
  # pylint: disable=protected-access
  for layer in [model] + list(model._flatten_layers(include_self=False)):
    if getattr(layer.build, "_is_default", False) and not layer.built:
      layer.built = True
  return model


def _build(name, resolution, bindings=(), z_dim=128, num_classes=0, parts="GD"):
  """Parses `bindings`, then builds (on a batch of 1) only the requested parts."""
  gin_utils.parse([], list(bindings))
  gen, disc = build_architecture(name, resolution, colors=3, z_dim=z_dim,
                                 num_classes=num_classes, build=False)
  if "G" in parts:
    _skip_symbolic_build(gen).build_for_inputs(batch_size=1)
  if "D" in parts:
    _skip_symbolic_build(disc).build_for_inputs(batch_size=1)
  return gen, disc


def _head_count(disc, use_sn=False):
  return trainable_count(RotationHead(use_sn).build_for_features(disc.feature_dim))


# --- parameter counts at compare_gan's widths --------------------------------------------

def test_registry_has_compare_gan_names():
  for name in ("resnet_cifar_arch", "resnet5_arch", "resnet_stl_arch", "sndcgan_arch",
               "dcgan_arch", "resnet_biggan_arch"):
    assert name in ARCHITECTURES


@pytest.mark.parametrize("bn,expected", [
    (None, 5_846_019), ("@batch_norm", 5_849_603), ("@self_modulated_batch_norm", 5_993_187)])
def test_resnet_cifar_generator_counts(bn, expected):
  bindings = [f"G.batch_norm_fn = {bn}"] if bn else []
  gen, _ = _build("resnet_cifar_arch", 32, bindings, parts="G")
  assert trainable_count(gen) == expected


def test_resnet_cifar_discriminator_and_head_counts():
  _, disc = _build("resnet_cifar_arch", 32, ["D.spectral_norm = True"], parts="D")
  assert trainable_count(disc) == 1_483_137
  assert _head_count(disc, use_sn=True) == 516


@pytest.mark.parametrize("bn,expected", [
    ("@batch_norm", 13_786_115), ("@self_modulated_batch_norm", 14_019_939)])
def test_resnet5_generator_counts_128(bn, expected):
  gen, _ = _build("resnet5_arch", 128, [f"G.batch_norm_fn = {bn}"], parts="G")
  assert trainable_count(gen) == expected


def test_resnet5_discriminator_and_head_counts_128():
  _, disc = _build("resnet5_arch", 128, ["D.spectral_norm = True"], parts="D")
  assert disc.feature_dim == 512
  assert trainable_count(disc) == 15_086_529
  assert _head_count(disc, use_sn=True) == 2_052


def test_resnet_biggan_counts_128_conditional():
  bindings = ["G.batch_norm_fn = @conditional_batch_norm", "G.spectral_norm = True",
              "D.spectral_norm = True"]
  gen, disc = _build("resnet_biggan_arch", 128, bindings, z_dim=120, num_classes=1000)
  assert trainable_count(gen) == 70_433_988
  assert trainable_count(disc) == 87_982_370
  assert disc.feature_dim == 1536
  names = {v.path for v in gen.trainable_variables}
  # cBN sees concat(z chunk (20), embed_y (128)) = 148; shortcuts are 1x1.
  cbn = [v for v in gen.trainable_variables if "B1/bn1" in v.path and "kernel" in v.path]
  assert cbn and all(v.shape[0] == 148 for v in cbn)
  shortcut = [v for v in gen.trainable_variables
              if "up_conv_shortcut" in v.path and v.path.endswith("kernel")]
  assert shortcut and all(tuple(v.shape[:2]) == (1, 1) for v in shortcut)
  assert any("non_local_block" in n for n in names)
  # D: no shortcut in blocks whose width does not change (B6: 1536 -> 1536).
  d_names = [v.path for v in disc.trainable_variables]
  assert not any("B6" in n and "shortcut" in n for n in d_names)
  assert any("B1" in n and "down_conv_shortcut" in n for n in d_names)


@pytest.mark.slow   # about 60 s on 2 CPU cores
@pytest.mark.parametrize("res,z_dim,attn,g_count,d_count", [
    (256, 140, ("B5", "B2"), 82_097_604, 98_635_298),
    (512, 160, ("B4", "B3"), 82_468_068, 98_801_378)])
def test_resnet_biggan_counts_256_512(res, z_dim, attn, g_count, d_count):
  """compare_gan's resnet_biggan docstring (cBN, 1000 classes)."""
  bindings = ["G.batch_norm_fn = @conditional_batch_norm",
              f"resnet_biggan.Generator.blocks_with_attention = '{attn[0]}'",
              f"resnet_biggan.Discriminator.blocks_with_attention = '{attn[1]}'"]
  gen, disc = _build("resnet_biggan_arch", res, bindings, z_dim=z_dim, num_classes=1000)
  assert (trainable_count(gen), trainable_count(disc)) == (g_count, d_count)


def test_sndcgan_feature_dims_at_full_width():
  gin_utils.parse([], [])
  for res, feat in ((32, 8192), (128, 131_072)):
    _, disc = build_architecture("sndcgan_arch", res, build=False)
    assert disc.feature_dim == feat
  assert feat * 4 + 4 == 524_292  # compare_gan's rotation head at 128 px


# --- forward passes at reduced width ----------------------------------------------------

_SMALL = {
    "resnet5_arch": ("resnet5", 2),
    "resnet_stl_arch": ("resnet_stl", 2),
    "sndcgan_arch": ("sndcgan", 2),
    "dcgan_arch": ("dcgan", 2),
    "resnet_biggan_arch": ("resnet_biggan", 8),
}

_BIGGAN_Z = {32: 128, 64: 120, 128: 120, 256: 140, 512: 160}
# Attention sites for the reduced-width runs: compare_gan's (B4/B1) at 128; elsewhere a
# low-resolution block, so the attention matrix stays small on CPU.
_BIGGAN_ATTN = {32: ("B2", "B1"), 64: ("B3", "B1"), 128: ("B4", "B1"), 256: ("B2", "B2")}

# One case per architecture and resolution; each first call traces the model once, which
# dominates the cost, so the list is kept to what is needed.
_FORWARD_CASES = (
    [("resnet5_arch", r, "@batch_norm", 0) for r in (32, 64, 128)]
    + [("resnet_stl_arch", 48, "@self_modulated_batch_norm", 0)]
    + [("sndcgan_arch", r, "@batch_norm", 0) for r in (32, 64, 128)]
    + [("dcgan_arch", r, "@batch_norm", 0) for r in (32, 64, 128)]
    + [("resnet_biggan_arch", r, "@conditional_batch_norm", 10) for r in (32, 64, 128, 256)]
    + [("resnet_biggan_arch", 32, "@self_modulated_batch_norm", 0),
       ("resnet_biggan_arch", 128, "@batch_norm", 0)]
)


@pytest.mark.parametrize("name,res,bn,num_classes", _FORWARD_CASES)
def test_forward_reduced_width(name, res, bn, num_classes):
  module, ch = _SMALL[name]
  bindings = [f"G.batch_norm_fn = {bn}", "G.spectral_norm = True", "D.spectral_norm = True",
              f"{module}.Generator.ch = {ch}", f"{module}.Discriminator.ch = {ch}"]
  z_dim = 128
  if name == "resnet_biggan_arch":
    z_dim = _BIGGAN_Z[res]
    g_attn, d_attn = _BIGGAN_ATTN[res]
    bindings += [f"resnet_biggan.Generator.blocks_with_attention = '{g_attn}'",
                 f"resnet_biggan.Discriminator.blocks_with_attention = '{d_attn}'"]
    if not num_classes:
      bindings += ["resnet_biggan.Generator.embed_y = False",
                   "resnet_biggan.Discriminator.project_y = False"]
  gin_utils.parse([], bindings)
  gen, disc = build_architecture(name, res, colors=3, z_dim=z_dim, num_classes=num_classes,
                                 build=False)
  _skip_symbolic_build(gen)
  _skip_symbolic_build(disc)
  batch = 2
  z = tf.random.stateless_uniform([batch, z_dim], seed=[1, 2], minval=-1.0, maxval=1.0)
  y = tf.one_hot([1, 3], num_classes) if num_classes else None
  images = gen(z, y, training=True)
  assert tuple(images.shape) == (batch, res, res, 3)
  images = images.numpy()
  assert np.all(np.isfinite(images)) and images.min() >= 0.0 and images.max() <= 1.0
  probs, logits, features = disc(tf.constant(images), y, training=True)
  assert tuple(probs.shape) == (batch, 1) and tuple(logits.shape) == (batch, 1)
  assert tuple(features.shape) == (batch, disc.feature_dim)
  np.testing.assert_allclose(probs.numpy(), tf.nn.sigmoid(logits).numpy(), rtol=1e-5)
  head = RotationHead(use_sn=True)
  assert tuple(head(features, training=True).shape) == (batch, 4)
  # Inference mode runs too (moving statistics, stored SN u).
  eval_images = gen(z, y, training=False)
  assert tuple(eval_images.shape) == (batch, res, res, 3)
  assert tuple(disc(eval_images, y, training=False)[2].shape) == (batch, disc.feature_dim)


def test_resnet_biggan_512_layout():
  """512 px (optional in the brief): the layout is constructed; not run (too slow on CPU)."""
  gin_utils.parse([], ["resnet_biggan.Generator.embed_y = False",
                       "resnet_biggan.Discriminator.project_y = False",
                       "resnet_biggan.Generator.blocks_with_attention = 'B4'",
                       "resnet_biggan.Discriminator.blocks_with_attention = 'B3'"])
  gen, disc = build_architecture("resnet_biggan_arch", 512, z_dim=160, build=False)
  assert len(gen.blocks) == 7 and len(disc.blocks) == 8
  assert [a is not None for a in gen.attention].index(True) == 3  # after B4
  assert [a is not None for a in disc.attention].index(True) == 2  # after B3
  assert disc.feature_dim == 16 * 96


def test_keras_build_path():
  """The standard path (Keras' symbolic first-call trace) builds the same weights."""
  bindings = ["G.batch_norm_fn = @conditional_batch_norm", "G.spectral_norm = True",
              "D.spectral_norm = True", "resnet_biggan.Generator.ch = 8",
              "resnet_biggan.Discriminator.ch = 8",
              "resnet_biggan.Generator.blocks_with_attention = 'B2'"]
  gin_utils.parse([], bindings)
  gen, disc = build_architecture("resnet_biggan_arch", 32, z_dim=128, num_classes=10)
  fast_gen, fast_disc = _build("resnet_biggan_arch", 32, bindings, z_dim=128, num_classes=10)
  for a, b in ((gen, fast_gen), (disc, fast_disc)):
    assert [(v.path, tuple(v.shape)) for v in a.variables] == \
        [(v.path, tuple(v.shape)) for v in b.variables]


# --- architecture-specific facts ---------------------------------------------------------

def _has_u(layer):
  return any("u_var" in v.path for v in layer.non_trainable_variables)


def test_resnet5_fc_noise_and_final_conv_never_use_sn():
  gen, _ = _build("resnet5_arch", 32, ["G.spectral_norm = True", "resnet5.Generator.ch = 2"],
                  parts="G")
  assert not _has_u(gen.fc_noise) and not _has_u(gen.final_conv)
  assert _has_u(gen.blocks[0])
  assert [b.scale for b in gen.blocks] == ["up", "up", "up", "none", "none"]


def test_sndcgan_generator_never_uses_sn():
  gen, disc = _build("sndcgan_arch", 32, ["G.spectral_norm = True", "D.spectral_norm = True",
                                          "sndcgan.Generator.ch = 2",
                                          "sndcgan.Discriminator.ch = 2"])
  assert not any("u_var" in v.path for v in gen.variables)
  assert all(_has_u(conv) for conv in disc.convs)


def test_sndcgan_discriminator_rescales_input():
  """D sees x*2-1: with the first conv's kernel and bias zeroed except a single 1x1 tap,
  the pre-activation map equals 2x - 1."""
  _, disc = _build("sndcgan_arch", 32, ["sndcgan.Discriminator.ch = 1"], parts="D")
  conv = disc.convs[0]
  kernel = np.zeros(conv.kernel.shape, np.float32)
  kernel[1, 1, 0, 0] = 1.0
  conv.kernel.assign(kernel)
  x = tf.random.stateless_uniform([1, 32, 32, 3], seed=[3, 4])
  out = conv(x * 2.0 - 1.0)
  np.testing.assert_allclose(out[..., 0].numpy(), (x[..., 0] * 2.0 - 1.0).numpy(), atol=1e-6)


def test_resnet_biggan_unconditional_needs_explicit_bindings():
  small = ["resnet_biggan.Generator.ch = 2", "resnet_biggan.Discriminator.ch = 2"]
  gin_utils.parse([], small)
  with pytest.raises(ValueError, match="embed_y"):
    build_architecture("resnet_biggan_arch", 32, z_dim=128, build=False)
  gin_utils.parse([], small + ["resnet_biggan.Generator.embed_y = False"])
  with pytest.raises(ValueError, match="project_y"):
    build_architecture("resnet_biggan_arch", 32, z_dim=128, build=False)
  gin_utils.parse([], small + ["resnet_biggan.Generator.embed_y = False",
                               "resnet_biggan.Discriminator.project_y = False",
                               "G.batch_norm_fn = @conditional_batch_norm"])
  with pytest.raises(ValueError, match="conditional_batch_norm"):
    build_architecture("resnet_biggan_arch", 32, z_dim=128, build=False)


def test_resnet_biggan_hierarchical_z_needs_divisible_z_dim():
  gin_utils.parse([], ["resnet_biggan.Generator.ch = 2", "resnet_biggan.Discriminator.ch = 2"])
  with pytest.raises(ValueError, match="hierarchical_z"):
    build_architecture("resnet_biggan_arch", 128, z_dim=128, num_classes=10, build=False)


# --- non-local block ------------------------------------------------------------------------

@pytest.mark.parametrize("use_sn", [False, True])
def test_non_local_block_is_identity_at_init(use_sn):
  gin_utils.parse([], [])
  block = NonLocalBlock(use_sn=use_sn, name="non_local_block")
  x = tf.random.stateless_normal([2, 8, 6, 16], seed=[5, 6])
  out = block(x, training=True)
  assert tuple(out.shape) == (2, 8, 6, 16)
  np.testing.assert_array_equal(out.numpy(), x.numpy())
  shapes = {v.path.split("/")[-2] + "/" + v.name: tuple(v.shape)
            for v in block.trainable_variables}
  assert shapes == {"conv2d_theta/kernel": (1, 1, 16, 2), "conv2d_phi/kernel": (1, 1, 16, 2),
                    "conv2d_g/kernel": (1, 1, 16, 8), "conv2d_attn_g/kernel": (1, 1, 8, 16),
                    "non_local_block/sigma": ()}
  assert float(block.sigma.numpy()) == 0.0
  assert _has_u(block) == use_sn
  # With sigma != 0 the attention branch contributes.
  block.sigma.assign(1.0)
  assert not np.allclose(block(x).numpy(), x.numpy())


def test_every_architecture_module_registers_itself():
  """A module with generator/discriminator factories is reachable by a name, with no table
  to edit (the package imports every module; each ends with `registry.register`)."""
  import importlib  # pylint: disable=import-outside-toplevel
  import pkgutil  # pylint: disable=import-outside-toplevel
  import compare_ssgan.architectures as package  # pylint: disable=import-outside-toplevel
  for info in pkgutil.iter_modules(package.__path__):
    module = importlib.import_module(f"{package.__name__}.{info.name}")
    if hasattr(module, "generator") and hasattr(module, "discriminator"):
      assert info.name in ARCHITECTURES.values(), info.name


@pytest.mark.parametrize("name,small", [("tiny_arch", []),
                                        ("resnet_cifar_arch", ["resnet_cifar.Generator.ch = 8",
                                                               "resnet_cifar.Discriminator.ch = 8"])])
def test_built_layers_record_every_norm_and_weight_layer(name, small):
  """`built_layers` (recorded from build()) holds exactly the StandardizeBatch and
  weight layers that Keras' own layer tree holds."""
  from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
  from compare_ssgan.ops import StandardizeBatch, inventory  # pylint: disable=import-outside-toplevel
  from compare_ssgan.ops.layers import _WeightLayer  # pylint: disable=import-outside-toplevel
  gin_utils.parse(bindings=["G.batch_norm_fn = @batch_norm", "D.spectral_norm = True",
                            "D.batch_norm_fn = @batch_norm"] + small)
  for model in build_architecture(name, resolution=16 if name == "tiny_arch" else 32, z_dim=8):
    tree = list(model._flatten_layers())  # pylint: disable=protected-access
    for kind in (StandardizeBatch, _WeightLayer):
      expected = {id(l) for l in tree if isinstance(l, kind)}
      assert expected and {id(l) for l in inventory.built_layers(model, kind)} == expected
