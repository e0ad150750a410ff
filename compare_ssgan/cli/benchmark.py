"""Time training steps: s per G step, images/s and a FLOP model, per variant.

    compare_ssgan benchmark                       # CIFAR-10 SS-GAN (resnet_cifar, batch 64)
    compare_ssgan benchmark --gin_config demo_cpu --gin_bindings 'options.batch_size = 16'
    compare_ssgan benchmark --variants fast,bf16,fp16 --warmup 3 --steps 5
    compare_ssgan benchmark --scaling             # + batch / rotated_batch_size / resolution

Variants: reference (compare_gan's literal graph), fast (the defaults: fused resampling
convolutions, pruned D rows), fast_xla, bf16, bf16_xla, fp16, uncond (Uncond-GAN at the same
batch). The default set fits the machine (plain bf16 only with native bf16 arithmetic, fp16
only on GPUs; the header says what was left out). Each variant's median of --steps timed
steps after the first (tracing) call; no data is read. The output ends with machine-readable
lines `sec_per_step`, `images_per_s`, `reference_sec_per_step`, `bf16_sec_per_step`.
"""

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_multi_string("gin_config", [], "Gin config(s) (default: CIFAR-10 SS-GAN).",
                            flag_values=fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=fv)
  flags.DEFINE_list("variants", None, "Variants to time (default: those that fit the "
                    "machine).", flag_values=fv)
  flags.DEFINE_integer("warmup", 0, "Untimed steps after the first (tracing) call.",
                       flag_values=fv)
  flags.DEFINE_integer("steps", 3, "Timed steps (median reported).", flag_values=fv)
  flags.DEFINE_integer("resolution", None, "Override the dataset's resolution.",
                       flag_values=fv)
  flags.DEFINE_boolean("scaling", False, "Also time the fast path at other batch sizes, "
                       "rotated_batch_size values and resolutions.", flag_values=fv)
  flags.DEFINE_boolean("inception", True, "Time an Inception-v3-sized forward pass.",
                       flag_values=fv)
  flags.DEFINE_string("inception_handle", None, "A local TF-Hub Inception module to time "
                      "(default: $COMPARE_SSGAN_INCEPTION, else a stand-in).", flag_values=fv)
  flags.DEFINE_boolean("input_pipeline", True, "Time the dataset's input_fn.", flag_values=fv)


def run(gin_configs=(), gin_bindings=(), variants=None, warmup=0, steps=3, resolution=None,
        scaling=False, inception=True, inception_handle=None, input_pipeline=True, out=print):
  """Runs the benchmark, printing through `out`; returns {variant: result dict}."""
  from compare_ssgan.benchmarks import step  # pylint: disable=import-outside-toplevel
  return step.run_benchmark(gin_configs, gin_bindings, variants, warmup, steps, resolution,
                            scaling, inception, inception_handle, input_pipeline, out=out)


def main(fv, args):
  del args
  run(fv.gin_config, fv.gin_bindings, fv.variants, fv.warmup, fv.steps, fv.resolution,
      fv.scaling, fv.inception, fv.inception_handle, fv.input_pipeline,
      out=lambda line: print(line, flush=True))


COMMAND = command.Command("benchmark", __doc__, define_flags, main)
