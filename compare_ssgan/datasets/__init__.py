"""Datasets following the element contract `{"images": [H,W,3] in [0,1], "labels": int32}`.

`get_dataset()` (gin `dataset.name`, `dataset.seed`, ...) returns an `ImageDataset`; see
WORKSPACE_NOTES.md (Interfaces) and `core.py` for how the order is made a pure function of
the seed. Importing this package registers every gin name (`dataset`, `builtin`,
`image_folder`, `lsun_lmdb`, `train_imagenet_transform`, `eval_imagenet_transform`).
"""

import importlib
import pkgutil

from compare_ssgan.datasets.core import ImageDataset
from compare_ssgan.datasets.registry import DATASETS, dataset_shape, get_dataset, register

# Every module of this package is imported, so a new dataset module registers itself
# (`registry.register(...)` at its end) with no list to edit.
for _module in pkgutil.iter_modules(__path__):
  importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["DATASETS", "ImageDataset", "dataset_shape", "get_dataset", "register"]
