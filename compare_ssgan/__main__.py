"""`python -m compare_ssgan VERB ...`: the same as the installed `compare_ssgan` command."""

from compare_ssgan import cli

if __name__ == "__main__":
  cli.run()
