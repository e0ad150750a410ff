"""Datasets following the element contract `{"images": [H,W,3] in [0,1], "labels": int32}`.

`get_dataset()` (gin `dataset.name`, `dataset.seed`, ...) returns an `ImageDataset`; see
WORKSPACE_NOTES.md (Interfaces) and `core.py` for how the order is made a pure function of
the seed. Importing this package registers every gin name (`dataset`, `builtin`,
`image_folder`, `lsun_lmdb`, `train_imagenet_transform`, `eval_imagenet_transform`).
"""

from compare_ssgan.datasets.core import ImageDataset
from compare_ssgan.datasets.registry import DATASETS, get_dataset, set_tfds_data_dir
from compare_ssgan.datasets import tfds_datasets  # noqa: F401,E402  (registers TFDS names)
# After tfds_datasets: `lsun-bedroom` becomes "LMDB if `lsun_lmdb.path` is set, else TFDS".
from compare_ssgan.datasets import lsun_lmdb  # noqa: F401,E402
from compare_ssgan.datasets import image_folder  # noqa: F401,E402  (registers image_folder)

__all__ = ["DATASETS", "ImageDataset", "get_dataset", "set_tfds_data_dir"]
