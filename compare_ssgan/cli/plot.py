r"""PNG plots of metrics over steps (and sample grids) for one or several runs.

    compare_ssgan plot --model_dir runs/a --model_dir runs/b --output curves.png \
        [--metrics fid_score_mean,loss/d_loss] [--samples_output grids.png] [--from_checkpoint]

Curves come from scores.csv (FID / IS / KID with their std band), the TensorBoard event
files (losses, rotation accuracies, learning rates, ...) and linear_eval.csv (`--metrics
linear_eval/final` or linear_eval/<block>, written by `linear-eval --all_checkpoints`): one
panel per metric, one line per run. Sample grids are each run's newest
samples/grid-<step>.png or, with --from_checkpoint, generated from a checkpoint with the
training grids' fixed z. Needs matplotlib.
"""

import os

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_multi_string("model_dir", [], "Run folders (repeat or comma-separate).",
                            flag_values=fv)
  flags.DEFINE_string("output", None, "Metrics PNG (default: plots.png in the first run).",
                      flag_values=fv)
  flags.DEFINE_list("metrics", None, "Metrics to plot (default: FID, IS, KID, rotation "
                    "accuracies, losses).", flag_values=fv)
  flags.DEFINE_list("labels", None, "Legend names of the runs (default: folder names).",
                    flag_values=fv)
  flags.DEFINE_string("samples_output", None, "Also write a sample-grid PNG here.",
                      flag_values=fv)
  flags.DEFINE_boolean("from_checkpoint", False, "Generate the sample grids from "
                       "checkpoints.", flag_values=fv)
  flags.DEFINE_integer("step", None, "Checkpoint step for --from_checkpoint.", flag_values=fv)
  flags.DEFINE_float("width", 12.0, "Figure width, inches.", flag_values=fv)
  flags.DEFINE_float("height", None, "Figure height, inches (default: 3.5 per panel row).",
                     flag_values=fv)
  flags.DEFINE_integer("dpi", 100, "Pixels per inch.", flag_values=fv)
  flags.DEFINE_integer("columns", 3, "Panels per row.", flag_values=fv)


def run(model_dirs, output=None, metrics=None, labels=None, samples_output=None,
        from_checkpoint=False, step=None, width=12.0, height=None, dpi=100, columns=3):
  """Writes the PNG(s); returns {"output", "metrics", "samples_output"}."""
  from compare_ssgan import errors, plots  # pylint: disable=import-outside-toplevel
  model_dirs = [d for arg in model_dirs for d in arg.split(",") if d]
  if not model_dirs:
    raise errors.ConfigError("give at least one --model_dir")
  output = output or os.path.join(model_dirs[0], "plots.png")
  drawn = plots.plot_metrics(model_dirs, output, metrics, labels, width, height, dpi,
                             columns)
  if samples_output:
    plots.plot_samples(model_dirs, samples_output, labels, from_checkpoint, step, dpi=dpi)
  return {"output": output, "metrics": drawn, "samples_output": samples_output}


def main(fv, args):
  del args
  result = run(fv.model_dir, fv.output, fv.metrics, fv.labels, fv.samples_output,
               fv.from_checkpoint, fv.step, fv.width, fv.height, fv.dpi, fv.columns)
  print(f"wrote {result['output']} ({', '.join(result['metrics'])})")
  if result["samples_output"]:
    print(f"wrote {result['samples_output']}")


COMMAND = command.Command("plot", __doc__, define_flags, main)
