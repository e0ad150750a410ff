"""Parameter tables of the G, D and rotation head that a gin config builds (`summary`).

The output is a per-layer table for each network, then exactly these three lines:

    generator_params N
    discriminator_params N
    rotation_head_params N

The resolution comes from the `resolution` argument, else from the dataset registry's shape
of `dataset.name`. No data is read and the GAN class is not built.
"""

import collections
import sys

from compare_ssgan import errors

def layer_table(model):
  """[(layer path, [shapes], params)] for the trainable variables of `model`, in order."""
  rows = collections.OrderedDict()
  for v in model.trainable_variables:
    path = getattr(v, "path", v.name)
    layer = path.rsplit("/", 1)[0] if "/" in path else path
    shapes, count = rows.get(layer, ([], 0))
    shape = tuple(int(d) for d in v.shape)
    n = 1
    for d in shape:
      n *= d
    rows[layer] = (shapes + [shape], count + n)
  return [(layer, shapes, count) for layer, (shapes, count) in rows.items()]


def _print_table(title, model, out):
  rows = layer_table(model)
  width = max([len(r[0]) for r in rows] + [len(title)])
  print(f"{title:<{width}}  {'shapes':<40}  {'params':>12}", file=out)
  print("-" * (width + 56), file=out)
  total = 0
  for layer, shapes, count in rows:
    shape_str = ", ".join("x".join(str(d) for d in s) for s in shapes)
    print(f"{layer:<{width}}  {shape_str:<40}  {count:>12,}", file=out)
    total += count
  print(f"{'total':<{width}}  {'':<40}  {total:>12,}", file=out)
  print(file=out)
  return total


def summarize(gin_config, gin_bindings=(), resolution=None, num_classes=None, out=None):
  """Builds G, D and the rotation head for a config and prints their tables.

  Returns {"generator_params", "discriminator_params", "rotation_head_params",
  "resolution", "num_classes", "architecture"}.
  """
  # pylint: disable=import-outside-toplevel
  import gin
  from compare_ssgan import gin_utils
  out = out or sys.stdout
  from compare_ssgan.architectures import build_architecture, discriminator_options
  from compare_ssgan.architectures.abstract_arch import trainable_count
  from compare_ssgan.options import options as get_options
  from compare_ssgan.rotation import RotationHead

  configs = [gin_config] if isinstance(gin_config, str) else list(gin_config or ())
  gin_utils.parse(configs, gin_bindings, finalize=False)

  # The summary needs neither the GAN class nor the training length.
  gin.bind_parameter("options.gan_class", None)
  for name, placeholder in (("batch_size", 1), ("training_steps", 1)):
    if gin_utils.query(f"options.{name}") is None:
      gin.bind_parameter(f"options.{name}", placeholder)
  try:
    opts = get_options()
  except (ValueError, TypeError) as e:
    raise gin_utils.GinConfigError(f"cannot read options.* from the config: {e}") from e

  dataset_name, resolution, num_classes = _data_shape(resolution, num_classes)
  generator, discriminator = build_architecture(
      opts["architecture"], resolution=resolution, colors=3, z_dim=opts["z_dim"],
      num_classes=num_classes)
  head = RotationHead(use_sn=discriminator_options()["spectral_norm"])
  head.build_for_features(discriminator.feature_dim)

  print(f"# architecture {opts['architecture']}, resolution {resolution}, "
        f"z_dim {opts['z_dim']}, num_classes {num_classes}, dataset {dataset_name}",
        file=out)
  print(file=out)
  counts = {}
  for key, title, model in (("generator_params", "generator", generator),
                            ("discriminator_params", "discriminator", discriminator),
                            ("rotation_head_params", "rotation_head", head)):
    total = _print_table(title, model, out)
    assert total == trainable_count(model)
    counts[key] = total
  for key in ("generator_params", "discriminator_params", "rotation_head_params"):
    print(f"{key} {counts[key]}", file=out)
  out.flush()
  counts.update(resolution=int(resolution), num_classes=int(num_classes),
                architecture=opts["architecture"])
  return counts


def _data_shape(resolution, num_classes):
  """(dataset name, resolution, num_classes) from the arguments, else the dataset registry."""
  from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
  from compare_ssgan.datasets import dataset_shape  # pylint: disable=import-outside-toplevel
  dataset_name = gin_utils.query("dataset.name") or "builtin_32"
  shape = dataset_shape(dataset_name) if dataset_name in _known_datasets() else (None, None)
  resolution = resolution or shape[0]
  if resolution is None:
    raise errors.ConfigError(f"no resolution known for dataset {dataset_name!r}: pass "
                             "--resolution")
  if num_classes is None:
    conditional = bool(gin_utils.query("SSGAN.conditional", None) or
                       gin_utils.query("ModularGAN.conditional", False))
    num_classes = (shape[1] or 0) if conditional else 0
    if conditional and not num_classes:
      raise errors.ConfigError("a conditional model needs --num_classes")

  return dataset_name, resolution, num_classes


def _known_datasets():
  from compare_ssgan.datasets import DATASETS  # pylint: disable=import-outside-toplevel
  return DATASETS
