"""SSGAN: ModularGAN plus the auxiliary rotation loss (Chen et al., CVPR 2019).

Per replica, with n = rotated_batch_size / num_replicas / 4, the last n real and the last
n fake images are rotated by 90, 180 and 270 degrees, and ONE D call sees
`[reals, rotated reals, fakes, rotated fakes]` (2 * (bs + 3n) images):
  * the GAN loss uses the first bs rows of each half (the upright images);
  * the rotation cross-entropy uses the last 4n rows of each half;
  * d_loss = gan_d + lamba * penalty + beta * CE(real rotations)   (beta = 1.0)
  * g_loss = gan_g + alpha * CE(fake rotations)                    (alpha = 0.2)
D never learns rotations from fakes; G's rotation term goes through D's (fixed) head.

With `ModularGAN.prune_discriminator_rows` (and no batch norm in D) the updates feed D only
the rows their losses read, in one call each: the D update `[reals, rotated reals, fakes]`
(the rotated fakes enter no D term), the G update `[fakes, rotated fakes]`.
"""

import gin
import tensorflow as tf

from compare_ssgan import errors
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
      raise errors.ConfigError(f"SSGAN.self_supervision must be one of {SELF_SUPERVISION}, "
                       f"got {self_supervision!r}")
    self.self_supervision = self_supervision
    self.rotated_batch_size = int(rotated_batch_size)
    if self.rotated_batch_size % self.num_replicas:
      raise errors.ConfigError(f"SSGAN.rotated_batch_size={self.rotated_batch_size} does not split "
                       f"over {self.num_replicas} replicas")
    per_replica = self.rotated_batch_size // self.num_replicas
    if per_replica % rotation.NUM_ROTATIONS or per_replica == 0:
      raise errors.ConfigError(f"SSGAN.rotated_batch_size per replica ({per_replica}) must be a "
                       "positive multiple of 4")
    self.num_rotated = per_replica // rotation.NUM_ROTATIONS
    if self.num_rotated > self.per_replica_batch:
      raise errors.ConfigError(f"SSGAN.rotated_batch_size={self.rotated_batch_size} rotates more "
                       f"images per replica ({self.num_rotated}) than the batch has "
                       f"({self.per_replica_batch}); at most 4 * options.batch_size")
    self.weight_rotation_loss_d = float(weight_rotation_loss_d)
    self.weight_rotation_loss_g = float(weight_rotation_loss_g)

  @property
  def uses_rotation(self):
    return self.self_supervision != "none"

  def _build_rotation_head(self):
    if not self.uses_rotation:
      return None   # "none" is Uncond-GAN: no head, no variables without gradients
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
    probs, logits, features = self.call_discriminator(all_images, all_y)
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

  def _rotated(self, images, y):
    """[images, rot90/180/270 of the last n] and labels (tiled to match), pure tensor ops."""
    n = self.num_rotated
    out = tf.concat([images, rotation.rotate_images(images[-n:])], 0)
    out_y = tf.concat([y, tf.tile(y[-n:], [3, 1])], 0) if self.conditional else None
    return out, out_y

  def discriminator_rows(self):
    """Per replica: bs reals (+ 3n rotated) and bs fakes (+ 3n rotated) in both updates,
    or, pruned, the rotated fakes left out of the D update and the reals of the G update
    (they enter no loss term there); see `d_update_loss` / `g_update_loss`."""
    if not self.uses_rotation:
      return super().discriminator_rows()
    bs, n = self.per_replica_batch, self.num_rotated
    if self.prune_rows:
      return bs + 3 * n + bs, bs + 3 * n
    return 2 * (bs + 3 * n), 2 * (bs + 3 * n)

  def d_update_loss(self, images, y, fake, y_fake, penalty_seed):
    if not (self.prune_rows and self.uses_rotation):
      return super().d_update_loss(images, y, fake, y_fake, penalty_seed)
    bs, n = self.per_replica_batch, self.num_rotated
    reals, reals_y = self._rotated(images, y)
    all_images = tf.concat([reals, fake], 0)
    all_y = tf.concat([reals_y, y_fake], 0) if self.conditional else None
    probs, logits, features = self.call_discriminator(all_images, all_y)
    r = bs + 3 * n
    losses = self._gan_losses(probs[:bs], probs[r:], logits[:bs], logits[r:], images, y, fake,
                              penalty_seed, compute_penalty=True)
    c_real = self.rotation_head(features[bs - n:r], training=True)
    return self._add_rotation_losses(losses, c_real_logits=c_real)

  def g_update_loss(self, images, y, fake, y_fake):
    if not (self.prune_rows and self.uses_rotation):
      losses = super().g_update_loss(images, y, fake, y_fake)
      zero = tf.constant(0.0)
      for k in ("c_fake_loss", "accuracy/d_rotation_fake"):
        losses.setdefault(k, zero)
      return losses
    bs, n = self.per_replica_batch, self.num_rotated
    fakes, fakes_y = self._rotated(fake, y_fake)
    _, logits, features = self.call_discriminator(fakes, fakes_y)
    losses = {"g_loss": self._g_loss_from_fake_logits(logits[:bs])}
    c_fake = self.rotation_head(features[bs - n:], training=True)
    return self._add_rotation_losses(losses, c_fake_logits=c_fake)

  def _add_rotation_losses(self, losses, c_real_logits=None, c_fake_logits=None):
    """The D-side (real) or G-side (fake) half of `assemble_rotation_losses`."""
    labels = rotation.rotation_labels(self.num_rotated)
    out = dict(losses)
    scale = 0.0 if self.self_supervision == "rotation_only" else 1.0
    if c_real_logits is not None:
      c_real_loss = rotation.rotation_cross_entropy(c_real_logits, labels)
      out["d_loss"] = scale * out["d_loss"] + self.weight_rotation_loss_d * c_real_loss
      out["c_real_loss"] = c_real_loss
      out["accuracy/d_rotation_real"] = rotation.rotation_accuracy(c_real_logits, labels)
    if c_fake_logits is not None:
      c_fake_loss = rotation.rotation_cross_entropy(c_fake_logits, labels)
      out["g_loss"] = scale * out["g_loss"] + self.weight_rotation_loss_g * c_fake_loss
      out["c_fake_loss"] = c_fake_loss
      out["accuracy/d_rotation_fake"] = rotation.rotation_accuracy(c_fake_logits, labels)
    return out

  def assemble_rotation_losses(self, losses, c_real_logits, c_fake_logits):
    """Adds both rotation terms to GAN losses (pure; tested against hand computation)."""
    return self._add_rotation_losses(losses, c_real_logits=c_real_logits,
                                     c_fake_logits=c_fake_logits)
