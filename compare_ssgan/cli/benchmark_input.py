"""Time the input pipelines (images/s): in-memory, TFDS-style PNG records, an image folder.

    compare_ssgan benchmark-input [--batch_size 64] [--num_batches 200]

builtin_32 is the in-memory random-access path; cifar10_png the TFDS streaming path on
CIFAR-shaped PNG records served by `tfds.testing.mock_data` (offline); image_folder a
generated folder of JPEG/PNG files (read, decode, crop, resize).
"""

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_integer("batch_size", 64, "Batch size.", flag_values=fv)
  flags.DEFINE_integer("num_batches", 200, "Batches timed per pipeline (after warm-up).",
                       flag_values=fv)
  flags.DEFINE_integer("warmup_batches", 20, "Batches consumed before timing.",
                       flag_values=fv)
  flags.DEFINE_integer("folder_images", 2000, "Images written to the generated folder.",
                       flag_values=fv)
  flags.DEFINE_integer("folder_size", 256, "Side of the generated folder images.",
                       flag_values=fv)
  flags.DEFINE_integer("folder_resolution", 64, "image_folder.resolution.", flag_values=fv)
  flags.DEFINE_list("pipelines", ["builtin_32", "cifar10_png", "image_folder"],
                    "Which pipelines to time.", flag_values=fv)


def run(batch_size=64, num_batches=200, warmup_batches=20, folder_images=2000,
        folder_size=256, folder_resolution=64, pipelines=None, out=print):
  """Times the pipelines; returns {pipeline: images/s}."""
  # pylint: disable=import-outside-toplevel
  from compare_ssgan.benchmarks import input_pipeline
  return input_pipeline.run_input_benchmark(
      batch_size, num_batches, warmup_batches, folder_images, folder_size, folder_resolution,
      pipelines or input_pipeline.PIPELINES, out)


def main(fv, args):
  del args
  run(fv.batch_size, fv.num_batches, fv.warmup_batches, fv.folder_images, fv.folder_size,
      fv.folder_resolution, fv.pipelines)


COMMAND = command.Command("benchmark-input", __doc__, define_flags, main)
