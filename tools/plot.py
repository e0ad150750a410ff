"""`compare_ssgan plot` as a script (`--help` shows its flags).

The code lives in the package (compare_ssgan/cli/), installed as `compare_ssgan plot`.
"""

import sys

from compare_ssgan import cli

if __name__ == "__main__":
  sys.exit(cli.main(["plot"] + sys.argv[1:]))
