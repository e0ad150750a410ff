"""Convert a google/compare_gan gin config into a compare_ssgan one.

    compare_ssgan convert-config IN.gin [-o OUT.gin] [--source_note "repo@commit, licence"]

Lines compare_gan ignored, or that only steered TF1 machinery, become `# [converted] ...`
comments saying why; what compare_ssgan cannot honour (S3GAN, an architecture or dataset it
does not have, a gin include of a compare_gan file, ...) is refused with file, line and
binding named; every remaining binding is checked against compare_ssgan's gin registry.
"""

import sys

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_string("output", None, "Write here instead of standard output.",
                      short_name="o", flag_values=fv)
  flags.DEFINE_string("source_note", None, "A provenance line for the header (repository, "
                      "commit and licence of the input).", flag_values=fv)
  flags.DEFINE_boolean("check", True, "Validate bindings against compare_ssgan's gin "
                       "registry.", flag_values=fv)


def run(input_path, output=None, source_note=None, check=True):
  """Converts the file `input_path`; returns the text (also written to `output`)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from compare_ssgan import convert, errors  # pylint: disable=import-outside-toplevel
  if not tf.io.gfile.exists(input_path):
    raise errors.ConfigError(f"no such file: {input_path}")
  with tf.io.gfile.GFile(input_path) as f:
    text = f.read()
  result = convert.convert(text, source=input_path, check=check, source_note=source_note)
  if output:
    with tf.io.gfile.GFile(output, "w") as f:
      f.write(result)
  return result


def main(fv, args):
  from compare_ssgan import errors  # pylint: disable=import-outside-toplevel
  if len(args) != 1:
    raise errors.ConfigError("give exactly one compare_gan .gin file")
  result = run(args[0], fv.output, fv.source_note, fv.check)
  if not fv.output:
    sys.stdout.write(result)


COMMAND = command.Command("convert-config", __doc__, define_flags, main, positional="IN.gin")
