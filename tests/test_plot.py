"""The plot verb: metric curves and sample grids from runs made by a 2-step training."""

import subprocess

import numpy as np
import pytest

from compare_ssgan import cli, metrics, runs

pytest.importorskip("matplotlib")

from compare_ssgan import plots as plot  # noqa: E402
from shared_runs import tiny_run  # noqa: E402

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
  root = tmp_path_factory.mktemp("plot")
  a = str(root / "run_a")
  subprocess.run(["cp", "-r", tiny_run(tmp_path_factory), a], check=True)
  # A second "run": the same artefacts plus fake scores (no evaluation needed).
  b = str(root / "run_b")
  subprocess.run(["cp", "-r", a, b], check=True)
  for step, fid in ((1, 30.0), (2, 20.0)):
    row = {k: 0.1 for k in metrics.SCORE_KEYS}
    row.update(fid_score_mean=fid, fid_score_std=1.5, inception_score_mean=2.0 + step)
    runs.append_scores(b, step, row)
    metrics.write_score_summaries(b, step, row)
  return a, b


def test_reads_events_and_scores(run_dirs):
  a, b = run_dirs
  events = plot.read_events(a)
  for tag in ("loss/d_loss", "loss/g_loss", "accuracy/d_rotation_real"):
    steps, values = events[tag]
    assert steps.tolist() == [2] and np.all(np.isfinite(values))
  run = plot.read_run(b)
  assert run["fid_score_mean"][0].tolist() == [1, 2]
  assert run["fid_score_mean"][1].tolist() == [30.0, 20.0]
  assert run["fid_score_std"][1].tolist() == [1.5, 1.5]


def test_plot_writes_png_of_the_right_size(run_dirs, tmp_path):
  out = str(tmp_path / "curves.png")
  drawn = plot.plot_metrics(list(run_dirs), out, width=8, height=5, dpi=50)
  assert "fid_score_mean" in drawn and "loss/d_loss" in drawn
  assert "accuracy/d_rotation_fake" in drawn
  with Image.open(out) as im:
    im.load()
    assert im.format == "PNG" and im.size == (400, 250)
  with pytest.raises(ValueError, match="none of"):
    plot.plot_metrics(list(run_dirs), out, metrics=["no_such_metric"])


def test_cli_and_sample_grids(run_dirs, tmp_path):
  a, b = run_dirs
  curves, grids = str(tmp_path / "c.png"), str(tmp_path / "g.png")
  assert cli.main(["plot", f"--model_dir={a},{b}", f"--output={curves}",
                    "--metrics=loss/g_loss,fid_score_mean", "--width=6", "--height=3",
                    "--dpi=40", f"--samples_output={grids}"]) == 0
  with Image.open(curves) as im:
    assert im.size == (240, 120)
  with Image.open(grids) as im:
    assert im.size == (2 * 160, 160)
  # A grid generated from the checkpoint equals the one training saved at that step.
  step, generated = plot.checkpoint_sample_grid(a)
  saved_step, saved = plot.latest_sample_grid(a)
  assert step == saved_step == 2
  assert generated.shape == saved.shape
  assert np.max(np.abs(generated.astype(int) - saved.astype(int))) <= 1


def _probe_rows(accuracies):
  from compare_ssgan import linear_eval  # pylint: disable=import-outside-toplevel
  rows = []
  for step, acc in accuracies:
    for index, block in enumerate(("B1", "B2")):
      rows.append(dict(step=step, block=block, block_index=index, is_final=index == 1,
                       eval_accuracy=acc - 0.1 * (1 - index), train_accuracy=acc + 0.05,
                       feature_dim=8, num_train=100, num_eval=50, pool="avg", l2=1e-3))
  return rows


def test_plot_overlays_linear_eval_curves(run_dirs, tmp_path, monkeypatch):
  from compare_ssgan import linear_eval  # pylint: disable=import-outside-toplevel
  a, b = run_dirs
  linear_eval.write_rows(a, _probe_rows([(1, 0.3), (2, 0.5)]))
  linear_eval.write_rows(b, _probe_rows([(1, 0.4), (2, 0.45)]))
  run = plot.read_run(a)
  assert run["linear_eval/final"][0].tolist() == [1, 2]
  np.testing.assert_allclose(run["linear_eval/final"][1], [0.3, 0.5])
  np.testing.assert_allclose(run["linear_eval/B1"][1], [0.2, 0.4])
  drawn_lines = []
  real_plot = plot.pyplot().Axes.plot

  def spy(ax, x, y, *args, **kwargs):
    drawn_lines.append((ax.get_title(), list(x), list(y), kwargs.get("label")))
    return real_plot(ax, x, y, *args, **kwargs)

  monkeypatch.setattr(plot.pyplot().Axes, "plot", spy)
  out = str(tmp_path / "le.png")
  assert cli.main(["plot", f"--model_dir={a}", f"--model_dir={b}", f"--output={out}",
                   "--metrics=linear_eval/final", "--labels=uncond,ssgan", "--dpi=40"]) == 0
  assert [(l[1], l[2], l[3]) for l in drawn_lines] == [([1, 2], [0.3, 0.5], "uncond"),
                                                      ([1, 2], [0.4, 0.45], "ssgan")]
  with Image.open(out) as im:
    assert im.format == "PNG"


def test_plot_groups_draws_mean_over_runs(run_dirs, tmp_path):
  from compare_ssgan import linear_eval  # pylint: disable=import-outside-toplevel
  a, b = run_dirs
  linear_eval.write_rows(a, _probe_rows([(1, 0.3), (2, 0.5)]))
  linear_eval.write_rows(b, _probe_rows([(1, 0.4), (2, 0.45), (3, 0.9)]))
  curve = plot._group_curve  # pylint: disable=protected-access
  steps, mean, std = curve([plot.read_run(a), plot.read_run(b)], "linear_eval/final")
  assert steps.tolist() == [1, 2]     # the steps both runs have
  np.testing.assert_allclose(mean, [0.35, 0.475])
  np.testing.assert_allclose(std, [0.05, 0.025])
  out = str(tmp_path / "g.png")
  assert plot.plot_groups({"arm": [a, b]}, out, ["linear_eval/final", "nope"]) == \
      ["linear_eval/final"]
