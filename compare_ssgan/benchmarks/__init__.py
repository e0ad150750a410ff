"""Benchmarks of the training step and the input pipelines (timing only; no asserts)."""
