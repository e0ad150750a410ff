"""Normalisation layers under compare_gan's gin names.

`standardize_batch` is the shared core (no scale, no offset): batch moments in training,
moving averages or "accumulators" at inference, optionally over all replicas. The public
gin references `@batch_norm`, `@self_modulated_batch_norm` (sBN), `@conditional_batch_norm`
and `@no_batch_norm` are *layer factories*: an architecture calls
`batch_norm_fn(name=..., use_sn=...)` once per normalisation site and then calls the layer
as `bn(x, z=z, y=y, training=...)`.

Keras 3 layers cannot carry `@gin.configurable` (it crashes at instantiation), so gin
configures the factory functions and the layers stay plain.
"""

import inspect

import gin
import keras
import tensorflow as tf

from compare_ssgan.ops import inventory
from compare_ssgan.ops.layers import Linear


@gin.configurable("standardize_batch")
def standardize_batch_settings(decay=0.999, epsilon=1e-3, use_moving_averages=True,
                               use_cross_replica_mean=None, fused=True):
  """compare_gan's `standardize_batch.*` (defaults are compare_gan's).

  `use_cross_replica_mean=None` pools over all replicas whenever there are several (see
  `_use_cross_replica`); False keeps per-replica moments. `fused` (our addition, True by
  default) computes training-mode normalisation with one fused kernel (`fused_standardize`),
  the same math; False gives compare_gan's literal op chain (the benchmark's reference)."""
  return dict(decay=float(decay), epsilon=float(epsilon),
              use_moving_averages=bool(use_moving_averages),
              use_cross_replica_mean=use_cross_replica_mean, fused=bool(fused))


def _use_cross_replica(setting):
  """None (the default): pool the moments whenever the step runs on more than one replica.

  compare_gan's None meant "on TPU", the only multi-replica platform it trained on (its
  GPU path was one device); any tf.distribute strategy with several replicas is that case
  here, so a run's batch statistics do not depend on the replica count."""
  if setting is not None:
    return bool(setting)
  ctx = tf.distribute.get_replica_context()
  return ctx is not None and ctx.num_replicas_in_sync > 1


def batch_moments(x, axes, cross_replica):
  """Biased mean and variance over `axes`, optionally pooled over all replicas.

  The pooled variance is mean_r(var_r + (mean_r - mean)^2), exact for equal shards, so a
  2-replica step matches a 1-replica step up to rounding.
  """
  x32 = tf.cast(x, tf.float32)
  mean = tf.reduce_mean(x32, axis=axes)
  variance = tf.reduce_mean(tf.square(x32 - mean), axis=axes)
  ctx = tf.distribute.get_replica_context()
  if cross_replica and ctx is not None and ctx.num_replicas_in_sync > 1:
    global_mean = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, mean)
    variance = ctx.all_reduce(tf.distribute.ReduceOp.MEAN,
                              variance + tf.square(mean - global_mean))
    mean = global_mean
  return mean, variance


def fused_standardize(x, scale, offset, epsilon):
  """(x - mean) / sqrt(var + eps) * scale + offset with batch moments, in one fused op.

  The same function as `batch_moments` followed by compare_gan's standardisation, scale and
  shift (biased variance inside the square root), computed by TF's FusedBatchNorm kernel
  (oneDNN on CPU), whose backward is one kernel too: the unfused chain of reductions and
  element-wise ops ran G's batch norm + ReLU ~4x slower (docs/benchmarks.md). The kernel
  returns the Bessel-corrected variance; it is scaled back to the biased variance that
  compare_gan's moving averages use. Returns (y, mean, biased variance); no gradient flows
  through the returned moments (they feed only the moving averages).
  """
  y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
      x, scale, offset, epsilon=epsilon, is_training=True)[:3]
  n = 1
  for d in x.shape[:-1]:
    n *= int(d)
  return y, tf.stop_gradient(mean), tf.stop_gradient(variance * ((n - 1) / n))


class StandardizeBatch(keras.layers.Layer):
  """(x - mean) / sqrt(var + eps) over all axes but the last; the caller may pass a
  per-channel scale and offset (BatchNorm's gamma and beta) so that the fused training
  kernel (`fused=True`) applies them in the same pass.

  State (all non-trainable):
    * moving averages `moving_mean`, `moving_variance` (decay `decay`, no debiasing),
      aggregated by MEAN across replicas; or, with `use_moving_averages=False`,
    * accumulators `accu_mean`, `accu_variance`, `accu_counter` and the switch
      `update_accus` (compare_gan's BigGAN "standing statistics"): at inference with
      `update_accus == 1` each call adds its batch moments; inference uses their average.
  """

  def __init__(self, decay=0.999, epsilon=1e-3, use_moving_averages=True,
               use_cross_replica_mean=None, fused=False, **kwargs):
    super().__init__(**kwargs)
    self.decay = float(decay)
    self.epsilon = float(epsilon)
    self.use_moving_averages = bool(use_moving_averages)
    self.use_cross_replica_mean = use_cross_replica_mean
    self.fused = bool(fused)

  def build(self, input_shape):
    inventory.record(self)
    c = int(input_shape[-1])
    kw = dict(trainable=False, autocast=False, aggregation="mean")
    if self.use_moving_averages:
      self.moving_mean = self.add_weight(name="moving_mean", shape=(c,), initializer="zeros", **kw)
      self.moving_variance = self.add_weight(name="moving_variance", shape=(c,),
                                             initializer="ones", **kw)
    else:
      self.accu_mean = self.add_weight(name="accu_mean", shape=(c,), initializer="zeros", **kw)
      self.accu_variance = self.add_weight(name="accu_variance", shape=(c,),
                                           initializer="zeros", **kw)
      counter_kw = dict(kw, aggregation="only_first_replica")
      self.accu_counter = self.add_weight(
          name="accu_counter", shape=(), initializer=keras.initializers.Constant(1e-12),
          **counter_kw)
      self.update_accus = self.add_weight(name="update_accus", shape=(), dtype="int32",
                                          initializer="zeros", **counter_kw)

  def call(self, x, training=False, scale=None, offset=None):
    """Standardised x, then `* scale + offset` (per-channel vectors) when given."""
    if training and self._can_fuse(x):
      c = x.shape[-1]
      scale = tf.ones([c], x.dtype) if scale is None else tf.cast(scale, x.dtype)
      offset = tf.zeros([c], x.dtype) if offset is None else tf.cast(offset, x.dtype)
      y, mean, variance = fused_standardize(x, scale, offset, self.epsilon)
      self._update_moving_averages(mean, variance)
      return y
    y = self._standardize(x, training)
    if scale is not None:
      y = y * tf.cast(scale, y.dtype)
    if offset is not None:
      y = y + tf.cast(offset, y.dtype)
    return y

  def _can_fuse(self, x):
    """The fused kernel: float32 NHWC maps of more than one value per channel, moments of
    this replica only (it cannot pool them over replicas)."""
    n = 1
    for d in x.shape[:-1]:
      n = n * d if d is not None and n is not None else None
    return (self.fused and x.dtype == tf.float32 and len(x.shape) == 4 and n is not None
            and n > 1 and not _use_cross_replica(self.use_cross_replica_mean))

  def _update_moving_averages(self, mean, variance):
    if self.use_moving_averages:
      d = self.decay
      self.moving_mean.assign(d * self.moving_mean + (1.0 - d) * mean)
      self.moving_variance.assign(d * self.moving_variance + (1.0 - d) * variance)

  def _standardize(self, x, training):
    axes = list(range(len(x.shape) - 1))
    if training:
      mean, variance = batch_moments(x, axes, _use_cross_replica(self.use_cross_replica_mean))
      self._update_moving_averages(mean, variance)
    elif self.use_moving_averages:
      mean, variance = tf.convert_to_tensor(self.moving_mean), tf.convert_to_tensor(
          self.moving_variance)
    else:
      mean, variance = self._accumulated_moments(x, axes)
    inv = tf.math.rsqrt(variance + self.epsilon)
    return (x - tf.cast(mean, x.dtype)) * tf.cast(inv, x.dtype)

  def _accumulated_moments(self, x, axes):
    """Inference with accumulators, as compare_gan's `_accumulated_moments_for_inference`."""
    def accumulate():
      mean, variance = batch_moments(x, axes, _use_cross_replica(self.use_cross_replica_mean))
      self.accu_mean.assign_add(mean)
      self.accu_variance.assign_add(variance)
      self.accu_counter.assign_add(1.0)
      return tf.identity(self.accu_mean), tf.identity(self.accu_variance), tf.identity(
          self.accu_counter)

    def read():
      return (tf.identity(self.accu_mean), tf.identity(self.accu_variance),
              tf.identity(self.accu_counter))

    accu_mean, accu_var, counter = tf.cond(tf.equal(self.update_accus, 1), accumulate, read)
    return accu_mean / counter, accu_var / counter


def _standardize(name):
  s = standardize_batch_settings()
  return StandardizeBatch(name=name, **s)


class BatchNorm(keras.layers.Layer):
  """standardize_batch, then gamma (init 1) and beta (init 0) per channel."""

  def __init__(self, center=True, scale=True, **kwargs):
    super().__init__(**kwargs)
    self.center, self.scale = bool(center), bool(scale)
    self.standardize = _standardize("standardize")

  def build(self, input_shape):
    c = int(input_shape[-1])
    self.gamma = self.add_weight(name="gamma", shape=(c,), initializer="ones") \
        if self.scale else None
    self.beta = self.add_weight(name="beta", shape=(c,), initializer="zeros") \
        if self.center else None

  def call(self, x, z=None, y=None, training=False):
    """gamma and beta go into the standardisation so the fused kernel applies them too."""
    del z, y
    return self.standardize(x, training=training, scale=self.gamma, offset=self.beta)


def _modulate(x, gamma, beta):
  shape = [-1] + [1] * (len(x.shape) - 2) + [x.shape[-1]]
  return x * tf.reshape(tf.cast(gamma, x.dtype), shape) + tf.reshape(tf.cast(beta, x.dtype),
                                                                       shape)


class SelfModulatedBatchNorm(keras.layers.Layer):
  """sBN (Chen et al. 2019): gamma, beta = f(z). hidden = ReLU(linear(z, 32)).

  gamma's linear layer starts with bias 1 so the layer starts as plain standardisation.
  """

  def __init__(self, num_hidden=32, use_sn=False, **kwargs):
    super().__init__(**kwargs)
    self.num_hidden = int(num_hidden)
    self.use_sn = bool(use_sn)
    self.standardize = _standardize("standardize")
    self.hidden = Linear(self.num_hidden, use_sn=use_sn, name="hidden") \
        if self.num_hidden > 0 else None

  def build(self, input_shape):
    c = int(input_shape[-1])
    self.gamma_fc = Linear(c, use_sn=self.use_sn, bias_start=1.0, name="gamma")
    self.beta_fc = Linear(c, use_sn=self.use_sn, name="beta")

  def call(self, x, z=None, y=None, training=False):
    del y
    if z is None:
      raise ValueError("self_modulated_batch_norm needs z.")
    x = self.standardize(x, training=training)
    h = z
    if self.hidden is not None:
      h = tf.nn.relu(self.hidden(z, training=training))
    return _modulate(x, self.gamma_fc(h, training=training), self.beta_fc(h, training=training))


class ConditionalBatchNorm(keras.layers.Layer):
  """cBN: gamma = yW_g, beta = yW_b (y one-hot), faithful to compare_gan.

  compare_gan has no `+1` on gamma, so the layer starts with gamma ~ 0 (their issue #54).
  `gamma_plus_one=True` uses gamma = 1 + yW_g instead (the usual BigGAN form).
  """

  def __init__(self, use_sn=False, use_bias=False, gamma_plus_one=False, **kwargs):
    super().__init__(**kwargs)
    self.use_sn, self.use_bias = bool(use_sn), bool(use_bias)
    self.gamma_plus_one = bool(gamma_plus_one)
    self.standardize = _standardize("standardize")

  def build(self, input_shape):
    c = int(input_shape[-1])
    self.gamma_fc = Linear(c, use_sn=self.use_sn, use_bias=self.use_bias, name="gamma")
    self.beta_fc = Linear(c, use_sn=self.use_sn, use_bias=self.use_bias, name="beta")

  def call(self, x, z=None, y=None, training=False):
    del z
    if y is None:
      raise ValueError("conditional_batch_norm needs labels y (set ModularGAN.conditional).")
    x = self.standardize(x, training=training)
    y = tf.cast(y, tf.float32)
    gamma = self.gamma_fc(y, training=training)
    if self.gamma_plus_one:
      gamma = gamma + 1.0
    return _modulate(x, gamma, self.beta_fc(y, training=training))


class LayerNorm(keras.layers.Layer):
  """tf.contrib.layers.layer_norm defaults: over all non-batch axes, gamma/beta per channel."""

  def __init__(self, epsilon=1e-12, **kwargs):
    super().__init__(**kwargs)
    self.epsilon = float(epsilon)

  def build(self, input_shape):
    c = int(input_shape[-1])
    self.gamma = self.add_weight(name="gamma", shape=(c,), initializer="ones")
    self.beta = self.add_weight(name="beta", shape=(c,), initializer="zeros")

  def call(self, x, training=False):
    del training
    axes = list(range(1, len(x.shape)))
    mean, variance = tf.nn.moments(tf.cast(x, tf.float32), axes, keepdims=True)
    x = (x - tf.cast(mean, x.dtype)) * tf.cast(tf.math.rsqrt(variance + self.epsilon), x.dtype)
    return x * tf.cast(self.gamma, x.dtype) + tf.cast(self.beta, x.dtype)


class Identity(keras.layers.Layer):
  """What `@no_batch_norm` returns: the input unchanged."""

  def call(self, x, z=None, y=None, training=False):
    del z, y, training
    return x


# --- gin-visible factories ------------------------------------------------------------

# The factories expose compare_gan's gin parameters only: its `batch_norm` blacklists
# name/center/scale, sBN allows num_hidden, cBN use_bias (gamma_plus_one is our addition).
@gin.configurable("batch_norm", denylist=["name", "center", "scale"])
def batch_norm(name="batch_norm", center=True, scale=True):
  return BatchNorm(center=center, scale=scale, name=name)


@gin.configurable("self_modulated_batch_norm", denylist=["name", "use_sn"])
def self_modulated_batch_norm(name="sbn", use_sn=False, num_hidden=32):
  return SelfModulatedBatchNorm(num_hidden=num_hidden, use_sn=use_sn, name=name)


@gin.configurable("conditional_batch_norm", denylist=["name", "use_sn"])
def conditional_batch_norm(name="cbn", use_sn=False, use_bias=False, gamma_plus_one=False):
  return ConditionalBatchNorm(use_sn=use_sn, use_bias=use_bias,
                              gamma_plus_one=gamma_plus_one, name=name)


@gin.configurable("no_batch_norm", denylist=["name"])
def no_batch_norm(name="no_batch_norm"):
  return Identity(name=name)


def call_with_accepted_args(fn, **kwargs):
  """Calls `fn` with the subset of `kwargs` it accepts (compare_gan's utility)."""
  params = inspect.signature(fn).parameters
  if any(p.kind == p.VAR_KEYWORD for p in params.values()):
    return fn(**kwargs)
  return fn(**{k: v for k, v in kwargs.items() if k in params})


def make_norm(batch_norm_fn, name, use_sn=False):
  """An architecture's normalisation site: a layer, or Identity when no BN is configured."""
  if batch_norm_fn is None:
    return Identity(name=name)
  return call_with_accepted_args(batch_norm_fn, name=name, use_sn=use_sn)
