"""A small trained run shared by the verb tests (export, linear eval, plot).

Trained once per pytest session in its base temp dir. EMA is on with a fast decay, so EMA
and raw weights differ after 2 steps.
"""

from compare_ssgan import gin_utils, runner, runs

RUN_BINDINGS = ["options.training_steps = 2", "ModularGAN.g_use_ema = True",
                "ModularGAN.ema_start_step = 0", "ModularGAN.ema_decay = 0.5"]


def tiny_run(tmp_path_factory):
  path = tmp_path_factory.getbasetemp() / "tiny_ema_run"
  if not (path / runs.TRAIN_DONE).exists():
    gin_utils.parse(["test_tiny"], RUN_BINDINGS)
    runner.train(runner.Experiment(str(path)), log=lambda _: None)
  return str(path)
