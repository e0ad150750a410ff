"""`compare_ssgan evaluate` as a script (`--help` shows its flags).

The code lives in the package (compare_ssgan/cli/), installed as `compare_ssgan evaluate`.
"""

import sys

from compare_ssgan import cli

if __name__ == "__main__":
  sys.exit(cli.main(["evaluate"] + sys.argv[1:]))
