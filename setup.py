"""compare_ssgan: Self-Supervised GANs (Chen et al., CVPR 2019) on TensorFlow 2 / Keras 3."""
import setuptools

# Ranges known to work together on Python 3.11 (measured: TF 2.21 + Keras 3.15,
# tfds 4.9.10, hub 0.16.1, tf-gan 2.1.0, tfp 0.25). tensorflow-gan pulls an unpinned
# tensorflow-probability, so tfp is pinned here too.
INSTALL_REQUIRES = [
    "tensorflow>=2.16,<2.22",
    "keras>=3.0,<4",
    "tensorflow-datasets>=4.9,<4.10",
    # tfds 4.9 reaches it (through etils) whenever it downloads or prepares a dataset, but
    # declares it only for Python < 3.9.
    "importlib-resources>=5",
    # LSUN's own LMDB release (datasets/lsun_lmdb.py): TFDS's lsun builder needs
    # tensorflow-io, which does not load on TF 2.21.
    "lmdb>=1.4",
    "tensorflow-hub>=0.16,<0.17",
    "tensorflow-gan==2.1.0",
    "tensorflow-probability>=0.24,<0.26",
    # tf.summary.image/scalar need it (TF 2.21 no longer pulls it in).
    "tensorboard>=2.16,<2.22",
    "gin-config==0.5.0",
    "absl-py>=1.0",
    "numpy>=1.26",
    "pillow>=9",
    "scipy>=1.10",
]

setuptools.setup(
    name="compare_ssgan",
    version="0.1.0",
    description="Self-Supervised GAN (SS-GAN) on TensorFlow 2 / Keras 3, a port of google/compare_gan.",
    packages=setuptools.find_packages(include=["compare_ssgan", "compare_ssgan.*"])
    + ["compare_ssgan.gin_configs"],
    # The top-level gin_configs/ folder ships inside the package so that
    # `--gin_config cifar10/ssgan.gin` works after a non-editable install too.
    package_dir={"compare_ssgan.gin_configs": "gin_configs"},
    package_data={"compare_ssgan.gin_configs": ["*.gin", "**/*.gin"]},
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "test": ["pytest>=7", "pytest-timeout>=2", "matplotlib>=3.5"],
        "plots": ["matplotlib>=3.5"],
    },
    entry_points={"console_scripts": ["compare_ssgan=compare_ssgan.cli:run"]},
)
