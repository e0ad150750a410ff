"""`compare_ssgan evaluate-module` as a script (`--help` shows its flags).

The code lives in the package (compare_ssgan/cli/), installed as `compare_ssgan evaluate-module`.
"""

import sys

from compare_ssgan import cli

if __name__ == "__main__":
  sys.exit(cli.main(["evaluate-module"] + sys.argv[1:]))
