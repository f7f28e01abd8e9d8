"""Realistic generated data for the self-contained demo and the benchmarks."""
