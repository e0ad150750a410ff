"""rotate_images, rotation_labels, rotation_cross_entropy and RotationHead."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import rotation


def _images(b=3, h=5, c=2, seed=0):
  return np.random.RandomState(seed).normal(size=(b, h, h, c)).astype(np.float32)


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_rotate_images_single_angle_equals_numpy_rot90(k):
  x = _images()
  out = rotation.rotate_images(tf.constant(x), rot90_scalars=(k,)).numpy()
  np.testing.assert_array_equal(out, np.rot90(x, k=k, axes=(1, 2)))
  np.testing.assert_array_equal(out, tf.image.rot90(tf.constant(x), k=k).numpy())


def test_rotate_images_default_order_grouped_by_angle():
  x = _images(b=4)
  out = rotation.rotate_images(tf.constant(x)).numpy()
  assert out.shape == (12, 5, 5, 2)
  expected = np.concatenate([np.rot90(x, k=k, axes=(1, 2)) for k in (1, 2, 3)], axis=0)
  np.testing.assert_array_equal(out, expected)
  # Grouped by angle, not interleaved per image.
  np.testing.assert_array_equal(out[1], np.rot90(x[1], k=1))
  np.testing.assert_array_equal(out[4], np.rot90(x[0], k=2))


def test_rotate_images_custom_order_and_counter_clockwise():
  x = _images(b=2)
  out = rotation.rotate_images(tf.constant(x), rot90_scalars=(3, 0, 1)).numpy()
  expected = np.concatenate([np.rot90(x, k=k, axes=(1, 2)) for k in (3, 0, 1)], axis=0)
  np.testing.assert_array_equal(out, expected)
  # 90 degrees counter-clockwise: the top-right corner goes to the top-left.
  img = np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1)   # [[0, 1], [2, 3]]
  r = rotation.rotate_images(tf.constant(img), rot90_scalars=(1,)).numpy()[0, :, :, 0]
  np.testing.assert_array_equal(r, [[1, 3], [0, 2]])


def test_rotate_images_in_tf_function():
  x = _images(b=2)
  f = tf.function(lambda t: rotation.rotate_images(t))
  np.testing.assert_array_equal(f(tf.constant(x)).numpy(),
                                rotation.rotate_images(tf.constant(x)).numpy())


def test_rotate_images_non_square_raises():
  x = tf.zeros([2, 4, 6, 3])
  with pytest.raises(ValueError, match="square"):
    rotation.rotate_images(x)


def test_rotation_labels():
  np.testing.assert_array_equal(rotation.rotation_labels(2).numpy(), [0, 0, 1, 1, 2, 2, 3, 3])
  assert rotation.rotation_labels(3).dtype == tf.int32
  np.testing.assert_array_equal(rotation.rotation_labels(1).numpy(), [0, 1, 2, 3])


def test_rotation_cross_entropy_uniform_logits():
  ce = rotation.rotation_cross_entropy(tf.zeros([8, 4]), rotation.rotation_labels(2))
  np.testing.assert_allclose(ce.numpy(), 1.3862944, rtol=1e-6)


def test_rotation_cross_entropy_hand_computation():
  rng = np.random.RandomState(0)
  logits = rng.normal(size=(8, 4)).astype(np.float32) * 3
  labels = np.repeat(np.arange(4), 2)
  p = np.exp(logits - logits.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  expected = -np.mean(np.log(p[np.arange(8), labels] + 1e-10))
  ce = rotation.rotation_cross_entropy(tf.constant(logits), tf.constant(labels, tf.int32))
  np.testing.assert_allclose(ce.numpy(), expected, rtol=1e-5)
  # The 1e-10 epsilon caps the loss of a confidently wrong prediction.
  wrong = np.zeros((4, 4), np.float32)
  wrong[:, 0] = 1000.0
  ce = rotation.rotation_cross_entropy(tf.constant(wrong), tf.constant([1, 1, 1, 1]))
  np.testing.assert_allclose(ce.numpy(), -np.log(1e-10), rtol=1e-4)


def test_rotation_accuracy():
  logits = tf.constant(np.eye(4, dtype=np.float32)[[0, 1, 2, 0]])
  acc = rotation.rotation_accuracy(logits, tf.constant([0, 1, 2, 3]))
  np.testing.assert_allclose(acc.numpy(), 0.75)


def test_rotation_head_param_count_and_shape():
  head = rotation.RotationHead(use_sn=False).build_for_features(128)
  assert sum(int(np.prod(v.shape)) for v in head.trainable_variables) == 516
  assert not head.non_trainable_variables
  out = head(tf.ones([3, 128]), training=True)
  assert out.shape == (3, 4)
  np.testing.assert_array_equal(head.score_classify.bias.numpy(), 0.0)


def test_rotation_head_with_sn():
  head = rotation.RotationHead(use_sn=True).build_for_features(128)
  assert sum(int(np.prod(v.shape)) for v in head.trainable_variables) == 516
  assert len(head.non_trainable_variables) == 1   # the SN u vector
  u = head.non_trainable_variables[0]
  before = u.numpy().copy()
  head(tf.ones([2, 128]), training=True)
  assert not np.allclose(u.numpy(), before)


def test_rotation_head_follows_weights_initializer():
  gin.bind_parameter("weights.initializer", "orthogonal")
  head = rotation.RotationHead().build_for_features(8)
  w = head.score_classify.kernel.numpy()
  np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-5)
