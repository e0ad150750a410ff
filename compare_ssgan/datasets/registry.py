"""`get_dataset` (gin `dataset.*`, compare_gan's names) and the table of dataset names."""

import functools
from typing import Callable, Dict

import gin
from absl import logging

from compare_ssgan.datasets import builtin

DEFAULT_NAME = "builtin_32"

# name -> factory(name=..., seed=..., shuffle_buffer_size=..., tfds_data_dir=...,
# tfds_manual_dir=..., num_parallel_calls=...) -> ImageDataset. Factories ignore keys they
# do not use.
DATASETS: Dict[str, Callable] = {}

_tfds_data_dir_default = None


def register(name: str, factory: Callable) -> None:
  DATASETS[name] = factory


def set_tfds_data_dir(path) -> None:
  """Default for gin `dataset.tfds_data_dir` (the CLI's `--tfds_data_dir`)."""
  global _tfds_data_dir_default
  _tfds_data_dir_default = path


for _res in builtin.RESOLUTIONS:
  register(f"builtin_{_res}", functools.partial(builtin.make_builtin, resolution=_res))


@gin.configurable("dataset")
def get_dataset(name=None, seed=547, tfds_data_dir=None, tfds_manual_dir=None,
                shuffle_buffer_size=10000, num_parallel_calls=None):
  """The `ImageDataset` called `name` (compare_gan's `dataset.name` / `dataset.seed`).

  Args:
    name: a key of `DATASETS` (e.g. "cifar10", "image_folder", "builtin_32"); None means
      the offline default `builtin_32`, so a bare run needs no download.
    seed: the data order's default seed (and the built-in dataset's content seed).
    tfds_data_dir: where TFDS datasets live (default: `set_tfds_data_dir`, then TFDS's own).
    tfds_manual_dir: TFDS manual-download folder (CelebA-HQ).
    shuffle_buffer_size: block size of the stateless shuffle of streamed (TFDS) splits.
    num_parallel_calls: parallel decode calls (default AUTOTUNE).
  """
  if name is None:
    logging.info("dataset.name not set: using the offline built-in dataset %s", DEFAULT_NAME)
    name = DEFAULT_NAME
  if name not in DATASETS:
    raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
  kwargs = dict(seed=int(seed), shuffle_buffer_size=int(shuffle_buffer_size),
                tfds_data_dir=tfds_data_dir or _tfds_data_dir_default,
                tfds_manual_dir=tfds_manual_dir)
  if num_parallel_calls is not None:
    kwargs["num_parallel_calls"] = int(num_parallel_calls)
  return DATASETS[name](name=name, **kwargs)
