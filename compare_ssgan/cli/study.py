r"""Uncond-GAN vs SS-GAN on one config: train over seeds, score, probe, print the table.

    compare_ssgan study --output_dir runs/study                  # offline defaults
    compare_ssgan study --output_dir runs/study_c10 --gin_config cifar10/ssgan \
        --steps 100000 --checkpoints 10 --num_train 10000 --num_eval 10000   # paper scale
    compare_ssgan study --output_dir runs/study --plan_only      # the commands, one a line

Trains the config twice per seed, changing only SSGAN.self_supervision ("none" = Uncond-GAN,
"rotation_gan" = SS-GAN), for --steps steps with a checkpoint every steps/--checkpoints;
scores every checkpoint (FID, KID with the config's classifier), probes D's final block at
every checkpoint (linear-eval --all_checkpoints), and prints one table: each quantity as mean
± std over seeds, the paper's claim beside it and a verdict by a stated rule. Writes study.md,
study.json and study.png (curves) into --output_dir; the runs go to --output_dir/runs. A rerun
skips finished runs (and resumes unfinished ones). Each run is a subprocess.
"""

import sys

from absl import flags

from compare_ssgan.cli import command


def define_flags(fv):
  flags.DEFINE_string("output_dir", None, "Where the runs, table and figure go.",
                      flag_values=fv)
  flags.DEFINE_string("gin_config", "study/builtin", "The SS-GAN config both arms train "
                      "(name under gin_configs/ or a path).", flag_values=fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings for every run.",
                            flag_values=fv)
  flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (options.seed and dataset.seed).",
                    flag_values=fv)
  flags.DEFINE_integer("steps", 1000, "Generator steps per run.", flag_values=fv)
  flags.DEFINE_integer("checkpoints", 5, "Checkpoints per run (each scored and probed).",
                       flag_values=fv)
  flags.DEFINE_integer("num_train", 2000, "Labelled train images for each probe.",
                       flag_values=fv)
  flags.DEFINE_integer("num_eval", 1000, "Held-out images for each probe.", flag_values=fv)
  flags.DEFINE_multi_string("flag", [], "A flag passed to every train command, e.g. "
                            "--flag=--precision=bf16.", flag_values=fv)
  flags.DEFINE_boolean("plan_only", False, "Print each run's commands (one shell line per "
                       "run) and stop.", flag_values=fv)
  flags.DEFINE_boolean("figure", True, "Also write study.png (needs matplotlib).",
                       flag_values=fv)


def run(output_dir, gin_config="study/builtin", seeds=(0, 1, 2), steps=1000, checkpoints=5,
        gin_bindings=(), num_train=2000, num_eval=1000, extra_flags=(), plan_only=False,
        figure=True, in_process=False, log=print):
  """`compare_ssgan.study.run_study` (see it); seeds may be strings."""
  from compare_ssgan import errors, study  # pylint: disable=import-outside-toplevel
  try:
    seeds = [int(s) for s in seeds]
  except ValueError as e:
    raise errors.ConfigError(f"--seeds must be integers: {e}") from e
  return study.run_study(output_dir, gin_config, seeds, steps, checkpoints, gin_bindings,
                         num_train, num_eval, extra_flags, in_process=in_process,
                         plan_only=plan_only, figure=figure, log=log)


def main(fv, args):
  del args
  from compare_ssgan import study  # pylint: disable=import-outside-toplevel
  out = run(fv.output_dir, fv.gin_config, fv.seeds, fv.steps, fv.checkpoints,
            fv.gin_bindings, fv.num_train, fv.num_eval, fv.flag, fv.plan_only, fv.figure,
            log=lambda line: print(line, file=sys.stderr, flush=True))
  if fv.plan_only:
    for planned in out["planned"]:
      print(study.command_line(planned))
    return 0
  print(out["markdown"])
  print(f"({len(out['executed'])} runs trained, {len(out['skipped'])} skipped as finished, "
        f"{len(out['failed'])} failed; {out['seconds']:.0f} s; table in "
        f"{fv.output_dir}/{study.TABLE_MD})")
  return 1 if out["failed"] else 0


COMMAND = command.Command("study", __doc__, define_flags, main)
