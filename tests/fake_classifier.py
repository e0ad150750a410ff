"""A fixed random projection standing in for Inception in run-level tests (the scoring math
is real; no download, no training)."""

import numpy as np
import tensorflow as tf

from compare_ssgan.metrics.inception import BatchedClassifier


class Projection(BatchedClassifier):
  """16x16x3 images -> pool_3 [N, 12], logits [N, 5]."""

  name = "projection-16px"

  def __init__(self):
    super().__init__(batch_size=256)
    rng = np.random.default_rng(0)
    self.w = tf.constant(rng.normal(size=(16 * 16 * 3, 12)).astype(np.float32) * 0.1)
    self.v = tf.constant(rng.normal(size=(12, 5)).astype(np.float32))

  def _forward(self, images):
    pool = tf.reshape(images, [tf.shape(images)[0], -1]) @ self.w
    return {"pool_3": pool, "logits": pool @ self.v}
