"""On-disk caches of the metrics package (real activations, domain classifiers)."""

import hashlib
import os

import numpy as np


def default_cache_dir():
  """$COMPARE_SSGAN_CACHE_DIR, else ~/.cache/compare_ssgan."""
  return os.environ.get("COMPARE_SSGAN_CACHE_DIR",
                        os.path.join(os.path.expanduser("~"), ".cache", "compare_ssgan"))


def key_digest(*parts):
  """A short, filename-safe hash of the key parts (the readable key is stored alongside)."""
  return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def save_npz_atomic(path, **arrays):
  """Writes then renames, so a concurrent reader never sees a half-written file."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = f"{path}.tmp{os.getpid()}.npz"
  np.savez(tmp, **arrays)
  os.replace(tmp, path)


def load_npz(path):
  with np.load(path, allow_pickle=False) as data:
    return {k: data[k] for k in data.files}
