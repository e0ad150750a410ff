"""SSGAN: ModularGAN plus the auxiliary rotation loss (Chen et al., CVPR 2019).

Per replica, with n = rotated_batch_size / num_replicas / 4, the last n real and the last
n fake images are rotated by 90, 180 and 270 degrees, and ONE D call sees
`[reals, rotated reals, fakes, rotated fakes]` (2 * (bs + 3n) images):
  * the GAN loss uses the first bs rows of each half (the upright images);
  * the rotation cross-entropy uses the last 4n rows of each half;
  * d_loss = gan_d + lamba * penalty + beta * CE(real rotations)   (beta = 1.0)
  * g_loss = gan_g + alpha * CE(fake rotations)                    (alpha = 0.2)
D never learns rotations from fakes; G's rotation term goes through D's (fixed) head.
"""

import gin
import tensorflow as tf

from compare_ssgan import rotation
from compare_ssgan.architectures import discriminator_options
from compare_ssgan.gans.modular_gan import ModularGAN

SELF_SUPERVISION = ("rotation_gan", "rotation_only", "none")


@gin.configurable("SSGAN", denylist=["dataset", "strategy", "options"])
class SSGAN(ModularGAN):
  """Self-supervised GAN (gin `SSGAN.*`; `ModularGAN.*` bindings apply too)."""

  def __init__(self, dataset, strategy=None, options=None, self_supervision="rotation_gan",
               rotated_batch_size=gin.REQUIRED, weight_rotation_loss_d=1.0,
               weight_rotation_loss_g=0.2, **kwargs):
    super().__init__(dataset, strategy=strategy, options=options, **kwargs)
    if self_supervision not in SELF_SUPERVISION:
      raise ValueError(f"SSGAN.self_supervision must be one of {SELF_SUPERVISION}, "
                       f"got {self_supervision!r}")
    self.self_supervision = self_supervision
    self.rotated_batch_size = int(rotated_batch_size)
    if self.rotated_batch_size % self.num_replicas:
      raise ValueError(f"SSGAN.rotated_batch_size={self.rotated_batch_size} does not split "
                       f"over {self.num_replicas} replicas")
    per_replica = self.rotated_batch_size // self.num_replicas
    if per_replica % rotation.NUM_ROTATIONS or per_replica == 0:
      raise ValueError(f"SSGAN.rotated_batch_size per replica ({per_replica}) must be a "
                       "positive multiple of 4")
    self.num_rotated = per_replica // rotation.NUM_ROTATIONS
    if self.num_rotated > self.per_replica_batch:
      raise ValueError(f"SSGAN.rotated_batch_size={self.rotated_batch_size} rotates more "
                       f"images per replica ({self.num_rotated}) than the batch has "
                       f"({self.per_replica_batch}); at most 4 * options.batch_size")
    self.weight_rotation_loss_d = float(weight_rotation_loss_d)
    self.weight_rotation_loss_g = float(weight_rotation_loss_g)

  @property
  def uses_rotation(self):
    return self.self_supervision != "none"

  def _build_rotation_head(self):
    head = rotation.RotationHead(use_sn=discriminator_options()["spectral_norm"])
    return head.build_for_features(self.discriminator.feature_dim)

  def d_metric_keys(self):
    return super().d_metric_keys() + ("c_real_loss", "accuracy/d_rotation_real")

  def g_metric_keys(self):
    return super().g_metric_keys() + ("c_fake_loss", "accuracy/d_rotation_fake")

  def discriminator_batch(self, images, y, fake, y_fake):
    """The one D input `[reals, rot reals, fakes, rot fakes]` and its labels."""
    if not self.uses_rotation:
      all_y = tf.concat([y, y_fake], 0) if self.conditional else None
      return tf.concat([images, fake], 0), all_y
    n = self.num_rotated
    parts = [images, rotation.rotate_images(images[-n:]),
             fake, rotation.rotate_images(fake[-n:])]
    all_y = None
    if self.conditional:
      # compare_gan tiled the REAL labels for the rotated fakes; the fakes were generated
      # from y_fake, so they carry y_fake here (WORKSPACE_NOTES.md).
      all_y = tf.concat([y, tf.tile(y[-n:], [3, 1]), y_fake, tf.tile(y_fake[-n:], [3, 1])], 0)
    return tf.concat(parts, 0), all_y

  def create_loss(self, images, y, fake, y_fake, penalty_seed=None, compute_penalty=True):
    all_images, all_y = self.discriminator_batch(images, y, fake, y_fake)
    probs, logits, features = self.discriminator(all_images, all_y, training=True)
    bs = tf.shape(images)[0]
    real_probs, fake_probs = tf.split(probs, 2, axis=0)
    real_logits, fake_logits = tf.split(logits, 2, axis=0)
    losses = self._gan_losses(real_probs[:bs], fake_probs[:bs], real_logits[:bs],
                              fake_logits[:bs], images, y, fake, penalty_seed, compute_penalty)
    if not self.uses_rotation:
      zero = tf.constant(0.0)
      losses.update({"c_real_loss": zero, "c_fake_loss": zero,
                     "accuracy/d_rotation_real": zero, "accuracy/d_rotation_fake": zero})
      return losses
    c_logits = self.rotation_head(features, training=True)
    c_real, c_fake = tf.split(c_logits, 2, axis=0)
    return self.assemble_rotation_losses(losses, c_real[-4 * self.num_rotated:],
                                         c_fake[-4 * self.num_rotated:])

  def assemble_rotation_losses(self, losses, c_real_logits, c_fake_logits):
    """Adds the rotation terms to GAN losses (pure; tested against hand computation)."""
    labels = rotation.rotation_labels(self.num_rotated)
    c_real_loss = rotation.rotation_cross_entropy(c_real_logits, labels)
    c_fake_loss = rotation.rotation_cross_entropy(c_fake_logits, labels)
    d_loss, g_loss = losses["d_loss"], losses["g_loss"]
    if self.self_supervision == "rotation_only":
      d_loss, g_loss = d_loss * 0.0, g_loss * 0.0
    out = dict(losses)
    out["d_loss"] = d_loss + self.weight_rotation_loss_d * c_real_loss
    out["g_loss"] = g_loss + self.weight_rotation_loss_g * c_fake_loss
    out["c_real_loss"] = c_real_loss
    out["c_fake_loss"] = c_fake_loss
    out["accuracy/d_rotation_real"] = rotation.rotation_accuracy(c_real_logits, labels)
    out["accuracy/d_rotation_fake"] = rotation.rotation_accuracy(c_fake_logits, labels)
    return out
