r"""Print the parameters of the G, D and rotation head that a gin config builds.

    compare_ssgan summary --gin_config cifar10/ssgan_sbn [--gin_bindings ...] \
        [--resolution 32] [--num_classes 10]

A per-layer table for each network, then exactly three lines: `generator_params N`,
`discriminator_params N`, `rotation_head_params N` (resnet_cifar: 5,849,603 with batch
norm, 1,483,137 and 516, as compare_gan). No data is read.
"""

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_multi_string("gin_config", [], "Gin config(s): a path or a name under "
                            "gin_configs/.", flag_values=fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=fv)
  flags.DEFINE_integer("resolution", None, "Image resolution (default: the dataset's).",
                       flag_values=fv)
  flags.DEFINE_integer("num_classes", None, "Classes of a conditional model (default: the "
                       "dataset's when ModularGAN/SSGAN.conditional, else 0).", flag_values=fv)


def run(gin_configs=(), gin_bindings=(), resolution=None, num_classes=None, out=None):
  """Prints the tables; returns {"generator_params", "discriminator_params",
  "rotation_head_params", "resolution", "num_classes", "architecture"}."""
  from compare_ssgan import errors, summary  # pylint: disable=import-outside-toplevel
  if not gin_configs and not gin_bindings:
    raise errors.ConfigError("give --gin_config (or --gin_bindings)")
  return summary.summarize(list(gin_configs), gin_bindings, resolution=resolution,
                           num_classes=num_classes, out=out)


def main(fv, args):
  del args
  run(fv.gin_config, fv.gin_bindings, fv.resolution, fv.num_classes)


COMMAND = command.Command("summary", __doc__, define_flags, main)
