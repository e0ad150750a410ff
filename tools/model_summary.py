"""`compare_ssgan summary` as a script (`--help` shows its flags).

The code lives in the package (compare_ssgan/cli/), installed as `compare_ssgan summary`.
"""

import sys

from compare_ssgan import cli

if __name__ == "__main__":
  sys.exit(cli.main(["summary"] + sys.argv[1:]))
