"""Stopping a run cleanly on SIGINT (Ctrl-C) and SIGTERM (preemption, `kill`).

A Python signal handler runs in the main thread between bytecodes only, so while
`run_config.iterations_per_loop` G steps run inside one tf.function call it would wait for
the whole call (minutes on a big model). Here the handlers do nothing themselves; what acts
is Python's C-level handler writing the signal number to a wakeup fd
(`signal.set_wakeup_fd`): a watcher thread blocked on that fd wakes at once and sets a bool
`tf.Variable` that the training loop reads before each G step (`ModularGAN.stop_flag`).
The runner then saves a checkpoint at the step reached and raises `errors.Interrupted`.
While `raising()` (evaluation, waiting for checkpoints: work that a rerun redoes anyway)
the handler raises `errors.Interrupted` itself. A second SIGINT ends the process at once.

Multi-worker and TPU runs are stopped by TensorFlow's PreemptionCheckpointHandler instead
(see runner.py): a lone worker leaving a collective would hang the others.
"""

import contextlib
import os
import signal
import sys
import threading

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class StopSignals:
  """Context manager: records SIGINT/SIGTERM instead of dying, and asks the loop to stop.

  Outside the main thread (signal handlers cannot be installed there) it does nothing and
  `requested` stays False. Attributes: `signum` (the first stop signal, or None).
  """

  def __init__(self, signals=(signal.SIGINT, signal.SIGTERM)):
    self.signals = tuple(signals)
    self.signum = None
    self._flag = None
    self._raising = False
    self._what = ""
    self._active = False
    self._saved = {}

  @property
  def requested(self):
    return self.signum is not None

  @property
  def exit_code(self):
    return EXIT_CODES.get(self.signum, 1)

  def flag(self):
    """The bool tf.Variable the training loop reads (created on first use, outside any
    strategy scope: one host-side flag, never checkpointed)."""
    if self._flag is None:
      import tensorflow as tf  # pylint: disable=import-outside-toplevel
      self._flag = tf.Variable(self.requested, trainable=False, name="stop_requested")
    return self._flag

  def __enter__(self):
    if threading.current_thread() is not threading.main_thread():
      return self
    self._read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    self._write_fd = write_fd
    for signum in self.signals:
      self._saved[signum] = signal.signal(signum, self._handler)
    self._saved_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    self._thread = threading.Thread(target=self._watch, name="stop-signals", daemon=True)
    self._thread.start()
    self._active = True
    return self

  def __exit__(self, *exc):
    if not self._active:
      return False
    signal.set_wakeup_fd(self._saved_wakeup)
    for signum, handler in self._saved.items():
      signal.signal(signum, handler)
    os.close(self._write_fd)        # the watcher reads EOF and ends
    self._thread.join(timeout=5)
    os.close(self._read_fd)
    self._active = False
    return False

  def _handler(self, signum, frame):  # pylint: disable=unused-argument
    """Runs in the main thread when it next executes Python; the watcher already acted."""
    if self._raising:
      raise self.interrupted("interrupted", signum)

  def _watch(self):
    while True:
      try:
        data = os.read(self._read_fd, 64)
      except OSError:
        return
      if not data:
        return
      for signum in data:
        self._on_signal(signum)

  def _on_signal(self, signum):
    if signum not in self.signals:
      return
    if self.requested:
      if signum == signal.SIGINT:
        print("second interrupt: exiting now, without saving", file=sys.stderr, flush=True)
        os._exit(EXIT_CODES[signal.SIGINT])  # pylint: disable=protected-access
      return
    self.signum = signum
    if self._flag is not None:
      self._flag.assign(True)

  @contextlib.contextmanager
  def raising(self, what):
    """Within this block a stop signal raises `errors.Interrupted` at once (`what` names
    the phase in its message): for phases a rerun simply repeats."""
    if self.requested:
      raise self.interrupted(f"interrupted {what}", self.signum)
    saved, self._what = self._raising, what
    self._raising = True
    try:
      yield
    finally:
      self._raising = saved

  def interrupted(self, message, signum=None):
    """`errors.Interrupted` with the exit code of `signum` (default: the recorded one)."""
    from compare_ssgan import errors  # pylint: disable=import-outside-toplevel
    code = EXIT_CODES.get(signum or self.signum, 1)
    if message == "interrupted":
      message = f"interrupted {self._what}".rstrip()
    return errors.Interrupted(f"{message}; run the same command to resume", code)


class NoStop:
  """Stands in for StopSignals where nothing installs handlers (library calls)."""

  signum = None
  requested = False

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    return False

  def flag(self):
    return None

  @contextlib.contextmanager
  def raising(self, what):  # pylint: disable=unused-argument
    yield
