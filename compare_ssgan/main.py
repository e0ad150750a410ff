"""`python -m compare_ssgan.main --gin_config NAME --model_dir DIR`: compare_gan's habit.

The same as `compare_ssgan train ...` (compare_ssgan/cli/train.py).
"""

import sys

from compare_ssgan import cli


def run():
  """Runs the `train` verb on the process's arguments."""
  sys.exit(cli.main(["train"] + sys.argv[1:]))


if __name__ == "__main__":
  run()
