"""`compare_ssgan benchmark` as a script (`--help` shows its flags).

The code lives in the package (compare_ssgan/cli/), installed as `compare_ssgan benchmark`.
"""

import sys

from compare_ssgan import cli

if __name__ == "__main__":
  sys.exit(cli.main(["benchmark"] + sys.argv[1:]))
