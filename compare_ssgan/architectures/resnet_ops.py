"""compare_gan's ResNetBlock (resnet_cifar, resnet5, resnet_stl, tiny).

shortcut = conv3x3(unpool(x)) for "up", avgpool(conv3x3(x)) for "down", conv3x3(x) else
           (ALWAYS present, even when in == out).
main     = BN1 -> [LN1] -> ReLU -> [unpool if G "up"] -> conv3x3 -> BN2 -> [LN2] -> ReLU
           -> conv3x3 -> [avgpool if D "down"]
The first D block therefore applies ReLU to the raw image, as compare_gan does.

Fast path (gin `resnet_ops.fused_upsample_conv`, `resnet_ops.fused_downsample_conv`, both
True by default): conv3x3(unpool(x)) runs as four small convs on x, one per output phase,
interleaved by depth_to_space, and avgpool(conv3x3(x)) as one stride-2 4x4 conv; the same
functions of the same 3x3 kernels (`ops.layers.upsample_conv` / `downsample_kernel`), same
variables and checkpoints, equal up to float rounding. Set both to False for the literal
compare_gan graph (the reference path the tests compare against).
"""

import gin
import keras
import tensorflow as tf

from compare_ssgan import errors
from compare_ssgan.ops import Conv2D, LayerNorm, avg_pool2x2, make_norm, unpool


@gin.configurable("resnet_ops")
def resampling_settings(fused_upsample_conv=True, fused_downsample_conv=True):
  """Read once per block at construction (so the operative config records them)."""
  return dict(up=bool(fused_upsample_conv), down=bool(fused_downsample_conv))


class ResNetBlock(keras.layers.Layer):
  """One residual block; `scale` is "up", "down" or "none"."""

  def __init__(self, out_channels, scale, is_gen_block, batch_norm_fn=None, layer_norm=False,
               spectral_norm=False, fused=None, shortcut_kernel=3, add_shortcut=True,
               **kwargs):
    """`fused`: {"up": bool, "down": bool}; None reads gin `resnet_ops.*`.
    `shortcut_kernel`, `add_shortcut`: BigGAN's blocks use a 1x1 shortcut, or none."""
    super().__init__(**kwargs)
    self.fused = dict(fused) if fused is not None else resampling_settings()
    if scale not in ("up", "down", "none"):
      raise errors.ConfigError(f"scale must be up, down or none, got {scale!r}")
    self.out_channels = int(out_channels)
    self.scale = scale
    self.scale1 = "up" if (is_gen_block and scale == "up") else "none"
    self.scale2 = "down" if (not is_gen_block and scale == "down") else "none"
    sn = dict(use_sn=spectral_norm)
    prefix = {"up": "up", "down": "down", "none": "same"}
    self.bn1 = make_norm(batch_norm_fn, "bn1", use_sn=spectral_norm)
    self.bn2 = make_norm(batch_norm_fn, "bn2", use_sn=spectral_norm)
    self.ln1 = LayerNorm(name="ln1") if layer_norm else None
    self.ln2 = LayerNorm(name="ln2") if layer_norm else None
    self.conv1 = Conv2D(out_channels, 3, name=f"{prefix[self.scale1]}_conv1", **sn)
    self.conv2 = Conv2D(out_channels, 3, name=f"{prefix[self.scale2]}_conv2", **sn)
    self.conv_shortcut = Conv2D(out_channels, shortcut_kernel,
                                name=f"{prefix[scale]}_conv_shortcut", **sn) \
        if add_shortcut else None

  def _conv(self, conv, x, scale, training):
    fused = scale != "none" and self.fused[scale] and conv.kernel_size == 3
    return resample_conv(conv, x, scale, training, fused=fused)

  def call(self, x, z=None, y=None, training=False):
    h = self.bn1(x, z=z, y=y, training=training)
    if self.ln1 is not None:
      h = self.ln1(h, training=training)
    h = tf.nn.relu(h)
    h = self._conv(self.conv1, h, self.scale1, training)
    h = self.bn2(h, z=z, y=y, training=training)
    if self.ln2 is not None:
      h = self.ln2(h, training=training)
    h = tf.nn.relu(h)
    h = self._conv(self.conv2, h, self.scale2, training)
    if self.conv_shortcut is None:
      return h
    return h + self._conv(self.conv_shortcut, x, self.scale, training)


def resample_conv(conv, x, scale, training, fused=False):
  """`conv` with compare_gan's resampling: unpool before it ("up"), 2x2 average pool after
  it ("down"), nothing ("none"). `fused` computes the same with one strided op (3x3 convs
  only); an odd map (resnet5's D pools 1x1 maps with SAME padding at 32px, as compare_gan)
  takes the reference path, which the fused downsampling cannot express."""
  even = x.shape[1] % 2 == 0 and x.shape[2] % 2 == 0
  if fused and scale != "none" and (scale == "up" or even):
    return conv(x, training=training, resample=scale)
  if scale == "up":
    x = unpool(x)
  x = conv(x, training=training)
  if scale == "down":
    x = avg_pool2x2(x)
  return x
