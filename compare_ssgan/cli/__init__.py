"""`compare_ssgan VERB [flags]`: the one installed command, one module per verb.

Each verb module holds a `COMMAND` (flags, help, error style: `command.py`) and a `run(...)`
function that notebooks and tests call directly. A bare `compare_ssgan --gin_config ...`
(compare_gan's habit) means `compare_ssgan train ...`.
"""

import importlib
import sys

from compare_ssgan.cli import command

# verb -> module under compare_ssgan.cli (imported only when the verb runs, so `--help`
# does not pay for TensorFlow).
VERBS = {
    "train": "train",
    "sample": "sample",
    "evaluate": "evaluate",
    "evaluate-module": "evaluate_module",
    "export": "export",
    "linear-eval": "linear_eval",
    "plot": "plot",
    "reproduce": "reproduce",
    "convert-config": "convert_config",
    "summary": "summary",
    "benchmark": "benchmark",
    "benchmark-input": "benchmark_input",
    "forgetting": "forgetting",
    "study": "study",
}


def verb_command(verb):
  """The `Command` of a verb (imports its module)."""
  return importlib.import_module(f"compare_ssgan.cli.{VERBS[verb]}").COMMAND


def _overview():
  lines = [f"usage: {command.PROGRAM} VERB [flags]   ({command.PROGRAM} VERB --help for a "
           "verb's flags)", "", "verbs:"]
  for verb in VERBS:
    lines.append(f"  {verb:<16} {verb_command(verb).summary}")
  lines.append("")
  lines.append(f"A bare `{command.PROGRAM} --gin_config ...` runs `train`.")
  return "\n".join(lines) + "\n"


def main(argv=None):
  """Entry point of the console script; returns the exit code."""
  argv = list(sys.argv[1:] if argv is None else argv)
  if not argv or argv[0] in command.HELP_FLAGS:
    sys.stdout.write(_overview())
    return 0 if argv else 2
  verb = argv[0]
  if verb.startswith("-"):   # compare_gan habit: flags straight after the program name
    verb, argv = "train", ["train"] + argv
  if verb not in VERBS:
    print(command.fail_line(verb, f"unknown verb; choose one of {', '.join(VERBS)}"),
          file=sys.stderr)
    return 2
  return command.execute(verb_command(verb), argv[1:])


def run():
  """The console script (`compare_ssgan = compare_ssgan.cli:run`)."""
  sys.exit(main())
