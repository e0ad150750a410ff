"""Prints the parameters of G, D and the rotation head that a gin config builds.

    python tools/model_summary.py --gin_config cifar10/ssgan_sbn [--gin_bindings ...]
                                  [--resolution 32] [--num_classes 10]

The output is a per-layer table for each network, then exactly these three lines:

    generator_params N
    discriminator_params N
    rotation_head_params N

The resolution comes from `--resolution`, else from the dataset (`dataset.name` through
`compare_ssgan.datasets.get_dataset` when that exists), else from a table of compare_gan's
dataset resolutions. The GAN class itself is not needed: bindings of `SSGAN`, `ModularGAN`,
`S3GAN` and `dataset` are skipped when nothing registered those configurables.
"""

import collections
import os
import re
import sys

from absl import flags

# A private flag registry: this module can be imported next to compare_ssgan.main (which
# defines --gin_config too) without duplicate-flag errors.
FLAGS = flags.FlagValues()
flags.DEFINE_string("gin_config", None, "A gin config: a path, or a name under gin_configs/.",
                    flag_values=FLAGS)
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings, e.g. 'D.spectral_norm = True'.",
                          flag_values=FLAGS)
flags.DEFINE_integer("resolution", None, "Image resolution; overrides the dataset's.",
                     flag_values=FLAGS)
flags.DEFINE_integer("num_classes", None,
                     "Classes for a conditional model; default: the dataset's if "
                     "ModularGAN/SSGAN.conditional is True, else 0.", flag_values=FLAGS)

# Configurables a summary can do without; skipped only while unregistered.
MAYBE_UNAVAILABLE = ("SSGAN", "ModularGAN", "S3GAN", "dataset")

# compare_gan's datasets (compare_gan/datasets.py) and ours: name -> (resolution, classes).
DATASET_TABLE = {
    "mnist": (28, 10),
    "fashion-mnist": (28, 10),
    "cifar10": (32, 10),
    "celeb_a": (64, 0),
    "celeb_a_hq_128": (128, 0),
    "celeb_a_hq_256": (256, 0),
    "lsun-bedroom": (128, 0),
    "stl10": (48, 10),
    "imagenet_32": (32, 1000),
    "imagenet_64": (64, 1000),
    "imagenet_128": (128, 1000),
    "imagenet_256": (256, 1000),
    "imagenet_512": (512, 1000),
    "imagenet_512_hq400": (512, 1000),
    "soft_labeled_imagenet_128": (128, 1000),
    "single_class_imagenet_128": (128, 1000),
    "random_class_imagenet_128": (128, 1000),
    "labeled_only_imagenet_128": (128, 1000),
    "builtin_16": (16, 10),
    "builtin_32": (32, 10),
}

_DATASET_NAME_RE = re.compile(r"""^\s*dataset\.name\s*=\s*["']([^"']+)["']""")
_INCLUDE_RE = re.compile(r"""^\s*include\s+["']([^"']+)["']""")


def _scan_dataset_name(files, bindings):
  """`dataset.name` read from the config text (used when `dataset` is not registered)."""
  from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
  name = None

  def scan_file(path, depth=0):
    nonlocal name
    if depth > 20:
      return
    with open(path) as f:
      for line in f:
        m = _INCLUDE_RE.match(line)
        if m:
          inc = m.group(1)
          local = os.path.join(os.path.dirname(path), inc)
          try:
            scan_file(local if os.path.isfile(local) else gin_utils.resolve_config(inc),
                      depth + 1)
          except gin_utils.GinConfigError:
            pass
          continue
        m = _DATASET_NAME_RE.match(line)
        if m:
          name = m.group(1)

  for path in files:
    scan_file(path)
  for binding in bindings:
    for line in binding.splitlines():
      m = _DATASET_NAME_RE.match(line)
      if m:
        name = m.group(1)
  return name


def _dataset_info(dataset_name):
  """(resolution, num_classes) of a dataset, or (None, None) when unknown."""
  if dataset_name is None:
    return None, None
  try:
    from compare_ssgan import datasets  # pylint: disable=import-outside-toplevel
    get_dataset = getattr(datasets, "get_dataset", None)
  except ImportError:
    get_dataset = None
  if get_dataset is not None:
    try:
      ds = get_dataset(dataset_name)
      return int(ds.resolution), int(getattr(ds, "num_classes", 0) or 0)
    except Exception as e:  # pylint: disable=broad-except
      print(f"# get_dataset({dataset_name!r}) failed ({type(e).__name__}: {e}); "
            "using the built-in resolution table", file=sys.stderr)
  return DATASET_TABLE.get(dataset_name, (None, None))


def _is_registered(name):
  import gin  # pylint: disable=import-outside-toplevel
  return bool(gin.config._REGISTRY.matching_selectors(name))  # pylint: disable=protected-access


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

  configs = [gin_config] if gin_config else []
  gin_utils.parse(configs, gin_bindings, finalize=False, allow_unknown=MAYBE_UNAVAILABLE)
  missing = [n for n in MAYBE_UNAVAILABLE if not _is_registered(n)]
  if missing:
    print(f"# not registered (bindings skipped): {', '.join(missing)}", file=out)

  # The summary needs neither the GAN class nor the training length.
  gin.bind_parameter("options.gan_class", None)
  for name, placeholder in (("batch_size", 1), ("training_steps", 1)):
    if gin_utils.query(f"options.{name}") is None:
      gin.bind_parameter(f"options.{name}", placeholder)
  try:
    opts = get_options()
  except (ValueError, TypeError) as e:
    raise gin_utils.GinConfigError(f"cannot read options.* from the config: {e}") from e

  if _is_registered("dataset"):
    dataset_name = gin_utils.query("dataset.name")
  else:
    files = [gin_utils.resolve_config(c) for c in configs]
    dataset_name = _scan_dataset_name(files, gin_bindings)
  ds_info = None
  if resolution is None:
    ds_info = _dataset_info(dataset_name)
    resolution = ds_info[0]
  if resolution is None:
    raise gin_utils.GinConfigError(
        f"no resolution for dataset {dataset_name!r}: pass --resolution")

  if num_classes is None:
    conditional = bool(gin_utils.query("SSGAN.conditional", None) or
                       gin_utils.query("ModularGAN.conditional", False))
    if conditional and ds_info is None:
      ds_info = _dataset_info(dataset_name)
    num_classes = (ds_info[1] or 0) if conditional else 0
    if conditional and not num_classes:
      raise gin_utils.GinConfigError("a conditional model needs --num_classes")

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


def main(argv=None):
  """Parses `argv` (a full argv list, program name first) and prints the summary."""
  argv = list(sys.argv if argv is None else argv)
  FLAGS.unparse_flags()
  try:
    FLAGS(argv)
  except flags.Error as e:
    print(f"{e}\n\n{__doc__}", file=sys.stderr)
    return 2
  if not FLAGS.gin_config and not FLAGS.gin_bindings:
    print(f"--gin_config is required\n\n{__doc__}", file=sys.stderr)
    return 2
  summarize(FLAGS.gin_config, FLAGS.gin_bindings, resolution=FLAGS.resolution,
            num_classes=FLAGS.num_classes)
  return 0


if __name__ == "__main__":
  sys.exit(main())
