"""The benchmark verb's machinery (no timing asserts: speed is reported, never tested)."""

from compare_ssgan import cli
from compare_ssgan.cli import benchmark as benchmark_verb
from compare_ssgan.benchmarks import step


def test_default_variants_fit_the_hardware():
  plain, skipped = step.default_variants({"avx2", "avx512f"}, num_gpus=0)
  assert "bf16" not in plain and "fp16" not in plain and "bf16_xla" in plain
  assert "native bf16" in skipped["bf16"] and "GPU" in skipped["fp16"]
  for flag in step.NATIVE_BF16_FLAGS:
    variants, skipped = step.default_variants({"avx2", flag}, num_gpus=0)
    assert "bf16" in variants and "bf16" not in skipped
  variants, skipped = step.default_variants(set(), num_gpus=1)
  assert {"bf16", "fp16"} <= set(variants) and not skipped
  assert variants[0] == "reference" and "uncond" in variants


def test_cpu_info_reads_model_and_flags(tmp_path):
  cpuinfo = tmp_path / "cpuinfo"
  cpuinfo.write_text("model name\t: Some CPU\nflags\t\t: fpu avx2 amx_bf16\n\n"
                     "model name\t: Some CPU\nflags\t\t: fpu\n")
  assert step.cpu_info(str(cpuinfo)) == ("Some CPU", {"fpu", "avx2", "amx_bf16"})
  assert step.cpu_info(str(tmp_path / "missing")) == ("unknown CPU", set())


def test_header_says_what_was_left_out(monkeypatch):
  """A tiny run through the verb: the header names the skipped variants and why, and the
  machine-readable lines close the report."""
  monkeypatch.setattr(step, "cpu_info", lambda: ("Test CPU", {"avx2"}))
  monkeypatch.setattr(step, "default_variants",
                      lambda flags, gpus: (["fast"], {"bf16": "no native bf16 arithmetic"}))
  lines = []
  benchmark_verb.run(["test_tiny"], ["options.batch_size = 4", "SSGAN.rotated_batch_size = 4"],
                    steps=1, inception=False, input_pipeline=False, out=lines.append)
  assert any(l.startswith("# left out bf16: no native bf16 arithmetic") for l in lines)
  assert any("Test CPU" in l for l in lines)
  fast = next(l for l in lines if l.startswith("fast "))
  assert "GFLOP/step" in fast
  assert lines[-2].startswith("sec_per_step ") and lines[-1].startswith("images_per_s ")
