"""The one exception type for expected failures.

Every command prints an `Error` as a single line (`compare_ssgan VERB: error: ...`) and exits
2: bad input (an unknown run, a missing checkpoint, a gin typo, an unknown flag), missing
data, an evaluation classifier that cannot be loaded, a diverged run. Anything else that
escapes a command is a bug and keeps its traceback. Subclasses that also derive from a
builtin type (`ValueError`, `RuntimeError`, ...) keep older `except` clauses working.
"""


class Error(Exception):
  """An expected failure; the message is the whole, actionable explanation."""


class ConfigError(Error, ValueError):
  """A configuration (gin binding, flag, name) that cannot be honoured."""


class RunNotFoundError(Error, FileNotFoundError):
  """A run folder, checkpoint or operative config that does not exist."""


class DataError(Error, RuntimeError):
  """A dataset that cannot be read, prepared or used as asked."""


class ClassifierUnavailableError(Error, RuntimeError):
  """An evaluation network (Inception) that cannot be loaded."""


class Interrupted(Error):
  """A run stopped by SIGINT/SIGTERM after saving its state."""

  def __init__(self, message, exit_code):
    super().__init__(message)
    self.exit_code = exit_code
