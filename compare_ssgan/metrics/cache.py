"""On-disk caches of the metrics package (real activations, domain classifiers).

Every file goes through `tf.io.gfile`, so a cache directory may be a URL (`gs://...`, or
`ram://...` in tests) as well as a local folder; `os`/`open`/`np.savez` would write a
local folder named `gs:` instead.
"""

import hashlib
import os
import uuid

import tensorflow as tf

from compare_ssgan import images


def default_cache_dir():
  """$COMPARE_SSGAN_CACHE_DIR (a folder or a URL), else ~/.cache/compare_ssgan."""
  return os.environ.get("COMPARE_SSGAN_CACHE_DIR",
                        os.path.join(os.path.expanduser("~"), ".cache", "compare_ssgan"))


def key_digest(*parts):
  """A short, filename-safe hash of the key parts (the readable key is stored alongside)."""
  return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def exists(path):
  """Whether a cache file is there (any filesystem TensorFlow knows)."""
  return tf.io.gfile.exists(path)


def temp_name(path):
  """A sibling of `path` no other writer uses (pid + random: hosts may share a bucket)."""
  return f"{path}.tmp{os.getpid()}-{uuid.uuid4().hex[:8]}"


def write_bytes_atomic(path, data):
  """Writes to a temporary sibling, then renames, so readers never see half a file."""
  tf.io.gfile.makedirs(os.path.dirname(path))
  tmp = temp_name(path)
  try:
    with tf.io.gfile.GFile(tmp, "wb") as f:
      f.write(data)
    tf.io.gfile.rename(tmp, path, overwrite=True)
  finally:
    if tf.io.gfile.exists(tmp):
      tf.io.gfile.remove(tmp)


def save_npz_atomic(path, **arrays):
  """`np.savez` into memory (it cannot write to a GFile), then an atomic-ish write."""
  write_bytes_atomic(path, images.npz_bytes(**arrays))


def load_npz(path):
  """The arrays of an .npz cache file, read through gfile."""
  return images.load_npz(path)
