#!/usr/bin/env bash
# Quick start, part 2: set up (with the test, tfds, compare, jax, torch and ray extras), then lint (ruff, configured
# in ruff.toml), type-check (mypy, mypy.ini) and run the whole test suite (pytest lists the slowest tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh cpu,tpe,tfds,compare,jax,torch,ray,test
.venv/bin/ruff check .
.venv/bin/mypy kerasnas
# --fast: the fast tier only (-m "not slow": under 5 minutes on 2 cores, without the tests that start
# processes that load TensorFlow or train several searches); other arguments go to pytest. CI runs all.
args=()
for arg in "$@"; do
  if [ "$arg" = "--fast" ]; then args+=(-m "not slow"); else args+=("$arg"); fi
done
# -n auto: one pytest-xdist worker a core (tests are independent: own folders, free ports).
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n auto ${args[@]+"${args[@]}"} tests
