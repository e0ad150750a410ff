"""Weight initialisers, spectral normalisation and the basic weight layers.

Mirrors compare_gan's `arch_ops.py` (linear, conv2d, deconv2d, spectral_norm, weights
initialiser) as Keras 3 layers. Spectral normalisation is our own: Keras'
`SpectralNormalization` overwrites the kernel with W/sigma and lets no gradient through
sigma, which is not compare_gan's (or Miyato's) formulation.
"""

import contextlib
import threading

import gin
import keras
import tensorflow as tf

from compare_ssgan.ops import inventory


@gin.configurable("weights")
def weight_initializer(initializer="normal", stddev=0.02):
  """compare_gan's `weights.initializer`: "normal" (default), "truncated", "orthogonal".

  The weight layers pass stddev=0.02 (compare_gan's `linear`/`conv2d` default argument),
  so only `weights.initializer` is a working binding, as in compare_gan."""
  if initializer == "normal":
    return keras.initializers.RandomNormal(stddev=stddev)
  if initializer == "truncated":
    return keras.initializers.TruncatedNormal(stddev=stddev)
  if initializer == "orthogonal":
    return keras.initializers.Orthogonal(gain=1.0)
  raise ValueError(f"weights.initializer must be normal, truncated or orthogonal, "
                   f"got {initializer!r}")


@gin.configurable("spectral_norm")
def spectral_norm_settings(epsilon=1e-12, singular_value="left"):
  """compare_gan's `spectral_norm.*` bindings, read when a layer is built."""
  if singular_value not in ("left", "right", "auto"):
    raise ValueError(f"spectral_norm.singular_value must be left, right or auto, "
                     f"got {singular_value!r}")
  return dict(epsilon=float(epsilon), singular_value=singular_value)


def _l2_normalize(x, epsilon):
  # tf.math.l2_normalize(axis=None): x / sqrt(max(sum(x^2), epsilon)).
  return x * tf.math.rsqrt(tf.maximum(tf.reduce_sum(tf.square(x)), epsilon))


# Scopes opened by `shared_power_iteration`, per thread: MirroredStrategy traces each
# replica's step in its own thread, so one replica never sees another's cached vectors.
_SCOPES = threading.local()


def _active_scopes():
  if not hasattr(_SCOPES, "stack"):
    _SCOPES.stack = []
  return _SCOPES.stack


class _SharedIteration:
  """The power-iteration results (u, v) of one update, per normalizer."""

  def __init__(self, normalizers):
    self.members = {id(sn) for sn in normalizers}
    self.vectors = {}


def spectral_normalizers(*models):
  """Every SpectralNormalizer owned by a layer of `models` (None entries are skipped)."""
  found = []
  for model in models:
    if model is None:
      continue
    for layer in inventory.built_layers(model):
      sn = getattr(layer, "sn", None)
      if isinstance(sn, SpectralNormalizer):
        found.append(sn)
  return found


@contextlib.contextmanager
def shared_power_iteration(*models):
  """Within the block, every training call of an SN layer of `models` uses one iteration.

  The first training call runs the power iteration from the stored `u` and writes the new
  `u` once; later training calls reuse that (u, v), so sigma and W / sigma are bitwise the
  same in every call (each call still computes sigma from the kernel it reads, so gradients
  flow through sigma wherever the call sits inside a tape). This is compare_gan's unrolled
  TF1 graph, where all calls of one update read `u_var` with no ordering between them:
  D's main and penalty calls of one D update, G's calls of one G step.
  """
  scope = _SharedIteration(spectral_normalizers(*models))
  stack = _active_scopes()
  stack.append(scope)
  try:
    yield scope
  finally:
    stack.remove(scope)


class SpectralNormalizer:
  """Persistent power-iteration state for one kernel, shared by the layer that owns it.

  W is viewed as (kh*kw*cin, cout). `u` is a non-trainable variable ~ N(0, 1) of shape
  (rows, 1) ("left") or (1, cols) ("right"); "auto" picks the smaller side. Each training
  forward pass runs one power iteration and stores the new `u` (inside
  `shared_power_iteration`, once per block); gradients flow through sigma = u^T W v with
  u and v held constant (stop_gradient), exactly as compare_gan.
  """

  def __init__(self, layer, kernel_shape, name="u_var"):
    settings = spectral_norm_settings()
    self.epsilon = settings["epsilon"]
    rows = 1
    for d in kernel_shape[:-1]:
      rows *= int(d)
    cols = int(kernel_shape[-1])
    side = settings["singular_value"]
    if side == "auto":
      side = "left" if rows <= cols else "right"
    self.side = side
    u_shape = (rows, 1) if side == "left" else (1, cols)
    # u is a deterministic function of the (mirrored) kernel and of itself, so every
    # replica computes the same value: keep replica 0's, no all-reduce needed.
    self.u = layer.add_weight(name=name, shape=u_shape,
                              initializer=keras.initializers.RandomNormal(stddev=1.0),
                              trainable=False, aggregation="only_first_replica",
                              autocast=False)

  def power_iteration(self, w32):
    """One round from the stored u: (new u, v), both without gradient."""
    u = tf.convert_to_tensor(self.u)
    if self.side == "left":
      v = _l2_normalize(tf.matmul(w32, u, transpose_a=True), self.epsilon)
      u = _l2_normalize(tf.matmul(w32, v), self.epsilon)
    else:
      v = _l2_normalize(tf.matmul(u, w32, transpose_b=True), self.epsilon)
      u = _l2_normalize(tf.matmul(v, w32), self.epsilon)
    return tf.stop_gradient(u), tf.stop_gradient(v)

  def _vectors(self, w32, training):
    scope = next((s for s in reversed(_active_scopes()) if id(self) in s.members), None)
    if training and scope is not None and id(self) in scope.vectors:
      return scope.vectors[id(self)]
    u, v = self.power_iteration(w32)
    if training:
      self.u.assign(u)
      if scope is not None:
        scope.vectors[id(self)] = (u, v)
    return u, v

  def __call__(self, kernel, training):
    shape = tf.shape(kernel)
    w = tf.reshape(kernel, [-1, kernel.shape[-1]])
    w32 = tf.cast(w, tf.float32)
    u, v = self._vectors(w32, training)
    if self.side == "left":
      sigma = tf.matmul(tf.matmul(u, w32, transpose_a=True), v)
    else:
      sigma = tf.matmul(tf.matmul(v, w32), u, transpose_b=True)
    w_sn = w / tf.cast(tf.reshape(sigma, []), w.dtype)
    return tf.reshape(w_sn, shape)


class _WeightLayer(keras.layers.Layer):
  """Common build for layers with a kernel, an optional bias and optional SN."""

  def __init__(self, use_sn=False, use_bias=True, bias_start=0.0, kernel_initializer=None,
               **kwargs):
    super().__init__(**kwargs)
    self.use_sn = bool(use_sn)
    self.use_bias = bool(use_bias)
    self.bias_start = float(bias_start)
    # Read gin once at construction, so the operative config records `weights.*`.
    # stddev is passed explicitly, as compare_gan's linear/conv2d/deconv2d do: a gin
    # binding of `weights.stddev` never reaches a kernel there, and here it fails the
    # unused-binding check instead of silently training a different network.
    self._kernel_initializer = kernel_initializer or weight_initializer(stddev=0.02)

  def _make_weights(self, kernel_shape, bias_size):
    inventory.record(self)
    # autocast=False: under a mixed precision policy Keras would hand `call` the kernel
    # already rounded to the compute dtype; spectral norm must see the float32 master
    # weights, so the layer reads float32 and casts the normalised kernel itself.
    self.kernel = self.add_weight(name="kernel", shape=kernel_shape,
                                  initializer=self._kernel_initializer, autocast=False)
    self.bias = None
    if self.use_bias:
      self.bias = self.add_weight(name="bias", shape=(bias_size,),
                                  initializer=keras.initializers.Constant(self.bias_start),
                                  autocast=False)
    self.sn = SpectralNormalizer(self, kernel_shape) if self.use_sn else None

  def effective_kernel(self, training):
    """The (spectrally normalised) kernel in the compute dtype; SN runs in float32."""
    kernel = self.kernel.value if hasattr(self.kernel, "value") else self.kernel
    kernel = tf.convert_to_tensor(kernel)
    if self.sn is not None:
      kernel = self.sn(kernel, training)
    return tf.cast(kernel, self.compute_dtype)

  def _add_bias(self, x):
    if self.bias is None:
      return x
    return x + tf.cast(self.bias, x.dtype)


class Linear(_WeightLayer):
  """Dense layer (compare_gan `linear`): [B, ...] -> [B, units]; inputs are flattened."""

  def __init__(self, units, **kwargs):
    super().__init__(**kwargs)
    self.units = int(units)

  def build(self, input_shape):
    in_dim = 1
    for d in input_shape[1:]:
      in_dim *= int(d)
    self._make_weights((in_dim, self.units), self.units)

  def call(self, x, training=False):
    x = tf.reshape(x, [tf.shape(x)[0], -1])
    return self._add_bias(tf.matmul(x, self.effective_kernel(training)))


class Conv2D(_WeightLayer):
  """Convolution with SAME padding (compare_gan `conv2d`): NHWC -> NHWC."""

  def __init__(self, filters, kernel_size=3, strides=1, **kwargs):
    super().__init__(**kwargs)
    self.filters = int(filters)
    self.kernel_size = int(kernel_size)
    self.strides = int(strides)

  def build(self, input_shape):
    k = self.kernel_size
    self._make_weights((k, k, int(input_shape[-1]), self.filters), self.filters)

  def call(self, x, training=False, resample=None):
    """`resample=None`: conv(x). `"up"`: conv(unpool(x)) computed without the zeros (four
    small convs, one per output phase, + depth_to_space, see `upsample_conv`). `"down"`:
    avg_pool2x2(conv(x)) as one stride-2 4x4 conv (see `downsample_kernel`). Both fused
    forms equal the reference up to fp32 rounding, for the kernel's value and its gradient,
    SN included (SN acts on the 3x3 kernel first, the fusion is a fixed linear map of the
    normalised kernel)."""
    kernel = self.effective_kernel(training)
    if resample is None:
      y = tf.nn.conv2d(x, kernel, strides=self.strides, padding="SAME")
    elif resample == "up":
      self._check_fusable()
      y = upsample_conv(x, kernel)
    elif resample == "down":
      self._check_fusable()
      if x.shape[1] % 2 or x.shape[2] % 2:
        raise ValueError(f"fused downsampling needs even H and W, got {x.shape}")
      y = tf.nn.conv2d(x, downsample_kernel(kernel), strides=2, padding="SAME")
    else:
      raise ValueError(f"resample must be None, 'up' or 'down', got {resample!r}")
    return self._add_bias(y)

  def _check_fusable(self):
    if self.kernel_size != 3 or self.strides != 1:
      raise ValueError("fused resampling is defined for 3x3 stride-1 convolutions, got "
                       f"{self.kernel_size}x{self.kernel_size} stride {self.strides}")


def upsample_conv(x, kernel):
  """conv2d(unpool(x), kernel, SAME) for a 3x3 kernel, without the zeros.

  unpool puts x[a, b] at (2a, 2b), so output pixel (2a + p, 2b + q) reads only real inputs:
  along each axis, phase 0 reads x[a] through kernel tap 1; phase 1 reads x[a] through tap 0
  and x[a + 1] through tap 2. The four phases are four small SAME convs on x (1x1, 1x2, 2x1
  and 2x2 kernels of the 3x3 kernel's taps; TF pads an even kernel's extra row/column after,
  where the zero-inserted map has its zeros), interleaved by depth_to_space. Exactly the 9
  nonzero taps: 1/4 of the reference's multiply-adds, no 4x zero-inserted tensor, only
  stride-1 convs in both directions of autodiff. It measured faster than one 2x2 conv to
  all four phases (7 of its 16 taps zero) and than a stride-2 conv2d_transpose (figures
  with their hardware in docs/benchmarks.md).
  """
  k = kernel
  phase00 = tf.nn.conv2d(x, k[1:2, 1:2], strides=1, padding="SAME")
  phase01 = tf.nn.conv2d(x, tf.stack([k[1, 0], k[1, 2]])[None], strides=1, padding="SAME")
  phase10 = tf.nn.conv2d(x, tf.stack([k[0, 1], k[2, 1]])[:, None], strides=1, padding="SAME")
  phase11 = tf.nn.conv2d(x, tf.stack([tf.stack([k[0, 0], k[0, 2]]),
                                      tf.stack([k[2, 0], k[2, 2]])]), strides=1, padding="SAME")
  # depth_to_space(block 2) reads channel block p * 2 + q into output pixel (2a + p, 2b + q).
  return tf.nn.depth_to_space(tf.concat([phase00, phase01, phase10, phase11], axis=-1), 2)


def downsample_kernel(kernel):
  """The 4x4 kernel K with conv2d(x, K, stride 2, SAME) == avg_pool2x2(conv2d(x, kernel,
  SAME)) for a 3x3 kernel and even H, W: the mean of the 3x3 kernel placed at the four
  offsets of the 2x2 pooling window. 16/36 of the reference's multiply-adds.
  """
  k = tf.pad(kernel, [[0, 1], [0, 1], [0, 0], [0, 0]])
  shifted_rows = tf.pad(kernel, [[1, 0], [0, 1], [0, 0], [0, 0]])
  shifted_cols = tf.pad(kernel, [[0, 1], [1, 0], [0, 0], [0, 0]])
  shifted_both = tf.pad(kernel, [[1, 0], [1, 0], [0, 0], [0, 0]])
  return 0.25 * (k + shifted_rows + shifted_cols + shifted_both)


class Deconv2D(_WeightLayer):
  """Transposed convolution, stride 2 by default (compare_gan `deconv2d`).

  The kernel has compare_gan's conv2d_transpose layout (k, k, cout, cin), so spectral
  norm sees the same (k*k*cout, cin) matrix compare_gan normalises.
  """

  def __init__(self, filters, kernel_size=4, strides=2, **kwargs):
    super().__init__(**kwargs)
    self.filters = int(filters)
    self.kernel_size = int(kernel_size)
    self.strides = int(strides)

  def build(self, input_shape):
    k = self.kernel_size
    # compare_gan: kernel shape [k, k, output_dim, input_dim] (conv2d_transpose layout).
    self._make_weights((k, k, self.filters, int(input_shape[-1])), self.filters)

  def call(self, x, training=False):
    b, h, w = tf.shape(x)[0], x.shape[1], x.shape[2]
    out_shape = [b, h * self.strides, w * self.strides, self.filters]
    y = tf.nn.conv2d_transpose(x, self.effective_kernel(training), out_shape,
                               strides=self.strides, padding="SAME")
    return self._add_bias(y)


def lrelu(x, leak=0.2):
  return tf.maximum(x, leak * x)


def unpool(x):
  """compare_gan's zero-insertion 2x upsampling: each value at the top-left of its 2x2.

  [[1,2],[3,4]] -> [[1,0,2,0],[0,0,0,0],[3,0,4,0],[0,0,0,0]]; NOT nearest-neighbour.
  """
  h, w, c = x.shape[1], x.shape[2], x.shape[3]
  zeros = tf.zeros_like(x)
  x = tf.stack([x, zeros], axis=3)            # [B, H, W, 2, C] along width
  x = tf.reshape(x, [-1, h, 2 * w, c])
  zeros = tf.zeros_like(x)
  x = tf.stack([x, zeros], axis=2)            # [B, H, 2, 2W, C] along height
  return tf.reshape(x, [-1, 2 * h, 2 * w, c])


def avg_pool2x2(x):
  return tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="SAME")
