"""`compare_ssgan reproduce` as a script (`--help` shows its flags).

The code lives in the package (compare_ssgan/cli/), installed as `compare_ssgan reproduce`.
"""

import sys

from compare_ssgan import cli

if __name__ == "__main__":
  sys.exit(cli.main(["reproduce"] + sys.argv[1:]))
