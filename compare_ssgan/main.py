"""`python -m compare_ssgan.main --gin_config NAME --model_dir DIR`: compare_gan's habit.

The same as `compare_ssgan train ...` (compare_ssgan/cli/train.py).
"""

import sys

from compare_ssgan import cli


def run():
  """Runs the `train` verb on the process's arguments (a leading verb is honoured, so an
  older console script pointing here still serves `compare_ssgan VERB ...`)."""
  argv = sys.argv[1:]
  sys.exit(cli.main(argv if argv and argv[0] in cli.VERBS else ["train"] + argv))


if __name__ == "__main__":
  run()
