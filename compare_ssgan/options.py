"""compare_gan's global `options` and `run_config` gin namespaces.

Kept as gin-configured functions returning plain dicts so a compare_gan config reads the
same here (`options.batch_size = 64`, `run_config.save_checkpoints_steps = 1000`).
"""

import gin

from compare_ssgan import errors

# compare_gan's default `options.seed` and `dataset.seed`: the root of every random draw and
# of the data order, unless a config binds another.
DEFAULT_SEED = 547


@gin.configurable("options")
def options(batch_size=gin.REQUIRED,
            gan_class=gin.REQUIRED,
            architecture=gin.REQUIRED,
            training_steps=gin.REQUIRED,
            lamba=1.0,
            disc_iters=1,
            z_dim=128,
            seed=DEFAULT_SEED,
            discriminator_normalization=None):
  """The experiment's global settings.

  Args:
    batch_size: GLOBAL batch size per D or G update (split over replicas).
    gan_class: the GAN class, e.g. `@SSGAN` or `@ModularGAN`.
    architecture: an architecture name, e.g. "resnet_cifar_arch".
    training_steps: number of GENERATOR steps (compare_gan's global_step).
    lamba: penalty weight (compare_gan's spelling, kept).
    disc_iters: D updates per G update.
    z_dim: latent size.
    seed: root of every random draw (z, penalties, data order).
    discriminator_normalization: deprecated in compare_gan; must stay None.
  """
  if discriminator_normalization is not None:
    raise errors.ConfigError("options.discriminator_normalization is deprecated (as in compare_gan): "
                     "use D.spectral_norm / D.layer_norm / D.batch_norm_fn.")
  return dict(batch_size=int(batch_size), gan_class=gan_class, architecture=architecture,
              training_steps=int(training_steps), lamba=float(lamba),
              disc_iters=int(disc_iters), z_dim=int(z_dim), seed=int(seed))


@gin.configurable("run_config")
def run_config(save_checkpoints_steps=1000,
               keep_checkpoint_max=10,
               iterations_per_loop=100,
               log_every_steps=None,
               summary_every_steps=None,
               tf_random_seed=None):
  """How a run is driven (host-call size, checkpoint cadence).

  `iterations_per_loop` G steps run per host call (one `tf.function` call); logging,
  NaN checks and checkpoints happen only between host calls.
  """
  return dict(save_checkpoints_steps=int(save_checkpoints_steps),
              keep_checkpoint_max=int(keep_checkpoint_max),
              iterations_per_loop=int(iterations_per_loop),
              log_every_steps=log_every_steps, summary_every_steps=summary_every_steps,
              tf_random_seed=tf_random_seed)
