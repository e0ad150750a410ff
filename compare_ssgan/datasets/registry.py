"""`get_dataset` (gin `dataset.*`, compare_gan's names) and the table of dataset names.

A dataset module adds itself with `register(name, factory, resolution, num_classes)`; the
shape given there is what tools that build networks without reading data (the model
summary, the benchmark) use, so no other table of dataset shapes exists.
"""

import functools
from typing import Callable, Dict, Optional, Tuple

import gin
from absl import logging

from compare_ssgan import errors
from compare_ssgan.datasets import builtin
from compare_ssgan.options import DEFAULT_SEED

DEFAULT_NAME = "builtin_32"

# name -> factory(name=..., seed=..., shuffle_buffer_size=..., tfds_data_dir=...,
# tfds_manual_dir=..., num_parallel_calls=...) -> ImageDataset. Factories ignore keys they
# do not use.
DATASETS: Dict[str, Callable] = {}
# name -> (resolution, num_classes); None where only the data tells (image folders).
SHAPES: Dict[str, Tuple[Optional[int], Optional[int]]] = {}


def register(name: str, factory: Callable, resolution: Optional[int] = None,
             num_classes: Optional[int] = None) -> None:
  DATASETS[name] = factory
  SHAPES[name] = (resolution, num_classes)


def dataset_shape(name: str) -> Tuple[Optional[int], Optional[int]]:
  """(resolution, num_classes) of a registered dataset, without reading any data."""
  if name not in SHAPES:
    raise errors.ConfigError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
  return SHAPES[name]


for _res in builtin.RESOLUTIONS:
  register(f"builtin_{_res}", functools.partial(builtin.make_builtin, resolution=_res),
           resolution=_res, num_classes=builtin.NUM_CLASSES)


@gin.configurable("dataset")
def get_dataset(name=None, seed=DEFAULT_SEED, tfds_data_dir=None, tfds_manual_dir=None,
                shuffle_buffer_size=10000, num_parallel_calls=None):
  """The `ImageDataset` called `name` (compare_gan's `dataset.name` / `dataset.seed`).

  Args:
    name: a key of `DATASETS` (e.g. "cifar10", "image_folder", "builtin_32"); None means
      the offline default `builtin_32`, so a bare run needs no download.
    seed: the data order's default seed (and the built-in dataset's content seed).
    tfds_data_dir: where TFDS datasets live (the train command's `--tfds_data_dir` binds
      it; default TFDS's own, ~/tensorflow_datasets).
    tfds_manual_dir: TFDS manual-download folder (CelebA-HQ).
    shuffle_buffer_size: block size of the stateless shuffle of streamed (TFDS) splits.
    num_parallel_calls: parallel decode calls (default AUTOTUNE).
  """
  if name is None:
    logging.info("dataset.name not set: using the offline built-in dataset %s", DEFAULT_NAME)
    name = DEFAULT_NAME
  if name not in DATASETS:
    raise errors.ConfigError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
  kwargs = dict(seed=int(seed), shuffle_buffer_size=int(shuffle_buffer_size),
                tfds_data_dir=tfds_data_dir, tfds_manual_dir=tfds_manual_dir)
  if num_parallel_calls is not None:
    kwargs["num_parallel_calls"] = int(num_parallel_calls)
  return DATASETS[name](name=name, **kwargs)
