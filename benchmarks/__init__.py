"""Measured benchmarks of kerasnas; each writes its report to reports/.

Every harness is a module, run from the repository root with `python -m`:
`python -m benchmarks.compare --preset smoke` (kerasnas, AutoKeras and NNI; its
modules and framework runners are in `benchmarks.comparison`),
`python -m benchmarks.study resnet-bayes`, `python -m benchmarks.final RUN_DIR`,
`python -m benchmarks.paired`, `python -m benchmarks.search_quality`,
`python -m benchmarks.overhead`, `python -m benchmarks.memory`,
`python -m benchmarks.backends`, `python -m benchmarks.backend_matrix jax`,
`python -m benchmarks.recipes`, `python -m benchmarks.early_stopping` and
`python -m benchmarks.oracle_validity`. They import kerasnas' public names only.
"""
