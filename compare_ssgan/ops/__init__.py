"""Layers and normalisation ops under compare_gan's gin names."""

from compare_ssgan.ops.layers import (Conv2D, Deconv2D, Linear, SpectralNormalizer,
                                      avg_pool2x2, lrelu, spectral_norm_settings, unpool,
                                      weight_initializer)
from compare_ssgan.ops.normalization import (BatchNorm, ConditionalBatchNorm, Identity,
                                             LayerNorm, SelfModulatedBatchNorm,
                                             StandardizeBatch, batch_norm,
                                             call_with_accepted_args,
                                             conditional_batch_norm, make_norm,
                                             no_batch_norm, self_modulated_batch_norm,
                                             standardize_batch_settings)
from compare_ssgan.ops.attention import NonLocalBlock
