"""Evaluation: FID, Inception Score and KID (tf-gan's math), Inception, the eval loop.

NumPy-level API: `frechet_distance`, `inception_score`, `kernel_distance` (and the 10-split
IS, FID from stored statistics). Checkpoint-level API: `evaluate_checkpoint`,
`fill_bn_accumulators`, `generate_images`. scores.csv lives in `compare_ssgan.runs`. See WORKSPACE_NOTES.md "Evaluation protocol".
"""

from compare_ssgan.metrics.domain_classifier import make_domain_classifier
from compare_ssgan.metrics.evaluation import (CLASSIFIERS, SCORE_KEYS, eval_options,
                                              evaluate_checkpoint, fill_bn_accumulators,
                                              generate_images, get_classifier,
                                              real_activations, real_images,
                                              write_score_summaries)
from compare_ssgan.metrics.inception import (INCEPTION_TFHUB, FrozenGraphInception,
                                             TFHubInception, inception_classifier,
                                             preprocess_images)
from compare_ssgan.metrics.scores import (activation_statistics, frechet_distance,
                                          frechet_distance_from_statistics, inception_score,
                                          inception_score_mean_std, inception_score_splits,
                                          kernel_distance)
