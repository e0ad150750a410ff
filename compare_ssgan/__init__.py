"""compare_ssgan: Self-Supervised GANs (Chen et al., CVPR 2019) on TensorFlow 2 / Keras 3.

A port of google/compare_gan's SS-GAN. See WORKSPACE_NOTES.md for the module contracts.
"""

__version__ = "0.1.0"
