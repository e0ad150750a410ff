"""SAGAN self-attention (compare_gan's `non_local_block`), used by resnet_biggan.

theta, phi: 1x1 convs to C/8; g: 1x1 conv to C/2; phi and g are 2x2 max-pooled (VALID),
attn = softmax(theta phi^T) over the pooled positions, o = conv1x1(attn g) back to C,
out = x + sigma * o with a scalar sigma that starts at 0, so the block starts as identity.
No biases anywhere; SN on the four kernels iff `use_sn`. The kernels take the gin
`weights.initializer`, as compare_gan's do (despite its docstring).
"""

import keras
import tensorflow as tf

from compare_ssgan.ops.layers import Conv2D


def _flatten_spatial(x):
  return tf.reshape(x, [-1, x.shape[1] * x.shape[2], x.shape[3]])


class NonLocalBlock(keras.layers.Layer):
  """NHWC [B, H, W, C] -> [B, H, W, C]; H and W must be even, C >= 8."""

  def __init__(self, use_sn=False, **kwargs):
    super().__init__(**kwargs)
    self.use_sn = bool(use_sn)

  def build(self, input_shape):
    c = int(input_shape[-1])
    if c < 8:
      raise ValueError(f"NonLocalBlock needs at least 8 channels (C/8 attention), got {c}")
    kw = dict(kernel_size=1, use_sn=self.use_sn, use_bias=False)
    self.conv_theta = Conv2D(c // 8, name="conv2d_theta", **kw)
    self.conv_phi = Conv2D(c // 8, name="conv2d_phi", **kw)
    self.conv_g = Conv2D(c // 2, name="conv2d_g", **kw)
    self.conv_attn_g = Conv2D(c, name="conv2d_attn_g", **kw)
    self.sigma = self.add_weight(name="sigma", shape=(), initializer="zeros")

  def call(self, x, training=False):
    h, w = x.shape[1], x.shape[2]
    theta = _flatten_spatial(self.conv_theta(x, training=training))
    phi = tf.nn.max_pool2d(self.conv_phi(x, training=training), 2, 2, "VALID")
    g = tf.nn.max_pool2d(self.conv_g(x, training=training), 2, 2, "VALID")
    attn = tf.nn.softmax(tf.matmul(theta, _flatten_spatial(phi), transpose_b=True))
    attn_g = tf.matmul(attn, _flatten_spatial(g))
    attn_g = tf.reshape(attn_g, [-1, h, w, g.shape[-1]])
    attn_g = self.conv_attn_g(attn_g, training=training)
    return x + tf.cast(self.sigma, x.dtype) * attn_g
