"""Benchmarks: kerasnas against AutoKeras and NNI (compare.py)."""
