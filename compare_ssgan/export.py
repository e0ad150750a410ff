"""SavedModels of a trained GAN that load without compare_ssgan (tools/export.py).

Two plain `tf.Module`s hold the variables (as a flat list: Keras 3 models do not expose
every variable to TF's object graph, see checkpointing.py) and `tf.function`s with an
`input_signature`, so `tf.saved_model.load(path)` and `tensorflow_hub.load(path)` work
with TensorFlow alone:

Generator (`<export_dir>/generator`), the EMA weights when the run has them, inference mode
(BN moving averages or filled accumulators, stored SN vectors):
    m = tf.saved_model.load(path)
    images = m(z)                      # or m(z, labels) for a conditional GAN
    images = m.signatures["default"](z=z)["images"]       # [B, H, W, 3] in [0, 1]
  z: float32 [None, z_dim] (training used U(-1, 1) unless gin `z.distribution_fn` said
  otherwise); labels: int32 [None] class ids, conditional GANs only.

Discriminator (`<export_dir>/discriminator`), including the rotation head (compare_gan's
export dropped it, their issue #39):
    out = m(images)                    # or m(images, labels) for a projection D
    out["probabilities"] [B, 1], out["logits"] [B, 1], out["features"] [B, F],
    out["rotation_logits"] [B, 4]  (SSGAN only: logits of 0/90/180/270 degrees)
  images: float32 [None, H, W, 3] in [0, 1].

Both modules carry scalar variables `z_dim`, `num_classes`, `resolution`, and
`assets.extra/compare_ssgan.json` records the run's facts (step, architecture, ...).
"""

import json
import os

import tensorflow as tf

METADATA_FILE = "compare_ssgan.json"


def _raw(variables):
  """tf.Variables behind Keras 3 variables (what the traced functions capture)."""
  return [getattr(v, "value", v) for v in variables]


def _int_var(value, name):
  return tf.Variable(int(value), trainable=False, dtype=tf.int32, name=name)


class GeneratorModule(tf.Module):
  """z [, labels] -> images in [0, 1]; see the module docstring."""

  def __init__(self, generator, z_dim, num_classes, resolution):
    super().__init__(name="generator")
    self.model_variables = _raw(generator.variables)
    self.z_dim = _int_var(z_dim, "z_dim")
    self.num_classes = _int_var(num_classes, "num_classes")
    self.resolution = _int_var(resolution, "resolution")
    z_spec = tf.TensorSpec([None, int(z_dim)], tf.float32, name="z")
    if num_classes:
      def generate(z, labels):
        y = tf.one_hot(labels, int(num_classes), dtype=tf.float32)
        return generator(z, y, training=False)
      self.__call__ = tf.function(
          generate, input_signature=[z_spec, tf.TensorSpec([None], tf.int32, name="labels")])

      def signature(z, labels):
        return {"images": self.__call__(z, labels)}
      sig_spec = [z_spec, tf.TensorSpec([None], tf.int32, name="labels")]
    else:
      def generate(z):
        return generator(z, None, training=False)
      self.__call__ = tf.function(generate, input_signature=[z_spec])

      def signature(z):
        return {"images": self.__call__(z)}
      sig_spec = [z_spec]
    self.signature = tf.function(signature, input_signature=sig_spec)


class DiscriminatorModule(tf.Module):
  """images [, labels] -> {probabilities, logits, features[, rotation_logits]}."""

  def __init__(self, discriminator, rotation_head, num_classes, resolution, conditional):
    super().__init__(name="discriminator")
    variables = list(discriminator.variables)
    if rotation_head is not None:
      variables += list(rotation_head.variables)
    self.model_variables = _raw(variables)
    self.num_classes = _int_var(num_classes, "num_classes")
    self.resolution = _int_var(resolution, "resolution")
    self.has_rotation_head = tf.Variable(rotation_head is not None, trainable=False,
                                         name="has_rotation_head")
    x_spec = tf.TensorSpec([None, int(resolution), int(resolution), 3], tf.float32,
                           name="images")

    def outputs(images, y):
      probs, logits, features = discriminator(images, y, training=False)
      out = {"probabilities": probs, "logits": logits, "features": features}
      if rotation_head is not None:
        out["rotation_logits"] = rotation_head(features, training=False)
      return out

    if conditional:
      def discriminate(images, labels):
        return outputs(images, tf.one_hot(labels, int(num_classes), dtype=tf.float32))
      specs = [x_spec, tf.TensorSpec([None], tf.int32, name="labels")]
    else:
      def discriminate(images):
        return outputs(images, None)
      specs = [x_spec]
    self.__call__ = tf.function(discriminate, input_signature=specs)


def _write_metadata(path, metadata):
  extra = os.path.join(path, "assets.extra")
  tf.io.gfile.makedirs(extra)
  with tf.io.gfile.GFile(os.path.join(extra, METADATA_FILE), "w") as f:
    json.dump(metadata, f, indent=1, sort_keys=True)


def export_generator(gan, path, use_ema=True, metadata=None):
  """Writes the generator SavedModel to `path`; returns the module (before saving).

  With `use_ema` and an EMA generator, the EMA weights are exported; their non-trainable
  state (BN statistics, SN vectors) is synced from the raw G first, as `gan.generate` does.
  Fill BN accumulators (`gan.update_bn_accumulators`) BEFORE calling this if G has them.
  """
  num_classes = int(getattr(gan, "num_classes", 0) or 0)
  gen = gan.generator
  if use_ema and gan.generator_ema is not None:
    gen = gan.generator_ema
    gan.generate(gan.sample_eval_z(1, 0), gan.one_hot(gan.sample_labels(1, 0)), use_ema=True)
  module = GeneratorModule(gen, gan.z_dim, num_classes, gan.dataset.resolution)
  sig = module.signature.get_concrete_function()
  tf.saved_model.save(module, path, signatures={"default": sig, "serving_default": sig,
                                                "generator": sig})
  _write_metadata(path, dict(metadata or {}, part="generator", z_dim=int(gan.z_dim),
                             num_classes=num_classes, resolution=int(gan.dataset.resolution),
                             ema=gen is gan.generator_ema))
  return module


def export_discriminator(gan, path, metadata=None):
  """Writes the discriminator (+ rotation head) SavedModel to `path`."""
  num_classes = int(getattr(gan, "num_classes", 0) or 0)
  conditional = bool(num_classes)  # labels whenever the GAN is conditional (projection D)
  module = DiscriminatorModule(gan.discriminator, gan.rotation_head, num_classes,
                               gan.dataset.resolution, conditional)
  sig = module.__call__.get_concrete_function()
  tf.saved_model.save(module, path, signatures={"default": sig, "serving_default": sig,
                                                "discriminator": sig})
  _write_metadata(path, dict(metadata or {}, part="discriminator",
                             num_classes=num_classes, resolution=int(gan.dataset.resolution),
                             conditional=conditional,
                             rotation_head=gan.rotation_head is not None))
  return module


def export_run(model_dir, step=None, export_dir=None, use_ema=True,
               bn_accumulator_samples=None, gin_configs=(), gin_bindings=()):
  """Restores a run's checkpoint, fills G's BN accumulators as the evaluation does and
  writes `<export_dir>/generator` and `<export_dir>/discriminator` (default
  `model_dir/export-<step>`); returns (gan, export_dir)."""
  # pylint: disable=import-outside-toplevel
  from compare_ssgan import options, runs
  from compare_ssgan.metrics import fill_bn_accumulators
  gan, dataset, step = runs.restore_gan(model_dir, step, gin_configs, gin_bindings)
  fill_bn_accumulators(gan, bn_accumulator_samples)
  export_dir = export_dir or os.path.join(model_dir, f"export-{step}")
  metadata = {"step": int(step),
              "model_dir": model_dir if "://" in model_dir else os.path.abspath(model_dir),
              "architecture": options.options()["architecture"], "dataset": dataset.name,
              "gan_class": type(gan).__name__}
  export_generator(gan, os.path.join(export_dir, "generator"), use_ema=use_ema,
                   metadata=metadata)
  export_discriminator(gan, os.path.join(export_dir, "discriminator"), metadata=metadata)
  return gan, export_dir
