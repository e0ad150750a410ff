"""The layers a network contains, recorded while it is built.

Batch-norm accumulators, row pruning and the shared spectral-norm iteration need a
network's `StandardizeBatch` and spectral-normalised layers. Instead of walking Keras'
private layer tree, layers report themselves from `build()` to every `recording()` block
that is open, and the networks keep what their first (building) call reported as
`built_layers`.
"""

import contextlib
import threading

_STATE = threading.local()


def _open_lists():
  if not hasattr(_STATE, "lists"):
    _STATE.lists = []
  return _STATE.lists


@contextlib.contextmanager
def recording():
  """Yields the list of layers built inside the block (nested blocks see them too)."""
  found = []
  lists = _open_lists()
  lists.append(found)
  try:
    yield found
  finally:
    lists.remove(found)


class Recorded:
  """The layers a network reported while it was built. A plain holder, not a list or tuple,
  so that Keras does not try to track them as new sub-layers of a built model."""

  def __init__(self, layers):
    self.layers = tuple(layers)

  def __iter__(self):
    return iter(self.layers)


def record(layer):
  """Called by a layer's `build()`."""
  for found in _open_lists():
    found.append(layer)


def built_layers(model, layer_type=object):
  """The layers of `model` (None: none) of `layer_type`, as recorded when it was built."""
  if model is None:
    return []
  if not hasattr(model, "built_layers"):
    raise RuntimeError(f"{type(model).__name__} was not built through build_for_inputs / "
                       "build_for_features, so its layers were not recorded")
  return [l for l in model.built_layers if isinstance(l, layer_type)]
