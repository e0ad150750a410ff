"""The `compare_ssgan` command family: every verb answers --help, errors are one line.

The installed-script tests run the console script from a temporary folder, as a user of a
non-editable install would (CI installs that way). From an editable install or the source
tree they are skipped, saying so.
"""

import os
import shutil
import subprocess
import sys

import pytest

import compare_ssgan
from compare_ssgan import cli
from compare_ssgan.cli import command, train

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FROM_SOURCE = os.path.abspath(compare_ssgan.__file__).startswith(_REPO + os.sep)
_SCRIPT = shutil.which("compare_ssgan") or os.path.join(os.path.dirname(sys.executable),
                                                        "compare_ssgan")

installed_only = pytest.mark.skipif(
    _FROM_SOURCE, reason="compare_ssgan is imported from the source tree (editable install): "
    "the installed console script is tested on a non-editable install, as CI does")


def _run(args, cwd, env=None):
  return subprocess.run([_SCRIPT] + args, capture_output=True, text=True, cwd=cwd,
                        timeout=300, env=env)


@pytest.mark.parametrize("verb", list(cli.VERBS))
def test_every_verb_helps_in_process(verb, capsys):
  assert cli.main([verb, "--help"]) == 0
  out = capsys.readouterr().out
  assert out.startswith(f"usage: compare_ssgan {verb}") and "--verbosity" in out


def test_overview_lists_every_verb(capsys):
  assert cli.main(["--help"]) == 0
  out = capsys.readouterr().out
  for verb in cli.VERBS:
    assert f"  {verb} " in out


@installed_only
def test_installed_script_every_verb_help(tmp_path):
  """One process per verb would take minutes; --help never imports TensorFlow, so each
  call is quick."""
  for verb in cli.VERBS:
    proc = _run([verb, "--help"], cwd=tmp_path)
    assert proc.returncode == 0, (verb, proc.stderr[-2000:])
    assert f"usage: compare_ssgan {verb}" in proc.stdout
  assert not os.listdir(tmp_path)


@installed_only
def test_installed_script_missing_run_is_one_line(tmp_path):
  env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  proc = _run(["sample", "--model_dir", "/nonexistent"], cwd=tmp_path, env=env)
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines() == [
      "compare_ssgan sample: error: no run folder '/nonexistent'"], proc.stderr


@pytest.mark.parametrize("argv,verb,message", [
    (["sample", "--model_dir", "/nonexistent"], "sample", "no run folder '/nonexistent'"),
    (["sample", "--bogus=1"], "sample", "Unknown command line flag 'bogus'"),
    (["summary", "--gin_config", "demo_cpu", "--gin_bindings", "options.batch_size"],
     "summary", "expected ':' or '='"),
    (["train", "--gin_config", "no_such_config", "--model_dir", "x"], "train",
     "'no_such_config' not found"),
    (["frobnicate"], "frobnicate", "unknown verb"),
    (["export", "surplus"], "export", "unexpected arguments: surplus"),
])
def test_bad_input_is_one_error_line_and_exit_2(argv, verb, message, capsys):
  assert cli.main(argv) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert err[-1].startswith(f"compare_ssgan {verb}: error: ") and message in err[-1], err
  assert not any("Traceback" in line for line in err)


def test_verbosity_shows_the_traceback(capsys):
  assert cli.main(["sample", "--model_dir", "/nonexistent", "--verbosity=1"]) == 2
  assert "Traceback" in capsys.readouterr().err


def test_a_bug_keeps_its_traceback(monkeypatch):
  """Anything that is not a compare_ssgan.errors.Error is a bug: it is not swallowed."""
  def broken(fv, args):
    raise TypeError("a bug")
  monkeypatch.setattr(train.COMMAND, "main", broken)
  with pytest.raises(TypeError, match="a bug"):
    cli.main(["train", "--gin_config", "demo_cpu"])


def test_error_line_keeps_the_whole_message():
  line = command.fail_line("evaluate", "Could not load X.\nWithout internet, do Y.")
  assert line == "compare_ssgan evaluate: error: Could not load X. Without internet, do Y."


@pytest.mark.parametrize("precision,value", [("fp32", "None"), ("bf16", "'mixed_bfloat16'"),
                                             ("fp16", "'mixed_float16'")])
def test_precision_flag_binds_mixed_precision(precision, value):
  bindings = train.flag_bindings(["options.z_dim = 8"], tfds_data_dir="/data",
                                 precision=precision)
  assert bindings == ["options.z_dim = 8", "dataset.tfds_data_dir = '/data'",
                      f"ModularGAN.mixed_precision = {value}"]


def test_precision_reaches_the_gan():
  from compare_ssgan import gin_utils, options  # pylint: disable=import-outside-toplevel
  from compare_ssgan.datasets import get_dataset  # pylint: disable=import-outside-toplevel
  gin_utils.parse(["test_tiny"], train.flag_bindings(precision="bf16"))
  gan = options.options()["gan_class"](dataset=get_dataset())
  assert gan.mixed_precision == "mixed_bfloat16"


def test_tools_are_thin_and_never_edit_sys_path():
  tools = os.path.join(_REPO, "tools")
  for name in os.listdir(tools):
    with open(os.path.join(tools, name)) as f:
      text = f.read()
    assert "sys.path" not in text and len(text.splitlines()) <= 20, name
  for dirpath, _, files in os.walk(os.path.join(_REPO, "compare_ssgan")):
    for name in files:
      if name.endswith(".py"):
        with open(os.path.join(dirpath, name)) as f:
          assert "sys.path.insert" not in f.read(), name
