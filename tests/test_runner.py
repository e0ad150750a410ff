"""Runner and CLI: resume after SIGKILL, exact resume, progress artefacts, clear errors."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from compare_ssgan import checkpointing, gin_utils, runner, runs
from compare_ssgan import metrics as metrics_lib

from fake_classifier import Projection as _Projection

CLI = [sys.executable, "-m", "compare_ssgan.main"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_DETERMINISTIC_OPS="1",
           CUDA_VISIBLE_DEVICES="")


def _cli(args, timeout=600):
  return subprocess.run(CLI + args, capture_output=True, text=True, env=ENV, timeout=timeout,
                        cwd="/")


def _experiment(model_dir, bindings=()):
  gin_utils.parse(["test_tiny"], list(bindings))
  return runner.Experiment(str(model_dir))


def _weights(gan):
  return [v.numpy() for v in gan.generator.variables] + \
      [v.numpy() for v in gan.discriminator.variables + gan.rotation_head.variables]


def test_resume_is_exact(tmp_path):
  """Steps 0-4 in one go equal steps 0-2, a new process-like restart, then 2-4."""
  full = _experiment(tmp_path / "full", ["options.training_steps = 4"])
  runner.train(full, log=lambda _: None)
  part = _experiment(tmp_path / "part", ["options.training_steps = 2"])
  runner.train(part, log=lambda _: None)
  assert runs.checkpoint_steps(tmp_path / "part") == [2]
  logs = []
  resumed = _experiment(tmp_path / "part", ["options.training_steps = 4"])
  runner.train(resumed, log=logs.append)
  assert any("Resumed from" in line and "step 2" in line for line in logs), logs
  assert int(resumed.gan.global_step.numpy()) == 4
  assert int(resumed.gan.disc_step.numpy()) == 4
  for a, b in zip(_weights(full.gan), _weights(resumed.gan)):
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
  # Optimizer state was restored too (Adam's slots and counts).
  assert int(resumed.gan.g_optimizer.iterations.numpy()) == 4


def test_run_leaves_artefacts_and_progress(tmp_path):
  logs = []
  exp = _experiment(tmp_path, ["options.training_steps = 2"])
  runner.train(exp, log=logs.append)
  names = os.listdir(tmp_path)
  assert runs.TRAIN_DONE in names and "operative_config-0.gin" in names
  assert any(n.startswith("events.out.tfevents") for n in names)
  assert os.listdir(tmp_path / "samples") == ["grid-00000002.png"]
  png = tf.io.decode_png(tf.io.read_file(str(tmp_path / "samples" / "grid-00000002.png")))
  assert png.shape == (8 * 17 - 1, 8 * 17 - 1, 3)   # 8x8 16-px images, 1-px white gutters
  assert np.all(png.numpy()[16, :, :] == 255) and np.all(png.numpy()[:, 16, :] == 255)
  # Every model variable is in the checkpoint, SN `u` vectors and BN statistics included.
  stored = {n for n, _ in tf.train.list_variables(str(tmp_path / "ckpt-2"))}
  gan = exp.gan
  for prefix, model in [("generator", gan.generator), ("discriminator", gan.discriminator),
                        ("rotation_head", gan.rotation_head)]:
    assert sum(n.startswith(prefix + "/") for n in stored) == len(model.variables), prefix
  assert sum("u_var" in n for n in stored) == sum("u_var" in v.path for v in
                                                  gan.discriminator.variables +
                                                  gan.rotation_head.variables) > 0
  line = [l for l in logs if l.startswith("step 2/2")][0]
  for part in ("d_loss", "g_loss", "rot_acc_real", "steps/s", "images/s", "ETA"):
    assert part in line


def test_nan_loss_stops_with_clear_message(tmp_path):
  exp = _experiment(tmp_path, ["options.training_steps = 4", "ModularGAN.g_lr = 1e38",
                               "ModularGAN.d_lr = 1e38"])
  with pytest.raises(runner.TrainingDiverged, match="at step"):
    runner.train(exp, log=lambda _: None)


def test_sigkill_then_restart_finishes(tmp_path):
  model_dir = str(tmp_path / "run")
  args = ["--gin_config", "test_tiny", "--model_dir", model_dir,
          "--gin_bindings", "options.training_steps = 8"]
  proc = subprocess.Popen(CLI + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env=ENV, cwd="/")
  deadline = time.time() + 300
  while time.time() < deadline and not runs.checkpoint_steps(model_dir):
    if proc.poll() is not None:
      break
    time.sleep(0.5)
  assert runs.checkpoint_steps(model_dir), "no checkpoint before the kill"
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  kept = runs.checkpoint_steps(model_dir)
  assert not os.path.exists(os.path.join(model_dir, runs.TRAIN_DONE)) or kept[-1] == 8
  result = _cli(args)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "Resumed from" in result.stderr
  steps = runs.checkpoint_steps(model_dir)
  assert steps[-1] == 8 and set(kept) <= set(steps)
  assert os.path.exists(os.path.join(model_dir, runs.TRAIN_DONE))


@pytest.mark.parametrize("args,message", [
    (["--gin_bindings", "SSGAN.weight_rotation_los_d = 1.0"], "weight_rotation_los_d"),
    (["--gin_bindings", "resnet5.Generator.ch = 8"], "resnet5.Generator.ch"),
    (["--gin_bindings", "options.architecture = 'resnet_nope'"], "resnet_nope"),
    (["--gin_bindings", "dataset.name = 'cifar11'"], "cifar11"),
    (["--strategy", "mirrored", "--cpu_replicas", "3"], "does not split"),
])
def test_bad_input_gives_one_clear_line(tmp_path, args, message):
  model_dir = str(tmp_path / "run")
  result = _cli(["--gin_config", "test_tiny", "--model_dir", model_dir] + args)
  assert result.returncode != 0
  errors = [l for l in result.stderr.splitlines() if l.startswith("compare_ssgan train: error:")]
  assert len(errors) == 1 and message in errors[0], result.stderr[-3000:]
  assert not runs.checkpoint_steps(model_dir)


def test_missing_required_binding_and_unwritable_dir(tmp_path):
  result = _cli(["--gin_bindings", "options.batch_size = 4", "--model_dir", str(tmp_path)])
  assert result.returncode != 0 and "compare_ssgan train: error:" in result.stderr
  assert "training_steps" in result.stderr or "gan_class" in result.stderr
  blocker = tmp_path / "file"
  blocker.write_text("x")
  result = _cli(["--gin_config", "test_tiny", "--model_dir", str(blocker / "sub")])
  assert result.returncode != 0 and "not writable" in result.stderr


def test_existing_checkpoints_survive_a_bad_restart(tmp_path):
  exp = _experiment(tmp_path, ["options.training_steps = 2"])
  runner.train(exp, log=lambda _: None)
  before = sorted(os.listdir(tmp_path))
  result = _cli(["--gin_config", "test_tiny", "--model_dir", str(tmp_path),
                 "--gin_bindings", "options.batch_size = 3", "--strategy", "mirrored",
                 "--cpu_replicas", "2"])
  assert result.returncode != 0
  assert sorted(os.listdir(tmp_path)) == before


def test_mirrored_two_cpu_replicas_through_cli(tmp_path):
  result = _cli(["--gin_config", "test_tiny", "--model_dir", str(tmp_path),
                 "--strategy", "mirrored", "--cpu_replicas", "2",
                 "--gin_bindings", "options.training_steps = 2"])
  assert result.returncode == 0, result.stderr[-3000:]
  assert "with 2 replica(s)" in result.stderr
  assert runs.checkpoint_steps(tmp_path) == [2]


@pytest.mark.slow
def test_two_process_multi_worker_smoke(tmp_path):
  """Two workers on localhost under MultiWorkerMirroredStrategy train 2 steps."""
  import json  # pylint: disable=import-outside-toplevel
  import socket  # pylint: disable=import-outside-toplevel
  ports = []
  for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    ports.append(s.getsockname()[1])
    s.close()
  cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
  procs = []
  for i in range(2):
    env = dict(ENV, TF_CONFIG=json.dumps({"cluster": cluster,
                                          "task": {"type": "worker", "index": i}}))
    procs.append(subprocess.Popen(
        CLI + ["--gin_config", "test_tiny", "--model_dir", str(tmp_path),
               "--strategy", "multi_worker", "--gin_bindings", "options.training_steps = 2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/"))
  outs = [p.communicate(timeout=600) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  assert runs.checkpoint_steps(tmp_path) == [2]
  assert os.path.exists(tmp_path / runs.TRAIN_DONE)


def test_steps_to_evaluate(tmp_path):
  model_dir = str(tmp_path)
  tf.compat.v1.train.update_checkpoint_state(model_dir, os.path.join(model_dir, "ckpt-6"),
                                   [os.path.join(model_dir, f"ckpt-{s}") for s in (2, 4, 6)])
  assert runner._steps_to_evaluate(model_dir, 4, "scores.csv") == [4]  # pylint: disable=protected-access
  (tmp_path / runs.TRAIN_DONE).write_text("done")
  assert runner._steps_to_evaluate(model_dir, 4, "scores.csv") == [4, 6]  # pylint: disable=protected-access
  (tmp_path / "scores.csv").write_text("step,fid_score_mean\n4,1.0\n")
  assert runner._steps_to_evaluate(model_dir, 4, "scores.csv") == [6]  # pylint: disable=protected-access




@pytest.mark.slow
def test_continuous_eval_scores_checkpoints_written_while_it_waits(tmp_path, monkeypatch):
  """runner.continuous_eval against a trainer that writes ckpt-2, then ckpt-4 and
  TRAIN_DONE, each during one of its waits: both are scored (equal to scoring the restored
  checkpoint directly), step 2 before ckpt-4 existed, and it returns after TRAIN_DONE."""
  model_dir = str(tmp_path)
  gin_utils.parse(["test_tiny"], ["builtin.num_train = 256", "builtin.num_eval = 128",
                                  "builtin.eval_test_samples = 128"])
  classifier = _Projection()
  monkeypatch.setattr(metrics_lib.evaluation, "get_classifier", lambda *a, **k: classifier)
  trainer = runner.Experiment(model_dir)
  evaluator = runner.Experiment(model_dir, evaluating=True)
  manager = checkpointing.checkpoint_manager(trainer.gan, model_dir)
  batches = iter(trainer.dataset.input_fn("train", trainer.gan.batch_size))
  poll, real_sleep, waits, events = 0.125, time.sleep, [], []

  def trainer_writes(seconds):
    if seconds != poll:
      return real_sleep(seconds)
    waits.append(seconds)
    trainer.gan.train_loop(batches, 2)
    manager.save(checkpoint_number=int(trainer.gan.global_step.numpy()))
    if len(waits) == 2:
      (tmp_path / runs.TRAIN_DONE).write_text("done\n")
    return None

  monkeypatch.setattr(runner.time, "sleep", trainer_writes)
  runner.continuous_eval(evaluator, eval_every_steps=2, num_averaging_runs=1,
                         poll_seconds=poll, timeout_seconds=600,
                         log=lambda line: events.append((line, runs.checkpoint_steps(model_dir))))
  assert len(waits) == 2
  evaluated = [(line, ckpts) for line, ckpts in events if line.startswith("Evaluated step")]
  assert [l.split(":")[0] for l, _ in evaluated] == ["Evaluated step 2", "Evaluated step 4"]
  assert evaluated[0][1] == [2]          # step 2 was scored before ckpt-4 was written
  with open(os.path.join(model_dir, "scores.csv")) as f:
    rows = [line.split(",") for line in f.read().splitlines()[1:]]
  assert [int(r[0]) for r in rows] == [2, 4]
  for row in rows:
    checkpointing.restore(evaluator.gan, os.path.join(model_dir, f"ckpt-{row[0]}"))
    direct = metrics_lib.evaluate_checkpoint(evaluator.gan, evaluator.dataset, int(row[0]),
                                             num_averaging_runs=1, classifier=classifier,
                                             cache_dir=str(tmp_path / "c"))
    assert float(row[1]) == pytest.approx(direct["fid_score_mean"], abs=2e-6)
  assert rows[0][1] != rows[1][1]


@pytest.mark.slow
def test_resume_applies_a_changed_g_lr(tmp_path):
  """After a resume with a changed ModularGAN.g_lr, G's next Adam step uses the new rate:
  its weight change equals Keras Adam's update rule computed by hand from the moments it
  stored, at lr 1e-3 (at the checkpointed 2e-4 it would be 5x smaller)."""
  base = _experiment(tmp_path, ["ModularGAN.d_lr = 2e-4"])
  base.gan.train_loop(iter(base.dataset.input_fn("train", base.gan.batch_size)), 1)
  checkpointing.checkpoint_manager(base.gan, str(tmp_path)).save(checkpoint_number=1)
  before = [v.numpy() for v in base.gan.generator.trainable_variables]
  resumed = _experiment(tmp_path, ["options.training_steps = 2", "ModularGAN.d_lr = 2e-4",
                                   "ModularGAN.g_lr = 1e-3"])
  runner.train(resumed, log=lambda _: None)
  opt = resumed.gan.g_optimizer
  assert float(opt.learning_rate.numpy()) == pytest.approx(1e-3)
  assert int(opt.iterations.numpy()) == 2
  b1, b2, eps = float(opt.beta_1), float(opt.beta_2), float(opt.epsilon)
  alpha = 1e-3 * np.sqrt(1 - b2 ** 2) / (1 - b1 ** 2)
  checked = 0
  for w0, var in zip(before, resumed.gan.generator.trainable_variables):
    if not var.path.endswith("kernel"):
      continue
    i = opt._get_variable_index(var)  # pylint: disable=protected-access
    m, v = opt._momentums[i].numpy(), opt._velocities[i].numpy()  # pylint: disable=protected-access
    expected = -(m * alpha) / (np.sqrt(v) + eps)
    np.testing.assert_allclose(var.numpy() - w0, expected, rtol=1e-3,
                               atol=1e-3 * np.abs(expected).max(), err_msg=var.path)
    checked += 1
  assert checked >= 3
