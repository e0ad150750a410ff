"""What every verb shares: flag parsing, `--help`, the one-line error, quiet TensorFlow.

A verb module defines `COMMAND = Command(name, __doc__, define_flags, main)`:
  * `define_flags(fv)` declares its absl flags on a private `FlagValues` (so verbs never
    collide, and a verb can be run twice in one process);
  * `main(fv, args)` reads them, calls the verb's library function and prints; `args` are
    the positional arguments (an error unless the verb declares `positional`).
absl's own `--help` and unknown-flag handling exit 1 with a traceback-like dump; here
`--help` prints usage and exits 0, and every expected failure (`compare_ssgan.errors.Error`,
a bad flag) prints one `compare_ssgan VERB: error: ...` line and exits 2. Anything else is
a bug: its traceback is kept and the exit code is 1.
"""

import sys
import traceback

from absl import flags
from absl import logging

from compare_ssgan import errors

PROGRAM = "compare_ssgan"
HELP_FLAGS = ("-h", "-help", "--help", "-?", "--helpshort", "--helpfull")


class Command:
  """One verb of the `compare_ssgan` command."""

  def __init__(self, name, doc, define_flags, main, positional=None):
    """Args:
      name: the verb as typed (`linear-eval`).
      doc: the module docstring: first line is the summary, the rest the usage text.
      define_flags: fn(FlagValues) declaring the verb's flags.
      main: fn(FlagValues, positional args) -> exit code (None means 0).
      positional: None when the verb takes no positional argument, else how the usage
        names them (e.g. "IN.gin").
    """
    self.name = name
    self.doc = (doc or "").strip()
    self.define_flags = define_flags
    self.main = main
    self.positional = positional

  @property
  def summary(self):
    return self.doc.splitlines()[0] if self.doc else ""

  def flag_values(self):
    fv = flags.FlagValues()
    self.define_flags(fv)
    flags.DEFINE_integer("verbosity", 0, "0: quiet (progress and results); 1: also "
                         "third-party messages and tracebacks of expected errors.",
                         flag_values=fv)
    return fv

  def usage(self, fv):
    lines = [f"usage: {PROGRAM} {self.name} [flags]"
             f"{' ' + self.positional if self.positional else ''}", "", self.doc, "",
             "flags:"]
    for name in sorted(fv):
      flag = fv[name]
      if name != flag.name or name in ("flagfile", "undefok"):
        continue  # short aliases; absl's own file flags
      spelled = f"--[no]{name}" if flag.boolean else f"--{name}"
      default = "" if flag.default in (None, [], "") else f" (default: {flag.default_as_str})"
      lines.append(f"  {spelled}: {flag.help}{default}")
    return "\n".join(lines) + "\n"


def fail_line(verb, message):
  """The one-line error every verb prints: the whole message, newlines folded."""
  text = " ".join(str(message).split()) or "failed"
  return f"{PROGRAM} {verb}: error: {text}"


def execute(command, argv):
  """Runs `command` on `argv` (without program and verb); returns the exit code."""
  fv = command.flag_values()
  if any(a in HELP_FLAGS for a in argv):
    sys.stdout.write(command.usage(fv))
    return 0
  try:
    args = fv([f"{PROGRAM} {command.name}"] + list(argv))[1:]
  except flags.Error as e:
    print(fail_line(command.name, f"{e} (see --help)"), file=sys.stderr)
    return 2
  if args and not command.positional:
    print(fail_line(command.name, f"unexpected arguments: {' '.join(args)}"), file=sys.stderr)
    return 2
  quiet = fv.verbosity < 1
  _setup_logging(fv.verbosity)
  try:
    code = command.main(fv, args)
  except errors.Interrupted as e:
    print(str(e), file=sys.stderr)
    return e.exit_code
  except errors.Error as e:
    if not quiet:
      traceback.print_exc()
    print(fail_line(command.name, e), file=sys.stderr)
    return 2
  return int(code or 0)


def _setup_logging(verbosity):
  """absl INFO to stderr (progress lines); third-party noise only with --verbosity >= 1."""
  if not flags.FLAGS.is_parsed():
    flags.FLAGS([PROGRAM], known_only=True)
  logging.set_verbosity(logging.DEBUG if verbosity >= 2 else logging.INFO)
  from compare_ssgan.cli import quiet  # pylint: disable=import-outside-toplevel
  if verbosity < 1:
    quiet.load_tensorflow()
    quiet.silence_third_party()
