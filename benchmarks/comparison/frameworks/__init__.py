"""One runner module per framework, each run as its own process by `python -m benchmarks.compare`."""
