"""compare_ssgan: Self-Supervised GANs (Chen et al., CVPR 2019) on TensorFlow 2 / Keras 3.

A port of google/compare_gan's SS-GAN. See WORKSPACE_NOTES.md for the module contracts.

Importing the package before TensorFlow turns on TensorFlow's oneDNN CPU kernels
(`TF_ENABLE_ONEDNN_OPTS=1`) unless the variable is already set: TF enables them by default
only on CPUs with AVX-512 VNNI/BF16 or AMX, and on an AVX2-only CPU they made our CIFAR-10
SS-GAN step markedly faster (figures in docs/benchmarks.md). GPUs and TPUs are unaffected. Set `TF_ENABLE_ONEDNN_OPTS=0` to keep TF's own default.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
