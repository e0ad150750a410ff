r"""Plan (and run) the paper's sweeps, then tabulate their scores: `plan` or `table`.

    compare_ssgan reproduce plan --root runs --configs "cifar10/*" --seeds 0,1,2 \
        [--grid "loss.fn=@non_saturating,@hinge"] [--flag=--strategy=mirrored] [--run]
    compare_ssgan reproduce table --root runs [--output table.md]

plan prints one `compare_ssgan train` command per (config, grid point, seed), each with its
own model_dir ROOT/<config>/<grid label>/seed<k> (--run runs them one after another; a
restarted run resumes). --grid NAME=V1,V2 is one axis (several --grid give their product);
--grid A+B=a1/b1,a2/b2 ties values. table reads every scores.csv under ROOT: best and last
FID per (config, grid point), best of seeds and mean ± std, beside the paper's numbers.
"""

import shlex
import sys

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_string("root", None, "Folder of the runs (plan: where model_dirs go).",
                      flag_values=fv)
  flags.DEFINE_multi_string("configs", [], "plan: config names, paths or globs "
                            "(comma-separated or repeated), e.g. 'cifar10/*'.", flag_values=fv)
  flags.DEFINE_string("seeds", "", "plan: comma-separated seeds, e.g. 0,1,2.", flag_values=fv)
  flags.DEFINE_multi_string("grid", [], "plan: NAME=V1,V2 or A+B=a1/b1,a2/b2.",
                            flag_values=fv)
  flags.DEFINE_multi_string("gin_bindings", [], "plan: bindings added to every run.",
                            flag_values=fv)
  flags.DEFINE_enum("schedule", "eval_after_train",
                    ["train", "eval_after_train", "continuous_eval"], "plan: the runs' "
                    "--schedule.", flag_values=fv)
  flags.DEFINE_multi_string("flag", [], "plan: a flag passed through to every run, e.g. "
                            "--flag=--strategy=mirrored.", flag_values=fv)
  flags.DEFINE_string("python", None, "plan: interpreter for the runs (default: this one).",
                      flag_values=fv)
  flags.DEFINE_boolean("run", False, "plan: run the commands one after another.",
                       flag_values=fv)
  flags.DEFINE_boolean("keep_going", False, "plan --run: continue after a failed run.",
                       flag_values=fv)
  flags.DEFINE_string("score_filename", "scores.csv", "table: scores file of each run.",
                      flag_values=fv)
  flags.DEFINE_string("output", None, "table: also write the table to this file.",
                      flag_values=fv)


def run_plan(root, configs, seeds="", grid=(), gin_bindings=(), schedule="eval_after_train",
             extra_flags=(), python=None, execute=False, keep_going=False, log=print):
  """The planned runs (dicts with `argv`, `model_dir`, ...); with `execute`, runs them and
  returns (runs, failed model_dirs)."""
  from compare_ssgan import sweeps  # pylint: disable=import-outside-toplevel
  names = sweeps.expand_configs([c for spec in configs for c in sweeps.split_values(spec)])
  seed_list = [int(s) for s in sweeps.split_values(seeds)]
  planned = sweeps.plan(names, root, seed_list, grid, schedule, gin_bindings, extra_flags,
                        python)
  failed = sweeps.run_plan(planned, keep_going=keep_going, log=log) if execute else []
  return planned, failed


def run_table(root, score_filename="scores.csv", output=None):
  """The Markdown table of every scores.csv under `root` (also written to `output`)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from compare_ssgan import errors, sweeps  # pylint: disable=import-outside-toplevel
  groups = sweeps.collect(root, score_filename)
  if not groups:
    raise errors.RunNotFoundError(f"no {score_filename} under {root}")
  text = sweeps.markdown_table(groups)
  if output:
    with tf.io.gfile.GFile(output, "w") as f:
      f.write(text)
  return text


def run(subcommand, root, **kwargs):
  """`plan` -> `run_plan(root, **kwargs)`; `table` -> `run_table(root, **kwargs)`."""
  from compare_ssgan import errors  # pylint: disable=import-outside-toplevel
  if subcommand not in ("plan", "table"):
    raise errors.ConfigError("say `reproduce plan ...` or `reproduce table ...`")
  return (run_plan if subcommand == "plan" else run_table)(root, **kwargs)


def main(fv, args):
  from compare_ssgan import errors  # pylint: disable=import-outside-toplevel
  if len(args) != 1 or args[0] not in ("plan", "table"):
    raise errors.ConfigError("say `reproduce plan ...` or `reproduce table ...`")
  if not fv.root:
    raise errors.ConfigError("--root is required")
  if args[0] == "table":
    sys.stdout.write(run_table(fv.root, fv.score_filename, fv.output))
    return 0
  if not fv.configs:
    raise errors.ConfigError("plan needs --configs")
  planned, failed = run_plan(fv.root, fv.configs, fv.seeds, fv.grid, fv.gin_bindings,
                             fv.schedule, fv.flag, fv.python, fv.run, fv.keep_going)
  if not fv.run:
    for run in planned:
      print(shlex.join(run["argv"]))
  elif failed:
    print("failed runs:\n  " + "\n  ".join(failed), file=sys.stderr)
    return 1
  return 0


COMMAND = command.Command("reproduce", __doc__, define_flags, main, positional="plan|table")
