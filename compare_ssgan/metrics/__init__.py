"""Evaluation: FID, Inception Score, KID."""
