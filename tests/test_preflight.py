"""Preflight: a run that cannot finish fails before its first step, one line, no files left;
the offline-Inception bindings of the README are accepted on evaluating schedules."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from compare_ssgan import errors, gin_utils, preflight, runner, runs
from compare_ssgan.cli import train as train_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Small eval split, so a real evaluation with the fake Inception takes seconds.
SMALL_EVAL = ["builtin.num_train = 256", "builtin.num_eval = 64",
              "builtin.eval_test_samples = 64", "options.training_steps = 2"]


class _FakeInception(tf.Module):
  """Called like tf-gan's module, `hub.load(handle)(images)` -> {"pool_3", "logits"}."""

  @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
  def __call__(self, images):
    pooled = tf.reduce_mean(images, axis=[1, 2])                       # [N, 3]
    pool_3 = tf.concat([pooled, pooled ** 2, tf.sin(3.0 * pooled)], 1)  # [N, 9]
    return {"pool_3": pool_3, "logits": tf.concat([pooled, -pooled], 1)}


@pytest.fixture(scope="module")
def fake_inception(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("inception") / "module")
  tf.saved_model.save(_FakeInception(), path)
  return path


def _run(model_dir, schedule, bindings, run_preflight=True, logs=None):
  gin_utils.parse(["test_tiny"], SMALL_EVAL + list(bindings))
  log = logs.append if logs is not None else (lambda _: None)
  return runner.run_with_schedule(schedule, str(model_dir), eval_every_steps=2,
                                  num_eval_averaging_runs=1, run_preflight=run_preflight,
                                  log=log)


def _inception(handle):
  return [f"inception_classifier.handle = '{handle}'", 'evaluation.classifier = "inception"']


def test_offline_inception_binding_runs_eval_after_train(tmp_path, fake_inception):
  logs = []
  summary = _run(tmp_path / "run", "eval_after_train", _inception(fake_inception), logs=logs)
  preflight = [l for l in logs if l.startswith("preflight: ")]
  assert any(l.startswith("preflight: classifier inception-tfhub-" + fake_inception) and
             l.endswith("loads and runs") for l in preflight), logs
  assert any("eval split for evaluation: 64 images" in l for l in preflight), logs
  # Preflight came first, then training.
  assert logs.index(preflight[-1]) < min(i for i, l in enumerate(logs) if l.startswith("step "))
  assert runs.evaluated_steps(tmp_path / "run") == {2}
  assert summary["last_scores"]["step"] == 2 and "fid_score_mean" in summary["best_scores"]
  with open(tmp_path / "run" / "operative_config-0.gin") as f:
    assert fake_inception in f.read()   # the binding was used, and recorded
  text = "\n".join(runner.format_summary(summary))
  assert "compare_ssgan plot --model_dir" in text and "scores.csv" in text


@pytest.mark.parametrize("schedule", ["eval_after_train", "continuous_eval"])
def test_evaluation_bindings_count_as_used(tmp_path, schedule):
  bindings = _inception("/x") + ["domain_classifier.steps = 5", "evaluation.batch_size = 32"]
  gin_utils.parse(["test_tiny"], bindings)
  exp = runner.Experiment(str(tmp_path), evaluating=schedule != "train")
  assert exp.classifier.handle == "/x"            # built (not loaded) from the binding
  gin_utils.parse(["test_tiny"], bindings)         # a training-only run ignores them too
  assert runner.Experiment(str(tmp_path)).classifier is None


def test_unreachable_inception_fails_before_training_and_leaves_nothing(tmp_path):
  model_dir = tmp_path / "existing"
  model_dir.mkdir()
  logs = []
  with pytest.raises(errors.ClassifierUnavailableError) as info:
    _run(model_dir, "eval_after_train", _inception(str(tmp_path / "no_such_module")),
         logs=logs)
  message = str(info.value)
  for part in ("inception_classifier.handle", "$COMPARE_SSGAN_INCEPTION",
               'evaluation.classifier = "domain"', "no_such_module"):
    assert part in message, message
  assert "\n" not in message
  assert os.listdir(model_dir) == []            # no probe, cache folder, config or events
  assert not any(l.startswith("step ") for l in logs), logs


def test_unreachable_inception_url_through_cli_one_line_no_folder(tmp_path):
  model_dir = tmp_path / "run"
  env = dict(os.environ, PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
  env.pop("COMPARE_SSGAN_INCEPTION", None)
  args = ["train", "--gin_config", "test_tiny", "--model_dir", str(model_dir),
          "--schedule", "continuous_eval"]
  for b in SMALL_EVAL + _inception("http://127.0.0.1:9/inception/1"):
    args += ["--gin_bindings", b]
  proc = subprocess.run([sys.executable, "-c", "import sys; from compare_ssgan import cli; "
                         "sys.exit(cli.main(sys.argv[1:]))"] + args, env=env, cwd=str(tmp_path),
                        capture_output=True, text=True, timeout=300)
  assert proc.returncode == 2, proc.stderr[-3000:]
  errors_ = [l for l in proc.stderr.splitlines() if l.startswith("compare_ssgan train: error:")]
  assert len(errors_) == 1, proc.stderr[-3000:]
  assert "inception_classifier.handle" in errors_[0] and "127.0.0.1:9" in errors_[0]
  assert os.listdir(tmp_path) == []        # the model_dir it created is gone, nothing else


def test_nopreflight_skips_the_checks(tmp_path):
  """Without preflight the bad handle is found only at the first evaluation, after training:
  what preflight exists to prevent."""
  logs = []
  with pytest.raises(errors.ClassifierUnavailableError):
    _run(tmp_path / "run", "eval_after_train", _inception(str(tmp_path / "nope")),
         run_preflight=False, logs=logs)
  assert not any(l.startswith("preflight: ") for l in logs)
  assert runs.checkpoint_steps(tmp_path / "run") == [2]
  assert train_cli.COMMAND.flag_values()["preflight"].default is True


def test_eval_split_smaller_than_eval_test_samples_fails_first(tmp_path):
  gin_utils.parse(["test_tiny"], SMALL_EVAL + ['evaluation.classifier = "domain"'])
  exp = runner.Experiment(str(tmp_path), evaluating=True)
  preflight.check_eval_data(exp, log=lambda _: None)
  exp.dataset.eval_test_samples = 65
  with pytest.raises(errors.DataError, match="has 64 images .*first 65 "):
    preflight.check_eval_data(exp, log=lambda _: None)


def test_unwritable_cache_dir_fails_first_and_leaves_the_folder_as_it_was(tmp_path):
  (tmp_path / "eval_cache").write_text("a file where the cache folder should go")
  with pytest.raises(errors.ConfigError, match="evaluation cache .*eval_cache.* not writable"):
    _run(tmp_path, "eval_after_train", ['evaluation.classifier = "domain"'])
  assert os.listdir(tmp_path) == ["eval_cache"]
