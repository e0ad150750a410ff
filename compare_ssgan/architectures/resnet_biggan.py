"""resnet_biggan_arch: compare_gan's BigGAN re-implementation (Brock et al. 2018), 32..512.

Differences from resnet5 (compare_gan's list): much wider (ch=96), 1x1 shortcuts, no D
shortcut when in == out, last G norm unconditional, (tanh + 1)/2 output, sum pooling in D,
last D block does not downsample, SAGAN non-local block after the named blocks.
G: [embed_z] [embed_y] -> z split into num_blocks+1 chunks (hierarchical_z); chunk 0 ->
   fc_noise 4x4x(16ch); block i's norm gets z_i and y_i = concat(z_i, embed_y(y)).
D: blocks -> ReLU -> sum over H,W -> final_fc (+ projection <embed(y), h>, glorot_normal).
At 128 (z_dim=120, 1000 classes, cBN): G 70,433,988, D 87,982,370 trainable parameters.
Unconditional use needs Generator.embed_y=False, Discriminator.project_y=False and a
G.batch_norm_fn other than @conditional_batch_norm, exactly as in compare_gan.
"""

import gin
import keras
import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.architectures import registry
from compare_ssgan.architectures.abstract_arch import Discriminator, Generator
from compare_ssgan.architectures.resnet_ops import ResNetBlock
from compare_ssgan.ops import BatchNorm, Conv2D, Linear, NonLocalBlock, conditional_batch_norm

SEED_SIZE = 4

# resolution -> channel multipliers of ch (G: in/out of consecutive blocks; D: outputs).
G_MULTIPLIERS = {32: (4, 4, 4, 4), 64: (16, 16, 8, 4, 2), 128: (16, 16, 8, 4, 2, 1),
                 256: (16, 16, 8, 8, 4, 2, 1), 512: (16, 16, 8, 8, 4, 2, 1, 1)}
D_MULTIPLIERS = {32: (2, 2, 2, 2), 64: (2, 4, 8, 16, 16), 128: (1, 2, 4, 8, 16, 16),
                 256: (1, 2, 4, 8, 8, 16, 16), 512: (1, 1, 2, 4, 8, 8, 16, 16)}


def _multipliers(table, image_shape, who):
  h, w = image_shape[0], image_shape[1]
  if h != w or h not in table:
    raise errors.ConfigError(f"resnet_biggan.{who} supports square {sorted(table)} pixel images, "
                     f"got {h}x{w}")
  return table[h]


def _blocks_set(blocks_with_attention):
  return {b.strip() for b in str(blocks_with_attention).split(",") if b.strip()}


def _is_conditional_bn(fn):
  return fn is conditional_batch_norm or getattr(fn, "__name__", "") == "conditional_batch_norm"


class BigGanResNetBlock(ResNetBlock):
  """BN1 -> [LN1] -> ReLU -> [unpool] -> conv3x3 -> BN2 -> [LN2] -> ReLU -> conv3x3 -> [avgpool]
  plus, if `add_shortcut`, a 1x1 conv shortcut ([unpool] -> conv1x1 / conv1x1 -> [avgpool]).
  Always compare_gan's literal resampling (no fused convolutions).
  """

  def __init__(self, out_channels, scale, is_gen_block, batch_norm_fn=None, layer_norm=False,
               spectral_norm=False, add_shortcut=True, **kwargs):
    super().__init__(out_channels, scale, is_gen_block, batch_norm_fn=batch_norm_fn,
                     layer_norm=layer_norm, spectral_norm=spectral_norm,
                     fused={"up": False, "down": False}, shortcut_kernel=1,
                     add_shortcut=add_shortcut, **kwargs)


class BigGanGenerator(Generator):
  def __init__(self, ch=96, blocks_with_attention="B4", hierarchical_z=True, embed_z=False,
               embed_y=True, embed_y_dim=128, embed_bias=False, **kwargs):
    super().__init__(**kwargs)
    mult = _multipliers(G_MULTIPLIERS, self.image_shape, "Generator")
    self.ch = int(ch)
    in_channels = [self.ch * m for m in mult[:-1]]
    out_channels = [self.ch * m for m in mult[1:]]
    num_blocks = len(in_channels)
    self.seed_channels = in_channels[0]
    self.hierarchical_z = bool(hierarchical_z)
    if self.num_classes == 0:
      if embed_y:
        raise errors.ConfigError("resnet_biggan.Generator.embed_y=True needs labels: for an "
                         "unconditional GAN bind resnet_biggan.Generator.embed_y = False.")
      if _is_conditional_bn(self.batch_norm_fn):
        raise errors.ConfigError("G.batch_norm_fn = @conditional_batch_norm needs labels: an "
                         "unconditional resnet_biggan G needs @batch_norm, "
                         "@self_modulated_batch_norm or None.")
    if self.hierarchical_z and self.z_dim % (num_blocks + 1):
      raise errors.ConfigError(f"resnet_biggan.Generator.hierarchical_z splits z into {num_blocks + 1} "
                       f"equal chunks at {self.image_shape[0]}px; z_dim={self.z_dim} is not "
                       f"divisible (compare_gan uses 120/140/160 at 128/256/512).")
    sn = self.spectral_norm
    # The embeddings never use SN (compare_gan passes use_sn=False).
    self.embed_z = Linear(self.z_dim, use_bias=embed_bias, name="embed_z") if embed_z else None
    self.embed_y = Linear(int(embed_y_dim), use_bias=embed_bias, name="embed_y") \
        if embed_y else None
    self.fc_noise = Linear(SEED_SIZE * SEED_SIZE * self.seed_channels, use_sn=sn,
                           name="fc_noise")
    attention = _blocks_set(blocks_with_attention)
    self.blocks = []
    self.attention = []
    for i, out in enumerate(out_channels):
      name = f"B{i + 1}"
      self.blocks.append(BigGanResNetBlock(out, "up", True, self.batch_norm_fn,
                                           spectral_norm=sn, name=name))
      self.attention.append(NonLocalBlock(use_sn=sn, name="non_local_block")
                            if name in attention else None)
    # The last norm is plain BN (gamma, beta) whatever G.batch_norm_fn is, as in compare_gan
    # (whose `batch_norm` takes no gin center/scale); `standardize_batch.*` still applies.
    self.final_norm = BatchNorm(name="final_norm")
    self.final_conv = Conv2D(self.image_shape[2], 3, use_sn=sn, name="final_conv")

  def call(self, z, y=None, training=False):
    num_blocks = len(self.blocks)
    if self.num_classes and y is None:
      raise errors.ConfigError("resnet_biggan.Generator was built for labels; call it with y.")
    if self.embed_z is not None:
      z = self.embed_z(z, training=training)
    if self.embed_y is not None:
      y = self.embed_y(y, training=training)
    ys = [y] * num_blocks
    if self.hierarchical_z:
      chunks = tf.split(z, num_blocks + 1, axis=1)
      z0, zs = chunks[0], chunks[1:]
      if y is not None:
        ys = [tf.concat([zi, tf.cast(y, zi.dtype)], axis=1) for zi in zs]
    else:
      z0, zs = z, [z] * num_blocks
    net = self.fc_noise(z0, training=training)
    net = tf.reshape(net, [-1, SEED_SIZE, SEED_SIZE, self.seed_channels])
    for block, attn, zi, yi in zip(self.blocks, self.attention, zs, ys):
      net = block(net, z=zi, y=yi, training=training)
      if attn is not None:
        net = attn(net, training=training)
    net = self.final_norm(net, training=training)
    net = self.final_conv(tf.nn.relu(net), training=training)
    return (tf.nn.tanh(net) + 1.0) / 2.0


class BigGanDiscriminator(Discriminator):
  def __init__(self, ch=96, blocks_with_attention="B1", project_y=True, **kwargs):
    super().__init__(**kwargs)
    mult = _multipliers(D_MULTIPLIERS, self.image_shape, "Discriminator")
    colors = self.image_shape[2]
    if colors not in (1, 3):
      raise errors.ConfigError(f"resnet_biggan.Discriminator supports 1 or 3 colours, got {colors}")
    self.ch = int(ch)
    out_channels = [self.ch * m for m in mult]
    in_channels = [colors] + out_channels[:-1]
    self.out_channels = out_channels[-1]
    if project_y and self.num_classes == 0:
      raise errors.ConfigError("resnet_biggan.Discriminator.project_y=True needs labels: for an "
                       "unconditional GAN bind resnet_biggan.Discriminator.project_y = False.")
    sn = self.spectral_norm
    attention = _blocks_set(blocks_with_attention)
    self.blocks = []
    self.attention = []
    for i, (cin, cout) in enumerate(zip(in_channels, out_channels)):
      name = f"B{i + 1}"
      last = i == len(out_channels) - 1
      self.blocks.append(BigGanResNetBlock(cout, "none" if last else "down", False,
                                           self.batch_norm_fn, layer_norm=self.layer_norm,
                                           spectral_norm=sn, add_shortcut=cin != cout,
                                           name=name))
      self.attention.append(NonLocalBlock(use_sn=sn, name="non_local_block")
                            if name in attention else None)
    self.final_fc = Linear(1, use_sn=sn, name="final_fc")
    self.embedding = Linear(self.out_channels, use_sn=sn, use_bias=False,
                            kernel_initializer=keras.initializers.GlorotNormal(),
                            name="embedding_fc") if project_y else None

  @property
  def feature_dim(self):
    return self.out_channels

  def call(self, x, y=None, training=False):
    net = x
    for block, attn in zip(self.blocks, self.attention):
      net = block(net, y=y, training=training)
      if attn is not None:
        net = attn(net, training=training)
    h = tf.reduce_sum(tf.nn.relu(net), axis=[1, 2])
    logits = self.final_fc(h, training=training)
    if self.embedding is not None:
      if y is None:
        raise errors.ConfigError("resnet_biggan.Discriminator.project_y needs labels y.")
      embedded = self.embedding(tf.cast(y, h.dtype), training=training)
      logits += tf.reduce_sum(embedded * h, axis=1, keepdims=True)
    return tf.nn.sigmoid(logits), logits, h


@gin.configurable("Generator", module="resnet_biggan")
def generator(image_shape, z_dim, num_classes, batch_norm_fn, spectral_norm, ch=96,
              blocks_with_attention="B4", hierarchical_z=True, embed_z=False, embed_y=True,
              embed_y_dim=128, embed_bias=False):
  return BigGanGenerator(ch=ch, blocks_with_attention=blocks_with_attention,
                         hierarchical_z=hierarchical_z, embed_z=embed_z, embed_y=embed_y,
                         embed_y_dim=embed_y_dim, embed_bias=embed_bias,
                         image_shape=image_shape, z_dim=z_dim, num_classes=num_classes,
                         batch_norm_fn=batch_norm_fn, spectral_norm=spectral_norm)


@gin.configurable("Discriminator", module="resnet_biggan")
def discriminator(image_shape, num_classes, batch_norm_fn, layer_norm, spectral_norm, ch=96,
                  blocks_with_attention="B1", project_y=True):
  return BigGanDiscriminator(ch=ch, blocks_with_attention=blocks_with_attention,
                             project_y=project_y, image_shape=image_shape,
                             num_classes=num_classes, batch_norm_fn=batch_norm_fn,
                             layer_norm=layer_norm, spectral_norm=spectral_norm)


registry.register("resnet_biggan_arch")
