"""Repository hygiene: the README's test command is what CI runs; every gin config parses."""

import os
import re

import pytest

from compare_ssgan import gin_utils

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(*parts):
  with open(os.path.join(_REPO, *parts)) as f:
    return f.read()


def _last_command(script):
  lines = [l.strip() for l in script.splitlines()]
  lines = [l for l in lines if l and not l.startswith("#")]
  return lines[-1]


def test_ci_runs_the_readme_test_command_last():
  ci = _read(".ci", "run")
  last = _last_command(ci)
  assert last == "python -m pytest -q"
  readme = _read("README.md")
  # The exact command, on a line of its own in a code block.
  assert re.search(r"^" + re.escape(last) + r"\s*$", readme, re.MULTILINE), \
      f"README.md does not show the CI test command {last!r}"


def test_ci_installs_the_test_extra():
  ci = _read(".ci", "run")
  assert re.search(r"pip install .*\.\[test\]", ci)
  assert "venv" in ci


def _gin_files():
  root = os.path.join(_REPO, "gin_configs")
  out = []
  for dirpath, _, files in os.walk(root):
    for f in files:
      if f.endswith(".gin"):
        out.append(os.path.relpath(os.path.join(dirpath, f), root))
  return sorted(out)


@pytest.mark.parametrize("name", _gin_files() or ["<none>"])
def test_gin_config_parses(name):
  if name == "<none>":
    pytest.skip("no gin configs under gin_configs/ yet")
  gin_utils.parse([name])


def test_repo_gin_configs_are_the_shipped_ones():
  # `--gin_config NAME` finds the repository's configs (editable install).
  assert sorted(gin_utils.list_configs()) == _gin_files()
