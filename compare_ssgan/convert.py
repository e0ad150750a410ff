"""Converts a google/compare_gan gin config into a compare_ssgan one (`convert-config`).

compare_ssgan keeps compare_gan's gin names (`options.*`, `ModularGAN.*`, `G.*`, `D.*`,
`tf.train.AdamOptimizer.*`, `@tf.random.normal`, ...), so most lines pass through unchanged.
What the converter does:
  * drops options compare_gan itself ignored or that only steered TF1 machinery, leaving
    the original line as a `# [converted] ...` comment that says why;
  * refuses (`ConversionError`, naming the file, line and binding) what compare_ssgan
    cannot honour: S3GAN, `deprecated_split_disc_calls = True`, label replacement, an
    architecture or dataset we do not have, a gin `include` of a compare_gan file;
  * checks every remaining binding against compare_ssgan's gin registry (configurable,
    parameter, `@references`) and the whole output by parsing it, so an unknown binding is
    refused here rather than at training time.

The output is meant to be used as is: `--gin_config OUT.gin`.
"""

import os
import re
import tempfile
import warnings

from compare_ssgan import errors


class ConversionError(errors.ConfigError):
  """A binding that cannot be converted; the message names file, line and binding."""


# --- splitting a gin file into statements ---------------------------------------------

class Statement:
  """One logical gin statement (possibly spanning lines) or a comment/blank line."""

  def __init__(self, text, first_line, kind):
    self.text = text            # the original text, newlines included, no trailing newline
    self.first_line = first_line
    self.kind = kind            # "blank", "comment", "binding", "include", "import", "macro"
    self.scope = self.selector = self.param = self.value = None

  def __repr__(self):
    return f"Statement({self.first_line}, {self.kind}, {self.text!r})"


_BINDING = re.compile(r"^\s*(?:(?P<scope>[\w.\-/]+)/)?(?P<selector>[\w.]+)\.(?P<param>\w+)"
                      r"\s*=\s*(?P<value>.*)$", re.S)
_MACRO = re.compile(r"^\s*(?P<name>[\w/.]*\w)\s*=\s*(?P<value>.*)$", re.S)


def _code_part(line, state):
  """(code without comment, open-bracket delta, state) for one physical line.

  `state` is the open string quote or None; gin strings do not span lines, but brackets do.
  """
  depth = 0
  quote = state
  out = []
  i = 0
  while i < len(line):
    c = line[i]
    if quote:
      out.append(c)
      if c == "\\" and i + 1 < len(line):
        out.append(line[i + 1])
        i += 2
        continue
      if c == quote:
        quote = None
    elif c in "'\"":
      quote = c
      out.append(c)
    elif c == "#":
      break
    else:
      if c in "([{":
        depth += 1
      elif c in ")]}":
        depth -= 1
      out.append(c)
    i += 1
  return "".join(out), depth, quote


def split_statements(text):
  """The statements of a gin file, in order, with their first line numbers (1-based)."""
  lines = text.splitlines()
  statements = []
  i = 0
  while i < len(lines):
    line = lines[i]
    stripped = line.strip()
    if not stripped:
      statements.append(Statement(line, i + 1, "blank"))
      i += 1
      continue
    if stripped.startswith("#"):
      statements.append(Statement(line, i + 1, "comment"))
      i += 1
      continue
    first = i
    code, depth, quote = _code_part(line, None)
    parts = [line]
    while (depth > 0 or code.rstrip().endswith("\\")) and i + 1 < len(lines):
      i += 1
      more, d, quote = _code_part(lines[i], quote)
      parts.append(lines[i])
      code, depth = more, depth + d
    i += 1
    full = "\n".join(parts)
    code_all = "\n".join(_code_part(p, None)[0] for p in parts).strip()
    if code_all.startswith("include ") or code_all.startswith("include\t"):
      st = Statement(full, first + 1, "include")
    elif code_all.startswith("import ") or code_all.startswith("from "):
      st = Statement(full, first + 1, "import")
    else:
      m = _BINDING.match(code_all)
      if m:
        st = Statement(full, first + 1, "binding")
        st.scope, st.selector, st.param = m.group("scope"), m.group("selector"), m.group("param")
        st.value = m.group("value").strip()
      elif _MACRO.match(code_all):
        st = Statement(full, first + 1, "macro")
      else:
        raise ConversionError(f"line {first + 1}: cannot read {full.strip()!r} as a gin "
                              "statement")
    statements.append(st)
  return statements


# --- the rules ------------------------------------------------------------------------

# (selector suffix, param) -> rule(value_text) -> (action, reason); action is "keep",
# "drop" or "fail". Selectors match on their last component(s), so both
# `ModularGAN.x` and a module-qualified `compare_gan.gans.modular_gan.ModularGAN.x` hit.
def _false_or_fail(what):
  def rule(value):
    if value.strip() in ("False", "0", "None"):
      return "drop", f"{what} = False is compare_ssgan's only behaviour"
    return "fail", (f"{what} = {value.strip()} is not supported by compare_ssgan: real and "
                    "fake images always go through D in one call (compare_gan's SSGAN asserts "
                    "the same)")
  return rule


_GAN_CLASSES = ("ModularGAN", "SSGAN", "S3GAN")

RULES = {
    ("options", "discriminator_normalization"): lambda v: (
        "drop", "deprecated and ignored by compare_gan; use D.spectral_norm / D.layer_norm / "
                "D.batch_norm_fn"),
    ("run_config", "single_core"): lambda v: (
        "drop", "TPUEstimator setting; the device layout comes from --strategy here "
                "(--strategy default for one device)"),
    ("run_config", "experimental_host_call_every_n_steps"): lambda v: (
        "drop", "TPUEstimator setting; summaries are written between host calls here"),
    # compare_gan's linear/conv2d/deconv2d pass stddev=0.02 explicitly, which overrides
    # the binding: it did nothing there. Kept here it would fail the unused-binding check.
    ("weights", "stddev"): lambda v: (
        "warn", "had no effect in compare_gan (linear, conv2d and deconv2d pass stddev=0.02 "
                "explicitly); the converted run, like the original, initialises with 0.02"),
}
for _cls in _GAN_CLASSES:
  RULES[(_cls, "deprecated_split_disc_calls")] = _false_or_fail(f"{_cls}.deprecated_split_disc_calls")
  RULES[(_cls, "experimental_joint_gen_for_disc")] = _false_or_fail(
      f"{_cls}.experimental_joint_gen_for_disc")
  RULES[(_cls, "experimental_force_graph_unroll")] = lambda v: (
      "drop", "compare_ssgan always runs the unrolled (TPU) schedule: disc_iters D updates "
              "on fresh batches, then one G update")

# Configurables that compare_ssgan does not have, with the reason given to the user.
UNSUPPORTED_CONFIGURABLES = {
    "S3GAN": "S3GAN (semi-supervised, self-supervised GAN) is not ported",
    "replace_labels": "label replacement (S3GAN's clustering labels) is not ported",
    "resnet_biggan_deep": "resnet_biggan_deep_arch is not ported",
    "resnet30": "resnet30_arch is not ported",
    "infogan": "infogan_arch is not ported",
}


def _short_selector(selector):
  return selector.split(".")[-1]


def _rule_for(st):
  last = _short_selector(st.selector)
  return RULES.get((last, st.param))


def _check_value_names(st):
  """Checks bindings whose values are names we look up (architecture, dataset, gan_class)."""
  from compare_ssgan.architectures.registry import ARCHITECTURES  # pylint: disable=import-outside-toplevel
  from compare_ssgan.datasets.registry import DATASETS  # pylint: disable=import-outside-toplevel
  last = _short_selector(st.selector)
  value = st.value.strip()
  unquoted = value.strip("'\"")
  if (last, st.param) == ("options", "architecture") and unquoted not in ARCHITECTURES:
    return (f"architecture {unquoted!r} is not ported; compare_ssgan has "
            f"{', '.join(sorted(ARCHITECTURES))}")
  if (last, st.param) == ("dataset", "name") and unquoted not in DATASETS:
    return (f"dataset {unquoted!r} is not available in compare_ssgan; known: "
            f"{', '.join(sorted(DATASETS))}")
  for name, reason in UNSUPPORTED_CONFIGURABLES.items():
    if re.search(r"@(?:[\w/]+/)?(?:[\w.]+\.)?" + re.escape(name) + r"\b", value):
      return reason
  return None


def _validate_binding(st):
  """Parses one binding alone against compare_ssgan's registry; returns an error or None."""
  import gin  # pylint: disable=import-outside-toplevel
  gin.clear_config()
  code = "\n".join(_code_part(p, None)[0] for p in st.text.splitlines())
  try:
    gin.parse_config(code)
  except Exception as e:  # pylint: disable=broad-except
    return str(e).splitlines()[0] if str(e) else type(e).__name__
  finally:
    gin.clear_config()
  return None


# Lines kept as they are but worth a remark in the output: (selector, param, value or None).
NOTES = [
    (("dataset", "name", '"celeb_a_hq_128"'),
     "missing at compare_gan HEAD (their issue #44); here TFDS celeb_a_hq/128 (manual "
     "download), last 10% (3000 images) held out as in compare_gan's v2 branch"),
    (("AdamOptimizer", "beta1", None),
     "tf.train.AdamOptimizer.* builds keras.optimizers.Adam with TF1's epsilon 1e-8"),
    (("G", "batch_norm_fn", "@conditional_batch_norm"),
     "gamma = yW as in compare_gan (their issue #54); conditional_batch_norm.gamma_plus_one "
     "= True gives 1 + yW"),
]


def _note_for(st):
  last = _short_selector(st.selector)
  for (sel, param, value), note in NOTES:
    if last == sel and st.param == param and (value is None or st.value.strip() == value):
      return f"# [converted] note: {note}"
  return None


def _comment_out(text, reason):
  lines = text.splitlines()
  out = [f"# [converted] dropped: {reason}"]
  out += [f"# {line}" for line in lines]
  return "\n".join(out)


def convert(text, source="<input>", check=True, source_note=None):
  """Returns the converted gin text; raises ConversionError naming every refused line."""
  from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
  gin_utils.register_all()
  statements = split_statements(text)
  refusals, out = [], []
  out.append(f"# Converted from compare_gan config {os.path.basename(source)} by "
             "compare_ssgan convert-config.")
  if source_note:
    out.append(f"# Source: {source_note}")
  out.append("# Differences from compare_gan that no binding expresses (WORKSPACE_NOTES.md): one "
             "G step is always")
  out.append("# compare_gan's TPU schedule (disc_iters D updates on fresh batches, then one G "
             "update), also on GPU/CPU.")
  out.append("")
  for st in statements:
    _convert_statement(st, source, check, out, refusals)
  if refusals:
    raise ConversionError("cannot convert:\n  " + "\n  ".join(refusals))
  result = "\n".join(out).rstrip("\n") + "\n"
  if check:
    check_parses(result, source)
  return result



def _convert_statement(st, source, check, out, refusals):
  """Appends one statement's converted text to `out`, or its refusal to `refusals`."""
  where = f"{source}:{st.first_line}"
  if st.kind in ("blank", "comment", "macro"):
    out.append(st.text)
    return
  if st.kind == "include":
    refusals.append(f"{where}: {st.text.strip()!r}: an include of a compare_gan file cannot be "
                  "followed; convert that file too and include the converted copy")
    return
  if st.kind == "import":
    out.append(_comment_out(st.text, "compare_ssgan registers every configurable itself"))
    return
  binding = f"{(st.scope + '/') if st.scope else ''}{st.selector}.{st.param}"
  unsupported = next((UNSUPPORTED_CONFIGURABLES[part] for part in st.selector.split(".")
                      if part in UNSUPPORTED_CONFIGURABLES), None)
  if unsupported:
    refusals.append(f"{where}: {binding}: {unsupported}")
    return
  rule = _rule_for(st)
  if rule is not None:
    action, reason = rule(st.value)
    if action == "fail":
      refusals.append(f"{where}: {binding}: {reason}")
      return
    if action in ("drop", "warn"):
      out.append(_comment_out(st.text, f"{binding}: {reason}"))
      if action == "warn":
        warnings.warn(f"{where}: {binding} = {st.value.strip()}: {reason}; dropped")
      return
  problem = _check_value_names(st)
  if problem:
    refusals.append(f"{where}: {binding} = {st.value}: {problem}")
    return
  if check:
    problem = _validate_binding(st)
    if problem:
      refusals.append(f"{where}: {binding}: not a compare_ssgan binding ({problem})")
      return
  note = _note_for(st)
  if note:
    out.append(note)
  out.append(st.text)


def check_parses(text, source="<converted>"):
  """Parses converted text the way a run does (unknown names fail); raises ConversionError."""
  from compare_ssgan import gin_utils  # pylint: disable=import-outside-toplevel
  with tempfile.NamedTemporaryFile("w", suffix=".gin", delete=False) as f:
    f.write(text)
    path = f.name
  try:
    gin_utils.parse([path], finalize=False)
  except gin_utils.GinConfigError as e:
    raise ConversionError(f"{source}: the converted config does not parse: {e}") from e
  finally:
    os.unlink(path)
    import gin  # pylint: disable=import-outside-toplevel
    gin.clear_config()
