"""ModularGAN: the GAN training step of compare_gan, on any `tf.distribute` strategy.

One G step (what `global_step` counts) = `disc_iters` D updates, each on a fresh batch of
reals and fresh z, then one G update on its own fresh batch and z: compare_gan's TPU
("unrolled") schedule, which also defines its GPU step counts. All randomness is stateless
and keyed by (options.seed, global_step, purpose, global example index), see random.py.

Per replica, losses are means over the replica's rows; Keras 3 optimizers SUM gradients
over replicas, so each replica's loss is divided by the replica count to train on the mean
over the global batch, exactly as one replica holding the whole batch.

Speed (WORKSPACE_NOTES.md "Performance"), all exact rewrites of compare_gan's step:
  * `prune_discriminator_rows` (default True): when D has no batch-dependent layer (no batch
    norm; layer norm and SN are per example or per weight) a D row influences only its own
    outputs, so the G update feeds D the fakes alone (reals do not enter G's loss) and
    SSGAN's D update leaves out the rotated fakes (they enter no D loss term). SN's power
    iteration is a function of the weights and `u` only, never of the rows, and is shared
    by every D call of an update, so `u` advances exactly as on the unpruned path.
  * `mixed_precision`: None (float32), "mixed_bfloat16" or "mixed_float16". The Keras policy
    is set only while the networks are built; variables, SN vectors, BN statistics,
    optimizer slots, losses and D's logits stay float32 (float16 adds dynamic loss scaling
    through `keras.optimizers.LossScaleOptimizer`).
  * `jit_compile`: XLA for the per-replica step (measured slower on CPU, see the notes).
"""

import gin
import keras
import numpy as np
import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan import random as rng
from compare_ssgan.architectures import build_architecture
from compare_ssgan.gans import loss_lib, penalty_lib
from compare_ssgan.ops import inventory
from compare_ssgan.ops.layers import shared_power_iteration
from compare_ssgan.ops.normalization import StandardizeBatch
from compare_ssgan.options import options as get_options


@gin.configurable("AdamOptimizer", module="tf.train")
def adam_optimizer(learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8, name="Adam"):
  """`tf.train.AdamOptimizer` as compare_gan configs name it, with TF1's defaults.

  TF1's epsilon was 1e-8 (Keras' default is 1e-7).
  """
  return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta1, beta_2=beta2,
                               epsilon=epsilon, name=name)


MIXED_PRECISION = (None, "float32", "mixed_bfloat16", "mixed_float16")


def _check_false(**flags):
  for name, value in flags.items():
    if value:
      raise errors.ConfigError(f"ModularGAN.{name}=True is not supported by compare_ssgan "
                       "(see WORKSPACE_NOTES.md).")


@gin.configurable("ModularGAN", denylist=["dataset", "strategy", "options"])
class ModularGAN:
  """Unconditional or conditional GAN with compare_gan's knobs (gin `ModularGAN.*`)."""

  def __init__(self, dataset, strategy=None, options=None,
               deprecated_split_disc_calls=False,
               experimental_joint_gen_for_disc=False,
               experimental_force_graph_unroll=False,
               g_use_ema=False, ema_decay=0.9999, ema_start_step=40000,
               g_optimizer_fn=adam_optimizer, d_optimizer_fn=None,
               g_lr=0.0002, d_lr=None,
               conditional=False, fit_label_distribution=False,
               jit_compile=False, mixed_precision=None, prune_discriminator_rows=True):
    _check_false(deprecated_split_disc_calls=deprecated_split_disc_calls,
                 experimental_joint_gen_for_disc=experimental_joint_gen_for_disc)
    del experimental_force_graph_unroll  # we always unroll, like compare_gan on TPU
    self.dataset = dataset
    self.strategy = strategy or tf.distribute.get_strategy()
    self.options = dict(options) if options is not None else get_options()
    self.num_replicas = int(self.strategy.num_replicas_in_sync)
    self.batch_size = self.options["batch_size"]
    if self.batch_size % self.num_replicas:
      raise errors.ConfigError(f"options.batch_size={self.batch_size} does not split over "
                       f"{self.num_replicas} replicas")
    self.per_replica_batch = self.batch_size // self.num_replicas
    self.disc_iters = self.options["disc_iters"]
    if self.disc_iters < 1:
      raise errors.ConfigError(f"options.disc_iters must be >= 1, got {self.disc_iters}")
    self.z_dim = self.options["z_dim"]
    self.seed = self.options["seed"]
    self.lamba = self.options["lamba"]
    self.g_use_ema = bool(g_use_ema)
    self.ema_decay = float(ema_decay)
    self.ema_start_step = int(ema_start_step)
    self.g_optimizer_fn = g_optimizer_fn
    self.d_optimizer_fn = d_optimizer_fn or g_optimizer_fn
    self.g_lr = float(g_lr)
    self.d_lr = float(d_lr) if d_lr is not None else self.g_lr
    self.conditional = bool(conditional)
    self.fit_label_distribution = bool(fit_label_distribution)
    self.jit_compile = bool(jit_compile)
    if mixed_precision not in MIXED_PRECISION:
      raise errors.ConfigError(f"ModularGAN.mixed_precision must be one of {MIXED_PRECISION}, "
                       f"got {mixed_precision!r}")
    self.mixed_precision = mixed_precision
    self.prune_discriminator_rows = bool(prune_discriminator_rows)
    self.loss_fn = loss_lib.loss_fn()
    self.penalty_fn = penalty_lib.penalty_fn()
    self.num_classes = int(getattr(dataset, "num_classes", 0) or 0) if self.conditional else 0
    if self.conditional and self.num_classes < 2:
      raise errors.ConfigError("ModularGAN.conditional=True needs a dataset with class labels, "
                       f"{getattr(dataset, 'name', dataset)!r} has none")
    self.generator = self.discriminator = self.rotation_head = self.generator_ema = None
    self._train_loop_fn = None
    # The runner's stop request (a bool tf.Variable it sets on SIGINT/SIGTERM); set it before
    # the first train_loop call, which traces the loop. None: the loop never checks.
    self.stop_flag = None

  # --- construction --------------------------------------------------------------------

  @property
  def num_sub_steps(self):
    return self.disc_iters + 1

  def build(self):
    """Creates models, optimizers (built) and counters inside the strategy's scope.

    Initial weights are a function of `options.seed`, so two runs of a config start equal.
    """
    keras.utils.set_random_seed(self.seed)
    with self.strategy.scope():
      previous_policy = keras.config.dtype_policy()
      # Layers take the global policy when constructed; restore it for everybody else.
      keras.config.set_dtype_policy(self.mixed_precision or "float32")
      try:
        self.generator, self.discriminator = build_architecture(
            self.options["architecture"], self.dataset.resolution, colors=3,
            z_dim=self.z_dim, num_classes=self.num_classes)
        self.rotation_head = self._build_rotation_head()
        if self.g_use_ema:
          self.generator_ema, _ = build_architecture(
              self.options["architecture"], self.dataset.resolution, colors=3,
              z_dim=self.z_dim, num_classes=self.num_classes, parts=("G",))
          for ema_var, var in zip(self.generator_ema.variables, self.generator.variables):
            ema_var.assign(var)
      finally:
        keras.config.set_dtype_policy(previous_policy)
      self.g_optimizer = self.g_optimizer_fn(learning_rate=self.g_lr)
      self.d_optimizer = self.d_optimizer_fn(learning_rate=self.d_lr)
      if self.mixed_precision == "mixed_float16":
        self.g_optimizer = keras.optimizers.LossScaleOptimizer(self.g_optimizer)
        self.d_optimizer = keras.optimizers.LossScaleOptimizer(self.d_optimizer)
      self.g_optimizer.build(self.g_variables)
      self.d_optimizer.build(self.d_variables)
      counter = dict(dtype=tf.int64, trainable=False,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
      self.global_step = tf.Variable(0, name="global_step", **counter)
      self.disc_step = tf.Variable(0, name="global_step_disc", **counter)
    self._check_variables()
    replica_step = self._replica_step
    if self.jit_compile:
      replica_step = tf.function(replica_step, jit_compile=True)
    self._replica_step_fn = replica_step
    self._train_loop_fn = tf.function(self._train_loop)
    return self

  def _build_rotation_head(self):
    return None

  @property
  def discriminator_is_per_example(self):
    """True when no D layer mixes rows (no batch norm), so rows can be left out exactly."""
    return not inventory.built_layers(self.discriminator, StandardizeBatch)

  @property
  def prune_rows(self):
    return self.prune_discriminator_rows and self.discriminator_is_per_example

  def discriminator_rows(self):
    """(rows D sees per replica in a D update, in a G update): reals and fakes in both
    (compare_gan), or the fakes alone in the G update when rows are pruned."""
    bs = self.per_replica_batch
    return (2 * bs, bs) if self.prune_rows else (2 * bs, 2 * bs)
  @property
  def g_variables(self):
    return list(self.generator.trainable_variables)

  @property
  def d_variables(self):
    head = list(self.rotation_head.trainable_variables) if self.rotation_head else []
    return list(self.discriminator.trainable_variables) + head

  def _check_variables(self):
    g_ids = {id(v) for v in self.g_variables}
    shared = [v.path for v in self.d_variables if id(v) in g_ids]
    if shared:
      raise ValueError(f"variables shared by G and D: {shared}")

  def apply_configured_learning_rates(self):
    """Keras optimizers checkpoint their learning rate: re-apply gin's after a restore."""
    self.g_optimizer.learning_rate.assign(self.g_lr)
    self.d_optimizer.learning_rate.assign(self.d_lr)

  # --- randomness ----------------------------------------------------------------------

  def _z(self, step, purpose, sub=0):
    z = rng.sample_z([self.batch_size, self.z_dim], rng.key(self.seed, step, purpose, sub))
    return rng.replica_slice(z, self.per_replica_batch)

  def _sampled_y(self, step, purpose, sub, real_y):
    if not self.conditional:
      return None
    if self.fit_label_distribution:
      return real_y
    labels = tf.random.stateless_uniform([self.batch_size], rng.key(self.seed, step, purpose,
                                                                   sub),
                                         minval=0, maxval=self.num_classes, dtype=tf.int32)
    labels = rng.replica_slice(labels, self.per_replica_batch)
    return tf.one_hot(labels, self.num_classes)

  def _unpack(self, batch):
    images = tf.convert_to_tensor(batch["images"])
    if images.shape[0] is not None and images.shape[0] != self.per_replica_batch:
      raise ValueError(f"a replica got a batch of {images.shape[0]} images, expected "
                       f"options.batch_size / replicas = {self.per_replica_batch}")
    y = None
    if self.conditional:
      y = tf.one_hot(tf.cast(batch["labels"], tf.int32), self.num_classes)
    return images, y

  # --- losses --------------------------------------------------------------------------

  def call_discriminator(self, images, y):
    """D in training mode with float32 outputs: (probs, logits, features).

    Under mixed precision D computes in bf16/fp16; the losses see float32 logits and
    probabilities recomputed from them (the same sigmoid D applies)."""
    probs, logits, features = self.discriminator(images, y, training=True)
    if logits.dtype != tf.float32:
      logits = tf.cast(logits, tf.float32)
      probs = tf.nn.sigmoid(logits)
    return probs, logits, features

  def call_generator(self, z, y):
    """G in training mode; float32 images whatever the compute dtype."""
    return tf.cast(self.generator(z, y, training=True), tf.float32)

  def create_loss(self, images, y, fake, y_fake, penalty_seed=None, compute_penalty=True):
    """compare_gan's ModularGAN.create_loss: one D call on [reals, fakes]."""
    all_images = tf.concat([images, fake], axis=0)
    all_y = tf.concat([y, y_fake], axis=0) if self.conditional else None
    probs, logits, _ = self.call_discriminator(all_images, all_y)
    d_real, d_fake = tf.split(probs, 2, axis=0)
    d_real_logits, d_fake_logits = tf.split(logits, 2, axis=0)
    return self._gan_losses(d_real, d_fake, d_real_logits, d_fake_logits, images, y, fake,
                            penalty_seed, compute_penalty)

  def _gan_losses(self, d_real, d_fake, d_real_logits, d_fake_logits, images, y, fake,
                  penalty_seed, compute_penalty):
    d_loss, d_loss_real, d_loss_fake, g_loss = loss_lib.get_losses(
        self.loss_fn, d_real=d_real, d_fake=d_fake, d_real_logits=d_real_logits, d_fake_logits=d_fake_logits)
    penalty = tf.constant(0.0)
    if compute_penalty:
      penalty = tf.cast(penalty_lib.get_penalty_loss(
          self.penalty_fn, discriminator=self.discriminator, rotation_head=self.rotation_head,
          x=images, x_fake=fake, y=y, seed=penalty_seed), tf.float32)
    d_loss = d_loss + self.lamba * penalty
    return {"d_loss": d_loss, "g_loss": g_loss, "penalty": penalty,
            "d_loss_real": d_loss_real, "d_loss_fake": d_loss_fake}

  # --- the step ------------------------------------------------------------------------

  def d_metric_keys(self):
    return ("d_loss", "penalty", "d_loss_real", "d_loss_fake")

  def g_metric_keys(self):
    return ("g_loss",)

  def metric_keys(self):
    return self.d_metric_keys() + self.g_metric_keys()

  def d_update_loss(self, images, y, fake, y_fake, penalty_seed):
    """The losses of a D update (all of `create_loss`'s D terms). Subclasses prune rows."""
    return self.create_loss(images, y, fake, y_fake, penalty_seed=penalty_seed)

  def g_update_loss(self, images, y, fake, y_fake):
    """The losses of a G update: at least `g_metric_keys()`.

    With `prune_rows`, D sees the fakes only: every loss_lib G loss reads only D's fake
    outputs, and without batch norm in D a real row cannot change a fake row's output.
    """
    if not self.prune_rows:
      return self.create_loss(images, y, fake, y_fake, compute_penalty=False)
    _, logits, _ = self.call_discriminator(fake, y_fake)
    return {"g_loss": self._g_loss_from_fake_logits(logits)}

  def _g_loss_from_fake_logits(self, fake_logits):
    # The real-row arguments only feed the D terms, which are discarded here.
    probs = tf.nn.sigmoid(fake_logits)
    _, _, _, g_loss = loss_lib.get_losses(self.loss_fn, d_real=probs, d_fake=probs,
                                          d_real_logits=fake_logits, d_fake_logits=fake_logits)
    return g_loss

  def _scale_loss(self, loss, optimizer):
    loss = loss / self.num_replicas
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
      loss = optimizer.scale_loss(loss)
    return loss

  def d_gradients(self, batch, step, sub):
    """(losses, gradients of this replica's share of the D loss) for D sub-step `sub`.

    Under mixed_float16 the gradients carry the optimizer's loss scale (its
    `apply_gradients` removes it)."""
    images, y = self._unpack(batch)
    y_fake = self._sampled_y(step, rng.LABELS_D, sub, y)
    fake = tf.stop_gradient(self.call_generator(self._z(step, rng.Z_D, sub), y_fake))
    # D's main and penalty calls share one SN power iteration (compare_gan's graph).
    with shared_power_iteration(self.discriminator, self.rotation_head), \
        tf.GradientTape() as tape:
      losses = self.d_update_loss(images, y, fake, y_fake,
                                  penalty_seed=rng.key(self.seed, step, rng.PENALTY, sub))
      scaled = self._scale_loss(losses["d_loss"], self.d_optimizer)
    return losses, tape.gradient(scaled, self.d_variables)

  def g_gradients(self, batch, step):
    """(losses, gradients of this replica's share of the G loss) for the G update.

    With `prune_rows` the losses hold the G terms only (`g_metric_keys()`)."""
    images, y = self._unpack(batch)
    y_fake = self._sampled_y(step, rng.LABELS_G, 0, y)
    z = self._z(step, rng.Z_G)
    with tf.GradientTape() as tape:
      fake = self.call_generator(z, y_fake)
      losses = self.g_update_loss(images, y, fake, y_fake)
      scaled = self._scale_loss(losses["g_loss"], self.g_optimizer)
    return losses, tape.gradient(scaled, self.g_variables)

  def _d_update(self, batch, step, sub):
    losses, grads = self.d_gradients(batch, step, sub)
    self.d_optimizer.apply_gradients(zip(grads, self.d_variables))
    return {k: losses[k] for k in self.d_metric_keys()}

  def _g_update(self, batch, step):
    losses, grads = self.g_gradients(batch, step)
    self.g_optimizer.apply_gradients(zip(grads, self.g_variables))
    return {k: losses[k] for k in self.g_metric_keys()}

  def _update_ema(self, step):
    decay = tf.where(step >= self.ema_start_step, self.ema_decay, 0.0)
    for ema_var, var in zip(self.generator_ema.trainable_variables,
                            self.generator.trainable_variables):
      ema_var.assign(decay * ema_var + (1.0 - decay) * var)

  def _replica_step(self, batches, step):
    """One G step on one replica: disc_iters D updates, then one G update.

    G's weights change only at the end, so all its calls share one SN power iteration
    from the `u` stored at the step's start, as in compare_gan's unrolled graph (which
    runs every G forward pass of the step before the D updates)."""
    metrics = {}
    with shared_power_iteration(self.generator):
      for sub in range(self.disc_iters):
        metrics.update(self._d_update(batches[sub], step, sub))
      metrics.update(self._g_update(batches[self.disc_iters], step))
    if self.generator_ema is not None:
      self._update_ema(step)
    return {k: tf.cast(v, tf.float32) for k, v in metrics.items()}

  def _train_loop(self, iterator, num_steps):
    metrics = {k: tf.constant(0.0) for k in self.metric_keys()}
    for _ in tf.range(num_steps):
      if self._stop_requested():
        break
      batches = tuple(next(iterator) for _ in range(self.num_sub_steps))
      step = self.global_step.read_value()
      per_replica = self.strategy.run(self._replica_step_fn, args=(batches, step))
      metrics = {k: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica[k], axis=None)
                 for k in self.metric_keys()}
      self.global_step.assign_add(1)
      self.disc_step.assign_add(self.disc_iters)
    return metrics

  def _stop_requested(self):
    """Read before each G step, so a stop request ends a host call of thousands of steps
    after the step in progress (a Python signal handler would wait for the whole call).
    Steps are whole: the check comes before a step's first batch is drawn. Without a flag
    this is a Python False and the traced loop is unchanged."""
    return False if self.stop_flag is None else self.stop_flag.read_value()

  def train_loop(self, iterator, num_steps):
    """Runs `num_steps` G steps in one host call; returns the last step's metrics.

    `iterator` yields per-replica batches (a distributed iterator, or a plain tf.data
    iterator on the default strategy); each G step consumes `disc_iters + 1` batches.
    """
    if self._train_loop_fn is None:
      raise RuntimeError("call build() before train_loop()")
    out = self._train_loop_fn(iterator, tf.constant(int(num_steps), tf.int64))
    return {k: float(v) for k, v in out.items()}

  # --- evaluation helpers (contract in WORKSPACE_NOTES.md) -----------------------------

  def generate(self, z, y=None, use_ema=True):
    """Images in [0, 1] in inference mode; EMA weights when present and `use_ema`."""
    gen = self.generator
    if use_ema and self.generator_ema is not None:
      gen = self.generator_ema
      # BN moving averages and SN vectors follow the raw G; accumulators are the EMA
      # generator's own (filled by update_bn_accumulators).
      for ema_var, var in zip(self.generator_ema.non_trainable_variables,
                              self.generator.non_trainable_variables):
        if "accu" not in var.path:
          ema_var.assign(var)
    return tf.cast(gen(tf.convert_to_tensor(z), y, training=False), tf.float32)

  def sample_eval_z(self, num, seed):
    return rng.sample_eval_z([int(num), self.z_dim], rng.key(seed, 0, rng.EVAL_Z)).numpy()

  def sample_labels(self, num, seed):
    if not self.conditional:
      return np.zeros([int(num)], np.int32)
    return tf.random.stateless_uniform([int(num)], rng.key(seed, 0, rng.EVAL_LABELS), minval=0,
                                       maxval=self.num_classes, dtype=tf.int32).numpy()

  def one_hot(self, labels):
    return tf.one_hot(labels, self.num_classes) if self.conditional else None

  def _accumulator_layers(self, model):
    return [l for l in inventory.built_layers(model, StandardizeBatch)
            if not l.use_moving_averages]

  def has_bn_accumulators(self):
    return bool(self._accumulator_layers(self.generator))

  def update_bn_accumulators(self, num_samples, batch_size=64, seed=0):
    """compare_gan's standing statistics: fill G's accumulators with `num_samples` fakes."""
    gens = [self.generator] + ([self.generator_ema] if self.generator_ema is not None else [])
    for gen in gens:
      layers = self._accumulator_layers(gen)
      for layer in layers:
        layer.accu_mean.assign(tf.zeros_like(layer.accu_mean))
        layer.accu_variance.assign(tf.zeros_like(layer.accu_variance))
        layer.accu_counter.assign(0.0)
        layer.update_accus.assign(1)
      for i in range(int(np.ceil(num_samples / batch_size))):
        z = self.sample_eval_z(batch_size, seed + 1000003 * (i + 1))
        y = self.one_hot(self.sample_labels(batch_size, seed + i))
        gen(tf.convert_to_tensor(z), y, training=False)
      for layer in layers:
        layer.update_accus.assign(0)

