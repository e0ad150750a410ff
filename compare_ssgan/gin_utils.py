"""Gin plumbing: finding configs, parsing them, and refusing silent mistakes.

gin is compare_ssgan's configuration surface. Three things gin does not do for us:
  * find configs by name after a non-editable install (we ship `gin_configs/` inside the
    package as `compare_ssgan.gin_configs` and search there);
  * complain about a binding whose configurable is never called (gin ignores it silently,
    so a typo such as `SSGAN.weight_rotation_los_d` in a configurable that exists but a
    parameter that does not is caught by gin, while `G.spectral_norm` in a run that never
    builds G is not): `check_bindings_used()` closes that gap;
  * write `operative_config-<step>.gin` (`gin.tf` does not import on TF >= 2.16).
"""

import contextlib
import logging
import os
from typing import Iterable, List, Optional, Sequence

import gin

from compare_ssgan import errors

_REPO_CONFIG_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                 "gin_configs")


class GinConfigError(errors.ConfigError):
  """A gin config or binding that cannot be honoured; the message names the culprit."""


def config_root() -> str:
  """The folder that `--gin_config NAME` and gin `include` lines are relative to."""
  try:
    from compare_ssgan import gin_configs  # pylint: disable=import-outside-toplevel
    root = os.path.dirname(os.path.abspath(gin_configs.__file__))
    if os.path.isdir(root):
      return root
  except ImportError:
    pass
  return _REPO_CONFIG_ROOT


def resolve_config(name_or_path: str) -> str:
  """Returns the file for a config given as a path or as a name under `config_root()`.

  `cifar10/ssgan`, `cifar10/ssgan.gin` and `/abs/path/x.gin` all work, from any working
  directory.
  """
  candidates = [name_or_path]
  if not name_or_path.endswith(".gin"):
    candidates.append(name_or_path + ".gin")
  for candidate in candidates:
    if os.path.isfile(candidate):
      return os.path.abspath(candidate)
  root = config_root()
  for candidate in candidates:
    path = os.path.join(root, candidate)
    if os.path.isfile(path):
      return path
  raise GinConfigError(
      f"gin config {name_or_path!r} not found as a path nor under {root} "
      f"(available: {', '.join(list_configs()[:20])}...)")


def list_configs() -> List[str]:
  """All config names under the root, e.g. `cifar10/ssgan.gin`."""
  root = config_root()
  names = []
  for dirpath, _, files in os.walk(root):
    for f in files:
      if f.endswith(".gin"):
        names.append(os.path.relpath(os.path.join(dirpath, f), root))
  return sorted(names)


def register_all():
  """Imports every module that registers configurables, so any config can parse."""
  # pylint: disable=import-outside-toplevel,unused-import
  import compare_ssgan.architectures  # noqa: F401
  import compare_ssgan.datasets  # noqa: F401
  import compare_ssgan.gans  # noqa: F401
  import compare_ssgan.metrics  # noqa: F401
  import compare_ssgan.options  # noqa: F401
  import compare_ssgan.forgetting  # noqa: F401


def parse(configs: Sequence[str] = (), bindings: Sequence[str] = (),
          finalize: bool = True, allow_unknown: Sequence[str] = ()) -> None:
  """Clears gin, then parses config files (paths or names) and bindings.

  Unknown configurables and unknown parameters raise `GinConfigError` naming them.
  `allow_unknown` lists configurable names (e.g. `SSGAN`) whose bindings and references are
  skipped if nothing registered them (for tools that run without those modules); parameters
  of known configurables are still checked. A config that references a skipped
  configurable cannot be finalized: pass `finalize=False` and rebind what you read.
  """
  register_all()
  gin.clear_config()
  # A run's own config on a URL filesystem (gs://, ram://: `sample`/`export` of a remote
  # run read its operative_config) is parsed from its text; gin opens only local files.
  remote = [c for c in configs if "://" in c]
  bindings = [_read_remote(c) for c in remote] + list(bindings)
  files = [resolve_config(c) for c in configs if "://" not in c]
  # `include` lines are found under the config root, then next to the including file;
  # never in the working directory (gin's default looks there first).
  folders = list(dict.fromkeys([config_root()] + [os.path.dirname(f) for f in files]))
  try:
    with _include_search_path(folders):
      gin.parse_config_files_and_bindings(files, list(bindings), finalize_config=False,
                                          skip_unknown=list(allow_unknown) or False)
  except (ValueError, KeyError, TypeError, SyntaxError, OSError) as e:
    detail = " ".join(str(e).split())
    if isinstance(e, SyntaxError):
      detail = f"{e.msg} (in {e.text.strip() if e.text else 'a binding'!r})"
    raise GinConfigError(f"bad gin config or binding: {detail}") from e
  if finalize:
    gin.finalize()


def _read_remote(path):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if not tf.io.gfile.exists(path):
    raise GinConfigError(f"gin config {path!r} not found")
  with tf.io.gfile.GFile(path) as f:
    return f.read()


@contextlib.contextmanager
def _include_search_path(folders):
  """gin keeps its include search path in a module list; swap it for one parse."""
  prefixes = gin.config._LOCATION_PREFIXES  # pylint: disable=protected-access
  saved = list(prefixes)
  prefixes[:] = list(folders)
  # gin's package-resource reader logs an ERROR for every folder an include is not in;
  # trying the next folder is expected here, so those records are dropped.
  quiet = _DropRecords("Path not found")
  logging.getLogger().addFilter(quiet)
  try:
    yield
  finally:
    prefixes[:] = saved
    logging.getLogger().removeFilter(quiet)


class _DropRecords(logging.Filter):
  def __init__(self, prefix):
    super().__init__()
    self.prefix = prefix

  def filter(self, record):
    return not str(record.msg).startswith(self.prefix)


@contextlib.contextmanager
def configuration_errors():
  """Turns the errors gin raises while CALLING configurables (a misspelled parameter that a
  pass-through configurable forwards, a missing required binding) into `GinConfigError`.
  Only gin's own wrapper messages are converted; any other TypeError stays a bug."""
  try:
    yield
  except (TypeError, RuntimeError) as e:
    text = str(e)
    if "In call to configurable" in text or "Required bindings for" in text:
      raise GinConfigError(" ".join(text.split())) from e
    raise


def is_registered(name: str) -> bool:
  """Whether some imported module registered the configurable `name`."""
  return bool(gin.config._REGISTRY.matching_selectors(name))  # pylint: disable=protected-access


def _bound_keys() -> List[tuple]:
  """(scope, selector, parameter) for every binding that was parsed."""
  # gin keeps parsed bindings in `_CONFIG`: {(scope, selector): {param: value}}.
  keys = []
  for (scope, selector), params in gin.config._CONFIG.items():  # pylint: disable=protected-access
    for param in params:
      keys.append((scope, selector, param))
  return keys


def _minimal_selector(selector: str) -> str:
  try:
    return gin.config._REGISTRY.minimal_selector(selector)  # pylint: disable=protected-access
  except (KeyError, ValueError):
    return selector


def _used_keys() -> set:
  used = set()
  for (scope, selector), params in gin.config._OPERATIVE_CONFIG.items():  # pylint: disable=protected-access
    for param in params:
      used.add((scope, selector, param))
  return used


def unused_bindings(ignore: Iterable[str] = ()) -> List[str]:
  """Bindings that were parsed but never consumed by a configurable call."""
  ignore = set(ignore)
  used = _used_keys()
  unused = []
  for scope, selector, param in _bound_keys():
    if (scope, selector, param) in used:
      continue
    name = selector.split(".")[-1] if "." in selector else selector
    # Report the selector as a config would spell it (`D`, not the module path).
    short = _minimal_selector(selector)
    if selector in ignore or name in ignore or short in ignore:
      continue
    prefix = f"{scope}/" if scope else ""
    unused.append(f"{prefix}{short}.{param}")
  return sorted(unused)


def check_bindings_used(ignore: Iterable[str] = ()) -> None:
  """Raises `GinConfigError` if a parsed binding was never used.

  Call after everything that should read gin (G, D, GAN, dataset, optimizers) was built.
  """
  unused = unused_bindings(ignore)
  if unused:
    raise GinConfigError(
        "gin bindings that nothing in this run used (misspelled, or for a part this run "
        "does not build): " + ", ".join(unused))


def write_operative_config(model_dir: str, step: int) -> str:
  """Writes `operative_config-<step>.gin` (what gin.tf's hook used to write)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  path = os.path.join(model_dir, f"operative_config-{int(step)}.gin")
  tf.io.gfile.makedirs(model_dir)
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(gin.operative_config_str())
  return path


def query(name: str, default: Optional[object] = None):
  """`gin.query_parameter` that returns `default` when the binding is absent."""
  try:
    return gin.query_parameter(name)
  except ValueError:
    return default
