"""FID, Inception Score and KID on NumPy activations (tf-gan's math through the shim).

The metric math is kept apart from the network that makes activations (as in tf-gan), so it
is testable on random activations. Everything runs in float64: tf-gan casts its FID result
back to the input dtype, and a float32 FID loses digits on large, nearly equal sets.
"""

import numpy as np

from compare_ssgan.metrics import tfgan_compat


def _as_2d_float64(x, name):
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 2:
    raise ValueError(f"{name} must be 2-D [num_samples, dim], got shape {x.shape}")
  if x.shape[0] < 2:
    raise ValueError(f"{name} needs at least 2 samples, got {x.shape[0]}")
  return x


def frechet_distance(activations1, activations2) -> float:
  """FID: |m1 - m2|^2 + Tr(C1 + C2 - 2 sqrt(C1 C2)), (n-1)-normalised covariances."""
  a1 = _as_2d_float64(activations1, "activations1")
  a2 = _as_2d_float64(activations2, "activations2")
  if a1.shape[1] != a2.shape[1]:
    raise ValueError(f"activation dims differ: {a1.shape[1]} vs {a2.shape[1]}")
  return float(tfgan_compat.frechet_classifier_distance_from_activations(a1, a2))


def activation_statistics(activations):
  """(mu, sigma) as TTUR's `.npz` stores them: mean and (n-1)-normalised covariance."""
  a = _as_2d_float64(activations, "activations")
  return a.mean(axis=0), np.cov(a, rowvar=False)


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2) -> float:
  """FID from stored (mu, sigma) pairs, e.g. a TTUR-style statistics file.

  Uses tf-gan's trace-sqrt product, so it equals `frechet_distance` on the activations that
  produced the statistics.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
  if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
    raise ValueError(f"statistics shapes differ: mu {mu1.shape} vs {mu2.shape}, "
                     f"sigma {sigma1.shape} vs {sigma2.shape}")
  sqrt_trace = float(tfgan_compat.trace_sqrt_product(sigma1, sigma2))
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2)
               - 2.0 * sqrt_trace)


def inception_score_splits(logits, num_splits=10):
  """IS per split (Salimans et al. report the mean and std over 10 splits).

  Splits are contiguous, as in improved-gan; samples left over by an uneven division go to
  the first splits (np.array_split).
  """
  logits = _as_2d_float64(logits, "logits")
  num_splits = int(num_splits)
  if num_splits < 1 or num_splits > logits.shape[0]:
    raise ValueError(f"num_splits must be in [1, {logits.shape[0]}], got {num_splits}")
  return np.array([float(tfgan_compat.classifier_score_from_logits(part))
                   for part in np.array_split(logits, num_splits)])


def inception_score(logits, num_splits=1) -> float:
  """exp(E_x KL(p(y|x) || p(y))) averaged over `num_splits` splits.

  compare_gan (and so the SS-GAN paper) used one split: all N logits at once.
  """
  return float(np.mean(inception_score_splits(logits, num_splits)))


def inception_score_mean_std(logits, num_splits=10):
  """(mean, std) of IS over splits: the improved-gan / Mimicry convention."""
  scores = inception_score_splits(logits, num_splits)
  return float(scores.mean()), float(scores.std())


def kernel_distance(activations1, activations2, max_block_size=1024):
  """KID: unbiased MMD^2 with kernel (a.b/d + 1)^3, averaged over blocks -> (mean, std).

  `std` is tf-gan's standard-error estimate across blocks; it is NaN with a single block
  (fewer than `max_block_size` samples in the larger set).
  """
  a1 = _as_2d_float64(activations1, "activations1")
  a2 = _as_2d_float64(activations2, "activations2")
  if a1.shape[1] != a2.shape[1]:
    raise ValueError(f"activation dims differ: {a1.shape[1]} vs {a2.shape[1]}")
  mean, std = tfgan_compat.kernel_classifier_distance_and_std_from_activations(
      a1, a2, max_block_size=max_block_size)
  return float(mean), float(std)
