"""Benchmarks: figures are ratios taken within one run, never assertions (machines are noisy)."""
