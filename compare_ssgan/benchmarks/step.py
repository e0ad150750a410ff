"""Training-step benchmark (`compare_ssgan benchmark`): s per G step, images/s, FLOP model.

Each variant builds the GAN of the config (plus the variant's bindings) on the default
strategy, feeds `gan.train_loop(iterator, 1)` a plain iterator over one in-memory random
batch (no download, no input cost), runs `--warmup` steps after the first call (which
traces, compiles and runs one full step, so it warms up every kernel; default 0 extra) and
reports the median of `--steps` timed calls. One "step" is one G step: `disc_iters` D
updates and one G update, `batch_size * (disc_iters + 1)` real images.

Default variants: reference, fast, fast_xla, bf16_xla and uncond, plus plain bf16 where the
hardware has native bf16 arithmetic (a GPU, or a CPU with avx512_bf16 or AMX) and fp16 on
GPUs; the header names what was left out and why (on a CPU without native bf16 the non-XLA
bf16 graph hits slow emulated kernels).

Variants (the default config's bindings, then these):
  reference  compare_gan's literal graph: zero-insertion unpool then conv, conv then avgpool,
             D fed every row, batch norm as its chain of moments and element-wise ops;
             fp32, no XLA
  fast       fused resampling convs + pruned D rows + fused batch norm (the defaults), fp32
  fast_xla   fast + `ModularGAN.jit_compile = True`
  bf16       fast + `ModularGAN.mixed_precision = "mixed_bfloat16"`
  bf16_xla   bf16 + XLA
  fp16       fast + "mixed_float16" (dynamic loss scaling)
  uncond     fast with `SSGAN.self_supervision = "none"` (Uncond-GAN at the same batch)

FLOP model: `compare_ssgan.gans.flops`.

The output ends with machine-readable lines for the configuration:
    sec_per_step X            fastest fp32 fast path (fast or fast_xla)
    images_per_s X            real images per second at that speed
    reference_sec_per_step X
    bf16_sec_per_step X       fastest of bf16 / bf16_xla
"""

import gc
import os
import statistics
import time

import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.gans import flops

DEFAULT_BINDINGS = [
    'dataset.name = "builtin_32"',
    "options.gan_class = @SSGAN",
    'options.architecture = "resnet_cifar_arch"',
    "options.batch_size = 64",
    "options.training_steps = 100000",
    "options.disc_iters = 2",
    "options.z_dim = 128",
    "options.lamba = 1",
    "G.batch_norm_fn = @batch_norm",
    "D.spectral_norm = True",
    "SSGAN.rotated_batch_size = 64",
    "loss.fn = @non_saturating",
    "penalty.fn = @no_penalty",
    "tf.train.AdamOptimizer.beta1 = 0.0",
    "tf.train.AdamOptimizer.beta2 = 0.9",
]

VARIANTS = {
    "reference": ["resnet_ops.fused_upsample_conv = False",
                  "resnet_ops.fused_downsample_conv = False",
                  "ModularGAN.prune_discriminator_rows = False",
                  "standardize_batch.fused = False"],
    "fast": [],
    "fast_xla": ["ModularGAN.jit_compile = True"],
    "bf16": ['ModularGAN.mixed_precision = "mixed_bfloat16"'],
    "bf16_xla": ['ModularGAN.mixed_precision = "mixed_bfloat16"', "ModularGAN.jit_compile = True"],
    "fp16": ['ModularGAN.mixed_precision = "mixed_float16"'],
    "uncond": ['SSGAN.self_supervision = "none"'],
}


def _load():
  try:
    return "load average %.2f %.2f %.2f" % os.getloadavg()
  except OSError:
    return "load average ?"


def cpu_info(path="/proc/cpuinfo"):
  """(model name, set of CPU flags) of the first CPU; ("unknown CPU", set()) elsewhere."""
  model, cpu_flags = "unknown CPU", set()
  try:
    with open(path) as f:
      for line in f:
        if line.startswith("model name") and model == "unknown CPU":
          model = line.split(":", 1)[1].strip()
        elif line.startswith("flags") and not cpu_flags:
          cpu_flags = set(line.split(":", 1)[1].split())
  except OSError:
    pass
  return model, cpu_flags


NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def default_variants(cpu_flags, num_gpus):
  """(variants, {left-out variant: why}) that fit the machine: plain bf16 only with native
  bf16 arithmetic (GPU, avx512_bf16, AMX), fp16 only on GPUs."""
  variants = ["reference", "fast", "fast_xla"]
  skipped = {}
  if num_gpus or set(NATIVE_BF16_FLAGS) & set(cpu_flags):
    variants.append("bf16")
  else:
    skipped["bf16"] = ("no native bf16 arithmetic (no GPU, no avx512_bf16/AMX): its "
                       "emulated kernels are slow; bf16_xla is timed instead")
  variants.append("bf16_xla")
  if num_gpus:
    variants.append("fp16")
  else:
    skipped["fp16"] = "no GPU: CPUs have no fast fp16 convolutions"
  variants.append("uncond")
  return variants, skipped


def _hardware(model, cpu_flags, num_gpus):
  """One line on what decides reduced-precision speed."""
  wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_fp16")
  have = [f for f in wanted if f in cpu_flags] or ["(flags unknown)"]
  return (f"{model}; {' '.join(have)}; TF_ENABLE_ONEDNN_OPTS="
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}; {num_gpus} GPU(s)")


class _Data:
  """What a GAN needs of a dataset: resolution and num_classes (no images are read)."""

  def __init__(self, name, resolution, num_classes):
    self.name, self.resolution, self.num_classes = name, resolution, num_classes


def _dataset_info(resolution_override):
  from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
  from compare_ssgan.datasets import dataset_shape  # pylint: disable=import-outside-toplevel
  name = gin_utils.query("dataset.name", None) or "builtin_32"
  resolution, classes = dataset_shape(name)
  resolution = resolution_override or resolution
  if resolution is None:
    raise errors.ConfigError(f"no resolution known for dataset {name!r}: pass --resolution")
  return _Data(name, resolution, classes or 0)


def _build(configs, bindings, resolution):
  from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
  # pylint: disable-next=import-outside-toplevel
  from compare_ssgan.options import options as get_options
  gin_utils.parse(configs, bindings)
  opts = get_options()
  data = _dataset_info(resolution)
  gan = opts["gan_class"](dataset=data, options=opts).build()
  return gan


def _iterator(gan):
  res = gan.dataset.resolution
  images = tf.random.stateless_uniform([gan.batch_size, res, res, 3], [1, 2])
  labels = tf.zeros([gan.batch_size], tf.int32)
  return iter(tf.data.Dataset.from_tensors({"images": images, "labels": labels}).repeat())


# Bindings that change the speed of a graph but not its multiply-adds.
_SAME_FLOPS = ("ModularGAN.jit_compile", "ModularGAN.mixed_precision", "standardize_batch.fused")


def _cached_step_flops(gan, bindings, cache):
  """The FLOP model, computed once per graph shape within one benchmark run (`cache`)."""
  key = tuple(b for b in bindings if not b.replace(" ", "").startswith(_SAME_FLOPS))
  key += (gan.dataset.resolution,)
  if key not in cache:
    cache[key] = flops.step_flops(gan, flops.model_macs(gan))
  return cache[key]


def time_variant(configs, bindings, warmup, steps, resolution=None, flop_cache=None):
  """Builds, traces and times one configuration; returns a dict of results."""
  import keras  # pylint: disable=import-outside-toplevel
  keras.backend.clear_session()
  gc.collect()
  gan = _build(configs, bindings, resolution)
  it = _iterator(gan)
  t1 = time.time()
  gan.train_loop(it, 1)
  first = time.time() - t1
  for _ in range(warmup):
    gan.train_loop(it, 1)
  times = []
  for _ in range(steps):
    t = time.time()
    gan.train_loop(it, 1)
    times.append(time.time() - t)
  sec = statistics.median(times)
  step_flops = _cached_step_flops(gan, list(configs) + list(bindings),
                                  {} if flop_cache is None else flop_cache)
  images = gan.batch_size * gan.num_sub_steps
  result = dict(sec=sec, min=min(times), max=max(times), images_per_s=images / sec,
                gflop=step_flops / 1e9, gflops=step_flops / 1e9 / sec, first=first,
                rows=gan.discriminator_rows())
  return result


def _fmt(name, r):
  return (f"{name:<10} {r['sec']:8.3f} s/step  (min {r['min']:.3f}, max {r['max']:.3f})  "
          f"{r['images_per_s']:7.1f} img/s  model {r['gflop']:7.1f} GFLOP/step  "
          f"{r['gflops']:6.1f} GFLOP/s  D rows (D upd, G upd) {r['rows']}  "
          f"first call {r['first']:.1f} s")


def inception_rate(handle=None, batch=16, batches=3):
  """Images/s of an Inception forward pass at 299x299."""
  import keras  # pylint: disable=import-outside-toplevel
  x = tf.random.uniform([batch, 299, 299, 3])
  if handle:
    from compare_ssgan import metrics  # pylint: disable=import-outside-toplevel
    classifier = metrics.inception_classifier(handle=handle)
    label = f"TF-Hub Inception at {handle} (includes the 32->299 resize)"
    x = tf.random.uniform([batch, 32, 32, 3])
    run = lambda: classifier(x.numpy())  # noqa: E731
  else:
    keras.backend.clear_session()
    model = keras.applications.InceptionV3(weights=None, include_top=True, classes=1008,
                                           input_shape=(299, 299, 3))
    fn = tf.function(lambda t: model(t, training=False))
    label = ("STAND-IN: keras.applications.InceptionV3(weights=None, classes=1008), the "
             "architecture of the 2015-12-05 Inception graph; not the TF-Hub module")
    run = lambda: fn(x).numpy()  # noqa: E731
  run()
  t = time.time()
  for _ in range(batches):
    run()
  return batch * batches / (time.time() - t), label


def input_pipeline_rate(batch_size, batches=30):
  from compare_ssgan.datasets import get_dataset  # pylint: disable=import-outside-toplevel
  ds = get_dataset()
  it = iter(ds.input_fn("train", batch_size))
  for _ in range(3):
    next(it)
  t = time.time()
  for _ in range(batches):
    next(it)["images"].numpy()
  return batch_size * batches / (time.time() - t), ds.name


SCALING = [
    ("batch 32", ["options.batch_size = 32", "SSGAN.rotated_batch_size = 32"]),
    ("batch 128", ["options.batch_size = 128", "SSGAN.rotated_batch_size = 128"]),
    ("rotated 16", ["SSGAN.rotated_batch_size = 16"]),
    ("rotated 128", ["SSGAN.rotated_batch_size = 128"]),
    ("rotated 256", ["SSGAN.rotated_batch_size = 256"]),
    ("res 16", ["__resolution 16"]),
    ("res 64", ["__resolution 64"]),
]


def _summary_lines(results):
  """Ratios between the variants timed, then the machine-readable lines."""
  lines = []
  if "reference" in results and "fast" in results:
    lines.append("speed-up fast / reference (fp32): "
                 f"{results['reference']['sec'] / results['fast']['sec']:.2f}x")
  fp32 = [results[k] for k in ("fast", "fast_xla") if k in results]
  bf16 = [results[k] for k in ("bf16", "bf16_xla") if k in results]
  best32 = min(fp32, key=lambda r: r["sec"]) if fp32 else None
  best16 = min(bf16, key=lambda r: r["sec"]) if bf16 else None
  if best32 and best16:
    lines.append(f"speed-up bf16 / fp32 fast (best of each): "
                 f"{best32['sec'] / best16['sec']:.2f}x")
  if "uncond" in results and "fast" in results:
    t_ratio = results["fast"]["sec"] / results["uncond"]["sec"]
    f_ratio = results["fast"]["gflop"] / results["uncond"]["gflop"]
    lines.append(f"SS-GAN / Uncond-GAN: step time {t_ratio:.3f}x, FLOP model {f_ratio:.3f}x, "
                 f"time ratio / FLOP ratio {t_ratio / f_ratio:.3f}")
  machine = []
  if best32:
    machine += [f"sec_per_step {best32['sec']:.4f}",
                f"images_per_s {best32['images_per_s']:.2f}"]
  if "reference" in results:
    machine.append(f"reference_sec_per_step {results['reference']['sec']:.4f}")
  if best16:
    machine.append(f"bf16_sec_per_step {best16['sec']:.4f}")
  return lines, machine


def _extra_rates(configs, base, inception, inception_handle, input_pipeline, out):
  if inception:
    try:
      rate, label = inception_rate(inception_handle)
      out(f"inception_forward {rate:.1f} images/s  [{label}]")
    except Exception as e:  # pylint: disable=broad-except
      out(f"inception_forward skipped: {type(e).__name__}: {str(e).splitlines()[0]}")
  if input_pipeline:
    try:
      from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
      gin_utils.parse(configs, base)
      batch = gin_utils.query("options.batch_size", 64)
      rate, name = input_pipeline_rate(batch)
      out(f"input_pipeline {rate:.1f} images/s  [{name}.input_fn('train', {batch})]")
    except Exception as e:  # pylint: disable=broad-except
      out(f"input_pipeline skipped: {type(e).__name__}: {str(e).splitlines()[0]}")


def run_benchmark(configs=(), bindings=(), variants=None, warmup=0, steps=3, resolution=None,
                  scaling=False, inception=True, inception_handle=None,
                  input_pipeline=True, out=print):
  """Times the variants (default: `default_variants` for this machine) and prints the
  report through `out`; returns {variant: result dict}."""
  start = time.time()
  configs = list(configs)
  base = ([] if configs else DEFAULT_BINDINGS) + list(bindings)
  model, cpu_flags = cpu_info()
  num_gpus = len(tf.config.list_physical_devices("GPU"))
  skipped = {}
  if variants is None:
    variants, skipped = default_variants(cpu_flags, num_gpus)
  unknown = [v for v in variants if v not in VARIANTS]
  if unknown:
    raise errors.ConfigError(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
  out(f"# compare_ssgan benchmark: {configs or 'default CIFAR-10 SS-GAN'} {list(bindings)}")
  out(f"# {os.cpu_count()} CPUs, {_load()}; {warmup} warm-up + {steps} timed steps per "
      "variant, median")
  out(f"# {_hardware(model, cpu_flags, num_gpus)}")
  for name, why in skipped.items():
    out(f"# left out {name}: {why}")
  results, flop_cache = {}, {}
  for name in variants:
    results[name] = time_variant(configs, base + VARIANTS[name], warmup, steps, resolution,
                                 flop_cache)
    out(_fmt(name, results[name]))
  ratios, machine = _summary_lines(results)
  for line in ratios:
    out(line)
  if scaling:
    out(f"# scaling (fast fp32 path; {warmup} warm-up + {steps} timed steps each)")
    for label, extra in SCALING:
      res = resolution
      if extra and extra[0].startswith("__resolution"):
        res, extra = int(extra[0].split()[1]), []
      out(_fmt(label, time_variant(configs, base + extra, warmup, steps, res, flop_cache)))
  handle = inception_handle or os.environ.get("COMPARE_SSGAN_INCEPTION")
  _extra_rates(configs, base, inception, handle, input_pipeline, out)
  out(f"# total {time.time() - start:.0f} s, {_load()}")
  for line in machine:
    out(line)
  return results
