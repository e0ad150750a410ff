"""A FLOP model of one training step, read off the traced graphs of G and D.

Multiply-adds of every Conv2D / Conv2DBackpropInput (transposed conv) / MatMul in G's and
D's forward graphs, per image (traced at two batch sizes, so per-call spectral-norm matmuls
are separated out), as the configured path computes them (fused up-convs cost 1/4, fused
down-convs 4/9 of the reference's). A step = per D update G fwd (1x) on bs rows + D
fwd+bwd (3x) on the D-update rows; per G update G fwd+bwd (3x) on bs rows + D fwd +
input-gradient (2x; D's weight gradients are not computed) on the G-update rows. The rows
D sees come from `gan.discriminator_rows()`, where the GAN defines its row pruning.
FLOPs = 2 x MACs.
"""

import tensorflow as tf


def graph_macs(fn, *specs):
  """Multiply-adds of conv / transposed conv / matmul nodes in fn's graph."""
  graph = tf.function(fn, autograph=False).get_concrete_function(*specs).graph
  total = 0
  for op in graph.get_operations():
    if op.type in ("Conv2D", "Conv2DBackpropInput", "MatMul", "BatchMatMulV2"):
      if op.type == "Conv2D":
        out = op.outputs[0].shape.as_list()
        kh, kw, cin, cout = op.inputs[1].shape.as_list()
        total += out[0] * out[1] * out[2] * kh * kw * cin * cout
      elif op.type == "Conv2DBackpropInput":   # conv2d_transpose: every input pixel x kernel
        kh, kw, cout, cin = op.inputs[1].shape.as_list()
        x = op.inputs[2].shape.as_list()
        total += x[0] * x[1] * x[2] * kh * kw * cin * cout
      else:
        a, b = op.inputs[0].shape.as_list(), op.inputs[1].shape.as_list()
        ta, tb = op.get_attr("transpose_a") if op.type == "MatMul" else False, \
            op.get_attr("transpose_b") if op.type == "MatMul" else False
        m = a[-1] if ta else a[-2]
        k = a[-2] if ta else a[-1]
        n = b[-2] if tb else b[-1]
        total += m * k * n
  return total


def model_macs(gan):
  """{"G": (per_image, per_call), "D": (...)} forward multiply-adds; D includes the
  rotation head when there is one."""
  res, zd = gan.dataset.resolution, gan.z_dim
  ny = gan.num_classes
  out = {}
  for name in ("G", "D"):
    counts = []
    for b in (2, 4):
      y = tf.TensorSpec([b, ny], tf.float32) if ny else None
      if name == "G":
        spec = tf.TensorSpec([b, zd], tf.float32)
        fn = lambda z, y=None: gan.generator(z, y, training=True)  # noqa: E731
      else:
        spec = tf.TensorSpec([b, res, res, 3], tf.float32)
        def fn(x, y=None):
          feats = gan.discriminator(x, y, training=True)
          if gan.rotation_head is not None:
            return gan.rotation_head(feats[2], training=True)
          return feats[1]
      counts.append(graph_macs(fn, spec, y) if ny else graph_macs(fn, spec))
    per_image = (counts[1] - counts[0]) / 2
    out[name] = (per_image, counts[0] - 2 * per_image)
  return out


def step_flops(gan, macs):
  """FLOPs of one G step of `gan` (see the module docstring)."""
  bs = gan.per_replica_batch
  d_rows, g_rows = gan.discriminator_rows()
  g_img, g_call = macs["G"]
  d_img, d_call = macs["D"]
  d_update = (g_img * bs + g_call) + 3 * (d_img * d_rows + d_call)
  g_update = 3 * (g_img * bs + g_call) + 2 * (d_img * g_rows + d_call)
  return 2.0 * (gan.disc_iters * d_update + g_update) * gan.num_replicas
