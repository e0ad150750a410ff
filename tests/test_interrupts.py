"""SIGINT/SIGTERM: stop mid host call, save the step reached, exit 130/143, resume exactly;
the interrupt checkpoint never pushes a periodic one out of keep_checkpoint_max.

The mid-host-call tests need ModularGAN to read `stop_flag` in its loop
(/work/handoff/issue13_modular_gan.patch); without it the run stops only when the host call
of several seconds ends, and they fail on the latency assertion.
"""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import errors, gin_utils, interrupts, runner, runs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {k: v for k, v in os.environ.items() if not k.startswith("COMPARE_SSGAN")}
ENV.update(PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES="", TF_DETERMINISTIC_OPS="1",
           TF_CPP_MIN_LOG_LEVEL="3")
MAIN = [sys.executable, "-c", "import sys; from compare_ssgan import cli; "
        "sys.exit(cli.main(sys.argv[1:]))"]
# One host call of 300 steps (several seconds here); no periodic checkpoint before the end.
LONG_CALL = ["options.training_steps = 300", "run_config.iterations_per_loop = 1000",
             "run_config.save_checkpoints_steps = 1000"]
LINE = re.compile(r"^interrupted at step (\d+): saved ckpt-(\d+); run the same command to "
                  r"resume$")


def _train_args(model_dir):
  args = ["train", "--gin_config", "test_tiny", "--model_dir", str(model_dir)]
  for b in LONG_CALL:
    args += ["--gin_bindings", b]
  return args


def _interrupt(model_dir, signum, seconds_into_training=2.0):
  """Starts training, sends `signum` that long after the loop started; returns
  (exit code, seconds from the signal to the interrupt line, the stderr lines)."""
  proc = subprocess.Popen(MAIN + _train_args(model_dir), stderr=subprocess.PIPE, text=True,
                          env=ENV, cwd="/")
  lines = []
  for line in proc.stderr:
    lines.append(line.rstrip("\n"))
    if "Training from step" in line:
      break
  time.sleep(seconds_into_training)
  sent = time.time()
  proc.send_signal(signum)
  latency = None
  for line in proc.stderr:
    lines.append(line.rstrip("\n"))
    if latency is None and LINE.match(line.strip()):
      latency = time.time() - sent
  proc.wait(timeout=120)
  return proc.returncode, latency, lines


def _variables(path):
  reader = tf.train.load_checkpoint(path)
  return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


@pytest.mark.slow   # three training processes: about 100 s on 2 shared cores
def test_sigterm_mid_host_call_saves_resumes_and_matches_an_uninterrupted_run(tmp_path):
  code, latency, lines = _interrupt(tmp_path / "run", signal.SIGTERM)
  assert code == 143, "\n".join(lines[-30:])
  assert latency is not None and latency < 5.0, (latency, lines[-10:])
  step = int(LINE.match([l for l in lines if LINE.match(l)][0]).group(1))
  assert 0 < step < 300, step                   # stopped inside the 300-step host call
  assert tf.train.latest_checkpoint(str(tmp_path / "run")).endswith(f"ckpt-{step}")
  resumed = subprocess.run(MAIN + _train_args(tmp_path / "run"), capture_output=True,
                           text=True, env=ENV, cwd="/", timeout=300)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f"at step {step}" in resumed.stderr and "steps: 300/300" in resumed.stdout
  assert runs.checkpoint_steps(tmp_path / "run") == [300]
  assert not tf.io.gfile.glob(str(tmp_path / "run" / f"ckpt-{step}.*"))   # cleaned up
  straight = subprocess.run(MAIN + _train_args(tmp_path / "straight"), capture_output=True,
                            text=True, env=ENV, cwd="/", timeout=300)
  assert straight.returncode == 0, straight.stderr[-3000:]
  a = _variables(str(tmp_path / "straight" / "ckpt-300"))
  b = _variables(str(tmp_path / "run" / "ckpt-300"))
  assert sorted(a) == sorted(b) and len(a) > 50
  assert [n for n in a if not np.array_equal(a[n], b[n])] == []


def test_sigint_mid_host_call_exits_130_with_a_checkpoint(tmp_path):
  code, latency, lines = _interrupt(tmp_path, signal.SIGINT)
  assert code == 130, "\n".join(lines[-30:])
  assert latency is not None and latency < 5.0, (latency, lines[-10:])
  step = int(LINE.match([l for l in lines if LINE.match(l)][0]).group(1))
  assert 0 < step < 300
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith(f"ckpt-{step}")
  assert not (tmp_path / runs.TRAIN_DONE).exists()
  assert not any("Traceback" in l for l in lines)


def test_interrupt_checkpoint_stays_out_of_keep_checkpoint_max(tmp_path):
  """Periodic checkpoints every 2 steps, 2 kept; a stop at step 5 writes ckpt-5 and points
  `checkpoint` at it without dropping ckpt-2 or ckpt-4; the resumed run starts there and
  removes ckpt-5 once ckpt-6 exists, keeping ckpt-4 and ckpt-6."""
  bindings = ["options.training_steps = 8", "run_config.iterations_per_loop = 1",
              "run_config.keep_checkpoint_max = 2"]
  gin_utils.parse(["test_tiny"], bindings)
  stop = interrupts.StopSignals()              # not entered: the test plays the signal

  def log(line):
    if line.startswith("step 5/"):
      stop.signum = signal.SIGTERM

  with pytest.raises(errors.Interrupted, match=r"^interrupted at step 5: saved ckpt-5;") as e:
    runner.train(runner.Experiment(str(tmp_path)), log=log, stop=stop)
  assert e.value.exit_code == 143
  assert runs.checkpoint_steps(tmp_path) == [2, 4]
  assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "ckpt-5")
  gin_utils.parse(["test_tiny"], bindings)
  logs, steps_after_6 = [], []

  def watch(line):
    logs.append(line)
    if line.endswith("ckpt-6"):
      steps_after_6.append(runs.checkpoint_steps(tmp_path))
      steps_after_6.append(bool(tf.io.gfile.glob(str(tmp_path / "ckpt-5.*"))))

  runner.train(runner.Experiment(str(tmp_path)), log=watch)
  assert any(l.startswith("Resumed from") and l.endswith("at step 5") for l in logs), logs
  assert steps_after_6 == [[4, 6], False]
  assert runs.checkpoint_steps(tmp_path) == [6, 8]


_BLOCKED = r"""
import os, sys
from compare_ssgan import interrupts
with interrupts.StopSignals() as stop:
  read_end, _ = os.pipe()
  print("ready", flush=True)
  os.read(read_end, 1)          # blocks forever, like a long host call
"""


def test_second_sigint_exits_at_once():
  proc = subprocess.Popen([sys.executable, "-c", _BLOCKED], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=ENV)
  assert proc.stdout.readline().strip() == "ready"
  proc.send_signal(signal.SIGINT)
  time.sleep(0.5)
  assert proc.poll() is None                    # the first one only asks to stop
  sent = time.time()
  proc.send_signal(signal.SIGINT)
  proc.wait(timeout=10)
  assert proc.returncode == 130 and time.time() - sent < 2.0
  assert "second interrupt" in proc.stderr.read()


def test_signal_while_raising_raises_interrupted_at_once():
  """Evaluation and waiting run `raising()`: the handler raises, with the signal's code."""
  with interrupts.StopSignals() as stop:
    start = time.time()
    with pytest.raises(errors.Interrupted, match="interrupted while evaluating; run the "
                       "same command to resume") as e:
      with stop.raising("while evaluating"):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
    assert e.value.exit_code == 143 and time.time() - start < 2.0
  assert signal.getsignal(signal.SIGTERM) is not stop._handler  # pylint: disable=protected-access


def test_no_signal_handling_where_workers_must_stop_together():
  """Multi-worker and TPU strategies install no handlers (PreemptionCheckpointHandler acts
  there): the stand-in is a context manager that never asks the loop to stop."""
  from compare_ssgan import interrupts  # pylint: disable=import-outside-toplevel
  with interrupts.NoStop() as stop:
    assert stop.flag() is None and not stop.requested
    with stop.raising("evaluating"):
      pass
