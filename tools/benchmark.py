"""Training-step benchmark: seconds per G step, images/s, a FLOP model, Inception and input rates.

    python tools/benchmark.py                       # CIFAR-10 SS-GAN (resnet_cifar, batch 64)
    python tools/benchmark.py --gin_config demo_cpu --gin_bindings 'options.batch_size = 16'
    python tools/benchmark.py --variants fast,bf16,fp16 --warmup 3 --steps 5
    python tools/benchmark.py --scaling             # + batch / rotated_batch_size / resolution

Each variant builds the GAN of the config (plus the variant's bindings) on the default
strategy, feeds `gan.train_loop(iterator, 1)` a plain iterator over one in-memory random
batch (no download, no input cost), runs `--warmup` steps after the first call (which
traces, compiles and runs one full step, so it warms up every kernel; default 0 extra) and
reports the median of `--steps` timed calls. One "step" is one G step: `disc_iters` D
updates and one G update, `batch_size * (disc_iters + 1)` real images.

Defaults (reference, fast, fast_xla, bf16_xla, uncond; 3 timed steps after the first call)
take about 9 minutes on 2 AVX2 cores; `bf16` and `fp16` without XLA are opt-in: on a CPU
without native bf16/fp16 arithmetic their non-XLA graphs hit slow reduced-precision kernels
(bf16 conv backprop ran at 5 GFLOP/s here against 100-170 in fp32).

Variants (the default config's bindings, then these):
  reference  compare_gan's literal graph: zero-insertion unpool then conv, conv then avgpool,
             D fed every row; fp32, no XLA
  fast       fused resampling convs + pruned D rows (the defaults), fp32
  fast_xla   fast + `ModularGAN.jit_compile = True`
  bf16       fast + `ModularGAN.mixed_precision = "mixed_bfloat16"`
  bf16_xla   bf16 + XLA
  fp16       fast + "mixed_float16" (dynamic loss scaling)
  uncond     fast with `SSGAN.self_supervision = "none"` (Uncond-GAN at the same batch)

FLOP model: multiply-adds of every Conv2D / Conv2DBackpropInput (transposed conv) / MatMul
in G's and D's forward graphs, per image (traced at two batch sizes, so per-call SN matmuls
are separated out), as the variant computes them (fused up-convs cost 1/4, fused down-convs
4/9 of the reference's). A step = per D update G fwd (1x) on bs rows + D fwd+bwd (3x) on the D rows;
per G update G fwd+bwd (3x) on bs rows + D fwd + input-gradient (2x; D's weight gradients
are not computed) on the G rows. D rows (SS-GAN, n = rotated_batch_size / 4): compare_gan
2(bs + 3n) in both updates; pruned bs + 3n + bs (D update) and bs + 3n (G update).
FLOPs = 2 x MACs.

The output ends with machine-readable lines for the configuration:
    sec_per_step X            fastest fp32 fast path (fast or fast_xla)
    images_per_s X            real images per second at that speed
    reference_sec_per_step X
    bf16_sec_per_step X       fastest of bf16 / bf16_xla
"""

import gc
import os
import statistics
import sys
import time

from absl import flags

FLAGS = flags.FlagValues()
flags.DEFINE_multi_string("gin_config", [], "Gin config(s): a path or a name under gin_configs/.",
                          flag_values=FLAGS)
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.", flag_values=FLAGS)
flags.DEFINE_string("variants", "reference,fast,fast_xla,bf16_xla,uncond",
                    "Comma-separated variants to time.", flag_values=FLAGS)
flags.DEFINE_integer("warmup", 0, "Untimed steps after the first (tracing) call.",
                     flag_values=FLAGS)
flags.DEFINE_integer("steps", 3, "Timed steps (median reported).", flag_values=FLAGS)
flags.DEFINE_integer("resolution", None, "Override the dataset's resolution.", flag_values=FLAGS)
flags.DEFINE_boolean("scaling", False, "Also time the fast path at other batch sizes, "
                     "rotated_batch_size values and resolutions.", flag_values=FLAGS)
flags.DEFINE_boolean("inception", True, "Time an Inception-v3-sized forward pass.",
                     flag_values=FLAGS)
flags.DEFINE_string("inception_handle", None, "A local TF-Hub Inception module to time "
                    "instead of the stand-in (default: $COMPARE_SSGAN_INCEPTION if set).",
                    flag_values=FLAGS)
flags.DEFINE_boolean("input_pipeline", True, "Time the dataset's input_fn.", flag_values=FLAGS)

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
                  "ModularGAN.prune_discriminator_rows = False"],
    "fast": [],
    "fast_xla": ["ModularGAN.jit_compile = True"],
    "bf16": ['ModularGAN.mixed_precision = "mixed_bfloat16"'],
    "bf16_xla": ['ModularGAN.mixed_precision = "mixed_bfloat16"', "ModularGAN.jit_compile = True"],
    "fp16": ['ModularGAN.mixed_precision = "mixed_float16"'],
    "uncond": ['SSGAN.self_supervision = "none"'],
}


def _tf():
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return tf


def _load():
  try:
    return "load average %.2f %.2f %.2f" % os.getloadavg()
  except OSError:
    return "load average ?"


def _hardware():
  """One line on what decides reduced-precision speed: native bf16/fp16 CPU instructions,
  oneDNN, accelerators."""
  model, flags_ = "unknown CPU", set()
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name") and model == "unknown CPU":
          model = line.split(":", 1)[1].strip()
        elif line.startswith("flags"):
          flags_ = set(line.split(":", 1)[1].split())
  except OSError:
    pass
  wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_fp16")
  have = [f for f in wanted if f in flags_] or ["(flags unknown)"]
  gpus = len(_tf().config.list_physical_devices("GPU"))
  note = "" if gpus or {"avx512_bf16", "amx_bf16"} & flags_ else \
      "; no native bf16 arithmetic: bf16 convolutions are emulated, expect no bf16 speed-up"
  return (f"{model}; {' '.join(have)}; TF_ENABLE_ONEDNN_OPTS="
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}; {gpus} GPU(s){note}")


class _Data:
  """What a GAN needs of a dataset: resolution and num_classes (no images are read)."""

  def __init__(self, name, resolution, num_classes):
    self.name, self.resolution, self.num_classes = name, resolution, num_classes


def _dataset_info(resolution_override):
  from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
  name = gin_utils.query("dataset.name", None)
  resolution, classes = None, 0
  try:
    from compare_ssgan.datasets import get_dataset  # pylint: disable=import-outside-toplevel
    ds = get_dataset(name) if name else get_dataset()
    resolution, classes = int(ds.resolution), int(getattr(ds, "num_classes", 0) or 0)
  except Exception:  # pylint: disable=broad-except
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from model_summary import DATASET_TABLE  # pylint: disable=import-outside-toplevel
    resolution, classes = DATASET_TABLE.get(name, (None, 0))
  if resolution_override:
    resolution = resolution_override
  if resolution is None:
    raise SystemExit(f"no resolution for dataset {name!r}: pass --resolution")
  return _Data(name or "unknown", resolution, classes)


# --- FLOP model -------------------------------------------------------------------------

def _graph_macs(fn, *specs):
  """Multiply-adds of conv / transposed conv / matmul nodes in fn's graph."""
  tf = _tf()
  graph = tf.function(fn, autograph=False).get_concrete_function(*specs).graph
  total = 0
  for op in graph.get_operations():
    if op.type in ("Conv2D", "Conv2DBackpropInput", "MatMul", "BatchMatMulV2"):
      if op.type == "Conv2D":
        out = op.outputs[0].shape.as_list()
        kh, kw, cin, cout = op.inputs[1].shape.as_list()
        total += out[0] * out[1] * out[2] * kh * kw * cin * cout
      elif op.type == "Conv2DBackpropInput":   # conv2d_transpose: every input pixel x kernel
        kh, kw, cout, cin = op.inputs[1].shape.as_list()
        x = op.inputs[2].shape.as_list()
        total += x[0] * x[1] * x[2] * kh * kw * cin * cout
      else:
        a, b = op.inputs[0].shape.as_list(), op.inputs[1].shape.as_list()
        ta, tb = op.get_attr("transpose_a") if op.type == "MatMul" else False, \
            op.get_attr("transpose_b") if op.type == "MatMul" else False
        m = a[-1] if ta else a[-2]
        k = a[-2] if ta else a[-1]
        n = b[-2] if tb else b[-1]
        total += m * k * n
  return total


def _model_macs(gan):
  """{"G": (per_image, per_call), "D": (...)} forward multiply-adds; D includes the
  rotation head when there is one."""
  tf = _tf()
  res, zd = gan.dataset.resolution, gan.z_dim
  ny = gan.num_classes
  out = {}
  for name in ("G", "D"):
    counts = []
    for b in (2, 4):
      y = tf.TensorSpec([b, ny], tf.float32) if ny else None
      if name == "G":
        spec = tf.TensorSpec([b, zd], tf.float32)
        fn = lambda z, y=None: gan.generator(z, y, training=True)  # noqa: E731
      else:
        spec = tf.TensorSpec([b, res, res, 3], tf.float32)
        def fn(x, y=None):
          feats = gan.discriminator(x, y, training=True)
          if gan.rotation_head is not None:
            return gan.rotation_head(feats[2], training=True)
          return feats[1]
      counts.append(_graph_macs(fn, spec, y) if ny else _graph_macs(fn, spec))
    per_image = (counts[1] - counts[0]) / 2
    out[name] = (per_image, counts[0] - 2 * per_image)
  return out


def _rows(gan):
  bs = gan.per_replica_batch
  n = getattr(gan, "num_rotated", 0) if getattr(gan, "uses_rotation", False) else 0
  if gan.prune_rows:
    return bs + 3 * n + bs, bs + 3 * n
  return 2 * (bs + 3 * n), 2 * (bs + 3 * n)


def step_flops(gan, macs):
  """FLOPs of one G step of `gan` (see the module docstring)."""
  bs = gan.per_replica_batch
  d_rows, g_rows = _rows(gan)
  g_img, g_call = macs["G"]
  d_img, d_call = macs["D"]
  d_update = (g_img * bs + g_call) + 3 * (d_img * d_rows + d_call)
  g_update = 3 * (g_img * bs + g_call) + 2 * (d_img * g_rows + d_call)
  return 2.0 * (gan.disc_iters * d_update + g_update) * gan.num_replicas


# --- timing -----------------------------------------------------------------------------

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
  tf = _tf()
  res = gan.dataset.resolution
  images = tf.random.stateless_uniform([gan.batch_size, res, res, 3], [1, 2])
  labels = tf.zeros([gan.batch_size], tf.int32)
  return iter(tf.data.Dataset.from_tensors({"images": images, "labels": labels}).repeat())


# Bindings that change the speed of a graph but not its multiply-adds.
_SAME_FLOPS = ("ModularGAN.jit_compile", "ModularGAN.mixed_precision")
_flop_cache = {}


def _cached_step_flops(gan, bindings):
  key = tuple(b for b in bindings if not b.replace(" ", "").startswith(_SAME_FLOPS))
  key += (gan.dataset.resolution,)
  if key not in _flop_cache:
    _flop_cache[key] = step_flops(gan, _model_macs(gan))
  return _flop_cache[key]


def time_variant(configs, bindings, warmup, steps, resolution=None):
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
  flops = _cached_step_flops(gan, list(configs) + list(bindings))
  images = gan.batch_size * gan.num_sub_steps
  result = dict(sec=sec, min=min(times), max=max(times), images_per_s=images / sec,
                gflop=flops / 1e9, gflops=flops / 1e9 / sec, first=first, rows=_rows(gan))
  return result


def _fmt(name, r):
  return (f"{name:<10} {r['sec']:8.3f} s/step  (min {r['min']:.3f}, max {r['max']:.3f})  "
          f"{r['images_per_s']:7.1f} img/s  model {r['gflop']:7.1f} GFLOP/step  "
          f"{r['gflops']:6.1f} GFLOP/s  D rows (D upd, G upd) {r['rows']}  "
          f"first call {r['first']:.1f} s")


def inception_rate(handle=None, batch=16, batches=3):
  """Images/s of an Inception forward pass at 299x299."""
  tf = _tf()
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


def main(argv=None):
  argv = list(sys.argv if argv is None else argv)
  FLAGS.unparse_flags()
  try:
    FLAGS(argv)
  except flags.Error as e:
    print(f"{e}\n\n{__doc__}", file=sys.stderr)
    return 2
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import compare_ssgan  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
  # (before TensorFlow: the package turns oneDNN on unless TF_ENABLE_ONEDNN_OPTS is set)
  start = time.time()
  configs = list(FLAGS.gin_config)
  base = ([] if configs else DEFAULT_BINDINGS) + list(FLAGS.gin_bindings)
  variants = [v.strip() for v in FLAGS.variants.split(",") if v.strip()]
  unknown = [v for v in variants if v not in VARIANTS]
  if unknown:
    print(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}", file=sys.stderr)
    return 2
  print(f"# compare_ssgan benchmark: {configs or 'default CIFAR-10 SS-GAN'} "
        f"{FLAGS.gin_bindings or ''}")
  print(f"# {os.cpu_count()} CPUs, {_load()}; {FLAGS.warmup} warm-up + {FLAGS.steps} "
        "timed steps per variant, median")
  print(f"# {_hardware()}")
  results = {}
  for name in variants:
    r = time_variant(configs, base + VARIANTS[name], FLAGS.warmup, FLAGS.steps,
                     FLAGS.resolution)
    results[name] = r
    print(_fmt(name, r), flush=True)
  print(f"# {_load()}")

  if "reference" in results and "fast" in results:
    speedup = results["reference"]["sec"] / results["fast"]["sec"]
    print(f"speed-up fast / reference (fp32): {speedup:.2f}x")
  fp32 = [results[k] for k in ("fast", "fast_xla") if k in results]
  bf16 = [results[k] for k in ("bf16", "bf16_xla") if k in results]
  best32 = min(fp32, key=lambda r: r["sec"]) if fp32 else None
  best16 = min(bf16, key=lambda r: r["sec"]) if bf16 else None
  if best32 and best16:
    print(f"speed-up bf16 / fp32 fast (best of each): {best32['sec'] / best16['sec']:.2f}x")
  if "uncond" in results and "fast" in results:
    t_ratio = results["fast"]["sec"] / results["uncond"]["sec"]
    f_ratio = results["fast"]["gflop"] / results["uncond"]["gflop"]
    print(f"SS-GAN / Uncond-GAN: step time {t_ratio:.3f}x, FLOP model {f_ratio:.3f}x, "
          f"time ratio / FLOP ratio {t_ratio / f_ratio:.3f}")

  if FLAGS.scaling:
    print(f"# scaling (fast fp32 path; {FLAGS.warmup} warm-up + {FLAGS.steps} timed steps each)")
    for label, extra in SCALING:
      res = FLAGS.resolution
      if extra and extra[0].startswith("__resolution"):
        res, extra = int(extra[0].split()[1]), []
      r = time_variant(configs, base + extra, FLAGS.warmup, FLAGS.steps, res)
      print(_fmt(label, r), flush=True)

  if FLAGS.inception:
    handle = FLAGS.inception_handle or os.environ.get("COMPARE_SSGAN_INCEPTION")
    try:
      rate, label = inception_rate(handle)
      print(f"inception_forward {rate:.1f} images/s  [{label}]")
    except Exception as e:  # pylint: disable=broad-except
      print(f"inception_forward skipped: {type(e).__name__}: {str(e).splitlines()[0]}")
  if FLAGS.input_pipeline:
    try:
      from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
      gin_utils.parse(configs, base)
      batch = gin_utils.query("options.batch_size", 64)
      rate, name = input_pipeline_rate(batch)
      print(f"input_pipeline {rate:.1f} images/s  [{name}.input_fn('train', {batch})]")
    except Exception as e:  # pylint: disable=broad-except
      print(f"input_pipeline skipped: {type(e).__name__}: {str(e).splitlines()[0]}")
  print(f"# total {time.time() - start:.0f} s, {_load()}")
  if best32:
    print(f"sec_per_step {best32['sec']:.4f}")
    print(f"images_per_s {best32['images_per_s']:.2f}")
  if "reference" in results:
    print(f"reference_sec_per_step {results['reference']['sec']:.4f}")
  if best16:
    print(f"bf16_sec_per_step {best16['sec']:.4f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
